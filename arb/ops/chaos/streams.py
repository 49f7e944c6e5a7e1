"""Stream rows: fault schedules on the depth streams, and malformed frames on live sockets.

One live engine (canary keys, every registry venue the simulator serves: five) follows BTC and ETH
books of one simulator. A schedule is a few hundred ms of one fault on one venue's stream (drop,
duplicate, reorder, a gap burst, a stall, lagging snapshots plus a gap, one corrupted level) while a
window opens; then the faults stop, the market runs a little (so every gap shows), stops, and every
book must equal the simulator's (update id and 50 levels per side). Every opportunity the detector
emits is checked: both of its books must be SYNCED at that moment. The schedules are spread over the
venues (up to `PER_SCHEDULE` venues faulted at once, in a shuffled rotation so each venue gets its
turn) rather than multiplied by them. A fault kind that does not bite on a venue is said in the
row's details: a lagging REST snapshot cannot hold back a book whose stream re-subscribes for a
snapshot of its own (OKX, Bybit), and the details count how each faulted book was resynced.

Malformed frames are pushed on the live sockets among the real ones, every kind on every venue:
each must be counted as a decode error, drop no socket, and resync at most the book it names.
"""

from __future__ import annotations

import enum
import functools
import json
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from arb.engine.books import BookSync, SyncState
from arb.engine.engine import Engine
from arb.model import Opportunity, Symbol
from arb.ops.chaos.common import BTC, ETH, Canary, RowResult, counters, live_engine, simulator, wait_until
from arb.sim.bybit import BybitDialect as SimBybit
from arb.sim.fanout import Frame
from arb.sim.faults import FaultInjector
from arb.sim.server import DIALECTS, SimExchange
from arb.venues.base import DepthUpdate
from arb.venues.bybit.stream import BybitStream
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper
from arb.venues.registry import VENUE_NAMES

