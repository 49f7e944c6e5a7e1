"""Issue 11.4: a user's mistake gets one clear line and a documented exit code, never a traceback.

Each case runs the command as typed (`arb.cli.main` with stderr captured, or a subprocess where a
signal or a second process is part of the case).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from arb.cli import ExitCode, main
from arb.engine.control import DataDirLock

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ARB__OBSERVABILITY__METRICS_PORT", None)
    return env


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str], code: int, *needles: str) -> str:
    """`arb-engine ARGV` exits `code` (argparse's own exit included) with every needle on stderr."""
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse rejects a bad flag value itself (exit 2, usage + message)
        got = int(exc.code or 0)
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.parametrize(("argv", "needles"), [
    (["demo", "--duration", "0"], ["--duration", "must be greater than 0"]),
    (["demo", "--duration", "-5"], ["--duration", "must be greater than 0"]),
    (["demo", "--symbols", "BTCUSDT"], ["'BTCUSDT' is not BASE/QUOTE"]),
    (["demo", "--venues", "binance"], ["--venues", "at least two venues"]),
    (["record", "--out", "x", "--symbols", "BTCUSDT"], ["'BTCUSDT' is not BASE/QUOTE"]),
    (["record", "--out", "x", "--sim", "--duration", "0"], ["--duration", "must be greater than 0"]),
    (["run", "--config", "x.toml", "--duration", "-1"], ["--duration", "must be greater than 0"]),
    (["sim", "--port", "99999"], ["--port", "0-65535"]),
    (["pnl", "--by", "week"], ["--by", "invalid choice"]),
    (["check", "okx", "--sim-url", "127.0.0.1:9000"], ["--sim-url '127.0.0.1:9000': expected http://"]),
    (["record", "--out", "x", "--sim-url", "binance=localhost:1"], ["expected binance=http://HOST:PORT"]),
    (["history", "--limit", "-1"], ["--limit", "must be 1 or more, got -1"]),  # SQLite: -1 is no limit
    (["history", "--limit", "0"], ["--limit", "must be 1 or more, got 0"]),  # said "(nothing yet)"
    (["history", "--json", "--csv"], ["--csv", "not allowed with argument --json"]),
    (["replay", "rec", "--drop-every", "-3"], ["--drop-every", "must be 0 or more"]),  # silently no drops
    (["record", "--out", "x", "--sim", "--snapshot-every", "-1"], ["--snapshot-every", "must be 0 or more"]),
])
def test_bad_flags_name_the_flag(argv: list[str], needles: list[str],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    _fails(argv, capsys, ExitCode.USAGE, *needles)


def test_demo_data_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    _fails(["demo", "--data-dir", str(afile)], capsys, ExitCode.USAGE, f"--data-dir {afile} is a file")


@pytest.mark.parametrize(("toml", "needles"), [
    ('[engine.paper_balances]\nUSDT = "-100"\n', ["engine.paper_balances.USDT", "must be a number >= 0"]),
    ('[risk.inventory_min]\nBTC = "-1"\n', ["risk.inventory_min.BTC", ">= 0"]),
    ("[risk]\ncircuit_cooldown_s = -3\n", ["risk.circuit_cooldown_s", "-3"]),
    ("[executor]\norder_timeout_ms = 0\n", ["executor.order_timeout_ms"]),
    ('[venues.binance]\nrest_url = "not a url"\n[venues.mexc]\n',
     ["venues.binance.rest_url", "http://host[:port]", "'not a url'"]),
    ('[venues.binance]\nws_url = "http://127.0.0.1:1"\n[venues.mexc]\n', ["venues.binance.ws_url", "ws://"]),
    ('[engine]\nmode = "papper"\n', ["engine.mode", "expected one of 'paper', 'live'", "papper"]),
    ('[engine]\nlog_format = "xml"\n', ["engine.log_format", "'console', 'json'"]),
    ('[journal]\nsync = "off"\n', ["journal.sync", "'normal', 'full'"]),
])
def test_config_validate_names_field_and_expectation(
    toml: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('symbols = ["BTC/USDT"]\n' + toml)
    assert main(["config", "validate", str(path)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "Traceback" not in err and all(n in err for n in needles), err
    # `run` refuses the same file before trying anything (it used to retry "not a url" forever)
    _fails(["run", "--config", str(path), "--duration", "1"], capsys, ExitCode.USAGE, needles[0])


def test_corrupt_journal_in_status_pnl_history_and_run(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "journal.sqlite").write_bytes(b"this is not sqlite, it was overwritten by mistake\n" * 40)
    for command in ("status", "pnl", "history"):
        _fails([command, "--data-dir", str(data)], capsys, ExitCode.ENVIRONMENT,
               f"{data / 'journal.sqlite'} is not a readable arb journal")
    config = tmp_path / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[engine]\ndata_dir = "{data}"\n'
                      "[observability]\nmetrics_port = 0\n")
    _fails(["run", "--config", str(config), "--sim", "--duration", "5"], capsys, ExitCode.ENVIRONMENT,
           f"{data / 'journal.sqlite'} is not a readable arb journal")


def test_record_without_network_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real venues' hosts; the sandbox (and CI) has no route to them: a clear line, exit 3."""
    config = tmp_path / "arb.toml"
    # a closed loopback port stands in for an unreachable venue (tests never leave 127.0.0.1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    config.write_text('symbols = ["BTC/USDT"]\n'
                      f'[venues.binance]\nrest_url = "http://127.0.0.1:{dead}"\nws_url = "ws://127.0.0.1:{dead}"\n'
                      f'[venues.mexc]\nrest_url = "http://127.0.0.1:{dead}"\nws_url = "ws://127.0.0.1:{dead}/ws"\n'
                      "[venues.binance.market_data]\nretries = 0\n[venues.mexc.market_data]\nretries = 0\n")
    _fails(["record", "--out", str(tmp_path / "rec"), "--config", str(config), "--duration", "2", "--quiet"],
           capsys, ExitCode.ENVIRONMENT, "cannot reach binance", "no network?")


def test_port_in_use_for_sim_and_a_second_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "arb.cli", "sim", "--port", str(port)],
                              capture_output=True, text=True, env=_env(), timeout=60)
        assert done.returncode == ExitCode.ENVIRONMENT and "Traceback" not in done.stderr
        assert "already in use" in done.stderr and str(port) in done.stderr
        config = tmp_path / "arb.toml"  # a second engine on the first one's metrics port
        config.write_text(f'symbols = ["BTC/USDT"]\n[engine]\ndata_dir = "{tmp_path}"\n'
                          f"[observability]\nmetrics_port = {port}\n")
        _fails(["run", "--config", str(config), "--sim", "--duration", "5"], capsys, ExitCode.ENVIRONMENT,
               "already in use", str(port))


def test_corrupt_recording_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "rec"
    assert main(["record", "--out", str(rec), "--sim", "--duration", "1", "--quiet", "--venues", "binance",
                 "mexc"]) == 0
    capsys.readouterr()
    data = bytearray((rec / "binance.rec").read_bytes())
    data[8] = 77  # the first record's kind byte
    (rec / "binance.rec").write_bytes(bytes(data))
    # an unreadable recording is an environment error (3, the README's table), a missing one usage (2)
    _fails(["replay", str(rec), "--quiet", "--data-dir", str(tmp_path / "d")], capsys, ExitCode.ENVIRONMENT,
           str(rec / "binance.rec"), "corrupt record at byte 8")
    (rec / "manifest.json").write_text("{not json")
    _fails(["replay", str(rec), "--quiet"], capsys, ExitCode.ENVIRONMENT, str(rec / "manifest.json"))
    _fails(["replay", str(tmp_path), "--quiet"], capsys, ExitCode.USAGE,
           f"no recording in {tmp_path}: it has no manifest.json")


def _interrupt(argv: list[str], ready: str) -> tuple[int, str, str]:
    """Start `arb-engine ARGV`, wait for `ready` on stderr (its log lines), send SIGINT (Ctrl-C);
    exit code and output."""
    proc = subprocess.Popen([sys.executable, "-m", "arb.cli", "--log-level", "DEBUG", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stderr is not None
    seen = ""
    while ready not in seen:
        line = proc.stderr.readline()
        assert line, f"exited before {ready!r}: {seen}"
        seen += line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, seen + err


def test_ctrl_c_in_demo_prints_what_was_done_and_exits_130(tmp_path: Path) -> None:
    code, out, err = _interrupt(["demo", "--duration", "120", "--symbols", "BTC/USDT", "--data-dir",
                                 str(tmp_path)], "book synced")
    assert code == ExitCode.INTERRUPTED and "Traceback" not in err, err
    assert "Interrupted after" in out and "what was done so far" in out
    assert "books synced" in out and "Trades" in out and "interrupted (Ctrl-C)" in err


def test_ctrl_c_in_check_prints_the_checks_done() -> None:
    """Against a stalled simulator the book check waits for data: Ctrl-C lands in it."""
    sim = subprocess.Popen([sys.executable, "-m", "arb.cli", "sim", "--venues", "mexc", "--fault",
                            "mexc:stall"], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert sim.stdout is not None
        _, rest, _ = sim.stdout.readline().split(" ")
        code, out, err = _interrupt(["check", "mexc", "--sim-url", rest.removeprefix("rest=")],
                                    "book invalid (check)")
    finally:
        sim.terminate()
        sim.communicate(timeout=30)
    assert code == ExitCode.INTERRUPTED and "Traceback" not in err, err
    assert "PASS  symbols load" in out and "interrupted after 1 of 9 checks" in out


def test_record_that_gets_no_frames_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sim = subprocess.Popen([sys.executable, "-m", "arb.cli", "sim", "--venues", "mexc", "binance", "--fault",
                            "mexc:stall", "--fault", "binance:stall"], stdout=subprocess.PIPE, text=True,
                           env=_env())
    try:
        assert sim.stdout is not None
        urls = [sim.stdout.readline().split(" ")[:2] for _ in range(2)]
        argv = ["record", "--out", str(tmp_path / "rec"), "--duration", "1", "--quiet"]
        for venue, rest in urls:
            argv += ["--sim-url", f"{venue}={rest.removeprefix('rest=')}"]
        _fails(argv, capsys, ExitCode.FAILED, "no frames arrived")
    finally:
        sim.terminate()
        sim.communicate(timeout=30)


def test_ctrl_c_in_replay_prints_what_was_replayed(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rec = tmp_path / "rec"
    assert main(["record", "--out", str(rec), "--sim", "--duration", "3", "--quiet"]) == 0
    capsys.readouterr()
    # at 0.2x real time the 3 s recording takes 15 s: Ctrl-C lands in the middle
    code, out, err = _interrupt(["replay", str(rec), "--speed", "0.2", "--quiet"], "book invalid (start)")
    assert code == ExitCode.INTERRUPTED and "Traceback" not in err, err
    assert "Interrupted after" in out and f"frames of {rec}" in out and "books synced" in out


def test_demo_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at hyphens
    assert "simulated money" in text and "live mode" in text and "signed IOC orders" in text
    assert "one-legged trades" in text and "paper" not in text  # it is not a paper run


def test_exit_codes_are_documented_in_help_and_readme(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    for code in ExitCode:
        assert f"  {int(code)} " in text, code
        assert f"| {int(code)} |" in readme, code
    assert json.dumps(sorted(int(c) for c in ExitCode)) == "[0, 1, 2, 3, 4, 130]"


def test_halt_says_whether_an_engine_runs_on_the_data_dir(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """`halt` in the wrong directory wrote a state file no engine reads and said only HALTED."""
    assert main(["halt", "--data-dir", str(tmp_path / "typo")]) == 0
    out = capsys.readouterr().out
    assert "HALTED" in out and f"no engine is running on {tmp_path / 'typo'}" in out
    lock = DataDirLock(tmp_path / "data")  # what a running engine holds, from another open file
    lock.acquire()
    try:
        assert main(["resume", "--data-dir", str(tmp_path / "data")]) == 0
        out = capsys.readouterr().out
        assert f"the engine running on {tmp_path / 'data'} (pid {os.getpid()}) applies it" in out
    finally:
        lock.release()
    assert main(["halt", "--data-dir", str(tmp_path / "data")]) == 0
    assert "no engine is running" in capsys.readouterr().out


def test_demo_of_a_symbol_no_simulated_venue_lists_says_so(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelled --symbols pair ran the whole demo on 0/0 books and exited 1 without saying why."""
    assert main(["demo", "--symbols", "FOO/USDT", "--duration", "60", "--data-dir", str(tmp_path)]) == \
        ExitCode.CANNOT_TRADE
    out = capsys.readouterr().out
    assert "cannot trade: FOO/USDT is listed (and trading) on no enabled venue" in out
    assert "Summary" not in out


def test_record_of_a_symbol_no_venue_lists_is_refused(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A misspelt pair recorded 0 frames until the duration ended (forever without one)."""
    out = tmp_path / "rec"
    _fails(["record", "--out", str(out), "--sim", "--symbols", "BTC/USDT", "FOO/USDT", "--duration", "60",
            "--quiet", "--venues", "binance", "mexc"], capsys, ExitCode.USAGE,
           "--symbols: FOO/USDT: listed (and trading) on none of binance, mexc")
    assert not (out / "manifest.json").exists()


def test_missing_or_broken_config_file_is_named_as_a_file(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Said "config field `<file>`: config file not found": the file is no field."""
    err = _fails(["config", "validate", str(tmp_path / "nope.toml")], capsys, ExitCode.USAGE,
                 f"error: config file not found: {tmp_path / 'nope.toml'}")
    assert "<file>" not in err
    broken = tmp_path / "broken.toml"
    broken.write_text('symbols = ["BTC/USDT"\n')
    err = _fails(["run", "--config", str(broken), "--sim"], capsys, ExitCode.USAGE,
                 f"{broken} is not valid TOML")
    assert "<file>" not in err


def test_check_against_nothing_listening_is_an_environment_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Exited 1 ("a check failed") when no check could run: nothing answered at the URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    _fails(["check", "okx", "--sim-url", f"http://127.0.0.1:{port}"], capsys, ExitCode.ENVIRONMENT,
           f"cannot reach the simulator at http://127.0.0.1:{port}", "is `arb-engine sim` running there?")


def test_check_report_columns_line_up(capsys: pytest.CaptureFixture[str]) -> None:
    """A check name of 35 characters pushed its row's figures one column right of the others."""
    assert main(["check", "binance"]) == ExitCode.OK
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  PASS")]
    assert len(rows) == 9
    assert len({line.index(" ms  ") for line in rows}) == 1, rows


def test_ctrl_c_in_run_exits_130_and_sigterm_0(tmp_path: Path) -> None:
    """`run` stopped cleanly on either signal and exited 0: Ctrl-C is 130 in the documented table
    (the summary first); SIGTERM, a service manager's stop, stays 0."""
    config = tmp_path / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[engine]\ndata_dir = "{tmp_path / "data"}"\n'
                      "[observability]\nmetrics_port = 0\n")
    argv = ["run", "--config", str(config), "--sim", "--quiet"]
    code, out, err = _interrupt(argv, "engine arb started")
    assert code == ExitCode.INTERRUPTED and "Traceback" not in err, err
    assert "Summary" in out and "books synced" in out and "interrupted (Ctrl-C)" in err
    assert "book synced (after )" not in err  # a book synced as its stream connected says so
    proc = subprocess.Popen([sys.executable, "-m", "arb.cli", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env())
    assert proc.stderr is not None
    while "engine arb started" not in (line := proc.stderr.readline()):
        assert line, "exited before it started"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.OK and "Summary" in out and "interrupted" not in err, err


def test_run_whose_venues_never_answer_is_an_environment_error(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        ports = a.getsockname()[1], b.getsockname()[1]  # closed again: nothing listens there
    config = tmp_path / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[engine]\ndata_dir = "{tmp_path / "data"}"\n'
                      "[observability]\nmetrics_port = 0\n")
    assert main(["run", "--config", str(config), "--sim-url", f"binance=http://127.0.0.1:{ports[0]}",
                 "--sim-url", f"mexc=http://127.0.0.1:{ports[1]}", "--duration", "2", "--quiet"]) == \
        ExitCode.ENVIRONMENT
    out = capsys.readouterr().out
    assert "cannot start against the venues" in out and "giving up" in out


def test_log_level_in_lower_case_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    """`--log-level debug` was refused: invalid choice 'debug' (choose from 'DEBUG', ...)."""
    assert main(["--log-level", "debug", "config", "schema"]) == ExitCode.OK
    assert main(["config", "schema", "--log-level", "warning"]) == ExitCode.OK
    _fails(["--log-level", "loud", "config", "schema"], capsys, ExitCode.USAGE, "--log-level",
           "invalid choice")


def test_live_run_without_a_required_passphrase_names_the_variable(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Named it as "config field `ARB_OKX_API_PASSPHRASE`": it is an environment variable."""
    config = tmp_path / "arb.toml"
    config.write_text('symbols = ["BTC/USDT"]\n[venues.okx]\n[venues.binance]\n'
                      "[observability]\nmetrics_port = 0\n")
    for name in ("ARB_OKX_API_KEY", "ARB_OKX_API_SECRET", "ARB_BINANCE_API_KEY", "ARB_BINANCE_API_SECRET"):
        monkeypatch.setenv(name, "canary-not-a-key")
    monkeypatch.delenv("ARB_OKX_API_PASSPHRASE", raising=False)
    err = _fails(["run", "--config", str(config), "--live", "--duration", "1"], capsys, ExitCode.USAGE,
                 "ARB_OKX_API_PASSPHRASE: okx needs its API passphrase too")
    assert "config field" not in err and "canary-not-a-key" not in err


def test_output_piped_into_a_reader_that_stops_early_is_not_an_error() -> None:
    """`arb-engine venues | head -2` printed "arb-engine: error: [Errno 32] Broken pipe", exit 3."""
    proc = subprocess.Popen([sys.executable, "-m", "arb.cli", "config", "schema"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env())
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the command writes (it imports first)
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == ExitCode.OK, err
    assert "Broken pipe" not in err and "Traceback" not in err and "Exception ignored" not in err, err
