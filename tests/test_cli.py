from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import arb
from arb.cli import main, simulated_venues

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "arb.toml"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"arb-engine {arb.__version__}"


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).with_name("arb-engine")
    if not script.exists():
        pytest.skip("arb-engine console script not installed next to this interpreter")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"arb-engine {arb.__version__}"


def test_config_validate_ok_and_bad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "validate", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.startswith("ok:")
    bad = tmp_path / "bad.toml"
    bad.write_text('symbols = ["BTC/USDT"]\n[risk]\nmin_net_bps = -3\n')
    assert main(["config", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "risk.min_net_bps" in err and "-3" in err


def test_config_schema_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "schema"]) == 0
    assert "$defs" in json.loads(capsys.readouterr().out)


def test_config_show_masks_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARB_MEXC_API_KEY", "canary-key-cli")
    monkeypatch.setenv("ARB_MEXC_API_SECRET", "canary-secret-cli")
    monkeypatch.setenv("ARB__RISK__MIN_NET_BPS", "9")
    assert main(["config", "show", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["risk"]["min_net_bps"] == 9.0
    assert shown["credentials"]["mexc"].startswith("present")
    assert "canary-key-cli" not in out and "canary-secret-cli" not in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out


def test_halt_and_resume_persist_the_trading_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from arb.config import RiskConfig
    from arb.engine.risk import RiskManager, TradingState, state_path

    data = tmp_path / "data"
    assert main(["halt", "--data-dir", str(data), "--reason", "maintenance"]) == 0
    assert "HALTED" in capsys.readouterr().out
    risk = RiskManager(RiskConfig(), state_path(data), lambda: 0)
    assert risk.state is TradingState.HALTED and risk.reason == "maintenance"
    assert main(["resume", "--data-dir", str(data)]) == 0
    assert "was HALTED: maintenance" in capsys.readouterr().out
    assert RiskManager(RiskConfig(), state_path(data), lambda: 0).state is TradingState.ACTIVE


def test_sim_command_prints_its_urls_and_serves() -> None:
    import json as _json
    import urllib.request

    script = Path(sys.executable).with_name("arb-engine")
    if not script.exists():
        pytest.skip("arb-engine console script not installed next to this interpreter")
    proc = subprocess.Popen([str(script), "sim", "--seed", "3"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        venue, rest, ws = line.split(" ")
        assert venue == "binance" and rest.startswith("rest=http://127.0.0.1:") and ws.startswith("ws=ws://")
        with urllib.request.urlopen(rest.removeprefix("rest=") + "/api/v3/time", timeout=5) as resp:
            assert "serverTime" in _json.loads(resp.read())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_demo_runs_offline_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--duration", "2", "--symbols", "BTC/USDT", "ETH/USDT", "--data-dir",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "simulated binance: rest=http://127.0.0.1:" in out and "simulated mexc" in out
    books = 2 * len(simulated_venues())  # every simulated venue, two symbols each
    assert f"books synced                  {books}/{books}" in out and "journal" in out
    assert (tmp_path / "journal.sqlite").exists()


def test_run_paper_against_the_simulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # the example's data_dir is relative
    monkeypatch.setenv("ARB__OBSERVABILITY__METRICS_PORT", "0")  # never collide with a running engine
    assert main(["run", "--config", str(EXAMPLE), "--sim", "--duration", "1.5"]) == 0
    out = capsys.readouterr().out
    assert "running in paper mode on binance, gateio, mexc" in out and "books synced" in out
    assert (tmp_path / "arb-data" / "journal.sqlite").exists()


def test_run_live_needs_the_flag_and_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for venue in ("BINANCE", "GATEIO", "MEXC"):
        monkeypatch.delenv(f"ARB_{venue}_API_KEY", raising=False)
    assert main(["run", "--config", str(EXAMPLE), "--live"]) == 2
    assert "ARB_<VENUE>_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("ARB__ENGINE__MODE", "live")
    assert main(["run", "--config", str(EXAMPLE)]) == 2  # a config alone never trades real money
    assert "confirm with --live" in capsys.readouterr().err


def test_run_live_against_the_simulator_with_canary_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keys set in the environment are used (the simulator refuses them); they never appear in output."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARB__OBSERVABILITY__METRICS_PORT", "0")
    monkeypatch.setenv("ARB__VENUES__GATEIO__ENABLED", "false")
    monkeypatch.setenv("ARB_BINANCE_API_KEY", "canary-k")
    monkeypatch.setenv("ARB_BINANCE_API_SECRET", "canary-s")
    monkeypatch.delenv("ARB_MEXC_API_KEY", raising=False)
    assert main(["run", "--config", str(EXAMPLE), "--live", "--sim", "--duration", "1"]) == 2
    captured = capsys.readouterr()
    assert "canary" not in captured.out + captured.err
    assert "cannot start: AuthenticationError" in captured.out  # binance refused the unknown key
    monkeypatch.delenv("ARB_BINANCE_API_KEY")
    assert main(["run", "--config", str(EXAMPLE), "--live", "--sim", "--duration", "1.5"]) == 0
    assert "running in live mode on binance, mexc" in capsys.readouterr().out


def test_check_reports_each_conformance_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "mexc", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["venue"] == "mexc" and not report["live"]
    assert [c["ok"] for c in report["checks"]] == [True] * 9
    assert main(["check", "gateio"]) == 0  # gate's signed checks run against its simulated dialect
    out = capsys.readouterr().out
    for check in ("symbols load", "snapshot + stream -> SYNCED", "forced gap resyncs only that symbol",
                  "disconnect recovers", "signed order place/query/cancel", "user stream pushes the order",
                  "balances",
                  "error body -> typed exception", "bad key -> AuthenticationError"):
        assert f"PASS  {check}" in out
    assert "FAIL" not in out and "code INVALID_KEY" in out


def test_history_pnl_and_status_read_the_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    from decimal import Decimal

    from arb.engine.journal import Journal
    from arb.model import Fill, Opportunity, Side, Symbol

    btc = Symbol("BTC", "USDT")

    async def write() -> None:
        journal = Journal(tmp_path / "journal.sqlite", paper=True)
        await journal.open(mode="paper", version="t", now_ns=1)
        journal.record_opportunity(Opportunity(
            id="o1", symbol=btc, buy_venue="binance", sell_venue="gateio", quantity=0.5, buy_vwap=100.0,
            sell_vwap=101.0, buy_worst=100.0, sell_worst=101.0, gross_profit=0.5, net_profit=0.399,
            gross_bps=100.0, net_bps=79.8, ts_detected=5), "approved")
        for trade_id, side, price in (("t1", Side.BUY, "100"), ("t2", Side.SELL, "101")):
            journal.record_fill(Fill("binance", btc, trade_id, side, Decimal(price), Decimal("0.5"),
                                     Decimal("0.05"), "USDT"))
        await journal.close()

    asyncio.run(write())
    assert main(["history", "--data-dir", str(tmp_path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["decision"], row["buy_venue"]) == ("o1", "approved", "binance")
    assert main(["pnl", "--data-dir", str(tmp_path), "--json"]) == 0
    (pnl,) = json.loads(capsys.readouterr().out)
    assert pnl["symbol"] == "BTC/USDT" and Decimal(pnl["pnl"]) == Decimal("0.40")  # 50.5 - 50 - 0.1
    assert main(["pnl", "--data-dir", str(tmp_path), "--csv"]) == 0
    assert capsys.readouterr().out.startswith("symbol,fills,bought,sold,quote_flow,fees,pnl")
    assert main(["status", "--data-dir", str(tmp_path), "--json"]) == 0
    (status,) = json.loads(capsys.readouterr().out)
    assert status["source"].endswith("journal.sqlite")
    assert status["fills"] == 2 and status["opportunities"] == 1
    assert main(["pnl", "--data-dir", str(tmp_path / "nothing-here")]) == 2


def test_run_and_check_target_a_running_simulator_by_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--sim-url VENUE=URL` points `run` and `check` at an `arb-engine sim` started elsewhere."""
    script = Path(sys.executable).with_name("arb-engine")
    if not script.exists():
        pytest.skip("arb-engine console script not installed next to this interpreter")
    proc = subprocess.Popen([str(script), "sim", "--venues", "binance", "mexc", "--seed", "4"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        urls = {}
        for _ in range(2):
            venue, rest, _ws = proc.stdout.readline().strip().split(" ")
            urls[venue] = rest.removeprefix("rest=")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("ARB__OBSERVABILITY__METRICS_PORT", "0")
        args = ["run", "--config", str(EXAMPLE), "--duration", "1.5"]
        for venue, rest in urls.items():
            args += ["--sim-url", f"{venue}={rest}"]
        assert main(args) == 0
        out = capsys.readouterr().out
        assert "running in paper mode on binance, mexc;" in out  # gateio (not named) is left out
        assert main(["check", "binance", "--sim-url", urls["binance"], "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert [c["ok"] for c in report["checks"]] == [True] * 9
        assert main(["run", "--config", str(EXAMPLE), "--sim-url", "nowhere=http://127.0.0.1:1"]) == 2
        assert "--sim-url 'nowhere=" in capsys.readouterr().err
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
