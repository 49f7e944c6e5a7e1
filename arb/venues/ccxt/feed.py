"""ccxt.pro's WebSocket clients, rewired so a frame reaches arb in the pass after it arrived.

ccxt reads a socket through a chain of callbacks: for every frame it creates a task to read it,
handles the frame in that task's done callback, and resolves the watcher's future, whose task
wakes one more event-loop pass later. A bridged book update thus reached the engine three passes
after its bytes arrived, where a native venue's reader (`arb.net.ws`) hands a frame on in the next
pass. That was the bridged trades' one-legged cause: venues re-quote at the same instants, the
detector decides on the first update of an instant and the executor re-checks the books one pass
later, by when every native update of that instant has landed but the bridged one had not, so the
bridged book of the previous instant was traded (its IOC leg came back empty).

`direct` rewires every WebSocket client a ccxt instance makes from then on:

- one reader task per connection awaits the socket and hands each frame to ccxt's
  ``handle_message`` as soon as it is read (what ccxt's ``receive_loop`` does, without its
  per-frame task and callback);
- everything ccxt resolves on the client is first shown to `on_resolve`, synchronously, from
  inside ccxt's handling of the frame (the book stream hands books on from there, without waiting
  for its watch to wake).

A client that does not look like ccxt's aiohttp client (no ``receive_loop``, ``handle_message``,
``receive``, ``resolve``) is left as it is: the bridge then works at ccxt's own pace.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from typing import Any, Final

log = logging.getLogger(__name__)

NEEDED: Final = ("receive_loop", "handle_message", "receive", "resolve", "reject", "closed", "on_close")
ABNORMAL_CLOSE: Final = 1006  # what ccxt reports when a socket ends without a close frame


def direct(exchange: Any, on_resolve: Callable[[Any], None], readers: set[asyncio.Task[None]]) -> bool:
    """Rewire the WebSocket clients `exchange` (a ccxt.pro instance) makes from now on (and those it
    made already); `readers` holds the reader tasks (the caller cancels them on close). False when
    `exchange` makes no clients this can rewire."""
    make = getattr(exchange, "client", None)
    if not callable(make) or getattr(make, "arb_direct", False):
        return bool(getattr(make, "arb_direct", False))

    def client(url: str) -> Any:
        socket = make(url)
        _rewire(socket, on_resolve, readers)
        return socket

    client.arb_direct = True  # type: ignore[attr-defined]
    exchange.client = client
    for socket in list((getattr(exchange, "clients", None) or {}).values()):
        _rewire(socket, on_resolve, readers)
    return True


def _rewire(socket: Any, on_resolve: Callable[[Any], None], readers: set[asyncio.Task[None]]) -> None:
    if "resolve" in vars(socket) or not all(hasattr(socket, name) for name in NEEDED):
        return  # rewired already, or not a client this knows
    resolve = socket.resolve

    def resolve_here(result: Any, message_hash: Any) -> Any:
        try:
            on_resolve(result)
        except Exception:  # never into ccxt's handling of the frame (its watchers still get it)
            log.exception("ccxt push handler failed")
        return resolve(result, message_hash)

    def receive_loop() -> bool:
        if socket.closed():
            socket.on_close(ABNORMAL_CLOSE)
            return True
        name = f"ccxt reader {getattr(socket, 'url', '')}"
        task = asyncio.get_running_loop().create_task(_read(socket), name=name)
        readers.add(task)
        task.add_done_callback(readers.discard)
        return False

    socket.resolve = resolve_here
    socket.receive_loop = receive_loop


async def _read(socket: Any) -> None:
    """Every frame of one connection to ccxt's handler as it is read; ccxt's own rules otherwise:
    a failed read rejects the client's watchers, a closed socket is reported closed."""
    network_error = importlib.import_module("ccxt.base.errors").NetworkError
    while not socket.closed():
        try:
            message = await socket.receive()
        except Exception as exc:  # aiohttp's read failed: as ccxt's receive loop reports it
            socket.reject(network_error(str(exc)))
            return
        try:
            socket.handle_message(message)
        except Exception:  # one frame ccxt could not handle: the next one may be fine
            log.exception("ccxt could not handle a frame from %s", getattr(socket, "url", ""))
    socket.on_close(ABNORMAL_CLOSE)
