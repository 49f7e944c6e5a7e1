"""[3] L2Book: one symbol's L2 book on one venue, as two sorted arrays of doubles per side.

Bids are kept descending and asks ascending, best level at index 0, so the top of book is a load
and walking depth is a forward scan. An update finds its level by binary search and shifts the tail
with memmove; a zero size deletes the level. Capacity doubles on growth and never shrinks below the
capacity the book was created with.
"""

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.string cimport memmove

from arb._core.types cimport price_t, qty_t

cdef double _INF = float("inf")


cdef int _side_alloc(BookSide* side, Py_ssize_t capacity, bint is_bid) except -1:
    side.prices = <price_t*>PyMem_Malloc(capacity * sizeof(price_t))
    side.sizes = <qty_t*>PyMem_Malloc(capacity * sizeof(qty_t))
    if side.prices == NULL or side.sizes == NULL:
        raise MemoryError()
    side.count = 0
    side.capacity = capacity
    side.is_bid = is_bid
    return 0


cdef int _side_resize(BookSide* side, Py_ssize_t capacity) except -1:
    cdef price_t* prices = <price_t*>PyMem_Realloc(side.prices, capacity * sizeof(price_t))
    if prices == NULL:
        raise MemoryError()
    side.prices = prices
    cdef qty_t* sizes = <qty_t*>PyMem_Realloc(side.sizes, capacity * sizeof(qty_t))
    if sizes == NULL:
        raise MemoryError()
    side.sizes = sizes
    side.capacity = capacity
    return 0


cdef inline Py_ssize_t _find(const BookSide* side, price_t price) noexcept nogil:
    """Index of the first level that is not better than `price` (where it is or would go)."""
    cdef Py_ssize_t lo = 0, hi = side.count, mid
    cdef const price_t* prices = side.prices
    # Most updates touch the first few levels: a short linear probe beats the binary search there.
    if hi > 0:
        if side.is_bid:
            if prices[0] <= price:
                return 0
        elif prices[0] >= price:
            return 0
    if side.is_bid:
        while lo < hi:
            mid = (lo + hi) >> 1
            if prices[mid] > price:
                lo = mid + 1
            else:
                hi = mid
    else:
        while lo < hi:
            mid = (lo + hi) >> 1
            if prices[mid] < price:
                lo = mid + 1
            else:
                hi = mid
    return lo


cdef inline int _side_set(BookSide* side, price_t price, qty_t size) except -1:
    """Set one level (validated by the caller); size 0 deletes, deleting a missing level is a no-op."""
    cdef Py_ssize_t idx = _find(side, price)
    cdef Py_ssize_t tail
    cdef bint found = idx < side.count and side.prices[idx] == price
    if size == 0.0:
        if found:
            tail = side.count - idx - 1
            if tail > 0:
                memmove(&side.prices[idx], &side.prices[idx + 1], tail * sizeof(price_t))
                memmove(&side.sizes[idx], &side.sizes[idx + 1], tail * sizeof(qty_t))
            side.count -= 1
        return 0
    if found:
        side.sizes[idx] = size
        return 0
    if side.count == side.capacity:
        _side_resize(side, side.capacity * 2)
    tail = side.count - idx
    if tail > 0:
        memmove(&side.prices[idx + 1], &side.prices[idx], tail * sizeof(price_t))
        memmove(&side.sizes[idx + 1], &side.sizes[idx], tail * sizeof(qty_t))
    side.prices[idx] = price
    side.sizes[idx] = size
    side.count += 1
    return 0


cdef inline bint _bad_level(double price, double size) noexcept nogil:
    # written so that NaN fails every comparison and lands here
    return not (price > 0.0 and price < _INF and size >= 0.0 and size < _INF)


cdef int _raise_bad_level(double price, double size) except -1:
    if not (price > 0.0 and price < _INF):
        raise ValueError(f"invalid price {price!r}: must be finite and > 0")
    raise ValueError(f"invalid size {size!r}: must be finite and >= 0")


