"""Cluster mode on a real nats-server (from the dev install), on 127.0.0.1.

- ledger compare-and-set: one `reserve` round trip, alone and with 4 workers racing on one account;
- allocation refill: a fill spends part of a worker's allocation; the time from the spend until a
  background round (`settle` + `rebalance`) has brought the allocation back to its share (add up to
  one tick, a fifth of the lease, for the round to start);
- the hot path: `ClusterWorker.admit` + `release` per opportunity (no NATS on it), with the global
  limits over the cluster (the peers' last figures plus ours) and, as the baseline, without them;
- lease failover: a worker stops renewing (as after kill -9); the time until the others own all its
  symbols, against the lease period;
- 1 vs 2 workers, frames/s processed in total (issue #14: >= 1.7x): 3 venues x 100 symbols. A
  pusher (`_shardpush.py`, its own process) serves every venue's depth diffs over loopback in the
  venues' wire formats, pre-encoded, as fast as each connection drains them, and only the books each
  connection subscribed. Workers (`_cluster_worker.py`, one process each, pinned to a CPU) are the
  engine as `run --cluster` wires it (real connectors, BookStore, detector; paper) on a real
  nats-server; the leases decide which books each streams, and the run starts once every book of
  every worker is SYNCED. Frames/s = all frames the workers received / the time from the push until
  the last worker had all of its books' frames (each frame is decoded, applied and evaluated on
  receipt). 1 worker: worker on CPU 0, pusher on CPU 1 (the per-worker ceiling); 2 workers: one on
  each CPU and the pusher (and nats-server, idle) sharing both: on this 2-core machine the second
  worker competes with the pusher, so the ratio is a floor of what two machines would give. The
  configurations alternate, 5 rounds (``ARB_BENCH_ROUNDS``), best of each (the machine is shared:
  the table gives every run and the load average). The lease is 30 s there: a worker at its
  ceiling answers NATS late, and at a 3 s lease a tick can outlast the leases' 1.8 s time to live
  on a loaded machine (the table counts lease changes during the push: 0 expected; it also gives the
  worker's event-loop lag, the engine's LoopLagMonitor at 10 ms, and its longest cluster tick during
  the push; ``ARB_BENCH_LEASE_S=3 ARB_BENCH_WORKERS=1`` runs the 1-worker case at the default lease).
  The books one worker sustains are its ceiling over 10 frames/s a book (the venues' 100 ms depth
  streams).
  ``python perf/bench_cluster.py shards`` runs only this part.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, verdict
from _shard_bench import shard_throughput

from arb.cluster.allocation import Allocation
from arb.cluster.conn import ClusterSettings, connect, open_buckets
from arb.cluster.leases import Leases
from arb.cluster.ledger import Ledger
from arb.cluster.server import NatsServer
from arb.cluster.worker import ClusterWorker
from arb.config import default_config
from arb.engine.risk import RiskManager
from arb.model import Opportunity, Symbol

ROUNDS = 300
RACERS = 4
LEASE_S = 2.0
FAILOVERS = 5
SYMBOLS = [f"S{i}/USDT" for i in range(30)]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def ledger_round_trips(url: str) -> tuple[list[float], list[float]]:
    conns = [await connect(url, name=f"b{i}") for i in range(RACERS)]
    try:
        ledgers = [Ledger((await open_buckets(nc.jetstream(), lease_s=LEASE_S)).ledger, f"b{i}")
                   for i, nc in enumerate(conns)]
        await ledgers[0].seed("bench", "USDT", Decimal(10) ** 12)
        alone = []
        for _ in range(ROUNDS):
            began = time.perf_counter()
            await ledgers[0].reserve("bench", "USDT", Decimal(1))
            alone.append(time.perf_counter() - began)
        raced: list[float] = []

        async def racer(ledger: Ledger) -> None:
            for _ in range(ROUNDS // RACERS):
                began = time.perf_counter()
                await ledger.reserve("bench", "USDT", Decimal(1))
                raced.append(time.perf_counter() - began)

        await asyncio.gather(*(racer(ledger) for ledger in ledgers))
        return alone, raced
    finally:
        for nc in conns:
            await nc.close()


async def refill_latency(url: str) -> list[float]:
    nc = await connect(url, name="refill")
    try:
        ledger = Ledger((await open_buckets(nc.jetstream(), lease_s=LEASE_S)).ledger, "r")
        await ledger.seed("bench", "BTC", Decimal(100))
        allocation = Allocation()
        key = ("bench", "BTC")
        target = Decimal(50)
        await allocation.rebalance(ledger, key, target)
        samples = []
        for _ in range(ROUNDS // 2):
            allocation.on_fill(key, Decimal(-10))  # a trade spent a fifth of the share
            began = time.perf_counter()
            await allocation.settle(ledger)
            account, _ = await ledger.read(*key)
            assert account is not None
            await allocation.rebalance(ledger, key, account.funds / 2)
            samples.append(time.perf_counter() - began)
            allocation.on_fill(key, Decimal(10))  # and the other leg brought it back
            await allocation.settle(ledger)
            await allocation.rebalance(ledger, key, target)
        return samples
    finally:
        await nc.close()


async def admit_ns(url: str, tmp: Path, limits: bool) -> float:
    config = default_config(symbols=["BTC/USDT"], venues=["binance", "mexc"])
    risk = RiskManager(config.risk, tmp / "state.json", time.time_ns)
    worker = ClusterWorker(ClusterSettings(url, "hot", lease_s=LEASE_S), risk)
    await worker.connect()
    try:
        btc = Symbol("BTC", "USDT")
        worker.confirmed, worker.owned = True, {btc}
        if not limits:
            worker.limits = None
        elif worker.limits is not None:  # fresh figures (a peer's too), as after a tick
            await worker.limits.publish()
            await worker.limits.refresh([worker.worker])
        worker.allocation.held.update({("binance", "USDT"): Decimal(10**9), ("mexc", "BTC"): Decimal(10**6)})
        opps = [Opportunity(f"o{i}", btc, "binance", "mexc", 0.01, 100.0, 101.0, 100.0, 101.0, 1.0, 0.5,
                            100.0, 50.0) for i in range(20_000)]
        quote, base = Decimal("1.001"), Decimal("0.01")
        began = time.perf_counter_ns()
        for opp in opps:
            worker.admit(opp, quote, base)
            worker.release(opp.id)
        return (time.perf_counter_ns() - began) / len(opps)
    finally:
        await worker.stop()


async def _keep_ticking(lease: Leases, tick: float, stop: asyncio.Event | None) -> None:
    while stop is None or not stop.is_set():
        await lease.tick()
        await asyncio.sleep(tick)


async def failover_s(url: str) -> list[float]:
    results = []
    for round_ in range(FAILOVERS):
        conns = [await connect(url, name=f"f{round_}{i}") for i in range(3)]
        leases = [Leases((await open_buckets(nc.jetstream(), lease_s=LEASE_S)).leases, f"f{round_}-{i}",
                         SYMBOLS, time.time_ns) for i, nc in enumerate(conns)]
        tick = ClusterSettings(url, "x", lease_s=LEASE_S).tick_s
        stopped = asyncio.Event()
        dead = leases[2]

        tasks = [asyncio.create_task(_keep_ticking(lease, tick, stopped if lease is dead else None))
                 for lease in leases]
        while sum(len(lease.owned) for lease in leases) < len(SYMBOLS):
            await asyncio.sleep(0.05)
        orphans = set(dead.owned)
        stopped.set()
        began = time.perf_counter()
        while not orphans <= set(leases[0].owned) | set(leases[1].owned):
            await asyncio.sleep(0.01)
        results.append(time.perf_counter() - began)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for lease in leases[:2]:
            await lease.leave()
        for nc in conns:
            await nc.close()
    return results


async def main(only_shards: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(Path(tmp) / "nats")
        url = server.start()
        try:
            shards = await asyncio.to_thread(shard_throughput, Path(tmp))
            if only_shards:
                print(shards)
                return
            alone, raced = await ledger_round_trips(url)
            refill = await refill_latency(url)
            hot = await admit_ns(url, Path(tmp), limits=True)
            bare = await admit_ns(url, Path(tmp), limits=False)
            failover = await failover_s(url)
        finally:
            server.stop()
    ms = 1000.0
    print(table("Ledger and allocation (real nats-server on 127.0.0.1; ms)", ["measure", "p50", "p99", "n"], [
        ["reserve (CAS round trip), alone", pct(alone, 0.5) * ms, pct(alone, 0.99) * ms, len(alone)],
        [f"reserve, {RACERS} workers racing", pct(raced, 0.5) * ms, pct(raced, 0.99) * ms, len(raced)],
        ["refill after a fill (settle + rebalance)", pct(refill, 0.5) * ms, pct(refill, 0.99) * ms,
         len(refill)],
    ]))
    print()
    print(table("Hot path", ["measure", "value"],
                [["admit + release per opportunity (µs, no NATS), global limits", hot / 1000],
                 ["... without the global limits (baseline)", bare / 1000],
                 ["ratio", hot / bare]]))
    print()
    print(table(f"Lease failover ({len(SYMBOLS)} symbols, 3 workers, lease {LEASE_S:g} s)",
                ["measure", "seconds", "target"], [
                    ["median", statistics.median(failover), f"<= {LEASE_S:g} s"],
                    ["worst", max(failover), verdict(max(failover) <= LEASE_S)],
                ]))
    print()
    print(shards)


if __name__ == "__main__":
    asyncio.run(main(only_shards=sys.argv[1:] == ["shards"]))
