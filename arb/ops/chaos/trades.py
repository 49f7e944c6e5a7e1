"""Rows that break one leg of a live trade: lost or late replies, and legs rejected / partial / outpriced.

One live engine (canary keys) trades against one calm simulator; each trial arms a fault on one
venue, opens an arbitrage window, waits (bounded) until the trade and its orders are final, and
checks the orders of that trial against the simulator's matching engine. The journal is checked
against the ledger once the engine stopped.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from arb.engine.engine import Engine
from arb.engine.executor import Outcome, OutcomeStatus
from arb.engine.risk import TradingState
from arb.model import Side, Symbol
from arb.ops.chaos.common import (
    BTC,
    TRADED,
    Canary,
    LiveRig,
    RowResult,
    check_ledger,
    matching,
    outcomes,
    percentile,
    read_journal,
    simulator,
    wait_until,
    why_idle,
)
from arb.sim.faults import Reply
from arb.sim.server import SimExchange

START_TIMEOUT_S = 3.0  # a window is traded within a few hundred ms, or not at all
TRIAL_TIMEOUT_S = 25.0
# the injected failures open venue circuits (as they should): a short cooldown keeps trials coming
CIRCUIT_COOLDOWN_S = 2.0
QUIET_RESTART = 2  # untraded windows in a row before the engine is restarted (an operator's move)
REJECTS: Final[Mapping[str, str]] = MappingProxyType({
    "binance": '{"code":-2010,"msg":"Order would trigger immediately."}',
    "mexc": '{"code":30029,"msg":"Cannot exceed the maximum order limit"}',  # not a venue halt
    "gateio": '{"label":"INVALID_PARAM_VALUE","message":"order rejected"}',
})


class ReplyFault(enum.IntEnum):
    TIMEOUT = 0  # accepted, the reply comes after the client's timeout
    SERVER_ERROR = 1  # accepted, answered 5xx
    DROPPED = 2  # accepted, connection closed without a reply
    HIDDEN = 3  # reply dropped and the order "not found" for up to 6 s


class LegFault(enum.IntEnum):
    REJECTED = 0
    PARTIAL = 1
    PRICE_MOVED = 2


class Trial:
    """The sim orders one trial produced, and when its trade was final."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        self.before = {v: set(matching(sim, v).orders) for v in TRADED}
        self.started = time.monotonic()

    def new_orders(self) -> list[Any]:
        return [o for v in TRADED for k, o in matching(self.sim, v).orders.items() if k not in self.before[v]]


async def trade(sim: SimExchange, engine: Engine, buy: str, sell: str) -> tuple[list[Outcome], float | None]:
    """Open a window; the new outcomes and the seconds until every order was final (None: never)."""
    done = outcomes(engine)
    seen = done.appended
    began = time.monotonic()
    sim.market.open_window(BTC, buy, sell, net_bps=25.0, duration_ns=800_000_000)
    if not await wait_until(lambda: done.appended > seen or bool(engine._tasks), START_TIMEOUT_S):
        return [], None  # the window was not traded
    await wait_until(lambda: done.appended > seen and not engine._tasks, TRIAL_TIMEOUT_S)
    final = await wait_until(lambda: not engine.tracker.open_orders(), 2.0)
    took = time.monotonic() - began if final else None
    return done.since(seen), took


async def circuits_closed(engine: Engine) -> None:
    """Wait (bounded) until every venue may be traded again (closed or half-open circuits)."""
    await wait_until(lambda: not any(engine.risk.circuit_open(v) for v in TRADED), CIRCUIT_COOLDOWN_S + 3)


