"""Binance private replies: fills (myTrades) and commission rates, on the shared samples and our own."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arb.model import Side, Symbol
from arb.venues.binance import orders

BTC = Symbol("BTC", "USDT")


def test_commission_sample_adds_standard_tax_and_special(samples_dir: Path) -> None:
    fee = orders.decode_commission((samples_dir / "binance" / "commission.json").read_bytes(), BTC)
    assert fee.venue == "binance" and fee.symbol == BTC
    assert fee.maker == pytest.approx(0.0000001 + 0.00000112 + 0.01)
    assert fee.taker == pytest.approx(0.0000002 + 0.00000114 + 0.02)


def test_my_trades_rows_become_fills() -> None:
    body = (b'[{"symbol": "BTCUSDT", "id": 28457, "orderId": 100234, "orderListId": -1,'
            b' "price": "65000.10", "qty": "0.01000000", "quoteQty": "650.001", "commission": "0.65000100",'
            b' "commissionAsset": "USDT", "time": 1767225600125, "isBuyer": false, "isMaker": true,'
            b' "isBestMatch": true}]')
    (fill,) = orders.decode_my_trades(body, BTC, 5)
    assert (fill.trade_id, fill.order_id, fill.client_order_id, fill.side, fill.is_maker) == (
        "28457", "100234", None, Side.SELL, True)
    assert (fill.price, fill.quantity, fill.fee, fill.fee_asset) == (
        Decimal("65000.10"), Decimal("0.01"), Decimal("0.650001"), "USDT")
    assert (fill.ts_event, fill.ts_recv) == (1767225600125_000_000, 5)


def test_query_and_cancel_samples_keep_the_orders_own_client_id_and_creation_time(samples_dir: Path) -> None:
    query = orders.to_order(orders.decode_order((samples_dir / "binance" / "order_query.json").read_bytes()),
                           Symbol("LTC", "BTC"))
    assert (query.client_order_id, query.ts_created, query.ts_updated) == (
        "myOrder1", 1499827319559_000_000, 1499827319559_000_000)  # GET prints "time", no "transactTime"
    cancel_body = (samples_dir / "binance" / "order_cancel_response.json").read_bytes()
    cancel = orders.to_order(orders.decode_order(cancel_body), Symbol("LTC", "BTC"))
    assert cancel.client_order_id == "myOrder1"  # not "cancelMyOrder1", the id of the cancel request
