"""Balances and gates on a live engine against the simulator (issue 10, items 9 and 11).

- A balance snapshot that was taken before a trade but answered after it never overwrites what the
  engine applied from the trade's fills (an older snapshot never overwrites newer knowledge).
- A reservation covers the buy leg's IOC limit price (worst price plus slippage) times the quantity
  plus the fee: the most the order can spend.
- In live mode a venue whose user stream is down is not traded (its fills would go unseen).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.engine.reasons import Gate
from arb.model import AssetBalance, Symbol
from arb.sim.accounts import FUNDING
from arb.sim.server import SimExchange
from tests.engine.test_engine_live import calm_sim, live_config, sim_credentials, wait_for

BTC = Symbol("BTC", "USDT")
VENUES = ["binance", "mexc"]


async def _engine(tmp_path: Path, seed: int) -> tuple[SimExchange, Engine]:
    sim, urls = await calm_sim(VENUES, seed=seed)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    await engine.start()
    await wait_for(lambda: engine.summary()["books_synced"] == 4 and engine.readiness()[0], timeout=30)
    return sim, engine


def ledger_free(sim: SimExchange, venue: str, asset: str) -> Decimal:
    return sim.dialects[venue].ledger.free("sim", asset)  # type: ignore[attr-defined, no-any-return]


async def test_a_snapshot_older_than_a_trade_does_not_overwrite_its_fills(tmp_path: Path) -> None:
    sim, engine = await _engine(tmp_path, 61)
    try:
        private: Any = engine.privates["mexc"]
        read = private.balances

        async def taken_before_answered_after() -> dict[str, AssetBalance]:
            snapshot: dict[str, AssetBalance] = await read()  # the venue's state before the trade
            sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
            await wait_for(lambda: any(o.status is not OutcomeStatus.REJECTED for o in engine.outcomes)
                           and not engine._tasks, timeout=20)
            return snapshot  # ... arrives after the trade's fills were applied

        private.balances = taken_before_answered_after
        stale = (await read())["BTC"].free
        await engine.refresh_balances()
        private.balances = read
        assert ledger_free(sim, "mexc", "BTC") != stale  # the trade moved mexc's BTC
        assert engine.risk.available("mexc", "BTC") == ledger_free(sim, "mexc", "BTC")
        await engine.refresh_balances()  # a quiet venue's snapshot is applied as it is
        assert engine.risk.available("mexc", "BTC") == ledger_free(sim, "mexc", "BTC")
    finally:
        await engine.stop()
        await sim.close()


async def test_the_reservation_covers_the_limit_price_and_the_fee(tmp_path: Path) -> None:
    sim, engine = await _engine(tmp_path, 62)
    try:
        assert engine._executor is not None
        reserved: list[Decimal] = []
        approve = engine.risk.approve

        def watching(opp: Any, **kw: Any) -> Any:
            decision = approve(opp, **kw)
            if decision.approved:
                reserved.append(engine.risk._reservations[opp.id].quote)
                assert kw["buy_price"] > Decimal(repr(opp.buy_worst))  # slippage on top of the worst
                fee = Decimal(repr(kw["buy_fee"]))
                assert reserved[-1] == kw["quantity"] * kw["buy_price"] * (1 + fee)
            return decision

        engine.risk.approve = watching  # type: ignore[method-assign]
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(reserved) and not engine._tasks, timeout=20)
        trade = next(o for o in engine.outcomes if o.status is not OutcomeStatus.REJECTED)
        assert trade.buy is not None and trade.buy.filled_quote + trade.buy.fee <= reserved[0]
    finally:
        await engine.stop()
        await sim.close()


async def test_a_venue_whose_user_stream_is_down_is_not_traded(tmp_path: Path) -> None:
    sim, engine = await _engine(tmp_path, 63)
    try:
        engine.on_user_stream("mexc", False)  # as the stream reports a drop
        gates = engine.detector.funnel.gates
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: gates.get(Gate.USER_STREAM_DOWN, 0) > 5, timeout=10)
        await _settle(engine)
        assert not [o for o in engine.outcomes if o.status is not OutcomeStatus.REJECTED]
        assert not list(sim.dialects["mexc"].matching.orders.values())  # type: ignore[attr-defined]
    finally:
        await engine.stop()
        await sim.close()


async def _settle(engine: Engine, sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
    import asyncio

    await (sleep or asyncio.sleep)(1.0)  # the window (0.8 s) is over


async def test_a_venue_clock_behind_ours_does_not_trip_the_time_lag_gate(tmp_path: Path) -> None:
    """binance's clock runs 5 s behind: its event times look 5 s old on our clock. The gate compares
    them on the venue's clock (its ServerClock offset), so the window is still traded."""
    sim, urls = await calm_sim(VENUES, seed=64)
    sim.faults["binance"].clock_skew_ms = -5000
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4 and engine.readiness()[0], timeout=30)
        assert engine._clock_offset_ns("binance") < -4 * 10**9
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: any(o.status is not OutcomeStatus.REJECTED for o in engine.outcomes)
                       and not engine._tasks,
                       timeout=20)
        assert engine.detector.funnel.gates.get(Gate.VENUE_TIME_LAG, 0) == 0
    finally:
        await engine.stop()
        await sim.close()


async def test_paper_mode_measures_the_venue_clock_too(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=65)
    sim.faults["binance"].clock_skew_ms = -5000
    config = live_config(urls, tmp_path)
    config = msgspec.structs.replace(config, engine=msgspec.structs.replace(config.engine, mode="paper"))
    balances = {"USDT": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("40")}
    engine = Engine(config, paper_balances=balances)
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4, timeout=30)
        assert engine._clock_offset_ns("binance") < -4 * 10**9
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: engine.totals.trades >= 1 and not engine._tasks, timeout=20)
        assert engine.detector.funnel.gates.get(Gate.VENUE_TIME_LAG, 0) == 0
    finally:
        await engine.stop()
        await sim.close()


async def test_the_journals_last_balances_are_the_venues_after_a_stop(tmp_path: Path) -> None:
    """The engine stops right after a trade (its venues' last balance reports predate the fills): the
    stop reads the balances once more, so the journal's last report per venue and asset is the
    simulator's ledger, as `status` shows it for a live journal."""
    sim, engine = await _engine(tmp_path, 62)
    try:
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: any(o.status is not OutcomeStatus.REJECTED for o in engine.outcomes)
                       and not engine._tasks, timeout=20)
    finally:
        await engine.stop()
    try:
        with sqlite3.connect(tmp_path / "journal.sqlite") as db:
            last = {(v, a): Decimal(free) for v, a, free in db.execute(
                "SELECT venue, asset, free FROM balances b WHERE rowid = (SELECT MAX(rowid) FROM balances "
                "WHERE venue = b.venue AND asset = b.asset)")}
        for venue in VENUES:
            for asset in ("BTC", "USDT"):
                assert last[(venue, asset)] == ledger_free(sim, venue, asset), (venue, asset)
        assert any(ledger_free(sim, v, "BTC") != FUNDING["BTC"] for v in VENUES)  # the trade moved them
    finally:
        await sim.close()
