"""L2Book unit tests and a Hypothesis state machine checking parity with ReferenceBook."""

from __future__ import annotations

import math
from array import array

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from arb._core.book import L2Book
from arb._core.reference import ReferenceBook

BOOKS = [L2Book, ReferenceBook]


def d(*values: float) -> array[float]:
    return array("d", values)


@pytest.fixture(params=BOOKS, ids=["cython", "reference"])
def book(request: pytest.FixtureRequest) -> L2Book:
    return request.param(2)  # type: ignore[no-any-return]


def test_sides_sorted_best_first_and_deletes(book: L2Book) -> None:
    for price, size in [(100.0, 1.0), (101.0, 2.0), (99.0, 3.0)]:
        book.apply(True, price, size)
    for price, size in [(103.0, 1.0), (102.0, 5.0), (104.0, 2.0)]:
        book.apply(False, price, size)
    assert book.top(True, 10) == [(101.0, 2.0), (100.0, 1.0), (99.0, 3.0)]
    assert book.top(False, 2) == [(102.0, 5.0), (103.0, 1.0)]
    assert book.best_bid() == (101.0, 2.0) and book.best_ask() == (102.0, 5.0)
    book.apply(True, 100.0, 0.0)
    book.apply(True, 55.0, 0.0)  # deleting a missing level is a no-op
    book.apply(False, 102.0, 7.0)  # update in place
    assert book.top(True, 10) == [(101.0, 2.0), (99.0, 3.0)]
    assert (book.bid_count, book.ask_count) == (2, 3)
    assert book.best_ask() == (102.0, 7.0)


def test_empty_book(book: L2Book) -> None:
    assert book.best_bid() is None and book.best_ask() is None
    assert book.top(True, 5) == [] and book.walk(False, 1.0) == (0.0, 0.0, 0.0)
    assert not book.is_crossed()


def test_walk_depth_for_and_crossed(book: L2Book) -> None:
    book.apply_levels(False, d(10.0, 11.0, 12.0), d(1.0, 2.0, 3.0))
    filled, vwap, worst = book.walk(False, 2.5)
    assert filled == 2.5 and worst == 11.0
    assert vwap == pytest.approx((10.0 * 1.0 + 11.0 * 1.5) / 2.5)
    assert book.walk(False, 100.0)[0] == 6.0
    assert book.depth_for(False, 11.0) == 3.0
    book.apply_levels(True, d(9.0, 8.0), d(1.0, 1.0))
    assert book.depth_for(True, 8.5) == 1.0
    assert not book.is_crossed()
    book.apply(True, 10.0, 1.0)
    assert book.is_crossed()


def test_growth_past_capacity_and_clear(book: L2Book) -> None:
    prices = [float(p) for p in range(1, 200)]
    book.apply_levels(True, array("d", prices), array("d", [1.0] * len(prices)))
    assert book.bid_count == 199
    assert book.top(True, 1) == [(199.0, 1.0)]
    book.clear()
    assert book.bid_count == 0
    book.apply(True, 5.0, 1.0)
    assert book.best_bid() == (5.0, 1.0)


def test_snapshot_replaces_unsorted_input_last_duplicate_wins(book: L2Book) -> None:
    book.apply(True, 1.0, 1.0)
    book.set_snapshot([10.0, 12.0, 11.0, 12.0], [1.0, 2.0, 3.0, 4.0], [13.0, 15.0, 14.0], [1.0, 0.0, 2.0])
    assert book.top(True, 10) == [(12.0, 4.0), (11.0, 3.0), (10.0, 1.0)]
    assert book.top(False, 10) == [(13.0, 1.0), (14.0, 2.0)]


@pytest.mark.parametrize(
    ("price", "size", "named"),
    [(math.nan, 1.0, "price nan"), (math.inf, 1.0, "price inf"), (-1.0, 1.0, "price -1.0"),
     (0.0, 1.0, "price 0.0"), (1.0, math.nan, "size nan"), (1.0, -2.0, "size -2.0"),
     (1.0, math.inf, "size inf")],
)
def test_bad_values_raise_and_change_nothing(book: L2Book, price: float, size: float, named: str) -> None:
    book.apply(True, 5.0, 1.0)
    with pytest.raises(ValueError, match=named):
        book.apply(True, price, size)
    with pytest.raises(ValueError, match=named):
        book.apply_levels(True, d(6.0, price), d(1.0, size))
    with pytest.raises(ValueError, match=named):
        book.set_snapshot([price], [size], [], [])
    assert book.top(True, 10) == [(5.0, 1.0)] and book.ask_count == 0


