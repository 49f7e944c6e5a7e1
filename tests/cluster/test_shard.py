"""Sharded books, through `arb-engine run --sim --cluster` processes: a worker streams the books of the
symbols it holds a lease on and nothing else. Evidence from both sides of each worker's sockets: its
simulator's depth subscriptions (`/status` -> ``simulator.depth_streams``: what the connections asked
the venues to stream) and its engine's books (`/status` -> ``books``, ``books_synced``).

One worker alone streams every symbol; a second joins and the books move with the leases (each
streams exactly its own shard, on every venue); the first is killed with SIGKILL and the survivor
adds the dead one's books within a lease plus a sync, and trades them."""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

from arb.cluster.server import NatsServer, free_port
from tests.cluster.workers import SYMBOLS, Worker, holders, wait_for

LEASE_S = 2.0
START_S = 90.0  # a worker process starts its simulator and engine: slow on a loaded 2-core machine
SYNC_S = 30.0  # books added: snapshots fetched (4 at a time) and bridged, on a loaded machine
VENUES = ("binance", "gateio", "mexc")
TRADE_S = 120.0


def _status(worker: Worker) -> dict[str, Any] | None:
    """The worker's `/status`, or None before its health endpoint is up (or after it died)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.metrics_port}/status", timeout=5) as reply:
            status: dict[str, Any] = json.loads(reply.read())
            return status
    except OSError:
        return None


def _shard(url: str, name: str) -> list[str]:
    return sorted(s for s, holder in asyncio.run(holders(url)).items() if holder == name)


def _streams_exactly(worker: Worker, symbols: list[str]) -> bool:
    """Every venue streams exactly `symbols` to the worker, whose books are exactly those, all synced."""
    status = _status(worker)
    if status is None:
        return False
    streams = status["simulator"]["depth_streams"]
    books = len(VENUES) * len(symbols)
    return (all(streams[v] == symbols for v in VENUES) and status["books"] == books
            and status["books_synced"] == books)


def test_books_follow_the_leases_on_join_and_after_kill9(nats_server: NatsServer, tmp_path: Path) -> None:
    url = nats_server.url
    w1 = Worker(tmp_path, url, "w1", lease_s=LEASE_S, duration=300, metrics_port=free_port())
    w2: Worker | None = None
    try:
        wait_for(lambda: _shard(url, "w1") == sorted(SYMBOLS), START_S, "w1 alone owns every symbol")
        wait_for(lambda: _streams_exactly(w1, sorted(SYMBOLS)), SYNC_S, "w1 streams every symbol's books")

        # a second worker joins: the shard moves, and the books with it
        w2 = Worker(tmp_path, url, "w2", lease_s=LEASE_S, duration=300, metrics_port=free_port())
        wait_for(lambda: len(set(asyncio.run(holders(url)).values())) == 2
                 and len(asyncio.run(holders(url))) == len(SYMBOLS), START_S, "w2 owns a shard")
        shards = {"w1": _shard(url, "w1"), "w2": _shard(url, "w2")}
        assert shards["w1"] and shards["w2"] and not set(shards["w1"]) & set(shards["w2"]), shards
        wait_for(lambda: _streams_exactly(w1, _shard(url, "w1")) and _streams_exactly(w2, _shard(url, "w2")),
                 SYNC_S, f"each worker streams only its own shard {shards}")
        shards = {"w1": _shard(url, "w1"), "w2": _shard(url, "w2")}  # as the books were checked
        split_ns = time.time_ns()
        wait_for(lambda: w1.orders_since(split_ns) and w2.orders_since(split_ns), TRADE_S,
                 "both trade their shards")
        for worker in (w1, w2):  # a worker trades what it owns (and streams) only
            traded = {str(s) for (s,) in worker.query(
                "SELECT DISTINCT symbol FROM orders WHERE ts_created > ?", split_ns)}
            assert traded <= set(shards[worker.name]), (worker.name, traded, shards)
        # before it held a lease w2 streamed nothing: it started with no book, added only its shard's
        assert "book synced (after start)" not in w2.output
        lines = re.findall(r"books added \(scope\): (.*)", w2.output)
        added = {symbol for line in lines for symbol in line.split(", ")}
        assert added == set(shards["w2"]), (added, shards)

        # kill -9 w1: w2 adds its books within a lease plus a sync, and trades them
        orphans = shards["w1"]
        w1.kill9()
        killed_ns = time.time_ns()
        took = wait_for(lambda: _streams_exactly(w2, sorted(SYMBOLS)), LEASE_S + SYNC_S,
                        "w2 streams and synced every symbol's books", poll=0.1)
        print(f"survivor streams and synced the dead worker's books {took:.2f} s after kill -9 "
              f"(lease {LEASE_S:g} s)")
        marks = ",".join("?" * len(orphans))
        wait_for(lambda: w2.query(f"SELECT count(*) FROM orders WHERE ts_created > ? AND symbol IN ({marks})",
                                  killed_ns, *orphans)[0][0], TRADE_S, f"w2 trades one of {orphans}")
    finally:
        w1.stop()
        code = w2.stop() if w2 is not None else 0
    assert code == 0, w2.output[-2000:] if w2 is not None else ""
