"""The `--cluster` flags' mistakes: one line naming the flag or the problem, the right exit code,
never a traceback; `status --cluster` reads a real cluster."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from arb.cli import main
from arb.cluster.server import NatsServer, free_port
from tests.cluster.workers import CONFIG, ROOT, SYMBOLS, Worker, holders, wait_for


def _config(tmp_path: Path) -> str:
    path = tmp_path / "arb.toml"
    path.write_text(CONFIG.format(symbols=json.dumps(SYMBOLS), data_dir=tmp_path / "data"))
    return str(path)


@pytest.mark.parametrize(("flags", "named"), [
    (["--cluster", "http://127.0.0.1:4222"], "--cluster 'http://127.0.0.1:4222': expected nats://HOST:PORT"),
    (["--cluster", "nats://127.0.0.1:4222", "--worker", "a b"], "--worker 'a b': 1-64 letters"),
    (["--cluster", "nats://127.0.0.1:4222", "--lease-s", "0.1"], "--lease-s 0.1: between 1 and 600"),
    (["--cluster", "nats://127.0.0.1:4222", "--replicas", "2"], "--replicas 2: 1, 3 or 5"),
    (["--worker", "w1"], "--worker needs --cluster URL"),
])
def test_a_bad_cluster_flag_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                     named: str) -> None:
    assert main(["run", "--config", _config(tmp_path), "--sim", *flags]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_an_unreachable_nats_is_said_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    assert main(["halt", "--cluster", url]) == 3
    err = capsys.readouterr().err
    assert f"cannot reach NATS at {url}" in err and "Traceback" not in err
    run = ["run", "--config", _config(tmp_path), "--sim", "--quiet", "--cluster", url, "--worker", "w"]
    assert main(run) == 2
    assert f"cannot join the cluster: cannot reach NATS at {url}" in capsys.readouterr().out


def test_status_of_a_cluster(nats_server: NatsServer, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    url = nats_server.url
    assert main(["status", "--cluster", url]) == 3  # no worker ever ran here
    assert "no cluster here yet" in capsys.readouterr().err
    worker = Worker(tmp_path, url, "w1", lease_s=2.0)
    try:
        wait_for(lambda: asyncio.run(holders(url)), 90, "w1 joined")
        # a second worker with another lease period is refused, naming the one in force
        other = subprocess.run(
            [sys.executable, "-m", "arb.cli", "run", "--config", _config(tmp_path), "--sim", "--quiet",
             "--cluster", url, "--worker", "w2", "--lease-s", "5"],
            capture_output=True, text=True, timeout=60, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert other.returncode == 2, other.stdout + other.stderr
        assert "this cluster's lease period is 2 s (its bucket arb_leases says so): run with --lease-s 2" \
            in other.stdout
        assert main(["halt", "--cluster", url, "--reason", "lunch"]) == 0
        capsys.readouterr()
        assert main(["status", "--cluster", url]) == 0
        text = capsys.readouterr().out
        assert f"cluster {url}: HALTED (lunch)" in text and "members        w1" in text
        assert "w1             owns BTC/USDT, DOGE/USDT, ETH/USDT, SOL/USDT, XRP/USDT" in text
        assert "binance.USDT" in text
    finally:
        assert worker.stop() == 0, worker.output[-2000:]
    assert main(["status", "--cluster", url, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "HALTED" and status["members"] == [] and status["owners"] == {}  # w1 left
    assert status["ledger"]["binance.USDT"]["held"] == {} and status["events"] > 0


NATS = "nats://127.0.0.1:4222"


@pytest.mark.parametrize(("argv", "named"), [
    (["pnl", "--cluster", "localhost:4222"], "--cluster 'localhost:4222': expected nats://HOST:PORT"),
    (["top", "--cluster", "localhost:4222"], "--cluster 'localhost:4222': expected nats://HOST:PORT"),
    (["pnl", "--cluster", NATS, "--since", "last week"], "--since 'last week': expected 30s"),
    (["pnl", "--since", "2h"], "--since needs --cluster URL"),
    (["top", "--since", "2h"], "--since needs --cluster URL"),
    (["top", "--cluster", NATS, "--interval", "3"], "--interval 3.0: expected 0 < seconds"),
])
def test_a_bad_pnl_or_top_flag_is_named(capsys: pytest.CaptureFixture[str], argv: list[str],
                                        named: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


def test_pnl_and_top_of_an_unreachable_or_empty_cluster_say_so(
        nats_server: NatsServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    for command in ("pnl", "top"):
        assert main([command, "--cluster", url]) == 3
        err = capsys.readouterr().err
        assert f"cannot reach NATS at {url}" in err and "Traceback" not in err
        assert main([command, "--cluster", nats_server.url]) == 3  # a NATS no worker ever used
        err = capsys.readouterr().err
        assert "no event stream ARB_EVENTS here: no worker ever ran on this cluster" in err, err
