"""The 429 storm row: a 429 with Retry-After to one REST client of a venue (the market-data client's
depth snapshot, or the signed client's order) while the engine wants the other one too. No client of
that venue may send inside the Retry-After, and no 418 may follow.

A storm is counted only when the simulator actually served its 429. Before arming one, the harness
waits until what the storm needs is there again (the venue's books and the other venue's BTC book
SYNCED, the venue's limiter no longer frozen, its circuit closed, no trade in flight): after a 429 the
engine's shared limiter zeroes its pools, halves its rates and keeps a reserve for orders, so a
low-priority snapshot may wait ~50 s (correct behaviour, not the harness's to change). An armed 429
that no request took is provoked again, then disarmed and reported as not fired. How long books take
to resync after a storm is measured and reported, not judged.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final

from arb.engine.engine import Engine
from arb.engine.risk import TradingState
from arb.ops.chaos.common import (
    BTC,
    ETH,
    TRADED,
    Canary,
    RowResult,
    counters,
    live_engine,
    percentile,
    simulator,
    wait_until,
    why_idle,
)
from arb.sim.faults import Reply
from arb.sim.server import SimExchange
from arb.venues.binance import constants as binance
from arb.venues.mexc import constants as mexc

RETRY_AFTER_S = 2
IN_FLIGHT_S = 0.1  # a request logged this soon after the 429 left before the client read it
TOO_MANY: Final[Mapping[str, str]] = MappingProxyType({
    "binance": '{"code":-1003,"msg":"Too many requests; current limit of IP(127.0.0.1) is 6000 requests '
               'per minute. Please use the websocket for live updates to avoid polling the API."}',
    "mexc": '{"code":429,"msg":"Too Many Requests"}',
})
SETTLE_S = 120.0  # the longest wait for what a storm needs before arming it
SLOW_SETTLE_S = 10.0  # a longer settle wait is named in the details with what it waited for
FIRE_S = 10.0  # how long one provocation waits for the armed 429 to be served
ATTEMPTS = 3  # provocations of one storm before it is reported as not fired
RESYNC_WAIT_S = 15.0  # at the end, how long the last storms' books get to resync (reported)


class Trigger(enum.IntEnum):
    """Which REST client of the venue gets the 429."""

    SNAPSHOT = 0  # the market-data client's depth snapshot (an order is wanted during Retry-After)
    ORDER = 1  # the signed client's order (a depth snapshot is wanted during Retry-After)


# the request each trigger answers with the 429: (method, path)
ROUTES: Final[Mapping[str, Mapping[Trigger, tuple[str, str]]]] = MappingProxyType({
    venue: MappingProxyType({Trigger.SNAPSHOT: ("GET", c.DEPTH), Trigger.ORDER: ("POST", c.ORDER)})
    for venue, c in (("binance", binance), ("mexc", mexc))
})


@dataclass
class Storm:
    index: int
    venue: str
    other: str
    trigger: Trigger
    served_at: float = 0.0  # monotonic s when the simulator answered the 429
    resynced_s: float | None = None  # 429 -> every book of the venue SYNCED again

    @property
    def label(self) -> str:
        method, path = ROUTES[self.venue][self.trigger]
        return f"storm {self.index} ({method} {path} on {self.venue})"


def unsettled(engine: Engine, storm: Storm) -> str:
    """Why `storm` cannot be armed yet ('' when it can): what it needs must be there again."""
    if engine.risk.state is not TradingState.ACTIVE:
        return f"trading {engine.risk.state.name}"
    if engine._tasks:
        return f"{len(engine._tasks)} trades in flight"
    books = [b for b in engine.books.all()
             if b.venue == storm.venue or (b.venue == storm.other and b.symbol == BTC)]
    waiting = [f"{b.venue} {b.symbol} {b.state.name}" for b in books if b.state.name != "SYNCED"]
    if waiting:
        return "books " + ", ".join(waiting)
    for venue in (storm.venue, storm.other):
        if engine.risk.circuit_open(venue):
            return f"{venue} circuit open"
    limiter = engine.publics[storm.venue].limiter
    if limiter is not None and not all(free > 0 for free in limiter.headroom().values()):
        return f"{storm.venue} limiter frozen"
    return ""


def settled(engine: Engine, storm: Storm) -> bool:
    return not unsettled(engine, storm)


def venue_synced(engine: Engine, venue: str) -> bool:
    return all(b.state.name == "SYNCED" for b in engine.books.all() if b.venue == venue)


def note_resyncs(engine: Engine, pending: list[Storm]) -> None:
    """Each pending storm whose venue has every book SYNCED again: resynced now."""
    now = time.monotonic()
    for storm in [s for s in pending if venue_synced(engine, s.venue)]:
        storm.resynced_s = now - storm.served_at
        pending.remove(storm)


async def watch_resyncs(engine: Engine, pending: list[Storm]) -> None:
    """Note when each fired storm's venue has every book SYNCED again (also noted right before the
    next storm is armed: its invalidation may follow a resync by less than one poll)."""
    while True:
        note_resyncs(engine, pending)
        await asyncio.sleep(0.05)


def open_window(sim: SimExchange, storm: Storm, rng: random.Random) -> None:
    buy, sell = (storm.venue, storm.other) if rng.random() < 0.5 else (storm.other, storm.venue)
    sim.market.open_window(BTC, buy, sell, net_bps=25.0, duration_ns=800_000_000)


def want(sim: SimExchange, engine: Engine, storm: Storm, trigger: Trigger, rng: random.Random) -> None:
    """Make the engine want the request `trigger` names on the storm's venue."""
    if trigger is Trigger.SNAPSHOT:
        engine.books.invalidate(storm.venue, ETH, "chaos 429")
    else:
        open_window(sim, storm, rng)


