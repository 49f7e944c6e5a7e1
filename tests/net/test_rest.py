"""RestClient against a small aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from aiohttp import web

from arb.config import ConnectionConfig, RequestConfig
from arb.errors import (
    ExchangeError,
    ExchangeUnavailableError,
    IPBannedError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
)
from arb.net.contract import Params, SignedRequest
from arb.net.ratelimit import PoolSpec, RateLimiter
from arb.net.rest import RestClient, RestMetrics
from arb.venues.binance import auth, codec

READ = RequestConfig(timeout_s=1.0, retries=3, backoff_base_s=0.01, backoff_max_s=0.05)
WRITE = RequestConfig(timeout_s=0.2, retries=0, backoff_base_s=0.01, backoff_max_s=0.05)
SECRET = "test-secret"


class TimeResp(msgspec.Struct):
    serverTime: int


class Server:
    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.script: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self.seen_queries: list[str] = []

    def plan(self, path: str, *responses: tuple[int, dict[str, Any], dict[str, str]]) -> None:
        self.script[path] = list(responses)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.seen_queries.append(request.query_string)
        if path == "/slow":
            await asyncio.sleep(0.4)
        if path == "/drop":  # the connection dies before any response
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if path == "/signed":
            query = request.query_string
            unsigned, _, signature = query.rpartition("&signature=")
            ok = signature == auth.sign(SECRET, unsigned) and request.headers.get("X-MBX-APIKEY") == "key"
            return web.json_response({"ok": ok})
        responses = self.script.get(path)
        if responses:
            status, body, headers = responses.pop(0) if len(responses) > 1 else responses[0]
            return web.json_response(body, status=status, headers=headers)
        return web.json_response({"serverTime": 1700000000000})


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    srv = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", srv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield srv, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def client(base: str, **kw: Any) -> RestClient:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    c = RestClient("binance", base, connection=ConnectionConfig(), decode_error=codec.decode_error,
                   error_class=codec.error_class, sleep=sleep, **kw)
    c.sleeps = sleeps  # type: ignore[attr-defined]
    return c


async def test_keep_alive_reuses_one_connection_and_decodes(server: tuple[Server, str]) -> None:
    _, base = server
    async with client(base) as c:
        for _ in range(20):
            resp = await c.request("GET", "/api/v3/time", kind=READ, decode=TimeResp)
            assert resp.serverTime == 1700000000000
        assert c.metrics.connections_created == 1 and c.metrics.connections_reused == 19
        assert c.metrics.status[200] == 20 and c.metrics.reuse_ratio == pytest.approx(0.95)


async def test_a_closed_client_sends_nothing_and_opens_no_session(server: tuple[Server, str]) -> None:
    """A stopped engine's late background read (a cluster worker's round after the engine closed its
    connectors) used to open a new session nobody closed ("Unclosed client session" at exit)."""
    srv, base = server
    c = client(base)
    await c.request("GET", "/api/v3/time", kind=READ, decode=TimeResp)
    await c.close()
    seen = len(srv.seen_queries)
    with pytest.raises(ExchangeUnavailableError, match="the client is closed"):
        await c.request("GET", "/api/v3/time", kind=READ, decode=TimeResp)
    assert c._session is None and len(srv.seen_queries) == seen


async def test_reads_retry_on_5xx_but_writes_never(server: tuple[Server, str]) -> None:
    srv, base = server
    srv.plan("/r", (503, {}, {}), (503, {}, {}), (200, {"serverTime": 1}, {}))
    srv.plan("/w", (503, {"code": -1000, "msg": "busy"}, {}))
    async with client(base, rng=random.Random(3)) as c:
        assert (await c.request("GET", "/r", kind=READ, decode=TimeResp)).serverTime == 1
        assert srv.hits["/r"] == 3 and c.metrics.retries == 2
        jitter = random.Random(3)  # the same seed gives the same jittered, capped backoff
        expected = [min(0.01 * (0.5 + jitter.random()), 0.05), min(0.02 * (0.5 + jitter.random()), 0.05)]
        assert c.sleeps == expected  # type: ignore[attr-defined]
        with pytest.raises(OrderOutcomeUnknownError) as info:
            await c.request("POST", "/w", kind=WRITE, client_order_id="cid-1")
        assert srv.hits["/w"] == 1 and info.value.client_order_id == "cid-1"
        assert info.value.http_status == 503


async def test_write_timeout_is_an_unknown_outcome_and_read_timeout_retries(
    server: tuple[Server, str],
) -> None:
    srv, base = server
    async with client(base) as c:
        with pytest.raises(OrderOutcomeUnknownError, match="Timeout"):
            await c.request("POST", "/slow", kind=WRITE, client_order_id="cid-2")
        assert srv.hits["/slow"] == 1
        quick = RequestConfig(timeout_s=0.05, retries=1, backoff_base_s=0.01, backoff_max_s=0.01)
        with pytest.raises(ExchangeUnavailableError):
            await c.request("GET", "/slow", kind=quick)
        assert srv.hits["/slow"] == 3


async def test_429_honours_retry_after_and_freezes_the_limiter(server: tuple[Server, str]) -> None:
    srv, base = server
    srv.plan("/t", (429, {"code": -1003, "msg": "slow down"}, {"Retry-After": "7"}),
             (200, {"serverTime": 2}, {}))
    virtual = {"t": 0.0}

    async def advance(seconds: float) -> None:  # the limiter waits on virtual time, not real time
        virtual["t"] += seconds
        await asyncio.sleep(0)

    limiter = RateLimiter("binance", [PoolSpec("weight", 6000, 60.0, header="X-MBX-USED-WEIGHT-1M")],
                          clock=lambda: virtual["t"], sleep=advance)
    async with client(base, limiter=limiter) as c:
        assert (await c.request("GET", "/t", kind=READ, decode=TimeResp, draws={"weight": 1})).serverTime == 2
        assert virtual["t"] >= 7.0  # the retry waited for the freeze to end
        assert c.sleeps == [7.0] and limiter.rate_limited == 1  # type: ignore[attr-defined]
        assert limiter.frozen_until > 0
    srv.plan("/w429", (429, {"code": -1015, "msg": "too many orders"}, {"Retry-After": "1"}))
    async with client(base) as c:
        with pytest.raises(RateLimitError) as info:
            await c.request("POST", "/w429", kind=WRITE)
        assert info.value.retry_after == 1.0 and info.value.api_code == -1015


async def test_418_bans_and_maps(server: tuple[Server, str]) -> None:
    srv, base = server
    srv.plan("/b", (418, {"code": -1003, "msg": "IP banned until later"}, {"Retry-After": "120"}))
    limiter = RateLimiter("binance", [PoolSpec("weight", 6000, 60.0)])
    async with client(base, limiter=limiter) as c:
        with pytest.raises(IPBannedError) as info:
            await c.request("GET", "/b", kind=READ, draws={"weight": 1})
        assert info.value.retry_after == 120.0 and srv.hits["/b"] == 1
        assert limiter.banned_until > 0 and not limiter.try_acquire({"weight": 1})


async def test_venue_errors_are_mapped_with_raw_codes(server: tuple[Server, str]) -> None:
    srv, base = server
    srv.plan("/o", (400, {"code": -2013, "msg": "Order does not exist."}, {}))
    async with client(base) as c:
        with pytest.raises(OrderNotFoundError) as info:
            await c.request("GET", "/o", kind=READ)
        assert info.value.api_code == -2013 and info.value.http_status == 400 and srv.hits["/o"] == 1


async def test_signed_requests_are_verifiable(server: tuple[Server, str]) -> None:
    srv, base = server
    async with client(base, signer=auth.BinanceSigner("key", SECRET), clock_ms=lambda: 1700000000000) as c:
        out = await c.request("GET", "/signed", kind=READ, params=[("symbol", "BTCUSDT")], signed=True,
                              decode=dict)
        assert out == {"ok": True}
        assert "timestamp=1700000000000" in srv.seen_queries[-1]
        assert "test-secret" not in repr(c.signer)


async def test_batch_keeps_order_and_returns_errors(server: tuple[Server, str]) -> None:
    srv, base = server
    srv.plan("/bad", (400, {"code": -1121, "msg": "Invalid symbol."}, {}))
    async with client(base) as c:
        calls = [lambda: c.request("GET", "/api/v3/time", kind=READ, decode=TimeResp),
                 lambda: c.request("GET", "/bad", kind=READ)]
        results = await c.batch(calls * 3, concurrency=4)
        assert [type(r).__name__ for r in results] == ["TimeResp", "InvalidSymbolError"] * 3
        healthy, rtt = await c.health_check("/api/v3/time", READ)
        assert healthy and rtt > 0


async def test_dropped_connection_on_a_write_is_an_unknown_outcome(server: tuple[Server, str]) -> None:
    srv, base = server
    async with client(base) as c:
        with pytest.raises(OrderOutcomeUnknownError) as info:
            await c.request("DELETE", "/drop", kind=WRITE, client_order_id="cid-3")
        assert info.value.client_order_id == "cid-3" and srv.hits["/drop"] == 1
        with pytest.raises(ExchangeUnavailableError):
            await c.request("GET", "/drop", kind=READ)
        assert srv.hits["/drop"] == 1 + READ.retries + 1


class RecordingSigner:
    """Records what it is asked to sign and adds a fixed signature."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[tuple[str, str]], bytes, int]] = []

    def sign(self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int) -> SignedRequest:
        self.calls.append((method, path, list(params), body, timestamp_ms))
        query = "&".join(f"{k}={v}" for k, v in params) + f"&ts={timestamp_ms}&sig=abc"
        return SignedRequest(query=query, body=body, headers={"X-KEY": "k"})


