"""OkxPrivate against a loopback OKX REST twin: signatures, bodies, client ids, and write outcomes.

The twin checks every signed request the way OKX does (the four ``OK-ACCESS-*`` headers, the
signature over timestamp + method + path?query + body) and keeps the orders it was sent; a test can
queue canned ``(status, body)`` replies for the next order.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import (
    AuthenticationError,
    ExchangeError,
    InsufficientBalanceError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
)
from arb.model import OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.venues.okx import auth
from arb.venues.okx import constants as c
from arb.venues.okx.private import OkxPrivate, wire_id
from arb.venues.registry import make_private
from tests.helpers import serve

BTC = Symbol("BTC", "USDT")
KEY, SECRET, PHRASE = "test-key", "test-secret", "test-phrase"
CREDS = Credentials(c.VENUE, Secret(KEY), Secret(SECRET), Secret(PHRASE))


def envelope(data: list[Any], code: str = "0", msg: str = "") -> web.Response:
    return web.json_response({"code": code, "msg": msg, "data": data})


def fixed(data: list[Any]) -> Any:
    async def handle(_: web.Request) -> web.Response:
        return envelope(data)

    return handle


class Twin:
    """The REST endpoints OkxPrivate uses, with OKX's signature check."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}  # clOrdId -> order object
        self.canned: list[tuple[int, str]] = []
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []  # method, path?query, headers, body
        self.server_ms = int(time.time() * 1000)
        self.pages: list[list[dict[str, Any]]] = []

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get(c.TIME, fixed([{"ts": str(self.server_ms)}]))
        app.router.add_post(c.ORDER, self.place)
        app.router.add_get(c.ORDER, self.query)
        app.router.add_post(c.CANCEL, self.cancel)
        app.router.add_get(c.ORDERS_PENDING, self.pending)
        app.router.add_get(c.FILLS, fixed([{
            "instId": "BTC-USDT", "tradeId": "77", "ordId": "1", "clOrdId": wire_id("a-b"), "fillPx": "100",
            "fillSz": "0.5", "side": "buy", "execType": "M", "fee": "0.01", "feeCcy": "USDT", "ts": "1"}]))
        app.router.add_get(c.BALANCE, fixed([{"details": [
            {"ccy": "USDT", "availBal": "90", "frozenBal": "10", "cashBal": "100"}]}]))
        app.router.add_get(c.TRADE_FEE, fixed([{"feeGroup": [{"maker": "-0.0008", "taker": "-0.001"}]}]))
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == c.TIME:
            return await handler(request)
        body = await request.read()
        self.seen.append((request.method, request.path_qs, dict(request.headers), body))
        ts = request.headers.get(auth.TIMESTAMP_HEADER, "")
        expected = auth.sign_request(SECRET, ts, request.method, request.path_qs, body.decode())
        if (request.headers.get(auth.KEY_HEADER) != KEY or request.headers.get(auth.SIGN_HEADER) != expected
                or request.headers.get(auth.PASSPHRASE_HEADER) != PHRASE):
            return web.json_response({"code": "50113", "msg": "Invalid Sign"}, status=401)
        return await handler(request)

    async def place(self, request: web.Request) -> web.Response:
        if self.canned:
            status, text = self.canned.pop(0)
            return web.Response(status=status, text=text, content_type="application/json")
        req = json.loads(await request.read())
        oid = str(1000 + len(self.orders))
        self.orders[req["clOrdId"]] = {
            "instId": req["instId"], "ordId": oid, "clOrdId": req["clOrdId"], "px": req.get("px", ""),
            "sz": req["sz"], "ordType": req["ordType"], "side": req["side"], "state": "live",
            "accFillSz": "0", "avgPx": "", "fee": "0", "feeCcy": "BTC", "cTime": "1700000000000",
            "uTime": "1700000000000"}
        return envelope([{"ordId": oid, "clOrdId": req["clOrdId"], "sCode": "0", "sMsg": "",
                          "ts": "1700000000001"}])

    def _find(self, params: Any) -> dict[str, Any] | None:
        if "clOrdId" in params:
            return self.orders.get(params["clOrdId"])
        return next((o for o in self.orders.values() if o["ordId"] == params.get("ordId")), None)

    async def query(self, request: web.Request) -> web.Response:
        order = self._find(request.query)
        return envelope([order]) if order else envelope([], "51603", "Order does not exist.")

    async def cancel(self, request: web.Request) -> web.Response:
        order = self._find(json.loads(await request.read()))
        if order is None or order["state"] != "live":
            return envelope([{"ordId": "", "clOrdId": "", "sCode": "51400", "sMsg": "cancel failed"}], "1")
        order["state"], order["cancelSource"] = "canceled", "1"
        return envelope([{"ordId": order["ordId"], "clOrdId": order["clOrdId"], "sCode": "0", "sMsg": ""}])

    async def pending(self, request: web.Request) -> web.Response:
        return envelope(self.pages.pop(0) if self.pages else [])


