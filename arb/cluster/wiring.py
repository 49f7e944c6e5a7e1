"""How `arb-engine run --cluster` joins an engine to the cluster (the runner calls these two).

`join` before the engine starts (so a HALTED cluster holds the engine HALTED from its first
moment, nothing trades before the allocation is confirmed, and the engine starts with no books:
the worker is its book scope, books follow the leases), `attach` once it has started and knows its
symbols and balances.
"""

from __future__ import annotations

from arb.cluster.conn import ClusterSettings
from arb.cluster.worker import ClusterWorker
from arb.engine.engine import Engine


async def join(settings: ClusterSettings, engine: Engine) -> ClusterWorker:
    """Connect a worker for `engine` (`ClusterError` when NATS cannot be reached)."""
    worker = ClusterWorker(settings.check(), engine.risk, engine.clock_ns)
    await worker.connect()
    engine.universe.scope = worker  # books only for the symbols this worker holds a lease on
    worker.on_scope_change = engine.universe.rescope
    return worker


def attach(worker: ClusterWorker, engine: Engine) -> None:
    """Shard the engine's symbols and trade from an allocation of their assets on its venues."""
    symbols = engine.universe.symbols() or engine.config.symbol_list
    worker.attach(symbols, engine.config.enabled_venues, engine.risk.available)
