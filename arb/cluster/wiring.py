"""How `arb-engine run --cluster` joins an engine to the cluster (the runner calls these two).

`join` before the engine starts (so a HALTED cluster holds the engine HALTED from its first
moment, nothing trades before the allocation is confirmed, and the engine starts with no books:
the worker is its book scope, books follow the leases), `attach` once it has started and knows its
symbols and balances.
"""

from __future__ import annotations

from arb.cluster.conn import ClusterSettings
from arb.cluster.orphans import VenueAccess
from arb.cluster.tap import JournalTap
from arb.cluster.worker import ClusterWorker
from arb.engine.engine import Engine


async def join(settings: ClusterSettings, engine: Engine) -> ClusterWorker:
    """Connect a worker for `engine` (`ClusterError` when NATS cannot be reached)."""
    worker = ClusterWorker(settings.check(), engine.risk, engine.clock_ns, engine.budgets)
    await worker.connect()
    if worker.events is not None:  # what the journal records goes to the event stream too
        engine.journal.observer = JournalTap(worker.events)
    engine.universe.scope = worker  # books only for the symbols this worker holds a lease on
    worker.on_scope_change = engine.universe.rescope
    return worker


def attach(worker: ClusterWorker, engine: Engine) -> None:
    """Shard the engine's symbols and trade from an allocation of their assets on its venues."""
    symbols = engine.universe.symbols() or engine.config.symbol_list
    access = VenueAccess(
        privates=engine.privates, rules={name: spec.client_id for name, spec in engine.specs.items()},
        listed=lambda venue, symbol: (venue, symbol) in engine.symbols,
        tracked=lambda cid: engine.tracker.get(cid) is not None, activity=lambda: engine.activity,
        record=lambda kind, venue, text: engine.journal.record_risk_event(engine.clock_ns(), kind, venue,
                                                                          text),
        live=engine.live)
    worker.attach(symbols, engine.config.enabled_venues, engine.risk.available, access)
