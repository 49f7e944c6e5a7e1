"""The simulator's rate limits per venue: bodies, headers, per-endpoint budgets, bans (or none)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from arb.config import ConnectionConfig, RequestConfig
from arb.errors import IPBannedError, RateLimitError
from arb.net.rest import RestClient
from arb.sim.limits import Applies, LimitRule, SimLimits, interval_tag
from arb.venues.registry import VENUES
from tests.sim.support import Harness, VirtualTime

ONCE = RequestConfig(retries=0)
TIME = {"binance": "/api/v3/time", "gateio": "/api/v4/spot/time", "mexc": "/api/v3/time"}
DEPTH = {"binance": ("/api/v3/depth", [("symbol", "BTCUSDT")]),
         "gateio": ("/api/v4/spot/order_book", [("currency_pair", "BTC_USDT")]),
         "mexc": ("/api/v3/depth", [("symbol", "BTCUSDT")])}
TINY = {
    "binance": SimLimits(rules=(LimitRule("weight", 3, 60.0, weighted=False),), ban_after=3, ban_s=200.0),
    "gateio": SimLimits(rules=(LimitRule("public", 3, 10.0, Applies.PUBLIC, per_endpoint=True,
                                         weighted=False),), ban_after=None),
    "mexc": SimLimits(rules=(LimitRule("endpoint", 3, 10.0, per_endpoint=True, weighted=False),),
                      ban_after=3, ban_s=200.0),
}
THROTTLE_CODE = {"binance": -1003, "gateio": "TOO_MANY_REQUESTS", "mexc": 429}


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=51)
    yield harness
    await harness.aclose()


def client(venue: str, url: str) -> RestClient:
    spec = VENUES[venue]
    return RestClient(venue, url, connection=ConnectionConfig(), decode_error=spec.decode_error,
                      error_class=spec.error_class)


@pytest.mark.parametrize("venue", sorted(TINY))
async def test_over_the_limit_is_429_in_the_venues_words_then_a_ban_where_documented(
    h: Harness, venue: str,
) -> None:
    vt = VirtualTime(start=100.0)
    sim = await h.sim([venue], limits={venue: TINY[venue]}, limits_clock=vt.now)
    rest = client(venue, sim.urls[venue][0])
    for _ in range(3):
        await rest.request("GET", TIME[venue], kind=ONCE)
    with pytest.raises(RateLimitError) as info:
        await rest.request("GET", TIME[venue], kind=ONCE)
    assert type(info.value) is RateLimitError and info.value.http_status == 429
    assert info.value.api_code == THROTTLE_CODE[venue] and info.value.retry_after is not None
    assert info.value.retry_after >= 1
    statuses = []
    for _ in range(4):  # keep sending while told to wait
        try:
            await rest.request("GET", TIME[venue], kind=ONCE)
        except RateLimitError as exc:
            statuses.append(exc.http_status)
    if venue == "gateio":  # Gate documents no ban: it keeps answering 429
        assert statuses == [429] * 4 and sim.limiters[venue].bans == 0
    else:
        assert statuses == [429, 429, 418, 418] and sim.limiters[venue].bans == 1
        with pytest.raises(IPBannedError) as banned:
            await rest.request("GET", DEPTH[venue][0], kind=ONCE, params=DEPTH[venue][1])
        assert banned.value.retry_after == 200.0  # the ban covers every endpoint
    vt.t += 400.0  # windows and bans are over
    await rest.request("GET", TIME[venue], kind=ONCE)
    await rest.close()


@pytest.mark.parametrize("venue", ["gateio", "mexc"])
async def test_budgets_are_per_endpoint(h: Harness, venue: str) -> None:
    vt = VirtualTime()
    sim = await h.sim([venue], limits={venue: TINY[venue]}, limits_clock=vt.now)
    rest = client(venue, sim.urls[venue][0])
    path, params = DEPTH[venue]
    for _ in range(3):
        await rest.request("GET", path, kind=ONCE, params=params)
    with pytest.raises(RateLimitError):
        await rest.request("GET", path, kind=ONCE, params=params)
    await rest.request("GET", TIME[venue], kind=ONCE)  # another endpoint, another budget
    await rest.close()


async def test_binance_reports_used_weight_and_refuses_with_retry_after_to_the_window_end(h: Harness) -> None:
    vt = VirtualTime(start=130.0)  # 10 s into a 60 s window
    limits = SimLimits(rules=(LimitRule("weight", 30, 60.0),))
    sim = await h.sim(["binance"], limits={"binance": limits}, limits_clock=vt.now)
    base = sim.urls["binance"][0]
    async with aiohttp.ClientSession() as session:
        used = []
        for _ in range(3):
            async with session.get(f"{base}/api/v3/depth?symbol=BTCUSDT&limit=500") as resp:  # weight 25
                used.append((resp.status, resp.headers.get("X-MBX-USED-WEIGHT-1M")))
                body = await resp.json()
                retry_after = resp.headers.get("Retry-After")
    assert used == [(200, "25"), (429, "50"), (429, "75")]
    assert retry_after == "50" and body["code"] == -1003 and "30 request weight per 1 MINUTE" in body["msg"]


async def test_gate_headers_count_down_and_name_the_reset_second(h: Harness) -> None:
    vt = VirtualTime(start=1_700_000_003.0)
    limits = SimLimits(rules=(LimitRule("public", 2, 10.0, Applies.PUBLIC, per_endpoint=True,
                                        weighted=False),), ban_after=None)
    sim = await h.sim(["gateio"], limits={"gateio": limits}, limits_clock=vt.now)
    base = sim.urls["gateio"][0]
    seen = []
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(f"{base}/api/v4/spot/time") as resp:
                got = resp.headers
                seen.append((resp.status, got["X-Gate-RateLimit-Requests-Remain"],
                             got["X-Gate-RateLimit-Limit"], got["X-Gate-RateLimit-Reset-Timestamp"]))
                label = (await resp.json()).get("label")
    assert seen == [(200, "1", "2", "1700000003"), (200, "0", "2", "1700000010"),
                    (429, "0", "2", "1700000010")]
    assert label == "TOO_MANY_REQUESTS"


async def test_binance_order_count_limit_is_its_own_budget(h: Harness) -> None:
    from decimal import Decimal

    from arb.config import VenueConfig
    from arb.credentials import Credentials, Secret
    from arb.model import OrderType, Side, Symbol, TimeInForce
    from arb.venues.binance.private import BinancePrivate
    from arb.venues.registry import make_rest

    limits = SimLimits(rules=(LimitRule("weight", 6000, 60.0),
                              LimitRule("orders", 2, 10.0, Applies.ORDERS, weighted=False)))
    vt = VirtualTime()
    sim = await h.sim(["binance"], limits={"binance": limits}, limits_clock=vt.now)
    await sim.close_driver()
    btc = Symbol("BTC", "USDT")
    _, _, asks = sim.market.snapshot("binance", btc, 1)
    creds = Credentials("binance", Secret("sim-key"), Secret("sim-secret"))
    private = BinancePrivate(make_rest("binance", VenueConfig(rest_url=sim.urls["binance"][0]), creds))
    for i in range(2):
        await private.place_order(btc, Side.BUY, OrderType.LIMIT, Decimal("0.001"), f"oc{i}", asks[0][0],
                                  TimeInForce.IOC)
    with pytest.raises(RateLimitError) as info:
        await private.place_order(btc, Side.BUY, OrderType.LIMIT, Decimal("0.001"), "oc2", asks[0][0],
                                  TimeInForce.IOC)
    assert info.value.api_code == -1015
    assert sim.limiters["binance"].used("weight") == 3  # every attempt weighs, only two were orders
    assert len(sim.dialects["binance"].matching.orders) == 2  # type: ignore[attr-defined]
    await private.close()


def test_interval_tags() -> None:
    assert [interval_tag(s) for s in (1, 10, 60, 300, 3600, 86_400)] == ["1S", "10S", "1M", "5M", "1H", "1D"]