VENUES: Final = tuple(v for v in VENUE_NAMES if v in DIALECTS)  # every registry venue the sim serves
PER_SCHEDULE: Final = 3  # venues faulted at once in one schedule
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
    """A dict holding a list of levels (to give it the wrong type), also inside lists (OKX's
    ``data`` is a list of book items)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, list) and value and isinstance(value[0], list):
                return node, key
            found = _keyed_levels(value)
            if found is not None:
                return found
    elif isinstance(node, list):
        for child in node:
            found = _keyed_levels(child)
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


def depth_topic(engine: Engine, sim: SimExchange, venue: str, symbol: Symbol) -> str:
    """The topic `symbol`'s depth reaches the engine under on `venue`. The simulator names one per
    venue (`SimExchange.depth_topic`); Bybit serves several depths of each book and its connector
    picks one (200 levels by default, not the simulator's 50), so its stream is asked."""
    stream = engine.streams.get(venue)
    if isinstance(stream, BybitStream):
        return stream.book_topic(symbol)
    return sim.depth_topic(venue, symbol)


def stream_id(sim: SimExchange, venue: str, topic: str, update_id: int) -> int:
    """The id the venue's stream numbers the book state `update_id` with: the market's own, except
    Bybit's ``u``, counted per depth topic (the view the topic names)."""
    dialect = sim.dialects[venue]
    if isinstance(dialect, SimBybit):
        view = dialect.books.parse(topic)
        if view is not None:
            return view.u
    return update_id


def equal(engine: Engine, sim: SimExchange, venue: str, symbol: Symbol) -> bool:
    if engine.books.state(venue, symbol) is not SyncState.SYNCED:
        return False
    update_id, bids, asks = sim.market.snapshot(venue, symbol, LEVELS)
    update_id = stream_id(sim, venue, depth_topic(engine, sim, venue, symbol), update_id)
    book = engine.books.book(venue, symbol)
    return (book.update_id == update_id and book.top(True, LEVELS) == [(float(p), float(q)) for p, q in bids]
            and book.top(False, LEVELS) == [(float(p), float(q)) for p, q in asks])


def arm(engine: Engine, sim: SimExchange, spoilers: dict[str, Spoiler], venue: str, kind: StreamFault,
        rng: random.Random) -> None:
    plan = sim.faults[venue]
    topic = depth_topic(engine, sim, venue, rng.choice(SYMBOLS))
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


def watch_resyncs(engine: Engine) -> dict[str, Counter[str]]:
    """Per venue, how its books got (re)synced: ``stream`` (a snapshot on the stream replaced the
    book) or ``rest`` (a REST snapshot bridged the buffered diffs): the store's two paths, wrapped."""
    seen: dict[str, Counter[str]] = {v: Counter() for v in VENUES}
    store = engine.books
    replace: Callable[[BookSync, DepthUpdate], None] = store._replace
    bridged: Callable[[BookSync, Any], bool] = store._bridged

    def counted_replace(sync: BookSync, update: DepthUpdate) -> None:
        was = sync.state
        replace(sync, update)
        if was is not SyncState.SYNCED and sync.state is SyncState.SYNCED:
            seen[sync.venue]["stream"] += 1

    def counted_bridged(sync: BookSync, snapshot: Any) -> bool:
        was = sync.state
        done = bridged(sync, snapshot)
        if done and was is not SyncState.SYNCED:
            seen[sync.venue]["rest"] += 1
        return done

    store._replace = counted_replace  # type: ignore[method-assign]
    store._bridged = counted_bridged  # type: ignore[method-assign]
    return seen


def rotation(rng: random.Random) -> Iterator[list[str]]:
    """Venues to fault together: up to `PER_SCHEDULE` distinct ones at a time, taken from shuffled
    rounds of every venue, so each venue gets a schedule before any gets its second."""
    queue: list[str] = []
    while True:
        while len(set(queue)) < min(PER_SCHEDULE, len(VENUES)):
            queue += rng.sample(VENUES, len(VENUES))
        picked: list[str] = []
        for venue in list(queue):
            if venue not in picked and len(picked) < PER_SCHEDULE:
                picked.append(venue)
                queue.remove(venue)
        yield picked


def lag_notes(lagged: Counter[str], recovered: dict[str, Counter[str]]) -> list[str]:
    """Where a lagging REST snapshot was scheduled, how that venue's books were resynced; where only
    the stream's own snapshots did it, the fault did not apply and the note says so."""
    notes = []
    for venue, count in sorted(lagged.items()):
        ways = recovered[venue]
        text = (f"{venue}: lagging snapshot x{count}: books resynced by {ways['stream']} stream "
                f"snapshot(s), {ways['rest']} REST snapshot(s)")
        if ways["stream"] and not ways["rest"]:
            text += " (its stream re-subscribes for a snapshot of its own: the REST lag does not apply)"
        notes.append(text)
    return notes


async def stream_faults(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    rng = random.Random(seed)
    schedules = compared = unequal = 0
    details: list[str] = []
    per_venue: dict[str, Counter[str]] = {v: Counter() for v in VENUES}
    lagged: Counter[str] = Counter()
    lag_recovery: dict[str, Counter[str]] = {v: Counter() for v in VENUES}
    async with simulator(VENUES, seed, canary) as sim:
        spoilers = install_spoilers(sim)
        async with live_engine(sim, out, canary, VENUES) as engine:
            seen = watch_opportunities(engine)
            resynced = watch_resyncs(engine)
            turns = rotation(rng)
            while schedules < trials:
                venues = next(turns)[: trials - schedules]
                kinds = {v: StreamFault(rng.randrange(len(StreamFault))) for v in venues}
                before = {v: Counter(resynced[v]) for v in venues}
                for venue, kind in kinds.items():
                    arm(engine, sim, spoilers, venue, kind, rng)
                    per_venue[venue][kind.name.lower()] += 1
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
                for venue, kind in kinds.items():
                    if kind is StreamFault.LAGGING_SNAPSHOT:
                        lagged[venue] += 1
                        lag_recovery[venue].update(resynced[venue] - before[venue])
            emitted, invalid = seen
    notes = [*lag_notes(lagged, lag_recovery), "schedules per venue: " + "; ".join(
        f"{v} {sum(c.values())} ({', '.join(f'{k} {n}' for k, n in sorted(c.items()))})"
        for v, c in per_venue.items())]
    figure = (f"{compared - unequal}/{compared} books == sim over {len(VENUES)} venues; {invalid}/{emitted} "
              f"opportunities from non-SYNCED books")
    faulted = sum(1 for c in per_venue.values() if c)
    return RowResult("drop / dup / reorder / gaps / stall / lagging snapshot / corrupt level", schedules,
                     figure, f">= {trials} schedules: books == sim, 0 from INVALID books",
                     unequal == 0 and invalid == 0 and schedules >= trials
                     and faulted == min(len(VENUES), trials), details[:20] + notes)


async def malformed(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    """Every kind of malformed frame on every venue's depth stream, `trials` times each (the kinds
    run in a shuffled order of venues, so one venue's recovery overlaps the next one's frame less)."""
    rng = random.Random(seed)
    checked = 0
    tally = {"uncounted": 0, "dropped": 0, "spread": 0}
    details: list[str] = []
    async with simulator(VENUES, seed, canary) as sim:
        spoilers = install_spoilers(sim)
        async with live_engine(sim, out, canary, VENUES) as engine:
            for _ in range(trials):
                pairs = [(venue, kind) for kind in Malformed for venue in VENUES]
                rng.shuffle(pairs)
                for venue, kind in pairs:
                    checked += 1
                    problems = await one_malformed(engine, sim, spoilers[venue], venue, kind)
                    for key, text in problems.items():
                        tally[key] += 1
                        details.append(f"{venue} {kind.name.lower()}: {text}")
    failed = len({d.partition(":")[0] for d in details})
    figure = (f"{checked - failed}/{checked} ok over {len(VENUES)} venues: {tally['uncounted']} not counted, "
              f"{tally['dropped']} dropped a socket, {tally['spread']} resynced other books")
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
    spoiler.armed = (depth_topic(engine, sim, venue, BTC), kind)
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
