"""`arb-engine sim --fault venue:kind[=value]` and `--no-limits`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from arb.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_sim_serves_with_a_skewed_clock_and_a_halted_symbol() -> None:
    cmd = [sys.executable, "-m", "arb.cli", "sim", "--venues", "binance", "--no-limits",
           "--fault", "binance:clock_skew_ms=-5000", "--fault", "binance:halt=BTC/USDT"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        _, rest, _ = proc.stdout.readline().strip().split(" ")
        base = rest.removeprefix("rest=")
        with urllib.request.urlopen(base + "/api/v3/time", timeout=10) as resp:
            server_ms = json.loads(resp.read())["serverTime"]
        assert abs(server_ms - (time.time_ns() // 1_000_000 - 5000)) < 2000
        with urllib.request.urlopen(base + "/api/v3/exchangeInfo", timeout=10) as resp:
            status = {s["symbol"]: s["status"] for s in json.loads(resp.read())["symbols"]}
        assert status["BTCUSDT"] == "HALT" and status["ETHUSDT"] == "TRADING"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("spec", ["binance:nope", "mexc:drop=lots", "gateio:stall", "binance:halt=BTC"])
def test_bad_faults_are_refused_before_serving(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--venues", "binance", "mexc", "--fault", spec]) == 2
    assert "arb-engine sim: " in capsys.readouterr().err
