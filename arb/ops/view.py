"""The live view of a running engine: a pure function of `Engine.view_snapshot()` to a rich renderable.

`run` (and `demo`) draw it in place on a terminal a few times a second from a timer task, never
from the hot path; piped output gets one plain progress line every few seconds instead; `--quiet`
draws nothing. `arb-engine top` draws the same view from a running engine's ``/view`` endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from arb.engine.engine import Engine

Snapshot = dict[str, Any]
REFRESH_S = 0.25  # 4 Hz on a terminal
PIPED_EVERY_S = 5.0
MAX_SPREAD_ROWS = 12
log = logging.getLogger(__name__)
STATE_STYLE = {"ACTIVE": "bold green", "REDUCING": "bold yellow", "HALTED": "bold white on red"}


class ViewMode(enum.IntEnum):
    """How `run` shows progress."""

    OFF = 0  # --quiet
    LINES = 1  # not a terminal: a plain line every few seconds
    LIVE = 2  # a terminal: the panels, redrawn in place


def choose_mode(out: TextIO, quiet: bool) -> ViewMode:
    if quiet:
        return ViewMode.OFF
    isatty = getattr(out, "isatty", None)
    return ViewMode.LIVE if isatty is not None and isatty() else ViewMode.LINES


def _dec(text: Any) -> str:
    """A decimal string shortened for a table cell (exact value, trailing zeros dropped)."""
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return str(text)
    if value == value.to_integral():
        return f"{value:,.0f}"
    return f"{value.normalize():,f}"


def _signed(text: Any) -> Text:
    shown = _dec(text)
    try:
        negative = Decimal(str(text)) < 0
    except InvalidOperation:
        negative = False
    return Text(shown, style="red" if negative else "green")


def _header(snap: Snapshot) -> Text:
    state = str(snap.get("state", "?"))
    line = Text()
    line.append(f" {state} ", style=STATE_STYLE.get(state, "bold"))
    if snap.get("reason"):
        line.append(f" {snap['reason']}", style="yellow")
    line.append(f"   mode {snap.get('mode', '?')}   trades {snap.get('trade_count', 0)}   PnL ")
    line.append_text(_signed(snap.get("pnl", "0")))
    line.append(f"   open {snap.get('open_opportunities', 0)}"
                f"   unhedged {_dec(snap.get('unhedged_notional', 0))}")
    return line


def _venues(snap: Snapshot) -> Table:
    table = Table(title="Venues", expand=True, title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("venue", "books synced", "syncs", "gaps", "sockets", "reconnects", "last frame",
                "user stream", "circuit"):
        table.add_column(col, justify="left" if col == "venue" else "right")
    conns = snap.get("connections", {})
    for venue, books in snap.get("books", {}).items():
        conn = conns.get(venue, {})
        synced, total = books.get("synced", 0), books.get("total", 0)
        age = conn.get("last_frame_age_s")
        user = conn.get("user_stream")
        table.add_row(
            venue, Text(f"{synced}/{total}", style="green" if total and synced == total else "yellow"),
            str(books.get("resyncs", 0)), str(books.get("gaps", 0)), str(conn.get("sockets", 0)),
            str(conn.get("reconnects", 0)), "-" if age is None else f"{age:.1f} s",
            "-" if user is None else Text("up" if user else "down", style="green" if user else "red"),
            Text("OPEN", style="red") if conn.get("circuit_open") else Text("closed", style="green"),
        )
    return table


def _spreads(snap: Snapshot) -> Table:
    threshold = float(snap.get("min_net_bps", 0.0))
    table = Table(title=f"Best net spread (after taker fees; trades at >= {threshold:g} bps)", expand=True,
                  title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("symbol")
    table.add_column("buy -> sell")
    table.add_column("net bps", justify="right")
    rows = snap.get("spreads", [])
    best: dict[str, float] = {}
    for row in rows:
        best[row["symbol"]] = max(best.get(row["symbol"], float("-inf")), float(row["net_bps"]))
    for row in rows[:MAX_SPREAD_ROWS]:
        bps = float(row["net_bps"])
        style = "bold green" if bps >= threshold else "green" if bps > 0 else "dim"
        mark = " *" if bps == best[row["symbol"]] else ""
        table.add_row(row["symbol"] + mark, f"{row['buy']} -> {row['sell']}",
                      Text(f"{bps:+.2f}", style=style))
    if not rows:
        table.add_row("(no synced pair yet)", "", "")
    return table


def _balances(snap: Snapshot) -> Table:
    balances: dict[str, dict[str, str]] = snap.get("balances", {})
    assets = sorted({a for per in balances.values() for a in per})
    table = Table(title="Balances (free, net of reservations)", expand=True, title_justify="left",
                  box=box.SIMPLE_HEAD)
    table.add_column("venue")
    for asset in assets:
        table.add_column(asset, justify="right")
    for venue, per in balances.items():
        table.add_row(venue, *(_dec(per.get(asset, "0")) for asset in assets))
    return table


def _trades(snap: Snapshot) -> Table:
    table = Table(title="Recent trades", expand=True, title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("id", "symbol", "buy -> sell", "qty", "status", "realised PnL"):
        table.add_column(col, justify="right" if col in ("qty", "realised PnL") else "left")
    for row in reversed(snap.get("trades", [])):
        table.add_row(row["id"], row["symbol"], f"{row['buy']} -> {row['sell']}", _dec(row["qty"]),
                      row["status"], _signed(row["pnl"]))
    if not snap.get("trades"):
        table.add_row("(none yet)", "", "", "", "", "")
    return table


def _funnel(snap: Snapshot) -> Text:
    stages = snap.get("funnel", {})
    return Text("opportunities: " + "  ".join(f"{k} {v:,}" for k, v in stages.items()), style="cyan")


def render(snap: Snapshot, *, title: str = "arb", footer: str = "") -> RenderableType:
    """The whole view for one snapshot (pure: the same snapshot draws the same panels)."""
    parts: list[RenderableType] = [_header(snap), _venues(snap), _spreads(snap), _funnel(snap),
                                   _trades(snap), _balances(snap)]
    if footer:
        parts.append(Text(footer, style="dim"))
    return Panel(Group(*parts), title=title, title_align="left")


def progress_line(snap: Snapshot) -> str:
    """One plain line for piped output (logs, daemons without --quiet)."""
    books = snap.get("books", {})
    synced = sum(b.get("synced", 0) for b in books.values())
    total = sum(b.get("total", 0) for b in books.values())
    spreads = snap.get("spreads", [])
    best = (f"best {spreads[0]['symbol']} {spreads[0]['buy']}->{spreads[0]['sell']} "
            f"{float(spreads[0]['net_bps']):+.2f} bps") if spreads else "best -"
    state = snap.get("state", "?") + (f" ({snap['reason']})" if snap.get("reason") else "")
    evaluated = snap.get("funnel", {}).get("evaluated", 0)
    return (f"{state} | books {synced}/{total} synced | {best} | evaluated {evaluated:,} | "
            f"trades {snap.get('trade_count', 0)} PnL {_dec(snap.get('pnl', '0'))}")


async def show(snapshot: Callable[[], Snapshot], out: TextIO, mode: ViewMode, *, title: str = "arb",
               stop: asyncio.Event | None = None) -> None:
    """Draw `snapshot()` until cancelled (or `stop` is set): panels on a terminal, lines otherwise."""
    if mode is ViewMode.OFF:
        return
    stop = stop or asyncio.Event()
    if mode is ViewMode.LINES:
        while not stop.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), PIPED_EVERY_S)
            out.write(progress_line(snapshot()) + "\n")
            out.flush()
        return
    console = Console(file=out, force_terminal=True)
    with Live(console=console, auto_refresh=False, transient=False, redirect_stdout=False,
              redirect_stderr=True) as live, _logs_above(console):
        while True:
            live.update(render(snapshot(), title=title), refresh=True)
            if stop.is_set():
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH_S)


class _ConsoleLines:
    """A stream for a log handler: each complete line is printed above the live view."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._console.print(Text(line), soft_wrap=True)
        return len(text)

    def flush(self) -> None:
        return None


