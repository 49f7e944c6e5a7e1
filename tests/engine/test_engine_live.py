"""End to end (live path): real signed orders to the simulator's funded accounts.

The simulator's ledger is the truth: after the engine traded a forced window, the journal's fills,
the engine's balances and the ledger agree exactly, and PnL is the sum of the fills minus fees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.config import default_config
from arb.credentials import Credentials, Secret
from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.engine.journal import Journal
from arb.model import Fill, OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.ops.chaos.common import moves  # asset deltas the fills imply on one venue
from arb.sim.accounts import FUNDING
from arb.sim.faults import Reply
from arb.sim.server import SimExchange
from arb.venues.registry import make_private

BTC = Symbol("BTC", "USDT")
VENUES = ["binance", "mexc"]


def sim_credentials(venues: list[str]) -> dict[str, Credentials]:
    return {v: Credentials(v, Secret("sim-key"), Secret("sim-secret")) for v in venues}


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def calm_sim(venues: list[str], seed: int) -> tuple[SimExchange, dict[str, tuple[str, str]]]:
    sim = SimExchange(venues, seed=seed, step_s=0.05)
    urls = await sim.start()
    for params in list(sim.market.venues.values()):  # only the forced window trades
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)
    return sim, urls


def live_config(urls: dict[str, tuple[str, str]], data_dir: Path, **sections: Any) -> Any:
    return default_config(
        symbols=["BTC/USDT", "ETH/USDT"],
        venues={v: {"rest_url": u[0], "ws_url": u[1]} for v, u in urls.items()},
        engine={"data_dir": str(data_dir), "mode": "live", "balance_refresh_s": 60.0},
        **{"risk": {"min_net_bps": 10.0}, **sections},
    )


async def journal_fills(path: Path) -> list[Fill]:
    journal = Journal(path / "journal.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        return await journal.fills()
    finally:
        await journal.close()


async def test_live_trades_agree_with_the_simulated_ledger(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=4)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        assert engine.reconciliation is not None and engine.reconciliation.ok
        assert engine.fees[("mexc", BTC)] == float(sim.dialects["mexc"].matching.taker_fee)  # type: ignore[attr-defined]
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(engine.outcomes) and not engine._tasks)
        local = {(v, a): engine.risk.available(v, a) for v in VENUES for a in ("BTC", "USDT")}
        exposition = engine.metrics.render().decode()
    finally:
        await engine.stop()
        await sim.close()
    for line in ('arb_orders_total{venue="binance"}', 'arb_fills_total{venue="mexc"}',
                 'arb_rest_rate_limited_total{venue="binance"} 0.0', 'arb_ws_reconnects_total{venue="mexc"}',
                 'arb_ratelimit_headroom_ratio{pool="weight",venue="binance"}',
                 'arb_ratelimit_share_ratio{venue="binance"} 1.0',
                 'arb_ratelimit_remote_backoffs{venue="mexc"} 0.0',
                 'arb_clock_offset_seconds{venue="mexc"}'):
        assert line in exposition, line
    commits = engine.metrics.registry.get_sample_value("arb_journal_write_seconds_count")
    assert commits is not None and commits >= 1 and commits == engine.journal.commits
    first = engine.outcomes[0]
    assert first.status is OutcomeStatus.FILLED and first.buy is not None and first.sell is not None
    assert (first.buy.venue, first.sell.venue) == ("binance", "mexc")
    assert first.buy.client_order_id.endswith("b0") and first.buy.status is OrderStatus.FILLED
    fills = await journal_fills(tmp_path)
    assert fills and not any(f.paper for f in fills)
    assert {f.venue for f in fills} == set(VENUES)
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        implied = moves(fills, venue)
        for asset in ("BTC", "USDT"):
            truth = ledger.total("sim", asset)
            assert truth == FUNDING[asset] + implied.get(asset, Decimal(0)), (venue, asset)
            assert local[(venue, asset)] == truth, (venue, asset)  # the engine's balances, exactly
    pnl = sum((f.quantity * f.price * (1 if f.side is Side.SELL else -1) - f.fee for f in fills), Decimal(0))
    assert pnl == sum((o.pnl for o in engine.outcomes), Decimal(0)) > 0


async def _crash_with_intents(config: Any, creds: dict[str, Credentials], sim: SimExchange,
                              send_sell: bool) -> None:
    """What a crash right after sending leaves: both intents journaled PENDING_NEW, no replies."""
    from arb.model import Order

    journal = Journal(config.journal_path)
    await journal.open(mode="live", version="t", now_ns=1)
    _, _, asks = sim.market.snapshot("binance", BTC, 1)
    _, bids, _ = sim.market.snapshot("mexc", BTC, 1)
    legs = [("binance", Side.BUY, "crash-b0", asks[0][0], "buy"),
            ("mexc", Side.SELL, "crash-s0", bids[0][0], "sell")]
    for venue, side, cid, price, leg in legs:
        intent = Order(venue=venue, symbol=BTC, client_order_id=cid, side=side, type=OrderType.LIMIT,
                       quantity=Decimal("0.01"), price=price, time_in_force=TimeInForce.IOC, ts_created=1,
                       ts_updated=1)
        journal.record_order(intent, opportunity_id="crash", leg=leg, detail="intent")
    await journal.flush()
    await journal.close(now_ns=2)
    for venue, side, cid, price, _ in legs if send_sell else legs[:1]:
        private = make_private(venue, config.venues[venue], creds[venue])
        await private.place_order(BTC, side, OrderType.LIMIT, Decimal("0.01"), cid, price, TimeInForce.IOC)
        await private.close()


async def test_restart_reconciles_orders_sent_before_a_crash(tmp_path: Path) -> None:
    """Both legs reached the venues, the replies were lost: resolved by client id, fills recovered."""
    sim, urls = await calm_sim(VENUES, seed=5)
    config = live_config(urls, tmp_path)
    creds = sim_credentials(VENUES)
    try:
        await _crash_with_intents(config, creds, sim, send_sell=True)
        engine = Engine(config, credentials=creds)
        try:
            await engine.start()
            report = engine.reconciliation
            assert report is not None and sorted(report.resolved) == ["crash-b0", "crash-s0"]
            assert report.ok and report.fills_applied >= 2 and engine.risk.state.name == "ACTIVE"
            assert all(engine.tracker.get(c).status is OrderStatus.FILLED  # type: ignore[union-attr]
                       for c in ("crash-b0", "crash-s0"))
        finally:
            await engine.stop()
    finally:
        await sim.close()
    fills = await journal_fills(tmp_path)
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        for asset, moved in moves(fills, venue).items():
            assert ledger.total("sim", asset) == FUNDING[asset] + moved


async def test_restart_after_a_one_legged_crash_starts_halted(tmp_path: Path) -> None:
    """The sell never reached its venue: the bought leg is unhedged, so trading waits for an operator."""
    sim, urls = await calm_sim(VENUES, seed=5)
    config = live_config(urls, tmp_path)
    creds = sim_credentials(VENUES)
    try:
        await _crash_with_intents(config, creds, sim, send_sell=False)
        engine = Engine(config, credentials=creds)
        try:
            await engine.start()
            report = engine.reconciliation
            assert report is not None and not report.ok
            assert engine.tracker.get("crash-s0").status is OrderStatus.REJECTED  # type: ignore[union-attr]
            assert report.open_residuals == ["crash: net position +0.01 BTC (one-legged; from its fills)"]
            assert engine.risk.state.name == "HALTED" and "reconciliation" in engine.risk.reason
            ready, detail = engine.readiness()
            assert not ready and any("halted" in r for r in detail["reasons"])
        finally:
            await engine.stop()
    finally:
        await sim.close()


async def test_user_streams_carry_balances_and_a_return_catches_up(tmp_path: Path) -> None:
    """Live mode subscribes each venue's user stream: readiness waits for them; a trade made outside
    the engine on the same account moves its balances by push (the REST refresh is a minute away);
    money that moved while a stream was down is picked up by REST when the stream comes back."""
    sim, urls = await calm_sim(VENUES, seed=5)
    config = live_config(urls, tmp_path)
    creds = sim_credentials(VENUES)
    engine = Engine(config, credentials=creds)
    try:
        await engine.start()
        await wait_for(lambda: engine.user_streams == {"binance": True, "mexc": True}, timeout=30)
        await wait_for(lambda: engine.readiness()[0], timeout=30)
        private = make_private("mexc", config.venues["mexc"], creds["mexc"])
        _, _, asks = sim.market.snapshot("mexc", BTC, 1)
        await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), "manual-1", asks[0][0],
                                  TimeInForce.IOC)
        await private.close()
        ledger = sim.dialects["mexc"].ledger  # type: ignore[attr-defined]
        assert ledger.free("sim", "BTC") != FUNDING["BTC"]
        await wait_for(lambda: all(engine.risk.available("mexc", a) == ledger.free("sim", a)
                                   for a in ("BTC", "USDT")), timeout=30)

        engine.on_user_stream("binance", False)  # as the stream reports a drop
        ready, detail = engine.readiness()
        assert not ready and "user streams down: binance" in detail["reasons"]
        binance = sim.dialects["binance"].ledger  # type: ignore[attr-defined]
        binance.deposit("sim", "USDT", Decimal("123.45"))  # no push: the stream "missed" it
        engine.on_user_stream("binance", True)
        await wait_for(lambda: engine.risk.available("binance", "USDT") == binance.free("sim", "USDT"))
        assert engine.readiness()[0]
    finally:
        await engine.stop()
        await sim.close()


async def test_user_streams_sign_with_the_venues_clock(tmp_path: Path) -> None:
    """Gate refuses a private-channel request whose ``time`` is over 60 s from its clock: with the
    venue's clock 90 s ahead, the user stream still comes up because it signs with venue time."""
    venues = ["gateio", "mexc"]
    sim, urls = await calm_sim(venues, seed=6)
    sim.faults["gateio"].clock_skew_ms = 90_000
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(venues))
    try:
        await engine.start()
        await wait_for(lambda: engine.user_streams == {"gateio": True, "mexc": True})
        offset = engine.privates["gateio"].server_clock.offset_ms  # type: ignore[attr-defined]
        assert 85_000 < offset < 95_000
    finally:
        await engine.stop()
        await sim.close()


