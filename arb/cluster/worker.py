"""One engine's member of the cluster: `ClusterWorker` is the engine's `TradeGate`.

Start-up (`arb.cluster.wiring` does it for `run --cluster`): `connect()` before the engine starts
(NATS reachable, buckets bound, the cluster's trading state read and applied: a worker that starts
while the cluster is HALTED starts HALTED), then `attach()` once the engine knows its symbols and
balances. A background loop, once per tick (a fifth of a lease):

1. heartbeat and leases (`Leases.tick`): this worker's shard of the symbols;
2. the trading state re-read (a missed broadcast is caught here);
3. after a start or a NATS loss: the allocation confirmed from the ledger; otherwise fills settled;
4. each account seeded if new, holdings of departed workers reclaimed, our holding moved toward an
   equal share of the funds.

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
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

import nats.errors
from nats.aio.client import Client

from arb.cluster.allocation import Allocation, Key
from arb.cluster.conn import Buckets, ClusterError, ClusterSettings, connect, open_buckets
from arb.cluster.events import EventKind, EventPublisher
from arb.cluster.leases import LeaseEvent, Leases, all_of
from arb.cluster.ledger import Ledger
from arb.cluster.state import StateFollower, StateRecord
from arb.engine.risk import RiskManager, TradingState
from arb.model import ZERO, Opportunity, Symbol

log = logging.getLogger(__name__)

CLOSE_S = 5.0
CLUSTER_REASON = "cluster: "  # prefix of the reason of a HALT that came from the cluster


class GateReason(enum.IntEnum):
    """Why the worker refused an opportunity (the risk manager counts the text)."""

    NATS_DOWN = 1
    UNCONFIRMED = 2
    HALTED = 3
    NOT_OWNED = 4
    NO_ALLOCATION = 5


REASON_TEXT = {
    GateReason.NATS_DOWN: "cluster unreachable",
    GateReason.UNCONFIRMED: "cluster allocation unconfirmed",
    GateReason.HALTED: "cluster halted",
    GateReason.NOT_OWNED: "symbol owned by another worker",
    GateReason.NO_ALLOCATION: "cluster allocation too small",
}


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
    """

    def __init__(self, settings: ClusterSettings, risk: RiskManager,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
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
        self.events: EventPublisher | None = None
        self._loop: asyncio.Task[None] | None = None
        self._balance: Callable[[str, str], Decimal] | None = None
        self._by_text: dict[str, Symbol] = {}
        self._left = False
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
        except (nats.errors.Error, TimeoutError) as exc:
            await self._nc.close()
            raise ClusterError(f"cannot set up the cluster at {self.settings.url}: "
                               f"{exc or type(exc).__name__}") from None
        self.events = EventPublisher(js, self.worker, self._clock)
        self.events.start()
        self.connected = True
        self.risk.gate = self

    def attach(self, symbols: Iterable[Symbol], venues: Iterable[str],
               balance: Callable[[str, str], Decimal]) -> None:
        """Start sharding `symbols` and trading from an allocation of their assets on `venues`;
        `balance(venue, asset)` seeds an account the ledger does not have yet."""
        assert self._buckets is not None, "connect() first"
        symbol_list = sorted(set(symbols))
        self._by_text = {str(s): s for s in symbol_list}
        self._leases = Leases(self._buckets.leases, self.worker, self._by_text, self._clock,
                              on_change=self._on_lease)
        assets = sorted({a for s in symbol_list for a in (s.base, s.quote)})
        self.keys = [(venue, asset) for venue in sorted(venues) for asset in assets]
        self._balance = balance
        self._loop = asyncio.get_running_loop().create_task(self._run(), name="cluster worker")

    async def stop(self) -> None:
        """Leave cleanly: settle fills, give the allocation and the leases back, close."""
        self._left = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):  # the client may swallow
                await asyncio.wait_for(self._loop, CLOSE_S)                 # a cancellation: bounded
        self.risk.gate = None
        if self._nc is None:
            return
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
        while not self._left:
            began = time.monotonic()
            if self.connected:
                try:
                    await self.tick()
                except (ClusterError, nats.errors.Error, TimeoutError) as exc:
                    self.tick_errors += 1
                    self.confirmed = False
                    log.warning("%s: cluster tick failed (%s): trading closed until one succeeds",
                                self.worker, exc or type(exc).__name__)
            self._tell_scope()
            await asyncio.sleep(max(0.0, self.settings.tick_s - (time.monotonic() - began)))

    async def tick(self) -> None:
        """One round of leases, state, settlement and allocation (the loop calls it every tick)."""
        assert self._leases is not None and self._ledger is not None and self._state is not None
        await self._leases.tick()
        self.members = self._leases.members
        await self._state.refresh()
        if not self.confirmed:
            await self.allocation.confirm(self._ledger, self.keys)
        else:
            await self.allocation.settle(self._ledger)
        # every account at once: one round trip or so per tick, not a few per account (with many
        # assets, one by one took longer than a lease on a busy worker, whose leases then expired)
        await all_of(self._share(key) for key in self.keys)
        if not self.confirmed and self.connected:
            self.confirmed = True
            log.info("%s: allocation confirmed; members %s; owns %d of %d symbols", self.worker,
                     self.members, len(self.owned), len(self._leases.symbols))

    async def _share(self, key: Key) -> None:
        """Seed the account if new, reclaim what departed workers held, move ours toward an equal share."""
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
        gone = {w for w in account.held if w not in self.members}
        if gone:
            freed = await self._ledger.reclaim(*key, gone)
            log.info("%s: reclaimed %s of %s.%s held by departed %s", self.worker, freed, *key,
                     sorted(gone))
            account, _ = await self._ledger.read(*key)
            if account is None:
                return
        target = account.funds / max(1, len(self.members))
        await self.allocation.rebalance(self._ledger, key, target)

    # ------------------------------------------------------------------ state and leases

    def _apply_state(self, record: StateRecord) -> None:
        halted = record.state is TradingState.HALTED
        if halted != self.halted and self.events is not None:
            self.events.emit(EventKind.STATE, {"state": record.state.name, "reason": record.reason})
        self.halted = halted
        risk = self.risk
        if halted and risk.state is not TradingState.HALTED:
            risk.apply_external(TradingState.HALTED, CLUSTER_REASON + (record.reason or "halted"))
        elif not halted and risk.state is TradingState.HALTED and risk.reason.startswith(CLUSTER_REASON):
            risk.apply_external(TradingState.ACTIVE, "")

    def _on_lease(self, symbol: str, event: LeaseEvent) -> None:
        parsed = self._by_text[symbol]
        if event is LeaseEvent.ACQUIRED:
            self.owned.add(parsed)
        else:
            self.owned.discard(parsed)
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

    def _refuse(self, reason: GateReason) -> str:
        self.refused[reason] = self.refused.get(reason, 0) + 1
        return REASON_TEXT[reason]

    def admit(self, opp: Opportunity, quote: Decimal, base: Decimal) -> str:
        if not self.connected:
            return self._refuse(GateReason.NATS_DOWN)
        if not self.confirmed:
            return self._refuse(GateReason.UNCONFIRMED)
        if self.halted:
            return self._refuse(GateReason.HALTED)
        if opp.symbol not in self.owned:
            return self._refuse(GateReason.NOT_OWNED)
        needs = [((opp.buy_venue, opp.symbol.quote), quote), ((opp.sell_venue, opp.symbol.base), base)]
        if not self.allocation.take(opp.id, needs):
            return self._refuse(GateReason.NO_ALLOCATION)
        if self.events is not None:
            self.events.emit(EventKind.OPPORTUNITY, {
                "id": opp.id, "symbol": str(opp.symbol), "buy": opp.buy_venue, "sell": opp.sell_venue,
                "quantity": str(base), "net_bps": opp.net_bps})
        return ""

    def release(self, opportunity_id: str) -> None:
        self.allocation.release(opportunity_id)

    def on_balance_change(self, venue: str, asset: str, delta: Decimal) -> None:
        self.allocation.on_fill((venue, asset), delta)
        if self.events is not None:
            self.events.emit(EventKind.FILL, {"venue": venue, "asset": asset, "delta": str(delta)})

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
            "events_published": self.events.published if self.events else 0,
            "tick_errors": self.tick_errors,
        }
