"""Bybit depth topics of the simulator: ``orderbook.{1|50|200|1000}.{SYMBOL}`` with their sequence fields.

Written from the fact sheet (§2.8, §2.9), independently of the client. Each (symbol, depth) has a
view: the top ``depth`` levels of the simulated book as last pushed, and its update id ``u``:

- Subscribing sends the subscriber a ``snapshot`` of the view with the current ``u`` (through the
  socket's own ordered outbox, so it precedes every later delta of that socket).
- Every change of the market book that changes the view is pushed to every subscriber as one
  ``delta`` with ``u`` = previous + 1 (contiguous per topic), its changed levels as absolute sizes,
  ``"0"`` deleting a price, levels that leave the window included as deletions (so a client that
  applies every delta holds exactly the top ``depth``). Depth 1 is snapshot-only: each change is a
  ``snapshot`` (``u`` + 1 all the same).
- ``seq`` is the simulated matching engine's cross sequence (the book's update id): monotonic, not
  contiguous, the same across depths for the same book state. ``cts`` is the engine time of the
  change, ``ts`` the push time, both ms; spot frames put ``ts`` before ``type``.
- `reset` re-sends a snapshot to the topic's subscribers mid-stream (``u`` + 1, "Bybit had a
  problem"); `reset(restart=True)` is a service restart: ``u`` starts again at 1.

Frame: ``{"topic", "ts", "type", "data": {"s", "b": [[px, size]] (desc), "a" (asc), "u", "seq"}, "cts"}``.
The REST book (``/v5/market/orderbook``) reports the ``u`` of the 200-level topic, as the venue's
docs say its spot ``u`` does; under a snapshot lag its ``u`` is the one the lagged state had.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

from sortedcontainers import SortedDict

from arb.model import Symbol
from arb.sim.bybit_wire import NAME, num, symbol_id
from arb.sim.fanout import Subscribers
from arb.sim.market import BookDiff, MarketModel, SimBook

DEPTHS: Final = (1, 50, 200, 1000)
REST_DEPTH: Final = 200  # the REST book's u is this topic's
TOPIC_RULE: Final = re.compile(r"^orderbook\.(\d+)\.([A-Z0-9]+)$")
FIRST_U_SPAN: Final = 9_000_000  # a view's first u is drawn from the book's id, below 10 million
HISTORY: Final = 256  # (seq, u) pairs kept per view, for lagged REST snapshots


def depth_topic(depth: int, symbol: Symbol) -> str:
    return f"orderbook.{depth}.{symbol_id(symbol)}"


Side = dict[int, int]  # price in ticks -> size in lots (the book's own grid: cheap to compare)


def _top(side: SortedDict, depth: int, is_bid: bool) -> Side:
    keys = side.keys()
    chosen = keys[-depth:] if is_bid else keys[:depth]
    return {ticks: side[ticks] for ticks in chosen}


def _changes(old: Side, new: Side) -> Side:
    out = {ticks: 0 for ticks in old if ticks not in new}
    out.update((ticks, lots) for ticks, lots in new.items() if old.get(ticks) != lots)
    return out


class DepthView:
    """The top `depth` levels of one symbol as last pushed on its topic, with the topic's ``u``."""

    def __init__(self, book: SimBook, symbol: Symbol, depth: int, u: int, cts: int) -> None:
        self.book = book
        self.symbol = symbol
        self.depth = depth
        self.topic = depth_topic(depth, symbol)
        self.u = u
        self.seq = book.update_id
        self.cts = cts
        self.bids = _top(book.bids, depth, True)
        self.asks = _top(book.asks, depth, False)
        self.history: deque[tuple[int, int]] = deque([(self.seq, u)], maxlen=HISTORY)

    def _levels(self, side: Side, is_bid: bool) -> list[list[str]]:
        book = self.book
        return [[num(book.price(t)), num(book.qty(lots))] for t, lots in sorted(side.items(), reverse=is_bid)]

    def frame(self, kind: str, ts: int, bids: Side | None = None, asks: Side | None = None) -> str:
        """A push of this view: the whole view, or (a delta) the given levels."""
        return json.dumps({
            "topic": self.topic, "ts": ts, "type": kind,
            "data": {"s": symbol_id(self.symbol),
                     "b": self._levels(self.bids if bids is None else bids, True),
                     "a": self._levels(self.asks if asks is None else asks, False),
                     "u": self.u, "seq": self.seq},
            "cts": self.cts})

    def u_at(self, seq: int) -> int:
        """The ``u`` this view had when the book's sequence was `seq` (its oldest known otherwise)."""
        found = self.history[0][1]
        for seen, u in self.history:
            if seen > seq:
                break
            found = u
        return found