@pytest.fixture
async def twin() -> AsyncIterator[tuple[Twin, OkxPrivate]]:
    fake = Twin()
    address, runner = await serve(fake.app())
    private = make_private(c.VENUE, VenueConfig(rest_url=f"http://{address}"), CREDS)
    assert isinstance(private, OkxPrivate)
    yield fake, private
    await private.close()
    await runner.cleanup()


async def test_signed_order_lifecycle_by_client_id(twin: tuple[Twin, OkxPrivate]) -> None:
    fake, private = twin
    cid = "7-tk2m9x-000001b0"  # the engine's spelling: OKX refuses '-'
    placed = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.00100"), cid,
                                       Decimal("30000.1"), TimeInForce.IOC)
    assert placed.status is OrderStatus.NEW and placed.order_id == "1000" and placed.client_order_id == cid
    method, path, headers, body = fake.seen[-1]
    sent = json.loads(body)
    assert (method, path) == ("POST", c.ORDER)
    assert sent == {"instId": "BTC-USDT", "tdMode": "cash", "clOrdId": wire_id(cid), "side": "buy",
                    "ordType": "ioc", "px": "30000.1", "sz": "0.00100"}
    assert c.CLIENT_ID_RULE.match(sent["clOrdId"]) and headers[auth.PASSPHRASE_HEADER] == PHRASE
    seen = await private.get_order(BTC, client_order_id=cid)
    assert seen.client_order_id == cid and seen.status is OrderStatus.NEW
    assert seen.quantity == Decimal("0.00100")
    assert fake.seen[-1][1] == f"{c.ORDER}?instId=BTC-USDT&clOrdId={wire_id(cid)}"
    canceled = await private.cancel_order(BTC, client_order_id=cid)  # the ack, then a query
    assert canceled.status is OrderStatus.CANCELED and canceled.client_order_id == cid
    with pytest.raises(OrderNotFoundError):  # 51400 in the item
        await private.cancel_order(BTC, client_order_id=cid)
    with pytest.raises(OrderNotFoundError):  # 51603 at the top
        await private.get_order(BTC, client_order_id="neverplaced1")


async def test_market_and_post_only_bodies(twin: tuple[Twin, OkxPrivate]) -> None:
    _, private = twin
    market = private.order_body(BTC, Side.BUY, OrderType.MARKET, Decimal("0.5"), "a1", None, TimeInForce.GTC)
    assert market["ordType"] == "market" and market["tgtCcy"] == "base_ccy" and "px" not in market
    maker = private.order_body(BTC, Side.SELL, OrderType.LIMIT_MAKER, Decimal("1"), "a2", Decimal("5"),
                               TimeInForce.GTC)
    assert maker["ordType"] == "post_only" and maker["side"] == "sell"
    fok = private.order_body(BTC, Side.SELL, OrderType.LIMIT, Decimal("1E+1"), "a3", Decimal("5"),
                             TimeInForce.FOK)
    assert fok["ordType"] == "fok" and fok["sz"] == "10"
    with pytest.raises(InvalidOrderError):
        private.order_body(BTC, Side.SELL, OrderType.LIMIT, Decimal("1"), "a4", None, TimeInForce.GTC)


