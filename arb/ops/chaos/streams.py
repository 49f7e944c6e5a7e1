"""Stream rows: fault schedules on the depth streams, and malformed frames on live sockets.

One live engine (canary keys, all three venues) follows BTC and ETH books of one simulator. A
schedule is a few hundred ms of one fault on one venue's stream (drop, duplicate, reorder, a gap
burst, a stall, lagging snapshots plus a gap, one corrupted level) while a window opens; then the
faults stop, the market runs a little (so every gap shows), stops, and every book must equal the
simulator's (update id and 50 levels per side). Every opportunity the detector emits is checked:
both of its books must be SYNCED at that moment.

Malformed frames are pushed on the live sockets among the real ones: each must be counted as a
decode error, drop no socket, and resync at most the book it names.
"""

from __future__ import annotations

import enum
import functools
import json
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from arb.engine.books import SyncState
from arb.engine.engine import Engine
from arb.model import Opportunity, Symbol
from arb.ops.chaos.common import BTC, ETH, Canary, RowResult, counters, live_engine, simulator, wait_until
from arb.sim.fanout import Frame
from arb.sim.faults import FaultInjector
from arb.sim.server import SimExchange
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

VENUES = ("binance", "gateio", "mexc")
SYMBOLS = (BTC, ETH)
LEVELS = 50
DEEP = 2_000


class StreamFault(enum.IntEnum):
    DROP = 0
    DUPLICATE = 1
    REORDER = 2
    GAP_BURST = 3
    STALL = 4
    LAGGING_SNAPSHOT = 5
    CORRUPT_LEVEL = 6


class Malformed(enum.IntEnum):
    NAN = 0
    INF = 1
    NEGATIVE = 2
    DEEP_JSON = 3
    TRUNCATED = 4
    WRONG_TYPES = 5


BAD_NUMBERS: Final[Mapping[Malformed, str]] = MappingProxyType(
    {Malformed.NAN: "NaN", Malformed.INF: "Infinity", Malformed.NEGATIVE: "-1.5"})


def _levels(node: Any) -> list[Any] | None:
    """The first list of [price, size] pairs in a decoded JSON frame."""
    if isinstance(node, list) and node and isinstance(node[0], list) and len(node[0]) >= 2:
        return node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        found = _levels(child)
        if found is not None:
            return found
    return None


def _keyed_levels(node: Any) -> tuple[dict[str, Any], str] | None:
    """A dict holding a list of levels (to give it the wrong type)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, list) and value and isinstance(value[0], list):
                return node, key
            found = _keyed_levels(value)
            if found is not None:
                return found
    return None


def corrupt(frame: Frame, kind: Malformed) -> Frame | None:
    """`frame` made malformed in the way `kind` says; None if it has no level to spoil (try the next)."""
    if kind is Malformed.DEEP_JSON:
        return "[" * DEEP + "]" * DEEP
    if kind is Malformed.TRUNCATED:
        return frame[: len(frame) // 2]
    if isinstance(frame, bytes):
        wrapper = PushDataV3ApiWrapper.FromString(frame)
        body = wrapper.publicAggreDepths
        levels = body.bids or body.asks
        if not levels:
            return None
        if kind is Malformed.WRONG_TYPES:
            levels[0].price = "level"
        else:
            levels[0].quantity = BAD_NUMBERS[kind]
        encoded: bytes = wrapper.SerializeToString()
        return encoded
    try:
        data = json.loads(frame)
    except ValueError:
        return None
    if kind is Malformed.WRONG_TYPES:
        keyed = _keyed_levels(data)
        if keyed is None:
            return None
        keyed[0][keyed[1]] = {"price": True}
        return json.dumps(data)
    levels = _levels(data)
    if levels is None:
        return None
    levels[0][1] = BAD_NUMBERS[kind]
    return json.dumps(data)


class Spoiler:
    """Sits between a venue's `Subscribers` and its fault injector: spoils the next frame of a topic."""

    def __init__(self, injector: FaultInjector) -> None:
        self.injector = injector
        self.armed: tuple[str, Malformed] | None = None
        self.sent = 0

    def frames(self, topic: str, frame: Frame) -> tuple[Frame, ...]:
        if self.armed is not None and self.armed[0] == topic:
            bad = corrupt(frame, self.armed[1])
            if bad is not None:
                self.armed = None
                self.sent += 1
                return (bad, *self.injector.frames(topic, frame))  # the bad one, then the real one
        return self.injector.frames(topic, frame)

    def delay_s(self) -> float:
        return self.injector.delay_s()


