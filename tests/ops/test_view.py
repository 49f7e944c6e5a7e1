"""`run`'s live view: the renderer on a snapshot, the detector's spread read, and `arb-engine run --sim`
in a pseudo-terminal (panels with real numbers), with `--quiet` (none), piped (a progress line) and
the runs that cannot trade anything (exit 4 with the reason, unless --wait)."""

from __future__ import annotations

import asyncio
import fcntl
import io
import logging
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from rich.console import Console

from arb._core.book import L2Book
from arb.config import RiskConfig
from arb.credentials import registry_names
from arb.engine.detector import Detector
from arb.engine.executor import OutcomeStatus
from arb.engine.preflight import EXIT_CANNOT_TRADE
from arb.model import Symbol
from arb.obs.health import HealthServer
from arb.ops.view import ViewMode, choose_mode, progress_line, render, show

SCRIPT = Path(sys.executable).with_name("arb-engine")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
PANELS = ("Venues", "Best net spread", "Recent trades", "Balances")

SNAPSHOT: dict[str, Any] = {
    "ts_ns": 1, "mode": "paper", "state": "HALTED", "reason": "operator halt",
    "books": {"binance": {"synced": 2, "total": 2, "resyncs": 1, "gaps": 0},
              "mexc": {"synced": 1, "total": 2, "resyncs": 3, "gaps": 2}},
    "spreads": [{"symbol": "BTC/USDT", "buy": "mexc", "sell": "binance", "net_bps": 7.25},
                {"symbol": "ETH/USDT", "buy": "binance", "sell": "mexc", "net_bps": -3.5}],
    "min_net_bps": 5.0,
    "funnel": {"evaluated": 1234, "clears_fees": 3},
    "trades": [{"id": "r-000001", "status": "filled", "symbol": "BTC/USDT", "buy": "mexc", "sell": "binance",
                "qty": "0.0150", "pnl": "1.2500", "residual": "0"},
               {"id": "r-000002", "status": "residual-closed", "symbol": "ETH/USDT", "buy": "binance",
                "sell": "mexc", "qty": "0.3", "pnl": "-0.75", "residual": "0"}],
    "trade_count": 2, "pnl": "0.5", "pnl_today": "0.5", "open_opportunities": 0, "unhedged_notional": "0",
    "balances": {"binance": {"BTC": "1.5", "USDT": "100000.25"}, "mexc": {"BTC": "0", "USDT": "250"}},
    "connections": {"binance": {"sockets": 1, "reconnects": 4, "last_frame_age_s": 0.2, "user_stream": True,
                                "circuit_open": False},
                    "mexc": {"sockets": 2, "reconnects": 0, "last_frame_age_s": None, "user_stream": False,
                             "circuit_open": True}},
}


