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


_STEP_EPS = 1e-9


def _take_notional(levels: list[tuple[float, float]], qty: float) -> tuple[float, float]:
    notional = worst = 0.0
    noise = qty * 1e-12  # subtraction noise is not quantity (as in the kernel)
    for price, size in levels:
        if qty <= noise:
            break
        take = min(size, qty)
        notional += take * price
        worst = price
        qty -= take
    return notional, worst


def reference_walk_pair(
    asks: list[tuple[float, float]],
    bids: list[tuple[float, float]],
    fee_buy: float,
    fee_sell: float,
    min_net_bps: float,
    base_cap: float,
    quote_cap: float,
    max_notional: float,
    step: float,
) -> tuple[float, float, float, float, float]:
    """Walk one pair level by level: `(qty, buy_notional, sell_notional, buy_worst, sell_worst)`."""
    threshold = 1.0 + min_net_bps * 1e-4
    qty = buy_notional = 0.0
    ia = ib = 0
    rem_a = asks[0][1] if asks else 0.0
    rem_b = bids[0][1] if bids else 0.0
    while ia < len(asks) and ib < len(bids):
        pa, pb = asks[ia][0], bids[ib][0]
        if pb * (1.0 - fee_sell) < pa * (1.0 + fee_buy) * threshold:
            break
        limits = [
            min(rem_a, rem_b),
            base_cap - qty,
            (quote_cap / (1.0 + fee_buy) - buy_notional) / pa,
            (max_notional - buy_notional) / pa,
        ]
        take = min(limits)
        if take <= 0.0:
            break
        qty += take
        buy_notional += take * pa
        if take < limits[0]:
            break
        rem_a -= take
        rem_b -= take
        if rem_a <= 0.0:
            ia += 1
            rem_a = asks[ia][1] if ia < len(asks) else 0.0
        if rem_b <= 0.0:
            ib += 1
            rem_b = bids[ib][1] if ib < len(bids) else 0.0
    qty = min(math.floor(qty / step + _STEP_EPS) * step, qty)
    if qty <= 0.0:
        return (0.0, 0.0, 0.0, 0.0, 0.0)
    buy_notional, buy_worst = _take_notional(asks, qty)
    sell_notional, sell_worst = _take_notional(bids, qty)
    return (qty, buy_notional, sell_notional, buy_worst, sell_worst)


def reference_find_opportunity(
    books: Sequence[BookLike],
    fees: Sequence[float],
    base_free: Sequence[float],
    quote_free: Sequence[float],
    usable: Sequence[bool],
    min_net_bps: float,
    max_notional: float,
    qty_step: float,
    *,
    exhaustive: bool = True,
) -> ReferenceOpportunity | None:
    """The spread kernel in plain Python.

    With `exhaustive` (the default, the oracle) every ordered pair of usable venues is walked and
    the most profitable wins (first pair on ties). Without it, the pair is chosen from the top of
    book exactly as the Cython kernel does (the like-for-like benchmark baseline).
    """
    n = len(books)
    levels = [(b.top(False, 1 << 30), b.top(True, 1 << 30)) for b in books]

    def walk(i: int, j: int) -> ReferenceOpportunity | None:
        qty, buy_n, sell_n, buy_w, sell_w = reference_walk_pair(
            levels[i][0], levels[j][1], fees[i], fees[j], min_net_bps, base_free[j], quote_free[i],
            max_notional, qty_step,
        )
        if qty <= 0.0:
            return None
        gross = sell_n - buy_n
        net = sell_n * (1.0 - fees[j]) - buy_n * (1.0 + fees[i])
        return ReferenceOpportunity(
            i, j, qty, buy_n / qty, sell_n / qty, buy_w, sell_w, gross, net,
            gross / buy_n * 1e4, net / buy_n * 1e4,
        )

    if exhaustive:
        pairs = [(i, j) for i in range(n) for j in range(n) if i != j and usable[i] and usable[j]]
    else:
        buys = sorted(
            (levels[i][0][0][0] * (1.0 + fees[i]), i)
            for i in range(n) if usable[i] and levels[i][0] and quote_free[i] > 0.0
        )
        sells = sorted(
            ((-levels[j][1][0][0] * (1.0 - fees[j]), j)
             for j in range(n) if usable[j] and levels[j][1] and base_free[j] >= qty_step),
        )
        if not buys or not sells:
            return None
        a1, b1 = buys[0][1], sells[0][1]
        if a1 != b1:
            pairs = [(a1, b1)]
        else:
            pairs = ([(a1, sells[1][1])] if len(sells) > 1 else []) + (
                [(buys[1][1], b1)] if len(buys) > 1 else []
            )
    best: ReferenceOpportunity | None = None
    for i, j in pairs:
        opp = walk(i, j)
        if opp is not None and (best is None or opp.net_profit > best.net_profit):
            best = opp
    return best
