"""Shared helpers for the benchmark scripts: timing and the printed table."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


def best_ns(run: Callable[[], int], repeats: int = 5) -> float:
    """Best-of-`repeats` nanoseconds per operation; `run` returns how many operations it did."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter_ns()
        ops = run()
        elapsed = time.perf_counter_ns() - start
        best = min(best, elapsed / ops)
    return best


def best_ns_interleaved(runs: Sequence[Callable[[], int]], repeats: int = 9) -> list[float]:
    """Best-of-`repeats` nanoseconds per operation for each of `runs`, measured in rounds (one timing of
    every run per round), so a burst of load from other processes hits all contenders alike instead of
    one of them; the ratios between contenders are then far steadier on a shared machine."""
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            start = time.perf_counter_ns()
            ops = run()
            best[i] = min(best[i], (time.perf_counter_ns() - start) / ops)
    return best


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain fixed-width table."""
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.3g}"
    return str(value)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"