def _text(renderable: Any, width: int = 140) -> str:
    console = Console(record=True, width=width, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(renderable)
    text = console.export_text()
    console.file.close()
    return text


def test_render_shows_every_panel_with_the_snapshot_numbers() -> None:
    text = _text(render(SNAPSHOT, title="arb paper"))
    for panel in PANELS:
        assert panel in text
    assert "HALTED" in text and "operator halt" in text
    # the count includes each book's first sync: headed "syncs", not "resyncs" (2 books read "resyncs 2")
    assert re.search(r"venue\s+books synced\s+syncs\s+gaps", text), text
    assert re.search(r"binance\s+2/2\s+1\s+0\s+1\s+4\s+0\.2 s\s+up\s+closed", text), text
    assert re.search(r"mexc\s+1/2\s+3\s+2\s+2\s+0\s+-\s+down\s+OPEN", text), text
    assert re.search(r"BTC/USDT \*\s+mexc -> binance\s+\+7\.25", text)
    assert re.search(r"ETH/USDT \*\s+binance -> mexc\s+-3\.50", text)
    assert "trades at >= 5 bps" in text and "evaluated 1,234" in text
    # newest trade first, each with its realised PnL (exact decimals, trailing zeros dropped)
    assert re.search(r"r-000002\s+ETH/USDT\s+binance -> mexc\s+0\.3\s+residual-closed\s+-0\.75", text)
    assert re.search(r"r-000001\s+BTC/USDT\s+mexc -> binance\s+0\.015\s+filled\s+1\.25", text)
    assert text.index("r-000002") < text.index("r-000001")
    assert re.search(r"binance\s+1\.5\s+100,000\.25", text) and re.search(r"mexc\s+0\s+250", text)


def test_render_of_an_empty_engine_says_so() -> None:
    empty = {"state": "ACTIVE", "books": {}, "spreads": [], "trades": [], "balances": {}}
    text = _text(render(empty))
    assert "(no synced pair yet)" in text and "(none yet)" in text and "ACTIVE" in text


def test_progress_line_for_piped_output() -> None:
    line = progress_line(SNAPSHOT)
    assert line == ("HALTED (operator halt) | books 3/4 synced | best BTC/USDT mexc->binance +7.25 bps | "
                    "evaluated 1,234 | trades 2 PnL 0.5")


def test_view_mode_follows_quiet_and_the_terminal() -> None:
    tty_out = mock.Mock(isatty=lambda: True)
    pipe_out = mock.Mock(isatty=lambda: False)
    assert choose_mode(tty_out, quiet=False) is ViewMode.LIVE
    assert choose_mode(pipe_out, quiet=False) is ViewMode.LINES
    assert choose_mode(tty_out, quiet=True) is ViewMode.OFF


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_the_live_view_redraws_and_log_lines_print_above_it() -> None:
    """A log handler writing to the terminal would tear the panels: while they are drawn, its lines go
    through the view's console (printed above the panels) and the handler gets its stream back after."""
    term, handler_stream = _Tty(), _Tty()
    handler = logging.StreamHandler(handler_stream)
    logger = logging.getLogger("arb")
    logger.addHandler(handler)
    stop = asyncio.Event()
    calls = [0]

    def snapshot() -> dict[str, Any]:
        calls[0] += 1
        if calls[0] == 2:
            logging.getLogger("arb.engine.books").warning("mexc BTC/USDT: book invalid (sequence gap)")
        if calls[0] == 3:
            stop.set()
        return {**SNAPSHOT, "trade_count": calls[0]}

    try:
        await show(snapshot, term, ViewMode.LIVE, stop=stop)
    finally:
        logger.removeHandler(handler)
    drawn = ANSI.sub("", term.getvalue())
    assert calls[0] == 3 and drawn.count("Best net spread") >= 3  # at least a frame per snapshot
    assert "mexc BTC/USDT: book invalid (sequence gap)" in drawn and handler_stream.getvalue() == ""
    assert handler.stream is handler_stream
    assert "trades 3" in drawn


def test_view_snapshot_reads_a_circuit_without_taking_its_half_open_trial(tmp_path: Path) -> None:
    from arb.config import default_config
    from arb.engine.engine import Engine

    now = [10**18]
    config = default_config(symbols=["BTC/USDT"], engine={"data_dir": str(tmp_path)},
                            risk={"max_consecutive_failures": 1, "circuit_cooldown_s": 5.0})
    engine = Engine(config, clock_ns=lambda: now[0])
    engine.risk.record_result("mexc", False)
    snap = engine.view_snapshot()
    assert snap["connections"]["mexc"]["circuit_open"] is True
    assert snap["connections"]["binance"] == {"sockets": 0, "reconnects": 0, "last_frame_age_s": None,
                                              "user_stream": None, "circuit_open": False}
    now[0] += 6 * 10**9  # cooled down: the next order may try the venue
    for _ in range(5):  # the view polls at 4 Hz
        assert engine.view_snapshot()["connections"]["mexc"]["circuit_open"] is False
    assert not engine.risk.circuit_open("mexc")  # the trial is still there for a real order


def _book(bid: float, ask: float) -> L2Book:
    book = L2Book()
    book.set_snapshot([bid], [1.0], [ask], [1.0])
    return book


def test_detector_spreads_is_the_top_of_book_net_of_both_fees() -> None:
    sym = Symbol("BTC", "USDT")
    synced = {"a": True, "b": True, "c": True}
    detector = Detector(RiskConfig(), lambda: 0, is_synced=lambda v, s: synced[v], available=lambda v, a: 0.0,
                        blocked=lambda v: None, on_opportunity=lambda o: None, run_tag="t-")
    books = {"a": _book(99.0, 100.0), "b": _book(101.0, 102.0), "c": _book(99.5, 100.5)}
    detector.add_symbol(sym, books, {"a": 0.001, "b": 0.002, "c": 0.001}, 0.01)
    spreads = {(s.buy_venue, s.sell_venue): s.net_bps for s in detector.spreads()}
    # buy a at 100 (fee 0.1 %), sell b at 101 (fee 0.2 %): (101 * 0.998 - 100 * 1.001) / 100 bps
    assert spreads[("a", "b")] == pytest.approx((101 * 0.998 - 100.1) / 100 * 10_000)
    assert spreads[("c", "b")] == pytest.approx((101 * 0.998 - 100.5 * 1.001) / 100.5 * 10_000)
    # each pair appears once, in its better direction, best first
    assert set(spreads) == {("a", "b"), ("c", "b"), ("a", "c")}
    assert [s.net_bps for s in detector.spreads()] == sorted(spreads.values(), reverse=True)
    detector.set_fee("b", sym, 0.0)
    assert detector.spreads()[0].net_bps == pytest.approx((101 - 100.1) / 100 * 10_000)
    synced["b"] = False  # an unsynced book has no spread
    assert {(s.buy_venue, s.sell_venue) for s in detector.spreads()} == {("a", "c")}


# ---------------------------------------------------------------------------- HTTP control routes


def _server(calls: list[tuple[str, str]]) -> HealthServer:
    def halt(reason: str) -> dict[str, Any]:
        calls.append(("halt", reason))
        return {"state": "HALTED", "reason": reason}

    def resume(_: str) -> dict[str, Any]:
        calls.append(("resume", ""))
        return {"state": "ACTIVE", "reason": ""}

    server = HealthServer("127.0.0.1", 0, readiness=lambda: (True, {}))
    server.serve_view(lambda: SNAPSHOT, halt=halt, resume=resume)
    return server


async def test_control_routes_answer_loopback_only_and_check_the_body() -> None:
    calls: list[tuple[str, str]] = []
    server = _server(calls)
    far = mock.Mock(get_extra_info=lambda name, default=None: ("10.1.2.3", 5555) if name == "peername" else
                    default)
    request = make_mocked_request("POST", "/control/halt", transport=far, app=server.app())
    with pytest.raises(web.HTTPForbidden):
        await server._halt_handler(request)
    with pytest.raises(web.HTTPForbidden):
        await server._resume_handler(make_mocked_request("POST", "/control/resume", transport=far))
    assert calls == []

    import aiohttp

    port = await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{port}"
            async with http.get(f"{base}/view") as r:
                assert r.status == 200 and (await r.json())["spreads"][0]["net_bps"] == 7.25
            async with http.post(f"{base}/control/halt", data=b"not json") as r:
                assert r.status == 400 and "expected JSON" in await r.text()
            async with http.post(f"{base}/control/halt", json={"reason": 5}) as r:
                assert r.status == 400 and "reason" in await r.text()
            async with http.post(f"{base}/control/halt", json={"reason": "x" * 500}) as r:
                assert r.status == 200 and (await r.json())["state"] == "HALTED"
            async with http.post(f"{base}/control/halt") as r:
                assert r.status == 200
            async with http.post(f"{base}/control/resume") as r:
                assert (await r.json())["state"] == "ACTIVE"
    finally:
        await server.stop()
    assert calls == [("halt", "x" * 200), ("halt", "operator halt (HTTP)"), ("resume", "")]


# ---------------------------------------------------------------------------- through the command


def _config(tmp_path: Path, *, venues: str = "", symbols: str = '["BTC/USDT", "ETH/USDT"]',
            balances: str = 'USDT = "100000"\nBTC = "1"\nETH = "20"') -> Path:
    path = tmp_path / "arb.toml"
    path.write_text(f'symbols = {symbols}\n[engine]\ndata_dir = "{tmp_path / "data"}"\n'
                    f"[engine.paper_balances]\n{balances}\n[observability]\nmetrics_port = 0\n{venues}")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "TERM": "xterm-256color", "COLUMNS": "140", "LINES": "60"}


