"""[4] Cross-venue spread kernel: the best (buy venue, sell venue) pair and the size that clears.

For one symbol on N venues the kernel buys on one venue's asks and sells on another's bids. It
keeps taking size while the *marginal* pair of levels still clears the threshold after both taker
fees::

    bid * (1 - fee_sell) >= ask * (1 + fee_buy) * (1 + min_net_bps / 1e4)

capped by the sell venue's free base, the buy venue's free quote (which must also pay the buy fee)
and the maximum notional, then rounds the quantity down to the step.

Pair choice is top-of-book first, so one evaluation costs O(N) plus one walk: the buy candidate is
the usable venue with the lowest fee-adjusted best ask (among venues with quote to spend), the sell
candidate the one with the highest fee-adjusted best bid (among venues with base to sell). When
both are the same venue, the two next-best pairings are walked and the better one wins. This can
differ from an exhaustive search over all N*(N-1) pairs only when a pair whose top of book is worse
would, deeper in the books or under tighter balances, make more money; the reference in
`arb._core.reference` implements the exhaustive search, and the tests pin down that relation.
"""

cimport cython
from libc.math cimport floor

from arb._core.book cimport BookSide, L2Book


cdef double _STEP_EPS = 1e-9  # tolerates float noise like 0.29999999999 for 3 steps of 0.1


@cython.final
cdef class Opportunity:
    """A cross-venue trade the kernel found (prices as doubles; indices into the bound books)."""

    def __repr__(self):
        return (
            f"Opportunity(buy={self.buy_venue} sell={self.sell_venue} qty={self.quantity!r} "
            f"buy_vwap={self.buy_vwap!r} sell_vwap={self.sell_vwap!r} net={self.net_profit!r} "
            f"net_bps={self.net_bps!r})"
        )

    def as_tuple(self):
        """All fields in declaration order (for tests and logs)."""
        return (
            self.buy_venue, self.sell_venue, self.quantity, self.buy_vwap, self.sell_vwap,
            self.buy_worst, self.sell_worst, self.gross_profit, self.net_profit, self.gross_bps,
            self.net_bps,
        )


cdef struct _Walk:
    double qty
    double buy_notional
    double sell_notional
    double buy_worst
    double sell_worst


cdef inline double _min(double a, double b) noexcept nogil:
    return a if a < b else b


cdef double _take_notional(const BookSide* side, double qty, double* worst) noexcept nogil:
    """Notional of taking exactly `qty` from the top of `side` (caller knows it is available).

    What is left below a relative 1e-12 is float noise of the subtraction (1.05 - 1.0 - 0.05 is
    4e-17), not quantity: it must not reach a level that the walk never cleared.
    """
    cdef double notional = 0.0, take
    cdef double noise = qty * 1e-12
    cdef Py_ssize_t i = 0
    while i < side.count and qty > noise:
        take = _min(side.sizes[i], qty)
        notional += take * side.prices[i]
        worst[0] = side.prices[i]
        qty -= take
        i += 1
    return notional


cdef void _walk_pair(const BookSide* asks, const BookSide* bids, double fee_buy, double fee_sell,
                     double threshold, double base_cap, double quote_cap, double max_notional,
                     double step, _Walk* out) noexcept nogil:
    """Two-pointer walk of one pair; writes the rounded quantity and its notionals into `out`."""
    cdef Py_ssize_t ia = 0, ib = 0
    cdef double rem_a, rem_b, pa, pb, take, room
    cdef double qty = 0.0, buy_notional = 0.0
    cdef double buy_cost = 1.0 + fee_buy
    cdef bint capped
    out.qty = 0.0
    if asks.count == 0 or bids.count == 0:
        return
    rem_a = asks.sizes[0]
    rem_b = bids.sizes[0]
    while True:
        pa = asks.prices[ia]
        pb = bids.prices[ib]
        if pb * (1.0 - fee_sell) < pa * buy_cost * threshold:
            break
        take = _min(rem_a, rem_b)
        capped = False
        room = base_cap - qty
        if room < take:
            take = room
            capped = True
        room = (quote_cap / buy_cost - buy_notional) / pa
        if room < take:
            take = room
            capped = True
        room = (max_notional - buy_notional) / pa
        if room < take:
            take = room
            capped = True
        if take <= 0.0:
            break
        qty += take
        buy_notional += take * pa
        if capped:
            break
        rem_a -= take
        rem_b -= take
        if rem_a <= 0.0:
            ia += 1
            if ia == asks.count:
                break
            rem_a = asks.sizes[ia]
        if rem_b <= 0.0:
            ib += 1
            if ib == bids.count:
                break
            rem_b = bids.sizes[ib]
    cdef double rounded = floor(qty / step + _STEP_EPS) * step
    # the epsilon absorbs float noise (0.29999999999 for 3 steps of 0.1); never go past what was
    # walked, or the take below would touch a level that did not clear
    qty = rounded if rounded < qty else qty
    if qty <= 0.0:
        return
    out.qty = qty
    out.buy_notional = _take_notional(asks, qty, &out.buy_worst)
    out.sell_notional = _take_notional(bids, qty, &out.sell_worst)


