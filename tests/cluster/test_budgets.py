"""Shared venue budgets and global limits through real `run --live --sim-url ... --cluster` workers
trading ONE simulator (one account, one IP, as the venues see a cluster) and a real nats-server.

- budget share: each worker's limiter holds half of each venue's documented limits while two run,
  the whole again once the other has left;
- a 429 one worker takes (the simulator answers it with Retry-After) freezes the venue for the
  other too: counted at the simulator, no request reaches the venue inside the Retry-After once
  the other worker knows, although both want snapshots there (a sequence gap), and they go out
  after it; the simulator banned no one (its 418 after ignored Retry-Afters);
- max open opportunities over the cluster (2; slow order replies keep trades open ~1 s): the gate
  refuses with the cluster-limit reason, each time after the worker's own check passed (its own
  open trades under the limit: alone it would have traded), counted in its refused summary; the
  cluster's ledger equals the simulator's balances afterwards.
"""

from __future__ import annotations

import ast
import asyncio
import functools
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from arb.cluster.demo import _against_simulator
from arb.cluster.server import NatsServer
from arb.cluster.status import cluster_status
from arb.model import Symbol
from arb.ops.chaos.storm import TOO_MANY
from arb.sim.faults import Reply
from arb.sim.server import SimExchange
from tests.cluster.sim_thread import SimUrlWorker, ThreadSim
from tests.cluster.workers import holders, wait_for

VENUES = ["binance", "mexc", "gateio"]
STORMED = "binance"
RETRY_AFTER_S = 8
IN_FLIGHT_S = 0.1  # a request the venue logs this soon after the freeze left before it
LEASE_S = 2.0
CLUSTER_OPEN = "cluster limit: max open opportunities"
RISK = "max_open_opportunities = 2\nsymbol_cooldown_ms = 0\n"


@pytest.fixture
def shared_sim() -> Iterator[ThreadSim]:
    sim = ThreadSim(VENUES, seed=7)
    try:
        yield sim
    finally:
        sim.close()


def _share(worker: SimUrlWorker, share: float) -> bool:
    stats = worker.limiter(STORMED)
    return bool(stats) and stats["share"] == share and all(
        pool["capacity"] == pytest.approx(pool["documented"] * share) for pool in stats["pools"].values())


def _synced(worker: SimUrlWorker) -> bool:
    status = worker.status() or {}
    return 0 < int(status.get("books", 0)) == int(status.get("books_synced", -1))


def _requests(sim: ThreadSim, venue: str, after: float, before: float) -> list[str]:
    return sim.call(lambda s: [r for t, r in s.traffic[venue].recent if after < t < before])


def _arm_429(s: SimExchange) -> int:
    s.faults[STORMED].replies.append(Reply(429, TOO_MANY[STORMED], {"Retry-After": str(RETRY_AFTER_S)}))
    s.faults[STORMED].gap = 25  # books out of sequence: snapshots wanted, the first one gets the 429
    return s.injectors[STORMED].counts.canned


def _served(s: SimExchange) -> float | None:
    served = s.injectors[STORMED].served
    return served[-1][0] if served else None


