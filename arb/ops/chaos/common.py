"""What every chaos row shares: the row result, canary keys and their scan, a calm simulator, a live
engine wired as `run` wires it, bounded waits, and the checks of the engine against the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import threading
import time
import traceback
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.config import Config, default_config
from arb.credentials import Credentials, Secret, credential_env_name
from arb.engine import report
from arb.engine.engine import Engine
from arb.engine.executor import Outcome
from arb.engine.journal import Journal
from arb.model import Fill, Order, Side, Symbol
from arb.ops.status import engine_status
from arb.sim.accounts import FUNDING, SIM_PASSPHRASE
from arb.sim.server import SimExchange
from arb.venues.registry import VENUES

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
TRADED = ("binance", "mexc")  # the live rows trade between these two
SIM_ACCOUNT = "sim"


@dataclass
class RowResult:
    """One line of the chaos table."""

    fault: str
    trials: int
    figure: str
    target: str
    passed: bool
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"fault": self.fault, "trials": self.trials, "figure": self.figure, "target": self.target,
                "verdict": "PASS" if self.passed else "FAIL", "details": self.details}


class Canary:
    """Random API keys for every engine of a chaos run, and the scan for them in what runs leave.

    Each text or file handed to `scan` counts as one place looked at; `hits` names where a key was.
    """

    def __init__(self) -> None:
        self.key = "chaos-key-" + secrets.token_hex(12)
        self.secret = "chaos-secret-" + secrets.token_hex(16)
        self.scanned = 0
        self.hits: list[str] = []

    def accounts(self) -> dict[str, tuple[str, str]]:
        return {self.key: (self.secret, SIM_ACCOUNT)}

    def credentials(self, venues: Iterable[str]) -> dict[str, Credentials]:
        """The canary key on every venue; a venue whose keys carry a passphrase (OKX) gets the
        simulator's (the same for every key, so no canary)."""
        return {v: Credentials(v, Secret(self.key), Secret(self.secret),
                               Secret(SIM_PASSPHRASE) if "passphrase" in VENUES[v].credentials else None)
                for v in venues}

    def env(self, venues: Iterable[str]) -> dict[str, str]:
        out = {}
        for venue in venues:
            out[f"ARB_{venue.upper()}_API_KEY"] = self.key
            out[f"ARB_{venue.upper()}_API_SECRET"] = self.secret
            if "passphrase" in VENUES[venue].credentials:
                out[credential_env_name(venue, "passphrase")] = SIM_PASSPHRASE
        return out

    def scan(self, where: str, text: str | bytes) -> None:
        self.scanned += 1
        data = text.encode(errors="replace") if isinstance(text, str) else text
        for name, value in (("key", self.key), ("secret", self.secret)):
            if value.encode() in data:
                self.hits.append(f"{name} in {where}")

    def scan_tree(self, root: Path) -> None:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            with contextlib.suppress(OSError):
                self.scan(str(path.relative_to(root)), path.read_bytes())

    def scan_engine(self, engine: Engine, where: str) -> None:
        """/metrics and /status as the health server renders them, and the summary."""
        self.scan(f"{where} /metrics", engine.metrics.render())
        self.scan(f"{where} /status", json.dumps(engine_status(engine), default=str))
        self.scan(f"{where} summary", json.dumps(engine.summary(), default=str))


class LogScan(logging.Handler):
    """Every log record of the process (message and traceback) goes through the canary scan."""

    def __init__(self, canary: Canary) -> None:
        super().__init__(logging.DEBUG)
        self.canary = canary
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.canary.scan(f"log {record.name}", self.format(record))


class LogTail(logging.Handler):
    """The last warnings of the process, to say why something was refused."""

    def __init__(self, keep: int = 200) -> None:
        super().__init__(logging.WARNING)
        self.lines: deque[str] = deque(maxlen=keep)

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(record.getMessage())

    def about(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]


@contextlib.contextmanager
def log_tail() -> Iterator[LogTail]:
    tail = LogTail()
    arb = logging.getLogger("arb")
    loggers = [logging.getLogger()] + ([] if arb.propagate else [arb])
    for logger in loggers:
        logger.addHandler(tail)
    try:
        yield tail
    finally:
        for logger in loggers:
            logger.removeHandler(tail)


@contextlib.contextmanager
def scanning_logs(canary: Canary) -> Any:
    handler = LogScan(canary)
    root, arb = logging.getLogger(), logging.getLogger("arb")
    loggers = [root] if arb.propagate else [root, arb]  # `configure_logging` stops arb propagating
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
    root.setLevel(min(levels[0], logging.INFO) if levels[0] else logging.INFO)
    previous = threading.excepthook

    def thread_died(args: threading.ExceptHookArgs) -> None:  # e.g. the journal's writer thread
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        canary.scan(f"exception in thread {args.thread.name if args.thread else '?'}", text)
        previous(args)

    threading.excepthook = thread_died
    try:
        yield handler
    finally:
        threading.excepthook = previous
        for logger in loggers:
            logger.removeHandler(handler)
        root.setLevel(levels[0])


