"""[4] Detector: on every applied book update, re-evaluate that symbol across its venues.

Event-driven (no polling clock): the book layer calls `on_book_update(venue, symbol, ts_event)`
after it applied a message to a SYNCED book. The detector sets the kernel's usable mask from the
gates, loads balances, runs the Cython spread kernel for that one symbol and hands a found
opportunity to the callback. Every gate that removes a venue or drops an opportunity is counted by
reason, and so is every stage of the funnel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from arb._core.book import L2Book
from arb._core.spread import SpreadKernel
from arb.config import RiskConfig
from arb.engine.reasons import Gate
from arb.model import Opportunity, Symbol

MS = 1_000_000

# funnel stages, in order
FUNNEL = ("evaluated", "clears_fees", "sized", "approved", "sent", "both_filled")


class Spread(NamedTuple):
    """The top-of-book net spread of one venue pair (buy on `buy_venue`, sell on `sell_venue`)."""

    symbol: Symbol
    buy_venue: str
    sell_venue: str
    net_bps: float


class Funnel:
    """Counts of the opportunity funnel and of every gate, by reason (`Gate` members; their words:
    `reasons.by_text`). The risk manager's refusals are counted by the risk manager."""

    def __init__(self) -> None:
        self.stages: dict[str, int] = dict.fromkeys(FUNNEL, 0)
        self.gates: dict[Gate, int] = {}

    def hit(self, stage: str) -> None:
        self.stages[stage] += 1

    def gate(self, reason: Gate) -> None:
        self.gates[reason] = self.gates.get(reason, 0) + 1


class _Market:
    """One symbol across the venues that list it, with its kernel bound to their books."""

    __slots__ = ("books", "fees", "index", "kernel", "last_attempt_ns", "symbol", "ts_event", "venues")

    def __init__(self, symbol: Symbol, books: Mapping[str, L2Book], fees: Mapping[str, float],
                 qty_step: float, risk: RiskConfig) -> None:
        self.symbol = symbol
        self.venues = list(books)
        self.index = {v: i for i, v in enumerate(self.venues)}
        self.books = [books[v] for v in self.venues]
        self.kernel = SpreadKernel(self.books, risk.min_net_bps, risk.max_notional_per_order, qty_step)
        self.fees = [fees[v] for v in self.venues]  # a copy for `Detector.spreads` (off the hot path)
        for i, venue in enumerate(self.venues):
            self.kernel.set_fee(i, fees[venue])
        self.ts_event = [0] * len(self.venues)
        self.last_attempt_ns = 0


