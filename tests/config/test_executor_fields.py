"""`[executor]`: each field, changed, changes how the engine prices, times out, recovers and hedges.

Live scenes (the simulator's funded account) on binance + mexc: a forced window buys on binance and
sells on mexc, and the simulator's faults make the mexc leg fail in the way the field is about.
The default run and the changed run go at once (each has its own simulator and engine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from arb.engine.executor import Outcome, OutcomeStatus
from arb.engine.risk import TradingState
from arb.model import OrderStatus
from arb.sim.faults import GATEWAY_PAGE, FaultPlan, Reply
from tests.config.support import Probe, Scene, scene, wait_for, window

T = TypeVar("T")
VENUES = ("binance", "mexc")
SUSPENDED = Reply(400, '{"code":30016,"msg":"trading is suspended"}', method="POST")
# order writes time out after 0.3 s here, so the unknown-outcome windows can be short
QUICK_WRITES = {"venues": {v: {"trading": {"timeout_s": 0.3}} for v in VENUES}}


def gateway() -> Reply:
    return Reply(503, GATEWAY_PAGE.format("503 Service Temporarily Unavailable"), method="GET",
                 content_type="text/html")


async def both(run: Callable[[Path, dict[str, Any]], Awaitable[T]], tmp: Path, common: dict[str, Any],
               field: str, value: Any) -> tuple[T, T]:
    """`run` with the default and with ``executor.<field> = value`` (plus `common`), at once."""
    changed = {**common, "executor": {**common.get("executor", {}), field: value}}
    default, other = await asyncio.gather(run(tmp / "default", common), run(tmp / "changed", changed))
    return default, other


async def _trade(tmp: Path, tables: dict[str, Any], arm: Callable[[FaultPlan], None],
                 look: Callable[[Scene, Outcome], T], *, live: bool = True) -> T:
    """Open the window after `arm(mexc's fault plan)`; `look` at the scene and the first trade."""
    async with scene(tmp, tables, venues=VENUES, live=live) as sc:
        arm(sc.sim.faults["mexc"])
        trades = await window(sc, "binance", "mexc", net_bps=25.0)
        assert trades, "the window was not traded"
        return look(sc, trades[0])


def residual_orders(sc: Scene, out: Outcome) -> int:
    return sum(1 for t in sc.engine.tracker.for_opportunity(out.opportunity_id) if t.leg == "residual")


def mexc_refuses(plan: FaultPlan) -> None:
    """Every order mexc is sent is refused (the sell leg and any hedge there): one-legged on binance."""
    plan.replies.extend(SUSPENDED for _ in range(10))


# hedges on binance at the buy price, give or take 0.1 bps, never fill: the one-legged BTC stays
NO_HEDGE_FILLS = {"executor": {"residual_max_bps": 0.1}}


async def slippage_bps(tmp: Path, _: str | None) -> None:
    """Paper: the buy leg's IOC limit sits 2 bps past the kernel's worst price by default, 50 with 50."""
    def past_worst(sc: Scene, out: Outcome) -> Decimal:
        """The buy limit over the kernel's worst price of the same opportunity (each run's market
        moves on its own clock, so two runs' prices are not compared)."""
        assert out.buy is not None
        worst = Decimal(repr(sc.engine._executor._recent[out.opportunity_id].buy_worst))
        return out.buy.price / worst

    async def run(path: Path, tables: dict[str, Any]) -> Decimal:
        return await _trade(path, tables, lambda plan: None, past_worst, live=False)

    default, changed = await both(run, tmp, {}, "slippage_bps", 50.0)
    # 2 bps and 50 bps past the worst price, rounded up to the 0.01 tick (< 0.01 bps at ~65000)
    assert (Decimal("1.0002") <= default < Decimal("1.000201"),
            Decimal("1.005") <= changed < Decimal("1.005001")) == (True, True), (default, changed)


async def order_timeout_ms(tmp: Path, _: str | None) -> None:
    """Mexc hides the sell from queries for 0.8 s and its push is lost: within the default 3 s the
    query finds it filled; after 0.2 s the engine cancels it."""
    def arm(plan: FaultPlan) -> None:
        plan.drop_user_pushes, plan.hide_orders_ms = True, 800.0

    def cancels(sc: Scene, out: Outcome) -> int:
        return sum(n for route, n in sc.sim.traffic["mexc"].by_route.items() if route.startswith("DELETE "))

    async def run(path: Path, tables: dict[str, Any]) -> int:
        return await _trade(path, tables, arm, cancels)

    default, changed = await both(run, tmp, {}, "order_timeout_ms", 200)
    assert (default, changed >= 1) == (0, True), (default, changed)


async def residual_max_attempts(tmp: Path, _: str | None) -> None:
    async def run(path: Path, tables: dict[str, Any]) -> int:
        return await _trade(path, tables, mexc_refuses, residual_orders)

    default, changed = await both(run, tmp, NO_HEDGE_FILLS, "residual_max_attempts", 1)
    assert (default, changed) == (3, 1)


