from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import RiskConfig
from arb.engine.reasons import Refusal
from arb.engine.risk import DAY_NS, NS, CircuitState, RiskEvent, RiskManager, Source, TradingState, read_state
from arb.model import Opportunity, Side, Symbol

SYM = Symbol("BTC", "USDT")


class Clock:
    def __init__(self) -> None:
        self.now = 10 * NS

    def __call__(self) -> int:
        return self.now


def opp(oid: str = "o1", buy: str = "binance", sell: str = "gateio", price: float = 100.0) -> Opportunity:
    return Opportunity(
        id=oid, symbol=SYM, buy_venue=buy, sell_venue=sell, quantity=1.0, buy_vwap=price,
        sell_vwap=price * 1.01, buy_worst=price, sell_worst=price * 1.01, gross_profit=1.0,
        net_profit=0.8, gross_bps=100.0, net_bps=80.0,
    )


def manager(tmp_path: Path, **risk: Any) -> tuple[RiskManager, Clock]:
    clock = Clock()
    cfg = RiskConfig(**{"max_notional_per_order": 1000.0, "max_unhedged_notional": 5000.0, **risk})
    rm = RiskManager(cfg, tmp_path / "state.json", clock)
    for venue in ("binance", "gateio"):
        rm.set_balance(venue, "USDT", Decimal("1000"))
        rm.set_balance(venue, "BTC", Decimal("5"))
    return rm, clock


def test_approve_reserves_and_release_returns(tmp_path: Path) -> None:
    rm, _ = manager(tmp_path)
    decision = rm.approve(opp(), buy_fee=0.001, quantity=Decimal("2"))
    assert decision.approved
    assert rm.available("binance", "USDT") == Decimal("1000") - Decimal("200") * Decimal("1.001")
    assert rm.available("gateio", "BTC") == Decimal("3")
    assert rm.open_opportunities == 1
    rm.release("o1")
    assert rm.available("binance", "USDT") == Decimal("1000")
    assert rm.available("gateio", "BTC") == Decimal("5")


@pytest.mark.parametrize(
    ("kwargs", "quantity", "reason"),
    [
        ({}, Decimal("11"), Refusal.MAX_NOTIONAL_PER_ORDER),
        ({"max_notional_per_order": 5000.0}, Decimal("11"), Refusal.INSUFFICIENT_QUOTE),
        ({}, Decimal("6"), Refusal.INSUFFICIENT_BASE),
        ({"inventory_min": {"BTC": Decimal("4.5")}}, Decimal("1"), Refusal.INVENTORY_BELOW_MINIMUM),
        ({"inventory_max": {"BTC": Decimal("5.5")}}, Decimal("1"), Refusal.INVENTORY_ABOVE_MAXIMUM),
    ],
)
def test_limits_reject_with_a_reason(tmp_path: Path, kwargs: dict[str, Any], quantity: Decimal,
                                     reason: Refusal) -> None:
    rm, _ = manager(tmp_path, **kwargs)
    decision = rm.approve(opp(), buy_fee=0.0, quantity=quantity)
    assert not decision.approved and decision.reason is reason
    assert rm.rejections == {reason: 1} and rm.open_opportunities == 0
    assert rm.rejection_counts() == {reason.text: 1}  # what /status shows


def test_open_opportunities_and_order_rate(tmp_path: Path) -> None:
    rm, clock = manager(tmp_path, max_open_opportunities=2, max_orders_per_s=4.0)
    assert rm.approve(opp("a"), buy_fee=0.0, quantity=Decimal("0.1")).approved
    assert rm.approve(opp("b"), buy_fee=0.0, quantity=Decimal("0.1")).approved
    assert rm.approve(opp("c"), buy_fee=0.0, quantity=Decimal("0.1")).reason is Refusal.MAX_OPEN_OPPORTUNITIES
    rm.release("a")
    assert rm.approve(opp("c"), buy_fee=0.0, quantity=Decimal("0.1")).reason is Refusal.ORDER_RATE
    clock.now += NS
    assert rm.approve(opp("c"), buy_fee=0.0, quantity=Decimal("0.1")).approved


def test_halt_is_persisted_until_resume(tmp_path: Path) -> None:
    rm, clock = manager(tmp_path)
    rm.halt("operator")
    assert rm.approve(opp(), buy_fee=0.0, quantity=Decimal("1")).reason is Refusal.STATE_HALTED
    again = RiskManager(rm.config, tmp_path / "state.json", clock)
    assert again.state is TradingState.HALTED and again.reason == "operator"
    again.resume()
    third = RiskManager(rm.config, tmp_path / "state.json", clock)
    assert third.state is TradingState.ACTIVE


