"""One loopback simulator, in this test process, shared by several worker processes (as
`demo --cluster` shares one among its in-process workers): the venues see one account and one IP,
and the test counts every worker's requests where the venue would, and scripts its faults
(`tests/cluster/shared_sim.py` runs the simulator as its own `arb-engine sim` process instead,
for the reconciliation tests).

`ThreadSim` runs the `SimExchange` on its own event loop in a thread (`call` runs a function on
that loop, so the test reads traffic and changes fault plans safely); `SimUrlWorker` is an
`arb-engine run --live --sim-url ... --cluster URL --worker NAME` process pointed at it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from arb.cluster.server import free_port
from arb.sim.server import SimExchange
from tests.cluster.workers import ROOT, SYMBOLS, Worker

T = TypeVar("T")
CALL_TIMEOUT_S = 60.0
CONFIG = """symbols = {symbols}
[engine]
data_dir = "{data_dir}"
[observability]
metrics_port = {port}
[risk]
{risk}
"""
CREDENTIAL = re.compile(r"^ARB_[A-Z0-9_]+_(API_KEY|API_SECRET|PASSPHRASE)$")
HEALTH = re.compile(r"health: http://([0-9.]+):(\d+)/readyz")


class ThreadSim:
    """A `SimExchange` of `venues` on a thread of its own; `urls` venue -> (rest, ws)."""

    def __init__(self, venues: Sequence[str], seed: int) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="shared simulator", daemon=True)
        self._thread.start()

        async def make() -> SimExchange:
            return SimExchange(list(venues), seed=seed)

        self.sim = self._run(make())
        self.urls: dict[str, tuple[str, str]] = self._run(self.sim.start())

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(CALL_TIMEOUT_S)

    def call(self, fn: Callable[[SimExchange], T]) -> T:
        """`fn(sim)` on the simulator's loop (nothing of the simulator changes meanwhile)."""

        async def run() -> T:
            return fn(self.sim)

        return self._run(run())

    def close(self) -> None:
        try:
            self._run(self.sim.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()


class SimUrlWorker(Worker):
    """One `arb-engine run --live --sim-url ... --cluster` process trading the shared simulator's
    account (its own data dir and journal; `risk` is TOML for the `[risk]` section)."""

    def __init__(self, tmp: Path, url: str, name: str, urls: Mapping[str, tuple[str, str]], *,
                 lease_s: float, duration: float = 300.0, risk: str = "") -> None:
        self.name = name
        self.data_dir = tmp / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "arb.toml"
        config.write_text(CONFIG.format(symbols=msgspec.json.encode(SYMBOLS).decode(), data_dir=self.data_dir,
                                        risk=risk, port=free_port()))
        self.out_path = self.data_dir / "out.txt"
        sims = [arg for venue, (rest, ws) in urls.items() for arg in ("--sim-url", f"{venue}={rest},{ws}")]
        env = {k: v for k, v in os.environ.items() if not CREDENTIAL.match(k)}  # the suite's canary keys:
        env["PYTHONPATH"] = str(ROOT)                                            # the simulator's account
        with self.out_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "arb.cli", "run", "--config", str(config), "--live", *sims, "--quiet",
                 "--cluster", url, "--worker", name, "--lease-s", str(lease_s), "--duration", str(duration)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.data_dir, env=env)

    def status(self) -> dict[str, Any] | None:
        """The worker's /status document (None until its health server is up, or once it is gone)."""
        found = HEALTH.search(self.output)
        if found is None:
            return None
        try:
            with urllib.request.urlopen(f"http://{found[1]}:{found[2]}/status", timeout=5) as reply:
                document: dict[str, Any] = json.loads(reply.read())
                return document
        except OSError:
            return None

    def limiter(self, venue: str) -> dict[str, Any]:
        """The venue's rate limiter stats from /status ({} when unavailable)."""
        status = self.status()
        return dict(status["rate_limits"].get(venue, {})) if status else {}
