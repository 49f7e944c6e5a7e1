from __future__ import annotations

import pytest

from arb.venues.clock import NS_PER_MS, ServerClock


def test_offset_is_the_median_of_round_trip_midpoints() -> None:
    now = {"ns": 1_000_000 * NS_PER_MS}
    clock = ServerClock(samples=3, refresh_s=10.0, clock_ns=lambda: now["ns"])
    assert clock.needs_refresh()
    # venue 250 ms ahead; round trips of 10 ms, 12 ms and one slow 400 ms outlier
    for sent_ms, rtt_ms in ((0, 10), (100, 12), (200, 400)):
        sent = (1_000_000 + sent_ms) * NS_PER_MS
        clock.add_sample(sent, 1_000_000 + sent_ms + rtt_ms // 2 + 250, sent + rtt_ms * NS_PER_MS)
    assert clock.offset_ms == pytest.approx(250.0)
    assert clock.now_ms() == 1_000_250
    assert not clock.needs_refresh()
    now["ns"] += 11 * 10**9
    assert clock.needs_refresh()
    clock.invalidate()
    assert clock.needs_refresh() and clock.offset_ms == 0.0


async def test_a_round_trip_that_queued_behind_a_rate_limit_is_taken_again() -> None:
    """The first time request waited 4 s (a 429's Retry-After, the limiter's reserve): its midpoint
    would put the clock 2 s ahead of the venue. It is taken again and the fast one is kept."""
    now = {"ns": 1_000_000 * NS_PER_MS}
    clock = ServerClock(clock_ns=lambda: now["ns"])
    waits_ms = [4000, 10]

    async def fetch() -> int:
        now["ns"] += waits_ms.pop(0) * NS_PER_MS  # queued, then answered at once
        return now["ns"] // NS_PER_MS + 250  # the venue is 250 ms ahead

    await clock.sync(fetch)
    assert not waits_ms and clock.offset_ms == pytest.approx(255.0)
    assert clock.rtt_ns == 10 * NS_PER_MS


async def test_slow_round_trips_are_taken_at_most_attempts_times_and_the_fastest_kept() -> None:
    now = {"ns": 0}
    clock = ServerClock(attempts=3, max_rtt_ms=1000.0, clock_ns=lambda: now["ns"])
    waits_ms = [3000, 1500, 2000, 5]

    async def fetch() -> int:
        now["ns"] += waits_ms.pop(0) * NS_PER_MS
        return now["ns"] // NS_PER_MS

    await clock.sync(fetch)
    assert waits_ms == [5]  # three round trips, then it stops
    assert clock.rtt_ns == 1500 * NS_PER_MS and clock.offset_ms == pytest.approx(750.0)
