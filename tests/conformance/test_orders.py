"""Signed orders against the simulator: place (IOC), query by client id, cancel, balances, errors.

Every registered venue, each through `make_private` (its connector signing at venue time) against
its simulated dialect's signed endpoints and the shared ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import AuthenticationError, InsufficientBalanceError, InvalidOrderError, OrderNotFoundError
from arb.model import OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.sim.accounts import SIM_PASSPHRASE
from arb.sim.server import SimExchange
from arb.venues.base import PrivateExchangeInterface
from arb.venues.binance.private import BinancePrivate
from arb.venues.registry import make_private, make_rest
from tests.conformance.venues import SIM_VENUES

BTC = Symbol("BTC", "USDT")
# the simulated venues answer a buy beyond the balance with their own codes
TOO_BIG: dict[str, tuple[type[Exception], int | str]] = {
    "binance": (InvalidOrderError, -2010), "mexc": (InsufficientBalanceError, 10101),
    "gateio": (InsufficientBalanceError, "BALANCE_NOT_ENOUGH"), "okx": (InsufficientBalanceError, 51008),
    "bybit": (InsufficientBalanceError, 170131),
}


def private(venue: str, url: str, secret: str = "sim-secret") -> PrivateExchangeInterface:
    creds = Credentials(venue, Secret("sim-key"), Secret(secret), Secret(SIM_PASSPHRASE))
    return make_private(venue, VenueConfig(rest_url=url), creds)


@pytest.mark.parametrize("venue", SIM_VENUES)
async def test_signed_order_lifecycle_against_the_simulated_ledger(venue: str) -> None:
    sim = SimExchange([venue], seed=6, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()  # a still market, so prices can be predicted
    ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
    client = private(venue, urls[venue][0])
    try:
        before = await client.balances()
        _, _, asks = sim.market.snapshot(venue, BTC, 1)
        best_ask, best_qty = asks[0]
        qty = min(best_qty, Decimal("0.01")).quantize(Decimal("0.00001"))
        placed = await client.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, "conf-b0", best_ask,
                                          TimeInForce.IOC)
        assert placed.order_id and placed.client_order_id == "conf-b0"
        seen = await client.get_order(BTC, client_order_id="conf-b0")
        assert seen.order_id == placed.order_id and seen.status is OrderStatus.FILLED
        assert seen.filled_qty == qty and seen.filled_quote == qty * best_ask
        after = await client.balances()
        (fill,) = sim.dialects[venue].matching.fills  # type: ignore[attr-defined]
        in_base = fill.fee if fill.fee_asset == "BTC" else 0  # OKX and Bybit charge a buy in base
        assert after["BTC"].free == before["BTC"].free + qty - in_base
        assert after["USDT"].free == before["USDT"].free - qty * best_ask - (fill.fee - in_base)
        assert ledger.free("sim", "BTC") == after["BTC"].free  # the ledger is the truth
        resting = await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), "conf-r0",
                                           (best_ask * Decimal("0.9")).quantize(Decimal("0.01")))
        assert resting.status is OrderStatus.NEW
        assert [o.client_order_id for o in await client.open_orders(BTC)] == ["conf-r0"]
        assert (await client.cancel_order(BTC, client_order_id="conf-r0")).status is OrderStatus.CANCELED
        with pytest.raises(OrderNotFoundError):
            await client.get_order(BTC, client_order_id="never-sent")
        error, code = TOO_BIG[venue]
        with pytest.raises(error) as info:
            await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("100"), "conf-big", best_ask,
                                     TimeInForce.IOC)
        assert info.value.api_code == code
        wrong = private(venue, urls[venue][0], secret="wrong")
        with pytest.raises(AuthenticationError):
            await wrong.balances()
        await wrong.close()
    finally:
        await client.close()
        await sim.close()


TAKER_FEES = {"binance": 0.001, "gateio": 0.002, "mexc": 0.0005, "okx": 0.001, "bybit": 0.001}


@pytest.mark.parametrize("venue", SIM_VENUES)
async def test_my_trades_and_fee_rates_match_the_simulated_venue(venue: str) -> None:
    sim = SimExchange([venue], seed=9, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()
    client = private(venue, urls[venue][0])
    try:
        assert await client.my_trades(BTC) == []
        _, bids, _ = sim.market.snapshot(venue, BTC, 1)
        qty = min(bids[0][1], Decimal("0.01")).quantize(Decimal("0.00001"))
        cid = "t-fills1" if venue == "gateio" else "fills1"
        sold = await client.place_order(BTC, Side.SELL, OrderType.LIMIT, qty, cid, bids[0][0],
                                        TimeInForce.IOC)
        fills = await client.my_trades(BTC)
        assert [(f.order_id, f.side, f.quantity, f.price) for f in fills] == [
            (sold.order_id, Side.SELL, qty, bids[0][0])]
        fee = fills[0].fee
        assert fee == (qty * bids[0][0] * Decimal(str(TAKER_FEES[venue]))).quantize(Decimal("1e-12"))
        assert fills[0].fee_asset == "USDT" and fills[0].ts_event > 0
        if venue != "binance":  # Binance's rows carry no client order id
            assert fills[0].client_order_id == cid
        rates = await client.trading_fees(BTC)
        assert (rates.venue, rates.symbol, rates.taker) == (venue, BTC, TAKER_FEES[venue])
    finally:
        await client.close()
        await sim.close()


async def test_binance_full_responses_hand_fills_to_the_tracker() -> None:
    sim = SimExchange(["binance"], seed=6, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()
    fills: list[Any] = []
    creds = Credentials("binance", Secret("sim-key"), Secret("sim-secret"))
    client = BinancePrivate(make_rest("binance", VenueConfig(rest_url=urls["binance"][0]), creds),
                            on_fill=fills.append)
    try:
        _, _, asks = sim.market.snapshot("binance", BTC, 1)
        qty = min(asks[0][1], Decimal("0.01")).quantize(Decimal("0.00001"))
        order = await client.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, "full-b0", asks[0][0],
                                         TimeInForce.IOC)
        assert order.status is OrderStatus.FILLED
        assert sum(f.quantity for f in fills) == qty and fills[0].client_order_id == "full-b0"
        assert order.fee == sum(f.fee for f in fills) > 0
    finally:
        await client.close()
        await sim.close()


def test_the_live_check_order_clears_the_symbols_minimums() -> None:
    from arb.check import resting_quantity
    from arb.model import SymbolInfo, SymbolStatus

    info = SymbolInfo("binance", Symbol("BTC", "USDT"), "BTCUSDT", SymbolStatus.TRADING, Decimal("0.01"),
                      Decimal("0.00001"), min_qty=Decimal("0.00001"), min_notional=Decimal("5"))
    quantity = resting_quantity(info, Decimal("60000.00"))
    assert quantity == Decimal("0.00010")  # 5.5 USDT at 60k is 0.0000917 -> up to the step
    assert quantity * Decimal("60000") >= info.min_notional * Decimal("1.1")
    coarse = SymbolInfo("gateio", Symbol("ETH", "USDT"), "ETH_USDT", SymbolStatus.TRADING, Decimal("0.01"),
                        Decimal("0.1"), min_qty=Decimal("0.5"), min_notional=Decimal("1"))
    assert resting_quantity(coarse, Decimal("3000")) == Decimal("0.5")  # min qty dominates
