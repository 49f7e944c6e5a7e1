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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arb.errors import DecodeError, ExchangeError
from arb.venues.binance.stream import BinanceDialect
from arb.venues.bybit.stream import BybitDialect
from arb.venues.errors import decode_code_msg
from arb.venues.gateio.stream import GateDialect
from arb.venues.mexc.stream import MexcDialect
from arb.venues.okx.stream import OkxDialect
from arb.venues.registry import VENUE_NAMES
from tests.fuzz.streams import stream_handlers, user_handlers, whole
from tests.fuzz.targets import BTC, ENVELOPE_ERRORS, PROTOBUF, TARGETS, covered, decoders

EXAMPLES = int(os.environ.get("ARB_FUZZ_EXAMPLES", "30"))
MAX_SEED_CHARS = 3000  # big samples (full exchange info) make mutation slow and find nothing more
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=False, database=None,
                suppress_health_check=list(HealthCheck))
ROOT = Path(__file__).resolve().parents[1]
SHARED = next((p / "shared" / "exchange-samples" for p in ROOT.parents
               if (p / "shared" / "exchange-samples").is_dir()), None)


# ---------------------------------------------------------------------------- seeds


def _json_seeds() -> dict[str, list[Any]]:
    """Parsed real payloads per registry venue (our test data, and the shared samples when present).

    A recorded sequence (a list of frames) gives each frame; an envelope also gives its ``data`` /
    ``result`` (what the OKX push and Bybit REST decoders take once the envelope is read).
    """
    out: dict[str, list[Any]] = {venue: [] for venue in VENUE_NAMES}
    folders = [ROOT / "data"] + ([SHARED] if SHARED is not None else [])
    for folder in folders:
        for venue in out:
            for path in sorted((folder / venue).glob("*.json")) if (folder / venue).is_dir() else []:
                try:
                    doc = json.loads(path.read_text())
                except ValueError:
                    continue
                sequence = isinstance(doc, list) and (path.name.startswith("ws_depth_update_sequence") or (
                    path.name.startswith("ws_") and all(isinstance(d, dict) for d in doc)))
                docs = doc if sequence else [doc]
                docs += [d[key] for d in docs if isinstance(d, dict) for key in ("data", "result")
                         if isinstance(d.get(key), dict | list)]
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
        except ExchangeError as err:  # the envelope's own error code: the venue's answer, not malformed
            if target not in ENVELOPE_ERRORS:
                raise
            assert err.venue == venue and err.api_code is not None

    run()


def test_error_bodies_never_raise() -> None:
    @FUZZ
    @given(json_inputs("binance") | json_inputs("mexc"), st.sampled_from([400, 403, 418, 429, 500, 502]))
    def run(body: bytes, status: int) -> None:
        code, message = decode_code_msg(status, body)
        assert isinstance(message, str) and (code is None or isinstance(code, int | str))

    run()


def test_every_decoder_of_a_venue_is_fuzzed() -> None:
    """Each registry venue has targets, and they reach every ``decode_*`` of its codec and orders."""
    for venue in VENUE_NAMES:
        assert any(k.startswith(f"{venue}.") for k in TARGETS), f"{venue}: no fuzz targets"
        missing = decoders(venue) - covered(venue)
        assert not missing, f"{venue}: decoders not fuzzed: {sorted(missing)}"
        assert JSON_SEEDS[venue], f"{venue}: no sample payloads to mutate"
    assert {k.split(".", 1)[0] for k in TARGETS} <= set(VENUE_NAMES)


DIALECTS: dict[str, Callable[[], Any]] = {
    "binance": BinanceDialect, "gateio": GateDialect, "mexc": MexcDialect, "okx": OkxDialect,
    "bybit": BybitDialect}


@pytest.mark.parametrize("venue", VENUE_NAMES)
def test_a_dialect_reads_control_frames_or_refuses_them_with_value_error(venue: str) -> None:
    """ack() answers a request id or None, refuses with ValueError (the WsClient fails the pending
    acks), or says the frame is unreadable with DecodeError (the WsClient counts it and skips it)."""
    assert venue in DIALECTS, f"{venue}: no market dialect to fuzz"
    dialect = DIALECTS[venue]()

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


def _frames(venue: str) -> st.SearchStrategy[bytes | str]:
    if venue == "mexc":
        return proto_inputs()
    return json_inputs(venue).map(lambda b: b.decode("utf-8", "replace"))


@pytest.mark.parametrize("venue", VENUE_NAMES)
def test_a_stream_frame_handler_never_raises(venue: str) -> None:
    """A market stream's frame handler: a malformed frame is one decode error (counted, handed to the
    engine naming its book when it names one), never an exception out of the handler."""
    with stream_handlers(venue) as (stream, recorder):

        @FUZZ
        @given(_frames(venue))
        def run(frame: bytes | str) -> None:
            before = stream.decode_errors
            recorder.call(stream._on_frame, frame, 1)
            assert stream.decode_errors in (before, before + 1)
            assert whole(stream)

        run()
        assert recorder.errors == stream.decode_errors
        assert set(recorder.named) <= {None, BTC}


@pytest.mark.parametrize("venue", VENUE_NAMES)
def test_a_user_stream_frame_handler_never_raises(venue: str) -> None:
    """A user stream's frame handler: a malformed push is one decode error naming no book."""
    with user_handlers(venue) as (stream, recorder):

        @FUZZ
        @given(_frames(venue))
        def run(frame: bytes | str) -> None:
            before = stream.decode_errors
            recorder.call(stream._on_frame, frame, 1)
            assert stream.decode_errors in (before, before + 1)

        run()
        assert recorder.errors == stream.decode_errors
        assert set(recorder.named) <= {None}
