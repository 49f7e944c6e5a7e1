from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from arb.model import (
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Side,
    Symbol,
    SymbolStyle,
)


@pytest.mark.parametrize(
    ("style", "spelling"),
    [
        (SymbolStyle.CONCAT, "BTCUSDT"),
        (SymbolStyle.UNDERSCORE, "BTC_USDT"),
        (SymbolStyle.LOWER_CONCAT, "btcusdt"),
    ],
)
def test_symbol_round_trips_each_venue_spelling(style: SymbolStyle, spelling: str) -> None:
    sym = Symbol("BTC", "USDT")
    assert sym.to_venue(style) == spelling
    assert Symbol.from_venue(spelling, style) == sym


def test_symbol_prefers_longest_quote() -> None:
    assert Symbol.from_venue("ETHFDUSD", SymbolStyle.CONCAT) == Symbol("ETH", "FDUSD")
    assert Symbol.from_venue("LRCBTC", SymbolStyle.CONCAT) == Symbol("LRC", "BTC")


def test_symbol_parse_and_str() -> None:
    assert Symbol.parse("btc/usdt") == Symbol("BTC", "USDT")
    assert str(Symbol("BTC", "USDT")) == "BTC/USDT"
    with pytest.raises(ValueError, match="BASE/QUOTE"):
        Symbol.parse("BTCUSDT")
    with pytest.raises(ValueError, match="known quote"):
        Symbol.from_venue("FOOBAR", SymbolStyle.CONCAT)


def test_order_status_only_terminal_at_the_end() -> None:
    assert OrderSide is Side
    assert Side.BUY.opposite is Side.SELL
    assert not OrderStatus.UNKNOWN.is_terminal
    assert OrderStatus.UNKNOWN < OrderStatus.NEW < OrderStatus.PARTIALLY_FILLED < OrderStatus.FILLED
    assert all(s.is_terminal for s in (OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED))


def test_structs_round_trip_through_msgpack_and_json() -> None:
    order = Order(
        venue="binance", symbol=Symbol("BTC", "USDT"), client_order_id="arb-1-b-0",
        side=Side.BUY, type=OrderType.LIMIT, quantity=Decimal("0.5"), price=Decimal("100.10"),
        filled_qty=Decimal("0.2"), filled_quote=Decimal("20.02"),
    )
    assert order.remaining == Decimal("0.3")
    assert order.avg_price == Decimal("100.1")
    assert msgspec.json.decode(msgspec.json.encode(order), type=Order) == order
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(order), type=Order) == order
    fill = Fill(
        venue="mexc", symbol=Symbol("ETH", "USDT"), trade_id="7", side=Side.SELL,
        price=Decimal("2000.5"), quantity=Decimal("0.1"), fee=Decimal("0.2"), fee_asset="USDT",
    )
    assert fill.quote_qty == Decimal("200.050")
