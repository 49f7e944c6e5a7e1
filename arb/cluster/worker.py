"""One engine's member of the cluster: `ClusterWorker` is the engine's `TradeGate`.

Start-up (`arb.cluster.wiring` does it for `run --cluster`): `connect()` before the engine starts
(NATS reachable, buckets bound, the cluster's trading state read and applied: a worker that starts
while the cluster is HALTED starts HALTED), then `attach()` once the engine knows its symbols and
balances. Two background loops, each once per tick (a fifth of a lease); the first runs on its own
so that a long second round (many accounts, a reconciliation) never delays a lease renewal:

1. leases: our figures for the global limits, heartbeat and leases (`Leases.tick`): this worker's
   shard of the symbols; the peers' figures (`arb.cluster.limits`; the cluster's day loss at the
   limit HALTs it); the venues' budget share among the members (`arb.cluster.budgets`);

and, once the members are known:

2. the trading state re-read (a missed broadcast is caught here);
3. after a start or a NATS loss: the allocation confirmed from the ledger; otherwise fills settled;
4. each account seeded if new, holdings of departed workers reclaimed, our holding moved toward an
   equal share of the funds;
5. reconciliation (`arb.cluster.orphans`, `arb.cluster.reconciler`): symbols taken from a departed
   owner are refused until its open orders are cancelled; the worker's quiet report is written; a
   departure without a clean leave (holdings reclaimed) or this worker's start (its journal was just
   reconciled) asks for the ledger to be reconciled with the venues' balances (a start: before it
   trades); the worker holding the reconciler role runs it.

The worker is also the engine's `BookScope` (`arb.cluster.wiring` sets it before the engine starts):
the engine keeps books only for the symbols this worker holds a lease on. After every tick in which
the owned set changed, `on_scope_change` (the engine's ``universe.rescope``) is called: books of
symbols acquired are added (snapshot + diffs, SYNCED before they can trade), those released or lost
are dropped. Before a lease is held the worker streams nothing for that symbol.

Fail closed: while NATS is away, or until a tick after (re)connecting has succeeded, `admit`
refuses every new trade; trades in flight finish (their fills settle when NATS is back).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from decimal import Decimal

import nats.errors
from nats.aio.client import Client

from arb.cluster.allocation import Allocation, Key
from arb.cluster.budgets import SharedBudgets
from arb.cluster.conn import Buckets, ClusterError, ClusterSettings, connect, open_buckets
from arb.cluster.events import EventKind, EventPublisher
from arb.cluster.leases import MEMBER, LeaseEvent, Leases, all_of, read_prefix
from arb.cluster.ledger import Ledger
from arb.cluster.limits import ClusterLimits
from arb.cluster.orphans import ReconcileEvent, Takeover, VenueAccess
from arb.cluster.reasons import GateReason
from arb.cluster.reconciler import Reconciler
from arb.cluster.state import StateFollower, StateRecord
from arb.engine.hooks import VenueBudgets
from arb.engine.risk import RiskManager, TradingState
from arb.model import ZERO, AssetBalance, Opportunity, Order, Symbol

log = logging.getLogger(__name__)

CLOSE_S = 5.0
CLUSTER_REASON = "cluster: "  # prefix of the reason of a HALT that came from the cluster
LOSS_LATCH = "halted.daily_loss."  # + the UTC day: the state bucket's key of that day's loss HALT


class WorkerState(enum.IntEnum):
    STARTING = 1
    TRADING = 2  # connected, confirmed, cluster ACTIVE
    HALTED = 3  # the cluster is halted
    FAILED_CLOSED = 4  # NATS away or allocation not confirmed since
    LEFT = 5  # stopped: allocation and leases given back


class ClusterWorker:
    """Parameters
    ----------
    settings:
        URL, worker name, lease period, replicas.
    risk:
        The engine's risk manager: its gate becomes this worker; cluster HALT/RESUME apply to it.
    clock_ns:
        Wall clock (lease records, events).
    budgets:
        The engine's venue rate limiters: a share of each venue's limits, backoffs shared
        (`arb.cluster.budgets`); None: not steered.
    """

    def __init__(self, settings: ClusterSettings, risk: RiskManager,
                 clock_ns: Callable[[], int] = time.time_ns, budgets: VenueBudgets | None = None) -> None:
        self.settings = settings
        self.worker = settings.worker
        self.risk = risk
        self._clock = clock_ns
        self.allocation = Allocation()
        self.connected = False
        self.confirmed = False
        self.halted = False
        self.owned: set[Symbol] = set()
        self.keys: list[Key] = []
        self.members: list[str] = []
        self.refused: dict[GateReason, int] = {}
        self.tick_errors = 0
        self.lease_events: list[tuple[int, str, LeaseEvent]] = []
        self._nc: Client | None = None
        self._buckets: Buckets | None = None
        self._ledger: Ledger | None = None
        self._leases: Leases | None = None
        self._state: StateFollower | None = None
        self._loss_day: int | None = None  # the last UTC day whose loss HALT this worker saw to
        self._first_round = asyncio.Event()  # the members are known (a share needs their number)
        self._failed: set[str] = set()  # the loops whose last round failed (no confirmation meanwhile)
        self.events: EventPublisher | None = None
        self._loop: asyncio.Task[None] | None = None
        self._balance: Callable[[str, str], Decimal] | None = None
        self._by_text: dict[str, Symbol] = {}
        self._left = False
        self._reported: WorkerState | None = None
        self._access: VenueAccess | None = None
        self.takeover: Takeover | None = None
        self.reconciler: Reconciler | None = None
        self._fill_ns: dict[Key, int] = {}  # when a fill last moved each account (see `_forget_counted`)
        self._budgets = budgets
        self.shared: SharedBudgets | None = None  # shared venue budgets (with `budgets`)
        self.limits: ClusterLimits | None = None  # the global limits over the cluster
        self.on_scope_change: Callable[[], None] | None = None  # the owned set changed (books follow)
        self._scoped: set[Symbol] = set()  # the owned set as last told to `on_scope_change`

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> None:
        """Reach NATS, bind the buckets, read and follow the cluster's trading state, take the gate."""
        self._nc = await connect(self.settings.url, name=f"arb-worker-{self.worker}",
                                 on_down=self._on_down, on_up=self._on_up)
        try:
            js = self._nc.jetstream(timeout=2.0)
            self._buckets = await open_buckets(js, lease_s=self.settings.lease_s,
                                               replicas=self.settings.replicas)
            self._ledger = Ledger(self._buckets.ledger, self.worker)
            self._state = StateFollower(self._nc, self._buckets.state, self._apply_state)
            await self._state.start()
            await self._join_limits()
        except (nats.errors.Error, TimeoutError) as exc:
            await self._nc.close()
            raise ClusterError(f"cannot set up the cluster at {self.settings.url}: "
                               f"{exc or type(exc).__name__}") from None
        self.events = EventPublisher(js, self.worker, self._clock)
        self.events.start()
        self.connected = True
        self.risk.gate = self

    async def _join_limits(self) -> None:
        """Global limits and shared venue budgets: our figures out, our share of each venue's limits
        among the members there are now (before the engine sends anything)."""
        assert self._nc is not None and self._buckets is not None
        self.limits = ClusterLimits(self._buckets.leases, self.worker, self.risk, self._clock,
                                    self.settings.lease_s)
        await self.limits.publish()
        if self._budgets is not None:
            members = set(await read_prefix(self._buckets.leases, MEMBER)) | {self.worker}
            self.shared = SharedBudgets(self._nc, self.worker, self._budgets, self._clock,
                                         self.settings.lease_s)
            await self.shared.start(len(members))

    def attach(self, symbols: Iterable[Symbol], venues: Iterable[str],
               balance: Callable[[str, str], Decimal], access: VenueAccess | None = None) -> None:
        """Start sharding `symbols` and trading from an allocation of their assets on `venues`;
        `balance(venue, asset)` seeds an account the ledger does not have yet; with `access` (the
        engine's venues) orphaned orders and the ledger are reconciled."""
        assert self._buckets is not None and self._ledger is not None, "connect() first"
        symbol_list = sorted(set(symbols))
        self._by_text = {str(s): s for s in symbol_list}
        self._leases = Leases(self._buckets.leases, self.worker, self._by_text, self._clock,
                              on_change=self._on_lease)
        assets = sorted({a for s in symbol_list for a in (s.base, s.quote)})
        self.keys = [(venue, asset) for venue in sorted(venues) for asset in assets]
        self._balance = balance
        if access is not None:
            self._access = access
            self.takeover = Takeover(self.worker, access, self._live_members, self._orphans_found)
            self.reconciler = Reconciler(self.worker, self._buckets.leases, self._buckets.state, self._ledger,
                                         lambda: self.members, self.settings.lease_s,
                                         self._venue_balances if access.live else None,
                                         lambda: self.keys, self._clock, self._ledger_corrected)
            if access.live:  # what its journal's reconciliation found must be in the ledger first
                self.reconciler.request(block=True)
        self._loop = asyncio.get_running_loop().create_task(self._run(), name="cluster worker")

    async def stop(self) -> None:
        """Leave cleanly: settle fills, give the allocation and the leases back, close."""
        self._left = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):  # the client may swallow
                await asyncio.wait_for(self._loop, CLOSE_S)                 # a cancellation: bounded
        self.risk.gate = None
        if self.takeover is not None:
            await self.takeover.stop()
        if self._nc is None:
            return
        if self.reconciler is not None and self.connected:
            await self.reconciler.stop()
        if self.shared is not None:
            await self.shared.stop()
        if self.connected and self._ledger is not None:
            with contextlib.suppress(ClusterError, nats.errors.Error, TimeoutError):
                await self.allocation.settle(self._ledger)
                for key in self.keys:
                    spare = self.allocation.available(key)
                    if spare > ZERO:
                        self.allocation.held[key] -= spare
                        await self._ledger.give_back(*key, spare)
                if self._leases is not None:
                    await self._leases.leave()
        if self.events is not None:
            self._report_state()  # LEFT
            await self.events.flush()
            await self.events.stop()
        if self._state is not None:
            await self._state.stop()
        with contextlib.suppress(nats.errors.Error, TimeoutError):  # bounded: a stop never hangs on NATS
            await asyncio.wait_for(self._nc.close(), CLOSE_S)
        self._nc = None

    @property
    def state(self) -> WorkerState:
        if self._left:
            return WorkerState.LEFT
        if self.halted:
            return WorkerState.HALTED
        if not (self.connected and self.confirmed):
            return WorkerState.FAILED_CLOSED if self._loop is not None else WorkerState.STARTING
        return WorkerState.TRADING

    # ------------------------------------------------------------------ NATS connection

    async def _on_down(self) -> None:
        if self.connected and not self._left:
            log.warning("%s: NATS connection lost: no new trade until it is back and the allocation "
                        "is confirmed", self.worker)
        self.connected = False
        self.confirmed = False

    async def _on_up(self) -> None:
        log.info("%s: NATS connection back: confirming the allocation", self.worker)
        self.connected = True  # `confirmed` waits for the next successful tick

    # ------------------------------------------------------------------ the background loop

    async def _run(self) -> None:
        """Two loops, each once per tick: the leases on their own (renewing them must not wait behind
        a long ledger round: at 100 symbols a busy worker's rounds took longer than a lease's slack),
        then state, settlement, allocation and reconciliation once the members are known."""
        leases = asyncio.get_running_loop().create_task(self._run_leases(), name="cluster leases")
        try:
            await self._first_round.wait()
            await self._every_tick(self._ledger_round, "ledger")
        finally:
            leases.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await leases

    async def _run_leases(self) -> None:
        await self._every_tick(self._lease_round, "lease")

    async def _every_tick(self, round_: Callable[[], Awaitable[None]], what: str) -> None:
        while not self._left:
            began = time.monotonic()
            if self.connected:
                try:
                    await round_()
                except (ClusterError, nats.errors.Error, TimeoutError) as exc:
                    self.tick_errors += 1
                    self._failed.add(what)
                    self.confirmed = False
                    log.warning("%s: cluster %s round failed (%s): trading closed until one succeeds",
                                self.worker, what, exc or type(exc).__name__)
                else:
                    self._failed.discard(what)
            self._report_state()
            self._tell_scope()
            await asyncio.sleep(max(0.0, self.settings.tick_s - (time.monotonic() - began)))

    async def tick(self) -> None:
        """One round of each loop: leases, then state, settlement and allocation."""
        await self._lease_round()
        await self._ledger_round()

    async def _lease_round(self) -> None:
        """Our figures, heartbeat and leases, the peers' figures, the members and their budget share."""
        assert self._leases is not None and self._state is not None
        if self.limits is not None:  # before the heartbeat: a member's figures are never missing
            await self.limits.publish()
        await self._leases.tick()
        # the peers' figures first: a new member is never seen without them
        if self.limits is not None:
            day = await self.limits.refresh(self._leases.members)
            if day is not None and day != self._loss_day:  # once a day, whoever sees it first
                reason = self.limits.loss_text()
                if await self._state.halt_once(f"{LOSS_LATCH}{day}", reason, self.worker):
                    log.warning("%s: %s: cluster HALTED", self.worker, reason)
                self._loss_day = day
        self.members = self._leases.members
        if self.shared is not None:
            self.shared.set_members(len(self.members))
        self._first_round.set()

    async def _ledger_round(self) -> None:
        """The trading state re-read, fills settled (or the allocation confirmed), each account's
        share, reconciliation; confirms the allocation when it and the last lease round succeeded."""
        assert self._ledger is not None and self._state is not None and self._leases is not None
        await self._state.refresh()
        if not self.confirmed:
            await self._forget_counted()
            await self.allocation.confirm(self._ledger, self.keys)
        else:
            await self.allocation.settle(self._ledger)
        # the members as they are now, not as the lease loop last read them: a worker that joined
        # since (heartbeat, then its first allocation) would be taken for departed and its holding
        # reclaimed (seen: a new worker's share taken back again and again)
        assert self._buckets is not None
        members = sorted(set(await read_prefix(self._buckets.leases, MEMBER)) | {self.worker})
        # every account at once: one round trip or so per tick, not a few per account (with many
        # assets, one by one took longer than a lease on a busy worker, whose leases then expired)
        await all_of(self._share(key, members) for key in self.keys)
        await self._reconcile()
        if not self.confirmed and self.connected and not self._failed:
            self.confirmed = True
            log.info("%s: allocation confirmed; members %s; owns %d of %d symbols", self.worker,
                     self.members, len(self.owned), len(self._leases.symbols))

    async def _share(self, key: Key, members: list[str]) -> None:
        """Seed the account if new, reclaim what departed workers (not in `members`) held, move ours
        toward an equal share."""
        assert self._ledger is not None
        account, _ = await self._ledger.read(*key)
        if account is None:
            assert self._balance is not None
            funds = self._balance(*key)
            if await self._ledger.seed(*key, funds):
                log.info("%s: ledger account %s.%s seeded with %s", self.worker, *key, funds)
            account, _ = await self._ledger.read(*key)
            if account is None:
                return
        gone = {w for w in account.held if w not in members}
        if gone:
            freed = await self._ledger.reclaim(*key, gone)
            if self.reconciler is not None:  # left without a clean leave: its last fills are unsettled
                self.reconciler.request(block=False)
            log.info("%s: reclaimed %s of %s.%s held by departed %s", self.worker, freed, *key,
                     sorted(gone))
            account, _ = await self._ledger.read(*key)
            if account is None:
                return
        target = account.funds / max(1, len(members))
        await self.allocation.rebalance(self._ledger, key, target)

    # ------------------------------------------------------------------ reconciliation

    async def _reconcile(self) -> None:
        """Our quiet report, the pause, the reconciler's role; holdings re-read after a correction."""
        if self.reconciler is None or self._access is None or self._ledger is None:
            return
        assert self.takeover is not None and self._leases is not None
        in_flight, activity = self._access.activity()
        unsettled = sum(1 for v in self.allocation.pending.values() if v)
        if await self.reconciler.tick(in_flight, unsettled, len(self.takeover.pending), activity):
            await self.allocation.confirm(self._ledger, self.keys)
        self.takeover.last_holders = dict(self._leases.holders)

    def _live_members(self) -> list[str]:
        """The members as read by the tick in progress (a lease event comes in the middle of one)."""
        return self._leases.members if self._leases is not None else self.members

    async def _forget_counted(self) -> None:
        """Back after a loss: unsettled fills a reconciliation without us already put in the ledger."""
        if self.reconciler is None:
            return
        for key in await self.reconciler.counted(self.allocation.pending, self._fill_ns):
            log.warning("%s: %s.%s: %s of unsettled fills already in the ledger (reconciled with the venues "
                        "while this worker was away): not settled again", self.worker, *key,
                        self.allocation.pending[key])
            self.allocation.pending[key] = ZERO

    async def _venue_balances(self) -> dict[str, dict[str, AssetBalance]]:
        assert self._access is not None
        return {venue: await private.balances() for venue, private in self._access.privates.items()}

    def _orphans_found(self, symbol: Symbol, cancelled: list[Order], left: list[str]) -> None:
        detail = (f"{symbol}: cancelled {len(cancelled)} open orders of departed workers: "
                  + ", ".join(f"{o.venue} {o.client_order_id} {o.side.name} {o.remaining:f}@{o.price}"
                              for o in cancelled) + (f"; left {', '.join(left)}" if left else ""))
        log.warning("%s: %s", self.worker, detail)
        assert self._access is not None
        for venue in sorted({o.venue for o in cancelled}):
            self._access.record(ReconcileEvent.ORPHANS_CANCELLED.name, venue, detail)
        if self.events is not None:
            self.events.emit(EventKind.RECONCILE, {
                "what": ReconcileEvent.ORPHANS_CANCELLED.name, "symbol": str(symbol),
                "cancelled": [{"venue": o.venue, "client_order_id": o.client_order_id} for o in cancelled]})

    def _ledger_corrected(self, diffs: dict[str, Decimal]) -> None:
        moved = {k: f"{v:+f}" for k, v in sorted(diffs.items()) if v}
        if moved and self._access is not None:
            self._access.record(ReconcileEvent.LEDGER_CORRECTED.name, "",
                                "ledger funds set to the venues' balances: "
                                + ", ".join(f"{k} {v}" for k, v in moved.items()))
        if self.events is not None:
            self.events.emit(EventKind.RECONCILE, {"what": ReconcileEvent.LEDGER_CORRECTED.name,
                                                   "diffs": moved})

    # ------------------------------------------------------------------ state and leases

    def _report_state(self) -> None:
        """A WORKER event when this worker's state changed since the last tick (`top --cluster`)."""
        state = self.state
        if state is not self._reported and self.events is not None:
            self.events.emit(EventKind.WORKER, {"state": state.name, "owned": sorted(map(str, self.owned))})
        self._reported = state

    def _apply_state(self, record: StateRecord) -> None:
        halted = record.state is TradingState.HALTED
        if halted != self.halted and self.events is not None:
            self.events.emit(EventKind.STATE, {"state": record.state.name, "reason": record.reason})
        self.halted = halted
        risk = self.risk
        if halted and risk.state is not TradingState.HALTED:
            risk.apply_external(TradingState.HALTED, CLUSTER_REASON + (record.reason or "halted"))
        elif not halted and risk.state is TradingState.HALTED and risk.reason.startswith(CLUSTER_REASON):
            if risk.also:  # the engine halted on its own meanwhile (e.g. its start's reconciliation): kept
                risk.apply_external(TradingState.HALTED, risk.also)
            else:
                risk.apply_external(TradingState.ACTIVE, "")

    def _on_lease(self, symbol: str, event: LeaseEvent) -> None:
        parsed = self._by_text[symbol]
        if event is LeaseEvent.ACQUIRED:
            self.owned.add(parsed)
            if self.takeover is not None:
                self.takeover.acquired(parsed)
        else:
            self.owned.discard(parsed)
            if self.takeover is not None:
                self.takeover.lost(parsed)
        self.lease_events.append((self._clock(), symbol, event))
        if self.events is not None:
            self.events.emit(EventKind.LEASE, {"symbol": symbol, "event": event.name})

    # ------------------------------------------------------------------ BookScope

    def wants(self, symbol: Symbol) -> bool:
        return symbol in self.owned

    def _tell_scope(self) -> None:
        """Once per tick, if the owned set changed: the engine's books follow it."""
        if self.owned != self._scoped and not self._left:
            self._scoped = set(self.owned)
            if self.on_scope_change is not None:
                self.on_scope_change()

    # ------------------------------------------------------------------ TradeGate (hot path)

    def _refuse(self, reason: GateReason) -> GateReason:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        return reason

    def admit(self, opp: Opportunity, quote: Decimal, base: Decimal) -> GateReason | None:
        if not self.connected:
            return self._refuse(GateReason.NATS_DOWN)
        if not self.confirmed:
            return self._refuse(GateReason.UNCONFIRMED)
        if self.halted:
            return self._refuse(GateReason.HALTED)
        if opp.symbol not in self.owned:
            return self._refuse(GateReason.NOT_OWNED)
        if self.reconciler is not None and (self.reconciler.paused or self.reconciler.blocking):
            return self._refuse(GateReason.RECONCILING)
        if self.takeover is not None and opp.symbol in self.takeover.pending:
            return self._refuse(GateReason.ORPHANS)
        if self.limits is not None and (over := self.limits.check(opp, base)) is not None:
            return self._refuse(over)
        needs = [((opp.buy_venue, opp.symbol.quote), quote), ((opp.sell_venue, opp.symbol.base), base)]
        if not self.allocation.take(opp.id, needs):
            return self._refuse(GateReason.NO_ALLOCATION)
        if self.events is not None:
            self.events.emit(EventKind.OPPORTUNITY, {
                "id": opp.id, "symbol": str(opp.symbol), "buy": opp.buy_venue, "sell": opp.sell_venue,
                "quantity": str(base), "net_bps": opp.net_bps})
        return None

    def release(self, opportunity_id: str) -> None:
        self.allocation.release(opportunity_id)

    def on_balance_change(self, venue: str, asset: str, delta: Decimal) -> None:
        self.allocation.on_fill((venue, asset), delta)
        self._fill_ns[(venue, asset)] = self._clock()
        if self.events is not None:
            self.events.emit(EventKind.BALANCE, {"venue": venue, "asset": asset, "delta": str(delta)})

    def on_pnl(self, amount: Decimal) -> None:
        if self.events is not None:
            self.events.emit(EventKind.PNL, {"amount": str(amount)})

    # ------------------------------------------------------------------ reporting

    def summary_text(self) -> str:
        """The worker's end-of-run lines (run's summary)."""
        return "\n".join(f"  {name:<22} {value}" for name, value in self.summary().items())

    def summary(self) -> Mapping[str, object]:
        return {
            "worker": self.worker, "state": self.state.name, "members": list(self.members),
            "owned": sorted(map(str, self.owned)),
            "allocation": {f"{v}.{a}": f"{self.allocation.held.get((v, a), ZERO).normalize():f}"
                           for v, a in self.keys},
            "refused": {r.name: n for r, n in self.refused.items()},
            "cluster_figures": self.limits.summary() if self.limits is not None else {},
            "venue_budgets": self.shared.summary() if self.shared is not None else {},
            "events_published": self.events.published if self.events else 0,
            "events_dropped": self.events.dropped + self.events.unsent if self.events else 0,
            "tick_errors": self.tick_errors,
            "reconciled": ({"orphans_cancelled": self.takeover.cancelled if self.takeover else 0,
                            "ledger_runs": self.reconciler.runs, "gave_up": self.reconciler.gave_up,
                            "last_run": self.reconciler.result.gen}
                           if self.reconciler is not None else {}),
        }
