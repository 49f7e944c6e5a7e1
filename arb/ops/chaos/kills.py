"""SIGKILL row: the engine runs as users run it (`arb-engine run --live --sim-url ...`, a subprocess
with the canary keys) and is killed at random moments and at every failpoint, restarted at once (as a
supervisor would, in the same second), and after each chain of kills a clean restart reconciles.

Each chain has its own simulator (in this process, so it outlives the kills) and data dir; windows
open every few hundred ms so every run trades. After the chain's clean restart the journal is
checked against the simulator's ledger (orders by client id, fills, balances), and every
opportunity whose legs do not net out must have left the engine HALTED saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import random
import re
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path

import aiohttp

from arb.engine.risk import TradingState, read_state, state_path
from arb.ops.chaos.common import (
    BTC,
    TRADED,
    Canary,
    RowResult,
    check_ledger,
    net_positions,
    read_journal,
    reference_price,
    simulator,
    venue_filled,
)
from arb.sim.server import SimExchange

FAILPOINTS = ("executor.intent", "executor.sent", "executor.filled")
KILLS_PER_CHAIN = 5
FAILPOINT_WAIT_S = 20.0  # a run that never reaches its failpoint is stopped after this
CLEAN_RUN_S = 3.0
DUST_USDT = Decimal(5)  # below every venue's min-notional: not a position
HEALTH = re.compile(r"health: (http://[0-9.:]+)/readyz")


def write_config(path: Path, data_dir: Path) -> Path:
    path.write_text(
        'symbols = ["BTC/USDT", "ETH/USDT"]\n'
        f'[engine]\nmode = "live"\ndata_dir = "{data_dir}"\nuse_uvloop = false\n'
        "[observability]\nmetrics_port = 0\n"
    )
    return path


class EngineProcess:
    """One `arb-engine run --live` subprocess; its output is kept for the canary scan."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.output = bytearray()
        self.health: str | None = None
        self.running = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, sim: SimExchange, config: Path, canary: Canary, duration: float,
                    failpoints: str = "") -> EngineProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
        env.update(canary.env(TRADED))
        if failpoints:
            env["ARB_FAILPOINTS"] = failpoints
        urls = [arg for v in TRADED for arg in ("--sim-url", f"{v}={sim.urls[v][0]}")]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "arb.cli", "run", "--config", str(config), "--live", *urls,
            "--duration", str(duration), env=env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT)
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.output += line
            text = line.decode(errors="replace")
            if text.startswith("running in"):
                self.running.set()
            found = HEALTH.search(text)
            if found:
                self.health = found.group(1)

    async def wait(self, timeout: float) -> int | None:
        """The exit code, or None if it had to be killed after `timeout`."""
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            self.kill()
            await self.proc.wait()
            code = None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._reader, 5)
        return code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)


class PointEnd(enum.IntEnum):
    KILLED = 0  # the failpoint fired
    HALTED = 1  # the engine halted (it reported a problem) before reaching it
    EXITED = 2  # it ended some other way
    TIMEOUT = 3


async def until_point(run: EngineProcess, data: Path) -> PointEnd:
    deadline = time.monotonic() + FAILPOINT_WAIT_S
    path = state_path(data)
    while time.monotonic() < deadline:
        code = run.proc.returncode
        if code is not None:
            return PointEnd.KILLED if code == -signal.SIGKILL else PointEnd.EXITED
        if read_state(path)[0] is TradingState.HALTED:
            return PointEnd.HALTED
        await asyncio.sleep(0.1)
    run.kill()
    return PointEnd.TIMEOUT


