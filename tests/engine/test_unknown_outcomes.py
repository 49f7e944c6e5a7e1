"""Orders whose outcome is unknown, through the engine wired as `run` wires it, against the simulator.

Each test opens one window (buy on binance, sell on mexc) and makes the mexc sell's outcome unknown
in one way (5xx after the venue accepted it, the reply dropped, the order hidden from queries and
history, its user-stream push lost or late). The rules under test (issue 10, items 1, 2 and 13):

- an UNKNOWN leg is exposure at full size and is never hedged as if it were unfilled;
- still unresolved at the deadline: HALT, with the possible position range in the reason;
- "not found" counts only after a grace window that starts when the outcome became unknown, and
  only when the venue's open orders and recent trades do not know the client id either;
- a fill that arrives for an order already taken as final reopens the trade: its net position is
  hedged again, so the venues end flat.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.engine.engine import Engine
from arb.engine.executor import Outcome, OutcomeStatus
from arb.model import Side, Symbol
from arb.sim.accounts import FUNDING
from arb.sim.faults import GATEWAY_PAGE, Reply
from arb.sim.server import SimExchange
from tests.engine.test_engine_live import (
    calm_sim,
    journal_fills,
    live_config,
    moves,
    sim_credentials,
    wait_for,
)

BTC = Symbol("BTC", "USDT")
VENUES = ["binance", "mexc"]
# grace > the 3 s write timeout (the config insists); a short deadline keeps the tests quick
FAST = {"unknown_grace_ms": 3500, "unknown_deadline_ms": 4500, "query_backoff_ms": 100}


def gateway(status: int = 503) -> Reply:
    return Reply(status, GATEWAY_PAGE.format(f"{status} Service Temporarily Unavailable"), method="GET",
                 content_type="text/html")


async def one_window(tmp_path: Path, seed: int, arm: Callable[[SimExchange], None],
                     executor: dict[str, Any] | None = None,
                     settle: Callable[[Engine], bool] | None = None) -> tuple[SimExchange, Engine, Outcome]:
    sim, urls = await calm_sim(VENUES, seed=seed)
    # one trade at a time: the window's later opportunities wait for the first to settle
    config = live_config(urls, tmp_path, executor={**FAST, **(executor or {})},
                         risk={"min_net_bps": 10.0, "max_open_opportunities": 1})
    engine = Engine(config, credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4 and engine.readiness()[0], timeout=30)
        arm(sim)
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: any(o.status is not OutcomeStatus.REJECTED for o in engine.outcomes)
                       and not engine._tasks,
                       timeout=30)
        if settle is not None:
            await wait_for(lambda: settle(engine) and not engine._tasks, timeout=30)
    finally:
        await engine.stop()
    return sim, engine, next(o for o in engine.outcomes if o.status is not OutcomeStatus.REJECTED)


def sim_orders(sim: SimExchange, venue: str) -> list[Any]:
    return list(sim.dialects[venue].matching.orders.values())  # type: ignore[attr-defined]


def venue_btc(sim: SimExchange) -> Decimal:
    """BTC held across both venues (the forced window trades BTC only)."""
    return sum((sim.dialects[v].ledger.total("sim", "BTC") for v in VENUES), Decimal(0))  # type: ignore[attr-defined]


async def assert_journal_is_ledger(sim: SimExchange, tmp_path: Path) -> None:
    fills = await journal_fills(tmp_path)
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        for asset, moved in moves(fills, venue).items():
            assert ledger.total("sim", asset) == FUNDING[asset] + moved, (venue, asset)


async def test_an_unknown_leg_is_never_hedged_and_halts_with_the_position_range(tmp_path: Path) -> None:
    """5xx after the venue accepted (and filled) the sell, its push lost, every query failing: the
    engine does not sell again (that would leave it short); it HALTs saying the position is between
    0 and +qty BTC. A restart reconciles the order, and the journal then equals the ledger."""
    def arm(sim: SimExchange) -> None:
        plan = sim.faults["mexc"]
        plan.drop_user_pushes = True
        plan.http_methods = frozenset({"POST"})
        plan.error_5xx = 1
        plan.replies.extend(gateway() for _ in range(200))  # every GET (queries, history) fails

    sim, engine, out = await one_window(tmp_path, 41, arm)
    try:
        assert sim.faults["mexc"].error_5xx == 0  # the fault fired
        sold = sim_orders(sim, "mexc")
        assert len(sold) == 1 and sold[0].filled > 0  # the venue did sell
        assert out.status is OutcomeStatus.HALTED and out.buy is not None and out.sell is not None
        legs = engine.tracker.for_opportunity(out.opportunity_id)
        assert [t.leg for t in legs] == ["buy", "sell"]  # no hedge was sent
        assert len(sim_orders(sim, "binance")) == 1
        assert engine.risk.state.name == "HALTED"
        qty = out.buy.filled_qty
        assert f"position between 0 and {qty}" in engine.risk.reason, engine.risk.reason
        assert "UNKNOWN" in engine.risk.reason
        assert venue_btc(sim) == 2 * FUNDING["BTC"]  # flat across venues: nothing traded twice
        # restart with the venue answering again: reconciliation finds the fill
        sim.faults["mexc"].replies.clear()
        sim.faults["mexc"].drop_user_pushes = False
        again = Engine(engine.config, credentials=sim_credentials(VENUES))
        try:
            await again.start()
            assert again.reconciliation is not None and again.reconciliation.unresolved == []
            sell = again.tracker.get(out.sell.client_order_id)
            assert sell is not None and sell.filled_qty == sold[0].filled
            assert again.risk.state.name == "HALTED"  # an operator resumes; the state persists
        finally:
            await again.stop()
        await assert_journal_is_ledger(sim, tmp_path)
    finally:
        await sim.close()


async def test_an_unknown_leg_resolved_after_failed_queries_is_not_hedged(tmp_path: Path) -> None:
    def arm(sim: SimExchange) -> None:
        plan = sim.faults["mexc"]
        plan.drop_user_pushes = True
        plan.http_methods = frozenset({"POST"})
        plan.error_5xx = 1
        plan.replies.extend(gateway() for _ in range(4))  # the first queries fail, then it answers

    sim, engine, out = await one_window(tmp_path, 42, arm, executor={"unknown_deadline_ms": 30_000})
    try:
        assert out.status is OutcomeStatus.FILLED, (out, engine.risk.reason)
        assert [t.leg for t in engine.tracker.for_opportunity(out.opportunity_id)] == ["buy", "sell"]
        assert engine.risk.state.name == "ACTIVE"
        assert engine.risk.unhedged_notional == 0  # the unknown leg's exposure ends with it
        assert venue_btc(sim) == 2 * FUNDING["BTC"]
        await assert_journal_is_ledger(sim, tmp_path)
    finally:
        await sim.close()


async def test_a_hidden_order_after_a_dropped_reply_is_found_in_the_trade_history(tmp_path: Path) -> None:
    """The reply is lost, the venue hides the order from queries and open orders for 6 s and its
    push is lost: after the grace window the trade history shows its fill, so it is not abandoned
    (and not 'unwound' by selling the bought BTC back)."""
    def arm(sim: SimExchange) -> None:
        plan = sim.faults["mexc"]
        plan.drop_user_pushes = True
        plan.http_methods = frozenset({"POST"})
        plan.drop_replies = 1
        plan.hide_orders_ms = 6000

    sim, engine, out = await one_window(tmp_path, 43, arm, executor={"unknown_deadline_ms": 30_000})
    try:
        assert sim.faults["mexc"].drop_replies == 0
        sold = sim_orders(sim, "mexc")
        assert len(sold) == 1 and sold[0].filled > 0
        assert out.sell is not None and out.sell.filled_qty == sold[0].filled
        assert [t.leg for t in engine.tracker.for_opportunity(out.opportunity_id)] == ["buy", "sell"]
        assert out.status is OutcomeStatus.FILLED and engine.risk.state.name == "ACTIVE"
        assert engine.risk.unhedged_notional == 0
        assert venue_btc(sim) == 2 * FUNDING["BTC"]
        await assert_journal_is_ledger(sim, tmp_path)
    finally:
        await sim.close()


async def test_a_late_fill_on_an_order_taken_as_never_placed_reopens_the_trade(tmp_path: Path) -> None:
    """The venue hides the sell and its trades past the grace window, so the engine takes it as never
    placed and sells the bought BTC elsewhere; then the sell's (late) push shows it filled. That
    reopens the opportunity: the engine buys the difference back and the venues end flat."""
    def arm(sim: SimExchange) -> None:
        plan = sim.faults["mexc"]
        plan.user_push_delay_ms = 6500
        plan.http_methods = frozenset({"POST"})
        plan.drop_replies = 1
        plan.hide_orders_ms = 6000  # queries at ~3.1 s (inside the grace) and ~5.1 s (after it)
        plan.hide_trades = True

    def reopened(engine: Engine) -> bool:
        return engine.tracker.late_fills > 0 and not engine._executor._active  # type: ignore[union-attr]

    sim, engine, out = await one_window(tmp_path, 44, arm, executor={"unknown_deadline_ms": 30_000},
                                        settle=reopened)
    try:
        sold = [o for o in sim_orders(sim, "mexc") if o.side is Side.SELL]
        assert sold and sold[0].filled > 0  # the first sell did trade
        assert engine.tracker.late_fills >= 1
        orders = [t.order for t in engine.tracker.for_opportunity(out.opportunity_id)]
        assert sum((o.filled_qty if o.side is Side.BUY else -o.filled_qty) for o in orders) == 0
        assert venue_btc(sim) == 2 * FUNDING["BTC"]  # flat across venues after the re-hedge
        assert engine.risk.state.name == "ACTIVE", engine.risk.reason
        await assert_journal_is_ledger(sim, tmp_path)
    finally:
        await sim.close()


async def test_an_order_taken_as_never_placed_is_asked_about_again(tmp_path: Path) -> None:
    """No push ever comes and the venue hides the sell and its trades past the grace window: it is
    taken as never placed, so the bought BTC is sold elsewhere. One grace window later the engine asks
    again, the venue shows the sell filled, and the trade is reopened: the venues end flat."""
    def arm(sim: SimExchange) -> None:
        plan = sim.faults["mexc"]
        plan.drop_user_pushes = True
        plan.http_methods = frozenset({"POST"})
        plan.drop_replies = 1
        plan.hide_orders_ms = 6000
        plan.hide_trades = True

    def reopened(engine: Engine) -> bool:
        return engine.tracker.late_fills > 0 and not engine._executor._active  # type: ignore[union-attr]

    sim, engine, out = await one_window(tmp_path, 45, arm, executor={"unknown_deadline_ms": 30_000},
                                        settle=reopened)
    try:
        assert not engine.tracker.never_placed  # asked again, found
        orders = [t.order for t in engine.tracker.for_opportunity(out.opportunity_id)]
        assert sum((o.filled_qty if o.side is Side.BUY else -o.filled_qty) for o in orders) == 0
        assert venue_btc(sim) == 2 * FUNDING["BTC"]
        assert engine.risk.state.name == "ACTIVE", engine.risk.reason
        await assert_journal_is_ledger(sim, tmp_path)
    finally:
        await sim.close()


async def test_a_malformed_query_answer_is_asked_again_not_a_crash(tmp_path: Path) -> None:
    """The sell's reply is a 5xx and the first answers to its queries are unreadable 200s: a decode
    error is a failed query (asked again), never an executor crash that halts the engine."""
    def arm(sim: SimExchange) -> None:
        plan = sim.faults["mexc"]
        plan.drop_user_pushes = True
        plan.http_methods = frozenset({"POST"})
        plan.error_5xx = 1
        plan.replies.extend(Reply(200, '{"symbol": [[[', method="GET") for _ in range(3))

    sim, engine, out = await one_window(tmp_path, 46, arm, executor={"unknown_deadline_ms": 30_000})
    try:
        assert not sim.faults["mexc"].replies  # the unreadable answers were served
        assert out.status is OutcomeStatus.FILLED, (out, engine.risk.reason)
        assert engine.risk.state.name == "ACTIVE", engine.risk.reason
        assert venue_btc(sim) == 2 * FUNDING["BTC"]
        await assert_journal_is_ledger(sim, tmp_path)
    finally:
        await sim.close()
