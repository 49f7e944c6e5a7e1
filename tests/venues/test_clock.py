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