async def test_signer_gets_method_path_params_body_and_venue_time(server: tuple[Server, str]) -> None:
    srv, base = server
    signer = RecordingSigner()
    async with client(base, signer=signer, clock_ms=lambda: 42) as c:
        await c.request("POST", "/api/v3/order", kind=WRITE, params=[("symbol", "BTCUSDT"), ("side", "BUY")],
                        body=b"x=1", signed=True)
        params = [("symbol", "BTCUSDT"), ("side", "BUY")]
        assert signer.calls == [("POST", "/api/v3/order", params, b"x=1", 42)]
        assert srv.seen_queries[-1] == "symbol=BTCUSDT&side=BUY&ts=42&sig=abc"
    async with client(base) as c:
        with pytest.raises(ExchangeError, match="credentials"):
            await c.request("GET", "/api/v3/account", kind=READ, signed=True)


async def test_decoders_are_cached_per_client_and_metrics_injectable(server: tuple[Server, str]) -> None:
    _, base = server
    metrics = RestMetrics()
    async with client(base, metrics=metrics) as c, client(base) as other:
        for _ in range(3):
            await c.request("GET", "/api/v3/time", kind=READ, decode=TimeResp)
        ready = msgspec.json.Decoder(TimeResp)
        assert (await c.request("GET", "/api/v3/time", kind=READ, decode=ready)).serverTime == 1700000000000
        assert list(c._decoders) == [TimeResp] and other._decoders == {}
        assert c.metrics is metrics and sum(metrics.latency["/api/v3/time"]) == 4


async def test_429_without_a_limiter_is_counted_and_a_read_gives_up_after_retries(
    server: tuple[Server, str],
) -> None:
    srv, base = server
    srv.plan("/busy", (429, {"code": -1003, "msg": "slow down"}, {}))
    async with client(base) as c:
        with pytest.raises(RateLimitError) as info:
            await c.request("GET", "/busy", kind=READ)
        assert info.value.retry_after is None and srv.hits["/busy"] == READ.retries + 1
        assert c.metrics.rate_limited == READ.retries + 1 and c.metrics.status[429] == READ.retries + 1