class BybitBooks:
    """Every depth topic of one simulated Bybit endpoint over the shared market."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], subscribers: Subscribers) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.subscribers = subscribers
        self.symbols = {symbol_id(s): s for s in market.names(NAME)}
        self.views: dict[tuple[Symbol, int], DepthView] = {}
        now = clock_ms()
        for symbol in self.symbols.values():
            book = market.books[(NAME, symbol)]
            first_u = book.update_id % FIRST_U_SPAN + 1
            for depth in DEPTHS:
                self.views[(symbol, depth)] = DepthView(book, symbol, depth, first_u, now)
        market.subscribe(NAME, self._on_diff)

    def parse(self, topic: str) -> DepthView | None:
        """The view a topic names, or None when it is not a served depth topic."""
        match = TOPIC_RULE.match(topic)
        if match is None:
            return None
        symbol = self.symbols.get(match.group(2))
        if symbol is None or int(match.group(1)) not in DEPTHS:
            return None
        return self.views[(symbol, int(match.group(1)))]

    def snapshot(self, view: DepthView) -> str:
        """The snapshot a new subscriber of `view` gets (its current ``u``)."""
        return view.frame("snapshot", self._clock_ms())

    def rest_u(self, symbol: Symbol, seq: int) -> int:
        return self.views[(symbol, REST_DEPTH)].u_at(seq)

    def _on_diff(self, diff: BookDiff) -> None:
        book = self.market.books[(NAME, diff.symbol)]
        cts = diff.ts_ns // 1_000_000
        for depth in DEPTHS:
            view = self.views[(diff.symbol, depth)]
            new_bids, new_asks = _top(book.bids, depth, True), _top(book.asks, depth, False)
            bid_changes, ask_changes = _changes(view.bids, new_bids), _changes(view.asks, new_asks)
            if not bid_changes and not ask_changes:
                continue
            view.bids, view.asks = new_bids, new_asks
            view.u += 1
            view.seq, view.cts = book.update_id, cts
            view.history.append((view.seq, view.u))
            if not self.subscribers.wants(view.topic):
                continue  # encode only what someone listens to
            if depth == 1:
                frame = view.frame("snapshot", self._clock_ms())
            else:
                frame = view.frame("delta", self._clock_ms(), bid_changes, ask_changes)
            self.subscribers.publish(view.topic, frame)

    def reset(self, symbols: Iterable[Symbol] | None = None, *, restart: bool = False) -> int:
        """Push a fresh snapshot on every depth topic of `symbols` (all by default): ``u`` + 1, or
        ``u`` = 1 for a service restart. Returns how many topics had subscribers."""
        wanted = set(symbols) if symbols is not None else set(self.symbols.values())
        pushed = 0
        for (symbol, _), view in self.views.items():
            if symbol not in wanted:
                continue
            view.u = 1 if restart else view.u + 1
            view.history.append((view.seq, view.u))
            if self.subscribers.wants(view.topic):
                pushed += 1
                self.subscribers.publish(view.topic, view.frame("snapshot", self._clock_ms()))
        return pushed
