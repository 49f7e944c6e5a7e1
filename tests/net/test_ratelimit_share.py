"""The limiter's shared-budget surface on virtual time: a share of the documented limits (rebalanced
with requests queued), backoffs told to a listener, freezes another process took."""

from __future__ import annotations

import asyncio

import pytest

from arb.engine.hooks import VenueBudgets
from arb.errors import RateLimitError
from arb.net.ratelimit import Backoff, BackoffKind, PoolSpec, Priority, RateLimiter
from tests.net.test_ratelimit import VirtualTime, limiter


def _granted_in(rl: RateLimiter, vt: VirtualTime, seconds: float, weight: int = 1) -> int:
    end, granted = vt.t + seconds, 0
    while vt.t < end:
        while rl.try_acquire({"ip": weight}, Priority.ORDER):
            granted += weight
        vt.t += 0.01
    return granted


def test_a_share_scales_capacity_and_rate_and_the_full_budget_comes_back() -> None:
    vt = VirtualTime()
    rl = limiter(vt, PoolSpec("ip", 100, 10.0), reserve=0.0)
    rl.set_share(0.5)
    assert rl.stats()["pools"] == {"ip": {"capacity": 50.0, "documented": 100, "window_s": 10.0,
                                          "available": 50.0}}
    # half the limit per window: 50 in each of two 10 s windows (the bucket alone would let its
    # burst and then its refill through, 50 + 5 x 20, over the venue's limit)
    assert _granted_in(rl, vt, 20.0) == pytest.approx(2 * 50, abs=2)
    rl.set_share(1.0)
    vt.t += 10.0  # refilled at the full rate to the full capacity
    assert _granted_in(rl, vt, 10.0) == pytest.approx(100, abs=2)
    assert _granted_in(rl, vt, 10.0) == pytest.approx(100, abs=2)
    with pytest.raises(ValueError, match="share"):
        rl.set_share(0.0)


async def test_queued_requests_keep_their_place_when_the_share_changes() -> None:
    vt = VirtualTime()
    rl = limiter(vt, PoolSpec("ip", 10, 1.0), reserve=0.0)
    assert rl.try_acquire({"ip": 10}, Priority.ORDER)
    done: list[int] = []

    async def one(i: int, weight: int) -> None:
        await rl.acquire({"ip": weight}, Priority.ORDER)
        done.append(i)

    tasks = [asyncio.create_task(one(i, w)) for i, w in enumerate((4, 4, 8))]
    await asyncio.sleep(0)
    rl.set_share(0.25)  # capacity 2.5: the third (weight 8) is heavier than the whole share
    await asyncio.sleep(0)
    rl.set_share(0.5)
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert done == [0, 1, 2]  # none dropped, none overtaken; the heavy one waited for a full share
    assert rl.granted == 4


async def test_backoffs_are_told_and_freezes_from_elsewhere_hold_every_request() -> None:
    vt = VirtualTime()
    budgets = VenueBudgets(clock=vt)
    told: list[Backoff] = []
    budgets.on_backoff = told.append
    budgets.freeze("binance", BackoffKind.RATE_LIMITED, 5.0)  # before the venue's limiter exists
    rl = limiter(vt, PoolSpec("ip", 100, 10.0))
    budgets.set_share(0.5)
    budgets.add("binance", rl)
    assert rl.share == 0.5 and rl.remote_backoffs == 1
    assert not rl.try_acquire({"ip": 1}, Priority.ORDER)  # the pending freeze applied on joining
    vt.t += 5.0
    assert rl.try_acquire({"ip": 1}, Priority.ORDER)
    # the shared budget was over-spent: after the freeze ours refills at half our share's rate
    # (50 of 100 per 10 s: 2.5 a second, not 5), from empty at the freeze, until a window past it
    assert rl.stats()["slowed_s"] == pytest.approx(10.0)
    vt.t += 2.0
    assert rl.stats()["pools"]["ip"]["available"] == pytest.approx(7.0 * 2.5 - 1.0)
    assert told == []  # a freeze from elsewhere is not ours to spread
    rl.on_rate_limited(3.0, "GET /api/v3/depth")
    rl.on_banned(None, "POST /api/v3/order")
    assert told == [Backoff("binance", BackoffKind.RATE_LIMITED, 3.0, "GET /api/v3/depth"),
                    Backoff("binance", BackoffKind.BANNED, 120.0, "POST /api/v3/order")]
    budgets.freeze("binance", BackoffKind.BANNED, 300.0)
    assert rl.stats()["banned_s"] == pytest.approx(300.0)
    with pytest.raises(RateLimitError):  # the wait is the ban's: longer than any order may wait
        await rl.acquire({"ip": 1}, Priority.ORDER, timeout=60.0)