@cython.final
cdef class SpreadKernel:
    """The spread kernel with one symbol's books bound once (no per-call argument marshalling).

    Parameters
    ----------
    books:
        One `L2Book` per venue (2..32); venue index = position in this list.
    min_net_bps:
        Threshold every marginal level must clear after both taker fees.
    max_notional:
        Cap on the buy leg's notional, in quote.
    qty_step:
        The common quantity step (the coarsest of the venues' steps); quantities round down to it.
    """

    def __cinit__(self, list books, double min_net_bps=0.0, double max_notional=float("inf"),
                  double qty_step=1e-8):
        cdef Py_ssize_t n = len(books), i
        if n < 2 or n > MAX_VENUES:
            raise ValueError(f"invalid number of books {n}: must be 2..{MAX_VENUES}")
        if not qty_step > 0.0:
            raise ValueError(f"invalid qty_step {qty_step!r}: must be > 0")
        if not max_notional > 0.0:
            raise ValueError(f"invalid max_notional {max_notional!r}: must be > 0")
        self._books = list(books)
        self.n_venues = <int>n
        cdef L2Book book
        for i in range(n):
            book = <L2Book?>books[i]
            self._asks[i] = &book.asks
            self._bids[i] = &book.bids
            self._fee[i] = 0.0
            self._base_free[i] = float("inf")
            self._quote_free[i] = float("inf")
            self._usable[i] = True
        self.min_net_bps = min_net_bps
        self.max_notional = max_notional
        self._step = qty_step

    cdef int _index(self, int venue) except -1:
        if venue < 0 or venue >= self.n_venues:
            raise IndexError(f"venue index {venue} out of range 0..{self.n_venues - 1}")
        return venue

    def set_fee(self, int venue, double taker):
        """Set a venue's taker fee rate (fraction, 0.001 = 10 bps)."""
        if not (taker >= 0.0 and taker < 1.0):
            raise ValueError(f"invalid taker fee {taker!r}: must be in [0, 1)")
        self._fee[self._index(venue)] = taker

    def set_balance(self, int venue, double base_free, double quote_free):
        """Set what can be sold (base) and spent including fees (quote) on a venue."""
        if not (base_free >= 0.0 and quote_free >= 0.0):
            raise ValueError(f"invalid balances {base_free!r}/{quote_free!r}: must be >= 0")
        cdef int i = self._index(venue)
        self._base_free[i] = base_free
        self._quote_free[i] = quote_free

    def set_usable(self, int venue, bint usable):
        """Mark a venue's book as usable (SYNCED, fresh, venue healthy) or not."""
        self._usable[self._index(venue)] = usable

    @property
    def qty_step(self):
        return self._step

    @qty_step.setter
    def qty_step(self, double value):
        if not value > 0.0:
            raise ValueError(f"invalid qty_step {value!r}: must be > 0")
        self._step = value

    def evaluate(self):
        """The best opportunity across the bound books now, or None."""
        return self.c_evaluate()

    cdef Opportunity c_evaluate(self):
        cdef int i, a1 = -1, a2 = -1, b1 = -1, b2 = -1
        cdef double eff, ea1 = 0.0, ea2 = 0.0, eb1 = 0.0, eb2 = 0.0
        cdef double min_qty = self._step
        for i in range(self.n_venues):
            if not self._usable[i]:
                continue
            if self._asks[i].count > 0 and self._quote_free[i] > 0.0:
                eff = self._asks[i].prices[0] * (1.0 + self._fee[i])
                if a1 < 0 or eff < ea1:
                    a2, ea2 = a1, ea1
                    a1, ea1 = i, eff
                elif a2 < 0 or eff < ea2:
                    a2, ea2 = i, eff
            if self._bids[i].count > 0 and self._base_free[i] >= min_qty:
                eff = self._bids[i].prices[0] * (1.0 - self._fee[i])
                if b1 < 0 or eff > eb1:
                    b2, eb2 = b1, eb1
                    b1, eb1 = i, eff
                elif b2 < 0 or eff > eb2:
                    b2, eb2 = i, eff
        if a1 < 0 or b1 < 0:
            return None
        if a1 != b1:
            return self._pair(a1, b1)
        cdef Opportunity first = self._pair(a1, b2) if b2 >= 0 else None
        cdef Opportunity second = self._pair(a2, b1) if a2 >= 0 else None
        if first is None:
            return second
        if second is None or first.net_profit >= second.net_profit:
            return first
        return second

    cdef Opportunity _pair(self, int buy, int sell):
        cdef double threshold = 1.0 + self.min_net_bps * 1e-4
        cdef _Walk w
        _walk_pair(self._asks[buy], self._bids[sell], self._fee[buy], self._fee[sell], threshold,
                   self._base_free[sell], self._quote_free[buy], self.max_notional, self._step, &w)
        if w.qty <= 0.0:
            return None
        cdef Opportunity opp = Opportunity.__new__(Opportunity)
        opp.buy_venue = buy
        opp.sell_venue = sell
        opp.quantity = w.qty
        opp.buy_vwap = w.buy_notional / w.qty
        opp.sell_vwap = w.sell_notional / w.qty
        opp.buy_worst = w.buy_worst
        opp.sell_worst = w.sell_worst
        opp.gross_profit = w.sell_notional - w.buy_notional
        opp.net_profit = (w.sell_notional * (1.0 - self._fee[sell])
                          - w.buy_notional * (1.0 + self._fee[buy]))
        opp.gross_bps = opp.gross_profit / w.buy_notional * 1e4
        opp.net_bps = opp.net_profit / w.buy_notional * 1e4
        return opp


def find_opportunity(list books, fees, base_free, quote_free, usable, double min_net_bps,
                     double max_notional, double qty_step):
    """One-off evaluation: binds `books`, sets fees, balances and the usable mask, evaluates."""
    cdef SpreadKernel kernel = SpreadKernel(books, min_net_bps, max_notional, qty_step)
    cdef int i
    for i in range(kernel.n_venues):
        kernel.set_fee(i, fees[i])
        kernel.set_balance(i, base_free[i], quote_free[i])
        kernel.set_usable(i, usable[i])
    return kernel.c_evaluate()