cdef int _check_levels(const double* prices, const double* sizes, Py_ssize_t n) except -1:
    cdef Py_ssize_t i
    for i in range(n):
        if _bad_level(prices[i], sizes[i]):
            _raise_bad_level(prices[i], sizes[i])
    return 0


@cython.final
cdef class L2Book:
    """One symbol's L2 book on one venue.

    Parameters
    ----------
    capacity:
        Levels allocated per side up front (the book grows by doubling past it and never shrinks
        below it).
    """

    def __cinit__(self, Py_ssize_t capacity=256):
        if capacity < 1:
            raise ValueError(f"invalid capacity {capacity!r}: must be >= 1")
        self.initial_capacity = capacity
        _side_alloc(&self.bids, capacity, True)
        _side_alloc(&self.asks, capacity, False)
        self.update_id = 0
        self.ts_ns = 0

    def __dealloc__(self):
        PyMem_Free(self.bids.prices)
        PyMem_Free(self.bids.sizes)
        PyMem_Free(self.asks.prices)
        PyMem_Free(self.asks.sizes)

    # ------------------------------------------------------------------ fast twins (Cython callers)

    cdef int c_apply(self, bint is_bid, price_t price, qty_t size) except -1:
        if _bad_level(price, size):
            _raise_bad_level(price, size)
        return _side_set(&self.bids if is_bid else &self.asks, price, size)

    cdef int c_apply_levels(self, bint is_bid, const double* prices, const double* sizes,
                            Py_ssize_t n) except -1:
        _check_levels(prices, sizes, n)
        cdef BookSide* side = &self.bids if is_bid else &self.asks
        cdef Py_ssize_t i
        for i in range(n):
            _side_set(side, prices[i], sizes[i])
        return 0

    cdef void c_clear(self) noexcept:
        self.bids.count = 0
        self.asks.count = 0
        if self.bids.capacity > self.initial_capacity:
            try:
                _side_resize(&self.bids, self.initial_capacity)
            except MemoryError:  # shrinking cannot really fail; keep the larger buffer if it does
                pass
        if self.asks.capacity > self.initial_capacity:
            try:
                _side_resize(&self.asks, self.initial_capacity)
            except MemoryError:
                pass

    cdef Py_ssize_t c_top(self, bint is_bid, double* out_prices, double* out_sizes,
                          Py_ssize_t n) noexcept:
        cdef const BookSide* side = &self.bids if is_bid else &self.asks
        cdef Py_ssize_t count = side.count if side.count < n else n
        cdef Py_ssize_t i
        for i in range(count):
            out_prices[i] = side.prices[i]
            out_sizes[i] = side.sizes[i]
        return count

    cdef qty_t c_walk(self, bint is_bid, qty_t qty, double* vwap, double* worst) noexcept:
        cdef const BookSide* side = &self.bids if is_bid else &self.asks
        cdef qty_t filled = 0.0, take
        cdef double notional = 0.0
        cdef Py_ssize_t i = 0
        worst[0] = 0.0
        while i < side.count and filled < qty:
            take = side.sizes[i]
            if take > qty - filled:
                take = qty - filled
            filled += take
            notional += take * side.prices[i]
            worst[0] = side.prices[i]
            i += 1
        vwap[0] = notional / filled if filled > 0.0 else 0.0
        return filled

    # ------------------------------------------------------------------ Python API

    def apply(self, bint is_bid, double price, double size):
        """Set one level: `size` 0 deletes it (a no-op when the level is missing)."""
        if _bad_level(price, size):
            _raise_bad_level(price, size)
        _side_set(&self.bids if is_bid else &self.asks, price, size)

    def apply_levels(self, bint is_bid, const double[::1] prices, const double[::1] sizes):
        """Set many levels of one side from two buffers of doubles (one call per message side).

        The whole input is validated before anything changes.
        """
        if prices.shape[0] != sizes.shape[0]:
            raise ValueError(
                f"prices and sizes differ in length: {prices.shape[0]} != {sizes.shape[0]}"
            )
        if prices.shape[0] == 0:
            return
        self.c_apply_levels(is_bid, &prices[0], &sizes[0], prices.shape[0])

    def set_snapshot(self, bid_prices, bid_sizes, ask_prices, ask_sizes):
        """Replace both sides (input in any order; for a repeated price the last one wins)."""
        cdef const double[::1] bp = _as_doubles(bid_prices, "bid_prices")
        cdef const double[::1] bs = _as_doubles(bid_sizes, "bid_sizes")
        cdef const double[::1] ap = _as_doubles(ask_prices, "ask_prices")
        cdef const double[::1] az = _as_doubles(ask_sizes, "ask_sizes")
        if bp.shape[0] != bs.shape[0] or ap.shape[0] != az.shape[0]:
            raise ValueError("snapshot prices and sizes differ in length")
        if bp.shape[0]:
            _check_levels(&bp[0], &bs[0], bp.shape[0])
        if ap.shape[0]:
            _check_levels(&ap[0], &az[0], ap.shape[0])
        self.c_clear()
        cdef Py_ssize_t i
        for i in range(bp.shape[0]):
            _side_set(&self.bids, bp[i], bs[i])
        for i in range(ap.shape[0]):
            _side_set(&self.asks, ap[i], az[i])

    def clear(self):
        """Remove every level (update_id and ts_ns are left to the sync layer)."""
        self.c_clear()

    def best_bid(self):
        """`(price, size)` of the best bid, or None."""
        if self.bids.count == 0:
            return None
        return (self.bids.prices[0], self.bids.sizes[0])

    def best_ask(self):
        """`(price, size)` of the best ask, or None."""
        if self.asks.count == 0:
            return None
        return (self.asks.prices[0], self.asks.sizes[0])

    @property
    def bid_count(self):
        return self.bids.count

    @property
    def ask_count(self):
        return self.asks.count

    def top(self, bint is_bid, Py_ssize_t n):
        """The best `n` levels of one side as a list of `(price, size)`."""
        cdef const BookSide* side = &self.bids if is_bid else &self.asks
        cdef Py_ssize_t count = side.count if side.count < n else n
        return [(side.prices[i], side.sizes[i]) for i in range(max(count, 0))]

    def top_into(self, bint is_bid, double[::1] out_prices, double[::1] out_sizes):
        """Copy the best levels into preallocated buffers (no per-level objects); returns the count."""
        cdef Py_ssize_t n = min(out_prices.shape[0], out_sizes.shape[0])
        if n == 0:
            return 0
        return self.c_top(is_bid, &out_prices[0], &out_sizes[0], n)

    def walk(self, bint is_bid, double qty):
        """Take `qty` from one side: `(filled_qty, vwap, worst_price)` (0.0s when nothing fills)."""
        cdef double vwap, worst
        cdef double filled = self.c_walk(is_bid, qty, &vwap, &worst)
        return (filled, vwap, worst)

    def depth_for(self, bint is_bid, double limit_price):
        """Total size on one side at prices at least as good as `limit_price` for a taker."""
        cdef const BookSide* side = &self.bids if is_bid else &self.asks
        cdef double total = 0.0
        cdef Py_ssize_t i = 0
        while i < side.count and (
            side.prices[i] >= limit_price if is_bid else side.prices[i] <= limit_price
        ):
            total += side.sizes[i]
            i += 1
        return total

    def is_crossed(self):
        """True when both sides exist and best bid >= best ask."""
        return (
            self.bids.count > 0 and self.asks.count > 0
            and self.bids.prices[0] >= self.asks.prices[0]
        )

    def _noop(self, bint is_bid, double price, double size):
        """Does nothing: the benchmarks' Python-call floor, measured with `apply`'s signature."""

    def __repr__(self):
        return (
            f"L2Book(bids={self.bids.count}, asks={self.asks.count}, "
            f"best_bid={self.best_bid()}, best_ask={self.best_ask()}, update_id={self.update_id})"
        )


cdef const double[::1] _as_doubles(object values, str name):
    """A buffer of doubles as-is, or a sequence of numbers converted once (snapshots only)."""
    try:
        return values
    except (TypeError, ValueError):
        pass
    from array import array
    try:
        return array("d", values)
    except TypeError as exc:
        raise ValueError(f"{name} must be a buffer or sequence of numbers") from exc
