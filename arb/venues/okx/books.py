"""The OKX ``books`` channel's local state per instrument (`BookState`): the seqId chain, and the book
the chain is applied to, kept in one of two modes.

- FAST (every book starts here; OKX's pushes carry checksum 0 since 2026-06-23): each side's levels
  are read from the raw JSON straight into double buffers (`codec.BookNumbersMsg`, `codec.book_buffers`,
  `arb._core.jsonlevels`) and applied to a numeric copy of the book (an `L2Book`), which only a
  sequence reset reads (to hand the whole book on). No price or size text is kept.
- EXACT (a snapshot that carries a non-zero checksum: feeds before 2026-06-23, replays of old
  captures, the simulator by default): the exact price and size strings, sorted, which the CRC32 of
  every push is verified over (fact sheet §1.9).

A push with checksum 0 in EXACT mode drops the strings (the book goes on as numbers: nothing is left
to verify). A push with a non-zero checksum in FAST mode cannot be verified (its strings were never
kept): it is applied as numbers (and handed on: the book is no less trusted than the unverified pushes
before it) and `BookState.unverified` says so; the stream re-subscribes the instrument, and the fresh
snapshot, carrying a checksum, starts EXACT mode.
"""

from __future__ import annotations

import zlib
from bisect import bisect_left, insort
from collections.abc import Iterator, Sequence
from enum import IntEnum
from typing import Final, Protocol, TypeAlias

import msgspec

from arb._core.book import L2Book, split_levels
from arb.venues.base import guarded
from arb.venues.okx import codec
from arb.venues.okx import constants as c

Buffers = codec.LevelBuffers  # (prices, sizes) of one side, as the codec gives them
Levels = list[tuple[float, float]]


class BookMode(IntEnum):
    """What an instrument's `BookState` keeps of its book."""

    FAST = 0  # numbers only (checksum 0): nothing to verify
    EXACT = 1  # the exact strings the non-zero checksums are verified over


class Verdict(IntEnum):
    """What one ``books`` message does to the local book (`BookState.feed`)."""

    SNAPSHOT = 0  # replaced the book
    APPLIED = 1  # chained (prevSeqId == last) and applied
    HEARTBEAT = 2  # no change: seqId == prevSeqId == last, no levels
    RESET = 3  # chained, seqId <= prevSeqId with levels (a maintenance restart): applied, whole book on
    GAP = 4  # prevSeqId != last: the book is dropped until the next snapshot
    CHECKSUM = 5  # applied, but the non-zero checksum does not match: dropped
    UNSYNCED = 6  # an update while no book is held (after a gap): passed on unchecked


# chained messages (applied, or a heartbeat): what a FAST book cannot verify when they carry a checksum
CHAINED: Final = frozenset({Verdict.APPLIED, Verdict.HEARTBEAT, Verdict.RESET})


class BookItem(Protocol):
    """The sequencing fields of a ``books`` push item (`codec.BookDataMsg`, `codec.BookNumbersMsg`)."""

    @property
    def checksum(self) -> int: ...

    @property
    def prevSeqId(self) -> int | None: ...

    @property
    def seqId(self) -> int | None: ...


class TextItem(Protocol):
    """A ``books`` push item with its levels as the wire's strings (`codec.BookDataMsg`)."""

    @property
    def bids(self) -> list[list[str]]: ...

    @property
    def asks(self) -> list[list[str]]: ...


