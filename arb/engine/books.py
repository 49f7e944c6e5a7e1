"""[3] BookStore + BookSync: REST snapshot + sequenced diffs -> SYNCED L2 books, gaps -> resync.

One state machine per (venue, symbol), venue rules as data (each venue spec's `BookRule`)::

    BUFFERING --snapshot bridged--> SYNCED --gap/crossed/decode error/stale/disconnect--> INVALID
    INVALID --resync starts--> RESYNCING --snapshot bridged--> SYNCED

A message the book refuses (NaN or infinite numbers, a price <= 0, a negative size, first id after
last id: `L2Book` checks the levels in C) is a decode error of that one book: counted, dropped, and
the book resyncs; the other books on the connection are untouched. A snapshot it refuses is a
failed fetch: the resync backs off and fetches again.

Diffs are buffered while the REST snapshot is fetched. The bridge is the same on every venue (its
codec maps the venue's sequence fields to `DepthUpdate.first_id`/`last_id` and the snapshot's to its
update id ``V``): drop diffs with ``last_id <= V``; the
first one applied must satisfy ``first_id <= V+1 <= last_id``; if it starts after ``V+1`` the
snapshot is too old and is fetched again (the buffer is kept). Afterwards every diff must start at
``previous last_id + 1``; one that ends at or before the book's id is a duplicate and is ignored.
A message flagged as a full snapshot replaces the book on venues whose rule says their streams send
them (`BookRule.stream_snapshots`).

The book flips to INVALID *before* any recovery starts, and only SYNCED books reach the detector
(`on_update` is called after each applied message). Resyncs run as tasks under a concurrency cap
with backoff, and the snapshot fetcher the engine injects draws on a low-priority rate budget, so a
storm of invalid books cannot cause a ban. `on_depth` itself never awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping

from arb._core.book import L2Book
from arb.errors import DecodeError, RateLimitError
from arb.model import AssetBalance, Fill, Order, OrderBook, Symbol, Trade
from arb.venues.base import DepthUpdate
from arb.venues.registry import VENUES
from arb.venues.spec import BookRule, VenueSpec

log = logging.getLogger(__name__)


class SyncState(enum.IntEnum):
    BUFFERING = 0
    SYNCED = 1
    INVALID = 2
    RESYNCING = 3


def venue_rules(specs: Mapping[str, VenueSpec] = VENUES) -> dict[str, BookRule]:
    """Each venue's book rule, from its spec (the registry's by default)."""
    return {name: spec.book for name, spec in specs.items()}

SnapshotFetcher = Callable[[str, Symbol, int], Awaitable[OrderBook]]
UpdateListener = Callable[[str, Symbol, L2Book, int], None]


class BookSync:
    """The sync state of one (venue, symbol) and its counters."""

    __slots__ = (
        "applied", "book", "bridging", "buffer", "buffered", "crossed", "decode_errors", "duplicates",
        "gaps", "invalidations", "last_reason", "resyncs", "rule", "snapshot_failures", "snapshot_fetches",
        "state", "symbol", "task", "ts_event", "venue",
    )

    def __init__(self, venue: str, symbol: Symbol, rule: BookRule) -> None:
        self.venue = venue
        self.symbol = symbol
        self.rule = rule
        self.book = L2Book()
        self.state = SyncState.BUFFERING
        self.buffer: deque[DepthUpdate] = deque(maxlen=rule.max_buffer)
        self.bridging = False  # next diff only needs first_id <= id + 1 <= last_id
        self.ts_event = 0
        self.task: asyncio.Task[None] | None = None
        self.last_reason = ""
        self.applied = self.buffered = self.duplicates = self.gaps = self.resyncs = self.invalidations = 0
        self.crossed = self.decode_errors = self.snapshot_fetches = self.snapshot_failures = 0

    def __repr__(self) -> str:
        return f"BookSync({self.venue} {self.symbol} {self.state.name} id={self.book.update_id})"


class BookStore:
    """Owns every book and its sync state machine; `on_depth` is the one entry from the streams.

    Parameters
    ----------
    fetch_snapshot:
        ``await fetch_snapshot(venue, symbol, limit)`` -> `OrderBook` with `update_id` set.
    on_update:
        ``on_update(venue, symbol, book, ts_event)`` after every applied message on a SYNCED book.
    max_resyncs:
        Snapshot fetches in flight at once across all books.
    """

    def __init__(
        self,
        fetch_snapshot: SnapshotFetcher,
        on_update: UpdateListener,
        *,
        clock_ns: Callable[[], int],
        rules: Mapping[str, BookRule] | None = None,
        max_resyncs: int = 4,
        retry_backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._fetch = fetch_snapshot
        self._on_update = on_update
        self._clock = clock_ns
        self._rules = venue_rules() if rules is None else dict(rules)  # venue -> its spec's BookRule
        self._slots = asyncio.Semaphore(max_resyncs)
        self._backoff = retry_backoff_s
        self._max_backoff = max_backoff_s
        self._sleep = sleep
        self._syncs: dict[tuple[str, Symbol], BookSync] = {}
        self.unknown_updates = 0
        self.malformed_updates = 0  # decoded messages a book refused (each also in its sync's decode_errors)

    # ------------------------------------------------------------------ queries

    def add(self, venue: str, symbol: Symbol, *, start: bool = True) -> BookSync:
        """Track a book; with `start`, fetch its snapshot now (diffs buffer meanwhile)."""
        sync = BookSync(venue, symbol, self._rules[venue])
        self._syncs[(venue, symbol)] = sync
        if start:
            self._spawn_resync(sync)
        return sync

    def start(self, venue: str, symbol: Symbol) -> None:
        """Sync a book added with ``start=False`` once its stream is subscribed, unless the stream's
        connection already began it (a venue that connects while subscribing): a second snapshot of
        a book that is syncing or SYNCED would be a REST request thrown away."""
        sync = self._syncs.get((venue, symbol))
        if sync is None or sync.state is SyncState.SYNCED or (sync.task is not None and not sync.task.done()):
            return
        self.invalidate(venue, symbol, "start")

    def tracks(self, venue: str, symbol: Symbol) -> bool:
        return (venue, symbol) in self._syncs

    def remove(self, venue: str, symbol: Symbol) -> None:
        """Stop tracking a book (the symbol universe dropped it); its resync, if any, is cancelled."""
        sync = self._syncs.pop((venue, symbol), None)
        if sync is not None:
            self._cancel_task(sync)

    def sync(self, venue: str, symbol: Symbol) -> BookSync:
        return self._syncs[(venue, symbol)]

    def book(self, venue: str, symbol: Symbol) -> L2Book:
        return self._syncs[(venue, symbol)].book

    def state(self, venue: str, symbol: Symbol) -> SyncState:
        return self._syncs[(venue, symbol)].state

    def is_synced(self, venue: str, symbol: Symbol) -> bool:
        sync = self._syncs.get((venue, symbol))
        return sync is not None and sync.state is SyncState.SYNCED

    def all(self) -> Iterable[BookSync]:
        return self._syncs.values()

    # ------------------------------------------------------------------ the hot path

    def on_depth(self, update: DepthUpdate) -> None:
        """Apply or buffer one decoded depth message (synchronous; never awaits)."""
        sync = self._syncs.get((update.venue, update.symbol))
        if sync is None:
            self.unknown_updates += 1
            return
        if update.is_snapshot and sync.rule.stream_snapshots:
            self._replace(sync, update)
            return
        if sync.state is not SyncState.SYNCED:
            sync.buffer.append(update)
            sync.buffered += 1
            return
        if self._apply(sync, update):
            self._on_update(sync.venue, sync.symbol, sync.book, sync.ts_event)

    def _apply(self, sync: BookSync, update: DepthUpdate) -> bool:
        """Apply one diff to a SYNCED book; False when it was ignored or the book went INVALID."""
        book = sync.book
        current = book.update_id
        if update.first_id > update.last_id:
            self._malformed(sync, f"first id {update.first_id} > last id {update.last_id}")
            return False
        if update.last_id <= current:
            sync.duplicates += 1
            return False
        if sync.bridging:
            if update.first_id > current + 1:
                self._gap(sync, update, f"bridge gap: expected <= {current + 1}, got {update.first_id}")
                return False
            sync.bridging = False
        elif update.first_id != current + 1:
            self._gap(sync, update, f"gap: expected {current + 1}, got {update.first_id}")
            return False
        try:  # L2Book refuses NaN, infinities, prices <= 0 and negative sizes (checked in C)
            book.apply_levels(True, update.bid_prices, update.bid_sizes)
            book.apply_levels(False, update.ask_prices, update.ask_sizes)
        except ValueError as exc:
            self._malformed(sync, str(exc))
            return False
        book.update_id = update.last_id
        book.ts_ns = update.ts_recv
        sync.ts_event = update.ts_event
        sync.applied += 1
        if book.is_crossed():
            sync.crossed += 1
            self.invalidate(sync.venue, sync.symbol, "crossed book")
            return False
        return True

    def _malformed(self, sync: BookSync, reason: str) -> None:
        """A decoded message the book cannot take (bad numbers or ids): a decode error of this one
        book, which resyncs; the message is dropped (the resync's bridge covers its ids)."""
        error = DecodeError(sync.venue, "depth update", reason)
        sync.decode_errors += 1
        self.malformed_updates += 1
        self.invalidate(sync.venue, sync.symbol, f"malformed update: {error}")

    def _gap(self, sync: BookSync, update: DepthUpdate, reason: str) -> None:
        sync.gaps += 1
        self.invalidate(sync.venue, sync.symbol, reason)
        sync.buffer.append(update)  # the diff after the gap starts the new buffer

    def _replace(self, sync: BookSync, update: DepthUpdate) -> None:
        """A full snapshot on the stream: replace the book and (re)enter SYNCED."""
        try:
            sync.book.set_snapshot(update.bid_prices, update.bid_sizes, update.ask_prices, update.ask_sizes)
        except ValueError as exc:
            sync.book.clear()
            self._malformed(sync, f"stream snapshot: {exc}")
            return
        sync.book.update_id = update.last_id
        sync.book.ts_ns = update.ts_recv
        sync.ts_event = update.ts_event
        sync.buffer.clear()
        sync.bridging = False
        self._cancel_task(sync)
        if sync.book.is_crossed():
            sync.crossed += 1
            self.invalidate(sync.venue, sync.symbol, "crossed stream snapshot")
            return
        sync.state = SyncState.SYNCED
        sync.applied += 1
        self._on_update(sync.venue, sync.symbol, sync.book, sync.ts_event)

    # ------------------------------------------------------------------ invalidation

    def invalidate(self, venue: str, symbol: Symbol, reason: str, *, resync: bool = True) -> None:
        """Mark the book INVALID now (before any recovery), then start a resync unless told not to."""
        sync = self._syncs.get((venue, symbol))
        if sync is None:
            return
        if sync.state is not SyncState.INVALID:
            log.info("%s %s: book invalid (%s)", venue, symbol, reason)
            sync.invalidations += 1
        sync.state = SyncState.INVALID
        sync.last_reason = reason
        sync.bridging = False
        if resync:
            self._spawn_resync(sync)

    def on_decode_error(self, venue: str, symbol: Symbol) -> None:
        sync = self._syncs.get((venue, symbol))
        if sync is not None:
            sync.decode_errors += 1
            self.invalidate(venue, symbol, "decode error")

    def on_stream_state(self, venue: str, connected: bool, symbols: Iterable[Symbol]) -> None:
        """Down: those books are INVALID and wait; up: they resync from a fresh buffer."""
        for symbol in symbols:
            sync = self._syncs.get((venue, symbol))
            if sync is None:
                continue
            if connected:
                sync.buffer.clear()
                if sync.state is not SyncState.SYNCED:
                    sync.last_reason = sync.last_reason or "stream connected"  # a first sync: no loss
                    self._spawn_resync(sync)
            else:
                self._cancel_task(sync)
                sync.buffer.clear()
                self.invalidate(venue, symbol, "stream disconnected", resync=False)

    def check_stale(self, now_ns: int, max_age_ns: int) -> list[BookSync]:
        """Invalidate SYNCED books that have not changed for `max_age_ns`; returns them."""
        stale = [s for s in self._syncs.values()
                 if s.state is SyncState.SYNCED and now_ns - s.book.ts_ns > max_age_ns]
        for sync in stale:
            self.invalidate(sync.venue, sync.symbol, "stale")
        return stale

    # ------------------------------------------------------------------ resync

    def _spawn_resync(self, sync: BookSync) -> None:
        if sync.task is not None and not sync.task.done():
            return
        sync.resyncs += 1
        sync.task = asyncio.get_running_loop().create_task(
            self._resync(sync), name=f"resync {sync.venue} {sync.symbol}"
        )

    def _cancel_task(self, sync: BookSync) -> None:
        if sync.task is not None and not sync.task.done() and sync.task is not asyncio.current_task():
            sync.task.cancel()
        sync.task = None

    async def _resync(self, sync: BookSync) -> None:
        delay = self._backoff
        while sync.state is not SyncState.SYNCED:
            if sync.state is SyncState.INVALID:
                sync.state = SyncState.RESYNCING
            wait: float | None = None
            async with self._slots:
                sync.snapshot_fetches += 1
                try:
                    snapshot = await self._fetch(sync.venue, sync.symbol, sync.rule.snapshot_limit)
                except asyncio.CancelledError:
                    raise
                except RateLimitError as exc:  # the venue says when: ask again then, not later
                    sync.snapshot_failures += 1
                    log.warning("%s %s: snapshot fetch rate limited: %s", sync.venue, sync.symbol, exc)
                    snapshot, wait = None, max(exc.retry_after or delay, self._backoff)
                except Exception as exc:  # any failure: count it, back off, try again
                    sync.snapshot_failures += 1
                    log.warning("%s %s: snapshot fetch failed: %s", sync.venue, sync.symbol, exc)
                    snapshot = None
            if snapshot is not None and self._bridged(sync, snapshot):
                log.info("%s %s: book synced (after %s)", sync.venue, sync.symbol, sync.last_reason)
                break
            if wait is not None:
                await self._sleep(wait)
                delay = self._backoff
                continue
            await self._sleep(delay)
            delay = min(delay * 2, self._max_backoff)
        if sync.task is asyncio.current_task():
            sync.task = None

    def _bridged(self, sync: BookSync, snapshot: OrderBook) -> bool:
        """`_bridge`, where a snapshot the book refuses (bad numbers) is a failed fetch: retried."""
        try:
            return self._bridge(sync, snapshot)
        except ValueError as exc:
            sync.snapshot_failures += 1
            sync.book.clear()
            sync.state = SyncState.RESYNCING
            log.warning("%s %s: malformed snapshot refused: %s", sync.venue, sync.symbol, exc)
            return False

    def _bridge(self, sync: BookSync, snapshot: OrderBook) -> bool:
        """Lay the buffered diffs onto `snapshot`; True when the book is SYNCED."""
        if sync.state is SyncState.SYNCED:
            return True  # a stream snapshot got there first
        version = snapshot.update_id
        buffer = sync.buffer
        while buffer and buffer[0].last_id <= version:
            buffer.popleft()
        if buffer and buffer[0].first_id > version + 1:
            return False  # the snapshot is older than the stream: fetch again, keep the buffer
        book = sync.book
        book.set_snapshot(
            [lv.price for lv in snapshot.bids], [lv.size for lv in snapshot.bids],
            [lv.price for lv in snapshot.asks], [lv.size for lv in snapshot.asks],
        )
        book.update_id = version
        book.ts_ns = snapshot.ts_recv or self._clock()
        sync.ts_event = snapshot.ts_event
        sync.state = SyncState.SYNCED
        sync.bridging = True
        pending = list(buffer)
        buffer.clear()
        for update in pending:
            if sync.state is not SyncState.SYNCED:
                buffer.append(update)  # a gap inside the buffer: keep the rest for the next try
                continue
            self._apply(sync, update)
        if sync.state is not SyncState.SYNCED:
            sync.state = SyncState.RESYNCING
            return False
        self._on_update(sync.venue, sync.symbol, book, sync.ts_event)
        return True

    async def close(self) -> None:
        """Cancel every resync in flight."""
        tasks = [s.task for s in self._syncs.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sync in self._syncs.values():
            sync.task = None


class BookFeed:
    """`StreamHandlers` that only feed a `BookStore` (tools and tests; the engine adds its stages).

    Decode errors and connection changes invalidate the affected books; they are also kept in
    `errors` / `states` for whoever wants to report them.
    """

    def __init__(self, store: BookStore) -> None:
        self.store = store
        self.errors: list[DecodeError] = []
        self.states: list[tuple[bool, list[Symbol]]] = []

    def on_depth(self, update: DepthUpdate) -> None:
        self.store.on_depth(update)

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        self.errors.append(error)
        if symbol is not None:
            self.store.on_decode_error(error.venue, symbol)

    def on_stream_state(self, venue: str, connected: bool, symbols: Iterable[Symbol]) -> None:
        listed = list(symbols)
        self.states.append((connected, listed))
        self.store.on_stream_state(venue, connected, listed)

    def on_trade(self, trade: Trade) -> None:
        return None

    def on_order(self, order: Order) -> None:
        return None

    def on_fill(self, fill: Fill) -> None:
        return None

    def on_balance(self, venue: str, balance: AssetBalance) -> None:
        return None
