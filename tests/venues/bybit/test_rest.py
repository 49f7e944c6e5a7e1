"""BybitPublic and BybitPrivate against a loopback server that answers with the shared samples.

The server checks every signed request independently (HMAC-SHA256 over timestamp + key +
recvWindow + the query or body exactly as received), records what it got, and answers with the
sample body or with a canned reply a test queues; writes are classified by HTTP status AND the
``retCode`` table (business errors come with HTTP 200).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from arb.config import ConnectionConfig, RequestConfig, VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import (
    AuthenticationError,
    ExchangeUnavailableError,
    InsufficientBalanceError,
    InvalidOrderError,
    InvalidSymbolError,
    IPBannedError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
)
from arb.model import KlineInterval, OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.net.ratelimit import RateLimiter
from arb.net.rest import RestClient
from arb.venues.bybit import codec
from arb.venues.bybit import constants as c
from arb.venues.bybit.private import BybitPrivate, order_body
from arb.venues.bybit.public import BybitPublic
from arb.venues.clock import ServerClock
from arb.venues.registry import make_private, make_public
from tests.helpers import serve

BTC = Symbol("BTC", "USDT")
KEY, SECRET = "test-key", "test-secret"
ONCE = RequestConfig(retries=0)
SAMPLES = {
    c.TIME: "rest_server_time_docs.json", c.INSTRUMENTS: "rest_instruments_spot_docs.json",
    c.ORDERBOOK: "rest_orderbook_docs.json", c.RECENT_TRADES: "rest_recent_trade_spot_docs.json",
    c.TICKERS: "rest_tickers_spot_docs.json", c.CREATE_ORDER: "rest_create_order_response_docs.json",
    c.CANCEL_ORDER: "rest_cancel_order_response_docs.json",
    c.OPEN_ORDERS: "rest_open_orders_realtime_docs.json",
    c.ORDER_HISTORY: "rest_order_history_docs.json", c.EXECUTIONS: "rest_execution_list_docs.json",
    c.WALLET: "rest_wallet_balance_docs.json", c.FEE_RATE: "rest_fee_rate_docs.json",
}
KLINES = {"retCode": 0, "retMsg": "OK", "time": 1670608801000, "retExtInfo": {}, "result": {
    "symbol": "BTCUSDT", "category": "spot",
    "list": [["1670608800000", "17071", "17073", "17027", "17055.5", "268611", "15.74"]]}}


class FakeBybit:
    """Sample bodies by path, canned replies first; signatures checked as Bybit does."""

    def __init__(self, samples_dir: Path) -> None:
        self.samples = samples_dir / "bybit"
        self.seen: list[tuple[str, str, dict[str, str], str]] = []  # method, path, query, body
        self.canned: dict[str, deque[tuple[int, str]]] = {}
        self.bad_signatures = 0

    def reply(self, path: str, status: int, body: str | dict[str, Any]) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        self.canned.setdefault(path, deque()).append((status, text))

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.seen.append((request.method, request.path, dict(request.query), body))
        if "X-BAPI-SIGN" in request.headers:
            signed = body if request.method == "POST" else request.rel_url.raw_query_string
            h = request.headers
            payload = f"{h['X-BAPI-TIMESTAMP']}{h['X-BAPI-API-KEY']}{h['X-BAPI-RECV-WINDOW']}{signed}"
            expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
            if h["X-BAPI-API-KEY"] != KEY or h["X-BAPI-SIGN"] != expected:
                self.bad_signatures += 1
                return web.json_response({"retCode": 10004, "retMsg": "error sign!", "result": {},
                                          "retExtInfo": {}, "time": 1})
        queue = self.canned.get(request.path)
        if queue:
            status, text = queue.popleft()
            return web.Response(status=status, text=text, content_type="application/json")
        if request.path == c.KLINES:
            return web.json_response(KLINES)
        return web.Response(body=(self.samples / SAMPLES[request.path]).read_bytes(),
                            content_type="application/json")


@pytest.fixture
async def fake(samples_dir: Path) -> AsyncIterator[tuple[FakeBybit, str]]:
    server = FakeBybit(samples_dir)
    app = web.Application()
    for path in (*SAMPLES, c.KLINES):
        app.router.add_route("*", path, server.handle)
    address, runner = await serve(app)
    yield server, f"http://{address}"
    await runner.cleanup()


def private_client(base: str, limiter: RateLimiter | None = None, secret: str = SECRET) -> BybitPrivate:
    client = make_private(c.VENUE, VenueConfig(rest_url=base, trading=ONCE),
                          Credentials(c.VENUE, Secret(KEY), Secret(secret)), limiter=limiter)
    assert isinstance(client, BybitPrivate)
    return client


async def test_public_market_data_with_the_sample_bodies(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    public = make_public(c.VENUE, VenueConfig(rest_url=base))
    try:
        assert isinstance(public, BybitPublic)
        assert await public.server_time() == 1688639403423
        (info,) = await public.symbols()
        assert info.symbol == BTC and info.tick_size == Decimal("0.1")
        book = await public.orderbook(BTC, limit=5000)
        assert book.update_id == 230704 and book.bids[0].price == 65485.47
        assert server.seen[-1][2] == {"category": "spot", "symbol": "BTCUSDT", "limit": "1000"}
        (trade,) = await public.recent_trades(BTC, limit=500)
        assert trade.trade_id == "2100000000007764263" and server.seen[-1][2]["limit"] == "60"
        ticker = await public.ticker(BTC)
        assert ticker.bid == 20517.96 and ticker.ts_event == 1673859087947 * 10**6
        (kline,) = await public.klines(BTC, KlineInterval.H1, limit=1)
        assert kline.close == 17055.5 and not kline.closed and server.seen[-1][2]["interval"] == "60"
        assert all(q.get("category") == "spot" for m, p, q, _ in server.seen if p != c.TIME)
        assert public.limiter is public.rest.limiter is not None
        assert public.rest_metrics is public.rest.metrics
        assert public.rest_metrics is not None and public.rest_metrics.status[200] == len(server.seen)
    finally:
        await public.close()


async def test_an_unknown_symbol_answered_with_http_200_is_an_invalid_symbol(
        fake: tuple[FakeBybit, str], samples_dir: Path) -> None:
    server, base = fake
    server.reply(c.ORDERBOOK, 200, (samples_dir / "bybit/error_170121_invalid_symbol_SYNTH.json").read_text())
    # what the market-data endpoints really answer for an unknown symbol: the generic params error
    server.reply(c.TICKERS, 200, {"retCode": 10001, "retMsg": "params error: symbol invalid", "time": 1,
                                  "result": {"category": "", "list": []}, "retExtInfo": {}})
    server.reply(c.INSTRUMENTS, 200, {"retCode": 10001, "retMsg": "params error", "result": {}, "time": 1})
    public = make_public(c.VENUE, VenueConfig(rest_url=base))
    try:
        with pytest.raises(InvalidSymbolError) as info:
            await public.orderbook(Symbol("NOSUCHCOIN", "USDT"), 5)
        assert info.value.api_code == 170121 and info.value.http_status == 200
        with pytest.raises(InvalidSymbolError) as info:
            await public.ticker(Symbol("NOSUCHCOIN", "USDT"))
        assert info.value.api_code == 10001
        with pytest.raises(InvalidOrderError):  # no symbol was given: a params error stays one
            await public.symbols()
    finally:
        await public.close()


async def test_signed_order_lifecycle(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    client = private_client(base)
    try:
        placed = await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), "my-ioc-0001",
                                          Decimal("30000"), TimeInForce.IOC)
        assert placed.status is OrderStatus.NEW and placed.order_id == "1321003749386327552"
        assert placed.client_order_id == "my-ioc-0001" and placed.ts_created == 1672211918471 * 10**6
        method, _, _, body = next(s for s in server.seen if s[1] == c.CREATE_ORDER)
        assert method == "POST" and json.loads(body) == {
            "category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
            "price": "30000", "timeInForce": "IOC", "orderLinkId": "my-ioc-0001"}
        # venue time first (the ServerClock), then the signed call
        assert [p for _, p, _, _ in server.seen[:2]] == [c.TIME, c.CREATE_ORDER]
        seen = await client.get_order(BTC, client_order_id="test-000005")
        assert seen.client_order_id == "test-000005" and seen.status is OrderStatus.NEW
        assert server.seen[-1][2] == {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "test-000005"}
        cancelled = await client.cancel_order(BTC, client_order_id="linear-004")
        cancel = next(s for s in server.seen if s[1] == c.CANCEL_ORDER)
        assert json.loads(cancel[3]) == {"category": "spot", "symbol": "BTCUSDT", "orderLinkId": "linear-004"}
        # the cancel is only acknowledged: the order is asked for afterwards (by the acked orderId)
        assert server.seen[-1][1] == c.OPEN_ORDERS and "orderId" in server.seen[-1][2]
        assert cancelled.order_id == "fd4300ae-7847-404e-b947-b46980a4d140"
        assert server.bad_signatures == 0
    finally:
        await client.close()


async def test_get_order_falls_back_to_history_then_not_found(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    empty = {"retCode": 0, "retMsg": "OK", "result": {"list": [], "nextPageCursor": ""}, "time": 1}
    server.reply(c.OPEN_ORDERS, 200, empty)
    client = private_client(base)
    try:
        order = await client.get_order(BTC, client_order_id="YLxaWKMiHU")
        assert order.status is OrderStatus.EXPIRED and order.client_order_id == "YLxaWKMiHU"
        server.reply(c.OPEN_ORDERS, 200, empty)
        server.reply(c.ORDER_HISTORY, 200, empty)
        with pytest.raises(OrderNotFoundError):
            await client.get_order(BTC, client_order_id="gone-1")
    finally:
        await client.close()


async def test_account_calls(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    client = private_client(base)
    try:
        balances = await client.balances()
        assert balances["BTC"].free == 0 and server.seen[-1][2] == {"accountType": "UNIFIED"}
        fee = await client.trading_fees(Symbol("ETH", "USDT"))
        assert (fee.maker, fee.taker) == (0.0001, 0.0006)
        (fill,) = await client.my_trades(BTC, limit=1000)
        assert fill.trade_id == "e0cbe81d-0f18-5866-9415-cf319b5dab3b"
        assert server.seen[-1][2]["limit"] == "100"
        server.reply(c.OPEN_ORDERS, 200, (server.samples / SAMPLES[c.OPEN_ORDERS]).read_text())
        last_page = {"retCode": 0, "retMsg": "OK", "result": {"list": [], "nextPageCursor": ""}, "time": 1}
        server.reply(c.OPEN_ORDERS, 200, last_page)
        (order,) = await client.open_orders()
        assert order.symbol == Symbol("ETH", "USDT") and "symbol" not in server.seen[-1][2]
        # the cursor goes back as handed out (already encoded): the server decodes it once
        assert server.seen[-1][2]["cursor"] == "page_args=fd4300ae-7847-404e-b947-b46980a4d140&symbol=6&"
        assert client.limiter is client.rest.limiter and client.rest_metrics is client.rest.metrics
        # an order on a pair whose quote asset arb does not know is not arb's: skipped, not an error
        unknown = json.loads((server.samples / SAMPLES[c.OPEN_ORDERS]).read_text())
        unknown["result"]["list"][0]["symbol"] = "ETHZZZQ"
        unknown["result"]["nextPageCursor"] = ""
        server.reply(c.OPEN_ORDERS, 200, json.dumps(unknown))
        assert await client.open_orders() == []
        info = await client.account_info()
        assert set(info.balances) == {"BTC"}
        assert server.bad_signatures == 0
    finally:
        await client.close()


WRITE_OUTCOMES: list[tuple[int, str, type[Exception]]] = [
    (200, '{"retCode":170146,"retMsg":"Order creation timeout","time":1}', OrderOutcomeUnknownError),
    (200, '{"retCode":10016,"retMsg":"Server error","result":{},"time":1}', OrderOutcomeUnknownError),
    (200, '{"retCode":170131,"retMsg":"Insufficient balance.","time":1}', InsufficientBalanceError),
    (200, '{"retCode":170140,"retMsg":"Order value exceeded lower limit.","result":{},"time":1}',
     InvalidOrderError),
    (200, '{"retCode":0,"retMsg":"OK","result":{"orderLinkId":"x"},"time":1}', OrderOutcomeUnknownError),
    (200, "<html>ok</html>", OrderOutcomeUnknownError),
    (502, "bad gateway", OrderOutcomeUnknownError),
    (401, '{"retCode":10003,"retMsg":"API key is invalid."}', AuthenticationError),
]


@pytest.mark.parametrize(("status", "body", "cls"), WRITE_OUTCOMES)
async def test_write_outcomes_by_status_and_code_table(fake: tuple[FakeBybit, str], status: int, body: str,
                                                       cls: type[Exception]) -> None:
    server, base = fake
    server.reply(c.CREATE_ORDER, status, body)
    client = private_client(base)
    try:
        with pytest.raises(cls) as info:
            await client.place_order(BTC, Side.SELL, OrderType.LIMIT, Decimal("1"), "w-1", Decimal("2"),
                                     TimeInForce.IOC)
        assert type(info.value) is cls
        if isinstance(info.value, OrderOutcomeUnknownError):
            assert info.value.client_order_id == "w-1"
    finally:
        await client.close()


async def test_an_unknown_code_on_a_read_is_only_unavailable(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    server.reply(c.WALLET, 200, {"retCode": 10000, "retMsg": "Server Timeout", "result": {}, "time": 1})
    client = private_client(base)
    try:
        with pytest.raises(ExchangeUnavailableError) as info:
            await client.balances()
        assert not isinstance(info.value, OrderOutcomeUnknownError) and info.value.api_code == 10000
    finally:
        await client.close()


async def test_rate_limits_freeze_and_an_ip_block_halts_the_limiter(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    limiter = RateLimiter(c.VENUE, c.POOLS)
    client = private_client(base, limiter)
    try:
        server.reply(c.WALLET, 200, {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "time": 1})
        with pytest.raises(RateLimitError) as info:
            await client.balances()
        assert info.value.api_code == 10006 and limiter.rate_limited == 1 and limiter.frozen_until > 0
        rest = RestClient(c.VENUE, base, connection=ConnectionConfig(), decode_error=codec.decode_error,
                          error_class=codec.error_class, limiter=RateLimiter(c.VENUE, c.POOLS))
        public = BybitPublic(rest, kind=ONCE)
        server.reply(c.TICKERS, 403, "access too frequent")
        with pytest.raises(IPBannedError):
            await public.ticker(BTC)
        assert rest.limiter is not None and rest.limiter.banned == 1
        assert rest.limiter.banned_until - rest.limiter.frozen_until >= c.IP_BAN_S - 1
        await public.close()
    finally:
        await client.close()


async def test_a_bad_secret_is_an_authentication_error(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    client = private_client(base, secret="wrong")
    try:
        with pytest.raises(AuthenticationError) as info:
            await client.balances()
        assert info.value.api_code == 10004 and server.bad_signatures == 1
    finally:
        await client.close()


async def test_a_rejected_timestamp_drops_the_server_clock(fake: tuple[FakeBybit, str],
                                                           samples_dir: Path) -> None:
    server, base = fake
    client = private_client(base)
    try:
        server.reply(c.WALLET, 200, (samples_dir / "bybit/error_10002_timestamp_SYNTH.json").read_text())
        with pytest.raises(TimestampError) as info:
            await client.balances()
        assert info.value.api_code == 10002
        assert isinstance(client.server_clock, ServerClock) and client.server_clock.needs_refresh()
    finally:
        await client.close()


async def test_bad_orders_are_refused_before_anything_is_sent(fake: tuple[FakeBybit, str]) -> None:
    server, base = fake
    client = private_client(base)
    try:
        for cid in ("a" * 37, "has.dot", "", "sp ace"):
            with pytest.raises(InvalidOrderError, match="orderLinkId"):
                await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("1"), cid, Decimal("1"))
        with pytest.raises(InvalidOrderError, match="positive price"):
            await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("1"), "ok-1")
        with pytest.raises(InvalidOrderError, match="quantity"):
            await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0"), "ok-1", Decimal("1"))
        with pytest.raises(InvalidOrderError, match="order_id or client_order_id"):
            await client.get_order(BTC)
        assert not [s for s in server.seen if s[1] != c.TIME]
    finally:
        await client.close()


def test_order_bodies_follow_the_documented_request(samples_dir: Path) -> None:
    request = samples_dir / "bybit/rest_create_order_request_spot_postonly_docs.json"
    documented = json.loads(request.read_text())
    ours = order_body(BTC, Side.BUY, OrderType.LIMIT_MAKER, Decimal("0.1"), "spot-test-01", Decimal("15600"),
                      TimeInForce.GTC)
    assert ours == {k: v for k, v in documented.items() if k not in ("isLeverage", "orderFilter")}
    market = order_body(BTC, Side.BUY, OrderType.MARKET, Decimal("1E-3"), "m-1", None, TimeInForce.IOC)
    assert market["qty"] == "0.001" and market["marketUnit"] == "baseCoin" and "price" not in market
    sell = order_body(BTC, Side.SELL, OrderType.MARKET, Decimal("2"), "m-2", None, TimeInForce.IOC)
    assert "marketUnit" not in sell and sell["side"] == "Sell"
    fok = order_body(BTC, Side.SELL, OrderType.LIMIT, Decimal("2"), "f-1", Decimal("3.50"), TimeInForce.FOK)
    assert fok["timeInForce"] == "FOK" and fok["price"] == "3.50"