def _frozen_at(worker: SimUrlWorker) -> float:
    """When the worker froze for another's backoff, by its log line, on this process's monotonic clock."""
    found = re.search(r"^(\S+ \S+) WARNING .* frozen here too", worker.output, re.MULTILINE)
    assert found is not None, worker.output[-3000:]
    wall = datetime.strptime(found[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()  # the log's local time
    return wall - (time.time() - time.monotonic())


def _refused(worker: SimUrlWorker) -> dict[str, Any]:
    found = re.search(r"^\s+refused\s+(\{.*\})$", worker.output, re.MULTILINE)
    assert found is not None, worker.output[-3000:]
    return dict(ast.literal_eval(found[1]))  # the summary prints the dict's repr


def test_workers_share_each_venue_budget_back_off_together_and_limit_open_trades_together(
        nats_server: NatsServer, shared_sim: ThreadSim, tmp_path: Path) -> None:
    url = nats_server.url
    w1 = SimUrlWorker(tmp_path, url, "w1", shared_sim.urls, lease_s=LEASE_S, risk=RISK)
    workers = [w1]
    try:
        wait_for(lambda: _share(w1, 1.0), 120, "w1 alone: the whole of each venue's limits")
        w2 = SimUrlWorker(tmp_path, url, "w2", shared_sim.urls, lease_s=LEASE_S, risk=RISK)
        workers.append(w2)
        # (b) two members: each limiter holds half of every documented pool
        wait_for(lambda: _share(w1, 0.5) and _share(w2, 0.5), 120, "both at half of each venue's limits")
        wait_for(lambda: set(asyncio.run(holders(url)).values()) == {"w1", "w2"}, 60, "both own symbols")
        wait_for(lambda: all(_synced(w) for w in workers), 120, "every book synced on both")

        # (a) a 429 on one worker's request: nobody sends to the venue inside its Retry-After
        canned = shared_sim.call(_arm_429)
        wait_for(lambda: shared_sim.call(lambda s: s.injectors[STORMED].counts.canned) > canned, 60,
                 "the 429 served")
        served_at = shared_sim.call(_served)
        assert served_at is not None
        stats = {w.name: w.limiter(STORMED) for w in workers}

        def both_frozen() -> bool:
            stats.update({w.name: w.limiter(STORMED) for w in workers})
            return all(s and s["frozen_s"] > 0 for s in stats.values())

        wait_for(both_frozen, RETRY_AFTER_S - 2, "the other worker frozen too", poll=0.05)
        known_at = time.monotonic()
        took = [name for name, s in stats.items() if s["rate_limited"] >= 1]
        told = [name for name, s in stats.items() if s["remote_backoffs"] >= 1]
        assert len(took) == 1 and told == [n for n in stats if n not in took], stats
        # the budget was over-spent by both together: both refill at half rate past the freeze
        assert all(s["slowed_s"] > s["frozen_s"] for s in stats.values()), stats
        shared_sim.call(lambda s: setattr(s.faults[STORMED], "gap", 25))  # both want snapshots now
        window_end = served_at + RETRY_AFTER_S
        wait_for(lambda: time.monotonic() > window_end + 0.5, RETRY_AFTER_S + 5, "the Retry-After over")
        frozen_at = _frozen_at(next(w for w in workers if w.name in told))  # by its log, on our clock
        inside = _requests(shared_sim, STORMED, min(known_at, frozen_at + IN_FLIGHT_S), window_end - 0.05)
        assert inside == [], f"{len(inside)} requests inside the Retry-After: {inside[:10]}"
        wait_for(lambda: any("depth" in r for r in _requests(shared_sim, STORMED, window_end, 1e12)), 60,
                 "the held snapshots sent after the Retry-After")
        assert shared_sim.call(lambda s: s.limiters[STORMED].banned_replies) == 0
        before = _requests(shared_sim, STORMED, served_at, frozen_at)
        print(f"429 served at +0; the other worker froze {frozen_at - served_at:.3f} s later by its log "
              f"({len(before)} requests reached the venue meanwhile, in flight); 0 from then to the end of "
              f"the {RETRY_AFTER_S} s Retry-After")

        # (c) open opportunities over the cluster: slow order replies keep each trade open ~1 s
        wait_for(lambda: all(_synced(w) for w in workers), 120, "every book synced again")
        shared_sim.call(_slow_orders)
        owners = asyncio.run(holders(url))
        mine = {w.name: sorted(s for s, o in owners.items() if o == w.name) for w in workers}

        def cluster_refusals() -> int:
            return sum(int((w.status() or {}).get("rejections", {}).get(CLUSTER_OPEN, 0)) for w in workers)

        for round_ in range(40):
            if cluster_refusals():
                break
            for symbols in mine.values():  # one trade opens on each worker; another one 0.6 s later
                shared_sim.call(functools.partial(_window, symbol=symbols[0], round_=round_))
            time.sleep(0.6)
            for symbols in mine.values():
                shared_sim.call(functools.partial(_window, symbol=symbols[-1], round_=round_ + 1))
            time.sleep(1.5)
        assert cluster_refusals() > 0, [w.status() for w in workers]
        local = [int((w.status() or {}).get("rejections", {}).get("max open opportunities", 0))
                 for w in workers]

        # (b) w2 leaves: w1 takes the whole budget again
        assert w2.stop() == 0
        wait_for(lambda: _share(w1, 1.0), 60, "w1 back to the whole of each venue's limits")
        assert w1.stop() == 0
        refused = [_refused(w) for w in workers]
        assert sum(r.get("CLUSTER_OPEN_OPPORTUNITIES", 0) for r in refused) > 0, refused
        # the money: after a 429 storm and slow orders, the cluster's ledger is the simulator's balances
        status = asyncio.run(cluster_status(url))
        assert shared_sim.call(lambda s: _against_simulator(status, s)) == []
        print(f"refusals {refused}; local max-open-opportunities rejections {local} (reported)")
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.kill9()


def _slow_orders(s: SimExchange) -> None:
    for venue in VENUES:
        plan = s.faults[venue]
        plan.http_methods = frozenset({"POST"})
        plan.slow_reply_ms = 1000.0
        plan.slow_replies = 1_000_000


def _window(s: SimExchange, symbol: str, round_: int) -> None:
    buy, sell = (VENUES[round_ % 3], VENUES[(round_ + 1) % 3])
    s.market.open_window(Symbol.parse(symbol), buy, sell, net_bps=30.0, duration_ns=1_500_000_000)
