"""The cluster ledger reconciled with the venues' balances, one worker at a time.

How a worker knows the cluster is quiet: every worker writes a `QuietReport` every tick
(``quiet.<worker>`` in the leases bucket, so a dead worker's report expires with its heartbeat):
its trades and orders in flight, the accounts with fills not yet settled into the ledger, the
symbols whose previous owner's orders it has not reconciled yet, a counter of every order change
so far, the pause it has seen, and when it last asked for a reconciliation.

The worker holding the ``role.reconciler`` lease (same bucket, same create / update-if-last /
expiry as the symbol leases) runs one when asked (a worker reclaimed a departed member's holdings:
it left uncleanly; a worker started: its journal was reconciled and what it found must be in the
ledger before it trades) and every `EVERY_LEASES` lease periods:

1. it writes ``pause.reconcile`` (rewritten while it runs; it expires if the reconciler dies): every
   worker's gate refuses new trades while it is there, trades in flight finish and settle;
2. it waits until every live member's report has seen the pause and is quiet (nothing in flight,
   nothing unsettled, no orphan pending); not within `QUIET_WAIT_LEASES`: it gives up, retries later;
3. it reads every venue's balances (the engine's connectors, `balances()`);
4. it waits for a report from every member written after that read (a higher `seq`): still quiet,
   same members, the same order-change counter; otherwise something moved: it gives up, retries;
5. it sets each account's funds to the venue's balance (free + locked) by compare-and-set; holdings
   above the new funds are trimmed proportionally (never negative, their sum within the funds); the
   difference is logged, journaled and published;
6. it writes the result (``reconciled`` in the state bucket) and lifts the pause. Workers re-read
   their holdings from the ledger when they see a new result; a worker that asked trades once a
   result newer than its request is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import ROUND_FLOOR, Decimal

import msgspec
import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from arb.cluster.conn import ClusterError
from arb.cluster.leases import LeaseRecord, read_prefix
from arb.cluster.ledger import Account, Ledger, ledger_key
from arb.errors import DecodeError, ExchangeError
from arb.model import ZERO, AssetBalance

log = logging.getLogger(__name__)

QUIET = "quiet."
PAUSE_KEY = "pause.reconcile"
ROLE_KEY = "role.reconciler"
RESULT_KEY = "reconciled"  # in the state bucket (kept: a restarted worker reads it)
EVERY_LEASES = 100  # a periodic reconciliation every this many lease periods
QUIET_WAIT_LEASES = 5  # how long a run waits for the cluster to be quiet before giving up
MAX_BACKOFF_LEASES = 16  # after runs that gave up, the next waits 1, 2, 4... up to this many leases
HOLDING_EXP = Decimal("1e-12")  # trimmed holdings are rounded down to this
AFTER_RESULT = "result"  # `paused` for the tick after a new result (holdings re-read first)
WHY_NOT = "%s: ledger reconciliation: %s: retrying later"


class QuietReport(msgspec.Struct, frozen=True):
    worker: str
    seq: int
    in_flight: int
    unsettled: int
    orphans: int
    activity: int
    pause: str = ""
    wants_ns: int = 0

    @property
    def quiet(self) -> bool:
        return not (self.in_flight or self.unsettled or self.orphans)


Reports = dict[str, QuietReport]


class Result(msgspec.Struct, frozen=True):
    """The last reconciliation: who, when the cluster was quiet, the funds' differences, the members
    that were quiet."""

    gen: int = 0
    quiet_ns: int = 0
    by: str = ""
    diffs: dict[str, str] = {}
    members: list[str] = []


def corrected(account: Account, funds: Decimal) -> tuple[Account, Decimal]:
    """`account` with `funds`; holdings above them trimmed proportionally. Returns (it, difference)."""
    held = account.held
    total = sum(held.values(), ZERO)
    if total > funds:
        scale = max(ZERO, funds) / total
        held = {w: q for w, v in held.items() if (q := (v * scale).quantize(HOLDING_EXP, ROUND_FLOOR)) > ZERO}
    return Account(funds, dict(held)), funds - account.funds


async def read_result(kv: KeyValue) -> Result:
    try:
        entry = await kv.get(RESULT_KEY)
    except nats.js.errors.KeyNotFoundError:
        return Result()
    try:
        return msgspec.json.decode(entry.value or b"", type=Result)
    except msgspec.DecodeError:
        return Result()


class Reconciler:
    """One worker's part: its report every tick, the pause it obeys, and the runs it makes while it
    holds the reconciler role.

    Parameters
    ----------
    worker, leases_kv, state_kv, ledger:
        This worker, the leases bucket, the state bucket, the ledger.
    members:
        The live members, as this worker last read them.
    lease_s:
        The cluster's lease period (ticks are a fifth of it).
    balances:
        Each venue's balances, read now (None: this worker cannot reconcile, e.g. paper venues).
    keys:
        The (venue, asset) accounts to reconcile.
    clock_ns:
        Wall clock.
    on_result:
        Called with each account's difference after a run corrected the ledger.
    """

    def __init__(self, worker: str, leases_kv: KeyValue, state_kv: KeyValue, ledger: Ledger,
                 members: Callable[[], Iterable[str]], lease_s: float,
                 balances: Callable[[], Awaitable[Mapping[str, Mapping[str, AssetBalance]]]] | None,
                 keys: Callable[[], Iterable[tuple[str, str]]], clock_ns: Callable[[], int] = time.time_ns,
                 on_result: Callable[[dict[str, Decimal]], None] | None = None) -> None:
        self.worker = worker
        self._kv = leases_kv
        self._state = state_kv
        self._ledger = ledger
        self._members = members
        self.lease_s = lease_s
        self._balances = balances
        self._keys = keys
        self._clock = clock_ns
        self._on_result = on_result
        self.seq = 0
        self.paused = ""  # the pause in force, as last read ("" none)
        self.wants_ns = 0  # when this worker asked for a reconciliation (0: it did not)
        self.blocking = False  # this worker trades only after a result newer than `wants_ns`
        self.result = Result()
        self._role_revision: int | None = None
        self._run: asyncio.Task[bool] | None = None
        self._last_run = time.monotonic()
        self._retry_at = 0.0  # monotonic: no run before (backoff after runs that gave up)
        self._backoff = lease_s
        self.runs = 0
        self.paused_s: deque[float] = deque(maxlen=100)  # how long each successful run paused trading
        self.gave_up = 0

    def request(self, *, block: bool) -> None:
        """Ask for a reconciliation (`block`: this worker does not trade until one has run)."""
        self.wants_ns = self._clock()
        self.blocking = self.blocking or block

    @property
    def holds_role(self) -> bool:
        return self._role_revision is not None

    # ------------------------------------------------------------------ every tick

    async def tick(self, in_flight: int, unsettled: int, orphans: int, activity: int) -> bool:
        """Read the pause and the last result, write our report, run if we should.
        Returns True when a new result is there: the caller re-reads its holdings (trimmed, maybe),
        and until its next tick this worker stays paused (no trade from the holdings it had)."""
        try:
            entry = await self._kv.get(PAUSE_KEY)
            pause = (entry.value or b"").decode() or "?"
        except nats.js.errors.KeyNotFoundError:
            pause = ""
        self.paused = pause or self.paused  # a pause seen applies at once; lifted below
        result = await read_result(self._state)
        fresh = result.gen != self.result.gen
        self.result = result
        self.paused = pause or (AFTER_RESULT if fresh else "")
        if self.blocking and result.quiet_ns >= self.wants_ns:
            self.blocking = False
            log.info("%s: ledger reconciled with the venues since this worker asked: trading", self.worker)
        self.seq += 1
        report = QuietReport(self.worker, self.seq, in_flight, unsettled, orphans, activity, pause,
                             self.wants_ns if self.wants_ns > result.quiet_ns else 0)
        await self._kv.put(QUIET + self.worker, msgspec.json.encode(report))
        if self._balances is not None:
            await self._hold_role()
            idle = (self._run is None or self._run.done()) and time.monotonic() >= self._retry_at
            if self.holds_role and idle and await self._due():
                self._last_run = time.monotonic()
                self._run = asyncio.get_running_loop().create_task(self.run(), name="ledger reconciliation")
        return fresh

    async def counted(self, pending: Mapping[tuple[str, str], Decimal],
                      last_fill_ns: Mapping[tuple[str, str], int]) -> list[tuple[str, str]]:
        """After this worker was away (NATS lost): the accounts whose unsettled fills are already in
        the ledger, because a reconciliation ran without us after them (the venues' balances had them).
        Settling them too would count them twice."""
        result = await read_result(self._state)
        if result.gen == self.result.gen or self.worker in result.members:
            return []
        return [key for key, delta in pending.items() if delta and last_fill_ns.get(key, 0) < result.quiet_ns]

    async def _hold_role(self) -> None:
        record = msgspec.json.encode(LeaseRecord(self.worker, self._clock()))
        try:
            if self._role_revision is None:
                self._role_revision = await self._kv.create(ROLE_KEY, record)
                log.info("%s: holds the reconciler role", self.worker)
            else:
                self._role_revision = await self._kv.update(ROLE_KEY, record, last=self._role_revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            self._role_revision = None

    async def _due(self) -> bool:
        if time.monotonic() - self._last_run >= EVERY_LEASES * self.lease_s:
            return True
        members = set(self._members())
        reports = await self._reports()
        return any(r.wants_ns > self.result.quiet_ns for r in reports.values() if r.worker in members)

    async def _reports(self) -> dict[str, QuietReport]:
        out = {}
        for name, (raw, _) in (await read_prefix(self._kv, QUIET)).items():
            with contextlib.suppress(msgspec.DecodeError):
                out[name] = msgspec.json.decode(raw, type=QuietReport)
        return out

    # ------------------------------------------------------------------ a run (the role holder)

    async def run(self) -> bool:
        """One reconciliation; True when the ledger was corrected (False: gave up, retried later)."""
        pause = f"{self.worker}-{self._clock()}"
        keeper = asyncio.get_running_loop().create_task(self._keep_pause(pause), name="reconcile pause")
        try:
            done = await self._run_paused(pause)
        except (ClusterError, nats.errors.Error, TimeoutError) as exc:
            log.warning("%s: ledger reconciliation failed (%s): retrying later", self.worker,
                        exc or type(exc).__name__)
            done = False
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, nats.errors.Error, TimeoutError):
                await keeper
            with contextlib.suppress(nats.errors.Error, TimeoutError, nats.js.errors.KeyNotFoundError):
                await self._kv.delete(PAUSE_KEY)
        self.runs += done
        self.gave_up += not done
        if done:
            self._backoff = self.lease_s
        else:  # the cluster is busy or a venue is away: do not keep pausing it
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(2 * self._backoff, MAX_BACKOFF_LEASES * self.lease_s)
        return done

    async def _keep_pause(self, pause: str) -> None:
        while True:
            with contextlib.suppress(nats.errors.Error, TimeoutError):
                await self._kv.put(PAUSE_KEY, pause.encode())
            await asyncio.sleep(self.lease_s / 5)

    async def _wait(self, what: Callable[[Reports], bool | None]) -> Reports | None:
        """Poll the reports until `what` says True (None: give up at once) or the wait is over."""
        deadline = time.monotonic() + QUIET_WAIT_LEASES * self.lease_s
        while time.monotonic() < deadline:
            reports = await self._reports()
            verdict = what(reports)
            if verdict is None:
                return None
            if verdict:
                return reports
            await asyncio.sleep(self.lease_s / 10)
        return None

    async def _run_paused(self, pause: str) -> bool:
        began = time.monotonic()
        await self._kv.put(PAUSE_KEY, pause.encode())

        def settled(reports: dict[str, QuietReport]) -> bool:  # every member (and nobody else) quiet
            return set(reports) == set(self._members()) and all(r.pause == pause and r.quiet
                                                                 for r in reports.values())

        first = await self._wait(settled)
        if first is None:
            log.info(WHY_NOT, self.worker, "the cluster did not get quiet")
            return False
        quiet_ns = self._clock()
        assert self._balances is not None
        try:
            balances = await self._balances()
        except (ExchangeError, DecodeError) as exc:
            log.warning(WHY_NOT, self.worker, f"balances unreadable ({exc})")
            return False

        def after(reports: dict[str, QuietReport]) -> bool | None:
            if set(reports) != set(first):
                return None  # a member came or went
            if any(r.seq > first[n].seq and not (r.pause == pause and r.quiet
                                                 and r.activity == first[n].activity)
                   for n, r in reports.items()):
                return None  # something moved while the balances were read
            return all(r.seq > first[n].seq for n, r in reports.items())

        # `first` was read before the balances: a report with a higher seq was written after the read
        if await self._wait(after) is None:
            log.info(WHY_NOT, self.worker, "activity during the balance read")
            return False
        diffs = await self._correct(balances)
        result = Result(self.result.gen + 1, quiet_ns, self.worker, {k: f"{v:f}" for k, v in diffs.items()},
                        sorted(first))
        await self._state.put(RESULT_KEY, msgspec.json.encode(result))
        moved = ", ".join(f"{k} {v:+f}" for k, v in sorted(diffs.items()) if v) or "no difference"
        self.paused_s.append(time.monotonic() - began)
        log.info("%s: ledger reconciled with the venues' balances (run %d, %d members quiet, trading paused "
                 "%.2f s): %s", self.worker, result.gen, len(first), self.paused_s[-1], moved)
        if self._on_result is not None:
            self._on_result(diffs)
        return True

    async def _correct(self, balances: Mapping[str, Mapping[str, AssetBalance]]) -> dict[str, Decimal]:
        diffs: dict[str, Decimal] = {}
        for venue, asset in self._keys():
            if venue not in balances:
                continue
            balance = balances[venue].get(asset)
            funds = balance.total if balance is not None else ZERO
            account, _ = await self._ledger.read(venue, asset)
            if account is None:
                continue  # not seeded yet: the worker seeds it from the venue

            def fix(current: Account, funds: Decimal = funds) -> tuple[Account, Decimal]:
                return corrected(current, funds)

            diffs[ledger_key(venue, asset)] = (await self._ledger.change(venue, asset, fix))[1]
        return diffs

    async def stop(self) -> None:
        """Stop a run, give the role back, remove our report (a run would wait for it to expire)."""
        if self._run is not None:
            self._run.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._run
        with contextlib.suppress(nats.errors.Error, TimeoutError, nats.js.errors.Error):
            await self._kv.delete(QUIET + self.worker)
        if self._role_revision is not None:
            with contextlib.suppress(nats.errors.Error, TimeoutError, nats.js.errors.Error):
                await self._kv.delete(ROLE_KEY, last=self._role_revision)
            self._role_revision = None
