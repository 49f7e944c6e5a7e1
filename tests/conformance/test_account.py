"""Our fills and fee rates from the venues' signed endpoints, checked against the simulator's ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import Credentials, Secret, VenueConfig
from arb.model import OrderType, Side, Symbol, TimeInForce
from arb.sim.server import SimExchange
from arb.venues.binance.private import BinancePrivate
from arb.venues.mexc.private import MexcPrivate
from arb.venues.registry import make_rest

BTC = Symbol("BTC", "USDT")
PRIVATES: dict[str, Any] = {"binance": BinancePrivate, "mexc": MexcPrivate}


@pytest.mark.parametrize("venue", sorted(PRIVATES))
async def test_my_trades_and_fees_match_the_matching_engine(venue: str) -> None:
    sim = SimExchange([venue], seed=8, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()
    dialect: Any = sim.dialects[venue]
    creds = Credentials(venue, Secret("sim-key"), Secret("sim-secret"))
    client = PRIVATES[venue](make_rest(venue, VenueConfig(rest_url=urls[venue][0]), creds))
    try:
        assert await client.my_trades(BTC) == []
        _, _, asks = sim.market.snapshot(venue, BTC, 3)
        qty = (asks[0][1] + asks[1][1] / 2).quantize(Decimal("0.00001"))  # takes two levels
        placed = await client.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, "acct-b0", asks[1][0],
                                          TimeInForce.IOC)
        fills = await client.my_trades(BTC)
        truth = dialect.matching.trades("sim", BTC)
        assert len(fills) == len(truth) == 2
        assert {f.order_id for f in fills} == {placed.order_id}
        assert [(f.price, f.quantity, f.fee, f.side) for f in fills] == [
            (t.price, t.quantity, t.fee, Side.BUY) for t in truth]
        assert len({f.trade_id for f in fills}) == 2 and sum(f.quantity for f in fills) == qty
        assert all(f.fee_asset == "USDT" for f in fills)
        fee = await client.trading_fees(BTC)
        assert fee.taker == pytest.approx(float(dialect.matching.taker_fee))
    finally:
        await client.close()
        await sim.close()


def test_my_trades_decode_the_real_samples(samples_dir: Path) -> None:
    from arb.venues.mexc import codec

    body = (samples_dir / "mexc" / "my_trades.json").read_bytes()
    fills = codec.decode_my_trades(body, Symbol("ATLAS", "USDT"), 0)
    assert fills[0].trade_id == "dd44f79dda764c2e927a190ac5e7a1e5" and fills[0].side is Side.SELL
    assert fills[0].order_id == "C02__385413065019117569043" and fills[0].client_order_id is None
    assert fills[0].ts_event == 1707671871000 * 1_000_000 and fills[0].quantity == Decimal("1220")
    body = (samples_dir / "mexc" / "trade_fee.json").read_bytes()
    fee = codec.decode_trade_fee(body, Symbol("ATLAS", "USDT"))
    assert fee.taker == 0.003


def test_binance_commission_sums_its_parts(samples_dir: Path) -> None:
    from arb.venues.binance import codec

    fee = codec.decode_commission((samples_dir / "binance" / "commission.json").read_bytes(), BTC)
    assert fee.maker == pytest.approx(0.0000001 + 0.01 + 0.00000112)
    assert fee.taker == pytest.approx(0.0000002 + 0.02 + 0.00000114)