async def test_a_clock_sample_queued_behind_a_429_does_not_put_signatures_ahead(tmp_path: Path) -> None:
    """A 429 with Retry-After freezes the venue's shared limiter; the clock refresh that falls due
    then waits in it for seconds. Taken as one sample, that wait would put the venue clock seconds
    ahead (mid-point of a long round trip) and the venue would refuse the next order's timestamp."""
    sim, urls = await calm_sim(VENUES, seed=8)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        canned = sim.injectors["mexc"].counts
        sim.faults["mexc"].replies.append(Reply(429, '{"code":429,"msg":"Too Many Requests"}',
                                                {"Retry-After": "3"}, method="GET", path="/api/v3/depth"))
        engine.books.invalidate("mexc", Symbol("ETH", "USDT"), "test 429")
        await wait_for(lambda: canned.canned == 1)  # the limiter of mexc is frozen for 3 s
        clock = engine.privates["mexc"].server_clock  # type: ignore[attr-defined]
        clock.invalidate()  # a refresh falls due (as every 60 s, or after a refused timestamp)
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(engine.outcomes) and not engine._tasks, 20.0)
        legs = [leg for o in engine.outcomes for leg in (o.buy, o.sell) if leg and leg.venue == "mexc"]
        offset = clock.offset_ms
    finally:
        await engine.stop()
        await sim.close()
    assert abs(offset) < 500, offset  # the simulator's clock is ours
    assert legs and all(leg.status is not OrderStatus.REJECTED for leg in legs), legs
    sent = {o.client_id for o in sim.dialects["mexc"].matching.orders.values()}  # type: ignore[attr-defined]
    assert {leg.client_order_id for leg in legs} <= sent  # the venue took every mexc order
