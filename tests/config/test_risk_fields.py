"""`[risk]`: each limit, changed, changes what the engine's risk gate or detector lets through.

Gate limits are probed on the `RiskManager` the `Engine` builds from the config (with an injected
clock); the detector's limits on the engine trading a forced window against the simulator.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import default_config
from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.engine.reasons import Gate, Reason, Refusal
from arb.engine.risk import CircuitState, TradingState
from arb.model import Opportunity
from arb.sim.faults import FaultPlan
from tests.config.support import BTC, Probe, calm_sim, data_dir, scene, window

D = Decimal
PRICE = 60_000.0


class Clock:
    def __init__(self) -> None:
        self.ns = 1_700_000_000 * 10**9

    def __call__(self) -> int:
        return self.ns


def gate(tmp: Path, risk: dict[str, Any]) -> tuple[Engine, Clock]:
    """The engine built from a config with `risk` (not started: its risk gate is what is probed),
    0.1 BTC and 10000 USDT on both venues."""
    clock = Clock()
    config = default_config(symbols=["BTC/USDT"], venues=["binance", "gateio"],
                            engine={"data_dir": data_dir(tmp)}, risk=risk)
    engine = Engine(config, clock_ns=clock)
    for venue in ("binance", "gateio"):
        engine.risk.set_balance(venue, "BTC", D("0.1"))
        engine.risk.set_balance(venue, "USDT", D("10000"))
    return engine, clock


def opp(n: int, qty: str = "0.01") -> Opportunity:
    return Opportunity(id=f"probe-{n}", symbol=BTC, buy_venue="binance", sell_venue="gateio",
                       quantity=float(qty), buy_vwap=PRICE, sell_vwap=PRICE * 1.002, buy_worst=PRICE,
                       sell_worst=PRICE * 1.002, gross_profit=1.2, net_profit=0.6, gross_bps=20.0,
                       net_bps=10.0)


def approve(engine: Engine, n: int, qty: str = "0.01") -> Reason | None:
    """None when the engine's risk gate approves, else its reason."""
    decision = engine.risk.approve(opp(n, qty), buy_fee=0.001, quantity=D(qty))
    return decision.reason


# --------------------------------------------------------------------------- the risk gate


async def max_open_opportunities(tmp: Path, _: str | None) -> None:
    default, _clock = gate(tmp, {})
    assert [approve(default, 1), approve(default, 2)] == [None, None]
    changed, _clock = gate(tmp, {"max_open_opportunities": 1})
    assert [approve(changed, 1), approve(changed, 2)] == [None, Refusal.MAX_OPEN_OPPORTUNITIES]


async def max_orders_per_s(tmp: Path, _: str | None) -> None:
    """Each approved trade sends two orders: a budget of 2 a second lets one trade a second through."""
    outcomes = []
    for risk in ({}, {"max_orders_per_s": 2.0}):
        engine, clock = gate(tmp, risk)
        first = approve(engine, 1)
        engine.risk.release("probe-1")
        second = approve(engine, 2)
        engine.risk.release("probe-2")
        clock.ns += 1_000_000_000
        outcomes.append((first, second, approve(engine, 3)))
    assert outcomes == [(None, None, None), (None, Refusal.ORDER_RATE, None)]


async def max_notional_per_order(tmp: Path, _: str | None) -> None:
    """0.01 BTC at 60000 is 600 USDT: within the default 1000, over a 500 limit."""
    default, _clock = gate(tmp, {})
    changed, _clock = gate(tmp, {"max_notional_per_order": 500.0})
    assert (approve(default, 1), approve(changed, 1)) == (None, Refusal.MAX_NOTIONAL_PER_ORDER)


async def max_daily_loss(tmp: Path, _: str | None) -> None:
    states = []
    for risk in ({}, {"max_daily_loss": 50.0}):
        engine, _clock = gate(tmp, risk)
        engine.risk.add_realised_pnl(D("-60"))
        states.append(engine.risk.state)
    assert states == [TradingState.ACTIVE, TradingState.HALTED]


async def max_unhedged_notional(tmp: Path, _: str | None) -> None:
    states = []
    for risk in ({}, {"max_unhedged_notional": 4500.0}):  # at least 4 x 1000 (the validation's floor)
        engine, _clock = gate(tmp, risk)
        engine.risk.set_unhedged(D("4800"))
        states.append(engine.risk.state)
    assert states == [TradingState.ACTIVE, TradingState.HALTED]


async def max_consecutive_failures(tmp: Path, _: str | None) -> None:
    circuits = []
    for risk in ({}, {"max_consecutive_failures": 2}):
        engine, _clock = gate(tmp, risk)
        engine.risk.record_result("gateio", False)
        engine.risk.record_result("gateio", False)
        circuits.append(engine.risk.circuit("gateio"))
    assert circuits == [CircuitState.CLOSED, CircuitState.OPEN]


async def circuit_cooldown_s(tmp: Path, _: str | None) -> None:
    circuits = []
    for risk in ({}, {"circuit_cooldown_s": 1.0}):
        engine, clock = gate(tmp, risk)
        for _ in range(3):
            engine.risk.record_result("gateio", False)
        clock.ns += 2_000_000_000
        circuits.append(engine.risk.circuit("gateio"))
    assert circuits == [CircuitState.OPEN, CircuitState.HALF_OPEN]


async def inventory_min(tmp: Path, _: str | None) -> None:
    """Selling 0.01 of the sell venue's 0.1 BTC would leave 0.09, under a 0.095 floor."""
    default, _clock = gate(tmp, {})
    changed, _clock = gate(tmp, {"inventory_min": {"BTC": "0.095"}})
    assert (approve(default, 1), approve(changed, 1)) == (None, Refusal.INVENTORY_BELOW_MINIMUM)


