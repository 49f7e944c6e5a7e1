"""MEXC user data stream: private push decoders (shared samples + own frames), the simulator's
listen-key endpoints and socket checks, and the stream end to end against the simulator (orders,
fills, balances, keep-alive, reconnect + resubscribe, listen-key expiry -> renewal)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest
from google.protobuf.json_format import ParseDict

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import ConfigError
from arb.model import OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.net.rest import RestClient
from arb.sim.mexc_user import MexcUserStreams
from arb.sim.server import SimExchange
from arb.venues.base import PrivateExchangeInterface
from arb.venues.mexc import codec
from arb.venues.mexc import constants as c
from arb.venues.mexc import orders as order_wire
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper
from arb.venues.mexc.stream import MexcStream
from arb.venues.mexc.user import MexcUserDialect, MexcUserStream
from arb.venues.registry import make_private, make_rest
from tests.sim.user_recorder import UserRecorder, wait_until

DATA = Path(__file__).resolve().parents[2] / "data" / "mexc"
BTC = Symbol("BTC", "USDT")
CREDS = Credentials("mexc", Secret("sim-key"), Secret("sim-secret"))
DEAL_ID = "C02__600000000000000000001/1764000000120/64990/0.004"  # the deals_buy frame (tradeId ...001X1)


def _symbol(name: str) -> Symbol:
    return Symbol.from_venue(name, c.SYMBOL_STYLE)


def _frame(name: str) -> bytes:
    return bytes.fromhex(json.loads((DATA / "ws_private_frames.json").read_text())[name])


def _sample(samples_dir: Path, name: str) -> bytes:
    """A shared decoded sample back to wire bytes (the samples are MessageToDict renderings)."""
    doc = json.loads((samples_dir / "mexc" / name).read_text())
    return ParseDict(doc, PushDataV3ApiWrapper(), ignore_unknown_fields=True).SerializeToString()


# --------------------------------------------------------------------------- decoders


def test_shared_private_samples(samples_dir: Path) -> None:
    orders = _sample(samples_dir, "ws_private_orders_decoded.json")
    order = order_wire.decode_private_order(codec.decode_push(orders), _symbol, 1)
    assert (order.symbol, order.order_id, order.side, order.type) == (
        Symbol("MX", "USDT"), "C02__505979017439002624115", Side.SELL, OrderType.MARKET)
    assert order.status is OrderStatus.FILLED and order.filled_qty == 1
    assert order.filled_quote == Decimal("3.6962") and order.ts_created == 1736417034259 * 1_000_000
    pushed = codec.decode_push(_sample(samples_dir, "ws_private_deals_decoded.json"))
    fill = order_wire.decode_private_deal(pushed,
                                     _symbol, 2)
    assert (fill.trade_id, fill.order_id, fill.side, fill.price, fill.quantity) == (
        "C02__505979017439002624115/1736417034280/3.6962/1", "C02__505979017439002624115", Side.SELL,
        Decimal("3.6962"), Decimal(1))  # tradeId 505979017439002624X1 is not what myTrades calls it
    assert (fill.fee, fill.fee_asset, fill.client_order_id) == (Decimal("0.0003998377369698171"), "MX", None)
    balance = order_wire.decode_private_account(
        codec.decode_push(_sample(samples_dir, "ws_private_account_decoded.json")))
    assert (balance.asset, balance.free, balance.locked) == ("USDC", Decimal("21.94210356004384"), 0)


def test_own_private_frames() -> None:
    pushed = codec.decode_push(_frame("orders_ioc_partially_canceled"))
    order = order_wire.decode_private_order(pushed, _symbol, 0)
    assert (order.client_order_id, order.time_in_force, order.status) == (
        "arb-9c1e-b0", TimeInForce.IOC, OrderStatus.CANCELED)  # partially canceled = an IOC remainder
    assert (order.quantity, order.price, order.filled_qty, order.filled_quote) == (
        Decimal("0.01"), Decimal(65000), Decimal("0.006"), Decimal("389.97"))
    fill = order_wire.decode_private_deal(codec.decode_push(_frame("deals_buy")), _symbol, 7)
    assert (fill.symbol, fill.trade_id, fill.client_order_id, fill.side, fill.fee, fill.fee_asset) == (
        BTC, DEAL_ID, "arb-9c1e-b0", Side.BUY, Decimal("0.12998"), "USDT")
    assert fill.ts_event == 1764000000120 * 1_000_000 and fill.ts_recv == 7
    balance = order_wire.decode_private_account(codec.decode_push(_frame("account_usdt")))
    assert (balance.asset, balance.free, balance.locked) == ("USDT", Decimal("9610.02"), 0)


def _bad_status() -> bytes:
    wrapper = codec.decode_push(_frame("orders_ioc_partially_canceled"))
    wrapper.privateOrders.status = 9
    return bytes(wrapper.SerializeToString())


def _unknown_quote() -> bytes:
    wrapper = codec.decode_push(_frame("deals_buy"))
    wrapper.symbol = "BTCXYZ"
    return bytes(wrapper.SerializeToString())


@pytest.mark.parametrize("frame", [b"\xff\xff\xff", _bad_status(), _unknown_quote(),
                                   b"\x9a\x13\x04\x1a\x02x!"])  # account push, balance "x!"
def test_malformed_private_pushes_are_counted_and_reported(frame: bytes) -> None:
    recorder = UserRecorder()
    stream = MexcUserStream(recorder, make_rest("mexc", VenueConfig(rest_url="http://127.0.0.1:9"), CREDS))
    stream._on_frame(frame, 1)
    stream._on_frame(_frame("deals_buy"), 2)  # the stream goes on
    assert stream.decode_errors == 1 and len(recorder.errors) == 1 and recorder.errors[0].venue == "mexc"
    assert [f.trade_id for f in recorder.fills] == [DEAL_ID]


def test_dialect_flags_a_refused_listen_key() -> None:
    dialect = MexcUserDialect()
    assert dialect.ack('{"id": 3, "code": 0, "msg": "spot@private.orders.v3.api.pb"}') == 3
    assert dialect.ack('{"id": 0, "code": 0, "msg": "PONG"}') is None
    with pytest.raises(ValueError, match="Invalid listen key"):
        dialect.ack("Invalid listen key")
    assert dialect.invalid_key.is_set()
    assert dialect.is_control("Invalid listen key") and not dialect.is_control(b"\x0a")


async def test_user_stream_needs_a_signed_rest_client() -> None:
    stream = MexcStream(UserRecorder())
    with pytest.raises(ConfigError):
        await stream.subscribe_user()
    await stream.close()


# --------------------------------------------------------------------------- simulator


async def test_sim_listen_key_endpoints_and_bad_keys() -> None:
    sim = SimExchange(["mexc"], seed=3, step_s=0.05)
    rest_url, ws_url = (await sim.start())["mexc"]
    users: MexcUserStreams = sim.dialects["mexc"].user  # type: ignore[attr-defined]
    rest = make_rest("mexc", VenueConfig(rest_url=rest_url), CREDS)
    user = MexcUserStream(UserRecorder(), rest, url=ws_url)
    try:
        users.key_ttl_ms = 200  # configurable lifetime: this key times out by itself
        short = await user._key_call("POST")
        await wait_until(lambda: users.valid(short) is None, "the short-lived key to expire")
        users.key_ttl_ms = 3_600_000
        key = await user._key_call("POST")
        assert len(key) == 64 and users.valid(key) == "sim" and short not in await _listed(user)
        assert await user._key_call("PUT", key) == key and users.extends == 1
        async with aiohttp.ClientSession() as session:
            async with session.post(rest_url + c.LISTEN_KEY) as unsigned:
                assert unsigned.status == 400 and (await unsigned.json())["code"] == 700001
            async with session.ws_connect(f"{ws_url}?listenKey=not-a-key") as ws:
                msg = await ws.receive(timeout=10)
                assert (msg.type, msg.data) == (aiohttp.WSMsgType.TEXT, "Invalid listen key")
                assert (await ws.receive(timeout=10)).type is aiohttp.WSMsgType.CLOSE
            async with session.ws_connect(f"{ws_url}?listenKey={key}") as ws:
                await ws.send_str(json.dumps({"method": "SUBSCRIPTION", "params": list(c.PRIVATE_CHANNELS),
                                              "id": 5}))
                ack = json.loads((await ws.receive(timeout=10)).data)
                assert ack == {"id": 5, "code": 0, "msg": ",".join(c.PRIVATE_CHANNELS)}
                await wait_until(lambda: users.subscribed(key), "the sim sees the subscription")
                users.expire(key)  # the open socket is closed by the server
                closed = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                assert (await ws.receive(timeout=10)).type in closed
        with pytest.raises(Exception) as info:
            await user._key_call("PUT", key)
        assert getattr(info.value, "api_code", None) == 730706
    finally:
        await rest.close()
        await sim.close()


async def _listed(user: MexcUserStream) -> list[str]:
    body = await user._rest.request("GET", c.LISTEN_KEY, kind=user._kind, signed=True)
    keys: list[str] = json.loads(body)["listenKey"]
    return keys


Setup = tuple[SimExchange, str, MexcUserStreams, UserRecorder, MexcStream, RestClient,
              PrivateExchangeInterface]


async def _mexc_setup(keepalive_s: float) -> Setup:
    sim = SimExchange(["mexc"], seed=6, step_s=0.05)
    rest_url, ws_url = (await sim.start())["mexc"]
    await sim.close_driver()  # a still market: fills are predictable
    users: MexcUserStreams = sim.dialects["mexc"].user  # type: ignore[attr-defined]
    recorder = UserRecorder()
    rest = make_rest("mexc", VenueConfig(rest_url=rest_url), CREDS)
    stream = MexcStream(recorder, ws_url=ws_url, rest=rest, listen_key_keepalive_s=keepalive_s,
                        heartbeat_s=None, backoff_base_s=0.05)  # type: ignore[arg-type]
    private = make_private("mexc", VenueConfig(rest_url=rest_url), CREDS)
    return sim, rest_url, users, recorder, stream, rest, private


async def _ioc(private: PrivateExchangeInterface, side: Side, qty: Decimal, price: Decimal, cid: str) -> None:
    await private.place_order(BTC, side, OrderType.LIMIT, qty, cid, price, TimeInForce.IOC)


async def _final(recorder: UserRecorder, cid: str, what: str) -> None:
    await wait_until(lambda: (o := recorder.last_order(cid)) is not None and o.status.is_terminal, what)


async def test_user_stream_end_to_end_against_the_simulator() -> None:
    sim, _, users, recorder, stream, rest, private = await _mexc_setup(keepalive_s=0.05)
    dialect = sim.dialects["mexc"]
    matching, ledger = dialect.matching, dialect.ledger  # type: ignore[attr-defined]
    try:
        await stream.subscribe_user()
        user = stream.user
        assert user is not None and user.listen_key is not None
        key = user.listen_key
        await wait_until(lambda: users.subscribed(key), "the private channels subscribed")
        _, _, asks = sim.market.snapshot("mexc", BTC, 3)
        qty = (asks[0][1] + asks[1][1] / 2).quantize(Decimal("0.00001"))
        await _ioc(private, Side.BUY, qty, asks[1][0], "mx-b0")
        await _final(recorder, "mx-b0", "the order's final state")
        sim_fills = [f for f in matching.fills if f.client_id == "mx-b0"]
        assert len(sim_fills) == 2
        await wait_until(lambda: len(recorder.fills_of("mx-b0")) == 2, "both deals")
        got = recorder.fills_of("mx-b0")
        assert [(f.trade_id, f.quantity, f.price, f.fee, f.fee_asset) for f in got] == [
            (order_wire.fill_id(f"C02__{s.order_id}", s.ts_ms, s.price, s.quantity), s.quantity, s.price,
             s.fee, s.fee_asset) for s in sim_fills]
        trades = await private.my_trades(BTC)
        # the venue names each fill twice (myTrades hex id, stream "...X<n>"): the codec names it once
        assert {t.trade_id for t in trades} == {f.trade_id for f in recorder.fills_of("mx-b0")}
        final = recorder.last_order("mx-b0")
        assert final is not None and final.status is OrderStatus.FILLED and final.filled_qty == qty
        assert final.order_id == recorder.fills_of("mx-b0")[0].order_id
        await wait_until(lambda: {"BTC", "USDT"} <= set(recorder.balances), "the account pushes")
        for asset in ("BTC", "USDT"):
            bal = recorder.balances[asset]
            assert (bal.free, bal.locked) == (ledger.free("sim", asset), ledger.locked("sim", asset)), asset
        await wait_until(lambda: user.keepalives >= 2 and users.extends >= 2, "listen-key keep-alives")
        assert user.listen_key == key and user.renewals == 0 and user.decode_errors == 0

        # the server drops the socket: same key, reconnect, resubscribe, events flow again
        subscriptions = users.subscriptions
        await users.subscribers.close_all()
        await wait_until(lambda: users.subscriptions > subscriptions and users.subscribed(key),
                         "the resubscribed private channels")
        _, bids, _ = sim.market.snapshot("mexc", BTC, 1)
        await _ioc(private, Side.SELL, Decimal("0.001"), bids[0][0] * 2, "mx-s1")  # expires unfilled
        await _final(recorder, "mx-s1", "events after the reconnect")
        final = recorder.last_order("mx-s1")
        assert final is not None and final.status is OrderStatus.CANCELED and final.filled_qty == 0
        assert user.listen_key == key and False in recorder.states and recorder.states[-1] is True
    finally:
        await stream.close()
        await rest.close()
        await private.close()
        await sim.close()


async def test_expired_listen_key_is_renewed_and_events_resume() -> None:
    sim, _, users, recorder, stream, rest, private = await _mexc_setup(keepalive_s=3600)
    try:
        await stream.subscribe_user()
        user = stream.user
        assert user is not None and user.listen_key is not None
        old = user.listen_key
        await wait_until(lambda: users.subscribed(old), "the private channels subscribed")
        users.expire(old)  # the venue forgets the key: its socket closes, a reconnect is refused
        await wait_until(lambda: user.renewals == 1 and user.listen_key != old
                         and users.subscribed(user.listen_key or ""), "a new key, subscribed")
        assert users.valid(old) is None
        _, _, asks = sim.market.snapshot("mexc", BTC, 1)
        await _ioc(private, Side.BUY, Decimal("0.001"), asks[0][0], "mx-r1")
        await _final(recorder, "mx-r1", "events on the new key")
        assert [f.quantity for f in recorder.fills_of("mx-r1")] == [Decimal("0.001")]

        # a key that times out (no keep-alive in time) is renewed the same way
        second = user.listen_key
        assert second is not None
        users.keys[second] = (users.keys[second][0], int(time.time() * 1000) + 300)  # 300 ms left
        await wait_until(lambda: user.renewals == 2 and (k := user.listen_key) != second
                         and users.subscribed(k or ""), "renewal after a timeout, subscribed")
        await _ioc(private, Side.BUY, Decimal("0.001"), asks[0][0] * 2, "mx-r2")
        await _final(recorder, "mx-r2", "events after the timed-out key")
        assert recorder.errors == [] and user.decode_errors == 0
    finally:
        await stream.close()
        await rest.close()
        await private.close()
        await sim.close()
