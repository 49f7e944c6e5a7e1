"""Spread kernel: hand-checked cases and Hypothesis parity with the pure-Python reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arb._core.book import L2Book
from arb._core.reference import ReferenceBook, reference_find_opportunity
from arb._core.spread import Opportunity, SpreadKernel, find_opportunity

INF = math.inf


def book(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> L2Book:
    b = L2Book(4)
    b.set_snapshot([p for p, _ in bids], [s for _, s in bids], [p for p, _ in asks], [s for _, s in asks])
    return b


def run(books: list[L2Book], *, fees: list[float] | None = None, base: list[float] | None = None,
        quote: list[float] | None = None, usable: list[bool] | None = None, bps: float = 0.0,
        max_notional: float = INF, step: float = 0.01) -> Opportunity | None:
    n = len(books)
    return find_opportunity(
        books, fees or [0.0] * n, base or [INF] * n, quote or [INF] * n, usable or [True] * n,
        bps, max_notional, step,
    )


def test_walks_until_the_marginal_level_stops_clearing() -> None:
    # venue 0 sells cheap (asks 100, 101, 103), venue 1 bids high (102, 101.5, 99)
    a = book([(90.0, 5.0)], [(100.0, 1.0), (101.0, 1.0), (103.0, 5.0)])
    b = book([(102.0, 1.5), (101.5, 1.0), (99.0, 5.0)], [(110.0, 1.0)])
    opp = run([a, b])
    assert opp is not None
    # marginal pairs: (100,102) 1.0, (101,102) 0.5, (101,101.5) 0.5, then (103,101.5) fails
    assert (opp.buy_venue, opp.sell_venue) == (0, 1)
    assert opp.quantity == pytest.approx(2.0)
    assert opp.buy_vwap == pytest.approx((100.0 + 101.0) / 2)
    assert opp.sell_vwap == pytest.approx((102.0 * 1.5 + 101.5 * 0.5) / 2)
    assert (opp.buy_worst, opp.sell_worst) == (101.0, 101.5)
    assert opp.gross_profit == pytest.approx(153.0 + 50.75 - 201.0)
    assert opp.net_profit == pytest.approx(opp.gross_profit)
    assert opp.net_bps == pytest.approx(opp.gross_profit / 201.0 * 1e4)


def test_fees_and_threshold_cut_the_walk() -> None:
    a = book([(90.0, 5.0)], [(100.0, 1.0), (100.5, 1.0)])
    b = book([(101.0, 5.0)], [(110.0, 1.0)])
    # 10 bps each side: 101*(0.999)=100.899 vs 100*1.001=100.1 clears, 100.5*1.001=100.6005 clears,
    # with a 50 bps threshold only the first level clears (100.1*1.005=100.6005 <= 100.899)
    opp = run([a, b], fees=[0.001, 0.001], bps=50.0)
    assert opp is not None and opp.quantity == pytest.approx(1.0)
    assert opp.net_profit == pytest.approx(101.0 * 0.999 - 100.0 * 1.001)
    assert run([a, b], fees=[0.001, 0.001], bps=100.0) is None


def test_nothing_clears_and_one_venue() -> None:
    a = book([(99.0, 1.0)], [(100.0, 1.0)])
    b = book([(99.5, 1.0)], [(100.5, 1.0)])
    assert run([a, b]) is None
    crossed_b = book([(101.0, 1.0)], [(102.0, 1.0)])
    assert run([a, crossed_b], usable=[True, False]) is None  # only one usable venue
    assert run([a, crossed_b], usable=[False, True]) is None


def test_best_bid_and_ask_on_the_same_venue() -> None:
    # venue 0 has both the lowest ask and the highest bid (crossed internally: never self-trade)
    v0 = book([(105.0, 1.0)], [(100.0, 1.0)])
    v1 = book([(103.0, 1.0)], [(104.0, 1.0)])
    v2 = book([(99.0, 1.0)], [(101.0, 2.0)])
    opp = run([v0, v1, v2])
    assert opp is not None
    # candidates: buy v0 @100 / sell v1 @103 (+3) and buy v2 @101 / sell v0 @105 (+4)
    assert (opp.buy_venue, opp.sell_venue) == (2, 0)
    assert opp.net_profit == pytest.approx(4.0)


def test_balance_caps_each_side() -> None:
    a = book([(90.0, 5.0)], [(100.0, 10.0)])
    b = book([(102.0, 10.0)], [(110.0, 1.0)])
    sell_capped = run([a, b], base=[INF, 0.37])
    assert sell_capped is not None and sell_capped.quantity == pytest.approx(0.37)
    # quote 50.1 with a 10 bps fee buys at most 50.1 / 1.001 / 100 = 0.5005 -> 0.50
    buy_capped = run([a, b], fees=[0.001, 0.0], quote=[50.1, INF])
    assert buy_capped is not None and buy_capped.quantity == pytest.approx(0.50)
    assert buy_capped.buy_vwap * buy_capped.quantity * 1.001 <= 50.1
    assert run([a, b], quote=[0.0, INF]) is None
    assert run([a, b], base=[INF, 0.0]) is None


def test_max_notional_and_step_rounding() -> None:
    a = book([(90.0, 5.0)], [(100.0, 10.0)])
    b = book([(102.0, 10.0)], [(110.0, 1.0)])
    opp = run([a, b], max_notional=250.0, step=0.1)
    assert opp is not None and opp.quantity == pytest.approx(2.5)
    assert run([a, b], max_notional=250.0, step=3.0) is None  # 2.5 rounds down to zero steps
    tiny = run([a, b], base=[INF, 0.3], step=0.1)  # 0.3 / 0.1 is 2.9999999999999996 in floats
    assert tiny is not None and tiny.quantity == pytest.approx(0.3)


def test_bound_kernel_sees_book_updates_and_setters() -> None:
    a = book([(90.0, 5.0)], [(100.0, 1.0)])
    b = book([(99.0, 1.0)], [(110.0, 1.0)])
    kernel = SpreadKernel([a, b], min_net_bps=0.0, max_notional=1e9, qty_step=0.001)
    assert kernel.evaluate() is None
    b.apply(True, 101.0, 2.0)  # the bound books are read live
    opp = kernel.evaluate()
    assert opp is not None and opp.quantity == pytest.approx(1.0)
    kernel.set_usable(1, False)
    assert kernel.evaluate() is None
    kernel.set_usable(1, True)
    kernel.set_fee(0, 0.02)
    assert kernel.evaluate() is None
    with pytest.raises(IndexError):
        kernel.set_fee(2, 0.001)
    with pytest.raises(ValueError, match="taker fee"):
        kernel.set_fee(0, -0.1)
    with pytest.raises(ValueError, match="balances"):
        kernel.set_balance(0, -1.0, 0.0)
    with pytest.raises(ValueError, match="number of books"):
        SpreadKernel([a])
    with pytest.raises(ValueError, match="qty_step"):
        SpreadKernel([a, b], qty_step=0.0)
    with pytest.raises(TypeError):
        SpreadKernel([a, "not a book"])


# --------------------------------------------------------------------------- properties

PRICES = [100.0 + 0.25 * i for i in range(-16, 17)]
side_st = st.lists(st.tuples(st.sampled_from(PRICES), st.floats(0.01, 5.0)), max_size=30)
balance_st = st.one_of(st.just(INF), st.just(0.0), st.floats(0.001, 1000.0))


@st.composite
def markets(draw: st.DrawFn) -> dict[str, object]:
    n = draw(st.integers(2, 6))
    books_data = []
    for _ in range(n):
        mid = draw(st.sampled_from(PRICES))
        bids = [(p, s) for p, s in draw(side_st) if p < mid]
        asks = [(p, s) for p, s in draw(side_st) if p >= mid]
        books_data.append((bids, asks))
    return {
        "books": books_data,
        "fees": draw(st.lists(st.floats(0.0, 0.003), min_size=n, max_size=n)),
        "base": draw(st.lists(balance_st, min_size=n, max_size=n)),
        "quote": draw(st.lists(balance_st.map(lambda x: x * 100), min_size=n, max_size=n)),
        "usable": draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda u: sum(u) >= 1)),
        "bps": draw(st.sampled_from([0.0, 1.0, 5.0, 20.0])),
        "max_notional": draw(st.sampled_from([INF, 50.0, 1000.0])),
        "step": draw(st.sampled_from([0.001, 0.01, 0.1, 1.0])),
    }


def _build(m: dict[str, object]) -> tuple[list[L2Book], list[ReferenceBook], tuple[object, ...]]:
    fast, ref = [], []
    for bids, asks in m["books"]:  # type: ignore[attr-defined]
        args = ([p for p, _ in bids], [s for _, s in bids], [p for p, _ in asks], [s for _, s in asks])
        f, r = L2Book(4), ReferenceBook(4)
        f.set_snapshot(*args)
        r.set_snapshot(*args)
        fast.append(f)
        ref.append(r)
    rest = (m["fees"], m["base"], m["quote"], m["usable"], m["bps"], m["max_notional"], m["step"])
    return fast, ref, rest


def _same(opp: Opportunity, ref: tuple[object, ...]) -> None:
    assert opp.as_tuple()[:2] == ref[:2]
    for got, want in zip(opp.as_tuple()[2:], ref[2:], strict=True):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


@given(markets())
def test_kernel_equals_reference_of_its_own_algorithm(m: dict[str, object]) -> None:
    fast, ref, rest = _build(m)
    got = find_opportunity(fast, *rest)  # type: ignore[arg-type]
    want = reference_find_opportunity(ref, *rest, exhaustive=False)  # type: ignore[arg-type]
    assert (got is None) == (want is None)
    if got is not None and want is not None:
        _same(got, want)


@given(markets())
def test_kernel_result_is_valid_and_bounded_by_exhaustive_search(m: dict[str, object]) -> None:
    fast, ref, rest = _build(m)
    fees, base, quote, usable, bps, max_notional, step = rest
    got = find_opportunity(fast, *rest)  # type: ignore[arg-type]
    best = reference_find_opportunity(ref, *rest)  # type: ignore[arg-type]
    if best is None:
        assert got is None
        return
    if got is None:
        return  # top-of-book choice found nothing walkable where a deeper pair would have
    i, j = got.buy_venue, got.sell_venue
    assert i != j and usable[i] and usable[j]  # type: ignore[index]
    assert got.net_profit <= best.net_profit + 1e-9
    steps = got.quantity / step  # type: ignore[operator]
    assert abs(steps - round(steps)) < 1e-6 and got.quantity > 0
    assert got.quantity <= base[j] + 1e-9  # type: ignore[index]
    assert got.buy_vwap * got.quantity * (1 + fees[i]) <= quote[i] * (1 + 1e-9) + 1e-9  # type: ignore[index]
    assert got.buy_vwap * got.quantity <= max_notional * (1 + 1e-9)  # type: ignore[operator]
    threshold = 1 + bps * 1e-4  # type: ignore[operator]
    assert got.sell_worst * (1 - fees[j]) >= got.buy_worst * (1 + fees[i]) * threshold * (1 - 1e-12)  # type: ignore[index]
    assert got.net_profit >= 0.0
    if (best.buy_venue, best.sell_venue) == (i, j):
        _same(got, best)


def test_step_rounding_noise_never_reaches_a_level_that_did_not_clear() -> None:
    # 1.9 / 0.1 is 18.999999999999996 in floats; rounding must not take 1e-16 from the 96.25 ask
    sell = book([(96.0, 2.0)], [(200.0, 1.0)])
    buy = book([(90.0, 1.0)], [(96.0, 1.9), (96.25, 1.0)])
    opp = run([sell, buy], step=0.1)
    assert opp is not None and opp.quantity == pytest.approx(1.9)
    assert opp.buy_worst == 96.0 and opp.net_profit == pytest.approx(0.0, abs=1e-9)


def test_subtraction_noise_never_reports_a_worse_level_than_was_walked() -> None:
    # 1.05 - 1.0 leaves 0.05000000000000004: after the 0.05 level, 4e-17 must not "take" 96.0
    sell = book([(96.5, 1.0), (96.25, 0.05), (96.0, 1.0)], [])
    buy = book([], [(96.25, 2.0)])
    opp = run([buy, sell], step=0.001)
    assert opp is not None and opp.quantity == pytest.approx(1.05)
    assert opp.sell_worst == 96.25 and opp.net_profit == pytest.approx(0.25)