def _in_pty(argv: list[str], timeout: float = 60.0) -> tuple[int, str]:
    """Run `argv` on a 140x60 pseudo-terminal (stdin, stdout, stderr); (exit code, text without escapes)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 140, 0, 0))
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=_env(), close_fds=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
    return code, ANSI.sub("", b"".join(chunks).decode(errors="replace"))


needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason="arb-engine console script not installed")


@needs_script
def test_run_in_a_terminal_shows_the_live_view_with_real_numbers(tmp_path: Path) -> None:
    code, text = _in_pty([str(SCRIPT), "run", "--config", str(_config(tmp_path)), "--sim", "--duration", "3"])
    assert code == 0, text
    for panel in PANELS:
        assert panel in text, text
    assert "ACTIVE" in text and "mode paper" in text
    # books synced per venue, the spread of each symbol's pairs in bps, balances from the config
    for venue in ("binance", "gateio", "mexc"):
        assert re.search(rf"{venue}\s+[0-2]/2\s+\d+\s+\d+\s+1\s+\d+\s+\d+\.\d s", text), text
    assert re.search(r"BTC/USDT \*\s+\w+ -> \w+\s+[+-]\d+\.\d\d", text), text
    assert re.search(r"ETH/USDT \*\s+\w+ -> \w+\s+[+-]\d+\.\d\d", text), text
    assert re.search(r"binance\s+[\d.]+\s+[\d.]+\s+[\d,.]+", text), text
    assert re.search(r"opportunities: evaluated [1-9][\d,]*", text), text
    assert "Summary" in text


@needs_script
def test_run_quiet_in_a_terminal_shows_no_view(tmp_path: Path) -> None:
    code, text = _in_pty([str(SCRIPT), "run", "--config", str(_config(tmp_path)), "--sim", "--duration", "2",
                          "--quiet"])
    assert code == 0, text
    assert "running in paper mode" in text and "Summary" in text
    for panel in PANELS:
        assert panel not in text, text
    assert "evaluated" not in text.split("Summary")[0]


@needs_script
def test_run_piped_prints_plain_progress_lines(tmp_path: Path) -> None:
    argv = [str(SCRIPT), "run", "--config", str(_config(tmp_path)), "--sim", "--duration", "3"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    books = 2 * len(registry_names())  # two symbols on every venue (the config names none)
    line = re.search(r"^ACTIVE \| books (\d+)/(\d+) synced \| best \S+ \w+->\w+ [+-]\d+\.\d\d bps \| "
                     r"evaluated [\d,]+ \| trades \d+ PnL \S+$", proc.stdout, re.MULTILINE)
    assert line is not None and int(line.group(2)) == books >= int(line.group(1)), proc.stdout
    assert "\x1b[" not in proc.stdout
    for panel in PANELS:
        assert panel not in proc.stdout


@pytest.mark.parametrize(("kind", "expected"), [
    ("one venue", "only binance is enabled: arbitrage needs at least two venues"),
    ("not listed", "no symbol is listed on two enabled venues"),
    ("empty balances", "nothing to trade with: no symbol has the quote to buy on one venue and the base to "
                       "sell on another (engine.paper_balances)"),
])
@needs_script
def test_a_run_that_cannot_trade_says_why_and_exits_4(tmp_path: Path, kind: str, expected: str) -> None:
    target = ["--sim"]
    if kind == "one venue":  # --sim-url leaves the venues it does not name out (nothing is contacted)
        target = ["--sim-url", "binance=http://127.0.0.1:9"]
    config = _config(tmp_path, **{"not listed": {"symbols": '["ADA/USDT"]'},
                                  "empty balances": {"balances": 'USDT = "0"\nBTC = "0"'}}.get(kind, {}))
    proc = subprocess.run([str(SCRIPT), "run", "--config", str(config), *target, "--duration", "30"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == EXIT_CANNOT_TRADE == 4, proc.stdout + proc.stderr
    assert f"cannot trade: {expected}" in proc.stdout
    assert "exiting (4); pass --wait to run anyway" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    if kind == "not listed":
        assert "ADA/USDT is listed (and trading) on no enabled venue" in proc.stdout
    if kind == "empty balances":
        assert ("cannot trade: BTC/USDT: no venue pair has USDT to buy on one venue and BTC to sell on "
                "another") in proc.stdout
    assert "Summary" not in proc.stdout  # nothing ran: no table of zeros


@needs_script
def test_a_config_with_one_venue_is_refused_naming_the_field(tmp_path: Path) -> None:
    config = _config(tmp_path, venues="[venues.gateio]\nenabled = false\n[venues.mexc]\nenabled = false\n")
    proc = subprocess.run([str(SCRIPT), "run", "--config", str(config), "--sim", "--duration", "30"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "venues" in proc.stderr and "at least two enabled venues" in proc.stderr
    assert "Traceback" not in proc.stderr


@needs_script
def test_wait_runs_anyway(tmp_path: Path) -> None:
    config = _config(tmp_path, balances='USDT = "0"')
    proc = subprocess.run([str(SCRIPT), "run", "--config", str(config), "--sim", "--duration", "1", "--wait",
                           "--quiet"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cannot trade: nothing to trade with" in proc.stdout and "waiting anyway (--wait)" in proc.stdout
    assert "running in paper mode" in proc.stdout


# ---------------------------------------------------------------------------- log lines for what matters


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.levelname} {r.getMessage()}" for r in caplog.records]


@pytest.fixture
def arb_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog for the `arb` loggers at INFO, which reach the root (and its secret check) even after
    `configure_logging` (run by an earlier test) stopped them propagating."""
    logger = logging.getLogger("arb")
    propagate = logger.propagate
    logger.propagate = True
    caplog.set_level(logging.INFO, logger="arb")
    try:
        yield caplog
    finally:
        logger.propagate = propagate


