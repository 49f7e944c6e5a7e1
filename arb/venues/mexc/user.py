"""MEXC user data stream: a REST listen key, kept alive, on a `WsClient` with the private channels.

1. ``POST /api/v3/userDataStream`` (signed) -> ``{"listenKey": K}``; the socket is
   ``<ws url>?listenKey=K`` and subscribes ``spot@private.{orders,deals,account}.v3.api.pb``.
2. Every `keepalive_s` (30 min by default; a key lives 60 min) ``PUT`` extends the key. A refused
   PUT means the key is gone: a new key is made, the client's URL switched to it, and the socket
   dropped so the `WsClient` reconnects and resubscribes on the new key.
3. A socket opened with an unknown or expired key gets the text frame ``Invalid listen key``: the
   same renewal runs (once per refused key, however many reconnect attempts saw it).

Binary pushes are `PushDataV3ApiWrapper` messages read field by field (`codec.decode_private_*`):
``privateOrders`` -> `on_order`, ``privateDeals`` -> `on_fill`, ``privateAccount`` -> `on_balance`.
The listen key grants read access to the account: it is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Coroutine, MutableMapping, Sequence
from typing import Any, Final

from arb.config import TRADING_PRESET, RequestConfig
from arb.errors import ArbError, DecodeError
from arb.model import Symbol
from arb.net.rest import RestClient
from arb.net.ws import WsClient
from arb.venues.base import StreamHandlers, UserPushes
from arb.venues.mexc import codec, orders
from arb.venues.mexc import constants as c

log = logging.getLogger(__name__)

KEY_DRAWS: Final = {"uid": 1}
OWN_OPTIONS: Final = frozenset({"data_idle_s", "ping_interval_s", "max_subscriptions"})
RETRY_S: Final = 5.0  # a failed keep-alive or renewal is tried again this soon


class MexcUserDialect:
    """SUBSCRIPTION with an echoed id (code 0 = success), PING/PONG, and ``Invalid listen key``."""

    def __init__(self) -> None:
        self.invalid_key = asyncio.Event()  # set by a refused key; the stream renews and clears it

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"method": "SUBSCRIPTION", "params": list(channels), "id": request_id})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"method": "UNSUBSCRIPTION", "params": list(channels), "id": request_id})

    def ack(self, frame: str) -> int | None:
        if frame.strip() == c.INVALID_LISTEN_KEY:
            self.invalid_key.set()
            raise ValueError(c.INVALID_LISTEN_KEY)
        try:
            msg = json.loads(frame)
        except (ValueError, RecursionError):
            return None
        if not isinstance(msg, dict) or msg.get("msg") == "PONG":
            return None
        if msg.get("code", 0) != 0:
            raise ValueError(str(msg.get("msg")))
        request_id = msg.get("id")
        return int(request_id) if isinstance(request_id, int) else None

    def is_control(self, frame: bytes | str) -> bool:
        return isinstance(frame, str)  # pushes are binary protobuf

    def ping(self) -> str:
        return '{"method": "PING"}'


class MexcUserStream(UserPushes):
    """One account's order, fill and balance pushes, handed to the engine's `StreamHandlers`.

    Parameters
    ----------
    handlers:
        Gets `on_order`, `on_fill`, `on_balance`, `on_decode_error` and `on_stream_state` (no symbols).
    rest:
        A signed `RestClient` for the listen-key calls (the private connector's, so it signs at
        venue time); the caller keeps ownership and closes it.
    url:
        The WebSocket base (``wss://wbs-api.mexc.com/ws``); ``?listenKey=`` is appended.
    keepalive_s:
        How often the key is extended (PUT).
    symbols:
        Venue spelling -> `Symbol` for the symbols in use; others are split on known quote assets.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, rest: RestClient, *, url: str = c.WS_URL,
                 kind: RequestConfig = TRADING_PRESET, keepalive_s: float = c.LISTEN_KEY_RENEW_S,
                 symbols: MutableMapping[str, Symbol] | None = None, **ws_options: Any) -> None:
        self._handlers = handlers
        self._rest = rest
        self._base_url = url
        self._kind = kind
        self._keepalive_s = keepalive_s
        self._symbols: MutableMapping[str, Symbol] = symbols if symbols is not None else {}
        self._ws_options = {k: v for k, v in ws_options.items() if k not in OWN_OPTIONS}
        self.dialect = MexcUserDialect()
        self.ws: WsClient | None = None
        self.listen_key: str | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.renewals = 0
        self.keepalives = 0
        self.decode_errors = 0
        self.ignored_pushes = 0
        self._logged_error = False

    def __repr__(self) -> str:
        return f"MexcUserStream(listen_key={'****' if self.listen_key else None})"

    def _url(self, key: str) -> str:
        return f"{self._base_url}?listenKey={key}"

    async def start(self) -> None:
        """Create a listen key, connect, subscribe the private channels, start the keep-alive."""
        self.listen_key = await self._create_key()
        self.ws = WsClient(f"{c.VENUE}-user", self._url(self.listen_key), dialect=self.dialect,
                           on_frame=self._on_frame, on_state=self._on_state,
                           max_subscriptions=c.MAX_SUBSCRIPTIONS_PER_CONNECTION,
                           ping_interval_s=c.PING_INTERVAL_S, data_idle_s=math.inf,
                           lifetime_s=c.CONNECTION_LIFETIME_S - 1800, **self._ws_options)
        self._spawn(self._keep_alive())
        self._spawn(self._watch_refusals())
        await self.ws.subscribe(list(c.PRIVATE_CHANNELS))

    async def close(self) -> None:
        """Stop, and delete the listen key (best effort)."""
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.ws is not None:
            await self.ws.close()
        if self.listen_key is not None:
            with contextlib.suppress(ArbError):
                await self._key_call("DELETE", self.listen_key)
            self.listen_key = None

    def symbol_of(self, venue_symbol: str) -> Symbol:
        symbol = self._symbols.get(venue_symbol)
        if symbol is None:
            symbol = self._symbols[venue_symbol] = c.SPELLING.common(venue_symbol)
        return symbol

    # ------------------------------------------------------------------ listen key

    async def _key_call(self, method: str, key: str | None = None) -> str:
        params = [("listenKey", key)] if key is not None else []
        body = await self._rest.request(method, c.LISTEN_KEY, kind=self._kind, params=params, signed=True,
                                        draws=KEY_DRAWS, idempotent=method != "POST")
        return orders.decode_listen_key(body)

    async def _create_key(self) -> str:
        return await self._key_call("POST")

    async def _keep_alive(self) -> None:
        wait = self._keepalive_s
        while True:
            await asyncio.sleep(wait)
            wait = self._keepalive_s
            key = self.listen_key
            if key is None:
                continue
            try:
                await self._key_call("PUT", key)
                self.keepalives += 1
            except ArbError as exc:  # the key is gone (or the venue is unreachable): make a new one
                log.warning("%s: listen key keep-alive failed (%s); renewing", c.VENUE, type(exc).__name__)
                if not await self.renew(key, "keep-alive refused"):
                    wait = min(RETRY_S, self._keepalive_s)

    async def _watch_refusals(self) -> None:
        """Renew when a socket was refused with ``Invalid listen key``."""
        while True:
            await self.dialect.invalid_key.wait()
            self.dialect.invalid_key.clear()
            key = self.listen_key
            if key is not None and not await self.renew(key, "listen key refused by the socket"):
                await asyncio.sleep(RETRY_S)

    async def renew(self, stale: str, reason: str) -> bool:
        """Replace `stale` by a new key and reconnect on it; False when the venue refused."""
        if self.listen_key != stale:
            return True  # already replaced
        try:
            key = await self._create_key()
        except ArbError as exc:
            log.warning("%s: cannot create a listen key (%s)", c.VENUE, exc)
            return False
        self.listen_key = key
        self.renewals += 1
        log.info("%s: new listen key (%s); reconnecting the user stream", c.VENUE, reason)
        if self.ws is not None:
            self.ws.url = self._url(key)
            await self.ws.reconnect(reason)
        with contextlib.suppress(ArbError):
            await self._key_call("DELETE", stale)
        return True

    # ------------------------------------------------------------------ frames

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        try:
            if isinstance(frame, str):
                raise DecodeError(c.VENUE, "user push", "text frame where protobuf was expected", frame)
            wrapper = codec.decode_push(frame)
            kind = wrapper.WhichOneof("body")
            if kind == "privateOrders":
                self._handlers.on_order(orders.decode_private_order(wrapper, self.symbol_of, recv_ns))
            elif kind == "privateDeals":
                self._handlers.on_fill(orders.decode_private_deal(wrapper, self.symbol_of, recv_ns))
            elif kind == "privateAccount":
                self._handlers.on_balance(c.VENUE, orders.decode_private_account(wrapper))
            else:
                self.ignored_pushes += 1
        except DecodeError as err:
            self._undecodable(c.VENUE, err)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        self._handlers.on_stream_state(c.VENUE, connected, [])

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"{c.VENUE} user stream")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
