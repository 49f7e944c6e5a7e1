"""Faults on a live trade (real signed orders to the simulator): nothing duplicated, orphaned or lost.

Each test opens one arbitrage window (buy on binance, sell on mexc) and breaks the mexc leg in one
way. Afterwards: every order is final, every order the venue saw is journaled with what it filled,
no client order id was sent twice, the journaled fills explain the simulator's ledger exactly, and
the one-legged exposure was closed within the deadline or trading HALTed saying why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.engine.engine import Engine
from arb.engine.executor import Outcome, OutcomeStatus
from arb.model import OrderStatus, Side, Symbol
from arb.sim.accounts import FUNDING
from arb.sim.faults import Reply
from arb.sim.server import SimExchange
from tests.engine.test_engine_live import (
    VENUES,
    calm_sim,
    journal_fills,
    live_config,
    moves,
    sim_credentials,
    wait_for,
)
from tests.helpers import competitor_takes_half_the_bids

BTC = Symbol("BTC", "USDT")


async def trade_one_window(tmp_path: Path, seed: int,
                           arm: Callable[[SimExchange, Engine], Awaitable[None] | None]) -> tuple[
                               SimExchange, Engine, Outcome]:
    sim, urls = await calm_sim(VENUES, seed=seed)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        armed = arm(sim, engine)
        if armed is not None:
            await armed
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(engine.outcomes) and not engine._tasks, timeout=20)
    finally:
        await engine.stop()
        await sim.close()
    return sim, engine, engine.outcomes[0]


async def assert_consistent(sim: SimExchange, engine: Engine, tmp_path: Path) -> None:
    orders = {o.client_order_id: o for o in [t.order for t in
                                             (engine.tracker.tracked(c) for c in _cids(engine)) if t]}
    assert all(o.status.is_terminal for o in orders.values()), orders
    fills = await journal_fills(tmp_path)
    for venue in VENUES:
        matching: Any = sim.dialects[venue].matching  # type: ignore[attr-defined]
        seen = list(matching.orders.values())
        assert len({o.client_id for o in seen}) == len(seen)  # never sent twice
        for sim_order in seen:
            assert orders[sim_order.client_id].filled_qty == sim_order.filled
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        for asset, moved in moves(fills, venue).items():
            assert ledger.total("sim", asset) == FUNDING[asset] + moved, (venue, asset)
    state = engine.risk.state.name
    assert state == "ACTIVE" or engine.risk.reason, state


def _cids(engine: Engine) -> list[str]:
    return [o.client_order_id for o in engine.tracker.open_orders()] + [
        leg.client_order_id for out in engine.outcomes for leg in (out.buy, out.sell) if leg is not None] + [
        t.order.client_order_id for out in engine.outcomes
        for t in engine.tracker.for_opportunity(out.opportunity_id)]


async def test_a_rejected_leg_is_unwound_or_halts(tmp_path: Path) -> None:
    def arm(sim: SimExchange, engine: Engine) -> None:
        sim.faults["mexc"].replies.append(Reply(400, '{"code":30016,"msg":"trading is suspended"}',
                                                method="POST"))
    sim, engine, out = await trade_one_window(tmp_path, 31, arm)
    assert out.buy is not None and out.buy.status is OrderStatus.FILLED
    assert out.sell is not None and out.sell.status is OrderStatus.REJECTED
    assert out.status in (OutcomeStatus.RESIDUAL_CLOSED, OutcomeStatus.HALTED)
    residuals = [t.order for t in engine.tracker.for_opportunity(out.opportunity_id) if t.leg == "residual"]
    assert residuals and all(o.side is Side.SELL for o in residuals)  # the extra BTC is sold back
    if out.status is OutcomeStatus.RESIDUAL_CLOSED:
        assert sum(o.filled_qty for o in residuals) == out.buy.filled_qty
    summary = engine.summary()["residuals"]
    assert summary["count"] == 1 and summary["max_ms"] == out.residual_ms
    deadline_ms = engine.config.executor.residual_deadline_ms
    assert out.residual_ms is not None and out.residual_ms < deadline_ms + 1000
    metric = engine.metrics.registry.get_sample_value("arb_residual_lifetime_seconds_count")
    assert metric == 1.0
    await assert_consistent(sim, engine, tmp_path)


async def test_a_partially_filled_leg_leaves_a_closed_residual(tmp_path: Path) -> None:
    def arm(sim: SimExchange, engine: Engine) -> None:
        competitor_takes_half_the_bids(sim, "mexc")
    sim, engine, out = await trade_one_window(tmp_path, 32, arm)
    assert out.buy is not None and out.sell is not None
    assert Decimal(0) < out.sell.filled_qty < out.buy.filled_qty  # the sell leg only half filled
    assert out.status in (OutcomeStatus.RESIDUAL_CLOSED, OutcomeStatus.HALTED)
    await assert_consistent(sim, engine, tmp_path)


async def test_a_leg_answered_5xx_after_the_venue_accepted_it_is_resolved_by_query(tmp_path: Path) -> None:
    def arm(sim: SimExchange, engine: Engine) -> None:
        plan = sim.faults["mexc"]
        plan.http_methods = frozenset({"POST"})
        plan.error_5xx = 1
    sim, engine, out = await trade_one_window(tmp_path, 33, arm)
    assert sim.faults["mexc"].error_5xx == 0  # the fault fired
    assert out.sell is not None and out.sell.status is OrderStatus.FILLED  # UNKNOWN, then found
    assert out.status is OutcomeStatus.FILLED
    await assert_consistent(sim, engine, tmp_path)


async def test_a_venue_that_disconnects_mid_trade(tmp_path: Path) -> None:
    """The order reaches mexc, then its reply is lost and its sockets drop: resolved, books resync."""
    def arm(sim: SimExchange, engine: Engine) -> None:
        plan = sim.faults["mexc"]
        plan.http_methods = frozenset({"POST"})
        plan.drop_replies = 1
        matching: Any = sim.dialects["mexc"].matching  # type: ignore[attr-defined]
        matching.listeners.append(
            lambda order, fills: asyncio.get_running_loop().create_task(sim.disconnect("mexc")))
    sim, engine, out = await trade_one_window(tmp_path, 34, arm)
    assert sim.faults["mexc"].drop_replies == 0 and sim.injectors["mexc"].counts.disconnects >= 1
    assert out.sell is not None and out.sell.status.is_terminal
    assert out.status in (OutcomeStatus.FILLED, OutcomeStatus.RESIDUAL_CLOSED, OutcomeStatus.HALTED)
    assert all(s.invalidations >= 1 for s in engine.books.all() if s.venue == "mexc")
    await assert_consistent(sim, engine, tmp_path)


async def test_a_duplicate_fill_event_moves_nothing(tmp_path: Path) -> None:
    sim, engine, out = await trade_one_window(tmp_path, 35, lambda sim, engine: None)
    assert out.status is OutcomeStatus.FILLED
    fills = await journal_fills(tmp_path)
    before = {(v, a): engine.risk.available(v, a) for v in VENUES for a in ("BTC", "USDT")}
    seen = engine.tracker.duplicate_fills  # the user stream already repeated the replies' fills
    for fill in fills:  # the same fills again, as a user stream or a REST poll would repeat them
        engine._handlers.on_fill(fill)
    assert engine.tracker.duplicate_fills == seen + len(fills)
    assert {(v, a): engine.risk.available(v, a) for v in VENUES for a in ("BTC", "USDT")} == before
    await assert_consistent(sim, engine, tmp_path)
