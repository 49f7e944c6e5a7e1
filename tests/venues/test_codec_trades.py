"""Public trade stream decoders of the three venues on the shared real payloads and on our own frames."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from arb.errors import DecodeError
from arb.model import Side, Symbol
from arb.venues.binance import codec as binance
from arb.venues.gateio import codec as gateio
from arb.venues.mexc import codec as mexc
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

BTC = Symbol("BTC", "USDT")
DATA = Path(__file__).resolve().parents[1] / "data"
MS = 1_000_000


def test_binance_trade_event_own_frame() -> None:
    env = binance.decode_stream((DATA / "binance/ws_trade_btcusdt.json").read_bytes())
    assert env.stream == "btcusdt@trade"
    trade = binance.decode_trade_event(env.data, BTC, 9)
    assert (trade.venue, trade.symbol, trade.trade_id) == ("binance", BTC, "4242")
    assert (trade.price, trade.size) == (65000.5, 0.0125)
    assert trade.side is Side.SELL  # "m": true, the buyer was the maker: the taker sold
    assert (trade.ts_event, trade.ts_recv) == (1764000000120 * MS, 9)
    taker_buy = binance.decode_trade_event(bytes(env.data).replace(b'"m":true', b'"m":false'), BTC, 0)
    assert taker_buy.side is Side.BUY


def test_binance_trade_event_rejects_malformed_payloads() -> None:
    for payload in (b'{"e": "trade", "t": 1}', b'{"t": 1, "p": "x", "q": "1", "T": 1, "m": true}', b"[1]"):
        with pytest.raises(DecodeError) as info:
            binance.decode_trade_event(payload, BTC, 0)
        assert info.value.venue == "binance" and "trade event" in str(info.value)


def test_gate_trades_shared_sample_and_own_frame(samples_dir: Path) -> None:
    dis = Symbol("DIS", "USDT")
    env = gateio.decode_ws((samples_dir / "gateio/ws_trades.json").read_bytes())
    assert env.channel == "spot.trades" and env.event == "update"
    trade = gateio.decode_trade_routed(env.result, {"DIS_USDT": dis}, 3)
    assert trade is not None
    assert (trade.trade_id, trade.price, trade.size, trade.side) == ("816995772", 121.58, 0.201, Side.SELL)
    assert trade.ts_event == 1619093543708264200  # fractional ms, exact
    assert gateio.decode_trade_routed(env.result, {"BTC_USDT": BTC}, 3) is None  # a pair not routed
    own = gateio.decode_ws((DATA / "gateio/ws_trades_btc_usdt.json").read_bytes())
    trade = gateio.decode_trade_routed(own.result, {"BTC_USDT": BTC}, 0)
    assert trade is not None and trade.side is Side.BUY and trade.trade_id == "309143071"
    assert (trade.price, trade.size) == (65000.5, 0.0125)


def test_gate_trades_reject_malformed_results() -> None:
    for result in (b'{"id": 1, "currency_pair": "BTC_USDT", "side": "up", "amount": "1", "price": "2"}',
                   b'{"id": 1, "currency_pair": "BTC_USDT", "side": "buy", "amount": "x", "price": "2"}',
                   b'{"currency_pair": "BTC_USDT"}'):
        with pytest.raises(DecodeError):
            gateio.decode_trade_routed(result, {"BTC_USDT": BTC}, 0)


def test_gate_request_keys() -> None:
    assert gateio.ws_request("BTC_USDT") == ("spot.order_book_update", ["BTC_USDT", "100ms"])
    assert gateio.ws_request(gateio.trade_key("BTC_USDT")) == ("spot.trades", ["BTC_USDT"])


def test_mexc_deals_shared_frame(samples_dir: Path) -> None:
    frames = {f["name"]: f for f in json.loads((samples_dir / "mexc/ws_protobuf_frames.json").read_text())}
    sample = frames["aggre_deals"]
    raw = base64.b64decode(sample["base64"])
    assert mexc.frame_channel(raw) == sample["channel"]
    usdc = Symbol("BTC", "USDC")
    trades = mexc.decode_deals_frame(raw, {sample["channel"]: usdc}, 4)
    deal = sample["decoded"]["publicAggreDeals"]["deals"][0]
    assert trades is not None and len(trades) == 1
    trade = trades[0]
    assert (trade.symbol, trade.price, trade.size, trade.side) == (usdc, 115091.25, 0.000059, Side.BUY)
    assert trade.ts_event == int(deal["time"]) * MS and trade.ts_recv == 4
    assert trade.trade_id == f"{deal['time']}-0"  # no tradeId in this push: time and position, as REST
    assert mexc.decode_deals_frame(raw, {"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT": BTC}, 4) is None


def test_mexc_deals_own_frames() -> None:
    frames = json.loads((DATA / "mexc/ws_deals_frames.json").read_text())
    channel = "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"
    routes = {channel: BTC}
    two = mexc.decode_deals_frame(bytes.fromhex(frames["deals_two"]), routes, 1)
    assert two is not None
    assert [(t.trade_id, t.price, t.size, t.side, t.ts_event) for t in two] == [
        ("7001", 65000.5, 0.0125, Side.BUY, 1764000000120 * MS),
        ("7002", 65001.0, 0.3, Side.SELL, 1764000000125 * MS)]
    old = mexc.decode_deals_frame(bytes.fromhex(frames["deals_no_trade_id"]), routes, 1)
    assert old is not None and old[0].trade_id == "1764000000135-0"
    with pytest.raises(DecodeError, match="deals push"):
        mexc.decode_deals_frame(bytes.fromhex(frames["deals_bad_side"]), routes, 1)


def test_mexc_deals_reject_other_pushes_and_garbage() -> None:
    depth = PushDataV3ApiWrapper(channel="spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT")
    depth.publicAggreDepths.fromVersion = "1"  # the wrong body under a deals channel
    with pytest.raises(DecodeError, match="not a deals push"):
        mexc.decode_deals_frame(depth.SerializeToString(), {depth.channel: BTC}, 0)
    with pytest.raises(DecodeError):
        mexc.decode_deals_frame(b"\x0a\x05broken", {}, 0)
    # the channel is read without parsing when it comes first, else from the parsed wrapper
    late = PushDataV3ApiWrapper(symbol="BTCUSDT").SerializeToString() + b"\x0a\x03abc"
    assert mexc.frame_channel(late) == "abc"
