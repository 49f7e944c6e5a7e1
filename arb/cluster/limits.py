"""Global limits over the whole cluster: the day's realised loss, the unhedged notional and the open
opportunities of the `[risk]` section bound the sum over every worker, not each one alone.

Each worker writes its own figures to ``figures.<worker>`` in the leases bucket every tick (so they
expire with its heartbeat when it dies) and reads the others'. The gate (`ClusterLimits.check`, on
the hot path: no I/O) adds the peers' last known figures to our live ones and refuses what would
take the sum past a limit. Fail closed: a live member whose figures are missing or older than a
lease period refuses everything until they are fresh again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec
from nats.js.kv import KeyValue

from arb.cluster.leases import read_prefix
from arb.cluster.reasons import GateReason
from arb.engine.risk import DAY_NS, RiskManager
from arb.model import ZERO, Opportunity

log = logging.getLogger(__name__)

FIGURES = "figures."
NS = 1_000_000_000


class Figures(msgspec.Struct, frozen=True):
    """One worker's share of the global limits, as of `ts_ns` (its wall clock)."""

    worker: str
    ts_ns: int
    day: int  # the UTC day its realised PnL is of
    realised_pnl: Decimal
    unhedged_notional: Decimal
    open_opportunities: int


async def read_figures(kv: KeyValue, reader: str = "") -> dict[str, Figures]:
    """Every worker's last figures in the leases bucket (expired ones are gone)."""
    found: dict[str, Figures] = {}
    for name, (raw, _) in (await read_prefix(kv, FIGURES)).items():
        try:
            found[name] = msgspec.json.decode(raw, type=Figures)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("%s: unreadable figures of %s: %r", reader or "status", name, raw[:80])
    return found


def figures_text(figures: Figures) -> dict[str, str]:
    """JSON-ready figures (`status --cluster`)."""
    return {"open_opportunities": str(figures.open_opportunities),
            "unhedged_notional": f"{figures.unhedged_notional.normalize():f}",
            "realised_pnl_today": f"{figures.realised_pnl.normalize():f}"}


class ClusterLimits:
    """Parameters
    ----------
    kv:
        The leases bucket (entries expire with the heartbeats).
    worker:
        This worker's name.
    risk:
        Our risk manager: its limits, and our live figures.
    lease_s:
        Peers' figures older than this fail closed.
    """

    def __init__(self, kv: KeyValue, worker: str, risk: RiskManager, clock_ns: Callable[[], int],
                 lease_s: float) -> None:
        self.kv = kv
        self.worker = worker
        self.risk = risk
        self._clock = clock_ns
        self._lease_ns = int(lease_s * NS)
        self.peers: dict[str, Figures] = {}
        # the peers' sums, and until when they are fresh enough to trade on (0: not read yet)
        self.peer_pnl = ZERO
        self.peer_unhedged = ZERO
        self.peer_open = 0
        self.fresh_until = 0
        self.stale: list[str] = []  # members whose figures are missing or stale, as last read
        cfg = risk.config
        self._max_unhedged = Decimal(str(cfg.max_unhedged_notional))
        self._max_loss = Decimal(str(cfg.max_daily_loss))
        # what the hot path compares our live figures with: the limits less the peers' figures
        self._open_room = cfg.max_open_opportunities - 1
        self._unhedged_room = self._max_unhedged
        self._pnl_floor = -self._max_loss

    def mine(self) -> Figures:
        risk, now = self.risk, self._clock()
        return Figures(self.worker, now, now // DAY_NS, risk.pnl_today(), risk.unhedged_notional,
                       risk.open_opportunities)

    async def publish(self) -> None:
        await self.kv.put(FIGURES + self.worker, msgspec.json.encode(self.mine()))

    async def refresh(self, members: Iterable[str]) -> int | None:
        """Read every worker's figures; the peers' sums count the live `members` but us. Returns the
        UTC day (days since the epoch) if the cluster's realised loss today has reached
        `max_daily_loss` with every member's figures fresh (the cluster must HALT, as one engine does
        at its own limit), else None."""
        found = await read_figures(self.kv, self.worker)
        now = self._clock()
        today = now // DAY_NS
        peers = {m: found.get(m) for m in members if m != self.worker}
        self.stale = sorted(m for m, f in peers.items() if f is None or now - f.ts_ns > self._lease_ns)
        live = {m: f for m, f in peers.items() if f is not None}
        self.peers = live
        self.peer_pnl = sum((f.realised_pnl for f in live.values() if f.day == today), ZERO)
        self.peer_unhedged = sum((f.unhedged_notional for f in live.values()), ZERO)
        self.peer_open = sum(f.open_opportunities for f in live.values())
        self._open_room = self.risk.config.max_open_opportunities - 1 - self.peer_open
        self._unhedged_room = self._max_unhedged - self.peer_unhedged
        self._pnl_floor = -self._max_loss - self.peer_pnl
        oldest = min((f.ts_ns for f in live.values()), default=None)
        self.fresh_until = 0 if self.stale else (now + 10 * self._lease_ns if oldest is None
                                                 else oldest + self._lease_ns)
        if self.stale or self.risk.pnl_today() + self.peer_pnl > -self._max_loss:
            return None
        return today

    def loss_text(self) -> str:
        loss = -(self.risk.pnl_today() + self.peer_pnl)
        return (f"cluster daily realised loss {loss.normalize():f} reached the limit "
                f"{self._max_loss.normalize():f}")

    def check(self, opp: Opportunity, base: Decimal) -> GateReason | None:
        """Would admitting `opp` (selling `base`) take the cluster past a global limit? Which one (a
        CLUSTER_* reason) if so. (hot path)"""
        if self._clock() >= self.fresh_until:
            return GateReason.CLUSTER_PEERS_STALE
        risk = self.risk
        if risk.open_opportunities > self._open_room:  # ours + the peers' + this one > the limit
            return GateReason.CLUSTER_OPEN_OPPORTUNITIES
        if risk.unhedged_notional + base * Decimal(repr(opp.buy_worst)) > self._unhedged_room:
            return GateReason.CLUSTER_UNHEDGED_NOTIONAL
        if risk.pnl_today() <= self._pnl_floor:  # ours + the peers' loss reached the limit
            return GateReason.CLUSTER_DAILY_LOSS
        return None

    def summary(self) -> dict[str, object]:
        return {"open_opportunities": self.risk.open_opportunities + self.peer_open,
                "unhedged_notional": f"{(self.risk.unhedged_notional + self.peer_unhedged).normalize():f}",
                "realised_pnl_today": f"{(self.risk.pnl_today() + self.peer_pnl).normalize():f}",
                "stale_peers": list(self.stale)}