async def residual_deadline_ms(tmp: Path, _: str | None) -> None:
    """The hedges stop at the deadline: all 3 attempts within 5 s, at most the first within 1 ms."""
    async def run(path: Path, tables: dict[str, Any]) -> int:
        return await _trade(path, tables, mexc_refuses, residual_orders)

    default, changed = await both(run, tmp, NO_HEDGE_FILLS, "residual_deadline_ms", 1)
    assert (default, changed <= 1) == (3, True), (default, changed)


async def residual_max_bps(tmp: Path, _: str | None) -> None:
    """The one-legged BTC is sold on binance within 50 bps of the buy price; not within 0.1 bps."""
    async def run(path: Path, tables: dict[str, Any]) -> OutcomeStatus:
        return await _trade(path, tables, mexc_refuses, lambda sc, out: out.status)

    default, changed = await both(run, tmp, {}, "residual_max_bps", 0.1)
    assert (default, changed) == (OutcomeStatus.RESIDUAL_CLOSED, OutcomeStatus.HALTED)


def unknown_sell(plan: FaultPlan) -> None:
    """Mexc fills the sell but answers 503, and the account's push of it is lost."""
    plan.drop_user_pushes = True
    plan.http_methods, plan.error_5xx = frozenset({"POST"}), 1


async def query_backoff_ms(tmp: Path, _: str | None) -> None:
    """The unknown sell's first three queries fail: three waits of 0.2 s by default, of 0.5 s changed."""
    def arm(plan: FaultPlan) -> None:
        unknown_sell(plan)
        plan.replies.extend(gateway() for _ in range(3))

    async def run(path: Path, tables: dict[str, Any]) -> tuple[float, OutcomeStatus]:
        started = time.monotonic()
        status = await _trade(path, tables, arm, lambda sc, out: out.status)
        return time.monotonic() - started, status

    (fast, status), (slow, changed_status) = await both(run, tmp, QUICK_WRITES | {"executor": {
        "unknown_grace_ms": 400}}, "query_backoff_ms", 500)
    assert (status, changed_status) == (OutcomeStatus.FILLED, OutcomeStatus.FILLED)
    assert (fast < 1.5, slow >= 1.5) == (True, True), (fast, slow)


async def unknown_deadline_ms(tmp: Path, _: str | None) -> None:
    """Every query of the unknown sell fails: HALT after 0.6 s; by default still resolving at 1 s."""
    def arm(plan: FaultPlan) -> None:
        unknown_sell(plan)
        plan.replies.extend(gateway() for _ in range(500))

    async def run(path: Path, tables: dict[str, Any]) -> TradingState:
        async with scene(path, tables, venues=VENUES, live=True) as sc:
            arm(sc.sim.faults["mexc"])
            sc.sim.market.open_window(sc.engine.config.symbol_list[0], "binance", "mexc", net_bps=25.0,
                                      duration_ns=600_000_000)
            await wait_for(lambda: bool(sc.engine.tracker.open_orders()), 5)
            await asyncio.sleep(1.0)
            state = sc.engine.risk.state
            sc.sim.faults["mexc"].replies.clear()  # the venue answers again: the default run resolves
            await asyncio.wait_for(sc.engine.drain(), 20)
            return state

    default, changed = await both(run, tmp, QUICK_WRITES | {"executor": {"unknown_grace_ms": 400}},
                                  "unknown_deadline_ms", 600)
    assert (default, changed) == (TradingState.ACTIVE, TradingState.HALTED)


async def unknown_grace_ms(tmp: Path, _: str | None) -> None:
    """The unknown sell stays invisible (queries, open orders, trades) for 1.2 s: within the default
    8 s grace it is found filled; with 0.4 s it is taken as never placed first."""
    def arm(plan: FaultPlan) -> None:
        unknown_sell(plan)
        plan.hide_orders_ms, plan.hide_trades = 1200.0, True

    def sold(sc: Scene, out: Outcome) -> tuple[bool, Decimal]:
        assert out.sell is not None
        return out.sell.status is OrderStatus.FILLED, out.sell.filled_qty

    async def run(path: Path, tables: dict[str, Any]) -> tuple[bool, Decimal]:
        return await _trade(path, tables, arm, sold)

    default, changed = await both(run, tmp, QUICK_WRITES, "unknown_grace_ms", 400)
    assert (default[0], changed) == (True, (False, Decimal(0))), (default, changed)


PROBES: dict[str, Probe] = {
    "executor.slippage_bps": slippage_bps,
    "executor.order_timeout_ms": order_timeout_ms,
    "executor.residual_deadline_ms": residual_deadline_ms,
    "executor.residual_max_bps": residual_max_bps,
    "executor.residual_max_attempts": residual_max_attempts,
    "executor.unknown_grace_ms": unknown_grace_ms,
    "executor.unknown_deadline_ms": unknown_deadline_ms,
    "executor.query_backoff_ms": query_backoff_ms,
}


@pytest.mark.parametrize("field", sorted(PROBES))
async def test_executor_field_changes_behaviour(field: str, tmp_path: Path) -> None:
    await PROBES[field](tmp_path, None)