def test_circuit_queries_are_pure_and_approve_takes_the_one_trial(tmp_path: Path) -> None:
    rm, clock = manager(tmp_path, max_consecutive_failures=2, circuit_cooldown_s=5.0)
    events: list[tuple[RiskEvent, str, str]] = []
    rm.on_event = lambda kind, venue, detail: events.append((kind, venue, detail))
    rm.record_result("binance", False)
    assert not rm.circuit_open("binance")
    rm.record_result("binance", False)
    assert rm.circuit_open("binance") and rm.circuit("binance") is CircuitState.OPEN
    assert rm.approve(opp(), buy_fee=0.0, quantity=Decimal("1")).reason is Refusal.CIRCUIT_OPEN
    clock.now += 5 * NS
    for _ in range(5):  # asking (the detector does, per book update) spends nothing
        assert rm.circuit("binance") is CircuitState.HALF_OPEN and not rm.circuit_open("binance")
    assert rm.open_circuits() == {"binance": CircuitState.HALF_OPEN}
    assert rm.approve(opp("t1"), buy_fee=0.0, quantity=Decimal("1")).approved  # takes the trial
    assert rm.circuit_open("binance")  # nobody else while the trial is out
    assert rm.approve(opp("t2"), buy_fee=0.0, quantity=Decimal("1")).reason is Refusal.CIRCUIT_OPEN
    rm.record_result("binance", False)  # the trial failed: open for another cooldown
    rm.release("t1")
    assert rm.circuit_open("binance")
    clock.now += 4 * NS
    assert rm.circuit_open("binance")
    clock.now += 1 * NS
    assert rm.approve(opp("t3"), buy_fee=0.0, quantity=Decimal("1")).approved
    rm.release("t3")  # ended before its order (e.g. the journal refused): the trial comes back
    assert rm.circuit("binance") is CircuitState.HALF_OPEN
    assert rm.approve(opp("t4"), buy_fee=0.0, quantity=Decimal("1")).approved
    rm.record_result("binance", True)  # the trial went through: closed
    rm.release("t4")
    assert rm.circuit("binance") is CircuitState.CLOSED and not rm.open_circuits()
    assert [(k, v) for k, v, _ in events] == [
        (RiskEvent.CIRCUIT_OPEN, "binance"), (RiskEvent.CIRCUIT_TRIAL, "binance"),
        (RiskEvent.CIRCUIT_OPEN, "binance"), (RiskEvent.CIRCUIT_TRIAL, "binance"),
        (RiskEvent.CIRCUIT_TRIAL, "binance"), (RiskEvent.CIRCUIT_CLOSED, "binance")]
    assert events[2][2] == "trial t1 failed"


def test_state_changes_are_reported_with_their_source_and_persisted_durably(tmp_path: Path) -> None:
    rm, _ = manager(tmp_path)
    events: list[tuple[RiskEvent, str, str]] = []
    rm.on_event = lambda kind, venue, detail: events.append((kind, venue, detail))
    rm.halt("unhedged")
    rm.halt("unhedged")  # no change, no second event
    assert read_state(tmp_path / "state.json") == (TradingState.HALTED, "unhedged")
    assert json.loads((tmp_path / "state.json").read_text())["source"] == "ENGINE"
    rm.apply_external(TradingState.ACTIVE, "")  # an operator's resume: the file already says so
    assert rm.state is TradingState.ACTIVE
    assert read_state(tmp_path / "state.json") == (TradingState.HALTED, "unhedged")
    rm.reduce("drain", Source.OPERATOR)
    assert [(k, d) for k, _, d in events] == [
        (RiskEvent.HALT, "ACTIVE->HALTED source=ENGINE reason=unhedged"),
        (RiskEvent.RESUME, "HALTED->ACTIVE source=OPERATOR reason="),
        (RiskEvent.REDUCE, "ACTIVE->REDUCING source=OPERATOR reason=drain")]
    assert not list(tmp_path.glob("*.tmp"))


def test_daily_loss_and_unhedged_limits_halt(tmp_path: Path) -> None:
    rm, _ = manager(tmp_path, max_daily_loss=10.0, max_unhedged_notional=50.0)
    rm.add_realised_pnl(Decimal("-4"))
    assert rm.state is TradingState.ACTIVE
    rm.add_realised_pnl(Decimal("-6"))
    assert rm.state is TradingState.HALTED and "daily realised loss" in rm.reason
    rm.resume()
    rm.set_unhedged(Decimal("60"))
    assert rm.state is TradingState.HALTED


def test_the_days_pnl_starts_at_zero_at_midnight_before_any_fill(tmp_path: Path) -> None:
    """Yesterday's loss must not count against today's limit (/status, metrics and the cluster's
    daily-loss gate read `pnl_today`) while no fill has come today."""
    rm, clock = manager(tmp_path, max_daily_loss=10.0)
    rm.add_realised_pnl(Decimal("-7"))
    assert rm.pnl_today() == Decimal("-7")
    clock.now += DAY_NS
    assert rm.pnl_today() == 0
    rm.add_realised_pnl(Decimal("-4"))  # 4 today: under the limit although 11 over two days
    assert rm.pnl_today() == Decimal("-4") and rm.state is TradingState.ACTIVE


def test_fills_move_local_balances(tmp_path: Path) -> None:
    rm, _ = manager(tmp_path)
    rm.apply_fill("binance", Side.BUY, "BTC", "USDT", Decimal("1"), Decimal("100"), Decimal("0.1"), "USDT")
    assert rm.available("binance", "BTC") == Decimal("6")
    assert rm.available("binance", "USDT") == Decimal("899.9")
