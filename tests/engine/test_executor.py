"""Executor against paper venues and scripted faults: fills, rejects, partials, unknowns, residuals."""

from __future__ import annotations

import string
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb._core.book import L2Book
from arb.config import ExecutorConfig, RiskConfig
from arb.engine.detector import Funnel
from arb.engine.executor import Executor, OutcomeStatus, round_down, round_up
from arb.engine.journal import Journal
from arb.engine.orders import OrderTracker
from arb.engine.paper import PaperExchange
from arb.engine.reasons import Gate, Refusal
from arb.engine.risk import RiskManager, TradingState
from arb.errors import InsufficientBalanceError, OrderOutcomeUnknownError
from arb.model import Opportunity, Order, OrderStatus, Side, Symbol, SymbolInfo, SymbolStatus
from arb.venues.registry import VENUES
from arb.venues.spec import ClientIdRule

SYM = Symbol("BTC", "USDT")
FEE = 0.001


class Clock:
    def __init__(self) -> None:
        self.now = 10**12

    def __call__(self) -> int:
        self.now += 1_000  # time moves a little on every read
        return self.now


def book(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> L2Book:
    b = L2Book()
    b.set_snapshot([p for p, _ in bids], [s for _, s in bids], [p for p, _ in asks], [s for _, s in asks])
    return b


def info(venue: str) -> SymbolInfo:
    return SymbolInfo(venue=venue, symbol=SYM, venue_symbol="BTCUSDT", status=SymbolStatus.TRADING,
                      tick_size=Decimal("0.01"), step_size=Decimal("0.001"), min_qty=Decimal("0.001"),
                      min_notional=Decimal("5"))


class Faulty(PaperExchange):
    """A paper venue with scripted faults."""

    def __init__(self, *args: Any, fault: str = "", journal: Journal | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fault = fault
        self.journal = journal
        self.placed: list[str] = []
        self.seen_in_journal: list[bool] = []

    async def place_order(  # type: ignore[override]
        self, symbol: Symbol, side: Side, order_type: Any, quantity: Decimal, client_order_id: str,
        price: Decimal | None = None, time_in_force: Any = None,
    ) -> Order:
        self.placed.append(client_order_id)
        if self.journal is not None:
            journaled = {o.client_order_id for o in await self.journal.orders()}
            self.seen_in_journal.append(client_order_id in journaled)
        if self.fault == "reject" and client_order_id.endswith("0"):
            raise InsufficientBalanceError(self.venue, "no money", http_status=400, api_code=10101)
        order = await super().place_order(symbol, side, order_type, quantity, client_order_id, price,
                                          time_in_force)
        if self.fault == "timeout":
            raise OrderOutcomeUnknownError(self.venue, "read timeout", client_order_id=client_order_id)
        return order


class World:
    def __init__(self, tmp_path: Path, *, buy_fault: str = "", sell_fault: str = "",
                 sell_book: L2Book | None = None, risk: dict[str, Any] | None = None) -> None:
        self.clock = Clock()
        self.books = {
            "binance": book([(99.0, 5.0)], [(100.0, 1.0), (100.5, 5.0)]),
            "gateio": sell_book or book([(101.0, 1.0), (100.8, 5.0)], [(102.0, 5.0)]),
        }
        self.journal = Journal(tmp_path / "j.sqlite")
        self.risk = RiskManager(RiskConfig(**(risk or {})), tmp_path / "state.json", self.clock)
        # as the engine wires it: a new order's row is the executor's intent, not the "track" event
        self.tracker = OrderTracker(
            self.clock, lambda o, d: None if d == "track" else self.journal.record_order(o, detail=d))
        self.fills: list[Any] = []
        balances = {"BTC": Decimal("10"), "USDT": Decimal("10000")}
        self.venues = {
            name: Faulty(name, lambda s, n=name: self.books[n], balances, taker_fee=FEE, clock_ns=self.clock,
                         on_fill=self.on_fill, fault=fault, journal=self.journal)
            for name, fault in (("binance", buy_fault), ("gateio", sell_fault))
        }
        for name in self.venues:
            for asset, amount in balances.items():
                self.risk.set_balance(name, asset, amount)
        self.funnel = Funnel()
        self.executor = Executor(
            ExecutorConfig(slippage_bps=0.0, unknown_grace_ms=1, query_backoff_ms=1, order_timeout_ms=50),
            privates=self.venues, symbols={(v, SYM): info(v) for v in self.venues},
            taker_fee=lambda v, s: FEE, book=lambda v, s: self.books[v], tracker=self.tracker,
            risk=self.risk, funnel=self.funnel, clock_ns=self.clock, journal=self.journal,
            sleep=self._sleep, client_ids={v: s.client_id for v, s in VENUES.items()},
        )

    async def _sleep(self, seconds: float) -> None:
        self.clock.now += int(seconds * 1e9)

    def on_fill(self, fill: Any) -> None:
        self.fills.append(fill)
        self.tracker.on_fill(fill)
        self.journal.record_fill(fill)

    def opp(self, qty: float = 1.0, sell_worst: float = 101.0) -> Opportunity:
        return Opportunity(
            id="ab12-000001", symbol=SYM, buy_venue="binance", sell_venue="gateio", quantity=qty,
            buy_vwap=100.0, sell_vwap=101.0, buy_worst=100.0, sell_worst=sell_worst, gross_profit=1.0,
            net_profit=0.799, gross_bps=100.0, net_bps=79.9,
        )


@pytest.fixture
async def world(tmp_path: Path) -> Any:
    created: list[World] = []

    async def make(**kw: Any) -> World:
        w = World(tmp_path, **kw)
        await w.journal.open(mode="paper", version="t", now_ns=1)
        created.append(w)
        return w

    yield make
    for w in created:
        await w.journal.close()


def test_decimal_rounding_and_client_ids() -> None:
    assert round_down(Decimal("1.23456"), Decimal("0.001")) == Decimal("1.234")
    assert round_up(Decimal("100.001"), Decimal("0.01")) == Decimal("100.01")
    assert round_up(Decimal("100.00"), Decimal("0.01")) == Decimal("100.00")
    rules = {v: s.client_id for v, s in VENUES.items()}
    rules["okx-like"] = ClientIdRule(max_length=32, alphabet=string.ascii_letters + string.digits)
    executor = Executor(ExecutorConfig(), privates={}, symbols={}, taker_fee=lambda v, s: FEE,
                        book=lambda v, s: None, tracker=None, risk=None, funnel=Funnel(),  # type: ignore[arg-type]
                        clock_ns=lambda: 0, client_ids=rules)
    assert executor.client_id("gateio", "ab-1b0") == "t-ab-1b0"  # the venue's spec, not the engine, says so
    assert executor.client_id("binance", "ab-1b0") == "ab-1b0"
    assert executor.client_id("okx-like", "7-tk2m9x-000001b0") == "7tk2m9x000001b0"
    assert executor.client_id("a test double", "ab-1b0") == "ab-1b0"


async def test_both_legs_fill_journaled_before_sent(world: Any) -> None:
    w = await world()
    out = await w.executor.execute(w.opp())
    assert out.status is OutcomeStatus.FILLED
    assert out.buy.filled_qty == Decimal("1.000") and out.sell.filled_qty == Decimal("1.000")
    assert out.buy.client_order_id == "ab12-000001b0" and out.sell.client_order_id == "t-ab12-000001s0"
    assert all(v.seen_in_journal == [True] for v in w.venues.values())
    assert out.pnl == Decimal("101") - Decimal("100") - Decimal("0.101") - Decimal("0.100")
    assert w.funnel.stages["both_filled"] == 1 and w.risk.open_opportunities == 0
    await w.journal.flush()
    rows = await w.journal.query("SELECT decision FROM opportunities")
    assert [r[0] for r in rows] == ["approved"]
    assert len(await w.journal.fills()) == 2


async def test_rejected_leg_leaves_a_residual_that_is_closed(world: Any) -> None:
    w = await world(sell_fault="reject")
    out = await w.executor.execute(w.opp())
    assert out.buy.status is OrderStatus.FILLED and out.sell.status is OrderStatus.REJECTED
    assert out.status is OutcomeStatus.RESIDUAL_CLOSED and out.residual == 0
    assert out.residual_ms is not None and out.residual_ms >= 0  # how long it was one-legged
    # the extra BTC was sold where the bid was best: gateio's 101 (its retry ids end in r1)
    residual_orders = [t.order for t in w.tracker.for_opportunity(out.opportunity_id) if t.leg == "residual"]
    assert residual_orders and residual_orders[0].side is Side.SELL
    assert sum(o.filled_qty for o in residual_orders) == Decimal("1.000")
    assert w.risk.state is TradingState.ACTIVE
    await w.journal.flush()
    rows = await w.journal.query("SELECT resolution FROM residuals")
    assert [r[0] for r in rows] == ["closed"]


async def test_a_book_that_moved_before_send_is_not_traded(world: Any) -> None:
    """The other venue's update of the same instant took the bid the opportunity was built on: the
    executor sees it in the book before sending and sends nothing (no one-legged trade)."""
    w = await world(sell_book=book([(101.0, 0.4)], [(102.0, 5.0)]))
    out = await w.executor.execute(w.opp(sell_worst=101.0))
    assert out.status is OutcomeStatus.REJECTED and out.reason is Gate.BOOK_MOVED_BEFORE_SEND
    assert all(v.placed == [] for v in w.venues.values())
    assert w.funnel.gates == {Gate.BOOK_MOVED_BEFORE_SEND: 1}
    assert w.risk.open_opportunities == 0


async def test_partial_fill_on_thin_book_is_hedged(world: Any) -> None:
    w = await world()
    send = w.venues["gateio"].place_order

    async def taken_first(*args: Any, **kwargs: Any) -> Order:  # a faster taker hit the bid meanwhile
        w.books["gateio"] = book([(101.0, 0.4)], [(102.0, 5.0)])
        return await send(*args, **kwargs)

    w.venues["gateio"].place_order = taken_first
    out = await w.executor.execute(w.opp(sell_worst=101.0))
    assert out.sell.filled_qty == Decimal("0.400") and out.sell.status is OrderStatus.CANCELED
    assert out.status is OutcomeStatus.RESIDUAL_CLOSED
    total_sold = sum(t.order.filled_qty for t in w.tracker.for_opportunity(out.opportunity_id)
                     if t.order.side is Side.SELL)
    assert total_sold == Decimal("1.000")


async def test_timeout_after_accept_is_resolved_without_resending(world: Any) -> None:
    w = await world(buy_fault="timeout")
    out = await w.executor.execute(w.opp())
    assert out.status is OutcomeStatus.FILLED and out.buy.status is OrderStatus.FILLED
    assert w.venues["binance"].placed == ["ab12-000001b0"]  # never sent twice


async def test_unclosable_residual_halts(world: Any) -> None:
    w = await world(sell_fault="reject", risk={"max_unhedged_notional": 10_000.0})
    # after the sell leg is rejected, no bid is within the residual budget anywhere: gateio's book
    # is empty and binance bids 50, far below 100 * (1 - 50 bps)
    send = w.venues["gateio"].place_order

    async def market_falls(*args: Any, **kwargs: Any) -> Order:  # as the legs go out
        w.books["gateio"].clear()
        w.books["binance"].set_snapshot([50.0], [5.0], [100.0, 100.5], [1.0, 5.0])
        return await send(*args, **kwargs)

    w.venues["gateio"].place_order = market_falls
    out = await w.executor.execute(w.opp())
    assert out.status is OutcomeStatus.HALTED and out.residual == Decimal("1.000")
    assert w.risk.state is TradingState.HALTED and "residual" in w.risk.reason


async def test_below_minimum_is_rejected_before_sending(world: Any) -> None:
    w = await world()
    out = await w.executor.execute(w.opp(qty=0.01))  # 0.01 BTC * 100 = 1 USDT < 5 USDT
    assert out.status is OutcomeStatus.REJECTED and out.reason is Gate.BELOW_MINIMUM
    assert all(v.placed == [] for v in w.venues.values())


async def test_risk_rejection_sends_nothing(world: Any) -> None:
    w = await world()
    w.risk.halt("test")
    out = await w.executor.execute(w.opp())
    assert out.status is OutcomeStatus.REJECTED and out.reason is Refusal.STATE_HALTED
    assert w.risk.rejections == {Refusal.STATE_HALTED: 1} and not w.funnel.gates  # counted once, by risk
    assert all(v.placed == [] for v in w.venues.values())
