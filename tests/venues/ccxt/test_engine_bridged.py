"""The engine trading with one venue bridged through ccxt: native Gate.io + ccxt's own Binance class,
both against the simulator, on the live path (real signed orders to the funded accounts).

The simulator's ledgers are the truth: after the engine traded a forced window, the journal's fills
and the engine's balances agree with them exactly on both venues.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from arb.config import default_config
from arb.credentials import Credentials, Secret
from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.engine.journal import Journal
from arb.model import Fill, OrderStatus, Symbol
from arb.ops.chaos.common import moves
from arb.sim.accounts import FUNDING
from arb.sim.server import SimExchange
from arb.venues.ccxt import CcxtPrivate, CcxtStream

BTC = Symbol("BTC", "USDT")
VENUES = ["binance", "gateio"]


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_native_gate_and_bridged_binance_trade_and_agree_with_the_ledgers(tmp_path: Path) -> None:
    sim = SimExchange(VENUES, seed=4, step_s=0.05)
    urls = await sim.start()
    for params in list(sim.market.venues.values()):  # only the forced window trades
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)
    config = default_config(
        symbols=["BTC/USDT", "ETH/USDT"],
        venues={"gateio": {"rest_url": urls["gateio"][0], "ws_url": urls["gateio"][1]},
                "binance": {"driver": "ccxt", "rest_url": urls["binance"][0], "ws_url": urls["binance"][1]}},
        engine={"data_dir": str(tmp_path), "mode": "live", "balance_refresh_s": 60.0},
        risk={"min_net_bps": 10.0})
    creds = {v: Credentials(v, Secret("sim-key"), Secret("sim-secret")) for v in VENUES}
    engine = Engine(config, credentials=creds)
    try:
        await engine.start()
        assert isinstance(engine.privates["binance"], CcxtPrivate)
        assert isinstance(engine.streams["binance"], CcxtStream)
        assert engine.reconciliation is not None and engine.reconciliation.ok
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        await wait_for(lambda: all(engine.user_streams.values()))
        sim.market.open_window(BTC, "binance", "gateio", net_bps=40.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(engine.outcomes))
        await asyncio.sleep(1.5)  # the window is over: what it started settles
        await wait_for(lambda: not engine._tasks and not engine.tracker.open_orders())
        local = {(v, a): engine.risk.available(v, a) for v in VENUES for a in ("BTC", "USDT")}
        books = engine.streams["binance"].books  # type: ignore[attr-defined]
    finally:
        await engine.stop()
        await sim.close()
    first = engine.outcomes[0]
    assert first.status is OutcomeStatus.FILLED and first.buy is not None and first.sell is not None
    assert (first.buy.venue, first.sell.venue) == ("binance", "gateio")
    assert first.buy.status is OrderStatus.FILLED and first.sell.status is OrderStatus.FILLED
    assert books.updates > 0 and books.crossed == 0
    journal = Journal(tmp_path / "journal.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        fills: list[Fill] = await journal.fills()
    finally:
        await journal.close()
    assert {f.venue for f in fills} == set(VENUES)
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        implied = moves(fills, venue)
        for asset in ("BTC", "USDT"):
            truth = ledger.total("sim", asset)
            assert truth == FUNDING[asset] + implied.get(asset, Decimal(0)), (venue, asset)
            assert local[(venue, asset)] == truth, (venue, asset)
