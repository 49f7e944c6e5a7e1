from __future__ import annotations

from decimal import Decimal

import pytest

from arb._core.book import L2Book
from arb.engine.paper import PaperExchange
from arb.errors import InsufficientBalanceError, InvalidOrderError, OrderNotFoundError
from arb.model import Fill, OrderStatus, OrderType, Side, Symbol, TimeInForce

SYM = Symbol("ETH", "USDT")


def venue(fills: list[Fill]) -> PaperExchange:
    book = L2Book()
    book.set_snapshot([1999.0, 1998.0], [1.0, 2.0], [2000.0, 2001.0], [0.5, 1.0])
    return PaperExchange("mexc", lambda s: book, {"ETH": Decimal("2"), "USDT": Decimal("10000")},
                         taker_fee=0.001, clock_ns=lambda: 5, on_fill=fills.append)


async def test_ioc_buy_walks_the_book_to_its_limit_with_fees() -> None:
    fills: list[Fill] = []
    ex = venue(fills)
    order = await ex.place_order(SYM, Side.BUY, OrderType.LIMIT, Decimal("1.0"), "c1", Decimal("2000.5"),
                                 TimeInForce.IOC)
    assert order.status is OrderStatus.CANCELED  # only 0.5 at or below 2000.5
    assert order.filled_qty == Decimal("0.5") and order.filled_quote == Decimal("1000.0")
    assert [f.price for f in fills] == [Decimal("2000.0")] and all(f.paper for f in fills)
    assert order.fee == Decimal("1.0")
    balances = await ex.balances()
    assert balances["ETH"].free == Decimal("2.5") and balances["USDT"].free == Decimal("8999.0")
    assert (await ex.get_order(SYM, client_order_id="c1")) == order
    assert await ex.open_orders() == []


async def test_sell_fills_across_levels_and_errors() -> None:
    fills: list[Fill] = []
    ex = venue(fills)
    order = await ex.place_order(SYM, Side.SELL, OrderType.LIMIT, Decimal("2"), "c2", Decimal("1998"),
                                 TimeInForce.IOC)
    assert order.status is OrderStatus.FILLED and order.filled_quote == Decimal("3997.0")
    assert len(await ex.my_trades(SYM)) == 2
    with pytest.raises(InsufficientBalanceError):
        await ex.place_order(SYM, Side.SELL, OrderType.LIMIT, Decimal("1"), "c3", Decimal("1"))
    with pytest.raises(InvalidOrderError):
        await ex.place_order(SYM, Side.BUY, OrderType.LIMIT, Decimal("1"), "c2", Decimal("1"))
    with pytest.raises(OrderNotFoundError):
        await ex.get_order(SYM, client_order_id="nope")
    fee = await ex.trading_fees(SYM)
    assert fee.taker == pytest.approx(0.001)


async def test_gtc_remainder_rests_and_cancels() -> None:
    ex = venue([])
    order = await ex.place_order(SYM, Side.BUY, OrderType.LIMIT, Decimal("1"), "g1", Decimal("1990"))
    assert order.status is OrderStatus.NEW and await ex.open_orders(SYM) == [order]
    canceled = await ex.cancel_order(SYM, client_order_id="g1")
    assert canceled.status is OrderStatus.CANCELED
