"""`arb-engine top --cluster URL`: the terminal dashboard of a whole cluster.

What it shows, refreshed every `--interval` seconds:

- the cluster's trading state and reason, its members (from NATS: `status.cluster_status`);
- a row per worker: its state (the last WORKER event it published; a worker whose heartbeat is gone
  without a LEFT event is shown GONE), the symbols it owns (leases), its allocation (what it holds
  of the ledger, summed per asset over the venues), its fills and realised PnL (its FILL events,
  summed as `arb-engine pnl` sums a journal);
- the most recent fills of every worker.

The events come from the ``ARB_EVENTS`` stream through ordered consumers kept open for the whole
session (fills from the start, or `--since`; worker states from the start). Keys as `arb-engine
top`: ``h`` + a reason + Enter halts the whole cluster (`halt --cluster`: every worker within a
second), ``r`` resumes it, ``q`` quits.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import deque
from decimal import Decimal
from typing import Any, TextIO

import aiohttp
import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from arb.cluster.conn import ClusterError, connect
from arb.cluster.events import EventKind
from arb.cluster.feed import ClusterPnl, FillEvent, WorkerEvent, follow, kind_of, read_events, subject
from arb.cluster.state import set_cluster_state
from arb.cluster.status import cluster_status
from arb.engine.risk import TradingState
from arb.ops.top import Top, live_loop
from arb.reports import exact, iso_time

RECENT = 12
STATUS_EVERY_S = 1.0  # each status read is a short NATS session (members, leases, ledger, state)
STATE_STYLE = {"ACTIVE": "bold green", "HALTED": "bold white on red", "TRADING": "green",
               "FAILED_CLOSED": "bold red", "GONE": "bold red", "LEFT": "dim", "STARTING": "yellow"}


class ClusterTop(Top):
    """The dashboard's state: the last cluster status, what the events added up to, the keys."""

    def __init__(self, url: str, default_reason: str) -> None:
        super().__init__(url, default_reason)
        self.url = url
        self.status: dict[str, Any] | None = None
        self.pnl = ClusterPnl()
        self.recent: deque[FillEvent] = deque(maxlen=RECENT)
        self.worker_state: dict[str, str] = {}
        self.events = 0
        self._next_status = 0.0

    # ------------------------------------------------------------------ inputs

    def on_event(self, msg: Msg) -> None:
        """One event from the stream (replayed or new)."""
        self.events += 1
        kind = kind_of(msg.subject)
        try:
            if kind is EventKind.FILL:
                fill = self.pnl.add_raw(msg.data)
                if fill is not None:
                    self.recent.append(fill)
            elif kind is EventKind.WORKER:
                event = msgspec.json.decode(msg.data, type=WorkerEvent)
                self.worker_state[event.worker] = event.state
        except msgspec.DecodeError:
            self.pnl.malformed += 1

    async def poll(self, http: aiohttp.ClientSession) -> None:
        """The cluster's status from NATS, at most every `STATUS_EVERY_S` (events arrive as they come)."""
        if time.monotonic() < self._next_status:
            return
        self._next_status = time.monotonic() + STATUS_EVERY_S
        try:
            self.status = await cluster_status(self.url)
            self.error = ""
        except ClusterError as exc:
            self.error = f"{exc}; retrying"

    async def control(self, http: aiohttp.ClientSession, action: str, body: dict[str, Any]) -> None:
        state = TradingState.HALTED if action == "halt" else TradingState.ACTIVE
        try:
            _, record = await set_cluster_state(self.url, state, str(body.get("reason", "")),
                                                by="arb-engine top")
        except ClusterError as exc:
            self.message = f"{action} failed: {exc}"
            return
        reason = f" ({record.reason})" if record.reason else ""
        self.message = f"{action} sent: cluster is {record.state.name}{reason}"
        self._next_status = 0.0  # show it now

    # ------------------------------------------------------------------ drawing

    def workers(self) -> list[dict[str, Any]]:
        """A row per worker: members, and those that published events."""
        status = self.status or {}
        members = set(status.get("members", []))
        names = sorted(members | set(self.worker_state) | set(self.pnl.workers))
        held: dict[str, dict[str, Decimal]] = {}
        for key, account in status.get("ledger", {}).items():
            asset = key.rsplit(".", 1)[-1]
            for worker, amount in account["held"].items():
                per = held.setdefault(worker, {})
                per[asset] = per.get(asset, Decimal(0)) + Decimal(amount)
        rows = []
        for name in names:
            state = self.worker_state.get(name, "MEMBER" if name in members else "?")
            if name not in members and state != "LEFT":
                state = "GONE"  # its heartbeat expired without a clean leave
            flow = self.pnl.workers.get(name)
            rows.append({
                "worker": name, "state": state, "owned": status.get("owners", {}).get(name, []),
                "allocation": ", ".join(f"{float(v):.6g} {a}" for a, v in sorted(held.get(name, {}).items())
                                        if v),
                "fills": flow.fills if flow else 0, "pnl": exact(flow.pnl) if flow else "0",
            })
        return rows

    def draw(self) -> RenderableType:
        status = self.status
        head = Text()
        if status is None:
            head.append(self.error or f"connecting to {self.url} ...", style="yellow")
        else:
            state = str(status["state"])
            head.append(f" {state} ", style=STATE_STYLE.get(state, "bold"))
            if status.get("reason"):
                head.append(f" {status['reason']}", style="yellow")
            head.append(f"   members {len(status['members'])}   fills {self.pnl.total.fills}   PnL ")
            head.append(exact(self.pnl.total.pnl), style="red" if self.pnl.total.pnl < 0 else "green")
            head.append(f"   events {self.events}")
        workers = Table(title="Workers", box=box.SIMPLE_HEAD, title_justify="left", expand=True)
        for column in ("worker", "state", "symbols owned", "allocation (held)", "fills", "PnL"):
            workers.add_column(column, justify="right" if column in ("fills", "PnL") else "left",
                               overflow="fold")
        for row in self.workers():
            workers.add_row(row["worker"], Text(row["state"], style=STATE_STYLE.get(row["state"], "")),
                            ", ".join(row["owned"]) or "-", row["allocation"] or "-", str(row["fills"]),
                            row["pnl"])
        trades = Table(title="Recent trades (fills)", box=box.SIMPLE_HEAD, title_justify="left", expand=True)
        for column in ("time", "worker", "symbol", "venue", "side", "quantity", "price", "pair",
                       "opportunity"):
            trades.add_column(column)
        for event in reversed(self.recent):
            fill = event.fill
            trades.add_row(iso_time(fill.ts_event or event.ts_ns)[11:23], event.worker, str(fill.symbol),
                           fill.venue, fill.side.name, exact(fill.quantity), exact(fill.price), event.pair,
                           event.opportunity or "-")
        parts: list[RenderableType] = [Text(f"arb top --cluster: {self.url}", style="bold"), head, workers,
                                       trades]
        if status is not None and self.error:
            parts.insert(1, Text(self.error, style="bold red"))
        missing = self.pnl.gaps()
        if missing:
            parts.append(Text("missing fill events: " + ", ".join(f"{w} {n}" for w, n in missing.items()),
                              style="yellow"))
        parts.append(Text(self.footer(), style="dim"))
        return Group(*parts)

    def footer(self) -> str:
        text = super().footer()
        return text.replace("h halt  r resume", "h halt cluster  r resume cluster")


