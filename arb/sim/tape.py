"""The simulator's public trade tape, and the 24 h ticker and candle numbers derived from it.

Every fill of a venue's matching engine (any account) is printed here as a public trade at the
fill's price and size, with the taker's side; the market model adds seeded synthetic prints when
a venue's book moves through its old touch (`MarketModel`). The tape keeps the last `HISTORY`
prints per (venue, symbol), numbered per (venue, symbol) from 1 (`trade_id`) and per venue
(`venue_seq`, Gate's global id). Listeners (the dialects' streams) get each batch of prints made
by one event: all fills of one order, or one synthetic print.

`window_stats`, `candles` and `month_candles` are venue-neutral: each dialect prints them in its own
wire format.
A window or candle without prints is flat at the last price before it (the book's mid when the
tape has none yet), with zero volume.
"""

from __future__ import annotations

import datetime
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Final, NamedTuple

import msgspec

from arb.model import Side, Symbol

HISTORY: Final = 5000  # prints kept per (venue, symbol)
DAY_MS: Final = 86_400_000
WEEK_ALIGN_MS: Final = 4 * DAY_MS  # 1970-01-05 was a Monday: weekly candles open on Mondays
ZERO: Final = Decimal(0)


class PublicTrade(msgspec.Struct, frozen=True):
    venue: str
    symbol: Symbol
    trade_id: int  # per (venue, symbol), from 1
    venue_seq: int  # per venue, from 1
    price: Decimal
    qty: Decimal
    side: Side  # the taker's
    ts_ms: int


TradeListener = Callable[[list[PublicTrade]], None]


class TradeTape:
    """Bounded recent public trades per (venue, symbol), pushed to per-venue listeners."""

    def __init__(self, venues: Iterable[str], history: int = HISTORY) -> None:
        self._history = history
        self._trades: dict[tuple[str, Symbol], deque[PublicTrade]] = {}
        self._ids: dict[tuple[str, Symbol], int] = {}
        self._seq: dict[str, int] = {v: 0 for v in venues}
        self._listeners: dict[str, list[TradeListener]] = {v: [] for v in self._seq}

    def subscribe(self, venue: str, listener: TradeListener) -> None:
        self._listeners[venue].append(listener)

    def print(self, venue: str, symbol: Symbol, side: Side, fills: Iterable[tuple[Decimal, Decimal]],
              ts_ms: int) -> list[PublicTrade]:
        """Record one event's prints (price, qty) and hand them to the venue's listeners."""
        key = (venue, symbol)
        tape = self._trades.get(key)
        if tape is None:
            tape = self._trades[key] = deque(maxlen=self._history)
        batch = []
        for price, qty in fills:
            self._ids[key] = self._ids.get(key, 0) + 1
            self._seq[venue] += 1
            trade = PublicTrade(venue, symbol, self._ids[key], self._seq[venue], price, qty, side, ts_ms)
            tape.append(trade)
            batch.append(trade)
        if batch:
            for listener in self._listeners[venue]:
                listener(batch)
        return batch

    def recent(self, venue: str, symbol: Symbol, limit: int | None = None) -> list[PublicTrade]:
        """The last `limit` prints (all kept ones when None), oldest first."""
        tape = self._trades.get((venue, symbol))
        if not tape:
            return []
        trades = list(tape)
        return trades if limit is None else trades[max(len(trades) - limit, 0):]


class WindowStats(NamedTuple):
    """A rolling window's numbers (a 24 h ticker)."""

    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    last_qty: Decimal
    volume: Decimal
    quote_volume: Decimal
    n_trades: int
    first_id: int  # -1 without prints
    last_id: int
    start_ms: int
    end_ms: int


def _ordered(trades: Sequence[PublicTrade]) -> tuple[list[PublicTrade], list[int]]:
    """The prints by time (fills and synthetic prints may interleave by a few ms) and their times."""
    ordered = sorted(trades, key=lambda t: t.ts_ms)
    return ordered, [t.ts_ms for t in ordered]


