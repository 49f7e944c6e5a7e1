"""MEXC private replies: fills (myTrades) and trade fee rates, on the shared samples."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from arb.model import Side, Symbol
from arb.venues.mexc import orders

ATLAS = Symbol("ATLAS", "USDT")


def test_my_trades_sample_with_numbers_as_strings(samples_dir: Path) -> None:
    (fill,) = orders.decode_my_trades((samples_dir / "mexc" / "my_trades.json").read_bytes(), ATLAS, 3)
    assert (fill.trade_id, fill.order_id, fill.client_order_id) == (  # named as the stream would name it
        "C02__385413065019117569043/1707671871000/0.004542/1220", "C02__385413065019117569043", None)
    assert (fill.side, fill.is_maker, fill.price, fill.quantity, fill.fee, fill.fee_asset) == (
        Side.SELL, False, Decimal("0.004542"), Decimal("1220"), Decimal(0), "USDT")
    assert fill.ts_event == 1707671871000_000_000


def test_trade_fee_sample_is_wrapped_in_data(samples_dir: Path) -> None:
    fee = orders.decode_trade_fee((samples_dir / "mexc" / "trade_fee.json").read_bytes(), ATLAS)
    assert (fee.venue, fee.maker, fee.taker) == ("mexc", 0.003, 0.003)
