"""Logging, the event loop and `[observability]`, through what a user runs.

`engine.log_level`, `engine.log_format` and `engine.use_uvloop` are read by `arb-engine` itself:
each run is the command a user types (`arb-engine run --config FILE --sim`, a subprocess). The HTTP
server's fields go through `arb.runner.run`, the coroutine `run` drives, in this test's loop (so the
probe can block that loop). API keys are not config fields: the last test shows they come from the
environment and never reach a log line.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pytest

from arb.config import default_config
from arb.runner import run as run_engine
from tests.config.support import Probe, data_dir
from tests.conftest import CANARY_KEY, CANARY_SECRET

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- arb-engine run


async def arb_engine(tmp: Path, body: str, *args: str, env: dict[str, str] | None = None,
                     duration: float = 1.0) -> tuple[int, str, str]:
    """`arb-engine run --sim` on a config of BTC/USDT on binance + gateio plus `body`; (exit, out, err)."""
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[venues.binance]\n[venues.gateio]\n'
                      f'[observability]\nmetrics_port = 0\n[engine]\ndata_dir = "{tmp / "data"}"\n{body}')
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ARB__")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.cli", "run", "--config", str(config), "--sim", "--duration", str(duration),
        "--quiet", *args, cwd=tmp, env={**environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Run(NamedTuple):
    code: int
    out: str
    err: str


def _keys(key: str, secret: str) -> dict[str, str]:
    pairs = (("KEY", key), ("SECRET", secret))
    return {f"ARB_{v}_API_{k}": s for v in ("BINANCE", "GATEIO") for k, s in pairs}


# name -> (config lines, extra flags, environment): the commands a user would type, all run at once
COMMANDS: dict[str, tuple[str, tuple[str, ...], dict[str, str]]] = {
    "default": ("", (), {}),
    "engine.log_level": ('log_level = "WARNING"\n', (), {}),
    "engine.log_format": ('log_format = "json"\n', (), {}),
    "engine.use_uvloop": ("use_uvloop = false\n", (), {}),
    "canary keys": ('log_level = "DEBUG"\n', ("--live",), _keys(CANARY_KEY, CANARY_SECRET)),
    "simulator keys": ('log_level = "DEBUG"\n', ("--live",), _keys("sim-key", "sim-secret")),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    base = tmp_path_factory.mktemp("cli")

    async def all_at_once() -> list[tuple[int, str, str]]:
        return list(await asyncio.gather(*(
            arb_engine(base / str(i), body, *flags, env=env)
            for i, (body, flags, env) in enumerate(COMMANDS.values()))))

    return {name: Run(*result) for name, result in zip(COMMANDS, asyncio.run(all_at_once()), strict=True)}


def both_runs(runs: dict[str, Run], field: str) -> tuple[Run, Run]:
    default, changed = runs["default"], runs[field]
    assert default.code == changed.code == 0, (default, changed)
    return default, changed


def started_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "engine arb started" in line]


def log_level(runs: dict[str, Run]) -> None:
    """The start-up line is logged at INFO: there by default, gone at WARNING."""
    default, changed = both_runs(runs, "engine.log_level")
    assert (len(started_lines(default.err)), started_lines(changed.err)) == (1, []), (default, changed)


def log_format(runs: dict[str, Run]) -> None:
    """console: a line for people; json: one object per line, the message a field of it."""
    default, changed = both_runs(runs, "engine.log_format")
    console, = started_lines(default.err)
    record, = started_lines(changed.err)
    with pytest.raises(json.JSONDecodeError):
        json.loads(console)
    assert "engine arb started" in json.loads(record)["msg"]


def use_uvloop(runs: dict[str, Run]) -> None:
    default, changed = both_runs(runs, "engine.use_uvloop")
    loops = [line.split("event loop ")[1].split(";")[0] for run in (default, changed)
             for line in run.out.splitlines() if line.startswith("running in ")]
    assert loops == ["uvloop", "asyncio"], (default, changed)


COMMAND_PROBES: dict[str, Callable[[dict[str, Run]], None]] = {
    "engine.log_level": log_level,
    "engine.log_format": log_format,
    "engine.use_uvloop": use_uvloop,
}


@pytest.mark.parametrize("field", sorted(COMMAND_PROBES))
def test_command_field_changes_behaviour(field: str, runs: dict[str, Run]) -> None:
    COMMAND_PROBES[field](runs)


def test_api_keys_come_from_the_environment_and_never_reach_a_log(runs: dict[str, Run]) -> None:
    """Live on the simulator: the environment's keys are the ones sent (the canaries are refused,
    the simulator's own are accepted), and no output line holds a key or secret."""
    refused, accepted = runs["canary keys"], runs["simulator keys"]
    assert (refused.code, "AuthenticationError" in refused.out) == (2, True), refused
    assert (accepted.code, "running in live mode" in accepted.out) == (0, True), accepted
    for run in (refused, accepted):
        for text in (run.out, run.err):
            assert CANARY_KEY not in text and CANARY_SECRET not in text and "sim-secret" not in text