def install_spoilers(sim: SimExchange) -> dict[str, Spoiler]:
    out = {}
    for venue, dialect in sim.dialects.items():
        spoiler = Spoiler(sim.injectors[venue])
        dialect.subscribers.faults = spoiler  # type: ignore[attr-defined]
        out[venue] = spoiler
    return out


def watch_opportunities(engine: Engine) -> list[int]:
    """[emitted, emitted from a book that was not SYNCED]: the detector's callback, wrapped."""
    seen = [0, 0]
    original: Callable[[Opportunity], None] = engine.detector._on_opportunity

    def checked(opp: Opportunity) -> None:
        seen[0] += 1
        if not (engine.books.is_synced(opp.buy_venue, opp.symbol)
                and engine.books.is_synced(opp.sell_venue, opp.symbol)):
            seen[1] += 1
        original(opp)

    engine.detector._on_opportunity = checked
    return seen


def equal(engine: Engine, sim: SimExchange, venue: str, symbol: Symbol) -> bool:
    if engine.books.state(venue, symbol) is not SyncState.SYNCED:
        return False
    update_id, bids, asks = sim.market.snapshot(venue, symbol, LEVELS)
    book = engine.books.book(venue, symbol)
    return (book.update_id == update_id and book.top(True, LEVELS) == [(float(p), float(q)) for p, q in bids]
            and book.top(False, LEVELS) == [(float(p), float(q)) for p, q in asks])


def arm(sim: SimExchange, spoilers: dict[str, Spoiler], venue: str, kind: StreamFault,
        rng: random.Random) -> None:
    plan = sim.faults[venue]
    topic = sim.depth_topic(venue, rng.choice(SYMBOLS))
    if kind is StreamFault.DROP:
        plan.drop = rng.uniform(0.1, 0.5)
    elif kind is StreamFault.DUPLICATE:
        plan.duplicate = rng.uniform(0.2, 0.6)
    elif kind is StreamFault.REORDER:
        plan.reorder = rng.uniform(0.2, 0.6)
    elif kind is StreamFault.GAP_BURST:
        plan.gap, plan.gap_topic = rng.randint(1, 6), topic
    elif kind is StreamFault.STALL:
        plan.stall = True
    elif kind is StreamFault.LAGGING_SNAPSHOT:
        plan.snapshot_lag = rng.randint(1, 4)
        plan.gap, plan.gap_topic = 1, topic
    else:
        spoilers[venue].armed = (topic, Malformed.NEGATIVE)


def disarm(sim: SimExchange, spoilers: dict[str, Spoiler]) -> None:
    for venue, plan in sim.faults.items():
        plan.drop = plan.duplicate = plan.reorder = 0.0
        plan.gap, plan.gap_topic, plan.stall, plan.snapshot_lag = 0, None, False, 0
        spoilers[venue].armed = None


