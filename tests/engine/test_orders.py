from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from arb.engine.orders import OrderTracker, exposure
from arb.errors import ExchangeUnavailableError, OrderNotFoundError
from arb.model import Fill, Order, OrderStatus, OrderType, Side, Symbol, TimeInForce

SYM = Symbol("ETH", "USDT")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000

    def __call__(self) -> int:
        return self.now


def order(cid: str = "c1", qty: str = "2", **kw: Any) -> Order:
    return Order(
        venue="gateio", symbol=SYM, client_order_id=cid, side=Side.BUY, type=OrderType.LIMIT,
        quantity=Decimal(qty), price=Decimal("100"), time_in_force=TimeInForce.IOC, ts_created=1_000, **kw,
    )


def fill(trade_id: str, qty: str, cid: str = "c1", fee: str = "0.1") -> Fill:
    return Fill(
        venue="gateio", symbol=SYM, trade_id=trade_id, side=Side.BUY, price=Decimal("100"),
        quantity=Decimal(qty), fee=Decimal(fee), fee_asset="USDT", client_order_id=cid, order_id="9",
    )


@pytest.fixture
def tracker() -> tuple[OrderTracker, list[tuple[OrderStatus, str]]]:
    events: list[tuple[OrderStatus, str]] = []
    t = OrderTracker(Clock(), lambda o, detail: events.append((o.status, detail)))
    t.track(order())
    return t, events


def test_status_only_moves_forward(tracker: tuple[OrderTracker, list[Any]]) -> None:
    t, _ = tracker
    t.on_order(order(status=OrderStatus.NEW, order_id="9"))
    t.on_order(order(status=OrderStatus.CANCELED, filled_qty=Decimal("0.5"), filled_quote=Decimal("50")))
    late = t.on_order(order(status=OrderStatus.NEW))
    assert late is not None and late.status is OrderStatus.CANCELED
    assert late.order_id == "9" and late.filled_qty == Decimal("0.5")
    assert t.stale_updates == 1
    assert t.open_orders() == []


def test_duplicate_fills_collapse_and_fill_the_order(tracker: tuple[OrderTracker, list[Any]]) -> None:
    t, events = tracker
    assert t.on_fill(fill("t1", "0.5"))
    assert not t.on_fill(fill("t1", "0.5"))  # same fill from REST after WS
    assert t.duplicate_fills == 1
    partial = t.get("c1")
    assert partial is not None and partial.status is OrderStatus.PARTIALLY_FILLED
    assert partial.filled_qty == Decimal("0.5") and partial.fee == Decimal("0.1")
    assert t.on_fill(fill("t2", "1.5"))
    done = t.get("c1")
    assert done is not None and done.status is OrderStatus.FILLED
    assert done.filled_quote == Decimal("200.0") and done.avg_price == Decimal("100")
    # a cumulative order update after the fills neither double counts quantity nor fees
    t.on_order(order(status=OrderStatus.FILLED, filled_qty=Decimal("2"), filled_quote=Decimal("200"),
                     fee=Decimal("0.2"), fee_asset="USDT"))
    again = t.get("c1")
    assert again is not None and again.filled_qty == Decimal("2") and again.fee == Decimal("0.2")
    assert [s for s, _ in events][:2] == [OrderStatus.PENDING_NEW, OrderStatus.PARTIALLY_FILLED]


def test_fill_of_untracked_order_is_ignored(tracker: tuple[OrderTracker, list[Any]]) -> None:
    t, _ = tracker
    assert not t.on_fill(fill("x", "1", cid="someone-else"))


def test_unknown_counts_full_size_and_track_rejects_reuse(tracker: tuple[OrderTracker, list[Any]]) -> None:
    t, _ = tracker
    unknown = t.mark_unknown("c1", "timeout")
    assert unknown is not None and unknown.status is OrderStatus.UNKNOWN
    assert exposure(unknown) == Decimal("2")
    assert t.unknown_orders() == [unknown]
    with pytest.raises(ValueError, match="already tracked"):
        t.track(order())


class FakePrivate:
    def __init__(self, answers: list[Any], *, open_orders: list[Order] | Exception | None = None,
                 trades: list[Fill] | None = None) -> None:
        self.answers = answers
        self.calls = 0
        self.listed = open_orders if open_orders is not None else []
        self.trades = trades or []
        self.history_reads = 0

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        self.history_reads += 1
        if isinstance(self.listed, Exception):
            raise self.listed
        return self.listed

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        return self.trades

    async def get_order(self, symbol: Symbol, *, order_id: str | None = None,
                        client_order_id: str | None = None) -> Order:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]


async def _no_sleep(_: float) -> None:
    return None


async def test_resolve_waits_out_not_found_inside_grace_then_finds_it() -> None:
    clock = Clock()
    t = OrderTracker(clock)
    t.track(order())
    t.mark_unknown("c1", "timeout")
    found = order(
        status=OrderStatus.FILLED, filled_qty=Decimal("2"), filled_quote=Decimal("200"), order_id="77"
    )
    private = FakePrivate([
        OrderNotFoundError("gateio", "ORDER_NOT_FOUND", http_status=400, api_code="ORDER_NOT_FOUND"),
        ExchangeUnavailableError("gateio", "503", http_status=503),
        found,
    ])
    resolved = await t.resolve("c1", private, grace_ns=10**9, deadline_ns=10**12,  # type: ignore[arg-type]
                               sleep=_no_sleep)
    assert resolved.status is OrderStatus.FILLED and resolved.order_id == "77"
    assert private.calls == 3 and private.history_reads == 0  # "not found" inside the grace: asked again


