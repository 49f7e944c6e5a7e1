"""Watching a cluster: two `run --cluster` workers trade; `arb-engine top --cluster` in a real terminal
(tmux) shows both, their symbols and their fills, and its keys halt and resume every worker (each
journals it); once they stop, `arb-engine pnl --cluster` reads the event stream and its figures equal
what each worker's own journal says (`arb-engine pnl`), and every order the journals hold reached the
stream with its final state."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from arb.cluster.events import EventKind
from arb.cluster.feed import OrderEvent, read_events, subject
from arb.cluster.server import NatsServer
from arb.model import OrderStatus
from tests.cluster.workers import ROOT, SYMBOLS, Worker, holders, wait_for

LEASE_S = 2.0
START_S = 90.0  # a worker process starts its simulator and engine: slow on a loaded 2-core machine
SCRIPT = Path(sys.executable).with_name("arb-engine")
TMUX = shutil.which("tmux")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arb.cli", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _fills(worker: Worker) -> int:
    return int(worker.query("SELECT count(*) FROM fills")[0][0]) if worker.query(  # type: ignore[call-overload]
        "SELECT 1 FROM fills LIMIT 1") else 0


def _journal_pnl(worker: Worker) -> Decimal:
    """The worker's own `arb-engine pnl` total (its journal)."""
    done = _cli("pnl", "--data-dir", str(worker.data_dir), "--json")
    assert done.returncode == 0, done.stderr
    return sum((Decimal(row["pnl"]) for row in json.loads(done.stdout)), Decimal(0))


def _row(screen: str, worker: str) -> list[str]:
    """The worker's row of top's Workers table, split on blanks ([] when not shown)."""
    for line in screen.splitlines():
        parts = line.replace(",", " ").split()
        if len(parts) > 1 and parts[0] == worker and parts[1].isupper():
            return parts
    return []


def _states(screen: str) -> list[str]:
    return [(_row(screen, w) or ["", ""])[1] for w in ("w1", "w2")]