def window_stats(trades: Sequence[PublicTrade], end_ms: int, fallback: Decimal,
                 window_ms: int = DAY_MS) -> WindowStats:
    """Open/high/low/last and volumes of the prints in ``(end_ms - window_ms, end_ms]``."""
    start = end_ms - window_ms
    ordered, times = _ordered(trades)
    inside = ordered[bisect_right(times, start):bisect_right(times, end_ms)]
    if not inside:
        price = ordered[-1].price if ordered else fallback
        return WindowStats(price, price, price, price, ZERO, ZERO, ZERO, 0, -1, -1, start, end_ms)
    prices = [t.price for t in inside]
    return WindowStats(
        prices[0], max(prices), min(prices), prices[-1], inside[-1].qty, sum((t.qty for t in inside), ZERO),
        sum((t.price * t.qty for t in inside), ZERO), len(inside), min(t.trade_id for t in inside),
        max(t.trade_id for t in inside), start, end_ms)


class Candle(NamedTuple):
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal  # base
    quote_volume: Decimal
    n_trades: int
    taker_buy_volume: Decimal
    taker_buy_quote: Decimal
    closed: bool  # the window is over


def candles(trades: Sequence[PublicTrade], interval_ms: int, now_ms: int, limit: int, fallback: Decimal, *,
            start_ms: int | None = None, end_ms: int | None = None, offset_ms: int = 0) -> list[Candle]:
    """Up to `limit` consecutive candles, oldest first: the ones from the window holding `start_ms`
    on, else the last ones up to the window holding `end_ms` (default now); none opens after
    `now_ms`. Weekly candles open on Mondays. Before the first print they are flat at `fallback`.
    `offset_ms` shifts the windows' boundaries (-8 h: days that start at midnight in UTC+8)."""
    align = (WEEK_ALIGN_MS if interval_ms % (7 * DAY_MS) == 0 else 0) + offset_ms
    last = (min(end_ms if end_ms is not None else now_ms, now_ms) - align) // interval_ms
    if start_ms is not None:
        first = (start_ms - align) // interval_ms
        last = min(last, first + limit - 1)
    else:
        first = last - limit + 1
    if last < first or limit <= 0:
        return []
    opens = [n * interval_ms + align for n in range(first, last + 1)]
    return _bucket(trades, [(o, o + interval_ms) for o in opens], now_ms, fallback)


def _month_start(index: int, offset_ms: int) -> int:
    """The open (ms) of month number `index` counted from January 1970, shifted by `offset_ms`."""
    year, month = divmod(index, 12)
    days = (datetime.date(1970 + year, month + 1, 1) - datetime.date(1970, 1, 1)).days
    return days * DAY_MS + offset_ms


def month_candles(trades: Sequence[PublicTrade], months: int, now_ms: int, limit: int, fallback: Decimal, *,
                  end_ms: int | None = None, offset_ms: int = 0) -> list[Candle]:
    """Up to `limit` candles of `months` calendar months each (aligned on January), oldest first,
    the last one holding `end_ms` (default now, never later); windows shifted by `offset_ms`."""
    end = min(end_ms if end_ms is not None else now_ms, now_ms)
    at = datetime.datetime.fromtimestamp((end - offset_ms) / 1000, datetime.UTC)
    last = ((at.year - 1970) * 12 + at.month - 1) // months
    first = last - limit + 1
    if limit <= 0:
        return []
    windows = [(_month_start(n * months, offset_ms), _month_start((n + 1) * months, offset_ms))
               for n in range(first, last + 1) if n * months >= 0]
    return _bucket(trades, windows, now_ms, fallback)


def _bucket(trades: Sequence[PublicTrade], windows: list[tuple[int, int]], now_ms: int,
            fallback: Decimal) -> list[Candle]:
    """One candle per consecutive ``[open, close)`` window."""
    if not windows:
        return []
    ordered, times = _ordered(trades)
    before = bisect_left(times, windows[0][0])
    close = ordered[before - 1].price if before else fallback
    out = []
    for open_ms, close_ms in windows:
        inside = ordered[bisect_left(times, open_ms):bisect_left(times, close_ms)]
        closed = close_ms <= now_ms
        if not inside:
            out.append(Candle(open_ms, close, close, close, close, ZERO, ZERO, 0, ZERO, ZERO, closed))
            continue
        prices = [t.price for t in inside]
        buys = [t for t in inside if t.side is Side.BUY]
        out.append(Candle(
            open_ms, prices[0], max(prices), min(prices), prices[-1], sum((t.qty for t in inside), ZERO),
            sum((t.price * t.qty for t in inside), ZERO), len(inside), sum((t.qty for t in buys), ZERO),
            sum((t.price * t.qty for t in buys), ZERO), closed))
        close = prices[-1]
    return out