async def test_a_one_legged_trade_logs_its_opening_and_closing(tmp_path: Path,
                                                               arb_logs: pytest.LogCaptureFixture) -> None:
    """The mexc leg is refused: the bought BTC is one-legged until sold back (or trading HALTs)."""
    from arb.sim.faults import Reply
    from tests.engine.test_live_faults import assert_consistent, trade_one_window


    def arm(sim: Any, engine: Any) -> None:
        sim.faults["mexc"].replies.append(Reply(400, '{"code":30016,"msg":"trading is suspended"}',
                                                method="POST"))

    sim, engine, out = await trade_one_window(tmp_path, 31, arm)
    msgs = _messages(arb_logs)
    opened = [m for m in msgs if "one-legged position opened" in m]
    prefix = f"WARNING binance BTC/USDT: one-legged position opened by {out.opportunity_id}: "
    assert len(opened) == 1 and opened[0].startswith(prefix)
    assert out.status in (OutcomeStatus.RESIDUAL_CLOSED, OutcomeStatus.HALTED)
    if out.status is OutcomeStatus.RESIDUAL_CLOSED:
        closed = f"INFO binance BTC/USDT: one-legged position of {out.opportunity_id} closed in "
        assert any(m.startswith(closed) for m in msgs), msgs
    else:
        assert any(m.startswith("WARNING") and "HALT" in m and "residual" in m for m in msgs), msgs
    await assert_consistent(sim, engine, tmp_path)  # the journal explains the simulator's ledger


async def test_a_dropped_stream_logs_invalid_reconnected_and_resynced(
        tmp_path: Path, arb_logs: pytest.LogCaptureFixture) -> None:
    from arb.engine.engine import Engine
    from tests.engine.test_engine_live import VENUES, calm_sim, live_config, sim_credentials, wait_for

    sim, urls = await calm_sim(VENUES, seed=36)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        arb_logs.clear()
        assert await sim.disconnect("mexc") >= 1
        await wait_for(lambda: any("mexc" in m and "reconnected" in m for m in _messages(arb_logs))
                       and engine.summary()["books_synced"] == 4, timeout=20)
    finally:
        await engine.stop()
        await sim.close()
    msgs = _messages(arb_logs)
    for symbol in ("BTC/USDT", "ETH/USDT"):
        assert any(m.startswith(f"INFO mexc {symbol}: book invalid (stream disconnected") for m in msgs), msgs
        synced = f"INFO mexc {symbol}: book synced (after stream disconnected"
        assert any(m.startswith(synced) for m in msgs), msgs
    assert engine.view_snapshot()["connections"]["mexc"]["reconnects"] >= 1
