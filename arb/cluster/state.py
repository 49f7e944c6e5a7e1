"""The cluster's one trading state: a KV key (``arb_state`` / ``trading``) and a broadcast subject.

`arb-engine halt --cluster URL` writes the key and then publishes the same record on
``arb.cluster.state``: running workers get the broadcast at once (well within a second), a worker
that missed it (away from NATS) re-reads the key on every tick and on reconnect, and a worker that
starts reads the key before it trades, so it starts HALTED while the cluster is.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import msgspec
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.kv import KeyValue

from arb.cluster.conn import STATE_KEY, STATE_SUBJECT, ClusterError, connect, open_state
from arb.engine.risk import TradingState

log = logging.getLogger(__name__)


class StateRecord(msgspec.Struct, frozen=True):
    state: TradingState
    reason: str = ""
    ts_ns: int = 0
    by: str = ""


ACTIVE = StateRecord(TradingState.ACTIVE)


async def read_record(kv: KeyValue) -> StateRecord:
    """The stored state (ACTIVE when never set; HALTED when unreadable: fail closed)."""
    try:
        entry = await kv.get(STATE_KEY)
    except nats.js.errors.KeyNotFoundError:
        return ACTIVE
    try:
        return msgspec.json.decode(entry.value or b"", type=StateRecord)
    except msgspec.DecodeError:
        return StateRecord(TradingState.HALTED, f"unreadable cluster state {entry.value!r:.80}")


async def set_cluster_state(url: str, state: TradingState, reason: str, *,
                            by: str = "operator") -> tuple[StateRecord, StateRecord]:
    """Write and broadcast the cluster's trading state; returns (before, after)."""
    nc = await connect(url, name=f"arb-{state.name.lower()}", first_timeout_s=5.0)
    try:
        kv = await open_state(nc.jetstream())
        before = await read_record(kv)
        record = StateRecord(state, reason, time.time_ns(), by)
        raw = msgspec.json.encode(record)
        await kv.put(STATE_KEY, raw)
        await nc.publish(STATE_SUBJECT, raw)
        await nc.flush(timeout=2)
        return before, record
    except (nats.errors.Error, TimeoutError) as exc:
        raise ClusterError(f"cannot set the cluster state at {url}: {exc or type(exc).__name__}") from None
    finally:
        await nc.close()


class StateFollower:
    """A worker's side: the broadcast applies at once, `refresh()` re-reads the key.

    Parameters
    ----------
    apply:
        Called with every record seen (repeats included: it must be idempotent).
    """

    def __init__(self, nc: Client, kv: KeyValue, apply: Callable[[StateRecord], None]) -> None:
        self._nc = nc
        self._kv = kv
        self._apply = apply
        self._sub: Subscription | None = None
        self.malformed = 0  # broadcasts that did not decode (counted, skipped)
        self.current = ACTIVE

    async def start(self) -> StateRecord:
        self._sub = await self._nc.subscribe(STATE_SUBJECT, cb=self._on_message)
        return await self.refresh()

    async def halt_once(self, latch: str, reason: str, by: str) -> bool:
        """HALT the cluster from a worker, once per `latch` (a key of the state bucket taken with
        create-only, so of every worker seeing the same cause one halts, and an operator's RESUME
        after it is never overwritten by a slower worker's HALT). True if this call halted it."""
        record = StateRecord(TradingState.HALTED, reason, time.time_ns(), by)
        raw = msgspec.json.encode(record)
        try:
            await self._kv.create(latch, raw)
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        await self._kv.put(STATE_KEY, raw)  # for workers that start or missed the broadcast
        await self._nc.publish(STATE_SUBJECT, raw)
        self._set(record)
        return True

    async def refresh(self) -> StateRecord:
        self._set(await read_record(self._kv))
        return self.current

    async def _on_message(self, msg: Msg) -> None:
        try:
            record = msgspec.json.decode(msg.data, type=StateRecord)
        except msgspec.DecodeError:
            self.malformed += 1
            return
        self._set(record)

    def _set(self, record: StateRecord) -> None:
        self.current = record
        self._apply(record)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None