@contextlib.contextmanager
def _logs_above(console: Console) -> Iterator[None]:
    """While the view is drawn, log handlers that write to a terminal print above it (not into it)."""
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    for logger in (logging.getLogger(), logging.getLogger("arb")):
        for handler in logger.handlers:
            stream = getattr(handler, "stream", None)
            isatty = getattr(stream, "isatty", None)
            if isinstance(handler, logging.StreamHandler) and isatty is not None and isatty():
                swapped.append((handler, handler.setStream(_ConsoleLines(console))))
    try:
        yield
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


def engine_controls(engine: Engine) -> tuple[Callable[[str], Snapshot], Callable[[str], Snapshot]]:
    """``halt(reason)`` and ``resume(_)`` for the HTTP server's control routes."""

    def state() -> Snapshot:
        return {"state": engine.risk.state.name, "reason": engine.risk.reason, "ts_ns": time.time_ns()}

    def halt(reason: str) -> Snapshot:
        log.warning("halt requested over HTTP (127.0.0.1): %s", reason)
        engine.risk.halt(reason)
        return state()

    def resume(_: str) -> Snapshot:
        log.warning("resume requested over HTTP (127.0.0.1); was %s %s", engine.risk.state.name,
                    engine.risk.reason)
        engine.risk.resume()
        return state()

    return halt, resume