def test_apply_levels_length_mismatch(book: L2Book) -> None:
    with pytest.raises(ValueError, match="differ in length"):
        book.apply_levels(True, d(1.0, 2.0), d(1.0))


def test_top_into_fills_preallocated_buffers() -> None:
    book = L2Book()
    book.apply_levels(False, d(3.0, 1.0, 2.0), d(30.0, 10.0, 20.0))
    prices, sizes = array("d", [0.0] * 2), array("d", [0.0] * 2)
    assert book.top_into(False, prices, sizes) == 2
    assert list(prices) == [1.0, 2.0] and list(sizes) == [10.0, 20.0]
    big_p, big_s = array("d", [0.0] * 8), array("d", [0.0] * 8)
    assert book.top_into(False, big_p, big_s) == 3


def test_attributes_and_repr() -> None:
    book = L2Book(capacity=4)
    book.update_id = 2**62
    book.ts_ns = 1_700_000_000_000_000_000
    assert book.update_id == 2**62 and book.initial_capacity == 4
    assert "bids=0" in repr(book)
    with pytest.raises(ValueError, match="capacity"):
        L2Book(0)


# --------------------------------------------------------------------------- parity state machine

BASE_PRICES = [100.0 + i * 0.5 for i in range(12)]
prices_st = st.one_of(
    st.sampled_from(BASE_PRICES),
    st.sampled_from(BASE_PRICES).map(lambda p: math.nextafter(p, math.inf)),
    st.sampled_from(BASE_PRICES).map(lambda p: math.nextafter(p, 0.0)),
    st.floats(min_value=1e-8, max_value=1e9, allow_nan=False, allow_infinity=False),
)
sizes_st = st.one_of(st.just(0.0), st.floats(min_value=1e-8, max_value=1e6))
levels_st = st.lists(st.tuples(prices_st, sizes_st), max_size=25)


class BookParity(RuleBasedStateMachine):
    """Random operations on L2Book and ReferenceBook must leave identical books after every step."""

    @initialize(capacity=st.integers(min_value=1, max_value=4))
    def start(self, capacity: int) -> None:
        self.fast = L2Book(capacity)
        self.ref = ReferenceBook(capacity)

    @rule(is_bid=st.booleans(), price=prices_st, size=sizes_st)
    def apply(self, is_bid: bool, price: float, size: float) -> None:
        self.fast.apply(is_bid, price, size)
        self.ref.apply(is_bid, price, size)

    @rule(is_bid=st.booleans(), levels=levels_st)
    def apply_levels(self, is_bid: bool, levels: list[tuple[float, float]]) -> None:
        prices, sizes = array("d", [p for p, _ in levels]), array("d", [s for _, s in levels])
        self.fast.apply_levels(is_bid, prices, sizes)
        self.ref.apply_levels(is_bid, list(prices), list(sizes))

    @rule(is_bid=st.booleans(), price=st.sampled_from([math.nan, -1.0, 0.0, math.inf]))
    def bad_apply(self, is_bid: bool, price: float) -> None:
        for book in (self.fast, self.ref):
            with pytest.raises(ValueError):
                book.apply(is_bid, price, 1.0)

    @rule(bids=levels_st, asks=levels_st)
    def snapshot(self, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> None:
        args = ([p for p, _ in bids], [s for _, s in bids], [p for p, _ in asks], [s for _, s in asks])
        self.fast.set_snapshot(*args)
        self.ref.set_snapshot(*args)

    @rule()
    def clear(self) -> None:
        self.fast.clear()
        self.ref.clear()

    @invariant()
    def same_book(self) -> None:
        for is_bid in (True, False):
            assert self.fast.top(is_bid, 10_000) == self.ref.top(is_bid, 10_000)
            for qty in (0.5, 3.0, 1e7):
                fast, ref = self.fast.walk(is_bid, qty), self.ref.walk(is_bid, qty)
                assert fast[0] == pytest.approx(ref[0], rel=1e-12)
                assert fast[1] == pytest.approx(ref[1], rel=1e-12) and fast[2] == ref[2]
            assert self.fast.depth_for(is_bid, 102.0) == pytest.approx(self.ref.depth_for(is_bid, 102.0))
        assert self.fast.best_bid() == self.ref.best_bid()
        assert self.fast.best_ask() == self.ref.best_ask()
        assert (self.fast.bid_count, self.fast.ask_count) == (self.ref.bid_count, self.ref.ask_count)
        assert self.fast.is_crossed() == self.ref.is_crossed()


TestBookParity = BookParity.TestCase
