"""Wire protocol details against the simulator: MEXC's cancel reply ids, Gate's signed query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from arb.config import RequestConfig, VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import AuthenticationError
from arb.model import OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.net.contract import Params, SignedRequest
from arb.venues.gateio import constants as gate
from arb.venues.gateio.auth import GateSigner, sign
from arb.venues.mexc import orders as mexc_orders
from arb.venues.registry import make_private, make_rest
from tests.sim.support import BTC, Harness

AWKWARD = "BTC, USDT:a/b c"  # every character Gate's decoded-query signature is sensitive to
ONCE = RequestConfig(retries=0)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=83)
    yield harness
    await harness.aclose()


def creds(venue: str) -> Credentials:
    return Credentials(venue, Secret("sim-key"), Secret("sim-secret"))


def test_mexc_cancel_sample_names_the_order_by_orig_client_order_id(samples_dir: Path) -> None:
    body = (samples_dir / "mexc" / "order_cancel_response.json").read_bytes()
    order = mexc_orders.to_order(mexc_orders.decode_order(body), Symbol("LTC", "BTC"))
    assert order.client_order_id == "myOrder1"  # not the cancel request's "cancelMyOrder1"
    assert order.status is OrderStatus.CANCELED


async def test_mexc_cancel_returns_the_orders_own_client_id(h: Harness) -> None:
    sim = await h.sim(["mexc"])
    await sim.close_driver()
    _, bids, _ = sim.market.snapshot("mexc", BTC, 1)
    client = make_private("mexc", VenueConfig(rest_url=sim.urls["mexc"][0]), creds("mexc"))
    try:
        price = (Decimal(bids[0][0]) * Decimal("0.9")).quantize(Decimal("0.01"))
        placed = await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), "rest-1", price,
                                          TimeInForce.GTC)
        cancelled = await client.cancel_order(BTC, client_order_id="rest-1")
    finally:
        await client.close()
    assert cancelled.order_id == placed.order_id and cancelled.status is OrderStatus.CANCELED
    assert cancelled.client_order_id == "rest-1"


class EncodedQuerySigner(GateSigner):
    """The old way: signs the URL-encoded query (what Gate does not read)."""

    def sign(self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int) -> SignedRequest:
        query = urlencode(list(params))
        ts = str(timestamp_ms // 1000)
        headers = {"KEY": "sim-key", "Timestamp": ts,
                   "SIGN": sign("sim-secret", method, path, query, body.decode(), ts)}
        return SignedRequest(query, body, headers)


async def test_gate_signs_the_decoded_query_so_awkward_values_pass(h: Harness) -> None:
    sim = await h.sim(["gateio"])
    rest = make_rest("gateio", VenueConfig(rest_url=sim.urls["gateio"][0]), creds("gateio"))
    try:
        def accounts(currency: str) -> Any:
            return rest.request("GET", gate.ACCOUNTS, kind=ONCE, params=[("currency", currency)], signed=True)

        assert await accounts(AWKWARD) == b"[]"  # signature accepted; no asset has that name
        assert b'"USDT"' in await accounts("USDT")
        rest.signer = EncodedQuerySigner("sim-key", "sim-secret")
        with pytest.raises(AuthenticationError) as info:  # the simulator checks what the fact sheet says
            await accounts(AWKWARD)
        assert info.value.api_code == "INVALID_SIGNATURE"
    finally:
        await rest.close()


async def test_gate_connector_lists_trades_with_a_signed_query(h: Harness) -> None:
    sim = await h.sim(["gateio"])
    client = make_private("gateio", VenueConfig(rest_url=sim.urls["gateio"][0]), creds("gateio"))
    try:
        assert await client.my_trades(BTC) == []  # currency_pair=BTC_USDT&limit=..: signed and accepted
    finally:
        await client.close()
