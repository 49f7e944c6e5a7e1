"""`arb-engine demo --cluster N`: a NATS server, the simulator and N workers, offline, one command.

Everything runs on 127.0.0.1: a `nats-server -js` (from the dev install) in the demo's data dir,
the loopback simulator, and N engines in this process, each joined to the cluster as `run
--cluster` joins one (a shard of the symbols, an allocation of the one simulated account, one
trading state). Ends with one cluster summary: each worker's trades and PnL, the totals, and the
ledger as NATS holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from arb.cluster import wiring
from arb.cluster.conn import ClusterSettings
from arb.cluster.server import NatsServer
from arb.cluster.status import cluster_status, status_text
from arb.cluster.worker import ClusterWorker
from arb.config import default_config
from arb.demo import sim_credentials
from arb.engine.engine import Engine
from arb.model import ZERO
from arb.obs import loop
from arb.sim.server import SimExchange
from arb.sim.universe import SimUniverse

LEASE_S = 2.0
DEMO_FEE = 0.001
SIM_ACCOUNT = "sim"  # the simulator's funded test account (`arb.sim.accounts`)
PROGRESS_EVERY_S = 2.0


def _progress(pairs: Sequence[tuple[Engine, ClusterWorker]], elapsed: float, out: TextIO) -> None:
    parts = [f"{w.worker} {w.state.name.lower()} owns {len(w.owned)} trades {e.summary()['trades']}"
             for e, w in pairs]
    out.write(f"[{elapsed:5.1f}s] " + " | ".join(parts) + "\n")
    out.flush()


def summary_text(rows: Sequence[dict[str, Any]], status: dict[str, Any]) -> str:
    """The one cluster summary: a line per worker, the totals, then the cluster as NATS has it."""
    lines = [f"  {'worker':<8} {'symbols owned':<36} {'trades':>6} {'fills':>6} {'PnL (USDT)':>12}"]
    for row in rows:
        lines.append(f"  {row['worker']:<8} {', '.join(row['owned']) or '-':<36} {row['trades']:>6} "
                     f"{row['fills']:>6} {row['pnl']:>12.6f}")
    total = sum((Decimal(str(r["pnl"])) for r in rows), ZERO)
    lines.append(f"  {'total':<8} {'':<36} {sum(r['trades'] for r in rows):>6} "
                 f"{sum(r['fills'] for r in rows):>6} {total:>12.6f}")
    return "\n".join(lines) + "\n\n" + status_text(status)


async def run_cluster_demo(workers: int, duration: float, venues: Sequence[str], symbols: Sequence[str],
                           seed: int, data_dir: Path, out: TextIO | None = None,
                           universe: SimUniverse | None = None) -> dict[str, Any]:
    out = out or sys.stdout
    server = NatsServer(data_dir / "nats")
    url = server.start()  # on this thread (nothing else runs yet): the server dies with it
    out.write(f"nats-server (JetStream): {url}\n")
    sim = SimExchange(list(venues), seed=seed, universe=universe)
    pairs: list[tuple[Engine, ClusterWorker]] = []
    rows: list[dict[str, Any]] = []
    status: dict[str, Any] = {}
    try:
        urls = await sim.start()
        for venue, (rest, ws) in urls.items():
            out.write(f"simulated {venue}: rest={rest} ws={ws}\n")
        for i in range(1, workers + 1):
            config = default_config(
                symbols="auto" if list(symbols) == ["auto"] else list(symbols),
                # a set fee: N workers asking each venue's fee endpoint per symbol would each wait on
                # its 1/N share of the one account's request budget before trading
                venues={v: {"rest_url": urls[v][0], "ws_url": urls[v][1], "taker_fee": DEMO_FEE}
                        for v in venues},
                engine={"data_dir": str(data_dir / f"w{i}"), "mode": "live"},
            )
            engine = Engine(config, credentials=sim_credentials(list(venues)), instance=f"w{i}")
            worker = await wiring.join(ClusterSettings(url, f"w{i}", lease_s=LEASE_S), engine)
            pairs.append((engine, worker))
            await engine.start()
            wiring.attach(worker, engine)
            out.write(f"worker w{i} joined ({engine.config.journal_path})\n")
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < duration:
            await asyncio.sleep(min(PROGRESS_EVERY_S, max(0.0, duration - elapsed)))
            _progress(pairs, time.monotonic() - started, out)
    finally:
        # the shards as they were while all ran (a worker that stays takes a leaver's symbols)
        shards = [sorted(map(str, worker.owned)) for _, worker in pairs]
        for (engine, worker), owned in zip(pairs, shards, strict=True):
            with contextlib.suppress(Exception):
                await engine.stop()
            await worker.stop()
            summary = engine.summary()
            rows.append({"worker": worker.worker, "owned": owned, "trades": summary["trades"],
                         "fills": summary["fills"], "pnl": summary["pnl"]})
        with contextlib.suppress(Exception):
            status = await cluster_status(url)
        differ = _against_simulator(status, sim) if status else []
        await sim.close()
        await asyncio.to_thread(server.stop)
        if status:
            out.write(f"\nCluster summary ({len(rows)} workers, one simulated account)\n"
                      f"{summary_text(rows, status)}\n")
            out.write("  ledger = the simulator's balances on every account\n" if not differ else
                      f"  ledger differs from the simulator on {len(differ)} accounts: {'; '.join(differ)}\n")
        out.flush()
    return {"workers": rows, "cluster": status, "ledger_differs": differ}


def _against_simulator(status: dict[str, Any], sim: SimExchange) -> list[str]:
    """Ledger accounts whose funds are not the simulated account's balance (free + locked)."""
    differ = []
    for key, account in status["ledger"].items():
        venue, asset = key.split(".", 1)
        ledger = getattr(sim.dialects.get(venue), "ledger", None)
        if ledger is None:
            continue
        actual = ledger.total(SIM_ACCOUNT, asset)
        if Decimal(account["funds"]) != actual:
            differ.append(f"{key} ledger {account['funds']} simulator {actual.normalize():f}")
    return differ


def main(workers: int, duration: float, venues: Sequence[str], symbols: Sequence[str], seed: int,
         data_dir: Path, use_uvloop: bool = True, universe: SimUniverse | None = None) -> int:
    result = loop.run(run_cluster_demo(workers, duration, venues, symbols, seed, data_dir, universe=universe),
                      use_uvloop)
    return 0 if result["cluster"] and all(r["owned"] for r in result["workers"]) else 1
