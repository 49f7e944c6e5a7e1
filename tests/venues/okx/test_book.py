"""The `books` channel's sequencing and checksum (`BookState`) on the recorded and synthesized sequences:
checksummed pushes keep the exact-string book (EXACT) and verify it, checksum-0 pushes (OKX since
2026-06-23) go on as numbers only (FAST), and both modes hold the same book."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from arb.venues.okx import codec
from arb.venues.okx.books import BookMode, BookState, Verdict, checksum_of, feed_push


def feed(state: BookState, frame: object) -> list[Verdict]:
    """One frame through `feed_push`, as the stream takes it."""
    msg = codec.decode_ws(json.dumps(frame))
    return [verdict for _, verdict, _, _ in feed_push(state, msg.action, msg.data)]


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
    assert state.mode is BookMode.EXACT
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
    assert state.mode is BookMode.FAST and state.last == 123457
    data: Any = frames[-1]["data"]
    assert state.book() == (codec.levels(data[0]["bids"]), codec.levels(data[0]["asks"]))


def zeroed(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The frames as OKX sends them since 2026-06-23: checksum 0."""
    out = json.loads(json.dumps(frames))
    for frame in out:
        for item in frame["data"]:
            item["checksum"] = 0
    return out  # type: ignore[no-any-return]


BOOK_SAMPLES = ["ws_books_btcusdt_snapshot_plus_5_updates_recorded.json", "ws_books_seqid_chain_SYNTH.json",
                "ws_books_docs_snapshot_and_update.json", "ws_books5_push_docs.json",
                "ws_bbo_tbt_push_docs.json"]


@pytest.mark.parametrize("name", BOOK_SAMPLES)
def test_every_books_sample_decodes_to_the_same_levels_as_numbers(samples_dir: Path, name: str) -> None:
    """The fast path (levels decoded as numbers in C) against the string path (`codec.levels`), level
    for level, on every real and synthesized OKX book push."""
    raw = json.loads((samples_dir / "okx" / name).read_text())
    frames = raw if isinstance(raw, list) else [raw]
    compared = 0
    for frame in frames:
        data = codec.decode_ws(json.dumps(frame)).data
        for fast, text in zip(codec.decode_book_numbers(data), codec.decode_books(data), strict=True):
            sides = codec.book_buffers(fast)
            for (prices, sizes), strings in zip(sides, (text.bids, text.asks), strict=True):
                assert list(zip(prices, sizes, strict=True)) == codec.levels(strings)
                compared += len(strings)
            assert (fast.checksum, fast.prevSeqId, fast.seqId) == (text.checksum, text.prevSeqId, text.seqId)
    assert compared > 0


def test_a_checksum_0_sequence_never_builds_the_string_book(samples_dir: Path) -> None:
    """The recorded 400-level capture with its checksums zeroed: every push FAST, no price or size
    text kept at any point, and the book equal to the verified EXACT run's after every push."""
    frames = sequence(samples_dir, "ws_books_btcusdt_snapshot_plus_5_updates_recorded.json")
    fast, exact = BookState(), BookState()
    for plain, checked in zip(zeroed(frames), frames, strict=True):
        assert feed(fast, plain) == feed(exact, checked)
        assert fast.mode is BookMode.FAST and exact.mode is BookMode.EXACT
        assert not fast.bids.levels and not fast.asks.levels and not fast.bids.keys and not fast.asks.keys
        assert fast.book() == exact.book() and fast.synced
    assert len(fast.book()[0]) == 400


def test_a_zero_checksum_in_exact_mode_drops_the_strings(samples_dir: Path) -> None:
    """OKX's 2026-06-23 switch mid-stream: the book goes on as numbers, unchanged, and stays FAST."""
    frames = sequence(samples_dir, "ws_books_seqid_chain_SYNTH.json")
    state, reference = BookState(), BookState()
    switched = frames[:2] + zeroed(frames[2:])
    verdicts = [v for frame in switched for v in feed(state, frame)]
    assert verdicts == [v for frame in frames for v in feed(reference, frame)]
    assert state.mode is BookMode.FAST and not state.bids.levels and not state.asks.levels
    assert state.book() == reference.book() and reference.mode is BookMode.EXACT


def test_a_checksum_on_a_fast_book_is_unverified_but_applied(samples_dir: Path) -> None:
    """A FAST book cannot check a non-zero checksum on an update (no strings kept): applied all the
    same, and `unverified` says the instrument needs a checksummed snapshot; that snapshot starts
    EXACT mode and the checksums verify from there."""
    frames = sequence(samples_dir, "ws_books_seqid_chain_SYNTH.json")
    state, reference = BookState(), BookState()
    for frame in frames:
        feed(reference, frame)
    plain = zeroed(frames)
    assert feed(state, plain[0]) == [Verdict.SNAPSHOT]
    msg = codec.decode_ws(json.dumps(frames[1]))
    [(item, verdict, _, _)] = list(feed_push(state, msg.action, msg.data))
    assert verdict is Verdict.APPLIED and state.unverified(item, verdict) and state.mode is BookMode.FAST
    for frame in plain[2:]:
        feed(state, frame)
    assert state.book() == reference.book()
    assert feed(state, frames[0]) == [Verdict.SNAPSHOT] and state.mode is BookMode.EXACT
    assert feed(state, frames[1]) == [Verdict.APPLIED] and state.synced  # its checksum verified