def mute_first_push(sim: SimExchange, venue: str) -> Callable[[], None]:
    """Drop every user-stream push of the next order `venue` receives; returns the undo."""
    engine = matching(sim, venue)
    original = list(engine.listeners)
    muted: list[str] = []

    def wrap(listener: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def push(order: Any, fills: Any) -> None:
            if not muted:
                muted.append(order.client_id)
            if order.client_id != muted[0]:
                listener(order, fills)
        return push

    engine.listeners[:] = [wrap(listener) for listener in original]

    def undo() -> None:
        engine.listeners[:] = original
    return undo


def compete(sim: SimExchange, venue: str, share: float) -> Callable[[], None]:
    """A faster taker takes `share` of the liquidity our next order on `venue` could reach first."""
    engine = matching(sim, venue)
    place = engine.place

    def first(account: str, symbol: Symbol, side: Side, kind: str, qty: Decimal, price: Decimal | None,
              tif: str, cid: str) -> Any:
        if price is not None:
            engine.place = place
            book = sim.market.books[(venue, symbol)]
            is_bid = side is Side.SELL
            keep = int(qty / book.spec.step * Decimal(str(1 - share))) if share < 1 else 0
            takes = []
            levels = sorted(book.bids.items(), reverse=True) if is_bid else sorted(book.asks.items())
            for ticks, lots in levels:
                level = book.price(ticks)
                if (is_bid and level < price) or (not is_bid and level > price):
                    break
                kept = min(lots, keep)
                keep -= kept
                takes.append((ticks, lots - kept))
            sim.market.consume(venue, symbol, is_bid, takes)
        return place(account, symbol, side, kind, qty, price, tif, cid)

    engine.place = first

    def undo() -> None:
        engine.place = place
    return undo


def wrong_direction(engine: Engine, sim_filled: dict[str, Decimal], outcomes: list[Outcome]) -> int:
    """Residual orders that added to the one-legged position instead of closing it."""
    wrong = 0
    for out in outcomes:
        tracked = engine.tracker.for_opportunity(out.opportunity_id)
        net = Decimal(0)
        for t in tracked:
            if t.leg in ("buy", "sell"):
                filled = sim_filled.get(t.order.client_order_id, Decimal(0))
                net += filled if t.order.side is Side.BUY else -filled
        for t in tracked:
            if t.leg in ("buy", "sell") or not sim_filled.get(t.order.client_order_id):
                continue
            closes = (net > 0 and t.order.side is Side.SELL) or (net < 0 and t.order.side is Side.BUY)
            if not closes:
                wrong += 1
    return wrong


def arm_reply_fault(sim: SimExchange, engine: Engine, venue: str, kind: ReplyFault,
                    rng: random.Random) -> None:
    plan = sim.faults[venue]
    plan.http_methods = frozenset({"POST"})
    if kind is ReplyFault.TIMEOUT:
        plan.slow_reply_ms = engine.config.executor.order_timeout_ms + 1500.0
        plan.slow_replies = 1
    elif kind is ReplyFault.SERVER_ERROR:
        plan.error_5xx = 1
    else:
        plan.drop_replies = 1
        if kind is ReplyFault.HIDDEN:  # order queries and the trade history both lag
            plan.hide_orders_ms = rng.uniform(1000.0, 6000.0)
            plan.hide_trades = True


def disarm(sim: SimExchange) -> bool:
    """Clear every one-shot fault; True if the armed one fired."""
    fired = True
    for venue in TRADED:
        plan = sim.faults[venue]
        fired = fired and not (plan.slow_replies or plan.error_5xx or plan.drop_replies or plan.replies)
        plan.slow_replies = plan.error_5xx = plan.drop_replies = 0
        plan.replies.clear()
        plan.hide_orders_ms = 0.0
        plan.hide_trades = False
        plan.http_methods = frozenset()
    return fired


class ReplyTally:
    def __init__(self) -> None:
        self.dup = self.orphan = self.abandoned = self.wrong = self.unresolved = self.injected = 0
        self.untraded = 0
        self.times: list[float] = []
        self.details: list[str] = []


def check_reply_trial(sim: SimExchange, engine: Engine, trial: Trial, outcomes: list[Outcome],
                      took: float | None, label: str, tally: ReplyTally) -> None:
    orders = trial.new_orders()
    cids = [o.client_id for o in orders]
    tally.dup += len(cids) - len(set(cids))
    tally.orphan += sum(1 for v in TRADED for _ in matching(sim, v).open_orders("sim"))
    filled = {o.client_id: o.filled for o in orders}
    for order in orders:
        mine = engine.tracker.get(order.client_id)
        if mine is None or not mine.status.is_terminal:
            tally.unresolved += 1
        elif order.filled > 0 and mine.filled_qty != order.filled:
            tally.abandoned += 1
            tally.details.append(f"{label}: {order.client_id} {mine.status.name} with {mine.filled_qty}, "
                                 f"the venue filled {order.filled}")
    tally.wrong += wrong_direction(engine, filled, outcomes)
    if took is None:
        tally.unresolved += 1
    else:
        tally.times.append(took)


async def reply_faults(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    rng = random.Random(seed)
    tally = ReplyTally()
    async with simulator(TRADED, seed, canary) as sim:
        rig = LiveRig(sim, out, canary, risk={"circuit_cooldown_s": CIRCUIT_COOLDOWN_S})
        try:
            engine = await rig.start()
            quiet = i = 0
            while tally.injected < trials and i < trials * 2:  # until enough faults really fired
                i += 1
                if quiet >= QUIET_RESTART:
                    engine, quiet = await rig.restart(), 0
                await circuits_closed(engine)
                kind, muted = ReplyFault(i % 4), (i // 4) % 2 == 1
                buy, sell = TRADED if i % 2 == 0 else TRADED[::-1]
                venue = rng.choice(TRADED)
                trial = Trial(sim)
                arm_reply_fault(sim, engine, venue, kind, rng)
                undo = mute_first_push(sim, venue) if muted else (lambda: None)
                try:
                    outcomes, took = await trade(sim, engine, buy, sell)
                finally:
                    undo()
                fired = disarm(sim)
                label = f"trial {i} ({kind.name.lower()}{' no-push' if muted else ''} on {venue})"
                if not outcomes:
                    tally.untraded, quiet = tally.untraded + 1, quiet + 1
                    tally.details.append(f"{label}: the window was not traded ({why_idle(engine)})")
                    continue
                tally.injected += fired
                quiet = 0 if fired else quiet + 1  # refused by risk (limits): restart as for no trade
                if not fired:
                    statuses = [f"{o.status.word} {o.reason.text if o.reason is not None else ''}".strip()
                                for o in outcomes]
                    tally.details.append(f"{label}: the fault did not fire (outcomes {statuses})")
                check_reply_trial(sim, engine, trial, outcomes, took, label, tally)
                if engine.risk.state is not TradingState.ACTIVE:
                    engine.risk.resume()  # the operator's resume: the next trial starts clean
        finally:
            await rig.close()
    orders, fills, _ = await read_journal(out / "journal.sqlite")
    ledger = check_ledger(sim, TRADED, orders, fills)
    details = tally.details
    if not ledger.ok:
        details.append(f"journal vs ledger: {ledger.text()} {ledger.balance_diffs[:3]}")
    if tally.untraded:
        details.insert(0, f"{tally.untraded} windows not traded (no injection); {rig.restarts} engine "
                          "restarts")
    t = tally
    figure = (f"{t.injected} injected: {t.dup} dup / {t.orphan} orphan / {t.abandoned} abandoned / "
              f"{t.wrong} wrong-dir / {t.unresolved} unresolved; p99 {percentile(t.times, 99):.1f} s; "
              f"ledger {'ok' if ledger.ok else 'DIFFERS'}; {rig.restarts} restarts")
    passed = (t.injected >= trials and not (t.dup or t.orphan or t.abandoned or t.wrong or t.unresolved)
              and ledger.ok)
    return RowResult("accept-then-timeout / 5xx / dropped reply / hidden <= 6 s, +- push", t.injected, figure,
                     f">= {trials} injections: 0 dup, 0 orphan, 0 abandoned, 0 wrong-dir; p99", passed,
                     details)


def arm_leg_fault(sim: SimExchange, venue: str, kind: LegFault) -> Callable[[], None]:
    if kind is LegFault.REJECTED:
        sim.faults[venue].replies.append(Reply(400, REJECTS[venue], method="POST"))
        return lambda: None
    return compete(sim, venue, 0.5 if kind is LegFault.PARTIAL else 1.0)


async def one_leg(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    rng = random.Random(seed)
    closed = halted = failed = untraded = legged = 0
    details: list[str] = []
    async with simulator(TRADED, seed, canary) as sim:
        rig = LiveRig(sim, out, canary, risk={"circuit_cooldown_s": CIRCUIT_COOLDOWN_S})
        try:
            engine = await rig.start()
            deadline_ms = engine.config.executor.residual_deadline_ms
            quiet = 0
            for i in range(trials):
                if quiet >= QUIET_RESTART:
                    engine, quiet = await rig.restart(), 0
                await circuits_closed(engine)
                kind = LegFault(i % 3)
                buy, sell = TRADED if i % 2 == 0 else TRADED[::-1]
                venue = rng.choice(TRADED)
                trial = Trial(sim)
                undo = arm_leg_fault(sim, venue, kind)
                try:
                    outcomes, _ = await trade(sim, engine, buy, sell)
                finally:
                    undo()
                disarm(sim)
                label = f"{kind.name.lower()} on {venue}"
                if not outcomes:
                    untraded, quiet = untraded + 1, quiet + 1
                    details.append(f"trial {i} ({label}): the window was not traded ({why_idle(engine)})")
                    continue
                quiet = 0
                legged += any(o.status in ONE_LEGGED for o in outcomes)
                verdict = judge_residual(engine, sim, trial, outcomes, deadline_ms)
                if verdict == "closed":
                    closed += 1
                elif verdict == "halted":
                    halted += 1
                else:
                    failed += 1
                    details.append(f"trial {i} ({label}): {verdict}")
                if engine.risk.state is not TradingState.ACTIVE:
                    engine.risk.resume()
        finally:
            await rig.close()
    done = closed + halted
    figure = (f"{done}/{done + failed} closed or HALT ({closed} closed, {halted} HALT; {legged} one-legged); "
              f"{untraded} untraded, {rig.restarts} restarts")
    return RowResult("one leg rejected / partial / price moved", done + failed, figure,
                     f">= {trials}: residual < min-notional in deadline 100 %, else HALT",
                     failed == 0 and untraded == 0 and done >= trials, details)


ONE_LEGGED = frozenset({OutcomeStatus.RESIDUAL_CLOSED, OutcomeStatus.HALTED, OutcomeStatus.PARTIAL})


def judge_residual(engine: Engine, sim: SimExchange, trial: Trial, outcomes: list[Outcome],
                   deadline_ms: int) -> str:
    """"closed", "halted", or what went wrong, from the venue's fills of the trial's orders."""
    filled = {o.client_id: (o.filled, o.side) for o in trial.new_orders()}
    net = Decimal(0)
    for qty, side in filled.values():
        net += qty if side is Side.BUY else -qty
    info = engine.symbols.get((TRADED[0], BTC))
    _, bids, _ = sim.market.snapshot(TRADED[0], BTC, 1)
    price = Decimal(str(bids[0][0])) if bids else Decimal(0)
    minimum = info.min_notional if info is not None else Decimal(0)
    slowest = max((o.residual_ms or 0.0) for o in outcomes)
    if abs(net) * price < max(minimum, Decimal("1")) and slowest <= deadline_ms:
        return "closed"
    if engine.risk.state is TradingState.HALTED and engine.risk.reason:
        return "halted"
    statuses = [o.status.word for o in outcomes]
    legs = [(o.buy.status.name if o.buy else "-", o.sell.status.name if o.sell else "-") for o in outcomes]
    return (f"net {net} BTC left ({abs(net) * price:.2f} USDT), residual {slowest:.0f} ms, state "
            f"{engine.risk.state.name}, outcomes {statuses} legs {legs}")