async def top_cluster(url: str, *, interval: float = 0.5, reason: str = "halted from arb-engine top",
                      since_ns: int = 0, out: TextIO | None = None) -> int:
    """Run the cluster dashboard until `q`; on a non-terminal stdout print it once and return."""
    out = out or sys.stdout
    state = ClusterTop(url, reason)
    fills, states = [subject(EventKind.FILL)], [subject(EventKind.WORKER)]  # states: always from the start
    async with aiohttp.ClientSession() as http:  # the base class's signature: unused here
        if not out.isatty():  # once: every event the stream holds, then the status
            for msg in [*await read_events(url, states), *await read_events(url, fills, since_ns)]:
                state.on_event(msg)
            await state.poll(http)
            if state.status is None:
                print(f"error: {state.error}", file=sys.stderr)
                return 1
            Console(file=out, width=140).print(state.draw())
            return 0
        nc: Client = await connect(url, name="arb-top")
        try:
            try:
                subs = [*await follow(nc, states, state.on_event),
                        *await follow(nc, fills, state.on_event, since_ns)]
            except (nats.errors.Error, TimeoutError) as exc:
                raise ClusterError(f"cannot read the events at {url}: {exc or type(exc).__name__}") from None
            await live_loop(state, http, interval, out)
            for sub in subs:
                with contextlib.suppress(nats.errors.Error):
                    await sub.unsubscribe()
        finally:
            with contextlib.suppress(nats.errors.Error, TimeoutError):
                await nc.close()
    return 0