async def fire(sim: SimExchange, engine: Engine, storm: Storm, rng: random.Random,
               details: list[str]) -> bool:
    """Arm the storm's 429 and provoke its request until the simulator serves it (True), at most
    `ATTEMPTS` times; a 429 nobody took is disarmed (False)."""
    method, path = ROUTES[storm.venue][storm.trigger]
    plan, injector = sim.faults[storm.venue], sim.injectors[storm.venue]
    canned = injector.counts.canned
    reply = Reply(429, TOO_MANY[storm.venue], {"Retry-After": str(RETRY_AFTER_S)}, method=method, path=path)
    plan.replies.append(reply)
    for _ in range(ATTEMPTS):
        want(sim, engine, storm, storm.trigger, rng)
        if await wait_until(lambda: injector.counts.canned > canned, FIRE_S):
            break
    with contextlib.suppress(ValueError):
        plan.replies.remove(reply)  # still armed: nobody took it (no await since the last check)
    if injector.counts.canned == canned:
        details.append(f"{storm.label}: not fired, no {method} {path} in {ATTEMPTS} x {FIRE_S:.0f} s "
                       f"({why_idle(engine)})"[:300])
        return False
    storm.served_at = injector.served[-1][0]
    return True


async def storm(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    """`trials` storms alternating venue (binance, mexc) and, every two, the client that gets the 429."""
    rng = random.Random(seed)
    inside = 0
    fired: list[Storm] = []
    settle_waits: list[float] = []
    slow: list[str] = []  # settle waits longer than SLOW_SETTLE_S, with what each first waited for
    details: list[str] = []
    pending: list[Storm] = []
    async with simulator(TRADED, seed, canary) as sim, live_engine(sim, out, canary) as engine:
        watcher = asyncio.get_running_loop().create_task(watch_resyncs(engine, pending), name="chaos resyncs")
        try:
            for i in range(trials):
                venue, other = TRADED[i % 2], TRADED[1 - i % 2]
                current = Storm(i, venue, other, Trigger.SNAPSHOT if (i // 2) % 2 == 0 else Trigger.ORDER)
                began = time.monotonic()
                if engine.risk.state is not TradingState.ACTIVE:
                    engine.risk.resume()  # as an operator would after a storm's one-legged trade
                waiting_for = unsettled(engine, current)
                if not await wait_until(functools.partial(settled, engine, current), SETTLE_S):
                    details.append(f"{current.label}: armed unsettled after {SETTLE_S:.0f} s: "
                                   f"{unsettled(engine, current)}")
                settle_waits.append(time.monotonic() - began)
                if settle_waits[-1] > SLOW_SETTLE_S:
                    slow.append(f"{current.label} after {settle_waits[-1]:.1f} s ({waiting_for})")
                note_resyncs(engine, pending)
                if not await fire(sim, engine, current, rng, details):
                    continue
                fired.append(current)
                pending.append(current)
                # the other client's request is wanted at once, inside the Retry-After
                want(sim, engine, current, Trigger(1 - current.trigger), rng)
                start = current.served_at
                await wait_until(lambda: False, start + RETRY_AFTER_S + 0.5 - time.monotonic())
                during = [route for t, route in sim.traffic[venue].recent
                          if start + IN_FLIGHT_S < t < start + RETRY_AFTER_S]
                inside += len(during)
                if during:
                    details.append(f"{current.label}: {len(during)} sent inside Retry-After: "
                                   f"{', '.join(sorted(set(during)))}")
            await wait_until(lambda: not pending, RESYNC_WAIT_S)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        banned = sum(v for (_, name), v in counters(engine).items() if name == "rest_banned")
    bans = sum(sim.limiters[v].banned_replies for v in TRADED)
    resyncs = [s.resynced_s for s in fired if s.resynced_s is not None]
    measured = [
        "books SYNCED again after each storm's 429 (s): " + " ".join(
            f"{s.index}:{'-' if s.resynced_s is None else f'{s.resynced_s:.1f}'}" for s in fired),
        "settle waits (s): " + " ".join(f"{w:.1f}" for w in settle_waits),
        *(f"slow settle: {line}" for line in slow[:6]),
    ]
    figure = (f"{len(fired)}/{trials} storms fired (429 served): {inside} requests inside Retry-After; "
              f"{bans} 418 ({banned:.0f} seen by the engine); books SYNCED again p50 "
              f"{percentile(resyncs, 50):.1f} s, max {max(resyncs, default=0.0):.1f} s after the 429"
              f"{f' ({len(pending)} still resyncing at the end)' if pending else ''}, settle wait max "
              f"{max(settle_waits, default=0.0):.1f} s (reported, not judged)")
    return RowResult("429 storm with Retry-After on either REST client, then 418", len(fired), figure,
                     f">= {trials} storms: 0 requests during Retry-After, 0 418",
                     inside == 0 and bans == 0 and len(fired) >= trials, details[:20] + measured)
