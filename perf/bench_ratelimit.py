"""Cost of an uncontended rate-limit check, next to an empty call measured in the same run.

Buckets are sized so nothing ever waits: this is the price every request pays for accounting.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_ns, table, verdict

from arb.net.ratelimit import PoolSpec, Priority, RateLimiter, TokenBucket

N = 200_000
HUGE = 10**12


def main() -> None:
    bucket = TokenBucket(HUGE, HUGE)
    limiter = RateLimiter("bench", [PoolSpec("ip", HUGE, 1.0), PoolSpec("orders", HUGE, 1.0)])
    draws = {"ip": 5, "orders": 1}
    counts = {"n": 0}

    def run_try() -> int:
        take = bucket.try_acquire
        for _ in range(N):
            take(1)
        return N

    def run_dict() -> int:
        for _ in range(N):
            counts["n"] += 1
        return N

    async def noop() -> None:
        return None

    def run_async(make_coro: object) -> int:
        async def loop() -> None:
            for _ in range(N):
                await make_coro()  # type: ignore[operator]
        asyncio.run(loop())
        return N

    ns = {
        "dict increment (baseline)": best_ns(run_dict),
        "await empty coroutine (baseline)": best_ns(lambda: run_async(noop)),
        "TokenBucket.try_acquire": best_ns(run_try),
        "await TokenBucket.acquire": best_ns(lambda: run_async(lambda: bucket.acquire(1))),
        "RateLimiter.try_acquire (2 linked pools)": best_ns(
            lambda: sum(limiter.try_acquire(draws, Priority.ORDER) for _ in range(N))
            and N),
        "await RateLimiter.acquire (2 linked pools)": best_ns(
            lambda: run_async(lambda: limiter.acquire(draws, Priority.ORDER))),
    }
    print(table(f"Uncontended rate-limit cost ({N:,} calls)", ["operation", "ns/call"],
                [(k, v) for k, v in ns.items()]))
    print()
    bucket_ns = ns["await TokenBucket.acquire"]
    limiter_ns = ns["await RateLimiter.acquire (2 linked pools)"]
    print(table("Targets", ["check", "measured ns", "target", "verdict"], [
        ("await TokenBucket.acquire (uncontended)", bucket_ns, "< 1000", verdict(bucket_ns < 1000)),
        ("await RateLimiter.acquire, 2 pools (info)", limiter_ns, "-", "-"),
        ("  ... relative to an empty await", limiter_ns / ns["await empty coroutine (baseline)"], "-", "-"),
    ]))


if __name__ == "__main__":
    main()