async def test_resolve_not_found_after_grace_is_rejected() -> None:
    clock = Clock()
    t = OrderTracker(clock)
    t.track(order())
    t.mark_unknown("c1", "dropped response")
    clock.now += 5 * 10**9
    private = FakePrivate([OrderNotFoundError("gateio", "gone", http_status=400, api_code="ORDER_NOT_FOUND")])
    resolved = await t.resolve("c1", private, grace_ns=10**9, deadline_ns=10**12,  # type: ignore[arg-type]
                               sleep=_no_sleep)
    assert resolved.status is OrderStatus.REJECTED
    assert private.history_reads == 1  # open orders and trades were read before "never placed"
    assert exposure(resolved) == Decimal("0")


def _not_found() -> OrderNotFoundError:
    return OrderNotFoundError("gateio", "gone", http_status=400, api_code="ORDER_NOT_FOUND")


async def test_not_found_but_traded_is_found_in_the_trade_history() -> None:
    """The venue hides the order from queries, but its fills are in our trades: not 'never placed'."""
    clock = Clock()
    t = OrderTracker(clock)
    t.track(order())
    t.mark_unknown("c1", "timeout")
    clock.now += 6 * 10**9
    private = FakePrivate([_not_found()], trades=[fill("t1", "1.5"), fill("x9", "1", cid="other")])
    resolved = await t.resolve("c1", private, grace_ns=10**9, deadline_ns=10**12,  # type: ignore[arg-type]
                               sleep=_no_sleep)
    assert resolved.status is OrderStatus.EXPIRED and resolved.filled_qty == Decimal("1.5")


async def test_grace_counts_from_when_the_outcome_became_unknown() -> None:
    """An order created long ago whose write just timed out is not 'never placed' at once."""
    clock = Clock()
    t = OrderTracker(clock)
    t.track(order())  # created at 1_000
    clock.now += 30 * 10**9
    t.mark_unknown("c1", "timeout")  # unknown from now
    private = FakePrivate([_not_found(), _not_found(),
                           order(status=OrderStatus.FILLED, filled_qty=Decimal("2"), order_id="7")])

    async def tick(_: float) -> None:
        clock.now += 10**8  # 100 ms a pause: still inside a 1 s grace after two pauses

    resolved = await t.resolve("c1", private, grace_ns=10**9, deadline_ns=10**12,  # type: ignore[arg-type]
                               sleep=tick)
    assert resolved.status is OrderStatus.FILLED and private.history_reads == 0


async def test_unreadable_history_keeps_the_order_unknown_until_the_deadline() -> None:
    clock = Clock()
    t = OrderTracker(clock)
    t.track(order())
    t.mark_unknown("c1", "timeout")
    clock.now += 6 * 10**9
    private = FakePrivate([_not_found()] * 50,
                          open_orders=ExchangeUnavailableError("gateio", "503", http_status=503))

    async def tick(_: float) -> None:
        clock.now += 10**9

    resolved = await t.resolve("c1", private, grace_ns=10**9, deadline_ns=clock.now + 5 * 10**9,  # type: ignore[arg-type]
                               sleep=tick)
    assert resolved.status is OrderStatus.UNKNOWN and exposure(resolved) == Decimal("2")


def test_a_fill_on_a_rejected_order_reopens_it() -> None:
    reopened: list[str] = []
    t = OrderTracker(Clock(), late_fill=lambda tracked: reopened.append(tracked.order.client_order_id))
    t.track(order())
    t.mark_rejected("c1", "never placed")
    assert t.on_fill(fill("t1", "2"))
    got = t.get("c1")
    assert got is not None and got.status is OrderStatus.EXPIRED and got.filled_qty == Decimal("2")
    assert reopened == ["c1"] and t.late_fills == 1


def test_terminal_orders_are_pruned_open_ones_kept() -> None:
    clock = Clock()
    t = OrderTracker(clock, keep_ns=10, max_orders=4)
    t.track(order("open"))
    for i in range(6):
        t.track(order(f"f{i}"))
        t.on_fill(fill(f"t{i}", "2", cid=f"f{i}"))
        clock.now += 100
    assert len(t) <= 4 and t.get("open") is not None and t.pruned >= 3
    assert t.counts()["gateio"] == (7, 6)  # cumulative for metrics

def test_fill_matched_by_exchange_order_id(tracker: tuple[OrderTracker, list[Any]]) -> None:
    t, _ = tracker
    t.on_order(order(status=OrderStatus.NEW, order_id="9"))
    anonymous = msgspec.structs.replace(fill("t9", "1"), client_order_id=None)
    assert t.on_fill(anonymous)
    got = t.get("c1")
    assert got is not None and got.filled_qty == Decimal("1")


async def test_wait_final_returns_on_a_push_before_the_backoff_ends() -> None:
    """The executor's poll pause ends as soon as the order turns final (e.g. a user-stream push)."""
    t = OrderTracker(clock_ns=lambda: 1)
    t.track(order())
    never = asyncio.Event()

    async def endless(_: float) -> None:  # a backoff that never ends: only the push can wake us
        await never.wait()

    waiting = asyncio.create_task(t.wait_final("c1", endless, 60.0))
    await asyncio.sleep(0)
    assert not waiting.done()
    t.on_order(msgspec.structs.replace(order(), status=OrderStatus.PARTIALLY_FILLED, filled_qty=Decimal("1")))
    await asyncio.sleep(0)
    assert not waiting.done()  # not final yet
    t.on_order(msgspec.structs.replace(order(), status=OrderStatus.FILLED, filled_qty=Decimal("2")))
    await asyncio.wait_for(waiting, 5)
    await t.wait_final("c1", endless, 60.0)  # already final: returns at once
