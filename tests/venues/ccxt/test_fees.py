"""The fee sign of bridged fills: ccxt's unified sign is positive = paid, but ccxt.pro's okx builds its
websocket trades (``watch_my_trades``, from ``orders`` pushes) with OKX's own ``fillFee``, negative
when paid. The bridge turns those round (`ws_fee_sign`); if a ccxt upgrade fixes the sign, the first
test fails and the flip must go (else every OKX fee would be journaled as a rebate)."""

from __future__ import annotations

import json
from pathlib import Path

import ccxt.pro as pro

from arb.venues.ccxt.exchange import ws_fee_sign


def test_ccxt_okx_websocket_trades_keep_okxs_negative_fee_and_the_bridge_flips_them(
        samples_dir: Path) -> None:
    push = json.loads((samples_dir / "okx" / "ws_orders_push_docs.json").read_text())["data"][0]
    assert push["fillFee"] == "-0.02522168"  # OKX: negative = charged (fact sheet)
    client = pro.okx()
    order = client.parse_order(push)
    assert order["fee"]["cost"] == 0.02522168  # the order: ccxt's unified sign
    assert client.order_to_trade(order)["fee"]["cost"] == -0.02522168  # its trade: OKX's sign
    assert ws_fee_sign(client) == -1


def test_other_bridged_exchanges_keep_the_sign() -> None:
    signs = [ws_fee_sign(getattr(pro, name)()) for name in ("binance", "bybit", "gate", "mexc")]
    assert signs == [1, 1, 1, 1]
