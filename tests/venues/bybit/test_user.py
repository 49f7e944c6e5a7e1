"""Bybit private stream on loopback: auth before the topics (signature checked independently), the
recorded order / execution / wallet pushes routed to the handlers, a refused auth never reported up
and retried, a reconnect re-authenticated, malformed pushes counted."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.model import OrderStatus, Side, Symbol
from arb.venues.bybit import VENUE as SPEC
from arb.venues.bybit import constants as c
from arb.venues.bybit.stream import BybitStream
from arb.venues.bybit.user import BybitUserDialect
from arb.venues.registry import make_private, make_stream
from tests.helpers import serve
from tests.sim.user_recorder import UserRecorder, wait_until

KEY, SECRET = "user-key", "user-secret"
NOW_MS = 1_700_000_000_000


class FakePrivate:
    """``/v5/private``: auth checked as the fact sheet says (HMAC of ``GET/realtime`` + expires, the
    expiry in the future), topics only after auth, replies without ``req_id`` like the docs' sample."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.auth_ok = 0
        self.auth_refused = 0
        self.early_subscribes = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        authed = False
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = json.loads(msg.data)
            self.requests.append(req)
            if req["op"] == "auth":
                key, expires, signature = req["args"]
                payload = f"GET/realtime{expires}".encode()
                expected = hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
                fresh = isinstance(expires, int) and expires > NOW_MS
                authed = key == KEY and signature == expected and fresh
                self.auth_ok += authed
                self.auth_refused += not authed
                reply = {"success": authed, "ret_msg": "" if authed else "Params Error", "op": "auth",
                         "conn_id": "p-1"}
            elif req["op"] == "subscribe":
                self.early_subscribes += not authed
                reply = {"success": authed, "ret_msg": "" if authed else "Request not authorized",
                         "op": "subscribe", "conn_id": "p-1"}
            else:
                reply = {"req_id": req.get("req_id"), "op": "pong", "args": [str(NOW_MS)], "conn_id": "p-1"}
            await ws.send_str(json.dumps(reply))
        return ws

    async def push(self, *frames: Any) -> None:
        for frame in frames:
            await self.sockets[-1].send_str(frame if isinstance(frame, str) else json.dumps(frame))


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakePrivate, str]]:
    server = FakePrivate()
    app = web.Application()
    app.router.add_get("/v5/private", server.handle)
    address, runner = await serve(app)
    yield server, f"ws://{address}/v5/public/spot"
    await runner.cleanup()


def stream_for(url: str, recorder: UserRecorder, secret: str = SECRET) -> BybitStream:
    return BybitStream(recorder, ws_url=url, credentials=Credentials(c.VENUE, Secret(KEY), Secret(secret)),
                       clock_ms=lambda: NOW_MS, heartbeat_s=None, backoff_base_s=0.05, backoff_max_s=0.1)


def sample(samples_dir: Path, name: str) -> Any:
    return json.loads((samples_dir / "bybit" / name).read_text())


async def test_auth_then_topics_and_the_recorded_pushes(fake: tuple[FakePrivate, str],
                                                        samples_dir: Path) -> None:
    server, url = fake
    recorder = UserRecorder()
    stream = stream_for(url, recorder)
    try:
        await stream.subscribe_user()
        await wait_until(lambda: recorder.states == [True], "the private stream up")
        assert [r["op"] for r in server.requests] == ["auth", "subscribe", "subscribe", "subscribe"]
        assert [r["args"] for r in server.requests[1:]] == [["order.spot"], ["execution.spot"], ["wallet"]]
        assert server.auth_ok == 1 and server.early_subscribes == 0
        assert server.requests[0]["args"][1] == NOW_MS + c.WS_AUTH_EXPIRY_MS  # a number, in the future
        await server.push(*sample(samples_dir, "ws_order_spot_push_ioc_partial_and_filled_recorded.json"),
                          sample(samples_dir, "ws_execution_spot_push_recorded.json"),
                          sample(samples_dir, "ws_wallet_push_recorded.json"),
                          sample(samples_dir, "ws_order_push_docs_option.json"))
        await wait_until(lambda: len(recorder.orders) == 2 and recorder.fills and "USDT" in recorder.balances,
                         "orders, fill and balances pushed")
        assert [o.status for o in recorder.orders] == [OrderStatus.EXPIRED, OrderStatus.FILLED]
        assert recorder.orders[0].symbol == Symbol("BTC", "USDT")  # split on the known quote
        (fill,) = recorder.fills
        assert fill.client_order_id == "1552132392821724673" and fill.side is Side.BUY
        assert recorder.balances["USDT"].free == Decimal("88.94040055") and recorder.balance_events == 3
        assert not recorder.errors  # the option order push is another category: left out
        await server.push('{"topic":"order.spot","data":[{"orderId":1}]}', "garbage",
                          '{"topic":"dcp","data":[]}')
        await wait_until(lambda: len(recorder.errors) == 2, "malformed pushes reported")
        assert stream.user is not None and stream.user.decode_errors == 2 and stream.user.ignored_pushes == 1
        # a reconnect authenticates anew before subscribing again
        await stream.user.ws.reconnect("test")
        await wait_until(lambda: server.auth_ok == 2 and recorder.states[-1], "re-authenticated")
        assert server.early_subscribes == 0 and recorder.states == [True, False, True]
    finally:
        await stream.close()