def _events(url: str, kind: EventKind) -> list[Any]:
    return asyncio.run(read_events(url, [subject(kind)]))


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install -y tmux; .ci/run does)")
@pytest.mark.skipif(not SCRIPT.exists(), reason="arb-engine console script not installed")
def test_top_and_pnl_see_the_whole_cluster(nats_server: NatsServer, tmp_path: Path) -> None:
    assert TMUX is not None
    url = nats_server.url
    workers = [Worker(tmp_path, url, name, lease_s=LEASE_S, duration=300) for name in ("w1", "w2")]
    server = f"arb-top-{uuid.uuid4().hex[:8]}"  # a private tmux server, killed at the end

    def tmux(*args: str) -> str:
        return subprocess.run([TMUX, "-L", server, *args], capture_output=True, text=True, check=True).stdout

    def pane() -> str:
        return tmux("capture-pane", "-p", "-t", "top")

    try:
        wait_for(lambda: sorted(asyncio.run(holders(url))) == sorted(SYMBOLS)
                 and set(asyncio.run(holders(url)).values()) == {"w1", "w2"}, START_S, "both own a shard")
        wait_for(lambda: all(_fills(w) >= 2 for w in workers), START_S, "both workers have fills")

        env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        cmd = f"{SCRIPT} top --cluster {url}; echo top exited $?; sleep 60"
        subprocess.run([TMUX, "-L", server, "-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", "160",
                        "-y", "50", cmd], check=True, env=env)
        wait_for(lambda: _states(pane()) == ["TRADING", "TRADING"], 60, "top shows both workers trading")
        screen = pane()
        for shown in ("ACTIVE", "members 2", "Recent trades", "USDT", "h halt cluster  r resume cluster"):
            assert shown in screen, screen
        shown_symbols = [s for w in ("w1", "w2") for s in _row(screen, w)[2:] if s in SYMBOLS]
        assert sorted(shown_symbols) == sorted(SYMBOLS), screen  # each symbol on its owner's row, once
        assert all(any(s in SYMBOLS for s in _row(screen, w)) for w in ("w1", "w2")), screen

        tmux("send-keys", "-t", "top", "h")
        wait_for(lambda: "halt reason" in pane(), 10, "the reason prompt")
        tmux("send-keys", "-t", "top", "-l", "tmux halts all")
        tmux("send-keys", "-t", "top", "Enter")
        wait_for(lambda: "halt sent: cluster is HALTED (tmux halts all)" in pane(), 20, "halt sent")
        wait_for(lambda: all(any("reason=cluster: tmux halts all" in d for _, d in w.halts())
                             for w in workers), 10, "every worker journaled the cluster HALT")
        wait_for(lambda: _states(pane()) == ["HALTED", "HALTED"], 20, "top shows them HALTED")

        tmux("send-keys", "-t", "top", "r")
        wait_for(lambda: "resume sent: cluster is ACTIVE" in pane(), 20, "resume sent")
        wait_for(lambda: all(w.query("SELECT 1 FROM risk_events WHERE kind = 'RESUME'") for w in workers), 10,
                 "every worker journaled the RESUME")
        wait_for(lambda: _states(pane()) == ["TRADING", "TRADING"], 20, "top shows them trading")

        tmux("send-keys", "-t", "top", "q")
        wait_for(lambda: "top exited 0" in pane(), 20, "top to quit")
    finally:
        subprocess.run([TMUX, "-L", server, "kill-server"], capture_output=True)
        codes = [w.stop() for w in workers]
    assert codes == [0, 0], [w.output[-2000:] for w in workers]

    # pnl --cluster: the event stream's figures are the journals' figures
    done = _cli("pnl", "--cluster", url, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    journals = {w.name: _journal_pnl(w) for w in workers}
    per_worker = {row["worker"]: Decimal(row["pnl"]) for row in report["workers"]}
    assert per_worker == journals, (per_worker, journals)
    total = Decimal(report["total"]["pnl"])
    assert total == sum(journals.values())
    assert report["total"]["fills"] == sum(_fills(w) for w in workers)
    for section in ("pairs", "symbols"):
        assert sum(Decimal(row["pnl"]) for row in report[section]) == total, section
    assert all(">" in row["pair"] for row in report["pairs"]), report["pairs"]  # every fill has its pair
    assert report["missing"] == {}
    text = _cli("pnl", "--cluster", url)
    assert text.returncode == 0 and "By venue pair (buy>sell)" in text.stdout, text.stderr
    print(f"cluster PnL {total} = " + " + ".join(f"{w} {p}" for w, p in journals.items()))

    # top --cluster without a terminal: the same figures, both workers gone cleanly
    shown = _cli("top", "--cluster", url)
    assert shown.returncode == 0, shown.stderr
    for w in workers:
        row = _row(shown.stdout, w.name)
        assert row[1] == "LEFT" and str(_fills(w)) in row and str(per_worker[w.name]) in row, \
            (row, shown.stdout)

    # every order the journals hold reached the stream with its final state
    finals: dict[str, dict[str, int]] = {}
    for msg in _events(url, EventKind.ORDER):
        event = msgspec.json.decode(msg.data, type=OrderEvent)
        if event.event in ("final", "late"):
            finals.setdefault(event.worker, {})[event.order.client_order_id] = int(event.order.status)
    for w in workers:
        journaled = {str(cid): int(status) for cid, status in  # type: ignore[call-overload]
                     w.query("SELECT client_order_id, status FROM orders")}
        assert journaled and all(s >= OrderStatus.FILLED for s in journaled.values()), journaled
        assert finals.get(w.name) == journaled, (w.name, finals.get(w.name), journaled)

    # --since: nothing after the future; a bad value is a usage error, not a traceback
    later = _cli("pnl", "--cluster", url, "--since", "2099-01-01T00:00:00Z", "--json")
    assert later.returncode == 0 and json.loads(later.stdout)["total"]["fills"] == 0, later.stderr
    bad = _cli("pnl", "--cluster", url, "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday': expected 30s, 15m" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
