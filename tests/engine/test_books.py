"""BookSync: bridge rules, gaps, duplicates, stream snapshots, invalidation, real recorded sequences."""

from __future__ import annotations

import asyncio
import json
import os
from array import array
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arb.engine.books import BookStore, SyncState
from arb.model import OrderBook, OrderBookLevel, Symbol
from arb.venues.base import DepthUpdate

SYM = Symbol("BTC", "USDT")


def d(*values: float) -> array[float]:
    return array("d", values)


def diff(first: int, last: int, bids: dict[float, float] | None = None,
         asks: dict[float, float] | None = None, *, venue: str = "binance", symbol: Symbol = SYM,
         snapshot: bool = False) -> DepthUpdate:
    bids, asks = bids or {}, asks or {}
    return DepthUpdate(venue, symbol, first, last, d(*bids), d(*bids.values()), d(*asks), d(*asks.values()),
                       ts_event=last, ts_recv=last, is_snapshot=snapshot)


def snap(update_id: int, bids: dict[float, float], asks: dict[float, float]) -> OrderBook:
    return OrderBook("binance", SYM, [OrderBookLevel(p, s) for p, s in bids.items()],
                     [OrderBookLevel(p, s) for p, s in asks.items()], update_id=update_id)


class Harness:
    def __init__(self, snapshots: list[OrderBook | Exception]) -> None:
        self.snapshots = snapshots
        self.fetches = 0
        self.updates: list[tuple[str, Symbol, int]] = []
        self.store = BookStore(self.fetch, self.on_update, clock_ns=lambda: 0, retry_backoff_s=0.0,
                               sleep=self._sleep)

    async def _sleep(self, _: float) -> None:
        await asyncio.sleep(0)

    async def fetch(self, venue: str, symbol: Symbol, limit: int) -> OrderBook:
        self.fetches += 1
        await asyncio.sleep(0)
        item = self.snapshots[min(self.fetches - 1, len(self.snapshots) - 1)]
        if isinstance(item, Exception):
            raise item
        return item

    def on_update(self, venue: str, symbol: Symbol, book: Any, ts_event: int) -> None:
        self.updates.append((venue, symbol, book.update_id))


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_buffered_diffs_bridge_onto_the_snapshot() -> None:
    h = Harness([snap(100, {10.0: 1.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    assert store.state("binance", SYM) is SyncState.BUFFERING
    store.on_depth(diff(95, 99, {9.0: 5.0}))  # entirely before the snapshot: dropped
    store.on_depth(diff(100, 102, {10.0: 2.0}))  # straddles V+1 = 101: the bridge
    store.on_depth(diff(103, 103, asks={11.5: 1.0}))
    assert not store.is_synced("binance", SYM)
    await settle()
    assert store.is_synced("binance", SYM)
    book = store.book("binance", SYM)
    assert book.update_id == 103 and book.top(True, 5) == [(10.0, 2.0)]
    assert book.top(False, 5) == [(11.0, 1.0), (11.5, 1.0)]
    store.on_depth(diff(104, 105, {10.0: 0.0, 9.5: 1.0}))
    assert book.best_bid() == (9.5, 1.0) and h.updates[-1] == ("binance", SYM, 105)
    store.on_depth(diff(104, 105, {9.5: 7.0}))  # duplicate: ignored
    assert book.best_bid() == (9.5, 1.0) and store.sync("binance", SYM).duplicates == 1
    await store.close()


async def test_snapshot_older_than_stream_is_fetched_again_buffer_kept() -> None:
    h = Harness([snap(100, {10.0: 1.0}, {11.0: 1.0}), snap(110, {10.0: 3.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    store.on_depth(diff(105, 111, {10.0: 4.0}))  # starts after 101: first snapshot too old
    await settle()
    assert h.fetches == 2 and store.is_synced("binance", SYM)
    assert store.book("binance", SYM).best_bid() == (10.0, 4.0)


async def test_empty_buffer_then_first_diff_must_straddle() -> None:
    h = Harness([snap(100, {10.0: 1.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    await settle()
    assert store.is_synced("binance", SYM)  # nothing buffered: the snapshot alone is the book
    store.on_depth(diff(99, 102, {10.0: 2.0}))  # 99 <= 101 <= 102: bridges
    assert store.book("binance", SYM).update_id == 102
    store.on_depth(diff(104, 104, {10.0: 3.0}))  # gap
    assert store.state("binance", SYM) in (SyncState.INVALID, SyncState.RESYNCING)
    assert store.sync("binance", SYM).gaps == 1
    assert store.book("binance", SYM).best_bid() == (10.0, 2.0)  # the gapped diff was not applied


async def test_gap_invalidates_only_that_symbol_and_resyncs() -> None:
    other = Symbol("ETH", "USDT")
    h = Harness([snap(100, {10.0: 1.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    store.add("binance", other)
    await settle()
    store.on_depth(diff(101, 101, {10.0: 1.5}, symbol=other))
    store.on_depth(diff(150, 151, {10.0: 2.0}))
    assert not store.is_synced("binance", SYM) and store.is_synced("binance", other)
    h.snapshots.append(snap(150, {10.0: 9.0}, {11.0: 1.0}))
    await settle()
    assert store.is_synced("binance", SYM) and store.book("binance", SYM).best_bid() == (10.0, 2.0)
    assert store.sync("binance", SYM).resyncs == 2


async def test_crossed_book_and_decode_error_and_disconnect_invalidate() -> None:
    h = Harness([snap(100, {10.0: 1.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    await settle()
    store.on_depth(diff(101, 101, {12.0: 1.0}))  # bid above the ask
    assert not store.is_synced("binance", SYM) and store.sync("binance", SYM).crossed == 1
    assert h.updates == [("binance", SYM, 100)]  # the crossed book was never offered
    await settle()
    h.snapshots.append(snap(200, {10.0: 1.0}, {11.0: 1.0}))
    await settle()
    store.on_decode_error("binance", SYM)
    assert store.sync("binance", SYM).decode_errors == 1 and not store.is_synced("binance", SYM)
    await settle()
    store.on_stream_state("binance", False, [SYM])
    assert store.state("binance", SYM) is SyncState.INVALID
    await settle()
    assert store.state("binance", SYM) is SyncState.INVALID  # waits for the connection
    store.on_stream_state("binance", True, [SYM])
    await settle()
    assert store.is_synced("binance", SYM)
    await store.close()


async def test_stream_snapshots_replace_the_book() -> None:
    h = Harness([RuntimeError("REST down")])
    store = h.store
    store.add("gateio", SYM)
    store.on_depth(diff(500, 500, {10.0: 1.0, 9.0: 1.0}, {11.0: 1.0}, venue="gateio", snapshot=True))
    assert store.is_synced("gateio", SYM) and store.book("gateio", SYM).update_id == 500
    store.on_depth(diff(501, 502, {9.0: 0.0}, venue="gateio"))
    assert store.book("gateio", SYM).top(True, 5) == [(10.0, 1.0)]
    await store.close()


async def test_snapshot_failures_back_off_and_keep_the_buffer() -> None:
    h = Harness([RuntimeError("boom"), RuntimeError("boom"), snap(100, {10.0: 1.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    store.on_depth(diff(101, 101, {10.0: 5.0}))
    await settle()
    sync = store.sync("binance", SYM)
    assert store.is_synced("binance", SYM) and sync.snapshot_failures == 2 and sync.snapshot_fetches == 3
    assert store.book("binance", SYM).best_bid() == (10.0, 5.0)


async def test_resync_storm_respects_the_concurrency_cap() -> None:
    in_flight = peak = 0

    async def fetch(venue: str, symbol: Symbol, limit: int) -> OrderBook:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        return snap(100, {10.0: 1.0}, {11.0: 1.0})

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0, max_resyncs=3)
    symbols = [Symbol(f"C{i}", "USDT") for i in range(50)]
    for s in symbols:
        store.add("binance", s)
    await asyncio.sleep(0.1)
    assert all(store.is_synced("binance", s) for s in symbols) and peak == 3


async def test_stale_books_are_invalidated() -> None:
    h = Harness([snap(100, {10.0: 1.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    await settle()
    assert store.check_stale(now_ns=10**9, max_age_ns=5 * 10**8)[0].symbol == SYM
    assert store.sync("binance", SYM).last_reason == "stale"


# --------------------------------------------------------------------------- real recordings


def _levels(rows: list[list[str]]) -> dict[float, float]:
    return {float(p): float(q) for p, q in rows}


def _replay_dict(
    book: dict[bool, dict[float, float]], bids: dict[float, float], asks: dict[float, float]
) -> None:
    for side, levels in ((True, bids), (False, asks)):
        for p, q in levels.items():
            if q == 0:
                book[side].pop(p, None)
            else:
                book[side][p] = q


@pytest.mark.parametrize(
    ("venue", "snapshot_file", "stream_file", "pair"),
    [
        ("binance", "binance/depth_snapshot_NKNUSDT.json",
         "binance/ws_depth_update_sequence_NKNUSDT.json", None),
        ("binance", "binance/depth_snapshot_LRCBTC.json",
         "binance/ws_depth_update_sequence_LRCBTC.json", None),
        ("gateio", "gateio/order_book_snapshot_OMG_USDT.json",
         "gateio/ws_order_book_update_sequence_OMG_USDT.json", "OMG_USDT"),
        ("gateio", "gateio/order_book_snapshot_NEO_BTC.json",
         "gateio/ws_order_book_update_sequence_NEO_BTC.json", "NEO_BTC"),
        ("gateio", "gateio/order_book_snapshot_HAI_ETH.json",
         "gateio/ws_order_book_update_sequence_HAI_ETH.json", "HAI_ETH"),
    ],
)
async def test_recorded_sequences_sync_without_gaps(samples_dir: Path, venue: str, snapshot_file: str,
                                                    stream_file: str, pair: str | None) -> None:
    raw_snap = json.loads((samples_dir / snapshot_file).read_text())
    frames = json.loads((samples_dir / stream_file).read_text())
    version = raw_snap["lastUpdateId"] if venue == "binance" else raw_snap["id"]
    bids, asks = _levels(raw_snap["bids"]), _levels(raw_snap["asks"])
    snapshot = OrderBook(venue, SYM, [OrderBookLevel(p, s) for p, s in bids.items()],
                         [OrderBookLevel(p, s) for p, s in asks.items()], update_id=version)

    async def fetch(v: str, s: Symbol, limit: int) -> OrderBook:
        return snapshot

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0)
    store.add(venue, SYM, start=False)
    expected: dict[bool, dict[float, float]] = {True: dict(bids), False: dict(asks)}
    last = version
    for frame in frames:
        data = frame["data"] if venue == "binance" else frame["result"]
        if pair is not None and data["s"] != pair:
            continue
        fb, fa = _levels(data["b"]), _levels(data["a"])
        store.on_depth(diff(data["U"], data["u"], fb, fa, venue=venue))
        if data["u"] > last:  # the independent oracle applies exactly the frames after the snapshot
            _replay_dict(expected, fb, fa)
            last = data["u"]
    store._spawn_resync(store.sync(venue, SYM))
    await asyncio.sleep(0.01)
    sync = store.sync(venue, SYM)
    assert sync.state is SyncState.SYNCED and sync.gaps == 0
    book = store.book(venue, SYM)
    assert book.update_id == last > version
    assert book.best_bid() == (max(expected[True]), expected[True][max(expected[True])])
    assert book.best_ask() == (min(expected[False]), expected[False][min(expected[False])])
    assert book.top(True, 10_000) == sorted(expected[True].items(), reverse=True)
    assert book.top(False, 10_000) == sorted(expected[False].items())
    await store.close()


@pytest.mark.parametrize(
    ("venue", "snapshot_file", "stream_file", "last_id", "best_bid", "best_ask"),
    [
        ("binance", "binance/depth_snapshot_NKNUSDT.json", "binance/ws_depth_update_sequence_NKNUSDT.json",
         499870179, (0.3527, 9602.0), (0.3531, 152.0)),
        ("binance", "binance/depth_snapshot_LRCBTC.json", "binance/ws_depth_update_sequence_LRCBTC.json",
         259345563, (6.37e-06, 2500.0), (6.38e-06, 2285.0)),
        ("gateio", "gateio/order_book_snapshot_OMG_USDT.json",
         "gateio/ws_order_book_update_sequence_OMG_USDT.json", 59231950, (7.899, 288.0), (7.927, 316.6)),
    ],
)
async def test_recorded_sequences_end_at_known_prices(
    samples_dir: Path, venue: str, snapshot_file: str, stream_file: str, last_id: int,
    best_bid: tuple[float, float], best_ask: tuple[float, float],
) -> None:
    """Concrete anchors read once from the recordings (the best levels after the last frame)."""
    raw = json.loads((samples_dir / snapshot_file).read_text())
    snapshot = OrderBook(venue, SYM, [OrderBookLevel(float(p), float(q)) for p, q in raw["bids"]],
                         [OrderBookLevel(float(p), float(q)) for p, q in raw["asks"]],
                         update_id=raw["lastUpdateId"] if venue == "binance" else raw["id"])

    async def fetch(v: str, s: Symbol, limit: int) -> OrderBook:
        return snapshot

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0)
    store.add(venue, SYM)
    for frame in json.loads((samples_dir / stream_file).read_text()):
        data = frame["data"] if venue == "binance" else frame["result"]
        if venue == "gateio" and data["s"] != "OMG_USDT":
            continue
        store.on_depth(diff(data["U"], data["u"], _levels(data["b"]), _levels(data["a"]), venue=venue))
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    book = store.book(venue, SYM)
    assert store.is_synced(venue, SYM) and book.update_id == last_id
    assert book.best_bid() == best_bid and book.best_ask() == best_ask
    await store.close()


# --------------------------------------------------------------------------- property


@st.composite
def faulty_streams(draw: st.DrawFn) -> tuple[list[DepthUpdate], dict[int, dict[bool, dict[float, float]]],
                                             list[int]]:
    """A true diff stream, the true book after each diff, and a faulty delivery order."""
    state: dict[bool, dict[float, float]] = {True: {99.0: 1.0}, False: {101.0: 1.0}}
    states = {100: {True: dict(state[True]), False: dict(state[False])}}
    diffs = []
    next_id = 101
    for _ in range(draw(st.integers(5, 40))):
        span = draw(st.integers(1, 3))
        changes = draw(st.lists(
            st.tuples(st.booleans(), st.integers(0, 8), st.sampled_from([0.0, 1.0, 2.5, 7.0])),
            min_size=1, max_size=4,
        ))
        bids: dict[float, float] = {}
        asks: dict[float, float] = {}
        for is_bid, k, size in changes:
            price = 99.0 - k if is_bid else 101.0 + k
            (bids if is_bid else asks)[price] = size
        _replay_dict(state, bids, asks)
        diffs.append(diff(next_id, next_id + span - 1, bids, asks))
        next_id += span
        states[next_id - 1] = {True: dict(state[True]), False: dict(state[False])}
    order: list[int] = []
    for i in range(len(diffs)):
        fate = draw(st.sampled_from(["ok"] * 6 + ["drop", "dup", "swap"]))
        if fate == "drop":
            continue
        order.append(i)
        if fate == "dup":
            order.append(i)
        elif fate == "swap" and len(order) >= 2:
            order[-1], order[-2] = order[-2], order[-1]
    return diffs, states, order


@settings(max_examples=150 if not os.environ.get("CI") else 60, deadline=None)
@given(faulty_streams())
def test_random_drop_duplicate_reorder_never_exposes_a_wrong_book(
    case: tuple[list[DepthUpdate], dict[int, dict[bool, dict[float, float]]], list[int]],
) -> None:
    diffs, states, order = case
    server = {"head": 100}

    async def fetch(venue: str, symbol: Symbol, limit: int) -> OrderBook:
        await asyncio.sleep(0)
        truth = states[server["head"]]
        return OrderBook(venue, symbol, [OrderBookLevel(p, s) for p, s in truth[True].items()],
                         [OrderBookLevel(p, s) for p, s in truth[False].items()], update_id=server["head"])

    seen: list[int] = []

    def on_update(venue: str, symbol: Symbol, book: Any, ts_event: int) -> None:
        truth = states[book.update_id]  # whatever reaches the detector is exactly the truth
        assert book.top(True, 100) == sorted(truth[True].items(), reverse=True)
        assert book.top(False, 100) == sorted(truth[False].items())
        seen.append(book.update_id)

    async def scenario() -> None:
        async def no_sleep(_: float) -> None:
            await asyncio.sleep(0)

        store = BookStore(fetch, on_update, clock_ns=lambda: 0, sleep=no_sleep)
        store.add("binance", SYM)
        for index in order:
            server["head"] = max(server["head"], diffs[index].last_id)
            store.on_depth(diffs[index])
            sync = store.sync("binance", SYM)
            if sync.state is SyncState.SYNCED:
                truth = states[sync.book.update_id]
                assert sync.book.top(True, 100) == sorted(truth[True].items(), reverse=True)
                assert sync.book.top(False, 100) == sorted(truth[False].items())
            for _ in range(3):
                await asyncio.sleep(0)
        await store.close()

    asyncio.run(scenario())
    assert seen  # the scenario did reach SYNCED books (and each one was checked)


NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(("bids", "asks", "ids"), [
    ({NAN: 1.0}, {}, (101, 101)),
    ({10.0: 1.0}, {INF: 1.0}, (101, 101)),
    ({-10.0: 1.0}, {}, (101, 101)),
    ({0.0: 1.0}, {}, (101, 101)),
    ({10.0: -1.0}, {}, (101, 101)),
    ({10.0: NAN}, {}, (101, 101)),
    ({10.0: 2.0}, {}, (103, 101)),  # U > u
], ids=["nan-price", "inf-price", "negative-price", "zero-price", "negative-size", "nan-size", "U>u"])
async def test_a_malformed_diff_is_a_decode_error_of_that_book_only(
    bids: dict[float, float], asks: dict[float, float], ids: tuple[int, int],
) -> None:
    other = Symbol("ETH", "USDT")
    h = Harness([snap(100, {10.0: 1.0}, {11.0: 1.0})])
    store = h.store
    store.add("binance", SYM)
    store.add("binance", other)
    await settle()
    store.on_depth(diff(*ids, bids, asks))  # never raises
    sync = store.sync("binance", SYM)
    assert sync.decode_errors == 1 and store.malformed_updates == 1
    assert store.state("binance", SYM) is not SyncState.SYNCED and "malformed update" in sync.last_reason
    assert store.is_synced("binance", other) and store.sync("binance", other).decode_errors == 0
    h.snapshots.append(snap(101, {10.0: 3.0}, {11.0: 1.0}))
    await settle()
    assert store.is_synced("binance", SYM) and store.book("binance", SYM).best_bid() == (10.0, 3.0)
    await store.close()


async def test_a_malformed_stream_snapshot_invalidates_only_that_book() -> None:
    h = Harness([RuntimeError("REST down")])
    store = h.store
    store.add("gateio", SYM, start=False)
    store.on_depth(diff(500, 500, {NAN: 1.0}, {11.0: 1.0}, venue="gateio", snapshot=True))
    sync = store.sync("gateio", SYM)
    assert sync.decode_errors == 1 and not store.is_synced("gateio", SYM)
    store.on_depth(diff(501, 501, {10.0: 1.0}, {11.0: 1.0}, venue="gateio", snapshot=True))
    assert store.is_synced("gateio", SYM) and store.book("gateio", SYM).top(True, 5) == [(10.0, 1.0)]
    await store.close()


async def test_a_malformed_rest_snapshot_is_retried_with_backoff() -> None:
    bad = snap(100, {NAN: 1.0}, {11.0: 1.0})
    h = Harness([bad, snap(100, {10.0: -2.0}, {11.0: 1.0}), snap(100, {10.0: 1.0}, {11.0: 1.0})])
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    store = BookStore(h.fetch, h.on_update, clock_ns=lambda: 0, retry_backoff_s=0.5, max_backoff_s=10.0,
                      sleep=sleep)
    store.add("binance", SYM)
    store.on_depth(diff(101, 101, {10.0: 5.0}))
    await settle()
    sync = store.sync("binance", SYM)
    assert store.is_synced("binance", SYM) and sync.snapshot_failures == 2 and sync.snapshot_fetches == 3
    assert slept == [0.5, 1.0]  # backed off, then succeeded; the buffered diff was kept
    assert store.book("binance", SYM).best_bid() == (10.0, 5.0)
    await store.close()
