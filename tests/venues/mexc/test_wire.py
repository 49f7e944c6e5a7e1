"""The Cython proto3 depth reader agrees with the generated protobuf classes, and rejects bad frames."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arb.errors import DecodeError
from arb.model import Symbol
from arb.venues.mexc import codec
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

SYM = Symbol("BTC", "USDT")
decimal = st.decimals(min_value=0, max_value=10**7, places=8, allow_nan=False, allow_infinity=False)


def _same(a: object, b: object) -> None:
    for field in ("first_id", "last_id", "ts_event", "ts_recv", "is_snapshot"):
        assert getattr(a, field) == getattr(b, field), field
    for field in ("bid_prices", "bid_sizes", "ask_prices", "ask_sizes"):
        assert list(getattr(a, field)) == list(getattr(b, field)), field


def test_shared_frames_read_the_same_both_ways(samples_dir: Path) -> None:
    frames = {f["name"]: f for f in json.loads((samples_dir / "mexc/ws_protobuf_frames.json").read_text())}
    for name, limit in (("aggre_depth", False), ("limit_depth", True)):
        raw = base64.b64decode(frames[name]["base64"])
        fast = codec.decode_depth_frame(raw, SYM, 5, limit=limit)
        _same(fast, codec.decode_depth(codec.decode_push(raw), SYM, 5))


@given(
    bids=st.lists(st.tuples(decimal, decimal), max_size=30),
    asks=st.lists(st.tuples(decimal, decimal), max_size=30),
    first=st.integers(0, 2**62),
    span=st.integers(0, 1000),
    send=st.integers(0, 2**50),
    extra=st.binary(max_size=20),
)
def test_random_depth_pushes_parity(bids: list[tuple[object, object]], asks: list[tuple[object, object]],
                                    first: int, span: int, send: int, extra: bytes) -> None:
    wrapper = PushDataV3ApiWrapper(channel="spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT",
                                   symbol="BTCUSDT", symbolId=extra.hex(), sendTime=send)
    body = wrapper.publicAggreDepths
    body.fromVersion, body.toVersion = str(first), str(first + span)
    body.eventType = "spot@public.aggre.depth.v3.api.pb@100ms"
    body.lastOrderCreateTime = send  # a field the reader must skip
    for price, qty in bids:
        body.bids.add(price=str(price), quantity=str(qty))
    for price, qty in asks:
        body.asks.add(price=str(price), quantity=str(qty))
    raw = wrapper.SerializeToString()
    _same(codec.decode_depth_frame(raw, SYM, 1), codec.decode_depth(codec.decode_push(raw), SYM, 1))


@pytest.mark.parametrize("cut", [1, 5, 20, 60])
def test_truncated_and_malformed_frames_raise_decode_error(cut: int) -> None:
    wrapper = PushDataV3ApiWrapper(channel="c", symbol="BTCUSDT", sendTime=1)
    body = wrapper.publicAggreDepths
    body.fromVersion, body.toVersion = "10", "12"
    body.bids.add(price="100.5", quantity="1")
    raw = wrapper.SerializeToString()
    with pytest.raises(DecodeError):
        codec.decode_depth_frame(raw[:-cut] if cut < len(raw) else b"\x0a", SYM, 0)
    bad = PushDataV3ApiWrapper(channel="c")
    bad.publicAggreDepths.fromVersion, bad.publicAggreDepths.toVersion = "10", "x12"
    with pytest.raises(DecodeError, match="not an integer"):
        codec.decode_depth_frame(bad.SerializeToString(), SYM, 0)
    no_price = PushDataV3ApiWrapper(channel="c")
    no_price.publicAggreDepths.fromVersion = no_price.publicAggreDepths.toVersion = "1"
    no_price.publicAggreDepths.bids.add(quantity="1")
    with pytest.raises(DecodeError, match="without price"):
        codec.decode_depth_frame(no_price.SerializeToString(), SYM, 0)
    with pytest.raises(DecodeError, match="no field 313"):
        codec.decode_depth_frame(PushDataV3ApiWrapper(channel="c").SerializeToString(), SYM, 0)