async def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.02) -> bool:
    """True as soon as `condition()` holds, False after `timeout` seconds (never raises)."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(step)


def calm(sim: SimExchange) -> None:
    """No random jumps or noise: only the windows a row opens trade."""
    for params in list(sim.market.venues.values()):
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)


@contextlib.asynccontextmanager
async def simulator(venues: Iterable[str], seed: int, canary: Canary, *, quiet: bool = True,
                    **options: Any) -> AsyncIterator[SimExchange]:
    sim = SimExchange(list(venues), seed=seed, step_s=0.05, accounts=canary.accounts(), **options)
    await sim.start()
    if quiet:
        calm(sim)
    try:
        yield sim
    finally:
        await sim.close()


def live_config(sim: SimExchange, data_dir: Path, venues: Iterable[str] = TRADED, **sections: Any) -> Config:
    names = list(venues)
    engine = {"data_dir": str(data_dir), "mode": "live", "balance_refresh_s": 60.0,
              **sections.pop("engine", {})}
    return default_config(
        symbols=["BTC/USDT", "ETH/USDT"],
        venues={v: {"rest_url": sim.urls[v][0], "ws_url": sim.urls[v][1]} for v in names},
        engine=engine, risk={"min_net_bps": 10.0, **sections.pop("risk", {})}, **sections,
    )


@contextlib.asynccontextmanager
async def live_engine(sim: SimExchange, data_dir: Path, canary: Canary, venues: Iterable[str] = TRADED,
                      **sections: Any) -> AsyncIterator[Engine]:
    """A live engine with the canary keys, started and with every book synced (bounded)."""
    engine = new_engine(sim, data_dir, canary, venues, **sections)
    try:
        await asyncio.wait_for(engine.start(), 30)
        await wait_until(lambda: ready(engine), 15)
        yield engine
    finally:
        canary.scan_engine(engine, "engine")
        await stop_engine(engine)


class Outcomes(deque[Outcome]):
    """The engine's bounded outcome list, counting every outcome ever appended."""

    def __init__(self, maxlen: int | None) -> None:
        super().__init__(maxlen=maxlen)
        self.appended = 0

    def append(self, item: Outcome) -> None:
        self.appended += 1
        super().append(item)

    def since(self, mark: int) -> list[Outcome]:
        new = self.appended - mark
        return list(self)[-new:] if new > 0 else []


def outcomes(engine: Engine) -> Outcomes:
    """`engine.outcomes`, made countable the first time (before the engine trades)."""
    current = engine.outcomes
    if not isinstance(current, Outcomes):
        counted = Outcomes(current.maxlen)
        counted.extend(current)
        engine.outcomes = counted
        return counted
    return current


def new_engine(sim: SimExchange, data_dir: Path, canary: Canary, venues: Iterable[str] = TRADED,
               **sections: Any) -> Engine:
    names = list(venues)
    engine = Engine(live_config(sim, data_dir, names, **sections), credentials=canary.credentials(names))
    outcomes(engine)
    return engine


class LiveRig:
    """A live engine on one data dir that can be restarted (as an operator would when it stopped
    trading: a circuit that never closes lives as long as the process)."""

    def __init__(self, sim: SimExchange, data_dir: Path, canary: Canary, venues: Iterable[str] = TRADED,
                 **sections: Any) -> None:
        self.sim, self.data_dir, self.canary = sim, data_dir, canary
        self.venues = list(venues)
        self.sections = sections
        self.engine: Engine | None = None
        self.restarts = 0

    async def start(self) -> Engine:
        engine = new_engine(self.sim, self.data_dir, self.canary, self.venues, **dict(self.sections))
        self.engine = engine
        await asyncio.wait_for(engine.start(), 30)
        await wait_until(lambda: ready(engine), 15)
        return engine

    async def restart(self) -> Engine:
        await self.close()
        self.restarts += 1
        return await self.start()

    async def close(self) -> None:
        if self.engine is not None:
            self.canary.scan_engine(self.engine, "engine")
            await stop_engine(self.engine)
            self.engine = None


def ready(engine: Engine) -> bool:
    """Books SYNCED, user streams up, reconciled, not HALTED (what /readyz says)."""
    return engine.readiness()[0]


def why_idle(engine: Engine) -> str:
    """Why an engine did not trade a window: its readiness and the detector's gate counts."""
    reasons = engine.readiness()[1]["reasons"]
    gates = report.gate_counts(engine)
    return f"state {engine.risk.state.name}; {'; '.join(reasons) or 'ready'}; gates {gates}"


async def stop_engine(engine: Engine, timeout: float = 15.0) -> bool:
    """Stop `engine`; False if it did not stop in time (a hang). A hung stop is cancelled until it
    gives up (it may swallow one cancellation while it waits for its trades)."""
    task = asyncio.get_running_loop().create_task(engine.stop())
    done, _ = await asyncio.wait({task}, timeout=timeout)
    for _ in range(10):
        if task.done():
            break
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if task.done() and not task.cancelled():
        task.exception()  # a failed stop is reported by the row that caused it
    return bool(done)


