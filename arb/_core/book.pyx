"""[3] L2Book: one symbol's L2 book on one venue, as two sorted arrays of doubles per side.

Bids are kept descending and asks ascending, best level at index 0, so the top of book is a load
and walking depth is a forward scan. The live levels sit in the middle of a larger buffer, so an
update finds its level by binary search and memmoves the shorter part: the few levels above it (most
updates are near the top) or the tail below it. A zero size deletes the level. Capacity doubles on
growth and never shrinks below the capacity the book was created with.
"""

cimport cython
from cpython.array cimport array, clone
from cpython.object cimport Py_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS,
    PyBUF_FORMAT,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from libc.string cimport memcpy, memmove, strlen

from arb._core.types cimport price_t, qty_t

cdef double _INF = float("inf")


cdef int _side_alloc(BookSide* side, Py_ssize_t capacity, bint is_bid) except -1:
    side.price_buf = <price_t*>PyMem_Malloc(capacity * sizeof(price_t))
    side.size_buf = <qty_t*>PyMem_Malloc(capacity * sizeof(qty_t))
    if side.price_buf == NULL or side.size_buf == NULL:
        raise MemoryError()
    side.capacity = capacity
    side.is_bid = is_bid
    side.count = 0
    _side_place(side, capacity // 2)
    return 0


cdef inline void _side_place(BookSide* side, Py_ssize_t head) noexcept nogil:
    side.head = head
    side.prices = side.price_buf + head
    side.sizes = side.size_buf + head


cdef int _side_recentre(BookSide* side, Py_ssize_t capacity) except -1:
    """Move the live levels to the middle of a buffer of `capacity` slots (reallocating if needed)."""
    cdef Py_ssize_t head = (capacity - side.count) // 2
    cdef price_t* prices
    cdef qty_t* sizes
    if capacity == side.capacity:
        memmove(side.price_buf + head, side.prices, side.count * sizeof(price_t))
        memmove(side.size_buf + head, side.sizes, side.count * sizeof(qty_t))
        _side_place(side, head)
        return 0
    prices = <price_t*>PyMem_Malloc(capacity * sizeof(price_t))
    sizes = <qty_t*>PyMem_Malloc(capacity * sizeof(qty_t))
    if prices == NULL or sizes == NULL:
        PyMem_Free(prices)
        PyMem_Free(sizes)
        raise MemoryError()
    memcpy(prices + head, side.prices, side.count * sizeof(price_t))
    memcpy(sizes + head, side.sizes, side.count * sizeof(qty_t))
    PyMem_Free(side.price_buf)
    PyMem_Free(side.size_buf)
    side.price_buf = prices
    side.size_buf = sizes
    side.capacity = capacity
    _side_place(side, head)
    return 0


cdef enum:
    _LINEAR_PROBE = 16  # levels scanned linearly before the binary search (updates cluster at the top)


cdef inline Py_ssize_t _find(const BookSide* side, price_t price) noexcept nogil:
    """Index of the first level that is not better than `price` (where it is or would go)."""
    cdef const price_t* prices = side.prices
    cdef Py_ssize_t count = side.count, i
    cdef Py_ssize_t probe = count if count < _LINEAR_PROBE else _LINEAR_PROBE
    cdef Py_ssize_t better = 0
    # Counting the better levels among the first few has no data-dependent branch (it vectorises),
    # so the common top-of-book update costs no misprediction; sortedness makes the count the index.
    if side.is_bid:
        for i in range(probe):
            better += prices[i] > price
    else:
        for i in range(probe):
            better += prices[i] < price
    if better < probe or probe == count:
        return better
    # binary search over the rest
    cdef Py_ssize_t lo = probe, hi = count, mid
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


cdef enum:
    _SMALL_MOVE = 32  # below this many levels a plain loop beats memmove's overlapping-copy paths


cdef inline void _shift(double* dst, const double* src, Py_ssize_t n) noexcept nogil:
    """memmove for the short overlapping shifts by one slot that dominate book updates."""
    cdef Py_ssize_t i
    if n >= _SMALL_MOVE:
        memmove(dst, src, n * sizeof(double))
    elif dst < src:
        for i in range(n):
            dst[i] = src[i]
    else:
        for i in range(n - 1, -1, -1):
            dst[i] = src[i]


cdef inline int _side_set(BookSide* side, price_t price, qty_t size) except -1:
    """Set one level (validated by the caller); size 0 deletes, deleting a missing level is a no-op."""
    cdef Py_ssize_t idx = _find(side, price)
    cdef Py_ssize_t count = side.count
    cdef Py_ssize_t tail = count - idx
    cdef bint found = idx < count and side.prices[idx] == price
    if size == 0.0:
        if not found:
            return 0
        if idx < tail:  # close to the top: shift the levels above it down by one
            _shift(side.prices + 1, side.prices, idx)
            _shift(side.sizes + 1, side.sizes, idx)
            _side_place(side, side.head + 1)
        else:
            _shift(side.prices + idx, side.prices + idx + 1, tail - 1)
            _shift(side.sizes + idx, side.sizes + idx + 1, tail - 1)
        side.count = count - 1
        return 0
    if found:
        side.sizes[idx] = size
        return 0
    if count + 1 > side.capacity:
        _side_recentre(side, side.capacity * 2)
    cdef bint front = idx < tail
    if front and side.head == 0 or not front and side.head + count == side.capacity:
        # no slack on the cheap end: recentre once, which buys slack for many updates
        _side_recentre(side, side.capacity if 4 * (count + 1) <= 3 * side.capacity
                       else side.capacity * 2)
    if front:
        _shift(side.prices - 1, side.prices, idx)
        _shift(side.sizes - 1, side.sizes, idx)
        _side_place(side, side.head - 1)
    else:
        _shift(side.prices + idx + 1, side.prices + idx, tail)
        _shift(side.sizes + idx + 1, side.sizes + idx, tail)
    side.prices[idx] = price
    side.sizes[idx] = size
    side.count = count + 1
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
        PyMem_Free(self.bids.price_buf)
        PyMem_Free(self.bids.size_buf)
        PyMem_Free(self.asks.price_buf)
        PyMem_Free(self.asks.size_buf)

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
        try:  # shrinking back to the initial capacity cannot really fail; keep the buffer if it does
            _side_recentre(&self.bids, self.initial_capacity)
            _side_recentre(&self.asks, self.initial_capacity)
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

    def apply_levels(self, bint is_bid, prices, sizes):
        """Set many levels of one side from two buffers of doubles (one call per message side).

        Any C-contiguous buffer of doubles works (`array('d')`, numpy float64, memoryview);
        `array('d')` takes a fast path. The whole input is validated before anything changes.
        """
        cdef Py_ssize_t n
        if type(prices) is array and type(sizes) is array:
            if (<array>prices).ob_descr.typecode == b"d" and (<array>sizes).ob_descr.typecode == b"d":
                n = Py_SIZE(prices)
                if n != Py_SIZE(sizes):
                    raise ValueError(f"prices and sizes differ in length: {n} != {Py_SIZE(sizes)}")
                self.c_apply_levels(is_bid, (<array>prices).data.as_doubles,
                                    (<array>sizes).data.as_doubles, n)
                return
        cdef Py_buffer pv, sv
        _get_doubles(prices, &pv, "prices")
        try:
            _get_doubles(sizes, &sv, "sizes")
        except BaseException:
            PyBuffer_Release(&pv)
            raise
        n = pv.len // sizeof(double)
        try:
            if n != sv.len // <Py_ssize_t>sizeof(double):
                raise ValueError(
                    f"prices and sizes differ in length: {n} != {sv.len // sizeof(double)}"
                )
            self.c_apply_levels(is_bid, <const double*>pv.buf, <const double*>sv.buf, n)
        finally:
            PyBuffer_Release(&pv)
            PyBuffer_Release(&sv)

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


cdef int _get_doubles(object obj, Py_buffer* view, str name) except -1:
    """Borrow `obj`'s buffer as C doubles (cheaper than a typed memoryview on the hot path)."""
    PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    cdef const char* fmt = view.format
    cdef size_t flen = strlen(fmt) if fmt != NULL else 0
    if view.itemsize != sizeof(double) or flen == 0 or flen > 2 or fmt[flen - 1] != b"d" or (
        flen == 2 and fmt[0] != b"@" and fmt[0] != b"=" and fmt[0] != b"<"
    ):
        PyBuffer_Release(view)
        raise TypeError(f"{name} must be a contiguous buffer of doubles, e.g. array('d')")
    return 0


cdef array _DOUBLES = array("d")


@cython.boundscheck(True)  # input straight from the wire: a short level must raise, not crash
@cython.wraparound(False)
def split_levels(list levels):
    """``[(price, size), ...]`` (tuples or lists of floats) -> ``(array('d') prices, array('d') sizes)``.

    The decoders hand msgspec-decoded level lists straight to this, so no per-level Python work
    happens between the wire and `L2Book.apply_levels`.
    """
    cdef Py_ssize_t n = len(levels), i
    cdef array prices = clone(_DOUBLES, n, False)
    cdef array sizes = clone(_DOUBLES, n, False)
    cdef object level
    for i in range(n):
        level = levels[i]
        if len(level) < 2:
            raise ValueError(f"level {i} has {len(level)} fields, expected (price, size)")
        prices.data.as_doubles[i] = level[0]
        sizes.data.as_doubles[i] = level[1]
    return prices, sizes