async def stream_faults(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    rng = random.Random(seed)
    schedules = compared = unequal = 0
    details: list[str] = []
    async with simulator(VENUES, seed, canary) as sim:
        spoilers = install_spoilers(sim)
        async with live_engine(sim, out, canary, VENUES) as engine:
            seen = watch_opportunities(engine)
            while schedules < trials:
                venues = rng.sample(VENUES, k=min(len(VENUES), trials - schedules))
                kinds = {v: StreamFault(rng.randrange(len(StreamFault))) for v in venues}
                for venue, kind in kinds.items():
                    arm(sim, spoilers, venue, kind, rng)
                buy, sell = rng.sample(VENUES, 2)
                sim.market.open_window(rng.choice(SYMBOLS), buy, sell, net_bps=25.0, duration_ns=800_000_000)
                await wait_until(lambda: False, rng.uniform(0.2, 0.5))
                disarm(sim, spoilers)
                schedules += len(kinds)
                await wait_until(lambda: False, 0.4)  # fault-free diffs: every gap shows
                await sim.close_driver()
                try:
                    for venue in VENUES:
                        for symbol in SYMBOLS:
                            compared += 1
                            same = await wait_until(functools.partial(equal, engine, sim, venue, symbol), 10)
                            if not same:
                                unequal += 1
                                sync = engine.books.sync(venue, symbol)
                                faults = ", ".join(f"{v}:{k.name}" for v, k in kinds.items())
                                details.append(f"schedule {schedules}: {venue} {symbol} {sync.state.name} "
                                               f"after {faults}")
                finally:
                    sim.start_driver()
            emitted, invalid = seen
    figure = (f"{compared - unequal}/{compared} books == sim; {invalid}/{emitted} opportunities from "
              f"non-SYNCED books")
    return RowResult("drop / dup / reorder / gaps / stall / lagging snapshot / corrupt level", schedules,
                     figure, f">= {trials} schedules: books == sim, 0 from INVALID books",
                     unequal == 0 and invalid == 0 and schedules >= trials, details[:20])


async def malformed(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    """Every kind of malformed frame on every venue's depth stream, `trials` times each."""
    checked = 0
    tally = {"uncounted": 0, "dropped": 0, "spread": 0}
    details: list[str] = []
    async with simulator(VENUES, seed, canary) as sim:
        spoilers = install_spoilers(sim)
        async with live_engine(sim, out, canary, VENUES) as engine:
            for _ in range(trials):
                for venue in VENUES:
                    for kind in Malformed:
                        checked += 1
                        problems = await one_malformed(engine, sim, spoilers[venue], venue, kind)
                        for key, text in problems.items():
                            tally[key] += 1
                            details.append(f"{venue} {kind.name.lower()}: {text}")
    failed = len({d.partition(":")[0] for d in details})
    figure = (f"{checked - failed}/{checked} ok: {tally['uncounted']} not counted, {tally['dropped']} "
              f"dropped a socket, {tally['spread']} resynced other books")
    return RowResult("malformed frames (NaN, inf, negative, deep, truncated, wrong types)", checked, figure,
                     "every decoder: typed DecodeError counted, 0 sockets dropped, only the named book",
                     failed == 0, details[:20])


def decode_errors(engine: Engine) -> int:
    """Decode errors the engine counted (frames no codec decoded + decoded updates a book refused)."""
    return engine.decode_errors


async def one_malformed(engine: Engine, sim: SimExchange, spoiler: Spoiler, venue: str,
                        kind: Malformed) -> dict[str, str]:
    """What went wrong with one malformed frame on `venue`'s BTC topic (empty: nothing)."""
    if not await wait_until(lambda: all(s.state is SyncState.SYNCED for s in engine.books.all()), 15.0):
        return {"uncounted": "books not SYNCED before the frame"}
    before = counters(engine)
    errors = decode_errors(engine)
    resyncs = {(s.venue, s.symbol): s.invalidations for s in engine.books.all()}
    sent = spoiler.sent
    spoiler.armed = (sim.depth_topic(venue, BTC), kind)
    if not await wait_until(lambda: spoiler.sent > sent, 5.0):
        spoiler.armed = None
        return {"uncounted": "the frame could not be sent"}
    counted = await wait_until(lambda: decode_errors(engine) > errors, 1.0)
    await wait_until(lambda: False, 0.3)
    after = counters(engine)
    problems = {}
    if not counted:
        problems["uncounted"] = "not counted as a decode error"
    dropped = after.get((venue, "ws_reconnects"), 0.0) - before.get((venue, "ws_reconnects"), 0.0)
    if dropped:
        problems["dropped"] = f"{dropped:.0f} socket(s) dropped"
    others = [f"{s.venue} {s.symbol}" for s in engine.books.all()
              if s.invalidations > resyncs[(s.venue, s.symbol)] and (s.venue, s.symbol) != (venue, BTC)]
    if others:
        problems["spread"] = f"other books resynced: {', '.join(others)}"
    return problems
