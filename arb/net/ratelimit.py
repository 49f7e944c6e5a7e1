"""[1] Token buckets and the per-venue rate limiter (weights, linked pools, priorities, penalties).

- `TokenBucket(capacity, refill_per_s)`: `try_acquire(weight)`, `delay_for(weight)`, and
  `acquire(weight)` which sleeps exactly as long as the deficit needs (one sleep per wait, FIFO).
- `RateLimiter`: one per venue, named pools seeded from the venue's documented limits (`PoolSpec`
  data in each venue's constants). One request draws from several pools at once and atomically
  (all or none). Priorities keep a reserve of every pool for orders, so snapshot storms cannot
  starve order traffic. Response headers correct the pools downwards; a 429 freezes them for
  `Retry-After` (or a growing backoff) and halves the refill rate until a quiet period passes; a
  418 halts every request to the venue until the ban expires. While frozen nothing is granted.
- Shared budgets (several processes on one account): `set_share(f)` scales every pool to a fraction
  `f` of the documented limit (queued requests keep their place); `on_backoff` hears each 429/418
  this limiter took (a `Backoff`), and `freeze` applies one another process took.

Time comes from an injected monotonic clock (seconds) and an injected sleep, so tests run on
virtual time.
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

import msgspec

from arb.errors import RateLimitError

Clock = Callable[[], float]
EPSILON_S = 1e-9
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """`capacity` tokens refilled continuously at `refill_per_s`; starts full."""

    __slots__ = ("_clock", "_last", "_lock", "_sleep", "capacity", "rate", "tokens")

    def __init__(self, capacity: float, refill_per_s: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        if capacity <= 0 or refill_per_s <= 0:
            raise ValueError(f"invalid bucket {capacity!r}/{refill_per_s!r}: both must be > 0")
        self.capacity = float(capacity)
        self.rate = float(refill_per_s)
        self.tokens = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock: asyncio.Lock | None = None

    def _refill(self) -> None:
        now = self._clock()
        tokens = self.tokens + (now - self._last) * self.rate
        self.tokens = tokens if tokens < self.capacity else self.capacity
        self._last = now

    @property
    def available(self) -> float:
        self._refill()
        return self.tokens

    def delay_for(self, weight: float = 1) -> float:
        """Seconds until `weight` tokens are available (0 when they are now)."""
        self._refill()
        return 0.0 if self.tokens >= weight else (weight - self.tokens) / self.rate

    def try_acquire(self, weight: float = 1) -> bool:
        now = self._clock()
        tokens = self.tokens + (now - self._last) * self.rate
        if tokens > self.capacity:
            tokens = self.capacity
        self._last = now
        if tokens >= weight and (self._lock is None or not self._lock.locked()):
            self.tokens = tokens - weight
            return True
        self.tokens = tokens
        if weight > self.capacity:
            raise ValueError(f"weight {weight} exceeds bucket capacity {self.capacity}")
        return False

    async def acquire(self, weight: float = 1) -> None:
        """Take `weight` tokens, sleeping exactly as long as needed; waiters are served in order."""
        if self.try_acquire(weight):
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            delay = self.delay_for(weight)
            if delay > 0:
                await self._sleep(delay)
                self._refill()
            self.tokens -= weight


class Priority(enum.IntEnum):
    """Lower value = more important."""

    ORDER = 0
    NORMAL = 1
    SNAPSHOT = 2


_PRIORITIES = tuple(Priority)


class BackoffKind(enum.IntEnum):
    RATE_LIMITED = 1  # HTTP 429 (or a venue's in-body equivalent): frozen for Retry-After
    BANNED = 2  # HTTP 418: nothing at all until the ban expires


class Backoff(msgspec.Struct, frozen=True):
    """A backoff this limiter took: `seconds` from now, for the request `route` ("" unknown)."""

    venue: str
    kind: BackoffKind
    seconds: float
    route: str = ""


class PoolSpec(msgspec.Struct, frozen=True):
    """One documented limit: `capacity` weight per `window_s`; `header` reports its used weight."""

    name: str
    capacity: int
    window_s: float
    header: str | None = None  # e.g. "x-mbx-used-weight-1m" (used) or "x-gate-ratelimit-requests-remain"
    header_kind: str = "used"  # "used" (weight consumed in the window) or "remain"


class _Pool:
    """One limit: a token bucket (the pace) and the log of what was sent in the last window (the cap).

    A bucket of `capacity` refilled over `window_s` lets up to twice its capacity through in one
    window (a full bucket, then a window's refill), and venues count fixed windows: MEXC's fee
    endpoint answered 429 to a start-up's burst of reads. The log holds each grant's time and
    weight; what it holds within the last `window_s` plus a new weight may not exceed the capacity.
    """

    __slots__ = ("bucket", "log", "spec", "used")

    def __init__(self, spec: PoolSpec, clock: Clock, sleep: Sleep) -> None:
        self.spec = spec
        self.bucket = TokenBucket(spec.capacity, spec.capacity / spec.window_s, clock=clock, sleep=sleep)
        self.log: deque[tuple[float, int]] = deque()  # (granted at, weight), oldest first
        self.used = 0  # the weights in `log`

    def expire(self, now: float) -> None:
        """Forget grants a window old."""
        log, cutoff = self.log, now - self.spec.window_s
        while log and log[0][0] <= cutoff:
            self.used -= log.popleft()[1]

    def window_delay(self, now: float, weight: int) -> float:
        """Seconds until `weight` fits in the window's capacity (0 when it does now)."""
        self.expire(now)
        capacity = self.bucket.capacity
        excess = self.used + (weight if weight < capacity else capacity) - capacity  # heavier: alone
        if excess <= 0:
            return 0.0
        for granted, logged in self.log:  # the oldest grants leave the window first
            excess -= logged
            if excess <= 0:
                return granted + self.spec.window_s - now
        return 0.0  # unreachable: the log holds `used`

    def record(self, now: float, weight: int) -> None:
        self.log.append((now, weight))
        self.used += weight

    def unrecord(self, weight: int) -> None:
        """Take back the newest grant of `weight` (a request that was not sent after all)."""
        for i in range(len(self.log) - 1, -1, -1):
            if self.log[i][1] == weight:
                del self.log[i]
                self.used -= weight
                return

    def scale(self, share: float, slow: bool) -> None:
        """Capacity and refill rate at `share` of the documented limit (`slow`: half the rate)."""
        bucket = self.bucket
        bucket._refill()
        bucket.capacity = self.spec.capacity * share
        bucket.rate = self.spec.capacity / self.spec.window_s * share / (2 if slow else 1)
        bucket.tokens = min(bucket.tokens, bucket.capacity)


class _Waiter:
    __slots__ = ("draws", "future", "priority")

    def __init__(self, draws: Mapping[str, int], priority: Priority, future: asyncio.Future[None]) -> None:
        self.draws = draws
        self.priority = priority
        self.future = future


class RateLimiter:
    """All of one venue's request budgets.

    Parameters
    ----------
    venue:
        Venue name (for errors).
    pools:
        The venue's limits.
    reserve, reserve_s:
        What NORMAL requests leave free of every pool for orders (SNAPSHOT leaves twice that): the
        smaller of `reserve` of its capacity and `reserve_s` seconds of its refill. A pool with a
        short window keeps a fraction (Gate's 10 a second: 2); one with a long window keeps a
        second's refill (Binance's 6,000 weight a minute: 100, not 1,200), so after a 429 emptied
        it a book's snapshot waits seconds for its reserve, not the ~48 s 2,400 tokens took.
    """

    def __init__(self, venue: str, pools: Sequence[PoolSpec], *, reserve: float = 0.2,
                 reserve_s: float = 1.0, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
                 ) -> None:
        self.venue = venue
        self._clock = clock
        self._sleep = sleep
        self._pools = {spec.name: _Pool(spec, clock, sleep) for spec in pools}
        self._reserve = {Priority.ORDER: 0.0, Priority.NORMAL: reserve, Priority.SNAPSHOT: 2 * reserve}
        self._reserve_s = {Priority.ORDER: 0.0, Priority.NORMAL: reserve_s, Priority.SNAPSHOT: 2 * reserve_s}
        self._headers = {spec.header.lower(): spec.name for spec in pools if spec.header}
        self._waiting: dict[Priority, deque[_Waiter]] = {p: deque() for p in Priority}
        self._head: _Waiter | None = None
        self._nap: asyncio.Future[None] | None = None  # the head's sleep, cut short for a better request
        self.frozen_until = 0.0
        self.banned_until = 0.0
        self._penalty_s = 0.0
        self._slow_until = 0.0
        self.share = 1.0  # of every documented limit this process may use (cluster mode: 1 / workers)
        self.on_backoff: Callable[[Backoff], None] | None = None  # told every 429 / 418 taken here
        self.remote_backoffs = 0  # freezes applied for a 429 / 418 another process took
        # counters (read by the metrics exporter)
        self.granted = 0
        self.waited = 0
        self.wait_seconds = 0.0
        self.rate_limited = 0
        self.banned = 0
        self.rejected = 0

    # ------------------------------------------------------------------ accounting

    def _blocked_for(self) -> float:
        now = self._clock()
        if self._slow_until and now >= self._slow_until:
            self._restore_rates()
        return max(self.frozen_until - now, self.banned_until - now, 0.0)

    def _delay(self, draws: Mapping[str, int], priority: Priority) -> float:
        """Seconds until every pool in `draws` can give its weight while keeping the reserve."""
        delay = self._blocked_for()
        keep, keep_s = self._reserve[priority], self._reserve_s[priority]
        for name, weight in draws.items():
            bucket = self._pools[name].bucket
            held = keep * bucket.capacity
            if keep_s * bucket.rate < held:
                held = keep_s * bucket.rate
            need = weight + held
            if need > bucket.capacity:
                need = bucket.capacity
            delay = max(delay, bucket.delay_for(need), self._pools[name].window_delay(self._clock(), weight))
        return delay

    def _debit(self, draws: Mapping[str, int]) -> None:
        now = self._clock()
        for name, weight in draws.items():
            pool = self._pools[name]
            pool.bucket.tokens -= weight
            pool.record(now, weight)
        self.granted += 1

    def _refund(self, draws: Mapping[str, int]) -> None:
        for name, weight in draws.items():
            pool = self._pools[name]
            pool.bucket.tokens += weight
            pool.unrecord(weight)
        self.granted -= 1

    def _check(self, draws: Mapping[str, int]) -> None:
        for name, weight in draws.items():
            pool = self._pools.get(name)
            if pool is None:
                raise KeyError(f"{self.venue}: unknown rate-limit pool {name!r}")
            if weight > pool.spec.capacity:  # heavier than a share: waits for a full bucket, then owes
                raise ValueError(
                    f"{self.venue}: weight {weight} exceeds pool {name} ({pool.spec.capacity})"
                )

    def _queued_ahead(self, priority: Priority) -> bool:
        if self._head is None:
            return False
        return self._head.priority <= priority or any(
            self._waiting[p] for p in _PRIORITIES if p <= priority
        )

    # ------------------------------------------------------------------ acquiring

    def try_acquire(self, draws: Mapping[str, int], priority: Priority = Priority.NORMAL) -> bool:
        """Take the weights now if possible (never ahead of queued requests of equal or higher rank)."""
        if self._head is not None and self._queued_ahead(priority):
            self._check(draws)
            return False
        now = self._clock()
        if now < self.frozen_until or now < self.banned_until:
            return False
        if self._slow_until and now >= self._slow_until:
            self._restore_rates()
        keep, keep_s = self._reserve[priority], self._reserve_s[priority]
        pools = self._pools
        try:
            for name, weight in draws.items():  # the uncontended path: inline refill, no allocation
                pool = pools[name]
                bucket = pool.bucket
                tokens = bucket.tokens + (now - bucket._last) * bucket.rate
                if tokens > bucket.capacity:
                    tokens = bucket.capacity
                bucket.tokens = tokens
                bucket._last = now
                held = keep * bucket.capacity
                if keep_s * bucket.rate < held:
                    held = keep_s * bucket.rate
                need = weight + held
                if tokens < (need if need < bucket.capacity else bucket.capacity) or weight > bucket.capacity:
                    self._check(draws)
                    return False
                if pool.log:
                    pool.expire(now)
                    if pool.used + weight > bucket.capacity:  # the window's cap (see `_Pool`)
                        return False
        except KeyError:
            self._check(draws)
            raise
        for name, weight in draws.items():
            pool = pools[name]
            pool.bucket.tokens -= weight
            pool.log.append((now, weight))
            pool.used += weight
        self.granted += 1
        return True

    async def acquire(self, draws: Mapping[str, int], priority: Priority = Priority.NORMAL,
                      timeout: float | None = None) -> None:
        """Wait until every pool in `draws` can pay, then debit them all at once.

        With `timeout`, raises `RateLimitError` (and debits nothing) if the wait would be longer.
        """
        if self.try_acquire(draws, priority):
            return
        start = self._clock()
        delay = self._delay(draws, priority)
        if timeout is not None and delay > timeout:
            self.rejected += 1
            raise RateLimitError(self.venue, f"rate limit wait {delay:.3f}s exceeds timeout {timeout}s",
                                 retry_after=delay)
        waiter = _Waiter(draws, priority, asyncio.get_running_loop().create_future())
        self._waiting[priority].append(waiter)
        self.waited += 1
        if self._head is None:
            self._promote()
        elif priority < self._head.priority and self._nap is not None:
            self._nap.cancel()  # the head (a snapshot) sleeps until its weight fits: an order goes first now
        try:
            if timeout is None:
                await asyncio.shield(waiter.future)
            else:
                await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except BaseException as exc:
            if waiter.future.done() and not waiter.future.cancelled():
                # granted at the very moment we gave up: give the weights back
                self._refund(draws)
            waiter.future.cancel()
            self._forget(waiter)
            if isinstance(exc, asyncio.TimeoutError):
                self.rejected += 1
                raise RateLimitError(self.venue, "rate limit wait timed out", retry_after=timeout) from None
            raise
        self.wait_seconds += self._clock() - start

    def _forget(self, waiter: _Waiter) -> None:
        queue = self._waiting[waiter.priority]
        if waiter in queue:
            queue.remove(waiter)
        if self._head is waiter:
            if self._nap is not None:
                self._nap.cancel()  # its server stops sleeping for it
            self._head = None
            self._promote()

    def _promote(self) -> None:
        """Make the most important waiting request the head and start serving it."""
        for priority in _PRIORITIES:
            if self._waiting[priority]:
                self._head = self._waiting[priority].popleft()
                asyncio.get_running_loop().create_task(self._serve(self._head))
                return
        self._head = None

    async def _serve(self, waiter: _Waiter) -> None:
        """Sleep exactly until the head's weights fit, debit, hand over to the next waiter."""
        while not waiter.future.done():
            better = next((p for p in _PRIORITIES if p < waiter.priority and self._waiting[p]), None)
            if better is not None:  # an order arrived while a snapshot waited: it goes first
                self._waiting[waiter.priority].appendleft(waiter)
                self._promote()
                return
            delay = self._delay(waiter.draws, waiter.priority)
            if delay <= EPSILON_S:  # a float remainder, not a wait (time may not move that little)
                self._debit(waiter.draws)
                waiter.future.set_result(None)
                break
            await self._sleep_unless_outranked(delay)
        if self._head is waiter:
            self._promote()

    async def _sleep_unless_outranked(self, delay: float) -> None:
        """The head's sleep; `acquire` ends it early when a more important request queues, so an
        order never waits out a snapshot's whole wait (~50 s for Binance after a 429)."""
        nap = asyncio.ensure_future(self._sleep(delay))
        self._nap = nap
        try:
            await asyncio.wait({nap})
        finally:
            if self._nap is nap:
                self._nap = None
            nap.cancel()

    # ------------------------------------------------------------------ venue feedback

    def on_rate_limited(self, retry_after: float | None, route: str = "") -> None:
        """HTTP 429: freeze every pool for Retry-After (or a growing backoff) and halve the rates."""
        self.rate_limited += 1
        if retry_after is None:
            self._penalty_s = min(max(1.0, self._penalty_s * 2), 60.0)
            retry_after = self._penalty_s
        self._slow_down(retry_after)
        self._tell(BackoffKind.RATE_LIMITED, retry_after, route)

    def _slow_down(self, seconds: float) -> None:
        """Freeze every pool for `seconds`, empty it, and refill at half rate until a window past
        the freeze: the venue said the budget was over-spent."""
        now = self._clock()
        self.frozen_until = max(self.frozen_until, now + seconds)
        for pool in self._pools.values():
            pool.bucket.tokens = 0.0
            pool.bucket._last = now
            pool.bucket.rate = pool.spec.capacity / pool.spec.window_s * self.share / 2
        self._slow_until = self.frozen_until + max(p.spec.window_s for p in self._pools.values())

    def on_banned(self, retry_after: float | None, route: str = "") -> None:
        """HTTP 418: no request at all until the ban expires (2 minutes when not told)."""
        self.banned += 1
        seconds = retry_after or 120.0
        self.banned_until = max(self.banned_until, self._clock() + seconds)
        self._tell(BackoffKind.BANNED, seconds, route)

    def _tell(self, kind: BackoffKind, seconds: float, route: str) -> None:
        if self.on_backoff is not None:
            self.on_backoff(Backoff(self.venue, kind, seconds, route))

    def freeze(self, kind: BackoffKind, seconds: float) -> None:
        """Another process sharing this venue's budget took a 429 (or a 418): nothing is granted
        for `seconds` (not told to `on_backoff`: it is not ours to spread). A 429 means the shared
        budget was over-spent by all of us together, so our refill halves as for our own 429."""
        if seconds <= 0:
            return
        self.remote_backoffs += 1
        if kind is BackoffKind.BANNED:
            self.banned_until = max(self.banned_until, self._clock() + seconds)
        else:
            self._slow_down(seconds)

    def set_share(self, share: float) -> None:
        """Use `share` (0 < share <= 1) of every documented limit: capacities and refill rates scale,
        tokens above the new capacity go, queued requests keep their place (the head recomputes its
        wait at once)."""
        if not 0 < share <= 1:
            raise ValueError(f"{self.venue}: budget share {share!r} must be in (0, 1]")
        if share == self.share:
            return
        self.share = share
        slow = bool(self._slow_until)
        for pool in self._pools.values():
            pool.scale(share, slow)
        if self._nap is not None:
            self._nap.cancel()

    def _restore_rates(self) -> None:
        for pool in self._pools.values():
            pool.bucket._refill()
            pool.bucket.rate = pool.spec.capacity / pool.spec.window_s * self.share
        self._slow_until = 0.0
        self._penalty_s = 0.0

    def update_from_headers(self, headers: Mapping[str, str]) -> None:
        """Lower a pool's tokens to what the venue says is left (never raise them)."""
        if not self._headers:
            return
        for key, value in headers.items():
            name = self._headers.get(key.lower())
            if name is None or not _NUMBER.fullmatch(value.strip()):
                continue
            pool = self._pools[name]
            reported = float(value)
            left = reported if pool.spec.header_kind == "remain" else pool.spec.capacity - reported
            left *= self.share  # the venue counts the whole account: ours is our share of what is left
            bucket = pool.bucket
            bucket._refill()
            if left < bucket.tokens:
                bucket.tokens = max(left, 0.0)

    def headroom(self) -> dict[str, float]:
        """Fraction of each pool available now (0 while frozen or banned)."""
        blocked = self._blocked_for() > 0
        return {name: 0.0 if blocked else pool.bucket.available / pool.bucket.capacity
                for name, pool in self._pools.items()}


    def stats(self) -> dict[str, object]:
        """Share, pools (capacity now vs documented, free tokens), freezes and counters (/status)."""
        now = self._clock()
        return {
            "share": self.share,
            "pools": {name: {"capacity": pool.bucket.capacity, "documented": pool.spec.capacity,
                             "window_s": pool.spec.window_s, "available": pool.bucket.available}
                      for name, pool in self._pools.items()},
            "frozen_s": max(0.0, self.frozen_until - now), "banned_s": max(0.0, self.banned_until - now),
            "slowed_s": max(0.0, self._slow_until - now),  # refilling at half rate (after a 429) this long
            "granted": self.granted, "waited": self.waited, "rate_limited": self.rate_limited,
            "banned": self.banned, "remote_backoffs": self.remote_backoffs, "rejected": self.rejected,
        }


_NUMBER = re.compile(r"\d+(\.\d+)?")
