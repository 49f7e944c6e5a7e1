"""Signed orders against the simulator: place (IOC), query by client id, cancel, balances, errors.

Binance so far (its private connector and simulated private endpoints exist); Gate and MEXC join when
theirs do.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from arb.config import Credentials, Secret, VenueConfig
from arb.errors import AuthenticationError, InvalidOrderError, OrderNotFoundError
from arb.model import Fill, OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.sim.server import SimExchange
from arb.venues.binance.private import BinancePrivate
from arb.venues.registry import make_rest

BTC = Symbol("BTC", "USDT")


async def test_signed_order_lifecycle_against_the_simulated_ledger() -> None:
    sim = SimExchange(["binance"], seed=6, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()  # a still market, so prices can be predicted
    dialect = sim.dialects["binance"]
    creds = Credentials("binance", Secret("sim-key"), Secret("sim-secret"))
    fills: list[Fill] = []
    private = BinancePrivate(make_rest("binance", VenueConfig(rest_url=urls["binance"][0]), creds),
                             on_fill=fills.append)
    try:
        before = await private.balances()
        _, _, asks = sim.market.snapshot("binance", BTC, 1)
        best_ask, best_qty = asks[0]
        qty = min(best_qty, Decimal("0.01")).quantize(Decimal("0.00001"))
        order = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, "conf-b0", best_ask,
                                          TimeInForce.IOC)
        assert order.status is OrderStatus.FILLED and order.filled_qty == qty
        assert fills and sum(f.quantity for f in fills) == qty and fills[0].client_order_id == "conf-b0"
        seen = await private.get_order(BTC, client_order_id="conf-b0")
        assert seen.order_id == order.order_id and seen.status is OrderStatus.FILLED
        after = await private.balances()
        spent = sum(f.quantity * f.price + f.fee for f in fills)
        assert after["BTC"].free == before["BTC"].free + qty
        assert after["USDT"].free == before["USDT"].free - spent
        assert dialect.ledger.free("sim", "BTC") == after["BTC"].free  # the ledger is the truth
        # a resting order is listed and cancelled by client id
        resting = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), "conf-r0",
                                            (best_ask * Decimal("0.9")).quantize(Decimal("0.01")))
        assert resting.status is OrderStatus.NEW
        assert [o.client_order_id for o in await private.open_orders(BTC)] == ["conf-r0"]
        assert (await private.cancel_order(BTC, client_order_id="conf-r0")).status is OrderStatus.CANCELED
        with pytest.raises(OrderNotFoundError):
            await private.get_order(BTC, client_order_id="never-sent")
        with pytest.raises(InvalidOrderError) as info:  # -2010 from the simulator's balance check
            await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("100"), "conf-big", best_ask,
                                      TimeInForce.IOC)
        assert info.value.api_code == -2010
        wrong = BinancePrivate(make_rest("binance", VenueConfig(rest_url=urls["binance"][0]),
                                         Credentials("binance", Secret("sim-key"), Secret("wrong"))))
        with pytest.raises(AuthenticationError):
            await wrong.balances()
        await wrong.close()
    finally:
        await private.close()
        await sim.close()
    await asyncio.sleep(0)