def test_wire_ids_are_valid_deterministic_and_distinct() -> None:
    assert wire_id("abc123") == "abc123"
    long_ids = [f"run-{i}-" + "x" * 40 for i in range(50)]
    wires = {wire_id(i) for i in long_ids}
    assert len(wires) == 50 and all(c.CLIENT_ID_RULE.match(w) for w in wires)
    assert wire_id("a-b") == wire_id("a-b") != wire_id("ab-") and c.CLIENT_ID_RULE.match(wire_id("-_-"))


UNKNOWN: list[tuple[int, str, int | None]] = [  # status, body, the status the error keeps
    (200, '{"code":"1","msg":"All operations failed","data":[{"sCode":"51149","sMsg":"Order timed out",'
          '"clOrdId":"u1","ordId":""}]}', 200),
    (400, '{"code":"50004","msg":"API endpoint request timeout","data":[]}', 400),
    (503, '{"code":"50001","msg":"Service temporarily unavailable","data":[]}', 503),
    (500, "<html>internal</html>", 500),
    (200, "{not json", None),  # the venue took it: the fate is in the body we cannot read
    (200, '{"code":"0","msg":"","data":{"ordId":[1]}}', None),
]


@pytest.mark.parametrize(("status", "text", "kept"), UNKNOWN)
async def test_writes_whose_outcome_is_unknown(twin: tuple[Twin, OkxPrivate], status: int, text: str,
                                               kept: int | None) -> None:
    fake, private = twin
    fake.canned.append((status, text))
    with pytest.raises(OrderOutcomeUnknownError) as caught:
        await private.place_order(BTC, Side.SELL, OrderType.LIMIT, Decimal("1"), "u1", Decimal("2"),
                                  TimeInForce.IOC)
    assert caught.value.client_order_id == "u1" and caught.value.http_status == kept


REJECTED: list[tuple[int, str, type[ExchangeError]]] = [
    (200, '{"code":"1","msg":"All operations failed","data":[{"sCode":"51008","subCode":"1000",'
          '"sMsg":"Order failed. Insufficient USDT balance in account","clOrdId":"r1","ordId":""}]}',
     InsufficientBalanceError),
    (200, '{"code":"1","msg":"","data":[{"sCode":"51121","sMsg":"lot size","clOrdId":"r1","ordId":""}]}',
     InvalidOrderError),
    (401, '{"code":"50111","msg":"Invalid OK-ACCESS-KEY"}', AuthenticationError),
    (429, '{"code":"50011","msg":"Too Many Requests"}', RateLimitError),
    (200, '{"code":"50011","msg":"Rate limit reached"}', RateLimitError),
]


@pytest.mark.parametrize(("status", "text", "cls"), REJECTED)
async def test_rejections_stay_rejections(twin: tuple[Twin, OkxPrivate], status: int, text: str,
                                          cls: type[ExchangeError]) -> None:
    fake, private = twin
    fake.canned.append((status, text))
    with pytest.raises(cls) as caught:
        await private.place_order(BTC, Side.SELL, OrderType.LIMIT, Decimal("1"), "r1", Decimal("2"),
                                  TimeInForce.IOC)
    assert not isinstance(caught.value, OrderOutcomeUnknownError)
    if cls is RateLimitError:  # either way the venue's budgets pause
        assert private.rest.limiter is not None and private.rest.limiter.rate_limited == 1


async def test_a_rejected_timestamp_invalidates_the_venue_clock(twin: tuple[Twin, OkxPrivate]) -> None:
    fake, private = twin
    assert private.server_clock is not None
    await private.balances()
    assert not private.server_clock.needs_refresh()
    fake.canned.append((200, '{"code":"50102","msg":"Timestamp request expired.","data":[]}'))
    with pytest.raises(TimestampError):
        await private.place_order(BTC, Side.SELL, OrderType.LIMIT, Decimal("1"), "t1", Decimal("2"))
    assert private.server_clock.needs_refresh()


