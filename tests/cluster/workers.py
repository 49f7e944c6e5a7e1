"""Worker processes for the cluster tests: `arb-engine run --sim --cluster URL --worker NAME`, as a
user starts them (each with its own loopback simulator, paper mode, its own data dir), or with
`sim_urls` live against one shared `arb-engine sim` (`run --live --sim-url VENUE=URL ...`)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec
import nats.js.errors

from arb.cluster.conn import ClusterError, connect, open_buckets
from arb.cluster.leases import LEASE, LeaseRecord, read_prefix
from arb.cluster.ledger import Account, decode_account

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT"]
CONFIG = """symbols = {symbols}
[engine]
data_dir = "{data_dir}"
[observability]
metrics_port = 0
[engine.paper_balances]
USDT = "100000"
BTC = "1"
ETH = "20"
SOL = "300"
XRP = "60000"
DOGE = "250000"
[venues.binance]
enabled = true
[venues.mexc]
enabled = true
[venues.gateio]
enabled = true
"""


class Worker:
    """One `arb-engine run --cluster` process."""

    def __init__(self, tmp: Path, url: str, name: str, *, lease_s: float, duration: float = 60.0,
                 sim_urls: Sequence[str] = (), metrics_port: int = 0) -> None:
        """`sim_urls`: trade live against that shared simulator (else each its own `--sim`);
        `metrics_port`: serve `/status` (and /metrics) there; 0: none."""
        self.name = name
        self.metrics_port = metrics_port
        self.data_dir = tmp / name
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "arb.toml"
        text = CONFIG.format(symbols=msgspec.json.encode(SYMBOLS).decode(), data_dir=self.data_dir)
        if sim_urls:  # a set fee: no fee query per symbol and venue at each start
            text = text.replace("enabled = true\n", "enabled = true\ntaker_fee = 0.001\n")
        config.write_text(text.replace("metrics_port = 0", f"metrics_port = {metrics_port}"))
        target = ["--live", *(a for u in sim_urls for a in ("--sim-url", u))] if sim_urls else ["--sim"]
        self.out_path = self.data_dir / "out.txt"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if sim_urls:  # the simulator's funded account, not the suite's canary keys
            env = {k: v for k, v in env.items() if not (k.startswith("ARB_") and "_API_" in k)}
        with self.out_path.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "arb.cli", "run", "--config", str(config), *target, "--quiet",
                 "--cluster", url, "--worker", name, "--lease-s", str(lease_s), "--duration", str(duration)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.data_dir, env=env)

    @property
    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Read the worker's journal (read-only, while it runs or after)."""
        path = self.data_dir / "journal.sqlite"
        if not path.exists():
            return []
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return list(conn.execute(sql, params))
        except sqlite3.OperationalError:  # not created yet
            return []
        finally:
            conn.close()

    def orders_since(self, ts_ns: int) -> int:
        return int(self.query("SELECT count(*) FROM orders WHERE ts_created > ?", ts_ns)[0][0] or 0) \
            if self.query("SELECT 1 FROM orders LIMIT 1") else 0

    def halts(self) -> list[tuple[int, str]]:
        """(ts_ns, detail) of every HALT the worker journaled."""
        return [(int(ts), str(detail)) for ts, detail in  # type: ignore[call-overload]
                self.query("SELECT ts_ns, detail FROM risk_events WHERE kind = 'HALT' ORDER BY ts_ns")]

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (the runner stops cleanly: the worker leaves the cluster), wait for the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def wait_for(predicate: object, timeout: float, what: str, poll: float = 0.2) -> float:
    """Poll `predicate()` until true; the seconds it took (AssertionError naming `what` on timeout)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - began
        time.sleep(poll)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


async def leases(url: str) -> dict[str, LeaseRecord]:
    """symbol -> its lease record (holder, since when), as NATS has it now."""
    nc = await connect(url, name="observer")
    try:
        try:
            kv = (await open_buckets(nc.jetstream())).leases
        except ClusterError:  # no worker has created the cluster yet
            return {}
        return {s: msgspec.json.decode(raw, type=LeaseRecord)
                for s, (raw, _) in (await read_prefix(kv, LEASE)).items()}
    finally:
        await nc.close()


async def holders(url: str) -> dict[str, str]:
    """symbol -> the worker holding its lease, as NATS has it now."""
    return {s: record.worker for s, record in (await leases(url)).items()}


async def accounts(url: str) -> dict[str, Account]:
    nc = await connect(url, name="observer")
    try:
        try:
            kv = (await open_buckets(nc.jetstream())).ledger
        except ClusterError:
            return {}
        out: dict[str, Account] = {}
        try:
            keys = await kv.keys()
        except nats.js.errors.NoKeysError:  # leases are taken before the first tick seeds the ledger
            return out
        for key in keys:
            out[key] = decode_account((await kv.get(key)).value)
        return out
    finally:
        await nc.close()
