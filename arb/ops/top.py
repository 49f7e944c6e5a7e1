"""`arb-engine top`: a terminal dashboard on a running engine, through its HTTP server.

It polls the engine's ``/view`` (the snapshot `run`'s live view draws) every `--interval` seconds
(4 Hz by default) and draws it full screen with `arb.ops.view.render`. Keys: ``h`` asks for a halt
reason (Enter sends it, an empty one uses `--reason`; Esc cancels) and posts ``/control/halt``;
``r`` posts ``/control/resume``; ``q`` quits. The engine answers control requests from 127.0.0.1 only.
When stdout is not a terminal it prints the view once and exits (scripts, `watch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import signal
import sys
import termios
import tty
from typing import Any, TextIO

import aiohttp
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

from arb.ops.view import Snapshot, render

EXIT_UNREACHABLE = 3  # the CLI's environment error: nothing answers at the URL
REQUEST_TIMEOUT_S = 2.0
MAX_REASON = 200
KEYS_HELP = "keys: h halt  r resume  q quit"


class Prompt(enum.IntEnum):
    NONE = 0
    HALT_REASON = 1  # typing the halt reason


class Top:
    """The client's state: the last snapshot, what the operator is typing, the last message."""

    def __init__(self, url: str, default_reason: str) -> None:
        self.base = url.rstrip("/")
        self.default_reason = default_reason
        self.snapshot: Snapshot | None = None
        self.error = ""
        self.message = ""
        self.prompt = Prompt.NONE
        self.typed = ""
        self.done = False

    async def poll(self, http: aiohttp.ClientSession) -> None:
        try:
            async with http.get(f"{self.base}/view") as response:
                if response.status != 200:
                    self.error = f"{self.base}/view answered HTTP {response.status}"
                    return
                self.snapshot = await response.json()
                self.error = ""
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            self.error = f"cannot reach {self.base}/view ({type(exc).__name__}: {exc or 'timeout'})"

    async def control(self, http: aiohttp.ClientSession, action: str, body: dict[str, Any]) -> None:
        try:
            async with http.post(f"{self.base}/control/{action}", json=body) as response:
                if response.status != 200:
                    self.message = f"{action} refused: HTTP {response.status} {(await response.text())[:120]}"
                    return
                state = await response.json()
                reason = f" ({state['reason']})" if state.get("reason") else ""
                self.message = f"{action} sent: engine is {state.get('state', '?')}{reason}"
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            self.message = f"{action} failed: {type(exc).__name__}: {exc}"

    def key(self, char: str) -> tuple[str, dict[str, Any]] | None:
        """Handle one key; returns a control request to send, if any."""
        if self.prompt is Prompt.HALT_REASON:
            if char in ("\r", "\n"):
                self.prompt = Prompt.NONE
                reason = self.typed.strip() or self.default_reason
                return "halt", {"reason": reason[:MAX_REASON]}
            if char == "\x1b":
                self.prompt, self.message = Prompt.NONE, "halt cancelled"
            elif char in ("\x7f", "\b"):
                self.typed = self.typed[:-1]
            elif char.isprintable() and len(self.typed) < MAX_REASON:
                self.typed += char
            return None
        lower = char.lower()
        if lower == "q":
            self.done = True
        elif lower == "h":
            self.prompt, self.typed = Prompt.HALT_REASON, ""
        elif lower == "r":
            return "resume", {}
        return None

    def footer(self) -> str:
        if self.prompt is Prompt.HALT_REASON:
            return (f"halt reason (Enter sends, empty: {self.default_reason!r}; Esc cancels): "
                    f"{self.typed}_")
        return f"{KEYS_HELP}   {self.base}" + (f"   | {self.message}" if self.message else "")

    def draw(self) -> RenderableType:
        if self.snapshot is None:
            body = Text(f"{self.error}; retrying" if self.error else f"connecting to {self.base} ...",
                        style="yellow")
            return Panel(Group(body, Text(self.footer(), style="dim")), title="arb top", title_align="left")
        view = render(self.snapshot, title=f"arb top: {self.base}", footer=self.footer())
        if self.error:
            return Group(Text(f"{self.error}; retrying", style="bold red"), view)
        return view


class _Keys:
    """Single keystrokes from a terminal's stdin (cbreak mode, restored on exit) into a queue."""

    def __init__(self, queue: asyncio.Queue[str]) -> None:
        self._queue = queue
        self._fd = -1
        self._saved: list[Any] | None = None

    def __enter__(self) -> _Keys:
        if not sys.stdin.isatty():
            return self
        self._fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(self._fd)
        tty.setcbreak(self._fd)
        asyncio.get_running_loop().add_reader(self._fd, self._read)
        return self

    def _read(self) -> None:
        data = os.read(self._fd, 64).decode(errors="replace")
        if data.startswith("\x1b["):  # an arrow or function key: ignored
            return
        for char in data:
            self._queue.put_nowait(char)

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            asyncio.get_running_loop().remove_reader(self._fd)
            termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)


async def top(url: str, *, interval: float = 0.25, reason: str = "halted from arb-engine top",
              out: TextIO | None = None) -> int:
    """Run the dashboard until `q` (or Ctrl-C); on a non-terminal stdout print one view and return."""
    out = out or sys.stdout
    state = Top(url, reason)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        if not out.isatty():
            await state.poll(http)
            if state.snapshot is None:
                print(f"error: {state.error}: is an engine running with that observability.metrics_port?",
                      file=sys.stderr)
                return EXIT_UNREACHABLE
            Console(file=out, width=120).print(render(state.snapshot, title=f"arb top: {state.base}"))
            return 0
        await live_loop(state, http, interval, out)
    return 0


async def live_loop(state: Top, http: aiohttp.ClientSession, interval: float, out: TextIO) -> None:
    """Draw `state` full screen every `interval` seconds and feed it keys until it is done (`q`,
    Ctrl-C, SIGTERM); `top --cluster` runs its own `Top` through it."""
    keys: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        state.done = True
        keys.put_nowait("")

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, interrupted)
    console = Console(file=out)
    with _Keys(keys), Live(console=console, screen=True, auto_refresh=False) as live:
        while not state.done:
            await state.poll(http)
            live.update(state.draw(), refresh=True)
            deadline = loop.time() + interval
            while not state.done and (left := deadline - loop.time()) > 0:
                try:
                    char = await asyncio.wait_for(keys.get(), left)
                except TimeoutError:
                    break
                request = state.key(char)
                if request is not None:
                    await state.control(http, *request)
                    break  # redraw with the new state now
                live.update(state.draw(), refresh=True)
