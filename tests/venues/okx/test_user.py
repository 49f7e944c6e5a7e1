"""The OKX user stream on a loopback private endpoint: login first (signed, with the passphrase), then
``orders`` and ``account``; pushes become orders, fills and balances; a refused login is retried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import DecodeError
from arb.model import AssetBalance, Fill, Order, OrderStatus, Symbol
from arb.venues.okx import auth
from arb.venues.okx import constants as c
from arb.venues.okx.private import OkxPrivate, wire_id
from arb.venues.okx.stream import OkxStream
from arb.venues.registry import make_private, make_stream
from tests.helpers import serve

KEY, SECRET, PHRASE = "user-key", "user-secret", "user-phrase"
CREDS = Credentials(c.VENUE, Secret(KEY), Secret(SECRET), Secret(PHRASE))
CALLER = "9-tk2m9x-000004s0"  # the engine's id; the venue only ever sees its wire spelling


class Recorder:
    """`StreamHandlers` that keep what the user stream reports."""

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.fills: list[Fill] = []
        self.balances: list[AssetBalance] = []
        self.errors: list[DecodeError] = []
        self.states: list[bool] = []

    def on_order(self, order: Order) -> None:
        self.orders.append(order)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def on_balance(self, venue: str, balance: AssetBalance) -> None:
        self.balances.append(balance)

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        self.errors.append(error)

    def on_stream_state(self, venue: str, connected: bool, symbols: Any) -> None:
        self.states.append(connected)

    def on_depth(self, update: Any) -> None: ...
    def on_trade(self, trade: Any) -> None: ...


class Private:
    """The private endpoint: checks the login, refuses subscriptions before it, then pushes."""

    def __init__(self, pushes: list[Any], refuse_logins: int = 0) -> None:
        self.pushes = pushes
        self.refuse = refuse_logins
        self.log: list[Any] = []
        self.logins = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        logged_in = False
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            if msg.data == "ping":
                await ws.send_str("pong")
                continue
            req = json.loads(msg.data)
            self.log.append(req)
            if req["op"] == "login":
                arg = req["args"][0]
                good = (arg["apiKey"] == KEY and arg["passphrase"] == PHRASE
                        and arg["sign"] == auth.sign_login(SECRET, arg["timestamp"]))
                if self.refuse > 0 or not good:
                    self.refuse -= 1
                    await ws.send_str('{"event": "error", "code": "60009", "msg": "Login failed."}')
                    continue
                logged_in = True
                self.logins += 1
                await ws.send_str('{"event": "login", "code": "0", "msg": "", "connId": "a"}')
                continue
            if not logged_in:
                await ws.send_str(json.dumps({"id": req.get("id"), "event": "error", "code": "60011",
                                              "msg": "Please log in", "connId": "a"}))
                continue
            for arg in req["args"]:
                ack = {"id": req["id"], "event": "subscribe", "arg": arg, "connId": "a"}
                await ws.send_str(json.dumps(ack))
            for push in self.pushes:
                await ws.send_str(json.dumps(push))
        return ws


@pytest.fixture
async def endpoint() -> AsyncIterator[Callable[[Private], Any]]:
    cleanup: list[Any] = []

    async def start(private_endpoint: Private) -> tuple[OkxStream, Recorder]:
        app = web.Application()
        app.router.add_get(c.PRIVATE_PATH, private_endpoint.handle)
        address, runner = await serve(app)
        private = make_private(c.VENUE, VenueConfig(rest_url="http://127.0.0.1:9"), CREDS)
        assert isinstance(private, OkxPrivate)
        private._wire(CALLER)  # the caller's id went out with an order: pushes map back to it
        recorder = Recorder()
        config = VenueConfig(ws_url=f"ws://{address}{c.PUBLIC_PATH}")  # the private URL is derived
        stream = make_stream(c.VENUE, recorder, config, credentials=CREDS, private=private,  # type: ignore[arg-type]
                             heartbeat_s=None, backoff_base_s=0.05)
        assert isinstance(stream, OkxStream)
        cleanup.append((stream, private, runner))
        return stream, recorder

    yield start
    for stream, private, runner in cleanup:
        await stream.close()
        await private.close()
        await runner.cleanup()


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def pushes(samples: Path) -> list[Any]:
    order = json.loads((samples / "okx/ws_orders_push_docs.json").read_text())
    order["data"][0]["clOrdId"] = wire_id(CALLER)
    account = json.loads((samples / "okx/ws_account_push_docs.json").read_text())
    return [order, account, {"arg": {"channel": "orders", "instType": "SPOT"}, "data": [{"ordId": 1}]}]


async def test_login_then_orders_fills_and_balances(samples_dir: Path, endpoint: Any) -> None:
    server = Private(pushes(samples_dir))
    stream, seen = await endpoint(server)
    await stream.subscribe_user()
    await until(lambda: len(seen.errors) == 1)
    assert seen.states == [True] and server.logins == 1
    assert [r["op"] for r in server.log] == ["login", "subscribe"]
    assert server.log[1]["args"] == [{"channel": "orders", "instType": "SPOT"}, {"channel": "account"}]
    (order,) = seen.orders
    assert order.client_order_id == CALLER and order.status is OrderStatus.FILLED
    (fill,) = seen.fills
    assert fill.client_order_id == CALLER and fill.trade_id == "242589207" and fill.is_maker
    assert fill.fee == Decimal("0.02522168") and fill.quantity == Decimal("0.001")
    assert seen.balances == [AssetBalance("USDT", Decimal("4734.371190691436"), Decimal("158.57998"))]
    assert seen.errors[0].what == "orders push"  # the malformed third push: counted, reported, skipped
    assert stream.user is not None and stream.user.decode_errors == 1
    assert PHRASE not in repr(stream.user.dialect) and SECRET not in repr(stream.user.dialect)


async def test_a_refused_login_is_retried_and_never_reported_up(samples_dir: Path, endpoint: Any) -> None:
    server = Private(pushes(samples_dir)[:1], refuse_logins=2)
    stream, seen = await endpoint(server)
    await stream.subscribe_user()
    assert seen.states == []  # still refused: the stream is not up
    await until(lambda: seen.states == [True] and len(seen.orders) == 1)
    assert server.logins == 1 and [r["op"] for r in server.log].count("login") == 3
    assert stream.user is not None and stream.user.dialect.last_error is None
    assert stream.user.ws.connections[0].reasons  # the refusals cost those sockets
