"""Rows about the engine's control of itself (the 429 storm has its own module): skewed clocks, a
dead journal writer, and a HALT sent from another process. Each uses live engines with the canary
keys against one simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import time
from pathlib import Path

from arb.engine.engine import Engine
from arb.engine.risk import TradingState, state_path, write_state
from arb.errors import ArbError, TimestampError
from arb.model import Order, OrderStatus
from arb.ops.chaos.common import (
    BTC,
    TRADED,
    Canary,
    RowResult,
    live_engine,
    log_tail,
    matching,
    new_engine,
    outcomes,
    percentile,
    ready,
    simulator,
    stop_engine,
    wait_until,
    why_idle,
)
from arb.sim.limits import UNLIMITED
from arb.sim.server import SimExchange

HALT_TARGET_S = 1.0
CLI_TIMEOUT_S = 30.0


def is_halted(engine: Engine) -> bool:
    return engine.risk.state is TradingState.HALTED


def traded_since(engine: Engine, seen: int) -> bool:
    return outcomes(engine).appended > seen and not engine._tasks


async def clock_skew(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    """A venue's clock 5 s ahead or behind: after the engine synced, no signed request is refused."""
    rejected = traded = 0
    details: list[str] = []
    failed = 0
    unlimited = {v: UNLIMITED for v in TRADED}  # many start-ups in a row: rate limits are not this row's
    with log_tail() as tail:
        async with simulator(TRADED, seed, canary, limits=unlimited) as sim:
            for i in range(trials):
                venue = TRADED[i % 2]
                skew = 5000 if (i // 2) % 2 == 0 else -5000
                for v in TRADED:
                    sim.faults[v].clock_skew_ms = skew if v == venue else 0
                label = f"run {i} ({venue} {skew:+d} ms)"
                # one data dir, as one deployment: client ids stay unique across its runs; a HALT left by
                # the previous run is cleared as `arb-engine resume` would
                write_state(state_path(out), TradingState.ACTIVE, "", time.time_ns())
                try:
                    legs = await skewed_trade(sim, out, canary, i, label, details)
                except (TimeoutError, ArbError) as exc:
                    if isinstance(exc, TimestampError):
                        rejected += 1
                    else:
                        failed += 1
                    canary.scan(f"skew {label} exception", f"{exc!r} {exc}")
                    details.append(f"{label}: start refused: {type(exc).__name__}: {exc}"[:300])
                    continue
                traded += bool(legs)
                refused = [leg for leg in legs if leg.status is OrderStatus.REJECTED]
                rejected += len(refused)
                if refused:
                    why = [line for leg in refused for line in tail.about(leg.client_order_id)]
                    details.append(f"{label}: {len(refused)} legs refused: {' | '.join(why)[:300]}")
    figure = (f"{trials} runs ({traded} traded, {failed} failed to start otherwise): {rejected} timestamp "
              "rejections")
    return RowResult("clock skew +-5 s", trials, figure, f"{trials} runs: 0 timestamp rejections after sync",
                     rejected == 0 and traded == trials, details[:20])


async def skewed_trade(sim: SimExchange, data_dir: Path, canary: Canary, i: int, label: str,
                       details: list[str]) -> list[Order]:
    """Start an engine against the skewed venue and trade one window; the legs it sent."""
    async with live_engine(sim, data_dir, canary) as engine:
        seen = outcomes(engine).appended
        buy, sell = TRADED if i % 2 == 0 else TRADED[::-1]
        sim.market.open_window(BTC, buy, sell, net_bps=25.0, duration_ns=800_000_000)
        await wait_until(functools.partial(traded_since, engine, seen), 15.0)
        legs = [leg for o in outcomes(engine).since(seen) for leg in (o.buy, o.sell) if leg]
        if not legs:
            details.append(f"{label}: no trade ({why_idle(engine)})")
        return legs


def kill_writer(engine: Engine) -> bool:
    """Make the journal's writer thread die as on an I/O error at COMMIT (its transaction is ended
    under it, so its own COMMIT fails); False if the journal has no writer queue to do it with."""
    queue = getattr(engine.journal, "_queue", None)
    if queue is None:
        return False
    queue.put(("COMMIT", ()))
    engine.journal._put(("UPDATE runs SET version=version WHERE id=?", (engine.journal.run_id,)))
    return True


async def journal_failure(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    """The journal writer dies mid-run: the engine HALTs within 1 s and stops without hanging."""
    times: list[float] = []
    hangs = missed = 0
    details: list[str] = []
    # many start-ups in a row (each reads fees and balances): rate limits are not this row's subject
    async with simulator(TRADED, seed, canary, limits={v: UNLIMITED for v in TRADED}) as sim:
        for i in range(trials):
            engine = new_engine(sim, out / f"run{i:03d}", canary)
            try:
                await asyncio.wait_for(engine.start(), 30)
                await wait_until(functools.partial(ready, engine), 15)
                if not kill_writer(engine):
                    details.append(f"run {i}: no way to fail this journal's writer")
                    missed += 1
                    continue
                began = time.monotonic()
                buy, sell = TRADED if i % 2 == 0 else TRADED[::-1]
                sim.market.open_window(BTC, buy, sell, net_bps=25.0, duration_ns=800_000_000)
                halted = await wait_until(functools.partial(is_halted, engine), 3.0)
                if halted:
                    times.append(time.monotonic() - began)
                else:
                    missed += 1
                    details.append(f"run {i}: not HALTED 3 s after the writer died "
                                   f"(state {engine.risk.state.name}, {len(engine._tasks)} trades in flight)")
            except (TimeoutError, ArbError) as exc:
                missed += 1
                details.append(f"run {i}: {type(exc).__name__}: {exc}"[:300])
            finally:
                canary.scan_engine(engine, f"journal run {i}")
                if not await stop_engine(engine, 5.0):
                    hangs += 1
                    details.append(f"run {i}: stop() hung (> 5 s)")
    slow = sum(1 for t in times if t > HALT_TARGET_S)
    figure = (f"{len(times)}/{trials} HALTED ({slow} after > 1 s, p99 {percentile(times, 99):.2f} s); "
              f"{hangs} hung on stop")
    return RowResult("journal writer failure", trials, figure, f"{trials}: HALT within 1 s, no hang",
                     not missed and not slow and not hangs, details[:20])


async def cli(*args: str) -> tuple[int | None, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.cli", *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return None, "timed out"
    return proc.returncode, output.decode(errors="replace")


async def halt(trials: int, seed: int, out: Path, canary: Canary) -> RowResult:
    """`arb-engine halt` from another process reaches the running engine within 1 s; nothing is sent
    after it; `arb-engine resume` lets it trade again."""
    times: list[float] = []
    after = missed = 0
    details: list[str] = []
    async with simulator(TRADED, seed, canary) as sim, live_engine(sim, out, canary) as engine:
        data_dir = str(engine.config.engine.data_dir)
        for i in range(trials):
            code, text = await cli("halt", "--data-dir", data_dir, "--reason", f"chaos trial {i}")
            canary.scan(f"halt {i} output", text)
            if code != 0:
                missed += 1
                details.append(f"trial {i}: `arb-engine halt` exited {code}: {text.strip()[-200:]}")
                continue
            began = time.monotonic()
            halted = await wait_until(lambda: engine.risk.state is TradingState.HALTED, 3.0)
            if halted:
                times.append(time.monotonic() - began)
            else:
                missed += 1
                details.append(f"trial {i}: engine still {engine.risk.state.name} 3 s after `halt`")
            placed = {v: len(matching(sim, v).orders) for v in TRADED}
            buy, sell = TRADED if i % 2 == 0 else TRADED[::-1]
            sim.market.open_window(BTC, buy, sell, net_bps=25.0, duration_ns=800_000_000)
            await wait_until(lambda: False, 1.0)
            await wait_until(lambda: not engine._tasks, 10.0)
            sent = sum(len(matching(sim, v).orders) - placed[v] for v in TRADED)
            after += sent
            if sent:
                details.append(f"trial {i}: {sent} orders sent after the halt")
            code, text = await cli("resume", "--data-dir", data_dir)
            canary.scan(f"resume {i} output", text)
            await wait_until(lambda: engine.risk.state is TradingState.ACTIVE, 3.0)
            if engine.risk.state is not TradingState.ACTIVE:
                engine.risk.resume()  # the next trial starts from a trading engine
    slow = sum(1 for t in times if t > HALT_TARGET_S)
    figure = (f"{len(times)}/{trials} HALTED ({slow} after > 1 s, p99 {percentile(times, 99):.2f} s); "
              f"{after} orders after")
    return RowResult("`arb-engine halt` from another process", trials, figure,
                     f"{trials}: HALTED within 1 s, 0 orders after", not missed and not slow and not after,
                     details[:20])

