"""One `arb-engine sim` process every worker of a test trades against (one simulated account, as
`demo --cluster` shares its simulator), and what the venues answer about that account, read through
the venues' own signed connectors (REST), as a worker reads it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.config import Config, default_config
from arb.demo import sim_credentials
from arb.model import AssetBalance
from arb.venues.base import PrivateExchangeInterface
from arb.venues.registry import make_private
from tests.cluster.workers import ROOT

VENUES = ["binance", "mexc", "gateio"]
URL_LINE = re.compile(r"^(\w+) rest=(\S+) ws=(\S+)$", re.M)


class SharedSim:
    """`arb-engine sim --venues ... [--fault ...]` in its own process."""

    def __init__(self, tmp: Path, faults: Sequence[str] = (), seed: int = 7, start_s: float = 60.0) -> None:
        self.out_path = tmp / "sim.txt"
        args = [sys.executable, "-m", "arb.cli", "sim", "--venues", *VENUES, "--seed", str(seed)]
        for fault in faults:
            args += ["--fault", fault]
        with self.out_path.open("wb") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)})
        began = time.monotonic()
        while len(self.urls) < len(VENUES):
            if self.proc.poll() is not None or time.monotonic() - began > start_s:
                raise AssertionError(f"the simulator did not start: {self.output[-2000:]}")
            time.sleep(0.2)

    @property
    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def urls(self) -> dict[str, tuple[str, str]]:
        return {m.group(1): (m.group(2), m.group(3)) for m in URL_LINE.finditer(self.output)}

    @property
    def sim_urls(self) -> list[str]:
        """``--sim-url`` values for the workers."""
        return [f"{venue}={rest},{ws}" for venue, (rest, ws) in self.urls.items()]

    def private(self, venue: str) -> PrivateExchangeInterface:
        """The venue's signed connector on the simulated account (call in an event loop; close it)."""
        return make_private(venue, self.config.enabled_venues[venue], sim_credentials([venue])[venue])

    @property
    def config(self) -> Config:
        """A config whose venues are the simulator's."""
        return default_config(symbols=["BTC/USDT"], venues={v: {"rest_url": rest, "ws_url": ws}
                                                            for v, (rest, ws) in self.urls.items()})

    async def balances(self) -> dict[str, dict[str, AssetBalance]]:
        out = {}
        for venue in VENUES:
            private = self.private(venue)
            try:
                out[venue] = await private.balances()
            finally:
                await private.close()
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def ledger_differs(ledger: dict[str, Any], balances: dict[str, dict[str, AssetBalance]]) -> list[str]:
    """Accounts whose funds are not the venue's balance (free + locked), as ``key ledger venue``."""
    out = []
    for key, account in sorted(ledger.items()):
        venue, asset = key.split(".", 1)
        held = balances.get(venue, {}).get(asset)
        actual = held.total if held is not None else Decimal(0)
        if account.funds != actual:
            out.append(f"{key} ledger {account.funds} venue {actual}")
    return out