# --------------------------------------------------------------------------- the HTTP server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """(status, body), (0, "") when nothing listens there."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
            return resp.status, await resp.text()
    except (aiohttp.ClientError, OSError, TimeoutError):
        return 0, ""


async def serving(tmp: Path, observability: dict[str, Any], look: Any, duration: float = 2.0) -> Any:
    """`run` (paper, in-process simulator) with `observability`; `look(session, out)` while it runs,
    once the HTTP server answers (or once the start-up is over when it has none)."""
    config = default_config(symbols=["BTC/USDT"], venues=["binance", "gateio"],
                            engine={"data_dir": data_dir(tmp)}, observability=observability)
    out = io.StringIO()
    task = asyncio.get_running_loop().create_task(run_engine(config, sim=True, duration=duration, out=out))
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20
            while "running in" not in out.getvalue() and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.05)
            return await look(session, out)
    finally:
        assert await asyncio.wait_for(task, 30) == 0


async def metrics_port(tmp: Path, _: str | None) -> None:
    """A port: /livez answers there; 0: no server. (The default, 9108, is not bound here: another
    engine on this machine may hold it; a free port stands in for it.)"""
    port = free_port()

    async def look(session: aiohttp.ClientSession, out: io.StringIO) -> tuple[int, bool]:
        status, _ = await get(session, f"http://127.0.0.1:{port}/livez")
        return status, f"health: http://127.0.0.1:{port}/" in out.getvalue()

    async def announced(session: aiohttp.ClientSession, out: io.StringIO) -> bool:
        return "health:" in out.getvalue()

    served, off = await asyncio.gather(serving(tmp / "on", {"metrics_port": port}, look, 4.0),
                                       serving(tmp / "off", {"metrics_port": 0}, announced, 4.0))
    assert (served, off) == ((200, True), False)


async def metrics_host(tmp: Path, _: str | None) -> None:
    """The server listens on the configured loopback address only (127.0.0.2 is loopback too)."""
    ports = free_port(), free_port()

    def look_at(port: int) -> Any:
        async def look(session: aiohttp.ClientSession, out: io.StringIO) -> tuple[int, int]:
            return ((await get(session, f"http://127.0.0.1:{port}/livez"))[0],
                    (await get(session, f"http://127.0.0.2:{port}/livez"))[0])
        return look

    default, changed = await asyncio.gather(
        serving(tmp / "a", {"metrics_port": ports[0]}, look_at(ports[0]), 4.0),
        serving(tmp / "b", {"metrics_port": ports[1], "metrics_host": "127.0.0.2"}, look_at(ports[1]), 4.0))
    assert (default, changed) == ((200, 0), (0, 200))


async def loop_lag_warn_ms(tmp: Path, _: str | None) -> None:
    """The loop blocked 0.3 s: a lag warning over the default 50 ms, none under a 5 s threshold."""
    ports = free_port(), free_port()
    serving_now: set[int] = set()
    both_up, blocked = asyncio.Event(), asyncio.Event()

    def look_at(port: int) -> Any:
        async def look(session: aiohttp.ClientSession, out: io.StringIO) -> float:
            while (await get(session, f"http://127.0.0.1:{port}/livez"))[0] != 200:
                await asyncio.sleep(0.05)
            serving_now.add(port)
            if len(serving_now) == len(ports):
                both_up.set()
            await asyncio.wait_for(both_up.wait(), 20)
            if not blocked.is_set():
                blocked.set()
                time.sleep(0.3)  # blocks this loop: both engines' lag monitors wake late
            await asyncio.sleep(0.4)
            _, metrics = await get(session, f"http://127.0.0.1:{port}/metrics")
            line = next(m for m in metrics.splitlines() if m.startswith("arb_event_loop_lag_warnings_total"))
            return float(line.split()[-1])
        return look

    default, changed = await asyncio.gather(
        serving(tmp / "a", {"metrics_port": ports[0]}, look_at(ports[0])),
        serving(tmp / "b", {"metrics_port": ports[1], "loop_lag_warn_ms": 5000.0}, look_at(ports[1])))
    assert (default >= 1, changed) == (True, 0), (default, changed)


PROBES: dict[str, Any] = {
    **COMMAND_PROBES,
    "observability.metrics_host": metrics_host,
    "observability.metrics_port": metrics_port,
    "observability.loop_lag_warn_ms": loop_lag_warn_ms,
}


SERVER_PROBES: dict[str, Probe] = {f: p for f, p in PROBES.items() if f.startswith("observability.")}


@pytest.mark.parametrize("field", sorted(SERVER_PROBES))
async def test_server_field_changes_behaviour(field: str, tmp_path: Path) -> None:
    await SERVER_PROBES[field](tmp_path, None)
