"""How many symbols and books one engine process sustains: ``symbols = "auto"`` against the simulator's
large universe (`arb-engine sim --universe large`, in its own process so its CPU is not ours).

Prints the pairs and books, how many synced, the depth frames per second received, and the event
loop's lag (how late a 10 ms sleep wakes: p50 / p99 / max). Run: ``python perf/universe_load.py
[seconds]``; outside pytest, like the other perf scripts.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time

from arb.config import default_config
from arb.engine.books import SyncState
from arb.engine.engine import Engine
from arb.obs.loop import run

VENUES = ["binance", "gateio", "mexc"]
TICK_S = 0.01


async def measure(seconds: float) -> dict[str, float]:
    sim = subprocess.Popen([sys.executable, "-m", "arb.cli", "sim", "--universe", "large", "--no-limits",
                            "--venues", *VENUES], stdout=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        urls = {}
        for _ in VENUES:
            venue, rest, ws = sim.stdout.readline().split()
            urls[venue] = (rest.removeprefix("rest="), ws.removeprefix("ws="))
        config = default_config(
            symbols="auto", venues={v: {"rest_url": r, "ws_url": w} for v, (r, w) in urls.items()},
            engine={"data_dir": tempfile.mkdtemp(prefix="arb-universe-")},
            universe={"quotes": ["USDT", "USDC", "BTC"], "max_symbols": 200, "refresh_s": 0},
            observability={"metrics_port": 0})
        engine = Engine(config)
        await engine.start()
        lags: list[float] = []
        try:
            start = time.monotonic()
            while any(s.state is not SyncState.SYNCED for s in engine.books.all()):
                await asyncio.sleep(0.1)
                if time.monotonic() - start > 60:
                    break
            synced_after = time.monotonic() - start
            frames0 = sum(c.frames for s in engine.streams.values() for c in s.connections)
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                before = time.monotonic()
                await asyncio.sleep(TICK_S)
                lags.append((time.monotonic() - before - TICK_S) * 1000)
            elapsed = time.monotonic() - t0
            frames = sum(c.frames for s in engine.streams.values() for c in s.connections) - frames0
            books = list(engine.books.all())
            lags.sort()
            return {"pairs": len(engine.universe.symbols()), "books": len(books),
                    "synced": sum(1 for s in books if s.state is SyncState.SYNCED),
                    "sync_s": synced_after, "frames_per_s": frames / elapsed,
                    "lag_p50_ms": statistics.median(lags), "lag_p99_ms": lags[int(len(lags) * 0.99)],
                    "lag_max_ms": lags[-1], "decisions": float(len(engine.decision_ns))}
        finally:
            await engine.stop()
    finally:
        sim.terminate()
        sim.wait()


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    result = run(measure(seconds), True)
    for key, value in result.items():
        print(f"{key:>14}: {value:,.2f}")


if __name__ == "__main__":
    main()
