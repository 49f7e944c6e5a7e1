"""`arb-engine run --cluster` worker processes (each with its loopback simulator) against a real
nats-server: one trading state for all (halt within 1 s, no order after, a late joiner stays
halted), and a worker killed with SIGKILL loses its symbols and its allocation to the others
within a lease period."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import msgspec

from arb.cluster.conn import STATE_KEY, connect, open_state
from arb.cluster.server import NatsServer
from arb.cluster.state import StateRecord
from tests.cluster.workers import ROOT, SYMBOLS, Worker, accounts, holders, leases, wait_for

LEASE_S = 2.0
TICK_S = LEASE_S / 5
START_S = 90.0  # a worker process starts its simulator and engine: slow on a loaded 2-core machine
OBSERVE_S = 30.0  # how long the test's own NATS polling may lag on a loaded machine


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arb.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _all_held(url: str, by: set[str]) -> bool:
    held = asyncio.run(holders(url))
    return sorted(held) == sorted(SYMBOLS) and set(held.values()) == by


def _both_hold(url: str, names: tuple[str, ...]) -> bool:
    funded = [a for a in asyncio.run(accounts(url)).values() if a.funds > 0]
    return bool(funded) and all(all(a.held.get(n, 0) > 0 for n in names) for a in funded)


async def _state(url: str) -> StateRecord:
    nc = await connect(url, name="observer")
    try:
        kv = await open_state(nc.jetstream())
        return msgspec.json.decode((await kv.get(STATE_KEY)).value or b"", type=StateRecord)
    finally:
        await nc.close()


def test_halt_reaches_every_worker_within_a_second_and_nothing_is_sent_after(
        nats_server: NatsServer, tmp_path: Path) -> None:
    url = nats_server.url
    workers = [Worker(tmp_path, url, name, lease_s=LEASE_S) for name in ("w1", "w2")]
    late: Worker | None = None
    try:
        wait_for(lambda: _all_held(url, {"w1", "w2"}), START_S, "both workers own a shard")
        wait_for(lambda: all(w.orders_since(0) for w in workers), START_S, "both workers trade")
        halt = _cli("halt", "--cluster", url, "--reason", "test halt")
        assert halt.returncode == 0, halt.stderr
        assert "cluster HALTED (test halt) (was ACTIVE)" in halt.stdout
        record = asyncio.run(_state(url))
        assert record.state.name == "HALTED"
        halted_at = record.ts_ns
        wait_for(lambda: all(w.halts() for w in workers), 5, "every worker journaled the HALT")
        for w in workers:
            ts, detail = w.halts()[-1]
            assert "reason=cluster: test halt" in detail, detail
            late_s = (ts - halted_at) / 1e9
            assert 0 <= late_s < 1.0, f"{w.name} halted {late_s:.3f} s after the command"
        # a worker that starts while the cluster is halted starts halted
        late = Worker(tmp_path, url, "w3", lease_s=LEASE_S)
        wait_for(lambda: "w3" in set(asyncio.run(holders(url)).values()), START_S, "w3 joined")
        time.sleep(2 * TICK_S)  # a few of its ticks: it would trade now if it could
        for w in workers:
            assert w.orders_since(w.halts()[-1][0]) == 0, f"{w.name} sent orders while the cluster was halted"
        # the late worker applied the HALT before its engine started (before its journal opened) and
        # journaled it once the journal opened, with the time it applied it: before its run began
        applied = "trading HALTED (was ACTIVE, by operator): cluster: test halt"
        assert applied in late.output, late.output[-3000:]
        wait_for(lambda: late.halts(), 10, "w3 journaled the HALT it started in")
        ts, detail = late.halts()[0]
        assert "ACTIVE->HALTED" in detail and "reason=cluster: test halt" in detail, detail
        run_started = int(late.query("SELECT min(started_ns) FROM runs")[0][0])  # type: ignore[call-overload]
        assert halted_at <= ts <= run_started, (halted_at, ts, run_started)
        assert late.orders_since(0) == 0
        # resume: the same workers trade again (the halt was what held them)
        resumed_at = time.time_ns()
        resume = _cli("resume", "--cluster", url)
        assert resume.returncode == 0, resume.stderr
        wait_for(lambda: sum(w.orders_since(resumed_at) for w in [*workers, late]) > 0, 30,
                 "trading again after resume")
    finally:
        codes = [w.stop() for w in [*workers, *([late] if late else [])]]
    assert codes == [0] * len(codes), [w.output[-2000:] for w in workers]
    assert "Cluster" in workers[0].output and "LEFT" in workers[0].output
    # every worker left cleanly: its allocation went back; the fills settled into the funds
    ledger = asyncio.run(accounts(url))
    assert ledger and all(not a.held and a.check() for a in ledger.values()), ledger
    seeded = {"USDT": 100000, "BTC": 1, "ETH": 20, "SOL": 300, "XRP": 60000, "DOGE": 250000}
    assert any(a.funds != seeded[key.split(".")[1]] for key, a in ledger.items()), "no fill settled"


def test_a_killed_worker_loses_its_symbols_and_allocation_within_a_lease(
        nats_server: NatsServer, tmp_path: Path) -> None:
    url = nats_server.url
    w1, w2 = (Worker(tmp_path, url, name, lease_s=LEASE_S) for name in ("w1", "w2"))
    try:
        wait_for(lambda: _all_held(url, {"w1", "w2"}), START_S, "both workers own a shard")
        # every account with funds left is shared by both (trading may empty an account on a venue
        # before the second worker joins: nobody can hold a share of nothing)
        try:
            wait_for(lambda: _both_hold(url, ("w1", "w2")), START_S,
                     "both workers hold an allocation of every funded account")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {asyncio.run(accounts(url))}\n"
                                 + "\n".join(w.output[-3000:] for w in (w1, w2))) from None
        theirs = {s for s, w in asyncio.run(holders(url)).items() if w == "w1"}
        killed_ns = time.time_ns()
        w1.kill9()  # mid-trade: no clean leave, its leases and heartbeat just stop
        # observed by polling NATS from here (slow on a loaded machine); the failover itself is timed
        # by the lease records: when w2 took each of w1's symbols, against the moment of the kill
        wait_for(lambda: _all_held(url, {"w2"}), OBSERVE_S, "w2 owns every symbol", poll=0.05)
        records = asyncio.run(leases(url))
        took = max(records[s].since_ns for s in theirs) / 1e9 - killed_ns / 1e9
        # its leases expire 3/5 of a lease after their last renewal; w2 takes them at its next tick
        assert 0 < took <= LEASE_S, f"failover took {took:.2f} s"
        wait_for(lambda: not any("w1" in a.held for a in asyncio.run(accounts(url)).values())
                 and _both_hold(url, ("w2",)), OBSERVE_S, "w1's allocation reclaimed")
        for key, account in asyncio.run(accounts(url)).items():
            assert account.check(), (key, account)
        print(f"failover after SIGKILL: {took:.2f} s (lease {LEASE_S} s)")
    finally:
        w1.stop()
        code = w2.stop()
    assert code == 0, w2.output[-2000:]


def test_a_worker_that_loses_nats_opens_nothing_until_it_is_back_and_confirmed(
        nats_server: NatsServer, tmp_path: Path) -> None:
    url = nats_server.url
    worker = Worker(tmp_path, url, "w1", lease_s=LEASE_S)
    try:
        wait_for(lambda: _all_held(url, {"w1"}), START_S, "the worker owns every symbol")
        wait_for(lambda: worker.orders_since(0) > 0, START_S, "the worker trades")
        lost_at = time.time_ns()
        nats_server.kill()
        wait_for(lambda: "NATS connection lost" in worker.output, 10, "the worker noticed")
        time.sleep(3.0)  # opportunities keep coming from the simulator: none may be taken
        back_at = time.time_ns()
        # trades in flight when NATS went finish; after the worker noticed (a few ms), nothing is sent
        assert worker.orders_since(lost_at + 500_000_000) == 0
        nats_server.start()  # same port, same store: the buckets and the ledger are still there
        wait_for(lambda: worker.output.count("allocation confirmed") >= 2, 30, "allocation confirmed again")
        wait_for(lambda: worker.orders_since(back_at) > 0, 30, "trading again")
    finally:
        code = worker.stop()
    assert code == 0, worker.output[-2000:]
    # the worker's summary counts what its gate refused: opportunities came while NATS was away
    refused = next(line for line in worker.output.splitlines() if line.strip().startswith("refused"))
    assert "NATS_DOWN" in refused, refused
    # nothing it journaled is missing from the event stream, the outage notwithstanding
    journal = _cli("pnl", "--data-dir", str(worker.data_dir), "--json")
    cluster = _cli("pnl", "--cluster", url, "--json")
    assert journal.returncode == 0 and cluster.returncode == 0, (journal.stderr, cluster.stderr)
    report = json.loads(cluster.stdout)
    rows = json.loads(journal.stdout)
    assert report["total"]["fills"] == sum(r["fills"] for r in rows) > 0
    assert Decimal(report["total"]["pnl"]) == sum((Decimal(r["pnl"]) for r in rows), Decimal(0))
    assert report["missing"] == {} and report["duplicates"] == 0
