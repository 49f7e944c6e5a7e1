"""Binance user data stream: decoders (shared samples + own fixtures), the simulator's WS-API
subscribe checks, and the stream end to end against the simulator (orders, fills, balances,
reconnect + resubscribe)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import ConfigError
from arb.model import OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.sim.binance_user import check_ws_signature
from arb.sim.server import SimExchange
from arb.venues.binance import constants as c
from arb.venues.binance import orders
from arb.venues.binance.stream import BinanceStream
from arb.venues.binance.user import BinanceUserDialect, BinanceUserStream
from arb.venues.registry import make_private
from tests.sim.user_recorder import UserRecorder, wait_until

DATA = Path(__file__).resolve().parents[2] / "data" / "binance"
BTC = Symbol("BTC", "USDT")
CREDS = Credentials("binance", Secret("sim-key"), Secret("sim-secret"))


def ok_ms() -> int:
    return time.time_ns() // 1_000_000


def _symbol(name: str) -> Symbol:
    return Symbol.from_venue(name, c.SYMBOL_STYLE)


# --------------------------------------------------------------------------- decoders


def test_shared_execution_report_sample(samples_dir: Path) -> None:
    frame = (samples_dir / "binance/ws_user_execution_report.json").read_text()
    kind, event = orders.decode_user_event(frame)
    assert kind == "executionReport"
    order, fill = orders.decode_execution(event, _symbol, 5)
    assert fill is None  # x = NEW
    assert (order.symbol, order.client_order_id, order.order_id, order.side) == (
        Symbol("ETH", "BTC"), "mUvoqJxFIILMdfAW5iGSOW", "4293153", Side.BUY)
    assert order.status is OrderStatus.NEW and order.quantity == Decimal("1.00000000")
    assert order.price == Decimal("0.10264410") and order.filled_qty == 0 and order.fee_asset == ""
    assert order.ts_updated == 1499405658657 * 1_000_000


def test_shared_account_position_and_balance_update_samples(samples_dir: Path) -> None:
    frame = (samples_dir / "binance/ws_user_account_position.json").read_text()
    kind, event = orders.decode_user_event(frame)
    assert kind == "outboundAccountPosition"
    [eth] = orders.decode_account_position(event)
    assert (eth.asset, eth.free, eth.locked) == ("ETH", Decimal("10000"), Decimal(0))
    kind, _ = orders.decode_user_event((samples_dir / "binance/ws_user_balance_update.json").read_text())
    assert kind == "balanceUpdate"


def test_shared_subscribe_signature_reply(samples_dir: Path) -> None:
    path = samples_dir / "binance/ws_api_user_stream_subscribe_signature.json"
    request, reply = json.loads(path.read_text())
    assert request["method"] == c.USER_SUBSCRIBE and set(request["params"]) >= {"apiKey", "timestamp"}
    msg = orders.decode_ws_api_response(json.dumps(reply))
    assert msg.status == 200 and orders.decode_subscribed(msg.result) == 0


def test_trade_report_gives_the_fill_with_its_fee() -> None:
    kind, event = orders.decode_user_event((DATA / "ws_user_execution_trade.json").read_bytes())
    order, fill = orders.decode_execution(event, _symbol, 9)
    assert kind == "executionReport" and fill is not None
    assert (fill.trade_id, fill.order_id, fill.client_order_id, fill.side) == (
        "12", "28", "arb-7f3a-b0", Side.BUY)
    assert (fill.price, fill.quantity, fill.fee, fill.fee_asset) == (
        Decimal("64990.00"), Decimal("0.004"), Decimal("0.25996"), "USDT")
    assert fill.ts_event == 1764000000120 * 1_000_000 and fill.ts_recv == 9 and not fill.is_maker
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.time_in_force is TimeInForce.IOC
    assert order.filled_qty == Decimal("0.004") and order.filled_quote == Decimal("259.96")


def test_cancel_report_names_the_original_client_id() -> None:
    _, event = orders.decode_user_event((DATA / "ws_user_execution_canceled.json").read_bytes())
    order, fill = orders.decode_execution(event, _symbol, 0)
    assert fill is None and order.client_order_id == "arb-rest-1" and order.status is OrderStatus.CANCELED
    assert order.filled_qty == Decimal("0.25") and order.side is Side.SELL


@pytest.mark.parametrize("frame", [
    "not json",
    '{"subscriptionId": 0}',
    '{"subscriptionId": 0, "event": {"e": "executionReport", "s": "BTCUSDT"}}',
    '{"subscriptionId": 0, "event": {"e": "outboundAccountPosition", "E": 1, "B": [{"a": "X", "f": "x"}]}}',
])
def test_malformed_user_frames_are_counted_and_reported(frame: str) -> None:
    recorder = UserRecorder()
    stream = BinanceUserStream(recorder, CREDS, url="ws://127.0.0.1:9/ws-api/v3")
    stream._on_frame(frame, 1)
    stream._on_frame((DATA / "ws_user_execution_trade.json").read_text(), 2)  # the stream goes on
    assert stream.decode_errors == 1 and len(recorder.errors) == 1 and recorder.errors[0].venue == "binance"
    assert [f.trade_id for f in recorder.fills] == ["12"] and len(recorder.orders) == 1


def test_dialect_signs_fresh_and_reads_acks() -> None:
    now = [1_700_000_000_000]
    dialect = BinanceUserDialect("k", "s", lambda: now[0])
    first = json.loads(dialect.subscribe([c.USER_CHANNEL], 4))
    now[0] += 1000
    second = json.loads(dialect.subscribe([c.USER_CHANNEL], 5))
    assert first["method"] == "userDataStream.subscribe.signature" and first["id"] == 4
    assert second["params"]["timestamp"] == first["params"]["timestamp"] + 1000
    assert second["params"]["signature"] != first["params"]["signature"]
    assert "s" not in repr(dialect).replace("BinanceUserDialect", "")
    assert dialect.ack('{"id": 4, "status": 200, "result": {"subscriptionId": 7}}') == 4
    assert dialect.subscription_id == 7
    assert dialect.ack('{"id": "ping", "status": 200, "result": {}}') is None
    with pytest.raises(ValueError, match="-1022"):
        dialect.ack('{"id": 5, "status": 400, "error": {"code": -1022, "msg": "Signature for this '
                    'request is not valid."}}')
    assert dialect.last_error == (-1022, "Signature for this request is not valid.")
    assert dialect.is_control('{"id": 4, "status": 200}') and not dialect.is_control('{"subscriptionId": 0}')


def test_sim_verifies_the_fact_sheet_ws_signature_vector() -> None:
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    params = {"apiKey": key, "price": "52000.00", "quantity": "0.01000000", "recvWindow": 100,
              "side": "SELL", "symbol": "BTCUSDT", "timeInForce": "GTC", "timestamp": 1645423376532,
              "type": "LIMIT",
              "signature": "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"}
    accounts = {key: (secret, "acct")}
    assert check_ws_signature(params, accounts, lambda: 1645423376532 + 50) == "acct"


async def test_user_stream_needs_credentials() -> None:
    stream = BinanceStream(UserRecorder())
    with pytest.raises(ConfigError):
        await stream.subscribe_user()
    await stream.close()


def test_ws_api_url_is_derived_from_the_market_base() -> None:
    assert c.ws_api_url(c.WS_URL) == "wss://ws-api.binance.com:443/ws-api/v3"
    assert c.ws_api_url("ws://127.0.0.1:8123") == "ws://127.0.0.1:8123/ws-api/v3"


# --------------------------------------------------------------------------- simulator


async def _ws_api(url: str, request: dict[str, object]) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(json.dumps(request))
        reply: dict[str, object] = json.loads((await ws.receive(timeout=10)).data)
        return reply


async def test_sim_refuses_bad_key_signature_and_timestamp() -> None:
    sim = SimExchange(["binance"], seed=3, step_s=0.05)
    urls = await sim.start()
    url = c.ws_api_url(urls["binance"][1])
    try:
        good = BinanceUserDialect("sim-key", "sim-secret", ok_ms)
        ok = await _ws_api(url, {"id": 1, "method": c.USER_SUBSCRIBE, "params": good.signed_params()})
        assert ok == {"id": 1, "status": 200, "result": {"subscriptionId": 0}}
        cases = {
            "wrong key": (BinanceUserDialect("nobody", "sim-secret", ok_ms).signed_params(), 401, -2015),
            "wrong secret": (BinanceUserDialect("sim-key", "nope", ok_ms).signed_params(), 400, -1022),
            "stale": (BinanceUserDialect("sim-key", "sim-secret", lambda: ok_ms() - 60_000).signed_params(),
                      400, -1021),
        }
        no_ts = good.signed_params()
        del no_ts["timestamp"]
        cases["no timestamp"] = (no_ts, 400, -1022)  # the signature no longer matches what was sent
        for what, (params, status, code) in cases.items():
            reply = await _ws_api(url, {"id": what, "method": c.USER_SUBSCRIBE, "params": params})
            error = reply["error"]
            assert isinstance(error, dict)
            assert (reply["id"], reply["status"], error["code"]) == (what, status, code), what
        unsigned = {"apiKey": "sim-key", "timestamp": ok_ms()}
        reply = await _ws_api(url, {"id": 9, "method": c.USER_SUBSCRIBE, "params": unsigned})
        assert reply["status"] == 400 and reply["error"]["code"] == -1102  # type: ignore[index]
        reply = await _ws_api(url, {"id": 10, "method": "order.place", "params": {}})
        assert reply["status"] == 400 and reply["error"]["code"] == -1020  # type: ignore[index]
    finally:
        await sim.close()


async def test_user_stream_end_to_end_against_the_simulator() -> None:
    sim = SimExchange(["binance"], seed=6, step_s=0.05)
    rest_url, ws_url = (await sim.start())["binance"]
    await sim.close_driver()  # a still market: the order's fills are predictable
    dialect = sim.dialects["binance"]
    matching, ledger = dialect.matching, dialect.ledger  # type: ignore[attr-defined]
    recorder = UserRecorder()
    stream = BinanceStream(recorder, ws_url=ws_url, credentials=CREDS, heartbeat_s=None)
    private = make_private("binance", VenueConfig(rest_url=rest_url), CREDS)
    try:
        await stream.subscribe_user()
        assert stream.user is not None and stream.user.dialect.subscription_id == 0
        _, _, asks = sim.market.snapshot("binance", BTC, 3)
        qty = (asks[0][1] + asks[1][1] / 2).quantize(Decimal("0.00001"))  # takes two levels
        placed = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, "ud-b0", asks[1][0],
                                           TimeInForce.IOC)
        await wait_until(lambda: (o := recorder.last_order("ud-b0")) is not None and o.status.is_terminal,
                         "the order's final state on the user stream")
        sim_fills = [f for f in matching.fills if f.client_id == "ud-b0"]
        assert len(sim_fills) == 2
        await wait_until(lambda: len(recorder.fills_of("ud-b0")) == 2, "both fills")
        got = recorder.fills_of("ud-b0")
        assert [(f.trade_id, f.quantity, f.price, f.fee, f.fee_asset) for f in got] == [
            (str(s.trade_id), s.quantity, s.price, s.fee, s.fee_asset) for s in sim_fills]
        assert all(f.order_id == placed.order_id and f.side is Side.BUY for f in got)
        final = recorder.last_order("ud-b0")
        assert final is not None and final.status is OrderStatus.FILLED
        assert final.filled_qty == qty and final.fee == sum(s.fee for s in sim_fills)
        assert [o.status for o in recorder.orders] == [
            OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
        await wait_until(lambda: "USDT" in recorder.balances, "the account position")
        for asset in ("BTC", "USDT"):
            bal = recorder.balances[asset]
            assert (bal.free, bal.locked) == (ledger.free("sim", asset), ledger.locked("sim", asset)), asset
        assert recorder.states == [True] and stream.user.decode_errors == 0

        # the server drops the socket: the client reconnects and subscribes again (fresh signature)
        await dialect.user.drop_connections()  # type: ignore[attr-defined]
        await wait_until(lambda: dialect.user.subscribes == 2  # type: ignore[attr-defined]
                         and stream.user is not None and stream.user.ws.connections[0].reconnects == 1,
                         "the resubscribed user stream")
        assert recorder.states == [True, False, True]
        _, bids, _ = sim.market.snapshot("binance", BTC, 1)
        sold = Decimal("0.001")
        await private.place_order(BTC, Side.SELL, OrderType.LIMIT, sold, "ud-s1", bids[0][0] * 2,
                                  TimeInForce.IOC)  # far above the bid: expires unfilled
        await wait_until(lambda: (o := recorder.last_order("ud-s1")) is not None and o.status.is_terminal,
                         "events after the reconnect")
        final = recorder.last_order("ud-s1")
        assert final is not None and final.status is OrderStatus.EXPIRED and final.filled_qty == 0
        assert recorder.fills_of("ud-s1") == []
    finally:
        await stream.close()
        await private.close()
        await sim.close()


async def test_refused_subscribe_is_retried_and_never_logs_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = SimExchange(["binance"], seed=3, step_s=0.05)
    _, ws_url = (await sim.start())["binance"]
    wrong = Credentials("binance", Secret("sim-key"), Secret("not-the-sim-secret"))
    recorder = UserRecorder()
    stream = BinanceStream(recorder, ws_url=ws_url, credentials=wrong, heartbeat_s=None,
                           backoff_base_s=0.05)  # type: ignore[arg-type]
    try:
        with caplog.at_level("DEBUG"):
            await stream.subscribe_user()
            user = stream.user
            assert user is not None
            await wait_until(lambda: user.ws.connections[0].disconnects >= 2, "two refused attempts")
        assert user.dialect.last_error == (-1022, "Signature for this request is not valid.")
        assert user.dialect.subscription_id is None and recorder.states == []  # never counted as up
        assert "not-the-sim-secret" not in caplog.text and '"signature"' not in caplog.text
        assert "-1022" in caplog.text  # the venue's reason is what gets logged
    finally:
        await stream.close()
        await sim.close()
