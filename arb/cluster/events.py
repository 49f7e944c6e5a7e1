"""What every worker did, published to the ``ARB_EVENTS`` JetStream stream.

Subjects are ``arb.events.<worker>.<kind>`` (`EventKind`, by lower-case name); payloads are JSON.
The hot path only encodes and queues (`emit`); a background task publishes with JetStream acks,
keeps what it could not send for when NATS is back (bounded: the oldest beyond `MAX_QUEUED` are
dropped and counted), and never blocks trading.
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
STOP_S = 3.0


class EventKind(enum.IntEnum):
    OPPORTUNITY = 1
    ORDER = 2
    FILL = 3
    PNL = 4
    STATE = 5
    LEASE = 6
    RECONCILE = 7  # orphaned orders cancelled, the ledger corrected to the venues' balances


class EventPublisher:
    """Queue and publish one worker's events."""

    def __init__(self, js: JetStreamContext, worker: str, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._js = js
        self._clock = clock_ns
        self.worker = worker
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._encoder = msgspec.json.Encoder()
        self.published = 0
        self.dropped = 0
        self._stopping = False

    def emit(self, kind: EventKind, payload: dict[str, Any]) -> None:
        """Queue an event (no await: safe on the hot path)."""
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
            self.dropped += 1
        subject = f"{EVENTS_SUBJECT}.{self.worker}.{kind.name.lower()}"
        body = {"worker": self.worker, "ts_ns": self._clock(), **payload}
        self._queue.append((subject, self._encoder.encode(body)))
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cluster events")

    async def _run(self) -> None:
        while not self._stopping:  # a flag too: the client's publish may swallow a cancellation
            await self._wake.wait()
            self._wake.clear()
            while self._queue and not self._stopping:
                subject, data = self._queue[0]
                try:
                    await self._js.publish(subject, data, timeout=2.0)
                except (nats.errors.Error, TimeoutError) as exc:
                    log.debug("event not published yet (%s): retrying", exc)
                    await asyncio.sleep(RETRY_S)
                    continue
                self._queue.popleft()
                self.published += 1

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait (bounded) until the queue is empty."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._queue:
                    await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_S)
            self._task = None
