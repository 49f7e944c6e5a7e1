# [3] L2Book contract: one symbol's L2 book on one venue.
#
# Each side is a contiguous array of (price, size) doubles kept sorted best-first: bids descending,
# asks ascending. The live levels sit inside a larger buffer with slack at both ends, so an update
# finds its level by binary search and memmoves whichever part is shorter: the few levels above it
# (top-of-book churn) or the tail below it. Capacity doubles on growth and never shrinks below the
# initial capacity. Other Cython modules (the spread kernel) read `prices`/`sizes`/`count` directly.

from arb._core.types cimport price_t, qty_t


cdef struct BookSide:
    price_t* prices      # live levels, best first (points into price_buf)
    qty_t* sizes         # same index as prices; always > 0
    Py_ssize_t count     # live levels
    Py_ssize_t head      # offset of prices[0] in price_buf (free slots before the best level)
    Py_ssize_t capacity  # allocated slots in each buffer
    price_t* price_buf   # the allocation (owned)
    qty_t* size_buf
    bint is_bid          # True: descending prices


cdef class L2Book:
    cdef BookSide bids
    cdef BookSide asks
    cdef readonly Py_ssize_t initial_capacity   # slots per side at construction
    cdef public long long update_id             # last applied venue update id (sync layer sets it)
    cdef public long long ts_ns                 # last update time, ns (sync layer sets it)

    # fast twins for Cython callers; all validate and leave the book unchanged on bad input
    cdef int c_apply(self, bint is_bid, price_t price, qty_t size) except -1
    cdef int c_apply_levels(self, bint is_bid, const double* prices, const double* sizes,
                            Py_ssize_t n) except -1
    cdef void c_clear(self) noexcept
    cdef Py_ssize_t c_top(self, bint is_bid, double* out_prices, double* out_sizes,
                          Py_ssize_t n) noexcept
    # walk: fills (filled, vwap, worst); returns filled qty
    cdef qty_t c_walk(self, bint is_bid, qty_t qty, double* vwap, double* worst) noexcept
