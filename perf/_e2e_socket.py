"""The socket half of bench_e2e: `_wspush.py` -> loopback -> real connectors -> engine, one core."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _common import table, verdict
from _wspush import DEPTH, FIRST_ID, SYMBOLS, VENUES, book_levels

from arb.config import VenueConfig, default_config
from arb.engine.engine import Engine
from arb.model import (
    Kline,
    KlineInterval,
    OrderBook,
    OrderBookLevel,
    Symbol,
    SymbolInfo,
    SymbolStatus,
    Ticker,
    Trade,
)
from arb.net.ws import WsClient
from arb.venues.base import PublicExchangeInterface

HERE = Path(__file__).resolve().parent
PER_BOOK = int(os.environ.get("ARB_BENCH_FRAMES_PER_BOOK", "2500"))
N_SYMBOLS = 20
WS_PATHS = {"binance": "", "gateio": "/ws/v4/", "mexc": "/ws"}
BALANCES = {"USDT": Decimal("1000000"), **{b: Decimal("1000") for b in SYMBOLS}}


class StaticPublic(PublicExchangeInterface):
    """REST stand-in: symbol rules, and the snapshot (id FIRST_ID - 1) the pushed frames continue."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self._symbols = [Symbol(b, "USDT") for b in SYMBOLS[:N_SYMBOLS]]

    async def server_time(self) -> int:
        return time.time_ns() // 1_000_000

    async def symbols(self) -> list[SymbolInfo]:
        return [SymbolInfo(self.venue, s, f"{s.base}{s.quote}", SymbolStatus.TRADING, Decimal("0.01"),
                           Decimal("0.001"), taker_fee=0.001) for s in self._symbols]

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        _, bids, asks = book_levels(self._symbols.index(symbol))
        return OrderBook(self.venue, symbol, [OrderBookLevel(p, 1.0) for p in bids],
                         [OrderBookLevel(p, 1.0) for p in asks], FIRST_ID - 1, 0, time.time_ns())

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        return []

    async def ticker(self, symbol: Symbol) -> Ticker:
        raise NotImplementedError

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        return []

    async def close(self) -> None:
        return None


def _static(name: str, cfg: VenueConfig) -> PublicExchangeInterface:
    return StaticPublic(name)


def _rss_mb() -> tuple[float, float]:
    lines = Path("/proc/self/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


async def _run(ports: dict[str, int], pusher: subprocess.Popen[str], data_dir: str) -> dict[str, float]:
    config = default_config(
        symbols=[f"{b}/USDT" for b in SYMBOLS[:N_SYMBOLS]],
        venues={v: {"ws_url": f"ws://127.0.0.1:{ports[v]}{WS_PATHS[v]}"} for v in VENUES},
        engine={"data_dir": data_dir}, risk={"max_book_age_ms": 600_000},
    )
    engine = Engine(config, paper_balances=BALANCES, public_factory=_static)
    expected = len(VENUES) * N_SYMBOLS * PER_BOOK
    try:
        await engine.start()
        for _ in range(500):
            if engine.summary()["books_synced"] == len(VENUES) * N_SYMBOLS:
                break
            await asyncio.sleep(0.01)
        clients = [ws for s in engine.streams.values() if isinstance(ws := getattr(s, "ws", None), WsClient)]

        def received() -> int:
            return sum(c.data_frames for ws in clients for c in ws.connections)

        engine.decision_ns.clear()
        before = received()
        cpu0, t0 = time.process_time(), time.perf_counter()
        assert pusher.stdin is not None
        pusher.stdin.write("go\n")
        pusher.stdin.flush()
        deadline = t0 + 120
        while received() - before < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        frames = received() - before
        samples = sorted(engine.decision_ns)
        rss, peak = _rss_mb()
        synced = engine.summary()["books_synced"]
    finally:
        await engine.stop()

    def pct(p: float) -> float:
        return samples[min(len(samples) - 1, int(p * len(samples)))] / 1000 if samples else float("nan")

    return {"frames": frames, "expected": expected, "elapsed": elapsed, "cpu": cpu, "p50": pct(0.5),
            "p99": pct(0.99), "p999": pct(0.999), "samples": len(samples), "rss": rss, "peak": peak,
            "synced": synced}


def measure() -> dict[str, float]:
    """One socket-half run: the pusher in its own process, the engine pinned to the first CPU."""
    cpus = sorted(os.sched_getaffinity(0))
    engine_cpu, pusher_cpu = cpus[0], cpus[1] if len(cpus) > 1 else cpus[0]
    pusher = subprocess.Popen(
        [sys.executable, str(HERE / "_wspush.py"), "--frames-per-book", str(PER_BOOK), "--symbols",
         str(N_SYMBOLS), "--cpu", str(pusher_cpu)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert pusher.stdout is not None and pusher.stdin is not None
        ports = json.loads(pusher.stdout.readline())
        os.sched_setaffinity(0, {engine_cpu})
        with tempfile.TemporaryDirectory(prefix="arb-bench-") as data_dir:
            r = asyncio.run(_run(ports, pusher, data_dir))
        pusher.stdin.write("stop\n")
        pusher.stdin.flush()
    finally:
        os.sched_setaffinity(0, set(cpus))
        pusher.wait(timeout=30)
    return {**r, "engine_cpu": engine_cpu, "pusher_cpu": pusher_cpu}


def socket_half(in_process_us: float) -> None:
    r = measure()
    engine_cpu, pusher_cpu = r["engine_cpu"], r["pusher_cpu"]
    rate = r["frames"] / r["elapsed"]
    print(table(
        f"Depth frames over loopback -> real connectors -> engine ({len(VENUES)} venues x {N_SYMBOLS} "
        f"symbols, 5+5 of {DEPTH} levels per frame, engine on CPU {engine_cpu}, pusher on CPU {pusher_cpu})",
        ["measure", "value"],
        [("frames received / pushed", f"{r['frames']:,} / {r['expected']:,}"),
         ("wall s (CPU s of the engine process)", f"{r['elapsed']:.2f} ({r['cpu']:.2f})"),
         ("depth frames/s sustained (wall)", rate),
         ("depth frames per engine CPU-second", r["frames"] / r["cpu"] if r["cpu"] else float("nan")),
         ("frame receive -> decision p50 µs", r["p50"]),
         ("p99 µs", r["p99"]),
         ("p99.9 µs", r["p999"]),
         ("decision samples (last, max 100k)", f"{r['samples']:,}"),
         ("books synced at the end", f"{r['synced']}/{len(VENUES) * N_SYMBOLS}"),
         ("RSS MB (peak)", f"{r['rss']:.1f} ({r['peak']:.1f})")]))
    print()
    limit = 20 * in_process_us
    print(table("Targets (socket half)", ["check", "measured", "target", "verdict"], [
        ("p99 vs in-process µs/frame", f"{r['p99']:.1f} µs", f"< {limit:.0f} µs (20 x {in_process_us:.1f})",
         verdict(r["p99"] < limit)),
        ("depth frames/s, 3 venues", f"{rate:,.0f}", ">= 50,000", verdict(rate >= 50_000)),
        ("RSS", f"{r['rss']:.1f} MB", "< 150 MB", verdict(r["rss"] < 150)),
    ]))
