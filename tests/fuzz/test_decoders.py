"""Fuzzing every wire decoder: malformed input returns a value or raises `DecodeError`, nothing else.

Each target is a decoder as its callers use it (REST replies through to the model objects, stream
frames through the stream's own frame handler). Inputs are random bytes, random JSON (NaN,
infinities, huge and negative numbers, wrong types, deep nesting, truncation) and mutations of
real payloads (the shared samples and our own test data: one value swapped, the document cut or
nested deeper; MEXC protobuf frames with bytes flipped, cut or spliced).

Bounded for CI: ``ARB_FUZZ_EXAMPLES`` examples per decoder (default 30: the module runs in well
under 30 s); raise it locally for a longer campaign (``ARB_FUZZ_EXAMPLES=5000``).
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arb.errors import DecodeError
from arb.model import KlineInterval, Symbol
from arb.venues.binance import codec as bn
from arb.venues.binance import orders as bn_orders
from arb.venues.binance.stream import BinanceDialect
from arb.venues.errors import decode_code_msg
from arb.venues.gateio import codec as gt
from arb.venues.gateio import orders as gt_orders
from arb.venues.gateio.stream import GateDialect
from arb.venues.mexc import codec as mx
from arb.venues.mexc import orders as mx_orders
from arb.venues.mexc.stream import MexcDialect
from tests.fuzz.streams import stream_handlers

EXAMPLES = int(os.environ.get("ARB_FUZZ_EXAMPLES", "30"))
MAX_SEED_CHARS = 3000  # big samples (full exchange info) make mutation slow and find nothing more
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
                suppress_health_check=list(HealthCheck))
BTC = Symbol("BTC", "USDT")
ROOT = Path(__file__).resolve().parents[1]
SHARED = next((p / "shared" / "exchange-samples" for p in ROOT.parents
               if (p / "shared" / "exchange-samples").is_dir()), None)


def symbol_of(name: str) -> Symbol:
    if name not in ("BTCUSDT", "BTC_USDT", "MXUSDT", "BTCUSDC"):
        raise KeyError(name)  # as the streams' lookups do for a symbol they do not trade
    return BTC


# ---------------------------------------------------------------------------- targets


def _mexc_frame(decode: Callable[..., Any]) -> Callable[[bytes], Any]:
    return lambda b: decode(mx.decode_push(b), symbol_of, 0)


TARGETS: dict[str, Callable[[bytes], Any]] = {
    # Binance REST
    "binance.snapshot": lambda b: bn.decode_snapshot(b, BTC, 0),
    "binance.time": bn.decode_time,
    "binance.symbols": bn.decode_symbols,
    "binance.trades": lambda b: bn.decode_trades(b, BTC, 0),
    "binance.ticker": lambda b: bn.decode_ticker(b, BTC),
    "binance.klines": lambda b: bn.decode_klines(b, BTC, KlineInterval.M1),
    "binance.order": lambda b: bn_orders.to_order(bn_orders.decode_order(b), BTC),
    "binance.order_fills": lambda b: bn_orders.to_fills(bn_orders.decode_order(b), BTC, 0),
    "binance.orders": lambda b: [bn_orders.to_order(m, BTC) for m in bn_orders.decode_orders(b)],
    "binance.account": bn_orders.decode_account,
    "binance.my_trades": lambda b: bn_orders.decode_my_trades(b, BTC, 0),
    "binance.commission": lambda b: bn_orders.decode_commission(b, BTC),
    # Binance streams
    "binance.stream": bn.decode_stream,
    "binance.control": bn.decode_control,
    "binance.depth": lambda b: bn.decode_depth(b, BTC, 0),
    "binance.trade_event": lambda b: bn.decode_trade_event(b, BTC, 0),
    "binance.user_event": bn_orders.decode_user_event,
    "binance.execution": lambda b: bn_orders.decode_execution(b, symbol_of, 0),
    "binance.account_position": bn_orders.decode_account_position,
    "binance.ws_api_response": bn_orders.decode_ws_api_response,
    "binance.subscribed": lambda b: bn_orders.decode_subscribed(b),  # type: ignore[arg-type]
    # Gate REST
    "gateio.snapshot": lambda b: gt.decode_snapshot(b, BTC, 0),
    "gateio.time": gt.decode_time,
    "gateio.symbols": gt.decode_symbols,
    "gateio.trades": lambda b: gt.decode_trades(b, BTC, 0),
    "gateio.ticker": lambda b: gt.decode_ticker(b, BTC),
    "gateio.klines": lambda b: gt.decode_klines(b, BTC, KlineInterval.M1),
    "gateio.order": lambda b: gt_orders.to_order(gt_orders.decode_order(b), BTC, "cid"),
    "gateio.orders": lambda b: [gt_orders.to_order(m, BTC) for m in gt_orders.decode_orders(b)],
    "gateio.open_orders": gt_orders.decode_open_orders,
    "gateio.accounts": gt_orders.decode_accounts,
    "gateio.my_trades": lambda b: [gt_orders.to_fill(m, BTC, 0) for m in gt_orders.decode_my_trades(b)],
    "gateio.fee": lambda b: gt_orders.decode_fee(b, BTC),
    "gateio.error": lambda b: gt.decode_error(400, b),
    # Gate streams
    "gateio.ws": gt.decode_ws,
    "gateio.depth": lambda b: gt.decode_depth(b, BTC, 0),
    "gateio.depth_routed": lambda b: gt.decode_depth_routed(b, {"BTC_USDT": BTC}, 0),
    "gateio.trade_routed": lambda b: gt.decode_trade_routed(b, {"BTC_USDT": BTC}, 0),
    "gateio.ws_orders": lambda b: gt_orders.decode_ws_orders(b, symbol_of),
    "gateio.user_trades": lambda b: gt_orders.decode_user_trades(b, symbol_of, 0),
    "gateio.ws_balances": gt_orders.decode_ws_balances,
    "gateio.ws_error": gt_orders.decode_ws_error,
    # MEXC REST
    "mexc.snapshot": lambda b: mx.decode_snapshot(b, BTC, 0),
    "mexc.time": mx.decode_time,
    "mexc.symbols": mx.decode_symbols,
    "mexc.trades": lambda b: mx.decode_trades(b, BTC, 0),
    "mexc.ticker": lambda b: mx.decode_ticker(b, BTC),
    "mexc.klines": lambda b: mx.decode_klines(b, BTC, KlineInterval.M1),
    "mexc.ack": mx_orders.decode_ack,
    "mexc.order": lambda b: mx_orders.to_order(mx_orders.decode_order(b), BTC, "cid"),
    "mexc.orders": lambda b: [mx_orders.to_order(m, BTC) for m in mx_orders.decode_orders(b)],
    "mexc.account": mx_orders.decode_account,
    "mexc.my_trades": lambda b: mx_orders.decode_my_trades(b, BTC, 0),
    "mexc.trade_fee": lambda b: mx_orders.decode_trade_fee(b, BTC),
    "mexc.listen_key": mx_orders.decode_listen_key,
    # MEXC streams (protobuf)
    "mexc.push": mx.decode_push,
    "mexc.depth": lambda b: mx.decode_depth(mx.decode_push(b), BTC, 0),
    "mexc.depth_frame": lambda b: mx.decode_depth_frame(b, BTC, 0),
    "mexc.depth_frame_limit": lambda b: mx.decode_depth_frame(b, BTC, 0, limit=True),
    "mexc.depth_frame_routed": lambda b: mx.decode_depth_frame_routed(b, ROUTES, 0),
    "mexc.frame_channel": mx.frame_channel,
    "mexc.deals": lambda b: mx.decode_deals(mx.decode_push(b), BTC, 0),
    "mexc.deals_frame": lambda b: mx.decode_deals_frame(b, DEAL_ROUTES, 0),
    "mexc.market_frame": lambda b: mx.decode_market_frame(b, ROUTES, DEAL_ROUTES, 0),
    "mexc.private_order": _mexc_frame(mx_orders.decode_private_order),
    "mexc.private_deal": _mexc_frame(mx_orders.decode_private_deal),
    "mexc.private_account": lambda b: mx_orders.decode_private_account(mx.decode_push(b)),
}
ROUTES: Mapping[str, Symbol] = {"spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT": BTC}
DEAL_ROUTES: Mapping[str, Symbol] = {"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT": BTC}
PROTOBUF = frozenset(k for k in TARGETS if k.startswith("mexc.") and k.split(".", 1)[1] in {
    "push", "depth", "depth_frame", "depth_frame_limit", "depth_frame_routed", "frame_channel", "deals",
    "deals_frame", "market_frame", "private_order", "private_deal", "private_account"})


# ---------------------------------------------------------------------------- seeds


def _json_seeds() -> dict[str, list[Any]]:
    """Parsed real payloads per venue (our test data, and the shared samples when present)."""
    out: dict[str, list[Any]] = {"binance": [], "gateio": [], "mexc": []}
    folders = [ROOT / "data"] + ([SHARED] if SHARED is not None else [])
    for folder in folders:
        for venue in out:
            for path in sorted((folder / venue).glob("*.json")) if (folder / venue).is_dir() else []:
                try:
                    doc = json.loads(path.read_text())
                except ValueError:
                    continue
                sequence = isinstance(doc, list) and path.name.startswith("ws_depth_update_sequence")
                docs = doc if sequence else [doc]
                out[venue].extend(d for d in docs if len(json.dumps(d)) <= MAX_SEED_CHARS
                                  and not (isinstance(d, dict) and "base64" in str(d)[:200]))
    return out


def _proto_seeds() -> list[bytes]:
    frames: list[bytes] = []
    for name in ("ws_deals_frames.json", "ws_private_frames.json"):
        path = ROOT / "data" / "mexc" / name
        frames += [bytes.fromhex(v) for k, v in json.loads(path.read_text()).items() if not k.startswith("_")]
    if SHARED is not None and (SHARED / "mexc" / "ws_protobuf_frames.json").is_file():
        for item in json.loads((SHARED / "mexc" / "ws_protobuf_frames.json").read_text()):
            if isinstance(item, dict) and "base64" in item:
                frames.append(base64.b64decode(item["base64"]))
    return frames


JSON_SEEDS = _json_seeds()
LEAVES_OF: dict[int, list[tuple[Any, ...]]] = {}  # id(seed) -> its leaf paths (seeds live as long)
PROTO_SEEDS = _proto_seeds()

NUMBERS = st.sampled_from([math.nan, math.inf, -math.inf, -1, 0, -0.0, 1e308, 10**30, -(10**30), 2**64,
                           "NaN", "nan", "Infinity", "-1", "0", "1e999", "-1e-999", "", "0x1f", "1_000"])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8),
                   NUMBERS)
JSON_VALUES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=6)


def _seed_leaves(seed: Any) -> list[tuple[Any, ...]]:
    key = id(seed)
    if key not in LEAVES_OF:
        LEAVES_OF[key] = _leaves(seed)
    return LEAVES_OF[key]


def _leaves(doc: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        return [p for k, v in doc.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(doc, list):
        return [p for i, v in enumerate(doc) for p in _leaves(v, (*path, i))] or [path]
    return [path]


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(doc, dict):
        return {k: (_replace(v, rest, value) if k == head else v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [(_replace(v, rest, value) if i == head else v) for i, v in enumerate(doc)]
    return value  # the path ran into a value an earlier mutation put there


def _dump(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


@st.composite
def json_inputs(draw: st.DrawFn, venue: str) -> bytes:
    seeds = JSON_SEEDS[venue]
    kind = draw(st.sampled_from(["mutate", "mutate", "mutate", "random", "bytes", "deep", "cut"]))
    if kind == "random" or not seeds:
        return _dump(draw(JSON_VALUES))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    seed = draw(st.sampled_from(seeds))
    if kind == "deep":  # a value nested far deeper than any parser's recursion limit
        depth = draw(st.sampled_from([600, 1100, 5000]))
        leaf = draw(st.sampled_from(_seed_leaves(seed)))
        text = _dump(_replace(seed, leaf, "@@DEEP@@")).decode()
        return text.replace('"@@DEEP@@"', "[" * depth + "]" * depth, 1).encode()
    if kind == "cut":
        raw = _dump(seed)
        return raw[:draw(st.integers(0, max(0, len(raw) - 1)))]
    doc = seed
    for _ in range(draw(st.integers(1, 3))):  # paths of the seed: a replaced subtree may hide some
        doc = _replace(doc, draw(st.sampled_from(_seed_leaves(seed))), draw(JSON_VALUES))
    return _dump(doc)


@st.composite
def proto_inputs(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["flip", "flip", "cut", "splice", "bytes"]))
    if kind == "bytes" or not PROTO_SEEDS:
        return draw(st.binary(max_size=96))
    frame = bytearray(draw(st.sampled_from(PROTO_SEEDS)))
    if kind == "cut":
        return bytes(frame[:draw(st.integers(0, len(frame) - 1))])
    if kind == "splice":
        at = draw(st.integers(0, len(frame)))
        return bytes(frame[:at] + draw(st.binary(min_size=1, max_size=16)) + frame[at:])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(frame) - 1))
        frame[at] = draw(st.integers(0, 255))
    return bytes(frame)


def inputs_for(target: str) -> st.SearchStrategy[bytes]:
    if target in PROTOBUF:
        return proto_inputs()
    return json_inputs(target.split(".", 1)[0])


# ---------------------------------------------------------------------------- properties


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_a_decoder_returns_a_value_or_raises_decode_error(target: str) -> None:
    decode, venue = TARGETS[target], target.split(".", 1)[0]

    @FUZZ
    @given(inputs_for(target))
    def run(data: bytes) -> None:
        try:
            decode(data)
        except DecodeError as err:  # the one exception a caller has to handle, naming its venue
            assert err.venue == venue and len(err.sample) <= 200

    run()


def test_error_bodies_never_raise() -> None:
    @FUZZ
    @given(json_inputs("binance") | json_inputs("mexc"), st.sampled_from([400, 403, 418, 429, 500, 502]))
    def run(body: bytes, status: int) -> None:
        code, message = decode_code_msg(status, body)
        assert isinstance(message, str) and (code is None or isinstance(code, int | str))

    run()


@pytest.mark.parametrize("dialect", [BinanceDialect(), GateDialect(), MexcDialect()],
                         ids=["binance", "gateio", "mexc"])
def test_a_dialect_reads_control_frames_or_refuses_them_with_value_error(dialect: Any) -> None:
    """ack() answers a request id or None, refuses with ValueError (the WsClient fails the pending
    acks), or says the frame is unreadable with DecodeError (the WsClient counts it and skips it)."""
    names = {"BinanceDialect": "binance", "GateDialect": "gateio", "MexcDialect": "mexc"}
    venue = names[type(dialect).__name__]

    @FUZZ
    @given(json_inputs(venue))
    def run(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        assert isinstance(dialect.is_control(text), bool)
        try:
            acked = dialect.ack(text)
        except (ValueError, DecodeError):  # refused / unreadable (counted by the socket)
            return
        assert acked is None or isinstance(acked, int)

    run()


@pytest.mark.parametrize("venue", ["binance", "gateio", "mexc"])
def test_a_stream_frame_handler_never_raises(venue: str) -> None:
    stream, recorder = stream_handlers(venue)

    text = json_inputs(venue).map(lambda b: b.decode("utf-8", "replace"))
    frames = proto_inputs() if venue == "mexc" else text

    @FUZZ
    @given(frames)
    def run(frame: bytes | str) -> None:
        before = stream.decode_errors
        stream._on_frame(frame, 1)
        assert stream.decode_errors in (before, before + 1)

    run()
    assert recorder.errors == stream.decode_errors
