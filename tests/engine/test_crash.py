"""Crash recovery: the engine is SIGKILLed at points of a live trade and restarted.

The engine runs as `arb-engine run --live` in a subprocess against the simulator (in this process,
so it outlives the crash); `ARB_FAILPOINTS` makes the engine kill itself at the named point of its
first trade. After the restart (which reconciles the journal with the venues before trading) the
journal agrees with the simulator: every order the venues saw is journaled and final with the same
fills, no client order id was used twice, and the journaled fills explain the ledger exactly.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.engine.journal import Journal
from arb.engine.risk import read_state, state_path
from arb.model import OrderStatus, Side, Symbol
from arb.sim.accounts import FUNDING, SIM_KEY, SIM_SECRET
from arb.sim.server import SimExchange
from tests.helpers import competitor_takes_half_the_bids

VENUES = ("binance", "mexc")


def _config(path: Path, urls: dict[str, tuple[str, str]], data_dir: Path) -> Path:
    venues = "\n".join(f'[venues.{v}]\nrest_url = "{u[0]}"\nws_url = "{u[1]}"\n' for v, u in urls.items())
    path.write_text(
        'symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]\n'
        f'[engine]\nmode = "live"\ndata_dir = "{data_dir}"\nuse_uvloop = false\n'
        "[observability]\nmetrics_port = 0\n" + venues
    )
    return path


async def _run(config: Path, duration: float, failpoints: str = "") -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    for venue in VENUES:
        env[f"ARB_{venue.upper()}_API_KEY"] = SIM_KEY
        env[f"ARB_{venue.upper()}_API_SECRET"] = SIM_SECRET
    if failpoints:
        env["ARB_FAILPOINTS"] = failpoints
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.cli", "run", "--config", str(config), "--live",
        "--duration", str(duration),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=duration + 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


def _moves(fills: list[Any], venue: str) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for f in (f for f in fills if f.venue == venue):
        sign = 1 if f.side is Side.BUY else -1
        out[f.symbol.base] = out.get(f.symbol.base, Decimal(0)) + sign * f.quantity
        out[f.symbol.quote] = out.get(f.symbol.quote, Decimal(0)) - sign * f.price * f.quantity
        out[f.fee_asset] = out.get(f.fee_asset, Decimal(0)) - f.fee
    return out


@pytest.mark.parametrize("point", ["executor.intent", "executor.sent", "executor.filled"])
async def test_sigkill_mid_trade_then_restart_agrees_with_the_venues(tmp_path: Path, point: str) -> None:
    sim = SimExchange(VENUES, seed=21, step_s=0.05)
    urls = await sim.start()
    try:
        config = _config(tmp_path / "arb.toml", urls, tmp_path / "data")
        code, out = await _run(config, duration=60, failpoints=f"{point}=1")
        assert code == -signal.SIGKILL, out  # it died at the failpoint, mid-trade
        code, restart = await _run(config, duration=1.5)
        assert code == 0, restart
    finally:
        await sim.close()
    journal = Journal(tmp_path / "data" / "journal.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        orders = {o.client_order_id: o for o in await journal.orders()}
        fills = await journal.fills()
    finally:
        await journal.close()
    assert orders, "the first run journaled its intents before dying"
    assert all(o.status.is_terminal for o in orders.values()), (
        [(o.client_order_id, o.status.name) for o in orders.values() if not o.status.is_terminal], restart)
    for venue in VENUES:
        matching: Any = sim.dialects[venue].matching  # type: ignore[attr-defined]
        seen = list(matching.orders.values())
        assert len({o.client_id for o in seen}) == len(seen)  # no client order id sent twice
        for sim_order in seen:  # every order a venue saw is journaled with what it filled
            mine = orders[sim_order.client_id]
            assert mine.venue == venue and mine.filled_qty == sim_order.filled, (sim_order, mine)
        for cid, order in orders.items():
            if order.venue == venue and order.status is OrderStatus.REJECTED:
                assert all(o.client_id != cid for o in seen)  # "never arrived" really never arrived
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        for asset, moved in _moves(fills, venue).items():
            assert ledger.total("sim", asset) == FUNDING[asset] + moved, (
                venue, asset, [f for f in fills if f.venue == venue], matching.fills)
    # the crashed trade: every leg final; its net position (bought - sold, hedges included) decides
    # the state: one-legged -> the restart reports it and stays HALTED; flat -> trading resumes
    net: dict[str, Decimal] = {}
    for order in orders.values():
        match = re.fullmatch(r"(1-[0-9a-z]+-\d+)[bsr]\d+", order.client_order_id)  # the first run (id 1)
        if match is not None:
            sign = 1 if order.side is Side.BUY else -1
            net[match[1]] = net.get(match[1], Decimal(0)) + sign * order.filled_qty
    assert net, "the crashed run's trade is in the journal"
    state, reason = read_state(state_path(tmp_path / "data"))
    one_legged = sorted(opp for opp, left in net.items() if left)
    if one_legged:
        assert state.name == "HALTED" and "net position" in reason, (net, state, reason, restart)
        assert all(opp in reason for opp in one_legged), reason
    else:
        assert state.name == "ACTIVE" or "reconciliation" not in reason, (state, reason, restart)


async def test_a_crash_between_unequal_final_legs_and_the_residual_row_is_reported(tmp_path: Path) -> None:
    """Both legs final in the journal, the sell only half filled, killed before the residual row:
    the restart recomputes the opportunity's net position from its fills and HALTs naming it."""
    sim = SimExchange(VENUES, seed=22, step_s=0.05)
    urls = await sim.start()
    for params in list(sim.market.venues.values()):  # calm: only the forced window trades
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)
    competitor_takes_half_the_bids(sim, "mexc")  # the sell leg fills only half

    async def window() -> None:
        while True:  # a window every 2 s until the engine trades one (and dies at the failpoint)
            await asyncio.sleep(2.0)
            sim.market.open_window(Symbol("BTC", "USDT"), "binance", "mexc", net_bps=25.0,
                                   duration_ns=800_000_000)

    try:
        config = _config(tmp_path / "arb.toml", urls, tmp_path / "data")
        opener = asyncio.create_task(window())
        try:
            code, out = await _run(config, duration=30, failpoints="executor.filled=1")
        finally:
            opener.cancel()
        assert code == -signal.SIGKILL, out
        code, restart = await _run(config, duration=1.0)
        assert code == 0, restart
    finally:
        await sim.close()
    journal = Journal(tmp_path / "data" / "journal.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        orders = await journal.orders()
        residual_rows = await journal.query("SELECT * FROM residuals")
    finally:
        await journal.close()
    legs = {o.client_order_id[-2:]: o for o in orders if o.client_order_id.startswith("1-")}
    assert legs["b0"].filled_qty > legs["s0"].filled_qty > 0  # unequal, both final
    assert not residual_rows  # the crash came before the residual row
    state, reason = read_state(state_path(tmp_path / "data"))
    assert state.name == "HALTED" and "net position" in reason, (reason, restart)
    left = legs["b0"].filled_qty - legs["s0"].filled_qty
    assert f"+{left}" in reason or f"+{left.normalize()}" in reason, reason
