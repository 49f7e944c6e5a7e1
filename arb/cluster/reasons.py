"""Why a cluster worker's gate refused an opportunity: `ClusterWorker.admit`, the engine's
`TradeGate`, answers with a `GateReason` member (its `text` is what people read: the risk manager's
refusals in `/status`, the `arb_gate` metric; its name is the worker summary's key).

One IntEnum for every refusal, the global limits' (`ClusterLimits.check`, the CLUSTER_* members)
included: the risk manager counts the gate's refusals by member in one dict, where members of two
IntEnums with the same value would be one key.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class GateReason(enum.IntEnum):
    NATS_DOWN = 1
    UNCONFIRMED = 2
    HALTED = 3
    NOT_OWNED = 4
    NO_ALLOCATION = 5
    ORPHANS = 6  # the symbol's previous owner's open orders are not reconciled yet
    RECONCILING = 7  # the ledger is being reconciled with the venues (or this worker awaits it)
    # the global limits over the cluster (`arb.cluster.limits`)
    CLUSTER_OPEN_OPPORTUNITIES = 8
    CLUSTER_UNHEDGED_NOTIONAL = 9
    CLUSTER_DAILY_LOSS = 10
    CLUSTER_PEERS_STALE = 11  # a live member's figures are missing or older than a lease

    @property
    def text(self) -> str:
        return REASON_TEXT[self]


REASON_TEXT: Mapping[GateReason, str] = {
    GateReason.NATS_DOWN: "cluster unreachable",
    GateReason.UNCONFIRMED: "cluster allocation unconfirmed",
    GateReason.HALTED: "cluster halted",
    GateReason.NOT_OWNED: "symbol owned by another worker",
    GateReason.NO_ALLOCATION: "cluster allocation too small",
    GateReason.ORPHANS: "previous owner's orders not reconciled",
    GateReason.RECONCILING: "cluster ledger reconciling",
    GateReason.CLUSTER_OPEN_OPPORTUNITIES: "cluster limit: max open opportunities",
    GateReason.CLUSTER_UNHEDGED_NOTIONAL: "cluster limit: max unhedged notional",
    GateReason.CLUSTER_DAILY_LOSS: "cluster limit: max daily loss",
    GateReason.CLUSTER_PEERS_STALE: "cluster limit: a worker's figures are stale",
}
