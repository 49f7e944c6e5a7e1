"""The simulator knobs `arb-engine chaos` needs: slow replies, canned 429s that count toward the 418
ban, the request log with times, and restarting the market after quiescence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from arb.sim.faults import Reply
from arb.sim.server import SimExchange
from tests.sim.support import BTC, wait_until

DEPTH = "/api/v3/depth?symbol=BTCUSDT&limit=5"
TOO_MANY = json.dumps({"code": -1003, "msg": "Too many requests"})


@pytest.fixture
async def sim() -> AsyncIterator[SimExchange]:
    exchange = SimExchange(["binance"], seed=3, step_s=0.02)
    await exchange.start()
    yield exchange
    await exchange.close()


async def test_a_slow_reply_runs_the_request_and_answers_after_the_client_gave_up(sim: SimExchange) -> None:
    plan = sim.faults["binance"]
    plan.slow_replies, plan.slow_reply_ms = 1, 1000.0
    base = sim.urls["binance"][0]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(asyncio.TimeoutError):
            async with session.get(base + DEPTH, timeout=aiohttp.ClientTimeout(total=0.2)):
                pass
        assert plan.slow_replies == 0 and sim.injectors["binance"].counts.slow_replies == 1
        assert sim.traffic["binance"].by_route["GET /api/v3/depth"] == 1  # it reached the venue
        async with session.get(base + DEPTH) as response:  # the next one is answered at once
            assert response.status == 200
    routes = [route for _, route in sim.traffic["binance"].recent]
    assert routes == ["GET /api/v3/depth", "GET /api/v3/depth"]
    times = [t for t, _ in sim.traffic["binance"].recent]
    assert times == sorted(times)


async def test_requests_inside_a_canned_retry_after_earn_the_418_ban(sim: SimExchange) -> None:
    sim.faults["binance"].replies.append(Reply(429, TOO_MANY, {"Retry-After": "30"}))
    limiter = sim.limiters["binance"]
    ban_after = limiter.limits.ban_after
    assert ban_after is not None
    statuses = []
    async with aiohttp.ClientSession() as session:
        for _ in range(ban_after + 2):
            async with session.get(sim.urls["binance"][0] + DEPTH) as response:
                statuses.append(response.status)
    assert statuses[0] == 429 and 418 in statuses  # the client that ignored Retry-After is banned
    assert statuses.index(418) == ban_after and limiter.bans == 1


async def test_a_canned_reply_for_one_path_waits_for_that_path_and_is_logged_when_served(
        sim: SimExchange) -> None:
    sim.faults["binance"].replies.append(Reply(429, TOO_MANY, {"Retry-After": "1"}, method="GET",
                                               path="/api/v3/depth"))
    injector = sim.injectors["binance"]
    base = sim.urls["binance"][0]
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/api/v3/time") as response:  # another GET: not for it
            assert response.status == 200
        assert sim.faults["binance"].replies and not injector.served
        async with session.get(base + DEPTH) as response:
            assert response.status == 429
    assert not sim.faults["binance"].replies and injector.counts.canned == 1
    [(at, route, status)] = injector.served
    assert route == "GET /api/v3/depth" and status == 429
    assert at >= sim.traffic["binance"].recent[-1][0]  # answered when the depth request came


async def test_the_market_moves_again_after_quiescence(sim: SimExchange) -> None:
    await sim.close_driver()
    before = sim.market.snapshot("binance", BTC, 1)[0]
    await asyncio.sleep(0.1)
    assert sim.market.snapshot("binance", BTC, 1)[0] == before  # stopped
    sim.start_driver()
    sim.start_driver()  # idempotent
    await wait_until(lambda: sim.market.snapshot("binance", BTC, 1)[0] > before, what="the market moving")