class _Side:
    """One side of the exact-string book: price key -> (price text, size text), keys kept sorted
    best first (bids are keyed by the negated price)."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: float) -> None:
        self.sign = sign
        self.keys: list[float] = []
        self.levels: dict[float, tuple[str, str]] = {}

    def reset(self, rows: list[list[str]], side: Buffers) -> None:
        prices, sizes = side
        self.levels = {p * self.sign: (row[0], row[1])
                       for row, p, s in zip(rows, prices, sizes, strict=True) if s}
        self.keys = sorted(self.levels)

    def clear(self) -> None:
        self.levels = {}
        self.keys = []

    def apply(self, rows: list[list[str]], side: Buffers) -> None:
        levels, keys = self.levels, self.keys
        prices, sizes = side
        for row, price, size in zip(rows, prices, sizes, strict=True):
            key = price * self.sign
            if size == 0:
                if levels.pop(key, None) is not None:
                    del keys[bisect_left(keys, key)]
            else:
                if key not in levels:
                    insort(keys, key)
                levels[key] = (row[0], row[1])  # the new text, for the checksum

    def top(self, n: int) -> list[tuple[str, str]]:
        return [self.levels[k] for k in self.keys[:n]]

    def values(self) -> Levels:
        return [(k * self.sign, float(self.levels[k][1])) for k in self.keys]


def checksum_of(bids: Sequence[tuple[str, str]], asks: Sequence[tuple[str, str]]) -> int:
    """CRC32 (signed 32-bit) of ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` over the given top levels;
    a side that runs out is skipped and the other continues alone (fact sheet §1.9)."""
    tokens: list[str] = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            tokens += bids[i]
        if i < len(asks):
            tokens += asks[i]
    crc = zlib.crc32(":".join(tokens).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def starts_book(action: str, item: BookItem) -> bool:
    """Whether the item is a snapshot (it replaces the book whatever came before)."""
    return action == c.ACTION_SNAPSHOT or item.prevSeqId == c.SNAPSHOT_PREV_SEQ


class BookState:
    """One instrument's ``books`` channel: the seqId chain, and the book in `mode` (module doc).

    A snapshot (``prevSeqId`` -1) replaces the book; an update must chain (``prevSeqId`` == last
    ``seqId``), an empty one with ``seqId == prevSeqId`` is a heartbeat, one with ``seqId < prevSeqId``
    a sequence reset that still chains (so is one with ``seqId == prevSeqId`` that carries levels).
    In EXACT mode a non-zero checksum is verified after applying. Frames without seq ids (feeds
    before 2023) are chained implicitly.
    """

    __slots__ = ("asks", "bids", "last", "mode", "numbers", "prev", "synced")

    def __init__(self) -> None:
        self.mode = BookMode.FAST
        self.numbers = L2Book()  # FAST: the book as numbers
        self.bids = _Side(-1.0)  # EXACT: the book as the wire's strings
        self.asks = _Side(1.0)
        self.last = 0  # seqId of the last message
        self.prev = 0  # prevSeqId of the last message
        self.synced = False

    def wants_text(self, action: str, item: BookItem) -> bool:
        """Whether `feed` needs the item's strings: a checksum to verify (EXACT), or a checksummed
        snapshot that starts EXACT mode."""
        return item.checksum != 0 and (self.mode is BookMode.EXACT or starts_book(action, item))

    def feed(self, action: str, item: BookItem, bids: Buffers, asks: Buffers,
             text: TextItem | None = None) -> Verdict:
        """Take one message (`bids`/`asks`: its levels as double buffers; `text`: the same item with
        its levels as strings, given when `wants_text`) and say what it did."""
        seq = item.seqId if item.seqId is not None else self.last + 1
        prev = item.prevSeqId
        if prev is None:
            prev = c.SNAPSHOT_PREV_SEQ if action == c.ACTION_SNAPSHOT else self.last
        self.prev = prev
        exact = item.checksum != 0 and text is not None
        if action == c.ACTION_SNAPSHOT or prev == c.SNAPSHOT_PREV_SEQ:
            self._replace(bids, asks, text if exact else None)
            verdict = Verdict.SNAPSHOT
        elif not self.synced:
            self.last = seq
            return Verdict.UNSYNCED
        elif prev != self.last:
            self.synced = False
            self.last = seq
            return Verdict.GAP
        else:
            if self.mode is BookMode.EXACT and not exact:  # the checksums stopped: go on as numbers
                self._to_numbers()
            if seq == prev and not len(bids[0]) and not len(asks[0]):
                verdict = Verdict.HEARTBEAT
            else:
                if self.mode is BookMode.EXACT and text is not None:
                    self.bids.apply(text.bids, bids)
                    self.asks.apply(text.asks, asks)
                else:
                    self.numbers.apply_levels(True, bids[0], bids[1])
                    self.numbers.apply_levels(False, asks[0], asks[1])
                # numbering restarted (seq < prev) or did not move although levels changed: the stream
                # hands the whole book on rather than a diff whose ids do not advance
                verdict = Verdict.RESET if seq <= prev else Verdict.APPLIED
        self.last = seq
        self.synced = True
        if self.mode is BookMode.EXACT and item.checksum != self.checksum():
            self.synced = False
            return Verdict.CHECKSUM
        return verdict

    def unverified(self, item: BookItem, verdict: Verdict) -> bool:
        """Whether a chained message carried a checksum this FAST book cannot verify (its strings
        were never kept): the instrument should re-subscribe for a snapshot that starts EXACT mode."""
        return item.checksum != 0 and self.mode is BookMode.FAST and verdict in CHAINED

    def _replace(self, bids: Buffers, asks: Buffers, text: TextItem | None) -> None:
        if text is not None:
            self.mode = BookMode.EXACT
            self.bids.reset(text.bids, bids)
            self.asks.reset(text.asks, asks)
            self.numbers.clear()
        else:
            self.mode = BookMode.FAST
            self.bids.clear()
            self.asks.clear()
            self.numbers.set_snapshot(bids[0], bids[1], asks[0], asks[1])

    def _to_numbers(self) -> None:
        bids, asks = self.book()
        self._replace(split_levels(bids), split_levels(asks), None)

    def checksum(self) -> int:
        """The CRC32 of the exact-string book (EXACT mode)."""
        return checksum_of(self.bids.top(c.CHECKSUM_DEPTH), self.asks.top(c.CHECKSUM_DEPTH))

    def book(self) -> tuple[Levels, Levels]:
        """The whole book as numbers (bids best first, asks best first)."""
        if self.mode is BookMode.EXACT:
            return self.bids.values(), self.asks.values()
        numbers = self.numbers
        return numbers.top(True, numbers.bid_count), numbers.top(False, numbers.ask_count)


Item: TypeAlias = codec.BookDataMsg | codec.BookNumbersMsg


def feed_push(state: BookState, action: str, data: bytes | msgspec.Raw
              ) -> Iterator[tuple[Item, Verdict, Buffers, Buffers]]:
    """Decode a ``books`` push's `data` and feed its items to `state`, yielding each with its verdict
    and levels. A FAST book's push is decoded as numbers only; the strings are decoded too where the
    state wants them (`BookState.wants_text`: a checksum to verify, or a checksummed snapshot), and an
    EXACT book's push is decoded as strings (their numbers checked by `codec.levels`). Malformed data
    is a `DecodeError` (items before it were fed)."""
    texts: list[codec.BookDataMsg] | None = None
    items: Sequence[Item]
    if state.mode is BookMode.EXACT:
        texts = codec.decode_books(data)
        items = texts
    else:
        items = codec.decode_book_numbers(data)
    for i in range(len(items)):
        item: Item = items[i]
        text: codec.BookDataMsg | None = None
        if state.wants_text(action, item):
            if texts is None:
                texts = codec.decode_books(data)
            text = texts[i]
        bids, asks = item_buffers(item)
        yield item, state.feed(action, item, bids, asks, text), bids, asks


@guarded(c.VENUE, "books levels")
def text_levels(item: codec.BookDataMsg) -> tuple[Levels, Levels]:
    """A string-decoded item's levels as numbers (`codec.levels`: what no book holds is refused)."""
    return codec.levels(item.bids), codec.levels(item.asks)


def item_buffers(item: Item) -> tuple[Buffers, Buffers]:
    """An item's levels as double buffers, converted and checked by the path it was decoded on."""
    if isinstance(item, codec.BookNumbersMsg):
        return codec.book_buffers(item)
    bids, asks = text_levels(item)
    return split_levels(bids), split_levels(asks)
