"""One cluster worker for bench_cluster's 1 vs 2 workers (run as its own process, pinned to a CPU).

The engine as `run --cluster` wires it (`arb.cluster.wiring.join` before start, `attach` after: the
worker is the engine's book scope, books follow the leases), paper mode, its venue streams the real
connectors on `_shardpush.py`'s ports; only the REST market data is an in-process stand-in (symbol
rules, and the static snapshot, update id 1000, that the pushed diffs continue).

Commands on stdin, one a line: ``status`` prints a JSON line (owned symbols, members, books, synced,
frames received, and once ``mark`` was given: when its books' frames had all arrived, CPU seconds
used since the mark); ``mark`` starts a measurement; ``quit`` stops (leaves the cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # this checkout's arb

from _e2e_socket import WS_PATHS, StaticPublic
from _shardpush import bases
from _wspush import VENUES

from arb.cluster import wiring
from arb.cluster.conn import ClusterSettings
from arb.cluster.worker import ClusterWorker
from arb.config import VenueConfig, default_config
from arb.engine.books import SyncState
from arb.engine.engine import Engine
from arb.model import Symbol
from arb.net.ws import WsClient
from arb.obs.health import LoopLagMonitor
from arb.obs.loop import run
from arb.venues.base import PublicExchangeInterface

POLL_S = 0.005


class _Public(StaticPublic):
    def __init__(self, venue: str, symbols: list[Symbol]) -> None:
        super().__init__(venue)
        self._symbols = symbols


class Measure:
    def __init__(self, engine: Engine, per_book: int) -> None:
        self.engine = engine
        self.per_book = per_book
        self.marked = False
        self.target = 0  # frames of the books held at the mark
        self.frames0 = 0
        self.cpu0 = 0.0
        self.done_at: float | None = None
        self.done_frames = 0
        self.done_cpu = 0.0

    def received(self) -> int:
        streams = self.engine.streams.values()
        clients = [ws for s in streams if isinstance(ws := getattr(s, "ws", None), WsClient)]
        return sum(c.data_frames for ws in clients for c in ws.connections)

    def mark(self) -> None:
        self.marked, self.done_at = True, None
        self.target = sum(1 for _ in self.engine.books.all()) * self.per_book
        self.frames0, self.cpu0 = self.received(), time.process_time()

    async def watch(self) -> None:
        """Note the moment every frame of this worker's books has arrived (polled: cheap)."""
        while True:
            await asyncio.sleep(POLL_S)
            if not self.marked or self.done_at is not None:
                continue
            frames = self.received() - self.frames0
            if frames >= self.target:
                self.done_at, self.done_frames = time.time(), frames
                self.done_cpu = time.process_time() - self.cpu0


def _time_ticks(worker: ClusterWorker) -> list[float]:
    """How long each of the worker's lease rounds took (a list the caller reads and clears): the
    round that renews the leases, which must stay well under their time to live."""
    took: list[float] = []
    tick = worker._lease_round

    async def timed() -> None:
        began = time.monotonic()
        try:
            await tick()
        finally:
            took.append(time.monotonic() - began)

    worker._lease_round = timed  # type: ignore[method-assign]
    return took


async def main(args: argparse.Namespace) -> None:
    symbols = [Symbol(b, "USDT") for b in bases(args.symbols)]
    ports = json.loads(args.ports)

    def public(name: str, cfg: VenueConfig) -> PublicExchangeInterface:
        return _Public(name, symbols)

    with tempfile.TemporaryDirectory(prefix="arb-bench-worker-") as data_dir:
        config = default_config(
            symbols=[str(s) for s in symbols],
            venues={v: {"ws_url": f"ws://127.0.0.1:{ports[v]}{WS_PATHS[v]}", "taker_fee": 0.001}
                    for v in VENUES},
            engine={"data_dir": data_dir, "stale_book_s": 600},
            risk={"max_book_age_ms": 3_600_000, "max_event_lag_ms": 3_600_000})
        balances = {"USDT": Decimal("1000000"), **{s.base: Decimal("1000") for s in symbols}}
        engine = Engine(config, paper_balances=balances, public_factory=public, instance=args.worker)
        worker = await wiring.join(ClusterSettings(args.nats, args.worker, lease_s=args.lease_s), engine)
        await engine.start()
        wiring.attach(worker, engine)
        measure = Measure(engine, args.frames_per_book)
        lag = LoopLagMonitor(interval_s=0.01)  # the engine's own monitor, sampling at 10 ms
        lag.start()
        ticks = _time_ticks(worker)
        watcher = asyncio.get_running_loop().create_task(measure.watch())
        loop = asyncio.get_running_loop()
        leases0 = evaluated0 = 0
        try:
            while True:
                line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
                if line == "status":
                    books = list(engine.books.all())
                    print(json.dumps({
                        "owned": len(worker.owned), "members": len(worker.members), "books": len(books),
                        "synced": sum(1 for s in books if s.state is SyncState.SYNCED),
                        "frames": measure.received() - measure.frames0, "done_at": measure.done_at,
                        "done_frames": measure.done_frames, "cpu": measure.done_cpu,
                        "decode_errors": engine.decode_errors, "gaps": sum(s.gaps for s in books),
                        "lease_changes": len(worker.lease_events) - leases0,
                        "lag_max_ms": round(lag.max_lag_s * 1000, 1),
                        "tick_max_s": round(max(ticks, default=0.0), 2),
                        "evaluated": engine.detector.funnel.stages.get("evaluated", 0) - evaluated0}),
                          flush=True)
                elif line == "mark":
                    measure.mark()
                    lag.max_lag_s = 0.0
                    ticks.clear()
                    leases0 = len(worker.lease_events)
                    evaluated0 = engine.detector.funnel.stages.get("evaluated", 0)
                else:
                    break
        finally:
            watcher.cancel()
            await lag.stop()
            await engine.stop()
            await worker.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--nats", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--ports", required=True, help="JSON: venue -> the pusher's port")
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--frames-per-book", type=int, default=1000)
    parser.add_argument("--lease-s", type=float, default=3.0)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    ns = parser.parse_args()
    if ns.cpu is not None:
        os.sched_setaffinity(0, {ns.cpu})
    if os.environ.get("ARB_BENCH_LOG"):
        import logging
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(main(ns), True)
