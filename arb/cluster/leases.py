"""Membership and symbol ownership by lease.

Both live in the ``arb_leases`` bucket, whose entries expire 3/5 of the lease period `lease_s`
after their last write (rewritten every fifth of it): a worker that stops renewing has lost
its symbols to the others within one lease period.

- ``member.<worker>``: a heartbeat, rewritten every tick; a worker that dies or loses NATS drops
  out of the cluster within one lease period.
- ``lease.<symbol>``: the worker that owns the symbol. Taken with ``create`` (only if nobody holds
  it), renewed with ``update(..., last=revision)`` (only if we still hold it), given up with
  ``delete(..., last=revision)`` when the shard moves to another worker.

Which worker should own a symbol is rendezvous hashing over the live members: every worker computes
the same answer from the same member list, and a join or leave moves only the symbols that must
move. A worker takes the symbols it should own as soon as nobody holds them (at once when released,
within one lease period when the holder died) and releases the ones it should no longer own.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable

import msgspec
import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from arb.cluster.conn import ClusterError

log = logging.getLogger(__name__)

MEMBER = "member."
LEASE = "lease."
KV_DELETED = ("DEL", "PURGE")
WATCH_IDLE_S = 2.0
READ_IDLE_S = 2.0  # the longest pause between the entries of one read


class LeaseEvent(enum.IntEnum):
    ACQUIRED = 1
    LOST = 2  # renewal refused: someone else holds it now (we were away too long)
    RELEASED = 3  # the shard moved to another member


class LeaseRecord(msgspec.Struct, frozen=True):
    worker: str
    since_ns: int


def lease_key(symbol: str) -> str:
    return LEASE + symbol


def owner_of(symbol: str, members: Iterable[str]) -> str | None:
    """The member that should own `symbol` (rendezvous hashing; None without members)."""

    def weight(member: str) -> bytes:
        return hashlib.blake2b(f"{member}|{symbol}".encode(), digest_size=8).digest()

    return max(members, key=weight, default=None)


async def all_of(calls: Iterable[Awaitable[None]]) -> None:
    """Run `calls` concurrently, each to its end; then raise the first failure, if any."""
    gathered = asyncio.gather(*calls, return_exceptions=True)
    # a stop cancels the gather (and what it waits for): its outcome is then nobody's, say so quietly
    gathered.add_done_callback(lambda f: f.cancelled() or f.exception())
    failed = [r for r in await gathered if isinstance(r, BaseException)]
    if failed:
        raise failed[0]


async def read_prefix(kv: KeyValue, prefix: str) -> dict[str, tuple[bytes, int]]:
    """Live entries under `prefix` (key without the prefix -> value, revision): one pass of a watcher
    over the last value of each key."""
    # an ephemeral consumer per read: unsubscribing leaves it on the server, so it must expire soon
    watcher = await kv.watch(f"{prefix}>", inactive_threshold=WATCH_IDLE_S)
    out: dict[str, tuple[bytes, int]] = {}
    loop = asyncio.get_running_loop()
    try:
        # entries already queued are taken without suspending (`updates()` starts a task per entry:
        # a turn of the loop each, which on a busy worker made reading 100 leases take seconds); the
        # timeout is for a pause between entries, as `updates(timeout)` had it
        async with asyncio.timeout(READ_IDLE_S) as idle:
            async for entry in watcher:
                if entry is None:  # the end of what was stored when the watch began
                    break
                if entry.operation in KV_DELETED:
                    out.pop(entry.key[len(prefix):], None)
                else:
                    out[entry.key[len(prefix):]] = (entry.value or b"", int(entry.revision or 0))
                if not entry.delta:  # nothing pending after this one
                    break
                idle.reschedule(loop.time() + READ_IDLE_S)
    except TimeoutError:
        raise ClusterError(f"reading {prefix}* from the leases bucket timed out") from None
    finally:
        await watcher.stop()  # type: ignore[no-untyped-call]
    return out


class Leases:
    """One worker's heartbeat and symbol leases; `tick()` once every `tick_s` (a fifth of a lease).

    Parameters
    ----------
    kv:
        The ``arb_leases`` bucket (its TTL is the lease period).
    worker:
        This worker's name.
    symbols:
        The universe to shard (symbols as text, e.g. ``BTC/USDT``).
    clock_ns:
        Wall clock for the records.
    on_change:
        Called with (symbol, event) for every lease acquired, lost or released.
    """

    def __init__(self, kv: KeyValue, worker: str, symbols: Iterable[str], clock_ns: Callable[[], int],
                 on_change: Callable[[str, LeaseEvent], None] | None = None) -> None:
        self.kv = kv
        self.worker = worker
        self.symbols = sorted(set(symbols))
        self._clock = clock_ns
        self._on_change = on_change
        self.owned: dict[str, int] = {}  # symbol -> revision of our lease
        self.members: list[str] = []
        self.holders: dict[str, str] = {}  # symbol -> its holder, as last read

    def owns(self, symbol: str) -> bool:
        return symbol in self.owned

    def _event(self, symbol: str, event: LeaseEvent) -> None:
        log.info("%s: lease %s %s", self.worker, symbol, event.name.lower())
        if self._on_change is not None:
            self._on_change(symbol, event)

    async def heartbeat(self) -> None:
        record = msgspec.json.encode(LeaseRecord(self.worker, self._clock()))
        await self.kv.put(MEMBER + self.worker, record)

    async def tick(self) -> None:
        """Heartbeat, read the members and holders, renew, release and take leases."""
        await self.heartbeat()
        self.members = sorted(await read_prefix(self.kv, MEMBER))
        if self.worker not in self.members:  # our heartbeat is not visible yet: count us anyway
            self.members = sorted([*self.members, self.worker])
        leases = await read_prefix(self.kv, LEASE)
        self.holders = {}
        for symbol, (raw, _) in leases.items():
            try:
                self.holders[symbol] = msgspec.json.decode(raw, type=LeaseRecord).worker
            except msgspec.DecodeError:
                log.warning("unreadable lease %s: %r", symbol, raw[:80])
        record = msgspec.json.encode(LeaseRecord(self.worker, self._clock()))
        writes: list[Awaitable[None]] = []
        for symbol in self.symbols:
            mine = owner_of(symbol, self.members) == self.worker
            if symbol in self.owned:
                writes.append(self._renew(symbol, record) if mine else self._release(symbol))
            elif mine and symbol not in leases:
                writes.append(self._take(symbol, record))
        # all at once: one round trip per tick, not one per symbol (a busy worker with many symbols
        # renewing one by one could see its first leases expire before it reached the last)
        await all_of(writes)

    async def _renew(self, symbol: str, record: bytes) -> None:
        try:
            self.owned[symbol] = await self.kv.update(lease_key(symbol), record, last=self.owned[symbol])
        except nats.js.errors.KeyWrongLastSequenceError:
            del self.owned[symbol]
            self._event(symbol, LeaseEvent.LOST)

    async def _release(self, symbol: str) -> None:
        revision = self.owned.pop(symbol)
        with contextlib.suppress(nats.js.errors.KeyWrongLastSequenceError):  # expired or taken: released
            await self.kv.delete(lease_key(symbol), last=revision)
        self._event(symbol, LeaseEvent.RELEASED)

    async def _take(self, symbol: str, record: bytes) -> None:
        try:
            self.owned[symbol] = await self.kv.create(lease_key(symbol), record)
        except nats.js.errors.KeyWrongLastSequenceError:
            return  # someone holds it still: next tick
        self.holders[symbol] = self.worker
        self._event(symbol, LeaseEvent.ACQUIRED)

    async def leave(self) -> None:
        """Give every lease and the membership up (a clean stop: the others take over at once)."""
        for symbol in list(self.owned):
            await self._release(symbol)
        with contextlib.suppress(nats.js.errors.KeyNotFoundError):
            await self.kv.delete(MEMBER + self.worker)

    def drop_all(self) -> None:
        """Forget every lease (NATS is gone: we cannot know we still hold them)."""
        for symbol in list(self.owned):
            del self.owned[symbol]
            self._event(symbol, LeaseEvent.LOST)