def test_a_reset_in_fast_mode_hands_the_same_book_on(samples_dir: Path) -> None:
    """The synthesized chain's sequence reset with checksum 0: same verdicts and ids as EXACT mode,
    and the whole book (what the stream hands on at a reset) from the numbers."""
    frames = zeroed(sequence(samples_dir, "ws_books_seqid_chain_SYNTH.json"))
    state = BookState()
    got = []
    for frame in frames:
        for verdict in feed(state, frame):
            got.append((verdict, state.prev, state.last))
            if verdict is Verdict.RESET:
                assert state.book() == ([(30000.15, 0.7), (30000.0, 1.2), (29999.5, 0.3)],
                                        [(30000.2, 0.25), (30000.5, 0.1)])
    assert [v for v, _, _ in got] == [Verdict.SNAPSHOT, Verdict.APPLIED, Verdict.HEARTBEAT, Verdict.APPLIED,
                                      Verdict.RESET, Verdict.APPLIED]
    assert got[4][1:] == (110, 3) and state.mode is BookMode.FAST
    assert state.book() == ([(30000.15, 0.7), (30000.0, 1.2), (29999.5, 0.35)],
                            [(30000.2, 0.25), (30000.5, 0.1), (30002.0, 1.0)])


def _random_push(rng: random.Random, action: str, prev: int, seq: int) -> dict[str, Any]:
    sizes = ["0.5", "1.25", "3", "0.010"] + ([] if action == "snapshot" else ["0", "0"])

    def side(base: int, sign: int) -> list[list[str]]:  # distinct prices, as a push has them
        ticks = rng.sample(range(41), rng.randint(0, 12))
        return [[f"{base + sign * t / 10:g}", rng.choice(sizes), "0", str(rng.randint(0, 4))] for t in ticks]

    bids = side(1000, -1) + ([["900", "7", "0", "1"]] if action == "snapshot" else [])  # never emptied
    return {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": action, "data": [
        {"asks": side(1005, 1), "bids": bids, "ts": "1", "checksum": 0, "prevSeqId": prev, "seqId": seq}]}


class TextBook:
    """The test's own exact-string book (fact sheet §1.9), for the checksum each push should carry."""

    def __init__(self) -> None:
        self.sides: tuple[dict[float, tuple[str, str]], dict[float, tuple[str, str]]] = ({}, {})

    def apply(self, item: dict[str, Any], snapshot: bool) -> int:
        if snapshot:
            self.sides = ({}, {})
        for side, rows in zip(self.sides, (item["bids"], item["asks"]), strict=True):
            for px, sz, *_ in rows:
                if float(sz) == 0:
                    side.pop(float(px), None)
                else:
                    side[float(px)] = (px, sz)
        bids = [self.sides[0][k] for k in sorted(self.sides[0], reverse=True)[:25]]
        asks = [self.sides[1][k] for k in sorted(self.sides[1])[:25]]
        return checksum_of(bids, asks)


@pytest.mark.parametrize("seed", range(6))
def test_fast_and_exact_books_agree_on_random_pushes(seed: int) -> None:
    """Random snapshots, updates, deletes of absent levels and resets: the numbers-only book (checksum
    0) and the exact-string book (each push carrying its true checksum, verified) stay equal."""
    rng = random.Random(seed)
    fast, exact, text = BookState(), BookState(), TextBook()
    seq = resets = 0
    for n in range(150):
        if n == 0 or rng.random() < 0.05:
            frame, seq = _random_push(rng, "snapshot", -1, seq + 1), seq + 1
        elif rng.random() < 0.05:
            frame, seq = _random_push(rng, "update", seq, max(1, seq - 7)), max(1, seq - 7)  # a reset
        else:
            frame, seq = _random_push(rng, "update", seq, seq + 3), seq + 3
        checked = json.loads(json.dumps(frame))
        checked["data"][0]["checksum"] = text.apply(frame["data"][0], frame["action"] == "snapshot")
        verdicts = feed(fast, frame)
        assert verdicts == feed(exact, checked) and Verdict.CHECKSUM not in verdicts
        resets += verdicts.count(Verdict.RESET)
        assert fast.mode is BookMode.FAST and exact.mode is BookMode.EXACT
        assert fast.book() == exact.book()
        assert not fast.bids.levels and not fast.asks.levels
    assert resets > 0
