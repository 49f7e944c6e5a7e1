"""Defects the stream fuzz found, each pinned by the frames that showed it.

OKX keeps its own exact-string copy of each book for the ``books`` checksum (`BookState`). A level
with a NaN price went into it as a NaN key: the sorted key list and the level map then disagreed,
and a later sequence reset (or any non-zero checksum) raised `KeyError` out of the frame handler,
which drops the socket and resyncs every book on it. A level is now refused at decode (price
finite and > 0, size finite and >= 0): one decode error naming the book, which alone resyncs.
"""

from __future__ import annotations

import json

import pytest

from arb.venues.okx import codec as ok
from tests.fuzz.streams import stream_handlers, whole
from tests.fuzz.targets import BTC

GOOD = [["100", "1", "0", "1"], ["99", "2", "0", "1"]]


def books(action: str, bids: list[list[str]], prev: int, seq: int, checksum: int = 0) -> str:
    return json.dumps({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": [
        {"bids": bids, "asks": [["101", "1", "0", "1"]], "ts": "1", "checksum": checksum, "prevSeqId": prev,
         "seqId": seq}]})


@pytest.mark.parametrize("level", [["NaN", "1"], ["Infinity", "1"], ["-100", "1"], ["0", "1"], ["98", "NaN"],
                                   ["98", "-1.5"], ["98", "inf"]],
                         ids=["nan-price", "inf-price", "negative-price", "zero-price", "nan-size",
                              "negative-size", "inf-size"])
def test_an_okx_bad_level_is_one_decode_error_of_its_book(level: list[str]) -> None:
    with stream_handlers("okx") as (stream, recorder):
        recorder.call(stream._on_frame, books("snapshot", GOOD, -1, 10), 1)
        recorder.call(stream._on_frame, books("update", [[*level, "0", "1"]], 10, 11), 1)
        assert (stream.decode_errors, recorder.named, recorder.resubscribed) == (1, [BTC], 1)
        assert whole(stream)
        # what used to raise KeyError: later deletes, then a reset that hands the whole book on
        recorder.call(stream._on_frame, books("snapshot", GOOD, -1, 20), 1)
        recorder.call(stream._on_frame, books("update", [["98", "1", "0", "1"]], 20, 21), 1)
        gone = [["99", "0", "0", "1"], ["100", "0", "0", "1"]]
        recorder.call(stream._on_frame, books("update", gone, 21, 22), 1)
        recorder.call(stream._on_frame, books("update", [["97", "1", "0", "1"]], 22, 22), 1)
        assert whole(stream) and stream.decode_errors == 1 and stream.resets == 1
        assert stream._books["BTC-USDT"].book()[0] == [(98.0, 1.0), (97.0, 1.0)]


def test_okx_levels_refuse_what_no_book_holds() -> None:
    rows = [["30000.1", "0.5", "0", "2"], ["30000", "0", "0", "0"]]
    assert ok.levels(rows) == [(30000.1, 0.5), (30000.0, 0.0)]
    for row in (["nan", "1"], ["1", "-0.1"], ["-1", "1"], ["1e999", "1"]):
        with pytest.raises(ValueError, match="price must be finite"):
            ok.levels([row])
