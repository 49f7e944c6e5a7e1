"""The `books` channel's sequencing and checksum (`BookState`) on the recorded and synthesized sequences."""

from __future__ import annotations

import json
from pathlib import Path

from arb.venues.okx import codec
from arb.venues.okx.stream import BookState, Verdict, _levels, checksum_of


def feed(state: BookState, frame: object) -> list[Verdict]:
    msg = codec.decode_ws(json.dumps(frame))
    out = []
    for item in codec.decode_books(msg.data):
        bids, asks = _levels(item)
        out.append(state.feed(msg.action, item, bids, asks))
    return out


def sequence(samples: Path, name: str) -> list[dict[str, object]]:
    frames: list[dict[str, object]] = json.loads((samples / "okx" / name).read_text())
    return frames


def test_fact_sheet_worked_examples() -> None:
    assert checksum_of([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]) == -1881014294
    assert checksum_of([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]) == 831078360


def test_recorded_2022_sequence_every_checksum_matches(samples_dir: Path) -> None:
    """The real BTC-USDT capture (400+400 levels, no seq ids yet): each pushed CRC32 is re-computed."""
    frames = sequence(samples_dir, "ws_books_btcusdt_snapshot_plus_5_updates_recorded.json")
    state = BookState()
    verdicts = [v for frame in frames for v in feed(state, frame)]
    assert verdicts == [Verdict.SNAPSHOT] + [Verdict.APPLIED] * 5
    assert state.checksum() == frames[-1]["data"][0]["checksum"]  # type: ignore[index]
    bids, asks = state.book()
    assert len(bids) == len(asks) == 400  # the server keeps the window: never truncated locally
    assert bids[0][0] > bids[1][0] and asks[0][0] < asks[1][0] and bids[0][0] < asks[0][0]


def test_recorded_sequence_with_a_tampered_size_fails_the_checksum(samples_dir: Path) -> None:
    frames = sequence(samples_dir, "ws_books_btcusdt_snapshot_plus_5_updates_recorded.json")
    tampered = json.loads(json.dumps(frames[2]))
    level = tampered["data"][0]["bids"][0] if tampered["data"][0]["bids"] else tampered["data"][0]["asks"][0]
    level[1] = str(float(level[1]) + 1)
    state = BookState()
    feed(state, frames[0])
    feed(state, frames[1])
    assert feed(state, tampered) == [Verdict.CHECKSUM] and not state.synced
    assert feed(state, frames[3]) == [Verdict.UNSYNCED]  # nothing checked until the next snapshot
    assert feed(state, frames[0]) == [Verdict.SNAPSHOT] and state.synced


def test_synthesized_chain_heartbeat_and_reset(samples_dir: Path) -> None:
    frames = sequence(samples_dir, "ws_books_seqid_chain_SYNTH.json")
    state = BookState()
    got = [(v, state.prev, state.last) for frame in frames for v in feed(state, frame)]
    assert got == [
        (Verdict.SNAPSHOT, -1, 100),
        (Verdict.APPLIED, 100, 104),
        (Verdict.HEARTBEAT, 104, 104),  # empty, seqId == prevSeqId: accepted, nothing applied
        (Verdict.APPLIED, 104, 110),
        (Verdict.RESET, 110, 3),  # seqId < prevSeqId: still chained, numbering restarts
        (Verdict.APPLIED, 3, 5),
    ]
    bids, asks = state.book()
    assert bids == [(30000.15, 0.7), (30000.0, 1.2), (29999.5, 0.35)]
    assert asks == [(30000.2, 0.25), (30000.5, 0.1), (30002.0, 1.0)]


def test_a_broken_chain_is_a_gap(samples_dir: Path) -> None:
    frames = sequence(samples_dir, "ws_books_seqid_chain_SYNTH.json")
    state = BookState()
    feed(state, frames[0])
    assert feed(state, frames[3]) == [Verdict.GAP] and not state.synced  # prevSeqId 104 after seqId 100
    assert (state.prev, state.last) == (104, 110)


def test_zero_checksum_is_not_verified(samples_dir: Path) -> None:
    """The current docs example: checksum 0 (OKX's value since 2026-06-23) beside levels it does not match."""
    frames = sequence(samples_dir, "ws_books_docs_snapshot_and_update.json")
    state = BookState()
    assert [v for frame in frames for v in feed(state, frame)] == [Verdict.SNAPSHOT, Verdict.APPLIED]
    assert state.checksum() != 0 and state.last == 123457
