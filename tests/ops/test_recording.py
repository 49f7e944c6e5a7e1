"""The recording format: append-only venue files, a manifest, a readable prefix after a kill."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from arb.model import OrderBook, OrderBookLevel, Symbol, SymbolInfo, SymbolStatus
from arb.ops.recording import (
    MANIFEST,
    Kind,
    Manifest,
    Recording,
    RecordingWriter,
    decode_snapshot,
    decode_state,
)

BTC = Symbol("BTC", "USDT")


def _manifest() -> Manifest:
    info = SymbolInfo("binance", BTC, "BTCUSDT", SymbolStatus.TRADING, Decimal("0.01"), Decimal("0.00001"))
    return Manifest(venues=["binance", "mexc"], symbols=["BTC/USDT"], started_ns=100,
                    symbol_info={"binance": [info]})


def _write(directory: Path) -> None:
    writer = RecordingWriter(directory, _manifest())
    writer.state("binance", 101, True, [BTC])
    writer.frame("binance", '{"stream":"btcusdt@depth@100ms"}', 105)
    writer.frame("mexc", b"\x0a\x03pb\xff", 103)
    book = OrderBook("mexc", BTC, [OrderBookLevel(99.5, 1.25)], [OrderBookLevel(100.5, 0.5)], 42, 7, 104)
    writer.snapshot("mexc", book)
    writer.frame("binance", '{"stream":"x"}', 110)
    writer.close(ended_ns=120)


def test_records_come_back_in_receive_time_order_with_their_payloads(tmp_path: Path) -> None:
    _write(tmp_path)
    recording = Recording(tmp_path)
    records = list(recording.records())
    assert [(r.ts_ns, r.venue, r.kind) for r in records] == [
        (101, "binance", Kind.STATE), (103, "mexc", Kind.BINARY), (104, "mexc", Kind.SNAPSHOT),
        (105, "binance", Kind.TEXT), (110, "binance", Kind.TEXT),
    ]
    assert records[1].payload == b"\x0a\x03pb\xff"  # binary frames byte for byte
    assert records[3].payload.decode() == '{"stream":"btcusdt@depth@100ms"}'
    book = decode_snapshot(records[2].payload)
    assert (book.update_id, book.bids[0].price, book.asks[0].size, book.ts_recv) == (42, 99.5, 0.5, 104)
    state = decode_state(records[0].payload)
    assert state.connected and state.symbols == [BTC]
    manifest = recording.manifest
    assert manifest.ended_ns == 120 and manifest.counts["binance"]["TEXT"] == 2
    assert manifest.symbol_info["binance"][0].step_size == Decimal("0.00001")
    assert not recording.truncated and recording.position == recording.size


def test_a_killed_recorder_leaves_a_readable_prefix(tmp_path: Path) -> None:
    _write(tmp_path)
    path = tmp_path / "binance.rec"
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # the last record torn mid-payload
    recording = Recording(tmp_path)
    records = list(recording.records())
    assert [r.ts_ns for r in records if r.venue == "binance"] == [101, 105]
    assert recording.truncated


def test_an_existing_recording_is_never_overwritten(tmp_path: Path) -> None:
    _write(tmp_path)
    with pytest.raises(FileExistsError):
        RecordingWriter(tmp_path, _manifest())


def test_foreign_or_newer_manifests_are_refused(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text('{"format": "arb-recording", "version": 99, "venues": [], '
                                     '"symbols": [], "started_ns": 1}')
    with pytest.raises(ValueError, match="v99"):
        Recording(tmp_path)
    with pytest.raises(ValueError, match="manifest"):
        Recording(tmp_path / "missing")