async def inventory_max(tmp: Path, _: str | None) -> None:
    """Buying 0.01 onto the buy venue's 0.1 BTC would make 0.11, over a 0.105 ceiling."""
    default, _clock = gate(tmp, {})
    changed, _clock = gate(tmp, {"inventory_max": {"BTC": "0.105"}})
    assert (approve(default, 1), approve(changed, 1)) == (None, Refusal.INVENTORY_ABOVE_MAXIMUM)


# --------------------------------------------------------------------------- the detector


async def _window_trades(tmp: Path, risk: dict[str, Any], *, net_bps: float = 20.0,
                         faults: dict[str, FaultPlan] | None = None) -> tuple[int, dict[Gate, int]]:
    """Trades of one forced 20 bps window (buy binance, sell gateio), and the detector's gate counts."""
    sim = await calm_sim(("binance", "gateio"), faults)
    try:
        async with scene(tmp, {"risk": risk}, sim=sim) as sc:
            trades = await window(sc, "binance", "gateio", net_bps=net_bps, settle_s=0.8)
            return len(trades), dict(sc.engine.detector.funnel.gates)
    finally:
        await sim.close()


async def min_net_bps(tmp: Path, _: str | None) -> None:
    (default, _), (changed, _) = await asyncio.gather(
        _window_trades(tmp / "default", {}), _window_trades(tmp / "changed", {"min_net_bps": 40.0}))
    assert default >= 1 and changed == 0, (default, changed)


async def max_net_bps(tmp: Path, _: str | None) -> None:
    (default, default_gates), (changed, gates) = await asyncio.gather(
        _window_trades(tmp / "default", {}), _window_trades(tmp / "changed", {"max_net_bps": 12.0}))
    assert (default >= 1, Gate.TOO_GOOD_TO_BE_TRUE in default_gates) == (True, False)
    assert (changed, gates.get(Gate.TOO_GOOD_TO_BE_TRUE, 0) > 0) == (0, True), gates


async def max_book_age_ms(tmp: Path, _: str | None) -> None:
    """Gate.io's frames leave 25 ms after Binance's of the same tick: on every update the other book
    is at least 25 ms old, young enough for the default 2000 ms, too old for 10."""
    def staggered() -> dict[str, FaultPlan]:
        return {"gateio": FaultPlan(delay_ms=25.0)}
    (default, default_gates), (changed, gates) = await asyncio.gather(
        _window_trades(tmp / "default", {}, faults=staggered()),
        _window_trades(tmp / "changed", {"max_book_age_ms": 10}, faults=staggered()))
    assert (default >= 1, Gate.BOOK_TOO_OLD in default_gates) == (True, False)
    assert (changed, gates.get(Gate.BOOK_TOO_OLD, 0) > 0) == (0, True), gates


async def max_event_lag_ms(tmp: Path, _: str | None) -> None:
    """Binance's frames arrive 300 ms after their venue time: within the default 1000 ms, not 100."""
    def late() -> dict[str, FaultPlan]:
        return {"binance": FaultPlan(delay_ms=300.0)}
    (default, default_gates), (changed, gates) = await asyncio.gather(
        _window_trades(tmp / "default", {}, faults=late()),
        _window_trades(tmp / "changed", {"max_event_lag_ms": 100}, faults=late()))
    assert (default >= 1, Gate.VENUE_TIME_LAG in default_gates) == (True, False)
    assert (changed, gates.get(Gate.VENUE_TIME_LAG, 0) > 0) == (0, True), gates


async def symbol_cooldown_ms(tmp: Path, _: str | None) -> None:
    """Two windows 1 s apart on one symbol: both trade after the default 250 ms pause, one within 60 s."""
    async def run(path: Path, risk: dict[str, Any]) -> tuple[int, bool]:
        async with scene(path, {"risk": risk}) as sc:
            await window(sc, "binance", "gateio", duration_s=0.3)
            await window(sc, "binance", "gateio", duration_s=0.3, settle_s=1.0)
            sent = {o.opportunity_id for o in sc.engine.outcomes if o.status is not OutcomeStatus.REJECTED}
            return (len(sent),
                    sc.engine.detector.funnel.gates.get(Gate.SYMBOL_COOLDOWN, 0) > 0)

    counts = await asyncio.gather(run(tmp / "default", {}),
                                  run(tmp / "changed", {"symbol_cooldown_ms": 60_000}))
    assert counts[0][0] >= 2 and counts[1] == (1, True), counts


PROBES: dict[str, Probe] = {
    "risk.min_net_bps": min_net_bps,
    "risk.max_net_bps": max_net_bps,
    "risk.max_notional_per_order": max_notional_per_order,
    "risk.max_open_opportunities": max_open_opportunities,
    "risk.max_orders_per_s": max_orders_per_s,
    "risk.max_daily_loss": max_daily_loss,
    "risk.max_unhedged_notional": max_unhedged_notional,
    "risk.max_consecutive_failures": max_consecutive_failures,
    "risk.circuit_cooldown_s": circuit_cooldown_s,
    "risk.max_book_age_ms": max_book_age_ms,
    "risk.max_event_lag_ms": max_event_lag_ms,
    "risk.symbol_cooldown_ms": symbol_cooldown_ms,
    "risk.inventory_min": inventory_min,
    "risk.inventory_max": inventory_max,
}


@pytest.mark.parametrize("field", sorted(PROBES))
async def test_risk_field_changes_behaviour(field: str, tmp_path: Path) -> None:
    await PROBES[field](tmp_path, None)
