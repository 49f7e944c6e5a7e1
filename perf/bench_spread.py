"""Spread kernel: µs per evaluation for 2, 5, 10 and 20 venues with depth-20 and depth-500 books.

Contenders, all on the same seeded books where an opportunity exists:
- `SpreadKernel.evaluate()` with the books bound once (the engine's hot path),
- `find_opportunity(...)`, the one-off call (binds and marshals arguments every time),
- the pure-Python reference running the kernel's own top-of-book algorithm (like for like), twice:
  on `ReferenceBook.top()`, which copies every level of every book into new lists on each call (the
  old baseline, kept labelled), and on top-N reads of the same SortedDicts (`_TopNBook`: only the
  best `TOP_N` levels are copied, as a fair Python implementation would). The two columns differ in
  that one thing: how the reference reads levels. The honest ratio is against top-N.
  (Lazy per-level views were tried and were slower than a 20-level copy in Python: each indexed
  level costs a Python call; so were islice reads of the keys.)
- the pure-Python exhaustive reference (every ordered pair; the test oracle), on top-N reads.
The contenders of a row are timed in interleaved rounds (best of 7 each).
Each table is run at two book depths (20 and 500 levels a side); only the depth differs.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_ns_interleaved, table, verdict

from arb._core.book import L2Book
from arb._core.reference import ReferenceBook, reference_find_opportunity
from arb._core.spread import SpreadKernel, find_opportunity

DEPTHS = (20, 500)  # levels a side: the kernel's usual depth, and a deep book (Binance syncs 1000)
TOP_N = 64  # levels a side the fair reference reads (the walk here reaches about 30)
TICK = 0.01
FEE = 0.001
VENUES = (2, 5, 10, 20)


class _TopNBook:
    """`ReferenceBook` read the way a fair Python implementation would: `top()` copies only the best
    `TOP_N` levels of a side (a slice of the SortedDict's items view), never the whole side. The benchmark
    asserts the result equals the kernel's, so `TOP_N` covers every level the walk reaches."""

    def __init__(self, book: ReferenceBook) -> None:
        self._bids, self._asks = book._bids, book._asks

    def top(self, is_bid: bool, n: int) -> list[tuple[float, float]]:
        n = min(n, TOP_N)
        if is_bid:
            best_last: list[tuple[float, float]] = self._bids.items()[-n:]
            return best_last[::-1]
        best_first: list[tuple[float, float]] = self._asks.items()[:n]
        return best_first


def make_books(n: int, seed: int, depth: int) -> tuple[list[L2Book], list[ReferenceBook]]:
    """n venues around 100.0 with per-venue offsets; venue 0 is cheap and venue 1 rich."""
    rng = random.Random(seed)
    fast, ref = [], []
    for v in range(n):
        offset = -0.6 if v == 0 else 0.6 if v == 1 else rng.uniform(-0.2, 0.2)
        mid = 100.0 + offset
        bids = [round(mid - TICK * (k + 1), 2) for k in range(depth)]
        asks = [round(mid + TICK * (k + 1), 2) for k in range(depth)]
        bs = [rng.uniform(0.5, 3.0) for _ in range(depth)]
        az = [rng.uniform(0.5, 3.0) for _ in range(depth)]
        f, r = L2Book(), ReferenceBook()
        f.set_snapshot(bids, bs, asks, az)
        r.set_snapshot(bids, bs, asks, az)
        fast.append(f)
        ref.append(r)
    return fast, ref


def bench_depth(depth: int) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for n in VENUES:
        fast, ref = make_books(n, seed=n, depth=depth)
        topn = [_TopNBook(b) for b in ref]
        fees, base, quote, usable = [FEE] * n, [50.0] * n, [1e6] * n, [True] * n
        args = (fees, base, quote, usable, 5.0, 1e5, 0.001)
        kernel = SpreadKernel(fast, 5.0, 1e5, 0.001)
        for i in range(n):
            kernel.set_fee(i, FEE)
            kernel.set_balance(i, 50.0, 1e6)
        opp = kernel.evaluate()
        assert opp is not None, "the benchmark books must hold an opportunity"
        # every contender finds the kernel's opportunity on these books (else the race is not like for like)
        for books, exhaustive in ((ref, False), (topn, False), (topn, True)):
            same = reference_find_opportunity(books, *args, exhaustive=exhaustive)
            assert same is not None and (same.buy_venue, same.sell_venue) == (opp.buy_venue, opp.sell_venue)
            assert abs(same.quantity - opp.quantity) <= 1e-9 * opp.quantity
            assert abs(same.net_profit - opp.net_profit) <= 1e-6 * abs(opp.net_profit)
        evaluate = kernel.evaluate

        def run_bound(evaluate=evaluate, loops=100_000) -> int:  # type: ignore[no-untyped-def]
            for _ in range(loops):
                evaluate()
            return loops

        def run_oneoff(fast=fast, args=args) -> int:  # type: ignore[no-untyped-def]
            for _ in range(20_000):
                find_opportunity(fast, *args)
            return 20_000

        def run_ref_tob(books, args=args, loops=200) -> int:  # type: ignore[no-untyped-def]
            for _ in range(loops):
                reference_find_opportunity(books, *args, exhaustive=False)
            return loops

        def run_ref_exh(books=topn, args=args, n=n) -> int:  # type: ignore[no-untyped-def]
            loops = max(10, 2000 // (n * n))
            for _ in range(loops):
                reference_find_opportunity(books, *args)
            return loops

        k, one, copy, tob, exh = (ns / 1e3 for ns in best_ns_interleaved(
            [run_bound, run_oneoff, lambda ref=ref: run_ref_tob(ref), lambda topn=topn: run_ref_tob(topn),
             run_ref_exh], repeats=7))
        rows.append((n, k, one, copy, tob, exh, copy / k, tob / k, exh / k))
    return rows


def main() -> None:
    summary = []
    for depth in DEPTHS:
        rows = bench_depth(depth)
        print(table(
            f"Spread kernel, depth {depth} a side (µs per evaluation; x = Python / bound kernel)",
            ["venues", "kernel bound", "find_opportunity", "py tob, copy all", f"py tob, top-{TOP_N}",
             f"py exh, top-{TOP_N}", "x copy all (old)", f"x top-{TOP_N}", "x exh"],
            rows,
        ))
        print()
        five = next(r for r in rows if r[0] == 5)
        growth = (float(rows[-1][1]) / float(rows[0][1])) / (VENUES[-1] / VENUES[0])  # type: ignore[arg-type]
        summary += [
            (f"depth {depth}, 5 venues: vs Python top-of-book, top-{TOP_N} reads", five[7], ">= 20x",
             verdict(float(five[7]) >= 20)),  # type: ignore[arg-type]
            (f"depth {depth}, 5 venues: vs Python exhaustive, top-{TOP_N} reads", five[8], ">= 20x",
             verdict(float(five[8]) >= 20)),  # type: ignore[arg-type]
            (f"depth {depth}, 5 venues: vs the old copy-all baseline (not a target)", five[6], "-", "-"),
            (f"depth {depth}: cost growth 2 -> 20 venues relative to linear", growth, "<= 1.0",
             verdict(growth <= 1.0)),
        ]
    print("'py tob, copy all' and 'py tob, top-N' run the same Python algorithm and differ only in level")
    print("access (every level copied per call vs the best N); the fair ratio is 'x top-N'.")
    print()
    print(table("Targets", ["check", "measured", "target", "verdict"], summary))


if __name__ == "__main__":
    main()
