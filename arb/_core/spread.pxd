# [4] Cross-venue spread kernel contract.

from arb._core.book cimport BookSide, L2Book

cdef enum:
    MAX_VENUES = 32


cdef class Opportunity:
    cdef readonly int buy_venue        # index of the venue whose asks we take
    cdef readonly int sell_venue       # index of the venue whose bids we hit
    cdef readonly double quantity      # base units, a multiple of the step
    cdef readonly double buy_vwap      # quote per base
    cdef readonly double sell_vwap
    cdef readonly double buy_worst     # deepest ask touched: the buy leg's IOC limit price
    cdef readonly double sell_worst    # deepest bid touched: the sell leg's IOC limit price
    cdef readonly double gross_profit  # quote: sell notional - buy notional
    cdef readonly double net_profit    # quote: after both taker fees
    cdef readonly double gross_bps     # gross_profit / buy notional, in bps
    cdef readonly double net_bps


cdef class SpreadKernel:
    cdef readonly int n_venues
    cdef list _books                       # keeps the bound L2Books alive
    cdef const BookSide* _asks[MAX_VENUES]
    cdef const BookSide* _bids[MAX_VENUES]
    cdef double _fee[MAX_VENUES]           # taker fee rate (fraction)
    cdef double _base_free[MAX_VENUES]     # base units we can sell on each venue
    cdef double _quote_free[MAX_VENUES]    # quote we can spend (incl. fee) on each venue
    cdef bint _usable[MAX_VENUES]          # book SYNCED and venue allowed to trade
    cdef public double min_net_bps         # threshold on the marginal level, after fees
    cdef public double max_notional        # cap on the buy leg's notional (quote)
    cdef double _step                      # quantity step (base)

    cdef Opportunity c_evaluate(self)
    cdef Opportunity _pair(self, int buy, int sell)
    cdef int _index(self, int venue) except -1
