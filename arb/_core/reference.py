"""Pure-Python twins of the Cython core: the test oracle and the benchmark baseline.

`ReferenceBook` has `L2Book`'s Python API on top of `sortedcontainers.SortedDict`;
`reference_find_opportunity` is a deliberately plain, exhaustive version of the spread kernel.
Neither is used on the hot path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from sortedcontainers import SortedDict


def _check(price: float, size: float) -> None:
    if not (math.isfinite(price) and price > 0.0):
        raise ValueError(f"invalid price {price!r}: must be finite and > 0")
    if not (math.isfinite(size) and size >= 0.0):
        raise ValueError(f"invalid size {size!r}: must be finite and >= 0")


class ReferenceBook:
    """`L2Book`'s behaviour in plain Python (bids and asks as SortedDicts keyed by price)."""

    def __init__(self, capacity: int = 256) -> None:
        if capacity < 1:
            raise ValueError(f"invalid capacity {capacity!r}: must be >= 1")
        self.initial_capacity = capacity
        self._bids: SortedDict = SortedDict()
        self._asks: SortedDict = SortedDict()
        self.update_id = 0
        self.ts_ns = 0

    def _side(self, is_bid: bool) -> SortedDict:
        return self._bids if is_bid else self._asks

    def apply(self, is_bid: bool, price: float, size: float) -> None:
        _check(price, size)
        side = self._side(is_bid)
        if size == 0.0:
            side.pop(price, None)
        else:
            side[price] = size

    def apply_levels(self, is_bid: bool, prices: Sequence[float], sizes: Sequence[float]) -> None:
        if len(prices) != len(sizes):
            raise ValueError(f"prices and sizes differ in length: {len(prices)} != {len(sizes)}")
        for price, size in zip(prices, sizes, strict=True):
            _check(price, size)
        for price, size in zip(prices, sizes, strict=True):
            self.apply(is_bid, price, size)

    def set_snapshot(
        self,
        bid_prices: Iterable[float],
        bid_sizes: Iterable[float],
        ask_prices: Iterable[float],
        ask_sizes: Iterable[float],
    ) -> None:
        bids = list(zip(bid_prices, bid_sizes, strict=True))
        asks = list(zip(ask_prices, ask_sizes, strict=True))
        for price, size in bids + asks:
            _check(price, size)
        self.clear()
        for price, size in bids:
            self.apply(True, price, size)
        for price, size in asks:
            self.apply(False, price, size)

    def clear(self) -> None:
        self._bids.clear()
        self._asks.clear()

    def best_bid(self) -> tuple[float, float] | None:
        return self._bids.peekitem(-1) if self._bids else None

    def best_ask(self) -> tuple[float, float] | None:
        return self._asks.peekitem(0) if self._asks else None

    @property
    def bid_count(self) -> int:
        return len(self._bids)

    @property
    def ask_count(self) -> int:
        return len(self._asks)

    def levels(self, is_bid: bool) -> list[tuple[float, float]]:
        """Every level of one side, best first."""
        items: list[tuple[float, float]] = list(self._side(is_bid).items())
        return items[::-1] if is_bid else items

    def top(self, is_bid: bool, n: int) -> list[tuple[float, float]]:
        return self.levels(is_bid)[: max(n, 0)]

    def walk(self, is_bid: bool, qty: float) -> tuple[float, float, float]:
        filled = notional = worst = 0.0
        for price, size in self.levels(is_bid):
            if filled >= qty:
                break
            take = min(size, qty - filled)
            filled += take
            notional += take * price
            worst = price
        return (filled, notional / filled if filled > 0.0 else 0.0, worst)

    def depth_for(self, is_bid: bool, limit_price: float) -> float:
        total = 0.0
        for price, size in self.levels(is_bid):
            if (price < limit_price) if is_bid else (price > limit_price):
                break
            total += size
        return total

    def is_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        return bid is not None and ask is not None and bid[0] >= ask[0]


# --------------------------------------------------------------------------- spread reference


class BookLike(Protocol):
    def top(self, is_bid: bool, n: int) -> list[tuple[float, float]]: ...


class ReferenceOpportunity(NamedTuple):
    buy_venue: int
    sell_venue: int
    quantity: float
    buy_vwap: float
    sell_vwap: float
    buy_worst: float
    sell_worst: float
    gross_profit: float
    net_profit: float
    gross_bps: float
    net_bps: float