class Detector:
    """Runs the spread kernel on the touched symbol and applies the gates.

    Parameters
    ----------
    risk:
        The `[risk]` config (threshold, caps, staleness limits, cooldown).
    clock_ns:
        Injected clock.
    is_synced:
        ``is_synced(venue, symbol)``: the book layer's verdict (only SYNCED books trade).
    available:
        ``available(venue, asset) -> float``: free balance net of reservations (a cached float:
        this runs for every venue on every update).
    blocked:
        ``blocked(venue) -> Gate or None``: venue-level gates (circuit open, user stream down).
    on_opportunity:
        Called with each opportunity that passed every gate.
    trading:
        ``trading() -> Gate or None``: while trading is not ACTIVE nothing is evaluated (one counted
        gate per update, no opportunity, nothing journaled).
    clock_offset_ns:
        ``clock_offset_ns(venue)``: the venue's clock minus ours (its `ServerClock`), so the time-lag
        gate compares event times on one clock.
    """

    def __init__(
        self,
        risk: RiskConfig,
        clock_ns: Callable[[], int],
        *,
        is_synced: Callable[[str, Symbol], bool],
        available: Callable[[str, str], float],
        blocked: Callable[[str], Gate | None],
        on_opportunity: Callable[[Opportunity], None],
        run_tag: str,
        trading: Callable[[], Gate | None] | None = None,
        clock_offset_ns: Callable[[str], int] | None = None,
    ) -> None:
        self.risk = risk
        self._trading = trading
        self._offset = clock_offset_ns
        self._clock = clock_ns
        self._is_synced = is_synced
        self._available = available
        self._blocked = blocked
        self._on_opportunity = on_opportunity
        self._run_tag = run_tag
        self._seq = 0
        self._markets: dict[Symbol, _Market] = {}
        self._halted: set[tuple[str, Symbol]] = set()
        self.funnel = Funnel()

    def add_symbol(self, symbol: Symbol, books: Mapping[str, L2Book], fees: Mapping[str, float],
                   qty_step: float) -> None:
        """Bind one symbol's books (two or more venues) and their taker fees."""
        if len(books) < 2:
            raise ValueError(f"{symbol}: needs books on at least two venues, got {list(books)}")
        self._markets[symbol] = _Market(symbol, books, fees, qty_step, self.risk)

    def remove_symbol(self, symbol: Symbol) -> None:
        """Stop evaluating `symbol` (fewer than two of its books are left)."""
        self._markets.pop(symbol, None)

    def set_run_tag(self, tag: str) -> None:
        """The prefix of opportunity ids (unique per run: the journal's run counter)."""
        self._run_tag = tag

    def has(self, symbol: Symbol) -> bool:
        return symbol in self._markets

    def set_fee(self, venue: str, symbol: Symbol, taker: float) -> None:
        market = self._markets[symbol]
        market.kernel.set_fee(market.index[venue], taker)
        market.fees[market.index[venue]] = taker

    def spreads(self) -> list[Spread]:
        """Top-of-book net spread of every symbol's venue pairs, in the better direction.

        A cheap read for the live view and `/view` (called a few times a second, never per update):
        each pair's buy-at-ask on one venue and sell-at-bid on the other, both taker fees paid, in
        bps of the buy price. Pairs where either book is not synced or one side is empty are left
        out. Sorted best first.
        """
        out: list[Spread] = []
        for symbol, market in self._markets.items():
            tops = []
            for i, venue in enumerate(market.venues):
                book = market.books[i]
                ok = self._is_synced(venue, symbol)
                tops.append((book.best_bid(), book.best_ask()) if ok else (None, None))
            n = len(market.venues)
            for i in range(n):
                for j in range(i + 1, n):
                    best: Spread | None = None
                    for buy, sell in ((i, j), (j, i)):
                        ask, bid = tops[buy][1], tops[sell][0]
                        if ask is None or bid is None or ask[0] <= 0:
                            continue
                        cost = ask[0] * (1 + market.fees[buy])
                        gain = bid[0] * (1 - market.fees[sell])
                        bps = (gain - cost) / ask[0] * 10_000
                        if best is None or bps > best.net_bps:
                            best = Spread(symbol, market.venues[buy], market.venues[sell], bps)
                    if best is not None:
                        out.append(best)
        out.sort(key=lambda s: -s.net_bps)
        return out

    def set_halted(self, venue: str, symbol: Symbol, halted: bool) -> None:
        if halted:
            self._halted.add((venue, symbol))
        else:
            self._halted.discard((venue, symbol))

    def _usable(self, market: _Market, i: int, now: int) -> bool:
        venue, symbol = market.venues[i], market.symbol
        book = market.books[i]
        reason: Gate | None = None
        if not self._is_synced(venue, symbol):
            reason = Gate.NOT_SYNCED
        elif now - book.ts_ns > self.risk.max_book_age_ms * MS:
            reason = Gate.BOOK_TOO_OLD
        elif market.ts_event[i] and book.ts_ns - (
                market.ts_event[i] - (self._offset(venue) if self._offset is not None else 0)
        ) > self.risk.max_event_lag_ms * MS:
            reason = Gate.VENUE_TIME_LAG
        elif book.is_crossed():
            reason = Gate.CROSSED_BOOK
        elif (venue, symbol) in self._halted:
            reason = Gate.SYMBOL_HALTED
        else:
            reason = self._blocked(venue)
        if reason is not None:
            self.funnel.gate(reason)
            return False
        return True

    def on_book_update(self, venue: str, symbol: Symbol, ts_event: int = 0) -> Opportunity | None:
        """Re-evaluate `symbol` after its book on `venue` changed; returns what was emitted."""
        market = self._markets.get(symbol)
        if market is None:
            return None
        i = market.index.get(venue)
        if i is not None and ts_event:
            market.ts_event[i] = ts_event
        if self._trading is not None:
            stopped = self._trading()
            if stopped is not None:
                self.funnel.gate(stopped)
                return None
        now = self._clock()
        if now - market.last_attempt_ns < self.risk.symbol_cooldown_ms * MS:
            self.funnel.gate(Gate.SYMBOL_COOLDOWN)
            return None
        kernel = market.kernel
        usable = 0
        for j, name in enumerate(market.venues):
            ok = self._usable(market, j, now)
            kernel.set_usable(j, ok)
            if ok:
                usable += 1
                kernel.set_balance(j, self._available(name, symbol.base), self._available(name, symbol.quote))
        if usable < 2:
            return None
        self.funnel.hit("evaluated")
        found = kernel.evaluate()
        if found is None:
            return None
        self.funnel.hit("clears_fees")
        if found.net_bps > self.risk.max_net_bps:
            self.funnel.gate(Gate.TOO_GOOD_TO_BE_TRUE)
            return None
        self._seq += 1
        opp = Opportunity(
            id=f"{self._run_tag}{self._seq:06d}", symbol=symbol,
            buy_venue=market.venues[found.buy_venue], sell_venue=market.venues[found.sell_venue],
            quantity=found.quantity, buy_vwap=found.buy_vwap, sell_vwap=found.sell_vwap,
            buy_worst=found.buy_worst, sell_worst=found.sell_worst, gross_profit=found.gross_profit,
            net_profit=found.net_profit, gross_bps=found.gross_bps, net_bps=found.net_bps,
            ts_detected=now,
        )
        market.last_attempt_ns = now
        self._on_opportunity(opp)
        return opp
