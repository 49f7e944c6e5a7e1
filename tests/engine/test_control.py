"""Operator control of a running engine, through the commands a user types.

`arb-engine run --live` runs in a subprocess against the simulator (in this process, so the test
opens arbitrage windows and counts the orders the venues receive):

- `arb-engine halt` from another process HALTs the running engine (its /status says so within a
  poll of the state file) and the venues receive no order after; `resume` lets it trade again;
  both are journaled as the operator's, with the reason.
- a real write fault on the journal (the engine's files may not grow any more: EFBIG, what a full
  disk answers) HALTs the engine at once, nothing more is sent, and it still stops cleanly.
- a second engine on the same data dir is refused with a clear message (exit 2, no traceback).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

from arb.config import RiskConfig
from arb.engine.control import StateFile
from arb.engine.journal import Journal
from arb.engine.risk import RiskEvent, RiskManager, Source, TradingState, read_state, state_path, write_state
from arb.model import Symbol
from arb.sim.accounts import SIM_KEY, SIM_SECRET
from arb.sim.server import SimExchange
from tests.engine.test_engine_live import calm_sim

VENUES = ["binance", "mexc"]
BTC = Symbol("BTC", "USDT")
NS = 1_000_000_000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(path: Path, urls: dict[str, tuple[str, str]], data_dir: Path, port: int) -> Path:
    venues = "\n".join(f'[venues.{v}]\nrest_url = "{u[0]}"\nws_url = "{u[1]}"\n' for v, u in urls.items())
    path.write_text(
        'symbols = ["BTC/USDT", "ETH/USDT"]\n'
        f'[engine]\nmode = "live"\ndata_dir = "{data_dir}"\nuse_uvloop = false\nbalance_refresh_s = 60.0\n'
        "[risk]\nmin_net_bps = 10.0\n"
        f'[observability]\nmetrics_host = "127.0.0.1"\nmetrics_port = {port}\n' + venues
    )
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    for venue in VENUES:
        env[f"ARB_{venue.upper()}_API_KEY"] = SIM_KEY
        env[f"ARB_{venue.upper()}_API_SECRET"] = SIM_SECRET
    return env


async def _cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.cli", *args, env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


class Running:
    """A live engine subprocess (its output read from a pipe: a file would be subject to the file
    size fault too) and its /status."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.output = bytearray()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(65536):
            self.output += chunk

    def text(self) -> str:
        return self.output.decode(errors="replace")

    async def wait(self) -> int:
        code = await asyncio.wait_for(self.proc.wait(), 30)
        await asyncio.wait_for(self._reader, 10)
        return code

    async def status(self) -> dict[str, Any]:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{self.port}/status") as r:
            result: dict[str, Any] = await r.json()
            return result

    async def until(self, check: Callable[[dict[str, Any]], bool], timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                status = await self.status()
                if check(status):
                    return status
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"not reached; engine output:\n{self.text()[-4000:]}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def live_engine(tmp_path: Path) -> AsyncIterator[tuple[SimExchange, Running, Path]]:
    sim, urls = await calm_sim(VENUES, seed=11)
    port = _free_port()
    config = _config(tmp_path / "arb.toml", urls, tmp_path / "data", port)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.cli", "run", "--config", str(config), "--live", env=_env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    running = Running(proc, port)
    try:
        await running.until(lambda s: s["books_synced"] == 4 and s["state"] == "ACTIVE")
        yield sim, running, config
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await running.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        await sim.close()


def _orders(sim: SimExchange) -> int:
    return sum(len(sim.dialects[v].matching.orders) for v in VENUES)  # type: ignore[attr-defined]


async def _trade(sim: SimExchange, running: Running) -> None:
    """Open a window and wait until the engine has traded it."""
    before = _orders(sim)
    sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
    for _ in range(500):
        if _orders(sim) >= before + 2:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no trade; engine output:\n{running.text()[-4000:]}")


async def _windows_send_nothing(sim: SimExchange) -> None:
    before = _orders(sim)
    for _ in range(3):
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=400_000_000)
        await asyncio.sleep(0.5)
    assert _orders(sim) == before