async def test_wrong_passphrase_is_an_authentication_error(twin: tuple[Twin, OkxPrivate]) -> None:
    _, private = twin
    wrong = make_private(c.VENUE, VenueConfig(rest_url=private.rest.base_url),
                         Credentials(c.VENUE, Secret(KEY), Secret(SECRET), Secret("other")))
    try:
        with pytest.raises(AuthenticationError):
            await wrong.balances()
    finally:
        await wrong.close()


async def test_account_calls_and_paged_open_orders(twin: tuple[Twin, OkxPrivate]) -> None:
    fake, private = twin
    balances = await private.balances()
    assert balances["USDT"].free == Decimal("90") and balances["USDT"].locked == Decimal("10")
    fee = await private.trading_fees(BTC)
    assert (fee.maker, fee.taker) == (0.0008, 0.001)
    wire = wire_id("a-b")
    private._wire("a-b")  # the caller's id was sent once: rows carrying its wire id map back
    (fill,) = await private.my_trades(BTC, 500)
    assert fill.client_order_id == "a-b" and fill.is_maker and fill.fee == Decimal("-0.01")  # a rebate
    assert fake.seen[-1][1] == f"{c.FILLS}?instType=SPOT&instId=BTC-USDT&limit=100"
    row = {"instId": "BTC-USDT", "side": "buy", "sz": "1", "px": "1", "ordType": "limit", "state": "live"}
    fake.pages = [[{**row, "ordId": str(i), "clOrdId": wire if i == 0 else ""} for i in range(100)],
                  [{**row, "ordId": "100"}]]
    orders = await private.open_orders()
    assert len(orders) == 101 and orders[0].client_order_id == "a-b" and orders[1].client_order_id == "1"
    assert fake.seen[-1][1] == f"{c.ORDERS_PENDING}?instType=SPOT&limit=100&after=99"
    assert all(o.status is OrderStatus.NEW for o in orders)


MIN_AMOUNT = ('{"code":"1","msg":"","data":[{"sCode":"51020","sMsg":"Your order should meet or exceed the '
              'minimum order amount.","clOrdId":"m1","ordId":""}]}')


async def test_a_51020_raises_the_symbols_known_minimum(twin: tuple[Twin, OkxPrivate]) -> None:
    fake, private = twin
    assert private.min_notional(BTC) == 0  # OKX publishes none
    fake.canned.append((200, MIN_AMOUNT))
    with pytest.raises(InvalidOrderError) as refused:  # 0.0001 BTC at 30000: worth 3 USDT
        await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.0001"), "m1", Decimal("30000"),
                                  TimeInForce.IOC)
    assert refused.value.api_code == c.MIN_AMOUNT_CODE
    assert private.min_notional(BTC) == Decimal("6")  # FLOOR_RAISE x the refused value
    assert private.min_notional(Symbol("ETH", "USDT")) == 0  # a rule of that symbol only
    sent = len(fake.seen)
    with pytest.raises(InvalidOrderError, match=r"BTC/USDT order worth 5\.7 USDT is under the minimum order "
                                                r"amount OKX enforces \(6, learned from a 51020 refusal\)"):
        await private.place_order(BTC, Side.SELL, OrderType.LIMIT, Decimal("0.00019"), "m2", Decimal("30000"),
                                  TimeInForce.IOC)
    assert len(fake.seen) == sent  # refused here, no request
    placed = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.0002"), "m3",
                                       Decimal("30000"), TimeInForce.GTC)
    assert placed.status is OrderStatus.NEW and fake.orders["m3"]["sz"] == "0.0002"
    fake.canned.append((200, MIN_AMOUNT.replace("m1", "m4")))  # refused again above it: the floor rises
    with pytest.raises(InvalidOrderError):
        await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.0005"), "m4", Decimal("30000"),
                                  TimeInForce.IOC)
    assert private.min_notional(BTC) == Decimal("30")
