"""`arb-engine demo`: the simulator on loopback and the engine against it, one command, offline.

The engine trades through its live execution path: market data (snapshots and depth streams) comes
from the simulated venues over real sockets, and orders are real signed requests to the simulator's
funded test account (simulated money). Shows live progress and ends with a summary table.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from arb.config import Credentials, Secret, default_config
from arb.engine.engine import Engine
from arb.sim.accounts import SIM_KEY, SIM_SECRET
from arb.sim.server import SimExchange

PIPED_EVERY_S = 5


def sim_credentials(venues: list[str]) -> dict[str, Credentials]:
    """The simulator's funded test account on every venue (fake money, not a secret)."""
    return {v: Credentials(v, Secret(SIM_KEY), Secret(SIM_SECRET)) for v in venues}


def _progress(engine: Engine, elapsed: float, duration: float, out: TextIO, final: bool = False) -> None:
    """A redrawn progress bar on a terminal; one line every few seconds when piped to a file."""
    tty = out.isatty()
    if not tty and not final and int(elapsed * 4) % (4 * PIPED_EVERY_S):
        return
    s = engine.summary()
    width = 24
    done = int(width * min(elapsed / duration, 1.0))
    line = (
        f"[{'#' * done}{'.' * (width - done)}] {elapsed:5.1f}s  books {s['books_synced']}/{s['books']}"
        f"  evaluated {s['funnel']['evaluated']}  opportunities {s['funnel']['clears_fees']}"
        f"  trades {s['trades']}  pnl {s['pnl']:.4f} USDT"
    )
    out.write(f"\r{line}" if tty else f"{line}\n")
    out.flush()


def summary_table(summary: dict[str, Any]) -> str:
    rows = [
        ("books synced", f"{summary['books_synced']}/{summary['books']}"),
        ("evaluations", summary["funnel"]["evaluated"]),
        ("opportunities (clear fees)", summary["funnel"]["clears_fees"]),
        ("sized / approved / sent", "{sized} / {approved} / {sent}".format(**summary["funnel"])),
        ("both legs filled", summary["funnel"]["both_filled"]),
        ("trades", summary["trades"]),
        ("fills", summary["fills"]),
        (f"realised PnL (USDT, {summary.get('mode', 'paper')})", f"{summary['pnl']:.6f}"),
        ("update -> decision p50 / p99",
         "{p50:.1f} / {p99:.1f} µs".format(**summary["update_to_decision_us"])),
        ("residuals (left open)", "{count} ({open})".format(**summary["residuals"])),
        ("residual lifetime p50 / max", "{p50_ms:.1f} / {max_ms:.1f} ms".format(**summary["residuals"])),
        ("decode errors", summary["decode_errors"]),
        ("trading state", summary["state"]),
        ("journal", summary["journal"]),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


async def run_demo(duration: float, venues: Sequence[str], symbols: Sequence[str], seed: int,
                   data_dir: Path, out: TextIO | None = None) -> dict[str, Any]:
    out = out or sys.stdout  # resolved per call, so a redirected stdout is honoured
    sim = SimExchange(venues, seed=seed)
    urls = await sim.start()
    for venue, (rest, ws) in urls.items():
        out.write(f"simulated {venue}: rest={rest} ws={ws}\n")
    config = default_config(
        symbols=list(symbols),
        venues={v: {"rest_url": urls[v][0], "ws_url": urls[v][1]} for v in venues},
        engine={"data_dir": str(data_dir), "mode": "live"},
    )
    engine = Engine(config, credentials=sim_credentials(list(venues)))
    try:
        await engine.start()
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < duration:
            _progress(engine, elapsed, duration, out)
            await asyncio.sleep(0.25)
        _progress(engine, duration, duration, out, final=True)
        if out.isatty():
            out.write("\n")
    finally:
        await engine.stop()
        await sim.close()
    summary = engine.summary()
    out.write("\nSummary (live execution path, simulated money on the loopback simulator)\n"
              + summary_table(summary) + "\n")
    return summary


def main(duration: float, venues: Sequence[str], symbols: Sequence[str], seed: int,
         data_dir: str | None) -> int:
    base = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="arb-demo-"))
    summary = asyncio.run(run_demo(duration, venues, symbols, seed, base))
    return 0 if summary["books_synced"] else 1