async def _risk_events(data_dir: Path) -> list[tuple[int, str, str]]:
    journal = Journal(data_dir / "journal.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        rows = await journal.query("SELECT ts_ns, kind, detail FROM risk_events ORDER BY id")
    finally:
        await journal.close()
    return [(r[0], r[1], r[2]) for r in rows]


async def test_halt_and_resume_from_another_process_reach_the_running_engine(tmp_path: Path) -> None:
    async with live_engine(tmp_path) as (sim, running, config):
        await _trade(sim, running)
        code, out = await _cli("halt", "--config", str(config), "--reason", "operator drill")
        assert code == 0 and "HALTED (operator drill)" in out, out
        written = json.loads(state_path(tmp_path / "data").read_text())
        assert written["source"] == "OPERATOR"
        status = await running.until(lambda s: s["state"] == "HALTED", timeout=5)
        seen_ns = time.time_ns()
        assert status["trading"]["reason"] == "operator drill"
        await _windows_send_nothing(sim)
        code, out = await _cli("resume", "--config", str(config))
        assert code == 0 and "was HALTED: operator drill" in out, out
        await running.until(lambda s: s["state"] == "ACTIVE", timeout=5)
        await _trade(sim, running)
        running.proc.send_signal(signal.SIGTERM)
        assert await running.wait() == 0
    events = await _risk_events(tmp_path / "data")
    halts = [(ts, d) for ts, kind, d in events if kind == "HALT"]
    resumes = [(ts, d) for ts, kind, d in events if kind == "RESUME"]
    assert halts == [(halts[0][0], "ACTIVE->HALTED source=OPERATOR reason=operator drill")], events
    assert resumes == [(resumes[0][0], "HALTED->ACTIVE source=OPERATOR reason=")], events
    # applied within a poll of the state file: well inside a second of the command's write
    assert 0 <= halts[0][0] - written["ts_ns"] < NS, (halts[0][0] - written["ts_ns"]) / NS
    assert halts[0][0] <= seen_ns


async def test_a_journal_that_cannot_be_written_halts_the_engine_and_stop_returns(tmp_path: Path) -> None:
    async with live_engine(tmp_path) as (sim, running, _):
        await _trade(sim, running)
        wal = tmp_path / "data" / "journal.sqlite-wal"
        # the fault: from now on the engine's files cannot grow (EFBIG, as on a full disk)
        hard = resource.prlimit(running.proc.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(running.proc.pid, resource.RLIMIT_FSIZE, (wal.stat().st_size, hard))
        before = _orders(sim)
        opened_ns = time.time_ns()
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        status = await running.until(lambda s: s["state"] == "HALTED", timeout=10)
        assert _orders(sim) == before  # the trade whose intents could not be journaled sent nothing
        await _windows_send_nothing(sim)
        running.proc.send_signal(signal.SIGTERM)
        assert await running.wait() == 0  # stop() returned
    output = running.text()
    assert "journal failed, halting" in output and "writer failed" in output, output[-4000:]
    assert status["trading"]["reason"].startswith("journal failed: writer failed"), status["trading"]
    state = json.loads(state_path(tmp_path / "data").read_text())  # small: still written
    assert state["state"] == "HALTED" and state["reason"].startswith("journal failed"), state
    assert 0 < state["ts_ns"] - opened_ns < NS  # halted by the engine's clock within a second of the window


async def test_a_second_engine_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    async with live_engine(tmp_path) as (_, running, config):
        code, out = await _cli("run", "--config", str(config), "--live", "--duration", "5")
        assert code == 2, out
        assert "another engine is running on this data dir" in out and "Traceback" not in out, out
        assert f"pid {running.proc.pid}" in out
        assert running.proc.returncode is None  # the first one runs on
        await running.until(lambda s: s["state"] == "ACTIVE")


async def test_an_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory")
    config = tmp_path / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[engine]\ndata_dir = "{tmp_path / "taken"}"\n')
    code, out = await _cli("run", "--config", str(config), "--duration", "1")
    assert code == 2 and "engine.data_dir" in out and "cannot use it" in out, out
    assert "Traceback" not in out


async def test_the_state_file_watcher_applies_the_operator_and_never_its_own_writes(tmp_path: Path) -> None:
    path = state_path(tmp_path)
    risk = RiskManager(RiskConfig(), path, time.time_ns)
    events: list[tuple[RiskEvent, str]] = []
    risk.on_event = lambda kind, venue, detail: events.append((kind, detail))
    watcher = StateFile(path, risk, poll_s=60)  # polled by hand below
    watcher.start()
    try:
        write_state(path, TradingState.ACTIVE, "", time.time_ns(), Source.OPERATOR)  # an older resume
        risk.halt("unhedged")  # newer, written off the loop: the file is stale until the writer ran
        assert not await watcher.check()  # the stale ACTIVE file must not resume the engine
        assert risk.state is TradingState.HALTED
        await watcher.flush()
        assert read_state(path) == (TradingState.HALTED, "unhedged")
        assert not await watcher.check() and risk.state is TradingState.HALTED  # our own write
        write_state(path, TradingState.ACTIVE, "", time.time_ns(), Source.OPERATOR)  # `arb-engine resume`
        assert await watcher.check() and risk.state is TradingState.ACTIVE
        assert not await watcher.check()  # seen once
        write_state(path, TradingState.HALTED, "drill", time.time_ns(), Source.OPERATOR)
        assert await watcher.check() and (risk.state, risk.reason) == (TradingState.HALTED, "drill")
    finally:
        await watcher.stop()
    assert [kind for kind, _ in events] == [RiskEvent.HALT, RiskEvent.RESUME, RiskEvent.HALT]
    assert "source=OPERATOR" in events[1][1] and "source=ENGINE" in events[0][1]