async def test_a_refused_auth_is_retried_and_never_reported_up(fake: tuple[FakePrivate, str]) -> None:
    server, url = fake
    recorder = UserRecorder()
    stream = stream_for(url, recorder, secret="wrong-secret")
    try:
        await stream.subscribe_user()
        await wait_until(lambda: server.auth_refused >= 2, "the auth retried")
        assert True not in recorder.states and server.auth_ok == 0
        assert stream.user is not None and stream.user.dialect.last_error == "auth: Params Error"
    finally:
        await stream.close()


async def test_the_registry_wires_the_private_stream_on_venue_time(fake: tuple[FakePrivate, str]) -> None:
    server, url = fake
    config = VenueConfig(rest_url="http://127.0.0.1:9", ws_url=url)
    creds = Credentials(c.VENUE, Secret(KEY), Secret(SECRET))
    private = make_private(c.VENUE, config, creds)
    kwargs = SPEC.user_stream(config, creds, private)
    assert kwargs["credentials"] is creds and private.server_clock is not None
    assert kwargs["clock_ms"] == private.server_clock.now_ms
    stream = make_stream(c.VENUE, UserRecorder(), config, credentials=creds, private=private)
    assert isinstance(stream, BybitStream)
    await stream.close()
    await private.close()
    overridden = SPEC.user_stream(VenueConfig(ws_private_url="ws://127.0.0.1:9/v5/private"), creds, private)
    assert overridden["ws_private_url"] == "ws://127.0.0.1:9/v5/private"
    assert server.requests == []


def test_dialect_shapes_and_secrets(samples_dir: Path) -> None:
    d = BybitUserDialect(KEY, SECRET, lambda: 1662350400000 - c.WS_AUTH_EXPIRY_MS)
    auth = json.loads(d.subscribe([c.AUTH_CHANNEL], 1))
    documented = sample(samples_dir, "ws_auth_request_docs.json")
    assert set(auth) == set(documented) and auth["op"] == "auth" and auth["req_id"] == "1"
    expected = hmac.new(SECRET.encode(), b"GET/realtime1662350400000", hashlib.sha256).hexdigest()
    assert auth["args"] == [KEY, 1662350400000, expected]
    assert d.ack(json.dumps(sample(samples_dir, "ws_auth_success_recorded.json"))) == 1
    request = json.loads(d.subscribe(["order.spot"], 2))
    assert request == {"req_id": "2", "op": "subscribe", "args": ["order.spot"]}
    assert d.ack(json.dumps(sample(samples_dir, "ws_subscribe_ack_private_docs.json"))) == 2
    with pytest.raises(ValueError, match="not bybit private topics"):
        d.subscribe(["orderbook.50.BTCUSDT"], 3)
    assert d.unsubscribe([c.AUTH_CHANNEL], 4) is None
    assert d.ack(json.dumps(sample(samples_dir, "ws_pong_private_recorded.json"))) is None
    d.subscribe([c.AUTH_CHANNEL], 5)
    with pytest.raises(ValueError, match="authentication failed: Params Error"):
        d.ack('{"success": false, "ret_msg": "Params Error", "op": "auth", "conn_id": "x"}')
    assert SECRET not in repr(d) and KEY not in repr(d)
