"""RestClient (through the venue connectors) against the simulator: keep-alive, retries, unknown outcomes.

Reads are retried after a 5xx or a dropped reply; writes never are: an order the simulator placed
before answering 5xx (or closing the connection) surfaces as `OrderOutcomeUnknownError` and is then
found by `OrderTracker.resolve`, exactly as the engine recovers it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.engine.orders import OrderTracker
from arb.errors import OrderOutcomeUnknownError, TimestampError
from arb.model import Order, OrderStatus, OrderType, Side, TimeInForce
from arb.sim.server import SimExchange
from arb.venues.binance.private import BinancePrivate
from arb.venues.clock import ServerClock
from arb.venues.mexc.private import MexcPrivate
from arb.venues.registry import make_public, make_rest
from tests.sim.support import BTC, Harness

PRIVATES: dict[str, Any] = {"binance": BinancePrivate, "mexc": MexcPrivate}
DEPTH = "GET /api/v3/depth"
PLACE = "POST /api/v3/order"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=31)
    yield harness
    await harness.aclose()


def private(sim: SimExchange, venue: str, **kw: Any) -> Any:
    creds = Credentials(venue, Secret("sim-key"), Secret("sim-secret"))
    return PRIVATES[venue](make_rest(venue, VenueConfig(rest_url=sim.urls[venue][0]), creds, **kw))


async def test_sequential_requests_reuse_one_connection(h: Harness) -> None:
    sim = await h.sim(["binance"])
    public = make_public("binance", VenueConfig(rest_url=sim.urls["binance"][0]))
    for _ in range(12):
        await public.orderbook(BTC, 10)
    traffic = sim.traffic["binance"]
    assert traffic.requests == 12 and traffic.by_route[DEPTH] == 12
    assert traffic.connections == 1  # counted on the server side
    await public.close()


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_a_read_is_retried_after_a_5xx(h: Harness, status: int) -> None:
    sim = await h.sim(["binance"])
    plan = sim.faults["binance"]
    plan.error_5xx, plan.error_status, plan.http_methods = 2, status, frozenset({"GET"})
    public = make_public("binance", VenueConfig(rest_url=sim.urls["binance"][0]))
    book = await public.orderbook(BTC, 10)
    assert book.bids and sim.traffic["binance"].by_route[DEPTH] == 3 and plan.error_5xx == 0
    await public.close()


async def test_a_read_is_retried_after_a_dropped_reply_on_a_new_connection(h: Harness) -> None:
    sim = await h.sim(["mexc"])
    sim.faults["mexc"].drop_replies = 1
    public = make_public("mexc", VenueConfig(rest_url=sim.urls["mexc"][0]))
    assert (await public.orderbook(BTC, 10)).asks
    traffic = sim.traffic["mexc"]
    assert traffic.by_route[DEPTH] == 2 and traffic.connections == 2
    assert sim.injectors["mexc"].counts.dropped_replies == 1
    await public.close()


async def _place_unknown(sim: SimExchange, venue: str, client_id: str) -> tuple[Any, Order]:
    """Place a marketable IOC buy that the simulator accepts; returns the client and the tracked order."""
    await sim.close_driver()  # a still market: the order fills at the best ask
    _, _, asks = sim.market.snapshot(venue, BTC, 1)
    client = private(sim, venue)
    order = Order(venue, BTC, client_id, Side.BUY, OrderType.LIMIT, Decimal("0.001"), asks[0][0],
                  TimeInForce.IOC, ts_created=time.time_ns())
    with pytest.raises(OrderOutcomeUnknownError) as info:
        await client.place_order(BTC, Side.BUY, OrderType.LIMIT, order.quantity, client_id, order.price,
                                 TimeInForce.IOC)
    assert info.value.client_order_id == client_id
    assert sim.traffic[venue].by_route[PLACE] == 1  # never resent
    return client, order


@pytest.mark.parametrize(("venue", "status"), [("binance", 500), ("binance", 504), ("mexc", 502)])
async def test_5xx_after_accept_is_an_unknown_outcome_that_resolve_settles(
    h: Harness, venue: str, status: int,
) -> None:
    sim = await h.sim([venue])
    plan = sim.faults[venue]
    plan.error_5xx, plan.error_status, plan.http_methods = 1, status, frozenset({"POST"})
    client, order = await _place_unknown(sim, venue, f"u5-{status}")
    matching = sim.dialects[venue].matching  # type: ignore[attr-defined]
    placed = matching.find("sim", client_id=order.client_order_id)
    assert placed.status == "FILLED"  # the order really exists in the matching engine
    tracker = OrderTracker(time.time_ns)
    tracker.track(order)
    tracker.mark_unknown(order.client_order_id, "5xx")
    resolved = await tracker.resolve(order.client_order_id, client, grace_ns=10**10,
                                     deadline_ns=time.time_ns() + 30 * 10**9)
    assert resolved.status is OrderStatus.FILLED and resolved.filled_qty == order.quantity
    await client.close()


async def test_a_dropped_order_reply_is_an_unknown_outcome_and_the_order_exists(h: Harness) -> None:
    sim = await h.sim(["binance"])
    sim.faults["binance"].drop_replies = 1
    sim.faults["binance"].http_methods = frozenset({"POST"})
    client, order = await _place_unknown(sim, "binance", "drop-1")
    matching = sim.dialects["binance"].matching  # type: ignore[attr-defined]
    assert matching.find("sim", client_id="drop-1").filled == order.quantity
    await client.close()


async def test_a_hidden_order_is_not_found_then_found(h: Harness) -> None:
    sim = await h.sim(["mexc"])
    sim.faults["mexc"].error_5xx = 1
    sim.faults["mexc"].hide_orders_ms = 3_600_000  # hidden until the test says otherwise
    client, order = await _place_unknown(sim, "mexc", "hid-1")
    tracker = OrderTracker(time.time_ns)
    tracker.track(order)
    tracker.mark_unknown("hid-1", "5xx")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # the venue catches up while the tracker backs off
        slept.append(seconds)
        sim.faults["mexc"].hide_orders_ms = 0

    resolved = await tracker.resolve("hid-1", client, grace_ns=10**10,
                                     deadline_ns=time.time_ns() + 30 * 10**9, sleep=sleep)
    assert resolved.status is OrderStatus.FILLED and len(slept) == 1
    assert sim.dialects["mexc"].matching.hidden_queries == 1  # type: ignore[attr-defined]
    await client.close()


async def test_clock_skew_is_rejected_until_the_client_syncs_to_the_server_clock(h: Harness) -> None:
    sim = await h.sim(["binance"])
    sim.faults["binance"].clock_skew_ms = -4000  # the venue's clock is 4 s behind ours
    naive = private(sim, "binance")
    with pytest.raises(TimestampError) as info:
        await naive.balances()
    assert info.value.api_code == -1021
    await naive.close()
    clock = ServerClock()
    public = make_public("binance", VenueConfig(rest_url=sim.urls["binance"][0]))
    for _ in range(3):
        sent = time.time_ns()
        server_ms = await public.server_time()
        clock.add_sample(sent, server_ms, time.time_ns())
    assert clock.offset_ms == pytest.approx(-4000, abs=500)
    synced = private(sim, "binance", clock_ms=clock.now_ms)
    assert (await synced.balances())["USDT"].free > 0
    await synced.close()
    await public.close()
