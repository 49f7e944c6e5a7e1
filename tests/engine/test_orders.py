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
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls = 0

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
    resolved = await t.resolve("c1", private, grace_ns=10**9, sleep=_no_sleep)  # type: ignore[arg-type]
    assert resolved.status is OrderStatus.FILLED and resolved.order_id == "77"
    assert private.calls == 3


async def test_resolve_not_found_after_grace_is_rejected() -> None:
    clock = Clock()
    t = OrderTracker(clock)
    t.track(order())
    t.mark_unknown("c1", "dropped response")
    clock.now += 5 * 10**9
    private = FakePrivate([OrderNotFoundError("gateio", "gone", http_status=400, api_code="ORDER_NOT_FOUND")])
    resolved = await t.resolve("c1", private, grace_ns=10**9, sleep=_no_sleep)  # type: ignore[arg-type]
    assert resolved.status is OrderStatus.REJECTED
    assert exposure(resolved) == Decimal("0")


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
