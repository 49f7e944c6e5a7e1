"""Gate.io private channels: the WS auth signature, the push decoders (shared samples + own fixtures),
the dialect, and the stream end to end against the simulator (fills, orders, balances equal to the
ledger; a refused key retried and never reported up; reconnect + resubscribe; malformed pushes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import ConfigError
from arb.model import OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.sim.gateio_user import GateUserChannels, check_ws_auth
from arb.sim.server import SimExchange
from arb.venues.gateio import auth, codec, orders
from arb.venues.gateio import constants as c
from arb.venues.gateio.stream import GateStream
from arb.venues.gateio.user import GateUserDialect, GateUserStream
from arb.venues.registry import make_private
from tests.sim.user_recorder import UserRecorder, wait_until

DATA = Path(__file__).resolve().parents[2] / "data" / "gateio"
BTC, ETH, SOL = Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("SOL", "USDT")
CREDS = Credentials("gateio", Secret("sim-key"), Secret("sim-secret"))
MS = 1_000_000
VECTOR_TIME = 1541993715
# HMAC-SHA512("secret", "channel=spot.orders&event=subscribe&time=1541993715"), computed with openssl
VECTOR_SIGN = ("e9c13b956612d4af11a7fd2025729fe28979b16153cf00e3aff2e4c7dd0155f4"
               "13dce9fdff2297d9f62bda58c0463792dab6163597b9095f9600ed0d61990a34")


def _symbol(name: str) -> Symbol:
    return Symbol.from_venue(name, c.SYMBOL_STYLE)


def _result(frame: str | bytes) -> bytes:
    return bytes(codec.decode_ws(frame).result)


# --------------------------------------------------------------------------- signature


def test_ws_auth_signature_vector() -> None:
    payload = f"channel=spot.orders&event=subscribe&time={VECTOR_TIME}".encode()
    independent = hmac.new(b"secret", payload, hashlib.sha512).hexdigest()
    assert independent == VECTOR_SIGN
    assert auth.sign_ws("secret", "spot.orders", "subscribe", VECTOR_TIME) == VECTOR_SIGN
    request = GateUserDialect("key", "secret", lambda: VECTOR_TIME * 1000 + 999).request("spot.orders",
                                                                                         "subscribe", 1)
    assert request == {"time": VECTOR_TIME, "id": 1, "channel": "spot.orders", "event": "subscribe",
                       "payload": ["!all"], "auth": {"method": "api_key", "KEY": "key", "SIGN": VECTOR_SIGN}}
    # the simulator checks the same string, independently of the client
    accounts = {"key": ("secret", "acct")}
    assert check_ws_auth(request, accounts, lambda: (VECTOR_TIME + 30) * 1000) == "acct"


# --------------------------------------------------------------------------- decoders


def test_shared_orders_sample(samples_dir: Path) -> None:
    frame = (samples_dir / "gateio/ws_orders_update.json").read_bytes()
    env = codec.decode_ws(frame)
    assert (env.channel, env.event) == (c.ORDERS_CHANNEL, "update")
    [order] = orders.decode_ws_orders(env.result, _symbol)
    assert (order.symbol, order.order_id, order.client_order_id, order.side, order.type) == (
        BTC, "399123456", "t-testtext", Side.SELL, OrderType.LIMIT)
    assert order.status is OrderStatus.NEW and order.time_in_force is TimeInForce.GTC
    # event put, left = amount: nothing filled (the sample's filled_amount is not to be trusted)
    assert (order.quantity, order.price, order.filled_qty) == (Decimal("0.0001"), Decimal("26253.3"), 0)
    assert order.fee == 0 and order.fee_asset == "USDT"
    assert order.ts_created == order.ts_updated == 1694655225315 * MS


def test_shared_balances_sample(samples_dir: Path) -> None:
    env = codec.decode_ws((samples_dir / "gateio/ws_balances_update.json").read_bytes())
    assert env.channel == c.BALANCES_CHANNEL
    [usdt] = orders.decode_ws_balances(env.result)
    assert (usdt.asset, usdt.free, usdt.locked) == ("USDT", Decimal("222244.3827"), Decimal("5"))


def test_order_rows_give_status_cumulative_fill_and_fee() -> None:
    pushed = _result((DATA / "ws_user_orders.json").read_bytes())
    update, ioc_end, market_buy = orders.decode_ws_orders(pushed, _symbol)
    assert (update.symbol, update.order_id, update.client_order_id) == (BTC, "51234567890", "t-arb-7f3a-b0")
    assert update.status is OrderStatus.PARTIALLY_FILLED and update.time_in_force is TimeInForce.IOC
    assert (update.quantity, update.filled_qty, update.filled_quote) == (
        Decimal("0.002"), Decimal("0.0008"), Decimal("51.992"))
    assert (update.fee, update.fee_asset) == (Decimal("0.103984"), "USDT")
    assert (update.ts_created, update.ts_updated) == (1764000000120 * MS, 1764000000180 * MS)
    assert (ioc_end.symbol, ioc_end.side, ioc_end.status) == (ETH, Side.SELL, OrderStatus.EXPIRED)
    assert ioc_end.filled_qty == Decimal("0.3") and ioc_end.fee == Decimal("1.8906")
    # a market buy's amount is quote: the filled base comes from filled_amount
    assert (market_buy.symbol, market_buy.type, market_buy.status) == (SOL, OrderType.MARKET,
                                                                       OrderStatus.FILLED)
    assert market_buy.filled_qty == market_buy.quantity == Decimal("0.666")
    assert market_buy.client_order_id == "apiv4" and market_buy.fee_asset == "SOL"


def test_finish_without_finish_as_reads_left() -> None:
    rows = [{"id": "1", "text": "t-a", "currency_pair": "BTC_USDT", "side": "buy", "amount": "1", "left": "0",
             "event": "finish"},
            {"id": "2", "text": "t-b", "currency_pair": "BTC_USDT", "side": "buy", "amount": "1",
             "left": "0.4", "event": "finish"}]
    filled, cancelled = orders.decode_ws_orders(json.dumps(rows).encode(), _symbol)
    assert filled.status is OrderStatus.FILLED and filled.filled_qty == 1
    assert cancelled.status is OrderStatus.CANCELED and cancelled.filled_qty == Decimal("0.6")


def test_user_trade_rows_give_fills() -> None:
    pushed = _result((DATA / "ws_user_trades.json").read_bytes())
    first, second = orders.decode_user_trades(pushed, _symbol, 7)
    assert (first.trade_id, first.order_id, first.client_order_id, first.side, first.symbol) == (
        "5736713", "51234567890", "t-arb-7f3a-b0", Side.BUY, BTC)
    assert (first.price, first.quantity, first.fee, first.fee_asset) == (
        Decimal("64990"), Decimal("0.0008"), Decimal("0.103984"), "USDT")
    assert first.ts_event == 1764000000180123000 and first.ts_recv == 7 and not first.is_maker
    assert (second.symbol, second.side, second.is_maker, second.client_order_id) == (ETH, Side.SELL, True,
                                                                                    "apiv4")


def test_balance_rows_are_absolute() -> None:
    btc, usdt = orders.decode_ws_balances(_result((DATA / "ws_user_balances.json").read_bytes()))
    assert (btc.asset, btc.free, btc.locked) == ("BTC", Decimal("1.1008"), Decimal("0.1"))
    assert (usdt.asset, usdt.free, usdt.locked) == ("USDT", Decimal("9947.904016"), 0)


def test_stream_routes_by_exact_channel() -> None:
    recorder = UserRecorder()
    stream = GateUserStream(recorder, CREDS, url="ws://127.0.0.1:9/ws/v4/")
    for name in ("ws_user_orders.json", "ws_user_trades.json", "ws_user_balances.json"):
        stream._on_frame((DATA / name).read_text(), 3)
    other = {"time": 1, "channel": "spot.orders_v2", "event": "update", "result": []}
    stream._on_frame(json.dumps(other), 4)
    assert len(recorder.orders) == 3 and len(recorder.fills) == 2
    assert set(recorder.balances) == {"BTC", "USDT"}
    assert stream.ignored_pushes == 1 and stream.decode_errors == 0


def test_pushes_carry_the_callers_client_id() -> None:
    """GatePrivate sends a ``t-`` text for an id Gate would refuse; the pushes report that text, and
    the stream maps it back (GatePrivate.caller_id), so the tracker finds its order."""
    recorder = UserRecorder()
    ids = {"t-arb-7f3a-b0": "arb-7f3a-b0"}
    stream = GateUserStream(recorder, CREDS, url="ws://127.0.0.1:9/ws/v4/",
                            caller_id=lambda text: ids.get(text, text))
    for name in ("ws_user_orders.json", "ws_user_trades.json"):
        stream._on_frame((DATA / name).read_text(), 3)
    assert [o.client_order_id for o in recorder.orders] == ["arb-7f3a-b0", "t-arb-7f3a-s1", "apiv4"]
    assert [f.client_order_id for f in recorder.fills] == ["arb-7f3a-b0", "apiv4"]


def _push(channel: str, result: object) -> str:
    return json.dumps({"time": 1, "channel": channel, "event": "update", "result": result})


@pytest.mark.parametrize("frame", [
    "not json",
    '{"time": 1, "event": "update", "result": []}',  # no channel
    _push("spot.orders", {"id": "1"}),  # not a list
    _push("spot.orders", [{"id": "1", "currency_pair": "BTC"}]),  # not a pair
    _push("spot.orders", [{"id": 1, "currency_pair": "BTC_USDT"}]),  # a numeric order id
    _push("spot.usertrades", [{"id": 1, "side": "buy"}]),  # no pair, amount, price
    _push("spot.balances", [{"currency": "X", "available": "x"}]),  # not a number
])
def test_malformed_private_frames_are_counted_and_reported(frame: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    recorder = UserRecorder()
    stream = GateUserStream(recorder, CREDS, url="ws://127.0.0.1:9/ws/v4/")
    assert not stream.dialect.is_control(frame)  # reaches the stream, which counts it
    stream._on_frame(frame, 1)
    stream._on_frame(frame, 2)
    stream._on_frame((DATA / "ws_user_trades.json").read_text(), 3)  # the stream goes on
    assert stream.decode_errors == 2 and len(recorder.errors) == 2 and recorder.errors[0].venue == "gateio"
    assert [f.trade_id for f in recorder.fills] == ["5736713", "5736714"]
    assert caplog.text.count("undecodable private push") == 1  # logged once


# --------------------------------------------------------------------------- dialect


def test_dialect_signs_every_request_anew_and_reads_acks() -> None:
    now = [1_764_000_000_000]
    dialect = GateUserDialect("k3y-value", "s3cr3t-value", lambda: now[0])
    first = json.loads(dialect.subscribe(["spot.orders"], 4))
    now[0] += 2000
    second = json.loads(dialect.subscribe(["spot.orders"], 5))
    balances = json.loads(dialect.subscribe(["spot.balances"], 6))
    trades = json.loads(dialect.unsubscribe(["spot.usertrades"], 7))
    assert (first["time"], second["time"]) == (1_764_000_000, 1_764_000_002)
    assert first["auth"]["SIGN"] != second["auth"]["SIGN"]
    assert second["auth"]["SIGN"] == auth.sign_ws("s3cr3t-value", "spot.orders", "subscribe", 1_764_000_002)
    assert "payload" not in balances and trades["payload"] == ["!all"] and trades["event"] == "unsubscribe"
    assert trades["auth"]["SIGN"] == auth.sign_ws("s3cr3t-value", "spot.usertrades", "unsubscribe",
                                                  1_764_000_002)
    assert "k3y" not in repr(dialect) and "s3cr3t" not in repr(dialect)
    with pytest.raises(ValueError, match="one channel"):
        dialect.subscribe(["spot.orders", "spot.balances"], 8)
    with pytest.raises(ValueError, match="private channel"):
        dialect.subscribe(["spot.order_book_update"], 9)

    ok = {"time": 1, "id": 4, "channel": "spot.orders", "event": "subscribe", "error": None,
          "result": {"status": "success"}}
    assert dialect.ack(json.dumps(ok)) == 4
    assert dialect.ack(json.dumps(ok)) is None  # already answered
    assert dialect.ack('{"time": 1, "channel": "spot.pong", "event": "", "result": null}') is None
    refused = json.loads((DATA / "ws_user_auth_error.json").read_text())
    refused["id"] = 5
    with pytest.raises(ValueError, match="authentication failed: code 4"):
        dialect.ack(json.dumps(refused))
    assert dialect.last_error is not None and dialect.last_error[0] == c.WS_AUTH_FAILED
    assert "INVALID_KEY" in dialect.last_error[1]
    assert dialect.is_control(json.dumps(ok)) and dialect.is_control('{"channel": "spot.pong", "event": ""}')
    assert not dialect.is_control((DATA / "ws_user_balances.json").read_text())
    assert json.loads(dialect.ping()) == {"time": 1_764_000_002, "channel": "spot.ping"}


async def test_user_stream_needs_credentials() -> None:
    stream = GateStream(UserRecorder())
    with pytest.raises(ConfigError):
        await stream.subscribe_user()
    await stream.close()


# --------------------------------------------------------------------------- end to end (simulator)


async def test_user_stream_end_to_end_against_the_simulator() -> None:
    sim = SimExchange(["gateio"], seed=6, step_s=0.05)
    rest_url, ws_url = (await sim.start())["gateio"]
    await sim.close_driver()  # a still market: the order's fills are predictable
    dialect = sim.dialects["gateio"]
    matching, ledger, channels = dialect.matching, dialect.ledger, dialect.user  # type: ignore[attr-defined]
    recorder = UserRecorder()
    stream = GateStream(recorder, ws_url=ws_url, credentials=CREDS, heartbeat_s=None)
    private = make_private("gateio", VenueConfig(rest_url=rest_url), CREDS)
    try:
        await stream.subscribe_user()
        user = stream.user
        assert user is not None and channels.subscribes == 3 and recorder.states == [True]
        _, _, asks = sim.market.snapshot("gateio", BTC, 3)
        qty = (asks[0][1] + asks[1][1] / 2).quantize(Decimal("0.00001"))  # takes two levels
        placed = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, "t-ud-b0", asks[1][0],
                                           TimeInForce.IOC)
        await wait_until(lambda: (o := recorder.last_order("t-ud-b0")) is not None and o.status.is_terminal,
                         "the order's final state on the private channels")
        sim_fills = [f for f in matching.fills if f.client_id == "t-ud-b0"]
        assert len(sim_fills) == 2
        await wait_until(lambda: len(recorder.fills_of("t-ud-b0")) == 2, "both fills")
        got = recorder.fills_of("t-ud-b0")
        assert [(f.trade_id, f.quantity, f.price, f.fee, f.fee_asset) for f in got] == [
            (str(s.trade_id), s.quantity, s.price, s.fee, s.fee_asset) for s in sim_fills]
        assert all(f.order_id == placed.order_id and f.side is Side.BUY and f.symbol == BTC for f in got)
        final = recorder.last_order("t-ud-b0")
        assert final is not None and final.status is OrderStatus.FILLED and final.order_id == placed.order_id
        assert final.filled_qty == qty and final.fee == sum(s.fee for s in sim_fills)
        assert final.filled_quote == sum(s.price * s.quantity for s in sim_fills)
        assert [o.status for o in recorder.orders] == [
            OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
        await wait_until(lambda: {"BTC", "USDT"} <= set(recorder.balances), "the balances push")
        for asset in ("BTC", "USDT"):
            bal = recorder.balances[asset]
            assert (bal.free, bal.locked) == (ledger.free("sim", asset), ledger.locked("sim", asset)), asset
        assert user.decode_errors == 0

        # malformed pushes on the subscribed topics: counted and skipped, the connection stays up
        topic = GateUserChannels.topic("spot.orders", "sim", "BTC_USDT")
        dialect.subscribers.publish(topic, "garbage")  # type: ignore[attr-defined]
        dialect.subscribers.publish(topic, json.dumps(  # type: ignore[attr-defined]
            {"time": 1, "channel": "spot.orders", "event": "update", "result": [{"id": 5}]}))
        await wait_until(lambda: user.decode_errors == 2, "two malformed pushes counted")
        assert len(recorder.errors) == 2 and recorder.states == [True]

        # the server drops the socket: the client reconnects and subscribes again (fresh signatures)
        assert await sim.disconnect("gateio") == 1
        await wait_until(lambda: channels.subscribes == 6 and user.ws.connections[0].reconnects == 1,
                         "the resubscribed private channels")
        assert recorder.states == [True, False, True]
        _, bids, _ = sim.market.snapshot("gateio", BTC, 1)
        sold = Decimal("0.001")
        await private.place_order(BTC, Side.SELL, OrderType.LIMIT, sold, "t-ud-s1", bids[0][0] * 2,
                                  TimeInForce.IOC)  # far above the bid: expires unfilled
        await wait_until(lambda: (o := recorder.last_order("t-ud-s1")) is not None and o.status.is_terminal,
                         "events after the reconnect")
        final = recorder.last_order("t-ud-s1")
        assert final is not None and final.status is OrderStatus.EXPIRED and final.filled_qty == 0
        assert recorder.fills_of("t-ud-s1") == []
        await wait_until(lambda: recorder.balances["BTC"].free == ledger.free("sim", "BTC"), "BTC balance")
    finally:
        await stream.close()
        await private.close()
        await sim.close()


async def test_refused_subscribe_is_retried_and_never_logs_the_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = SimExchange(["gateio"], seed=3, step_s=0.05)
    _, ws_url = (await sim.start())["gateio"]
    wrong = Credentials("gateio", Secret("sim-key"), Secret("not-the-sim-secret"))
    recorder = UserRecorder()
    stream = GateStream(recorder, ws_url=ws_url, credentials=wrong, heartbeat_s=None,
                        backoff_base_s=0.05)
    try:
        with caplog.at_level("DEBUG"):
            await stream.subscribe_user()
            user = stream.user
            assert user is not None
            await wait_until(lambda: user.ws.connections[0].disconnects >= 2, "two refused attempts")
        assert user.dialect.last_error is not None and user.dialect.last_error[0] == c.WS_AUTH_FAILED
        assert "INVALID_SIGNATURE" in user.dialect.last_error[1]
        assert recorder.states == [] and user.ws.connections[0].reconnects == 0  # never counted as up
        assert sim.dialects["gateio"].user.subscribes == 0  # type: ignore[attr-defined]
        assert "not-the-sim-secret" not in caplog.text and '"SIGN"' not in caplog.text
        assert "code 4" in caplog.text  # the venue's reason is what gets logged
    finally:
        await stream.close()
        await sim.close()


async def test_stale_clock_is_refused_until_the_clock_is_right() -> None:
    sim = SimExchange(["gateio"], seed=3, step_s=0.05)
    _, ws_url = (await sim.start())["gateio"]
    offset = [-120_000]  # two minutes behind the venue: every request is out of the 60 s window
    recorder = UserRecorder()
    stream = GateStream(recorder, ws_url=ws_url, credentials=CREDS, heartbeat_s=None, backoff_base_s=0.05,
                        clock_ms=lambda: time.time_ns() // MS + offset[0])
    try:
        await stream.subscribe_user()
        user = stream.user
        assert user is not None
        await wait_until(lambda: user.ws.connections[0].disconnects >= 1, "a refused attempt")
        assert user.dialect.last_error is not None and "REQUEST_EXPIRED" in user.dialect.last_error[1]
        assert recorder.states == []
        offset[0] = 0  # the next attempt signs with a fresh, correct time
        await wait_until(lambda: recorder.states == [True], "the stream up once the clock is right")
        assert user.dialect.last_error is None
    finally:
        await stream.close()
        await sim.close()
