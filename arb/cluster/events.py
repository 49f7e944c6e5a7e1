"""What every worker did, published to the ``ARB_EVENTS`` JetStream stream.

Subjects are ``arb.events.<worker>.<kind>`` (`EventKind`, by lower-case name); payloads are JSON
objects that start with ``worker``, ``ts_ns``, ``run`` (this process's start, ns) and ``seq`` (per
run and kind, from 1: a reader sees a gap when events were lost).

The hot path only encodes and queues (`emit`); a background task publishes batches of up to
`BATCH` in order, then waits for their JetStream acks; it never blocks trading. While NATS is away
(or an ack does not come within `ACK_S`) the batch is sent again every `RETRY_S`; every event
carries a ``Nats-Msg-Id`` header (worker, run, kind, seq), so what the server had stored of it is
dropped by JetStream's duplicate window (2 minutes), not stored twice. The queue is bounded: beyond
`MAX_QUEUED` (minutes of a busy worker) the oldest are dropped and counted (`dropped`, in the
worker's summary; readers see the gap in ``seq``). On stop the queue gets `flush`'s bounded wait;
what is still queued then is counted in `unsent` and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec
import nats.errors
from nats.js import JetStreamContext

from arb.cluster.conn import EVENTS_SUBJECT

log = logging.getLogger(__name__)

MAX_QUEUED = 50_000
RETRY_S = 0.25
BATCH = 256  # events sent before waiting for their acks
ACK_S = 2.0
STOP_S = 3.0


class EventKind(enum.IntEnum):
    OPPORTUNITY = 1
    ORDER = 2
    FILL = 3
    PNL = 4
    STATE = 5  # the cluster's trading state, as this worker applied it
    LEASE = 6
    BALANCE = 7  # a fill moved a (venue, asset) balance: the allocation's view
    WORKER = 8  # this worker's own state (`WorkerState`) changed
    RECONCILE = 9  # orphaned orders cancelled, the ledger corrected to the venues' balances


class EventPublisher:
    """Queue and publish one worker's events."""

    def __init__(self, js: JetStreamContext, worker: str, clock_ns: Callable[[], int] = time.time_ns,
                 max_queued: int = MAX_QUEUED) -> None:
        self._js = js
        self._max_queued = max_queued
        self._clock = clock_ns
        self.worker = worker
        self._queue: deque[tuple[str, bytes, str]] = deque()  # subject, body, message id
        self._inflight: list[tuple[str, bytes, str]] = []  # sent, acks awaited (never dropped)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._encoder = msgspec.json.Encoder()
        self.published = 0
        self.dropped = 0
        self.unsent = 0  # still queued when stopped (NATS away at the end)
        self.run = clock_ns()
        self._seq: dict[EventKind, int] = {}
        self._names = {kind: kind.name.lower() for kind in EventKind}  # (Enum.name is slow on the hot path)
        self._stopping = False

    def emit(self, kind: EventKind, payload: dict[str, Any]) -> None:
        """Queue an event (no await: safe on the hot path)."""
        if len(self._queue) >= self._max_queued:
            self._queue.popleft()
            self.dropped += 1
        seq = self._seq[kind] = self._seq.get(kind, 0) + 1
        name = self._names[kind]
        body = {"worker": self.worker, "ts_ns": self._clock(), "run": self.run, "seq": seq, **payload}
        self._queue.append((f"{EVENTS_SUBJECT}.{self.worker}.{name}", self._encoder.encode(body),
                            f"{self.worker}.{self.run}.{name}.{seq}"))
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cluster events")

    async def _run(self) -> None:
        while not self._stopping:  # a flag too: the client's publish may swallow a cancellation
            await self._wake.wait()
            self._wake.clear()
            while (self._queue or self._inflight) and not self._stopping:
                while self._queue and len(self._inflight) < BATCH:
                    self._inflight.append(self._queue.popleft())
                try:
                    await self._publish(self._inflight)
                except (nats.errors.Error, TimeoutError) as exc:
                    log.debug("events not published yet (%s): retrying", exc)
                    await asyncio.sleep(RETRY_S)
                    continue  # the same batch again: what the server stored is deduplicated
                self.published += len(self._inflight)
                self._inflight.clear()

    async def _publish(self, batch: list[tuple[str, bytes, str]]) -> None:
        """Send the batch in order without waiting in between, then wait for every ack (bounded)."""
        acks = []
        try:
            for subject, data, msg_id in batch:
                acks.append(await self._js.publish_async(subject, data, wait_stall=ACK_S,
                                                         headers={"Nats-Msg-Id": msg_id}))
            async with asyncio.timeout(ACK_S):
                await asyncio.gather(*acks)
        finally:
            for ack in acks:
                ack.cancel()  # those not answered (no-op on the answered)

    @property
    def queued(self) -> int:
        """Events not yet acknowledged (the batch in flight included)."""
        return len(self._queue) + len(self._inflight)

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until the queue is empty."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self.queued:
                    await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._stopping = True
        self.unsent = self.queued
        if self.unsent:
            log.warning("%s: %d events not published (NATS unreachable at stop); %d dropped earlier",
                        self.worker, self.unsent, self.dropped)
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_S)
            self._task = None
