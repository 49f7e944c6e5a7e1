"""Runs that share one data dir, and an engine that cannot trade (issue 10, items 10-12).

- While trading is not ACTIVE the detector stops at one counted gate: no opportunity is emitted,
  executed or journaled (a HALTed engine used to write a row per symbol cooldown forever).
- Two paper runs on one data dir keep every fill: ids carry the journal's run counter, so the
  second run's fills are not dropped as duplicates of the first's (the journal's PnL was about half
  of what the runs reported).
- Client order ids never repeat across runs, even for two starts in the same second.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from arb.config import default_config
from arb.engine.engine import Engine
from arb.engine.journal import Journal
from arb.engine.reasons import Gate
from arb.model import Symbol
from arb.obs.metrics import parse_exposition
from arb.sim.server import SimExchange

BTC = Symbol("BTC", "USDT")
BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("40")}
VENUES = ["binance", "gateio"]


async def _calm_sim(seed: int) -> tuple[SimExchange, dict[str, tuple[str, str]]]:
    sim = SimExchange(VENUES, seed=seed, step_s=0.05)
    urls = await sim.start()
    for params in list(sim.market.venues.values()):
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)
    return sim, urls


def _config(urls: dict[str, tuple[str, str]], data_dir: Path) -> object:
    return default_config(
        symbols=["BTC/USDT", "ETH/USDT"],
        venues={v: {"rest_url": urls[v][0], "ws_url": urls[v][1]} for v in VENUES},
        engine={"data_dir": str(data_dir)}, risk={"min_net_bps": 10.0, "symbol_cooldown_ms": 0},
    )


async def _until(condition: object, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def _paper_run(sim: SimExchange, urls: dict[str, tuple[str, str]], data_dir: Path,
                     halted: bool = False) -> Engine:
    engine = Engine(_config(urls, data_dir), paper_balances=BALANCES)  # type: ignore[arg-type]
    try:
        await engine.start()
        await _until(lambda: engine.summary()["books_synced"] == 4)
        if halted:
            engine.risk.halt("operator test")
        sim.market.open_window(BTC, "binance", "gateio", net_bps=20.0, duration_ns=800_000_000)
        if halted:
            await asyncio.sleep(1.2)
        else:
            await _until(lambda: engine.totals.trades >= 1 and not engine._tasks)
    finally:
        await engine.stop()
    return engine


async def _journal(data_dir: Path) -> Journal:
    journal = Journal(data_dir / "journal.sqlite")
    await journal.open(mode="paper", version="t", now_ns=1)
    return journal


async def test_a_halted_engine_evaluates_nothing_and_journals_nothing(tmp_path: Path) -> None:
    sim, urls = await _calm_sim(51)
    try:
        engine = await _paper_run(sim, urls, tmp_path, halted=True)
    finally:
        await sim.close()
    gates = engine.detector.funnel.gates
    assert gates.get(Gate.TRADING_HALTED, 0) > 10  # every update during the window stopped at the gate
    # what people read (the summary: demo, `/status`; the metric's label) keeps the words
    assert engine.summary()["gates"]["trading HALTED"] == gates[Gate.TRADING_HALTED]
    samples = parse_exposition(engine.metrics.render().decode())
    assert samples['arb_gate_total{reason="trading HALTED"}'] == gates[Gate.TRADING_HALTED]
    assert engine.detector.funnel.stages["evaluated"] == 0 or not engine.outcomes
    assert not engine.outcomes and engine.totals.trades == 0
    journal = await _journal(tmp_path)
    try:
        rows = await journal.query("SELECT COUNT(*) AS n FROM opportunities")
    finally:
        await journal.close()
    assert rows[0]["n"] == 0


async def test_two_paper_runs_on_one_data_dir_keep_every_fill(tmp_path: Path) -> None:
    sim, urls = await _calm_sim(52)
    try:
        first = await _paper_run(sim, urls, tmp_path)
        second = await _paper_run(sim, urls, tmp_path)
    finally:
        await sim.close()
    journal = await _journal(tmp_path)
    try:
        fills = await journal.fills()
        orders = await journal.orders()
    finally:
        await journal.close()
    seen = [sum(fills for _, fills in engine.tracker.counts().values()) for engine in (first, second)]
    assert all(seen) and len(fills) == sum(seen)  # every fill of both runs is in the journal
    runs = {o.client_order_id.removeprefix("t-").split("-", 1)[0] for o in orders}  # Gate wants "t-"
    assert runs == {"1", "2"}  # the journal's run counter prefixes every id
    assert len({(f.venue, f.trade_id) for f in fills}) == len(fills)
    assert {f.trade_id.split("-")[1] for f in fills} == {"1", "2"}, [f.trade_id for f in fills]


async def test_client_ids_never_repeat_for_two_starts_in_the_same_second(tmp_path: Path) -> None:
    sim, urls = await _calm_sim(53)
    clock = 1_800_000_000 * 10**9  # both engines see the same wall-clock second
    tags = []
    try:
        for _ in range(2):
            engine = Engine(_config(urls, tmp_path), paper_balances=BALANCES,  # type: ignore[arg-type]
                            clock_ns=lambda: clock)
            await engine.start()
            tags.append(engine.detector._run_tag)
            await engine.stop()
    finally:
        await sim.close()
    assert tags[0] != tags[1]


def test_run_tags_differ_across_data_dirs_that_trade_one_account() -> None:
    """A fresh data dir starts its run counter at 1 again: the start second keeps its ids new."""
    from arb.engine.runtag import run_tag

    first, later = run_tag(1, 1_800_000_000 * 10**9), run_tag(1, 1_800_000_001 * 10**9)
    assert first != later and first.startswith("1-") and len(first) <= 10
    assert run_tag(2, 1_800_000_000 * 10**9) != first  # same second, next run on the same data dir


async def test_stop_while_opportunities_keep_coming_trades_nothing_new_and_journals_every_fill(
        tmp_path: Path) -> None:
    """stop() waits for the trades in flight while the streams still deliver: the detector's gate
    says "engine stopping" from its first line, so no trade starts that the closing journal would
    miss (under load, a second run's fills were lost this way: 6 of 10 in the journal)."""
    sim, urls = await _calm_sim(54)
    engine = Engine(_config(urls, tmp_path), paper_balances=BALANCES)  # type: ignore[arg-type]
    try:
        await engine.start()
        await _until(lambda: engine.summary()["books_synced"] == 4)
        sim.market.open_window(BTC, "binance", "gateio", net_bps=20.0, duration_ns=5_000_000_000)
        await _until(lambda: engine.totals.trades >= 1)
        stopping = asyncio.get_running_loop().create_task(engine.stop())
        await asyncio.sleep(0)  # stop() has begun; the window is still open
        assert engine.detector.on_book_update("binance", BTC) is None  # an update now starts no trade
        await stopping
    finally:
        await sim.close()
    assert not engine._tasks and engine.detector.funnel.gates[Gate.ENGINE_STOPPING] >= 1
    journal = await _journal(tmp_path)
    try:
        fills = await journal.fills()
    finally:
        await journal.close()
    assert len(fills) == sum(n for _, n in engine.tracker.counts().values()) > 0


def test_workers_trading_one_account_never_share_client_ids() -> None:
    """Two processes on one account (cluster workers) may start in the same second with their own
    journals (run 1 each): their names keep their ids apart (`demo --cluster 2` mixed two workers'
    fills when they did not: tests/cluster/test_demo.py checks the ledger end to end)."""
    from arb.engine.runtag import run_tag

    now = 1_800_000_000 * 10**9
    tags = {run_tag(1, now, name) for name in ("w1", "w2", "w3", "w4")}
    assert len(tags) == 4 and run_tag(1, now) == "1-tro8w0-"
    assert all(t.replace("-", "").isalnum() for t in tags)
