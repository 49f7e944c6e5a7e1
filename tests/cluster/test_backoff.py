"""Shared venue budgets between in-process workers on a real nats-server: a 418 one worker takes
bans the venue on the other for the same period, shares follow membership (a larger one only after
a lease of fewer members), a notice that arrives after its end changes nothing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from arb.cluster.budgets import BACKOFF_SUBJECT, BackoffNotice
from arb.cluster.conn import ClusterSettings
from arb.cluster.server import NatsServer
from arb.cluster.worker import ClusterWorker
from arb.engine.hooks import VenueBudgets
from arb.net.ratelimit import BackoffKind, Priority
from arb.venues.registry import make_limiter
from tests.cluster.test_gate import BTC, ETH, _confirmed
from tests.cluster.test_limits import _risk


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


async def test_a_ban_on_one_worker_bans_the_venue_on_the_other_and_shares_follow_membership(
        nats_server: NatsServer, tmp_path: Path) -> None:
    budgets = [VenueBudgets() for _ in range(2)]
    for b in budgets:
        b.add("binance", make_limiter("binance"))
    workers = [ClusterWorker(ClusterSettings(nats_server.url, f"w{i + 1}", lease_s=1.0),
                             _risk(tmp_path / f"w{i}"), budgets=b) for i, b in enumerate(budgets)]
    w2 = workers[1]
    l1, l2 = (b.limiters["binance"] for b in budgets)
    try:
        for w in workers:
            await w.connect()
            w.attach([BTC, ETH], ["binance", "mexc"], w.risk.available)
        await _confirmed(*workers)
        assert l1.share == l2.share == 0.5
        assert l1.stats()["pools"]["weight"]["capacity"] == 3000.0  # type: ignore[index]
        l1.on_banned(None, "GET /api/v3/depth")  # w1 took a 418 without Retry-After: 2 minutes
        took = await _until(lambda: l2.banned_until > 0, "w2 banned too")
        assert 115 < l2.stats()["banned_s"] <= 120  # type: ignore[operator]
        assert not l2.try_acquire({"weight": 1}, Priority.ORDER) and l2.remote_backoffs == 1
        assert l1.remote_backoffs == 0  # its own notice, echoed, is ignored
        # a notice whose end has passed (a slow network) freezes nothing
        assert w2._nc is not None
        late = BackoffNotice("w9", "binance", BackoffKind.RATE_LIMITED, 5.0, time.time_ns() - 1)
        await w2._nc.publish(f"{BACKOFF_SUBJECT}.binance", msgspec.json.encode(late))
        await w2._nc.flush()
        await asyncio.sleep(0.3)
        assert l1.frozen_until == 0 and l1.remote_backoffs == 0
        # w2 leaves: w1 takes the whole budget, but only after a lease of being alone
        left = time.monotonic()
        await w2.stop()
        await _until(lambda: l1.share == 1.0, "w1 alone takes the whole budget")
        assert time.monotonic() - left >= 1.0
        print(f"418 reached the other worker in {took * 1000:.0f} ms")
    finally:
        for w in workers:
            await w.stop()
