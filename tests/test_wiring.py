"""Issue 11.1: every advertised knob does something, driven through `arb-engine` as a user runs it.

uvloop and the loop-lag monitor are read from a running engine's `/status`, `/readyz` and
`/metrics`; logging from `run`'s stderr; `check` under ``python -O`` against a simulator that must
fail one check.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.model import Symbol
from arb.sim.market import SimSymbolSpec
from arb.sim.server import SimExchange

ROOT = Path(__file__).resolve().parents[1]
CANARY = "canary-wiring-5e1d"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("ARB__OBSERVABILITY__METRICS_PORT", None)
    return {**env, **extra}


def _config(tmp_path: Path, body: str = "") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "arb.toml"
    path.write_text(f'symbols = ["BTC/USDT"]\n[engine]\ndata_dir = "{tmp_path / "data"}"\n{body}')
    return path


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _run_and_read(tmp_path: Path, use_uvloop: bool) -> tuple[dict[str, Any], str, str, str]:
    """`arb-engine run --sim` in a subprocess; its /status, /readyz, /metrics while it runs, and stdout."""
    port = _free_port()
    config = _config(tmp_path, f"use_uvloop = {str(use_uvloop).lower()}\n"
                               f"[observability]\nmetrics_port = {port}\nloop_lag_warn_ms = 1000\n")
    proc = subprocess.Popen([sys.executable, "-m", "arb.cli", "run", "--config", str(config), "--sim",
                             "--duration", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())
    try:
        status: dict[str, Any] = {}
        for _ in range(400):
            time.sleep(0.05)
            try:
                code, body = _get(f"http://127.0.0.1:{port}/status")
            except OSError:
                continue
            status = json.loads(body)
            if code == 200 and status.get("books_synced") == 3 and status["event_loop"]["samples"] > 1:
                break
        _, ready = _get(f"http://127.0.0.1:{port}/readyz")
        _, metrics = _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        proc.terminate()  # SIGTERM: the engine stops cleanly and prints its summary
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return status, ready, metrics, out


def test_run_uses_uvloop_by_default_and_asyncio_when_disabled(tmp_path: Path) -> None:
    status, ready, metrics, out = _run_and_read(tmp_path / "uv", use_uvloop=True)
    assert status["event_loop"]["implementation"] == "uvloop"
    assert status["event_loop"]["warn_ms"] == 1000  # observability.loop_lag_warn_ms reaches the monitor
    assert status["event_loop"]["samples"] > 0  # the lag monitor runs with the HTTP server
    assert "event loop uvloop" in out
    assert "loop_lag_ms" in json.loads(ready)
    assert "arb_event_loop_lag_seconds " in metrics and "arb_event_loop_lag_warnings_total" in metrics
    status, _, _, out = _run_and_read(tmp_path / "plain", use_uvloop=False)
    assert status["event_loop"]["implementation"] == "asyncio"
    assert "event loop asyncio" in out


def test_run_logs_json_lines_and_never_a_secret(tmp_path: Path) -> None:
    config = _config(tmp_path, "[observability]\nmetrics_port = 0\n")
    env = _env(ARB_BINANCE_API_KEY=CANARY, ARB_BINANCE_API_SECRET=CANARY + "-s")
    done = subprocess.run([sys.executable, "-m", "arb.cli", "--log-level", "DEBUG", "run", "--log-format",
                           "json", "--config", str(config), "--sim", "--duration", "2"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines, done.stderr
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    assert any(line["level"] == "INFO" and line["msg"].startswith("engine arb started") for line in lines)
    assert CANARY not in done.stdout + done.stderr
    # the config's log level is honoured when no flag overrides it
    quiet = _config(tmp_path, 'log_level = "ERROR"\n[observability]\nmetrics_port = 0\n')
    done = subprocess.run([sys.executable, "-m", "arb.cli", "run", "--config", str(quiet), "--sim",
                           "--duration", "1"], capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 0 and " INFO " not in done.stderr, done.stderr


async def test_check_fails_under_python_O_when_the_venue_breaks_a_rule() -> None:
    """The simulator lists no BTC/USDT, so 'symbols load' must FAIL: with `assert` it could not
    under -O (the check would pass, or crash with an IndexError)."""
    universe = [SimSymbolSpec(Symbol("ETH", "USDT"), Decimal("3000"), Decimal("0.01"), Decimal("0.0001"))]
    sim = SimExchange(["binance"], seed=3, universe=universe)
    urls = await sim.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-O", "-m", "arb.cli", "check", "binance", "--sim-url", urls["binance"][0],
            "--json", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=_env())
        out, err = await asyncio.wait_for(proc.communicate(), 120)
    finally:
        await sim.close()
    assert proc.returncode == 1, err.decode()
    assert b"Traceback" not in err
    checks = {c["check"]: c for c in json.loads(out)["checks"]}
    failed = checks["symbols load"]
    assert not failed["ok"] and failed["detail"] == "CheckFailed: BTC/USDT not listed"


def test_check_catches_a_broken_rule_in_process() -> None:
    from arb.check import CheckFailed, require

    require(True, "never raised")
    with pytest.raises(CheckFailed, match="the book went stale"):
        require(False, "the book went stale")
