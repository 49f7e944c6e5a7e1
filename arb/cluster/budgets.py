"""Shared venue budgets: the workers of a cluster trade one account, whose rate limits the venues
count per account or IP, not per process.

- Share: each worker's limiters use ``1 / live members`` of each venue's documented limits
  (`VenueBudgets.set_share`), set from the members NATS has before the engine sends anything and
  rebalanced on every tick when a worker joins or leaves (queued requests keep their place). A
  smaller share is taken at once; a larger one only once the smaller membership has held for a
  lease period (a heartbeat missed under load must not let two workers take the whole budget).
- Backoff: a 429 or 418 one worker's limiter takes is published on ``arb.cluster.backoff.<venue>``
  (the kind, the seconds the limiter froze for, when that ends on the wall clock, and the request's
  route); every other worker freezes that venue's limiter until then (a 418 bans, for its whole
  period). A message that arrives after its end is ignored.

Core NATS (not JetStream): a backoff is worth nothing later, and a worker that joins afterwards
starts at its share and learns of the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import msgspec
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from arb.engine.hooks import VenueBudgets
from arb.net.ratelimit import Backoff, BackoffKind

log = logging.getLogger(__name__)

BACKOFF_SUBJECT = "arb.cluster.backoff"
NS = 1_000_000_000


class BackoffNotice(msgspec.Struct, frozen=True):
    """What one worker tells the others of a backoff its limiter took."""

    worker: str
    venue: str
    kind: BackoffKind
    seconds: float
    until_ns: int  # wall clock: the end of the freeze, whenever the notice arrives
    route: str = ""


def share_of(members: int) -> float:
    return 1.0 / max(1, members)


class SharedBudgets:
    """One worker's side of the venues' shared budgets (`start` once connected, `stop` on leave)."""

    def __init__(self, nc: Client, worker: str, budgets: VenueBudgets, clock_ns: Callable[[], int],
                 lease_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._nc = nc
        self._lease_s = lease_s
        self._monotonic = monotonic
        self._larger_since: float | None = None  # when a larger share became due
        self.worker = worker
        self.budgets = budgets
        self._clock = clock_ns
        self._sub: Subscription | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.published = 0
        self.applied = 0  # notices from other workers that froze one of our limiters
        self.publish_errors = 0

    async def start(self, members: int) -> None:
        """Take our share among `members` (us included) and follow the others' backoffs."""
        self.budgets.set_share(share_of(members))
        self._sub = await self._nc.subscribe(f"{BACKOFF_SUBJECT}.*", cb=self._on_notice)
        self.budgets.on_backoff = self._took

    async def stop(self) -> None:
        self.budgets.on_backoff = None
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=1.0)
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except nats.errors.Error:
                log.debug("%s: backoff subscription already gone", self.worker)
            self._sub = None

    def set_members(self, members: int) -> None:
        """The members now (every tick): every limiter takes `1 / members` of its venue's limits, at
        once when that is less, after a lease period of fewer members when it is more."""
        share = share_of(members)
        if share <= self.budgets.share:
            self._larger_since = None
            self.budgets.set_share(share)
            return
        now = self._monotonic()
        if self._larger_since is None:
            self._larger_since = now
        elif now - self._larger_since >= self._lease_s:
            self._larger_since = None
            self.budgets.set_share(share)

    # ------------------------------------------------------------------ ours, to the others

    def _took(self, backoff: Backoff) -> None:
        """Called by a limiter on the hot path: publish from a task."""
        notice = BackoffNotice(self.worker, backoff.venue, backoff.kind, backoff.seconds,
                               self._clock() + int(backoff.seconds * NS), backoff.route)
        log.warning("%s: %s %s on %s for %.1f s: backing off every worker", self.worker, backoff.venue,
                    backoff.kind.name, backoff.route or "a request", backoff.seconds)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # told outside the event loop (nothing of ours runs there): cannot publish
            self.publish_errors += 1
            return
        task = loop.create_task(self._publish(notice), name="cluster backoff")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self, notice: BackoffNotice) -> None:
        try:
            await self._nc.publish(f"{BACKOFF_SUBJECT}.{notice.venue}", msgspec.json.encode(notice))
            await self._nc.flush(timeout=2)
            self.published += 1
        except (nats.errors.Error, TimeoutError) as exc:
            self.publish_errors += 1
            log.warning("%s: could not tell the cluster of the %s backoff (%s)", self.worker, notice.venue,
                        exc or type(exc).__name__)

    # ------------------------------------------------------------------ the others', to us

    async def _on_notice(self, msg: Msg) -> None:
        try:
            notice = msgspec.json.decode(msg.data, type=BackoffNotice)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("%s: unreadable backoff notice on %s: %r", self.worker, msg.subject, msg.data[:80])
            return
        if notice.worker == self.worker:
            return  # our own, echoed: the limiter froze itself already
        seconds = min(notice.seconds, (notice.until_ns - self._clock()) / NS)
        if seconds <= 0:
            return
        self.applied += 1
        log.warning("%s: %s took %s on %s (%s): %s frozen here too for %.1f s", self.worker, notice.worker,
                    notice.kind.name, notice.venue, notice.route or "?", notice.venue, seconds)
        self.budgets.freeze(notice.venue, notice.kind, seconds)

    def summary(self) -> dict[str, object]:
        return {"share": self.budgets.share, "backoffs_published": self.published,
                "backoffs_applied": self.applied}
