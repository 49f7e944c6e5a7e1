"""Bybit in the engine, wired as `run` wires it, against the loopback simulator (live path).

Forced windows between Bybit and Binance are traded in both directions with real signed IOC orders;
afterwards the journal's fills, the engine's balances and the simulator's ledgers agree exactly. The
private stream comes up (auth with an expiry on the venue clock, even 90 s off the local one) and a
trade made outside the engine moves the engine's Bybit balances by push.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.model import OrderStatus, OrderType, Side, TimeInForce
from arb.ops.chaos.common import moves
from arb.sim.accounts import FUNDING
from arb.venues.registry import make_private
from tests.engine.test_engine_live import BTC, calm_sim, journal_fills, live_config, sim_credentials, wait_for

VENUES = ["binance", "bybit"]


async def test_bybit_trades_against_binance_and_agrees_with_the_ledgers(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=12)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        assert engine.reconciliation is not None and engine.reconciliation.ok
        assert engine.fees[("bybit", BTC)] == float(sim.dialects["bybit"].matching.taker_fee)  # type: ignore[attr-defined]
        await wait_for(lambda: engine.summary()["books_synced"] == 4, timeout=30)
        await wait_for(lambda: engine.user_streams == {"binance": True, "bybit": True}, timeout=30)
        sim.market.open_window(BTC, "binance", "bybit", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: len(engine.outcomes) >= 1 and not engine._tasks, timeout=30)
        sim.market.open_window(BTC, "bybit", "binance", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: len(engine.outcomes) >= 2 and not engine._tasks, timeout=30)
        local = {(v, a): engine.risk.available(v, a) for v in VENUES for a in ("BTC", "USDT")}
    finally:
        await engine.stop()
        await sim.close()
    pairs = [(o.buy.venue, o.sell.venue) for o in engine.outcomes if o.buy is not None and o.sell is not None]
    assert ("binance", "bybit") in pairs and ("bybit", "binance") in pairs
    for outcome in engine.outcomes:
        assert outcome.status is OutcomeStatus.FILLED, outcome
        assert outcome.buy is not None and outcome.buy.status is OrderStatus.FILLED
    fills = await journal_fills(tmp_path)
    assert {f.venue for f in fills} == set(VENUES) and not any(f.paper for f in fills)
    bybit_fills = [f for f in fills if f.venue == "bybit"]
    assert all(f.fee_asset in ("BTC", "USDT") and f.fee > 0 for f in bybit_fills)
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        implied = moves(fills, venue)
        for asset in ("BTC", "USDT"):
            truth = ledger.total("sim", asset)
            assert truth == FUNDING[asset] + implied.get(asset, Decimal(0)), (venue, asset)
            assert local[(venue, asset)] == truth, (venue, asset)


async def test_bybit_private_stream_on_venue_time_moves_balances_by_push(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=13)
    sim.faults["bybit"].clock_skew_ms = 90_000  # the auth expiry is computed on the venue's clock
    config = live_config(urls, tmp_path)
    creds = sim_credentials(VENUES)
    engine = Engine(config, credentials=creds)
    try:
        await engine.start()
        await wait_for(lambda: engine.user_streams.get("bybit") is True, timeout=30)
        offset = engine.privates["bybit"].server_clock.offset_ms  # type: ignore[union-attr]
        assert 85_000 < offset < 95_000
        private = make_private("bybit", config.venues["bybit"], creds["bybit"])
        _, _, asks = sim.market.snapshot("bybit", BTC, 1)
        await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), "manual-1", asks[0][0],
                                  TimeInForce.IOC)
        await private.close()
        ledger = sim.dialects["bybit"].ledger  # type: ignore[attr-defined]
        assert ledger.free("sim", "BTC") != FUNDING["BTC"]
        await wait_for(lambda: all(engine.risk.available("bybit", a) == ledger.free("sim", a)
                                   for a in ("BTC", "USDT")), timeout=30)
    finally:
        await engine.stop()
        await sim.close()
