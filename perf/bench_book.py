"""Book update throughput: L2Book vs the reference book, sortedcontainers and the C `order-book`.

A seeded stream of 1,000,000 level updates (about 80% within the top 20 levels, ~17% deletes of
existing levels, a few hundred levels a side) is built before timing; every contender consumes the
same stream in the same Python loop. Prints ns/update, updates/s and the targets of the issue.
"""

from __future__ import annotations

import random
import sys
from array import array
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_ns, table, verdict
from sortedcontainers import SortedDict

from arb._core.book import L2Book
from arb._core.reference import ReferenceBook

N_UPDATES = 1_000_000
DEPTH = 300
TICK = 0.5
MID = 10_000.0
LEVELS_PER_MESSAGE = 20


def make_stream(seed: int = 7) -> tuple[list[bool], list[float], list[float], tuple[list[float], ...]]:
    """Seeded updates: (sides, prices, sizes) plus the starting snapshot."""
    rng = random.Random(seed)
    live: dict[bool, set[int]] = {True: set(range(1, DEPTH + 1)), False: set(range(1, DEPTH + 1))}
    snapshot = (
        [MID - k * TICK for k in range(1, DEPTH + 1)], [rng.uniform(0.1, 5.0) for _ in range(DEPTH)],
        [MID + k * TICK for k in range(1, DEPTH + 1)], [rng.uniform(0.1, 5.0) for _ in range(DEPTH)],
    )
    sides: list[bool] = []
    prices: list[float] = []
    sizes: list[float] = []
    for _ in range(N_UPDATES):
        is_bid = rng.random() < 0.5
        k = rng.randint(1, 20) if rng.random() < 0.8 else rng.randint(21, DEPTH + 40)
        price = MID - k * TICK if is_bid else MID + k * TICK
        if k in live[is_bid] and rng.random() < 0.2:
            live[is_bid].discard(k)
            size = 0.0
        else:
            live[is_bid].add(k)
            size = round(rng.uniform(0.01, 10.0), 4)
        sides.append(is_bid)
        prices.append(price)
        sizes.append(size)
    return sides, prices, sizes, snapshot


def main() -> None:
    sides, prices, sizes, snap = make_stream()
    stream = list(zip(sides, prices, sizes, strict=True))
    n = len(stream)

    def fresh() -> L2Book:
        book = L2Book()
        book.set_snapshot(*snap)
        return book

    def run_apply() -> int:
        apply = fresh().apply
        for s, p, q in stream:
            apply(s, p, q)
        return n

    def run_noop() -> int:
        noop = fresh()._noop
        for s, p, q in stream:
            noop(s, p, q)
        return n

    def run_reference() -> int:
        book = ReferenceBook()
        book.set_snapshot(*snap)
        apply = book.apply
        for s, p, q in stream:
            apply(s, p, q)
        return n

    def run_dict_like(bids: object, asks: object) -> int:
        for s, p, q in stream:
            side = bids if s else asks
            if q == 0.0:
                del side[p]  # type: ignore[attr-defined]
            else:
                side[p] = q  # type: ignore[index]
        return n

    def run_sorted() -> int:
        bids = SortedDict(zip(snap[0], snap[1], strict=True))
        asks = SortedDict(zip(snap[2], snap[3], strict=True))
        return run_dict_like(bids, asks)

    def run_order_book() -> int:
        from order_book import OrderBook

        ob = OrderBook()
        for p, q in zip(snap[0], snap[1], strict=True):
            ob.bids[p] = q
        for p, q in zip(snap[2], snap[3], strict=True):
            ob.asks[p] = q
        return run_dict_like(ob.bids, ob.asks)

    # group the stream into one-side messages of 20 consecutive levels, bid and ask messages
    # interleaved, so each side sees its updates in the order they were generated
    per_side = []
    for is_bid in (True, False):
        ps = [p for s, p, _ in stream if s is is_bid]
        qs = [q for s, _, q in stream if s is is_bid]
        per_side.append([
            (is_bid, array("d", ps[i:i + LEVELS_PER_MESSAGE]), array("d", qs[i:i + LEVELS_PER_MESSAGE]))
            for i in range(0, len(ps) - LEVELS_PER_MESSAGE + 1, LEVELS_PER_MESSAGE)
        ])
    messages = [m for pair in zip(*per_side, strict=False) for m in pair]

    def run_levels() -> int:
        apply_levels = fresh().apply_levels
        for s, ps, qs in messages:
            apply_levels(s, ps, qs)
        return len(messages) * LEVELS_PER_MESSAGE

    def run_best() -> int:
        book = fresh()
        bb, ba = book.best_bid, book.best_ask
        for _ in range(n):
            bb()
            ba()
        return n

    out_p, out_s = array("d", [0.0] * 20), array("d", [0.0] * 20)

    def run_top_into() -> int:
        top_into = fresh().top_into
        for _ in range(n):
            top_into(False, out_p, out_s)
        return n

    try:
        import order_book  # noqa: F401

        has_ob = True
    except ImportError:
        has_ob = False

    ns = {
        "apply": best_ns(run_apply),
        "apply_levels": best_ns(run_levels),
        "floor": best_ns(run_noop),
        "reference": best_ns(run_reference, repeats=1),
        "sorted": best_ns(run_sorted),
    }
    if has_ob:
        ns["order_book"] = best_ns(run_order_book)
    names = {
        "apply": "L2Book.apply (per call)",
        "apply_levels": "L2Book.apply_levels (per level, 20/call)",
        "floor": "empty Cython method call (floor)",
        "reference": "ReferenceBook.apply (pure Python)",
        "sorted": "sortedcontainers.SortedDict",
        "order_book": "order-book (C, bmoscon)",
    }
    rows = [(names[key], v, 1e9 / v) for key, v in ns.items()]
    title = f"L2 book updates ({n:,} updates, depth {DEPTH}/side)"
    print(table(title, ["contender", "ns/update", "updates/s"], rows))
    print()
    apply_ns = ns["apply"]
    checks: list[tuple[str, float, str, bool | None]] = []
    if has_ob:
        ratio = ns["order_book"] / apply_ns
        checks.append(("apply vs order-book (updates/s ratio)", ratio, ">= 1.6x", ratio >= 1.6))
    ratio = ns["sorted"] / apply_ns
    checks.append(("apply vs SortedDict (updates/s ratio)", ratio, ">= 6x", ratio >= 6))
    ratio = apply_ns / ns["floor"]
    checks.append(("apply cost / empty call cost", ratio, "<= 1.7x", ratio <= 1.7))
    ratio = apply_ns / ns["apply_levels"]
    checks.append(("apply_levels per level vs apply per call", ratio, ">= 1.5x", ratio >= 1.5))
    best_pair = best_ns(run_best)
    checks.append(("best_bid()+best_ask() ns", best_pair, "< 150 ns", best_pair < 150))
    checks.append(("top_into(20 levels) ns", best_ns(run_top_into), "-", None))
    rows = [(c, v, t, "-" if ok is None else verdict(ok)) for c, v, t, ok in checks]
    print(table("Targets", ["check", "measured", "target", "verdict"], rows))


if __name__ == "__main__":
    main()