def counters(engine: Engine) -> dict[tuple[str, str], float]:
    return {(venue, name): value for venue, name, value in report.venue_counters(engine)}


def matching(sim: SimExchange, venue: str) -> Any:
    return sim.dialects[venue].matching  # type: ignore[attr-defined]


def ledger(sim: SimExchange, venue: str) -> Any:
    return sim.dialects[venue].ledger  # type: ignore[attr-defined]


def moves(fills: Iterable[Fill], venue: str) -> dict[str, Decimal]:
    """Asset deltas the fills imply on one venue."""
    out: dict[str, Decimal] = {}
    for f in fills:
        if f.venue != venue:
            continue
        sign = 1 if f.side is Side.BUY else -1
        out[f.symbol.base] = out.get(f.symbol.base, Decimal(0)) + sign * f.quantity
        out[f.symbol.quote] = out.get(f.symbol.quote, Decimal(0)) - sign * f.price * f.quantity
        out[f.fee_asset] = out.get(f.fee_asset, Decimal(0)) - f.fee
    return out


async def read_journal(path: Path) -> tuple[list[Order], list[Fill], dict[str, tuple[str | None, str]]]:
    journal = Journal(path)
    await journal.open(mode="live", version="chaos", now_ns=time.time_ns())
    try:
        return await journal.orders(), await journal.fills(), await journal.order_links()
    finally:
        await journal.close()


@dataclass
class LedgerCheck:
    """The journal against the simulator's ledger (the truth)."""

    duplicates: int = 0  # client order ids a venue received more than once
    orphans: int = 0  # orders resting at a venue
    missing: int = 0  # venue orders the journal does not have
    wrong_fill: int = 0  # journaled filled quantity differs from the venue's
    phantom: int = 0  # journaled as placed with fills, the venue never saw it
    unresolved: int = 0  # journaled orders not final
    balance_diffs: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)  # the first few differences, for the details

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.orphans or self.missing or self.wrong_fill or self.phantom
                    or self.unresolved or self.balance_diffs)

    def note(self, text: str) -> None:
        if len(self.examples) < 3:
            self.examples.append(text)

    def text(self) -> str:
        return (f"dup {self.duplicates} / orphan {self.orphans} / missing {self.missing} / "
                f"wrong fill {self.wrong_fill} / phantom {self.phantom} / unresolved {self.unresolved} / "
                f"balance diffs {len(self.balance_diffs)}"
                + (f" ({'; '.join(self.examples)})" if self.examples else ""))


def check_ledger(sim: SimExchange, venues: Iterable[str], orders: Iterable[Order],
                 fills: Iterable[Fill]) -> LedgerCheck:
    by_cid = {o.client_order_id: o for o in orders}
    fill_list = list(fills)
    out = LedgerCheck()
    for venue in venues:
        engine = matching(sim, venue)
        seen = list(engine.orders.values())
        out.duplicates += len(seen) - len({o.client_id for o in seen})
        out.orphans += len(engine.open_orders(SIM_ACCOUNT))
        ids = set()
        for sim_order in seen:
            ids.add(sim_order.client_id)
            mine = by_cid.get(sim_order.client_id)
            if mine is None:
                out.missing += 1
                out.note(f"{sim_order.client_id} on {venue} not journaled")
            elif mine.filled_qty != sim_order.filled:
                out.wrong_fill += 1
                out.note(f"{sim_order.client_id} journaled {mine.status.name} {mine.filled_qty}, "
                         f"{venue} filled {sim_order.filled}")
        for cid, order in by_cid.items():
            if order.venue == venue and cid not in ids and order.filled_qty > 0:
                out.phantom += 1
        book = ledger(sim, venue)
        implied = moves(fill_list, venue)
        for asset, funded in FUNDING.items():
            truth = book.total(SIM_ACCOUNT, asset)
            if truth != funded + implied.get(asset, Decimal(0)):
                journaled = funded + implied.get(asset, Decimal(0))
                out.balance_diffs.append(f"{venue} {asset}: ledger {truth} journal {journaled}")
    out.unresolved = sum(1 for o in by_cid.values() if not o.status.is_terminal)
    return out


def net_positions(orders: Iterable[Order], links: Mapping[str, tuple[str | None, str]],
                  truth: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Per opportunity, base bought minus base sold by its orders, with the venue's filled quantity."""
    out: dict[str, Decimal] = {}
    for order in orders:
        opp = links.get(order.client_order_id, (None, ""))[0]
        if opp is None:
            continue
        filled = truth.get(order.client_order_id, order.filled_qty)
        sign = 1 if order.side is Side.BUY else -1
        out[opp] = out.get(opp, Decimal(0)) + sign * filled
    return out


def venue_filled(sim: SimExchange, venues: Iterable[str]) -> dict[str, Decimal]:
    return {o.client_id: o.filled for v in venues for o in matching(sim, v).orders.values()}


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def reference_price(sim: SimExchange, venue: str, symbol: Symbol) -> Decimal:
    _, bids, asks = sim.market.snapshot(venue, symbol, 1)
    return Decimal(str((bids[0][0] + asks[0][0]) / 2)) if bids and asks else Decimal(0)
