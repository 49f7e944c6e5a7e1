"""Depth decoders of the three venues on the shared real payloads and on our own frames."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from arb.errors import DecodeError
from arb.model import Symbol
from arb.venues.binance import codec as binance
from arb.venues.gateio import codec as gateio
from arb.venues.mexc import codec as mexc

SYM = Symbol("BTC", "USDT")
DATA = Path(__file__).resolve().parents[1] / "data"


def test_binance_depth_sample_and_sequence(samples_dir: Path) -> None:
    update = binance.decode_depth((samples_dir / "binance/ws_depth_update.json").read_bytes(), SYM, 7)
    assert (update.first_id, update.last_id) == (499869753, 499869754)
    assert list(update.bid_prices) == [0.3517] and list(update.bid_sizes) == [4265.0]
    assert list(update.ask_prices) == [0.3529] and update.ts_event == 1633998512568 * 10**6
    assert update.ts_recv == 7 and not update.is_snapshot
    frames = json.loads((samples_dir / "binance/ws_depth_update_sequence_NKNUSDT.json").read_text())
    last = 0
    for frame in frames:
        env = binance.decode_stream(json.dumps(frame))
        assert env.stream == "nknusdt@depth@100ms"
        decoded = binance.decode_depth(bytes(env.data), SYM, 0)
        assert decoded.first_id <= decoded.last_id and decoded.last_id > last
        last = decoded.last_id
    snap = binance.decode_snapshot((samples_dir / "binance/depth_snapshot_NKNUSDT.json").read_bytes(), SYM, 1)
    assert snap.update_id == 499869752 and snap.bids[0].price == 0.3521 and snap.bids[0].size == 672.0


def test_gate_depth_samples(samples_dir: Path) -> None:
    env = gateio.decode_ws((samples_dir / "gateio/ws_order_book_update_doc.json").read_bytes())
    assert env.channel == "spot.order_book_update" and env.event == "update"
    update = gateio.decode_depth(bytes(env.result), SYM, 0)
    assert update.is_snapshot and (update.first_id, update.last_id) == (48776301, 48776306)
    assert list(update.bid_sizes) == [0.0001, 0.0]  # "0" deletes
    for name in ("ws_obu_full.json", "ws_obu_incremental.json"):
        env = gateio.decode_ws((samples_dir / "gateio" / name).read_bytes())
        assert env.channel == "spot.obu"
    frames = json.loads((samples_dir / "gateio/ws_order_book_update_sequence_NEO_BTC.json").read_text())
    first = gateio.decode_depth(json.dumps(frames[0]["result"]), SYM, 0)
    assert first.first_id == first.last_id == 31244061 and not first.is_snapshot
    snap = gateio.decode_snapshot((samples_dir / "gateio/order_book_doc.json").read_bytes(), SYM, 0)
    assert snap.update_id == 123456 and snap.asks[0].price == 1.52 and snap.bids[1].size == 725.464


def test_mexc_protobuf_frames_and_snapshots(samples_dir: Path) -> None:
    frames = {f["name"]: f for f in json.loads((samples_dir / "mexc/ws_protobuf_frames.json").read_text())}
    wrapper = mexc.decode_push(base64.b64decode(frames["aggre_depth"]["base64"]))
    expected = frames["aggre_depth"]["decoded"]
    assert wrapper.channel == expected["channel"] and wrapper.symbol == expected["symbol"]
    update = mexc.decode_depth(wrapper, SYM, 3)
    body = expected["publicAggreDepths"]
    assert (update.first_id, update.last_id) == (int(body["fromVersion"]), int(body["toVersion"]))
    assert list(update.ask_prices) == [float(body["asks"][0]["price"])]
    assert list(update.bid_sizes) == [float(body["bids"][0]["quantity"])]
    assert update.ts_event == int(expected["sendTime"]) * 10**6
    limit = mexc.decode_depth(mexc.decode_push(base64.b64decode(frames["limit_depth"]["base64"])), SYM, 0)
    assert limit.is_snapshot and limit.first_id == limit.last_id
    with pytest.raises(DecodeError, match="not a depth push"):
        mexc.decode_depth(mexc.decode_push(base64.b64decode(frames["aggre_deals"]["base64"])), SYM, 0)
    live = mexc.decode_snapshot((samples_dir / "mexc/depth_snapshot.json").read_bytes(), SYM, 0)
    assert live.update_id == 20453289489 and live.bids[0].price == 45995.47  # id arrives as a string
    doc = mexc.decode_snapshot((samples_dir / "mexc/depth_snapshot_doc.json").read_bytes(), SYM, 0)
    assert doc.update_id == 1112416


def test_own_frames() -> None:
    frame = (DATA / "binance" / "ws_depth_btcusdt.json").read_bytes()
    env = binance.decode_stream(frame)
    update = binance.decode_depth(bytes(env.data), SYM, 0)
    assert list(update.bid_prices) == [65000.5, 64999.0] and list(update.ask_sizes) == [0.0]
    gate = gateio.decode_ws((DATA / "gateio" / "ws_depth_btc_usdt.json").read_bytes())
    assert gateio.decode_depth(bytes(gate.result), SYM, 0).bid_prices.tolist() == [65000.1]


@pytest.mark.parametrize(
    "bad",
    [b"not json", b'{"stream": 1}', b'{"E":1,"s":"X","U":1,"u":2,"b":[["x","1"]],"a":[]}',
     b'{"E":1,"s":"X","U":1,"u":2,"b":[["1"]],"a":[]}', b'{"E":1,"s":"X","U":1,"u":2,"b":[["-"]]}'],
)
def test_malformed_frames_raise_decode_error(bad: bytes) -> None:
    with pytest.raises(DecodeError) as info:
        binance.decode_depth(bad, SYM, 0)
    assert info.value.venue == "binance" and len(info.value.sample) <= 200
    with pytest.raises(DecodeError):
        gateio.decode_depth(bad, SYM, 0)
    with pytest.raises(DecodeError):
        mexc.decode_push(b"\xff\xff\xff" + bad)
