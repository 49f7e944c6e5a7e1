"""Our RateLimiter + RestClient against the simulator's rate limits, on one shared virtual clock.

The simulator's windows and the client's limiter read the same `VirtualTime`, and every wait the
client makes advances it: a 60 s Retry-After costs nothing, and "nothing was sent while frozen" is
checked exactly on the simulator's request log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from arb.config import ConnectionConfig, RequestConfig
from arb.credentials import Credentials, Secret
from arb.errors import IPBannedError, RateLimitError
from arb.model import OrderType, Side, TimeInForce
from arb.net.ratelimit import RateLimiter
from arb.net.rest import RestClient
from arb.sim.limits import DEFAULT_LIMITS, LimitRule, SimLimits
from arb.sim.server import SimExchange
from arb.venues.binance.private import BinancePrivate
from arb.venues.binance.public import BinancePublic
from arb.venues.registry import VENUES
from tests.sim.support import BTC, Harness, VirtualTime

RUDE = RequestConfig(retries=0)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=41)
    yield harness
    await harness.aclose()


def rest(sim: SimExchange, vt: VirtualTime, *, limited: bool = True, signed: bool = False) -> RestClient:
    spec = VENUES["binance"]
    limiter = RateLimiter("binance", spec.pools, clock=vt.now, sleep=vt.sleep) if limited else None
    creds = Credentials("binance", Secret("sim-key"), Secret("sim-secret"))
    return RestClient("binance", sim.urls["binance"][0], connection=ConnectionConfig(),
                      decode_error=spec.decode_error, error_class=spec.error_class, limiter=limiter,
                      signer=spec.signer(creds) if signed else None, sleep=vt.sleep)


def quiet_between(sim: SimExchange, start: float, end: float) -> list[Any]:
    """Requests the simulator received strictly inside (start, end)."""
    return [entry for entry in sim.limiters["binance"].log if start < entry[0] < end]


async def test_429_freezes_the_limiter_and_nothing_is_sent_until_retry_after(h: Harness) -> None:
    vt = VirtualTime(start=1000.0)  # 20 s into a 60 s window
    tiny = SimLimits(rules=(LimitRule("weight", 12, 60.0),))  # bans after 10 requests ignoring a 429
    sim = await h.sim(["binance"], limits={"binance": tiny}, limits_clock=vt.now)
    client = rest(sim, vt)
    public = BinancePublic(client)
    books = await asyncio.gather(*(public.orderbook(BTC, 100) for _ in range(8)))  # weight 5 each
    assert all(book.bids for book in books)
    limiter, simlog = client.limiter, sim.limiters["binance"]
    assert limiter is not None and limiter.rate_limited >= 1 and simlog.throttled >= 1
    first_429 = next(t for t, _, status in simlog.log if status == 429)
    assert first_429 == 1000.0 and limiter.frozen_until >= 1020.0  # Retry-After: to the window's end
    assert quiet_between(sim, first_429, 1020.0) == []  # zero requests while frozen
    assert simlog.bans == 0 and simlog.banned_replies == 0  # an obedient client is never banned
    assert simlog.requests == sum(1 for _ in simlog.log) and simlog.requests > 8
    await client.close()


async def test_ignoring_retry_after_escalates_to_418_which_halts_our_client(h: Harness) -> None:
    vt = VirtualTime()
    tiny = SimLimits(rules=(LimitRule("weight", 10, 60.0),), ban_after=10, ban_s=300.0)
    sim = await h.sim(["binance"], limits={"binance": tiny}, limits_clock=vt.now)
    rude = rest(sim, vt, limited=False)
    statuses = []
    for _ in range(30):
        try:
            await rude.request("GET", "/api/v3/time", kind=RUDE)
            statuses.append(200)
        except IPBannedError as exc:
            statuses.append(418)
            assert exc.retry_after == 300.0 and exc.api_code == -1003
            break
        except RateLimitError as exc:
            statuses.append(429)
            assert exc.retry_after == 60.0
    assert statuses == [200] * 10 + [429] * 10 + [418] and sim.limiters["binance"].bans == 1
    await rude.close()
    client = rest(sim, vt)  # same IP: banned too
    public = BinancePublic(client)
    with pytest.raises(IPBannedError):
        await public.server_time()
    limiter = client.limiter
    assert limiter is not None and limiter.banned_until == pytest.approx(300.0)
    received = sim.limiters["binance"].requests
    assert await public.server_time() > 0  # waited (virtually) for the ban to end, then sent once
    assert sim.limiters["binance"].requests == received + 1
    assert quiet_between(sim, 0.0, 300.0) == []  # nothing at all during the ban
    await client.close()


async def test_used_weight_and_order_count_headers_correct_our_pools(h: Harness) -> None:
    vt = VirtualTime()
    sim = await h.sim(["binance"], limits_clock=vt.now, limits={"binance": DEFAULT_LIMITS["binance"]})
    await sim.close_driver()
    other = rest(sim, vt, limited=False, signed=True)  # someone else on our IP and account
    for _ in range(10):
        await BinancePublic(other).orderbook(BTC, 100)  # 10 x 5
    _, _, asks = sim.market.snapshot("binance", BTC, 1)
    for i in range(3):
        await BinancePrivate(other).place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), f"o{i}",
                                                asks[0][0], TimeInForce.IOC)
    client = rest(sim, vt, signed=True)
    assert await BinancePublic(client).server_time() > 0  # weight 1; the venue says 50 + 3 + 1 used
    limiter = client.limiter
    assert limiter is not None
    assert limiter.headroom()["weight"] == pytest.approx((6000 - 54) / 6000)
    await BinancePrivate(client).place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), "mine",
                                             asks[0][0], TimeInForce.IOC)
    assert limiter.headroom()["orders"] == pytest.approx((100 - 4) / 100)  # X-MBX-ORDER-COUNT-10S: 4
    assert sim.limiters["binance"].used("orders") == 4
    await other.close()
    await client.close()
