"""Spread kernel: µs per evaluation for 2, 5, 10 and 20 venues with depth-20 books.

Contenders, all on the same seeded books where an opportunity exists:
- `SpreadKernel.evaluate()` with the books bound once (the engine's hot path),
- `find_opportunity(...)`, the one-off call (binds and marshals arguments every time),
- the pure-Python reference running the kernel's own top-of-book algorithm (like for like),
- the pure-Python exhaustive reference (every ordered pair; the test oracle).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_ns, table, verdict

from arb._core.book import L2Book
from arb._core.reference import ReferenceBook, reference_find_opportunity
from arb._core.spread import SpreadKernel, find_opportunity

DEPTH = 20
TICK = 0.01
FEE = 0.001
VENUES = (2, 5, 10, 20)


def make_books(n: int, seed: int) -> tuple[list[L2Book], list[ReferenceBook]]:
    """n venues around 100.0 with per-venue offsets; venue 0 is cheap and venue 1 rich."""
    rng = random.Random(seed)
    fast, ref = [], []
    for v in range(n):
        offset = -0.6 if v == 0 else 0.6 if v == 1 else rng.uniform(-0.2, 0.2)
        mid = 100.0 + offset
        bids = [round(mid - TICK * (k + 1), 2) for k in range(DEPTH)]
        asks = [round(mid + TICK * (k + 1), 2) for k in range(DEPTH)]
        bs = [rng.uniform(0.5, 3.0) for _ in range(DEPTH)]
        az = [rng.uniform(0.5, 3.0) for _ in range(DEPTH)]
        f, r = L2Book(), ReferenceBook()
        f.set_snapshot(bids, bs, asks, az)
        r.set_snapshot(bids, bs, asks, az)
        fast.append(f)
        ref.append(r)
    return fast, ref


def main() -> None:
    rows = []
    per_venue = []
    ratio5 = ratio5_exh = 0.0
    for n in VENUES:
        fast, ref = make_books(n, seed=n)
        fees, base, quote, usable = [FEE] * n, [50.0] * n, [1e6] * n, [True] * n
        args = (fees, base, quote, usable, 5.0, 1e5, 0.001)
        kernel = SpreadKernel(fast, 5.0, 1e5, 0.001)
        for i in range(n):
            kernel.set_fee(i, FEE)
            kernel.set_balance(i, 50.0, 1e6)
        opp = kernel.evaluate()
        assert opp is not None, "the benchmark books must hold an opportunity"
        evaluate = kernel.evaluate
        loops = 200_000

        def run_bound(evaluate=evaluate, loops=loops) -> int:  # type: ignore[no-untyped-def]
            for _ in range(loops):
                evaluate()
            return loops

        def run_oneoff(fast=fast, args=args) -> int:  # type: ignore[no-untyped-def]
            for _ in range(20_000):
                find_opportunity(fast, *args)
            return 20_000

        def run_ref_tob(ref=ref, args=args) -> int:  # type: ignore[no-untyped-def]
            for _ in range(500):
                reference_find_opportunity(ref, *args, exhaustive=False)
            return 500

        def run_ref_exh(ref=ref, args=args, n=n) -> int:  # type: ignore[no-untyped-def]
            loops = max(20, 2000 // (n * n))
            for _ in range(loops):
                reference_find_opportunity(ref, *args)
            return loops

        k = best_ns(run_bound) / 1e3
        one = best_ns(run_oneoff) / 1e3
        tob = best_ns(run_ref_tob, repeats=3) / 1e3
        exh = best_ns(run_ref_exh, repeats=3) / 1e3
        rows.append((n, k, one, tob, exh, tob / k, exh / k))
        per_venue.append(k / n)
        if n == 5:
            ratio5, ratio5_exh = tob / k, exh / k
    print(table(
        f"Spread kernel, depth {DEPTH} a side (µs per evaluation)",
        ["venues", "kernel bound", "find_opportunity", "py top-of-book", "py exhaustive",
         "x vs py tob", "x vs py exh"],
        rows,
    ))
    print()
    growth = (rows[-1][1] / rows[0][1]) / (VENUES[-1] / VENUES[0])
    print(table("Targets", ["check", "measured", "target", "verdict"], [
        ("5 venues: bound kernel vs Python (same algorithm)", ratio5, ">= 20x", verdict(ratio5 >= 20)),
        ("5 venues: bound kernel vs Python (exhaustive)", ratio5_exh, ">= 20x", verdict(ratio5_exh >= 20)),
        ("cost growth 2 -> 20 venues relative to linear", growth, "<= 1.0 (linear or better)",
         verdict(growth <= 1.0)),
    ]))


if __name__ == "__main__":
    main()
