"""Symbol ownership by lease against a real JetStream server: every symbol has exactly one owner,
a worker that stops renewing loses its symbols to the others within a lease period, and shards
rebalance when a worker joins."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from nats.aio.client import Client

from arb.cluster.conn import ClusterSettings, connect, open_buckets
from arb.cluster.leases import LeaseEvent, Leases, owner_of
from arb.cluster.ledger import Ledger
from arb.cluster.server import NatsServer
from arb.cluster.worker import ClusterWorker
from tests.cluster.test_gate import BTC, ETH, _confirmed, _risk

LEASE_S = 2.0
TICK_S = LEASE_S / 5
SYMBOLS = [f"S{i}/USDT" for i in range(12)]


async def _worker(url: str, name: str) -> tuple[Client, Leases]:
    nc = await connect(url, name=name)
    buckets = await open_buckets(nc.jetstream(), lease_s=LEASE_S)
    return nc, Leases(buckets.leases, name, SYMBOLS, time.time_ns)


async def _settle(workers: list[Leases], rounds: int = 12) -> None:
    for _ in range(rounds):
        for leases in workers:
            await leases.tick()
        owners = [w.worker for w in workers for s in w.owned]
        if len(owners) == len(SYMBOLS) and all(
                owner_of(s, [w.worker for w in workers]) in {w.worker for w in workers if s in w.owned}
                for s in SYMBOLS):
            return
        await asyncio.sleep(TICK_S)


async def test_each_symbol_has_one_owner_and_a_dead_workers_symbols_move_within_a_lease(
        nats_server: NatsServer) -> None:
    conns, workers = zip(*[await _worker(nats_server.url, f"w{i}") for i in range(3)], strict=True)
    try:
        live = list(workers)
        await _settle(live)
        owned = [s for w in live for s in w.owned]
        assert sorted(owned) == sorted(SYMBOLS)  # each once: no symbol owned twice, none unowned
        for w in live:
            assert all(owner_of(s, ["w0", "w1", "w2"]) == w.worker for s in w.owned)
            assert w.members == ["w0", "w1", "w2"]
        assert all(w.owned for w in live), "a worker got no shard"
        # w2 dies: it stops renewing (no clean leave); the others keep ticking
        dead = live.pop()
        orphans = set(dead.owned)
        died = time.monotonic()
        took_over = None
        while time.monotonic() - died < 3 * LEASE_S:
            for w in live:
                await w.tick()
            if orphans <= {s for w in live for s in w.owned}:
                took_over = time.monotonic() - died
                break
            await asyncio.sleep(TICK_S)
        assert took_over is not None, f"{orphans} not taken over"
        # expiry 3/5 of a lease after the last renewal, taken at the next tick after: within a lease
        assert took_over <= LEASE_S, took_over
        assert sorted(s for w in live for s in w.owned) == sorted(SYMBOLS)
        assert all(w.members == ["w0", "w1"] for w in live)
        # a new worker joins: the shards rebalance, symbols are released to it, still one owner each
        nc3, joined = await _worker(nats_server.url, "w3")
        conns = (*conns, nc3)
        live.append(joined)
        await _settle(live)
        assert sorted(s for w in live for s in w.owned) == sorted(SYMBOLS)
        assert joined.owned and all(owner_of(s, ["w0", "w1", "w3"]) == "w3" for s in joined.owned)
        # a clean leave hands over at once (no lease period to wait)
        await joined.leave()
        live.pop()
        for w in live:
            await w.tick()
        assert sorted(s for w in live for s in w.owned) == sorted(SYMBOLS)
    finally:
        for nc in conns:
            await nc.close()


async def test_a_slow_ledger_round_does_not_delay_lease_renewals(
        nats_server: NatsServer, tmp_path: Path) -> None:
    """Settling the ledger takes two lease periods on this worker (a busy worker with many accounts,
    a slow NATS): its leases are still renewed every tick by their own loop, none is lost."""
    lease_s = 1.0
    worker = ClusterWorker(ClusterSettings(nats_server.url, "w1", lease_s=lease_s), _risk(tmp_path))
    settle = worker.allocation.settle

    async def slow_settle(ledger: Ledger) -> None:
        await asyncio.sleep(2 * lease_s)
        await settle(ledger)

    try:
        await worker.connect()
        worker.attach([BTC, ETH], ["binance", "mexc"], worker.risk.available)
        await _confirmed(worker)
        worker.allocation.settle = slow_settle  # type: ignore[method-assign]
        began = time.monotonic()
        while time.monotonic() - began < 4 * lease_s:  # two slow rounds at least
            await asyncio.sleep(0.05)
        assert worker.owned == {BTC, ETH}
        assert [e for _, _, e in worker.lease_events] == [LeaseEvent.ACQUIRED] * 2, worker.lease_events
    finally:
        await worker.stop()