async def open_windows(sim: SimExchange, stop: asyncio.Event) -> None:
    flip = False
    while not stop.is_set():
        buy, sell = TRADED[::-1] if flip else TRADED
        flip = not flip
        sim.market.open_window(BTC, buy, sell, net_bps=25.0, duration_ns=300_000_000)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def scrape(base: str, canary: Canary) -> None:
    """/metrics and /status of a running engine, for the canary scan."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as session:
        for path in ("/metrics", "/status", "/readyz"):
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.get(base + path) as response:
                    canary.scan(f"engine {path}", await response.read())


class Tally:
    def __init__(self) -> None:
        self.kills = 0
        self.at_points = 0
        self.missed_points = 0
        self.failed_restarts = 0
        self.unreported = 0
        self.one_legged = 0
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.ledger = {"dup": 0, "orphan": 0, "missing": 0, "wrong fill": 0, "unresolved": 0, "balances": 0}


async def chain(index: int, kills: int, rng: random.Random, out: Path, canary: Canary, tally: Tally) -> None:
    folder = out / f"chain{index:03d}"
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    config = write_config(folder / "arb.toml", data)
    async with simulator(TRADED, rng.randrange(1, 10**6), canary) as sim:
        stop = asyncio.Event()
        windows = asyncio.get_running_loop().create_task(open_windows(sim, stop))
        try:
            for k in range(kills):
                state, reason = read_state(state_path(data))
                if state is TradingState.HALTED:  # it reported a problem: judge the chain as it stands
                    tally.notes.append(f"chain {index}: HALTED after {k} kills ({reason[:120]})")
                    break
                at_point = k % 4 != 3
                point = FAILPOINTS[(index + k) % len(FAILPOINTS)]
                run = await EngineProcess.start(sim, config, canary, 120.0, f"{point}=1" if at_point else "")
                if at_point:
                    end = await until_point(run, data)
                    if end is PointEnd.KILLED:
                        tally.at_points += 1
                        tally.kills += 1
                    elif end is PointEnd.HALTED:  # it restarted HALTED: it will not trade to the point
                        run.kill()
                        await run.wait(10)
                        tally.kills += 1
                        canary.scan(f"chain {index} run {k} output", bytes(run.output))
                        tally.notes.append(f"chain {index}: restarted HALTED after {k} kills "
                                           f"({read_state(state_path(data))[1][:120]})")
                        break
                    else:
                        code = await run.wait(10)
                        tally.missed_points += 1
                        tally.problems.append(f"chain {index}: {point} not reached ({end.name}, exit {code})")
                else:
                    await asyncio.sleep(rng.uniform(0.2, 4.0))  # start-up, reconcile or trading
                    run.kill()
                    await run.wait(10)
                    tally.kills += 1
                canary.scan(f"chain {index} run {k} output", bytes(run.output))
            clean = await EngineProcess.start(sim, config, canary, CLEAN_RUN_S)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(clean.running.wait(), 30)
            if clean.health:
                await scrape(clean.health, canary)
            stop.set()
            code = await clean.wait(CLEAN_RUN_S + 60)
            canary.scan(f"chain {index} restart output", bytes(clean.output))
            if code != 0:
                tally.failed_restarts += 1
                tail = bytes(clean.output).decode(errors="replace").strip().splitlines()[-3:]
                tally.problems.append(f"chain {index}: clean restart exited {code}: {' | '.join(tail)}")
        finally:
            stop.set()
            await windows
        await judge(index, sim, data, tally)


async def judge(index: int, sim: SimExchange, data: Path, tally: Tally) -> None:
    journal = data / "journal.sqlite"
    if not journal.exists():
        tally.problems.append(f"chain {index}: no journal")
        return
    orders, fills, links = await read_journal(journal)
    check = check_ledger(sim, TRADED, orders, fills)
    for key, value in (("dup", check.duplicates), ("orphan", check.orphans), ("missing", check.missing),
                       ("wrong fill", check.wrong_fill + check.phantom), ("unresolved", check.unresolved),
                       ("balances", len(check.balance_diffs))):
        tally.ledger[key] += value
    if not check.ok:
        tally.problems.append(f"chain {index}: {check.text()} {check.balance_diffs[:2]}")
    truth = venue_filled(sim, TRADED)
    price = reference_price(sim, TRADED[0], BTC)
    nets = net_positions(orders, links, truth)
    legged = {opp: net for opp, net in nets.items() if abs(net) * price >= DUST_USDT}
    tally.one_legged += len(legged)
    state, reason = read_state(state_path(data))
    if legged and not (state is TradingState.HALTED and reason):
        tally.unreported += len(legged)
        tally.problems.append(f"chain {index}: one-legged {dict(list(legged.items())[:3])} but state "
                              f"{state.name} {reason!r}")


async def sigkill(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    rng = random.Random(seed)
    tally = Tally()
    index = 0
    began = time.monotonic()
    while tally.kills < trials and tally.missed_points <= trials:
        await chain(index, min(KILLS_PER_CHAIN, trials - tally.kills), rng, out, canary, tally)
        index += 1
    ledger = tally.ledger
    figure = (f"{tally.kills} kills ({tally.at_points} at failpoints), {index} restarts checked: "
              f"{ledger['dup']} dup / {ledger['orphan']} orphan / {ledger['missing']} missing / "
              f"{ledger['wrong fill']} wrong fill / {ledger['unresolved']} unresolved / "
              f"{ledger['balances']} balance diffs / {tally.unreported} of {tally.one_legged} one-legged "
              "unreported")
    passed = (not any(ledger.values()) and not tally.unreported and not tally.failed_restarts
              and not tally.missed_points and tally.kills >= trials)
    details = [*tally.problems, *tally.notes[:5], f"{time.monotonic() - began:.0f} s for {index} chains"]
    return RowResult("SIGKILL (random + every failpoint), restart, reconcile", tally.kills, figure,
                     f">= {trials} kills: journal == ledger, 0 dup/orphan/unresolved/unreported", passed,
                     details)
