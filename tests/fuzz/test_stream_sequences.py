"""Fuzzing the stateful book streams with sequences, not single frames.

One malformed frame at a time rarely reaches a stream's own book state: mutated frames almost never
decode, and a lone update never chains. Here a recorded book sequence (a snapshot and the updates
that chain onto it, from the shared samples) is replayed through a fresh stream with some frames
dropped, duplicated, swapped, given one bad number, or mangled. Whatever happens, each frame is at
most one decode error naming no book but the one it belongs to, nothing escapes the handler, and
the stream's own state stays self-consistent (OKX's checksum book); the unmutated sequence decodes
without a single error (its recorded checksums verify).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.streams import stream_handlers, whole
from tests.fuzz.targets import BTC
from tests.fuzz.test_decoders import FUZZ, JSON_VALUES, NUMBERS, SHARED, _leaves, _replace

FILES = {
    "okx": ["ws_books_btcusdt_snapshot_plus_5_updates_recorded.json", "ws_books_seqid_chain_SYNTH.json",
            "ws_books_docs_snapshot_and_update.json"],
    "bybit": ["ws_orderbook50_sequence_with_resets_SYNTH.json",
              "ws_orderbook50_spot_snapshot_plus_delta_recorded.json"],
}
# bad numbers as the venues spell numbers (strings): one of these in a level, an id or a checksum
BAD_TEXT = st.sampled_from(["NaN", "nan", "Infinity", "-Infinity", "inf", "-1", "-0.5", "0", "-0", "1e999",
                            "1e-999", "", "1_0", "0x10", " 1"])
OPS = ("keep", "keep", "keep", "keep", "drop", "duplicate", "swap", "number", "mangle")


def sequences(venue: str) -> list[list[Any]]:
    if SHARED is None:
        return []
    return [json.loads(Path(SHARED / venue / name).read_text()) for name in FILES[venue]
            if (SHARED / venue / name).is_file()]


def _level_leaves(frame: Any) -> list[tuple[Any, ...]]:
    """Paths of the numbers inside the frame's data (levels, ids, checksum)."""
    return [p for p in _leaves(frame) if p and p[0] == "data"]


@st.composite
def played(draw: st.DrawFn, venue: str) -> tuple[list[str], bool]:
    """A recorded sequence with some frames dropped / duplicated / swapped / spoilt; and whether it
    is still the recorded one."""
    frames = list(draw(st.sampled_from(sequences(venue))))
    out: list[Any] = []
    untouched = True
    i = 0
    while i < len(frames):
        op, frame = draw(st.sampled_from(OPS)), frames[i]
        untouched = untouched and op == "keep"
        if op == "keep":
            out.append(frame)
        elif op == "duplicate":
            out += [frame, frame]
        elif op == "swap" and i + 1 < len(frames):
            out += [frames[i + 1], frame]
            i += 1
        elif op == "number":
            path = draw(st.sampled_from(_level_leaves(frame) or [()]))
            out.append(_replace(frame, path, draw(BAD_TEXT | NUMBERS)) if path else frame)
        elif op == "mangle":
            path = draw(st.sampled_from(_leaves(frame)))
            out.append(_replace(frame, path, draw(JSON_VALUES)))
        i += 1
    return [json.dumps(f, allow_nan=True) for f in out], untouched


@pytest.mark.parametrize("venue", sorted(FILES))
def test_a_book_stream_survives_a_spoilt_sequence(venue: str) -> None:
    assert sequences(venue), f"{venue}: no recorded book sequence in the shared samples"

    @FUZZ
    @given(played(venue))
    def run(case: tuple[list[str], bool]) -> None:
        frames, untouched = case
        with stream_handlers(venue) as (stream, recorder):
            for frame in frames:
                before = stream.decode_errors
                recorder.call(stream._on_frame, frame, 1)
                assert stream.decode_errors in (before, before + 1)
                assert whole(stream)
            assert recorder.errors == stream.decode_errors and set(recorder.named) <= {None, BTC}
            if untouched:
                heartbeats = getattr(stream, "heartbeats", 0)  # OKX: no change, nothing handed on
                assert stream.decode_errors == 0 and recorder.depth + heartbeats == len(frames)

    run()
