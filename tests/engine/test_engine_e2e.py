"""End to end (paper): simulator on loopback -> streams -> book sync -> detector -> executor -> journal."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from arb.config import default_config
from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.model import Side, Symbol
from arb.sim.server import SimExchange

BTC = Symbol("BTC", "USDT")
BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("40")}


async def test_a_forced_window_is_traded_and_journaled(tmp_path: Path) -> None:
    venues = ["binance", "gateio", "mexc"]
    sim = SimExchange(venues, seed=4, step_s=0.05)
    urls = await sim.start()
    for params in list(sim.market.venues.values()):  # a calm market: only the forced window trades
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)
    config = default_config(
        symbols=["BTC/USDT", "ETH/USDT"],
        venues={v: {"rest_url": urls[v][0], "ws_url": urls[v][1]} for v in venues},
        engine={"data_dir": str(tmp_path)},
        # half the window is visible on binance before gateio's diff lands: only the whole clears 10 bps
        risk={"min_net_bps": 10.0},
    )
    engine = Engine(config, paper_balances=BALANCES)
    try:
        await engine.start()
        for _ in range(200):
            if engine.summary()["books_synced"] == 6:
                break
            await asyncio.sleep(0.02)
        assert engine.summary()["books_synced"] == 6
        sim.market.open_window(BTC, "binance", "gateio", net_bps=20.0, duration_ns=800_000_000)
        for _ in range(200):
            if engine.outcomes:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
    finally:
        await engine.stop()
        await sim.close()
    summary = engine.summary()
    assert summary["funnel"]["both_filled"] >= 1 and summary["trades"] >= 1
    first = engine.outcomes[0]
    assert first.status is OutcomeStatus.FILLED and first.buy is not None and first.sell is not None
    assert (first.buy.venue, first.sell.venue) == ("binance", "gateio")
    assert first.buy.filled_qty == first.sell.filled_qty > 0
    # the journal holds exactly the fills the orders add up to, and PnL = sells - buys - fees
    from arb.engine.journal import Journal

    journal = Journal(tmp_path / "journal.sqlite")
    await journal.open(mode="paper", version="t", now_ns=1)
    fills = await journal.fills()
    await journal.close()
    assert fills and all(f.paper for f in fills)
    signed = (f.quantity * f.price * (1 if f.side is Side.SELL else -1) - f.fee for f in fills)
    journaled = sum(signed, Decimal(0))
    assert journaled == sum((o.pnl for o in engine.outcomes), Decimal(0))
    assert summary["pnl"] > 0 and summary["state"] == "ACTIVE"
