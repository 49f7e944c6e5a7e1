"""ServerClock: venue time for request signing, from round trips to the venue's time endpoint.

Each sample is (local send ns, server time ms, local receive ns); its offset is the server time
minus the round trip's midpoint, so its error is at most half the round trip. The estimate is the
median of the last few samples, so one slow round trip does not move it. A round trip slower than
`max_rtt_ms` (the request queued behind the venue's rate limit, e.g. a 429's Retry-After) is taken
again, up to `attempts` times, and the fastest is kept: a lone sample (the first, or the first after
`invalidate`) must not put signatures seconds ahead of the venue. The clock asks to be refreshed
after a period, and immediately after a venue rejected a timestamp (`invalidate`).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable

NS_PER_MS = 1_000_000


class ServerClock:
    """Local clock + median offset = venue time."""

    def __init__(self, *, samples: int = 5, refresh_s: float = 60.0, max_rtt_ms: float = 1000.0,
                 attempts: int = 3, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._offsets: deque[float] = deque(maxlen=samples)
        self._max_rtt_ns = int(max_rtt_ms * NS_PER_MS)
        self._attempts = max(1, attempts)
        self._refresh_ns = int(refresh_s * 1e9)
        self._clock = clock_ns
        self._last_sample_ns = 0
        self._valid = False
        self._offset_ms = 0.0  # the median, kept as samples come (the time-lag gate reads it per update)
        self.rtt_ns = 0

    def add_sample(self, sent_ns: int, server_ms: int, received_ns: int) -> None:
        midpoint_ms = (sent_ns + received_ns) / 2 / NS_PER_MS
        self._offsets.append(server_ms - midpoint_ms)
        self._offset_ms = statistics.median(self._offsets)
        self.rtt_ns = received_ns - sent_ns
        self._last_sample_ns = received_ns
        self._valid = True

    @property
    def offset_ms(self) -> float:
        return self._offset_ms

    def now_ms(self) -> int:
        """Venue time now, in ms."""
        return int(self._clock() / NS_PER_MS + self.offset_ms)

    def needs_refresh(self) -> bool:
        return not self._valid or self._clock() - self._last_sample_ns >= self._refresh_ns

    async def sync(self, fetch_server_ms: Callable[[], Awaitable[int]]) -> None:
        """Take one sample from `fetch_server_ms` (the venue's time endpoint) if a refresh is due:
        a round trip slower than `max_rtt_ms` is taken again (at most `attempts` in all), the
        fastest is kept."""
        if not self.needs_refresh():
            return
        best = await self._round_trip(fetch_server_ms)
        for _ in range(self._attempts - 1):
            if best[2] - best[0] <= self._max_rtt_ns:
                break
            again = await self._round_trip(fetch_server_ms)
            if again[2] - again[0] < best[2] - best[0]:
                best = again
        self.add_sample(*best)

    async def _round_trip(self, fetch_server_ms: Callable[[], Awaitable[int]]) -> tuple[int, int, int]:
        sent = self._clock()
        server_ms = await fetch_server_ms()
        return sent, server_ms, self._clock()

    def invalidate(self) -> None:
        """A timestamp was rejected: drop the samples and measure again before the next request."""
        self._offsets.clear()
        self._offset_ms = 0.0
        self._valid = False
