"""The engine wired as `run` wires it, live against the simulator's OKX and Binance: a forced window
is traded with real signed orders on both venues, and the simulated ledger, the journal's fills and
the engine's balances agree exactly (OKX's fills come from its ``orders`` pushes and ``/trade/fills``)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from arb.credentials import Credentials, Secret
from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.model import OrderStatus, Side, Symbol
from arb.ops.chaos.common import moves
from arb.sim.accounts import FUNDING, SIM_KEY, SIM_PASSPHRASE, SIM_SECRET
from arb.sim.okx import OkxDialect
from arb.sim.server import SimExchange
from arb.venues.okx import constants as c
from arb.venues.okx.books import BookMode
from arb.venues.okx.stream import OkxStream
from tests.engine.test_engine_live import calm_sim, journal_fills, live_config, wait_for

BTC = Symbol("BTC", "USDT")
VENUES = [c.VENUE, "binance"]


def credentials() -> dict[str, Credentials]:
    return {v: Credentials(v, Secret(SIM_KEY), Secret(SIM_SECRET), Secret(SIM_PASSPHRASE)) for v in VENUES}


async def test_okx_trades_against_binance_and_agrees_with_the_ledger(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=4)
    engine = Engine(live_config(urls, tmp_path), credentials=credentials())
    try:
        await engine.start()
        assert engine.reconciliation is not None and engine.reconciliation.ok
        assert engine.fees[(c.VENUE, BTC)] > 0  # from /account/trade-fee, OKX's sign flipped
        await wait_for(lambda: engine.summary()["books_synced"] == 4 and engine.user_streams[c.VENUE])
        sim.market.open_window(BTC, c.VENUE, "binance", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(engine.outcomes) and not engine._tasks)
        local = {(v, a): engine.risk.available(v, a) for v in VENUES for a in ("BTC", "USDT")}
        malformed = engine.decode_errors
    finally:
        await engine.stop()
        await sim.close()
    first = engine.outcomes[0]
    assert first.status is OutcomeStatus.FILLED and first.buy is not None and first.sell is not None
    assert (first.buy.venue, first.sell.venue) == (c.VENUE, "binance")
    assert first.buy.status is OrderStatus.FILLED and first.buy.client_order_id.endswith("b0")
    assert malformed == 0
    fills = await journal_fills(tmp_path)
    assert {f.venue for f in fills} == set(VENUES) and not any(f.paper for f in fills)
    okx_fills = [f for f in fills if f.venue == c.VENUE]
    assert all(f.client_order_id == first.buy.client_order_id for f in okx_fills)  # the engine's own id
    assert len({f.trade_id for f in okx_fills}) == len(okx_fills)  # pushes and /trade/fills de-duplicated
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        implied = moves(fills, venue)
        for asset in ("BTC", "USDT"):
            truth = ledger.total("sim", asset)
            assert truth == FUNDING[asset] + implied.get(asset, Decimal(0)), (venue, asset)
            assert local[(venue, asset)] == truth, (venue, asset)
    # OKX takes a buy's fee from the BTC bought: valued at the fill's price, in USDT like the rest
    pnl = sum((f.quantity * f.price * (1 if f.side is Side.SELL else -1)
               - (f.fee * f.price if f.fee_asset == "BTC" else f.fee) for f in fills), Decimal(0))
    assert any(f.fee_asset == "BTC" and f.fee > 0 for f in okx_fills)
    assert pnl == sum((o.pnl for o in engine.outcomes), Decimal(0)) > 0


def okx_book_matches_the_sim(engine: Engine, sim: SimExchange, symbol: Symbol) -> bool:
    """Once the store's OKX book is at the simulator's update id, whether every level agrees."""
    truth_id, bids, asks = sim.market.snapshot(c.VENUE, symbol, 400)
    book = engine.books.book(c.VENUE, symbol)
    if not engine.books.is_synced(c.VENUE, symbol) or book.update_id != truth_id:
        return False
    return (book.top(True, 400), book.top(False, 400)) == ([(float(p), float(q)) for p, q in bids],
                                                            [(float(p), float(q)) for p, q in asks])


async def test_okx_books_stay_numbers_on_checksum_0_and_verify_once_checksums_come(tmp_path: Path) -> None:
    """The engine as `run` wires it, on a moving simulated OKX that sends checksum 0 (OKX since
    2026-06-23): its books never keep price or size text. When checksums start mid-stream, the first
    checksummed update cannot be verified: the stream re-subscribes, the fresh snapshot starts EXACT
    mode, every later checksum verifies, and the book ends equal to the simulator's."""
    sim = SimExchange(VENUES, seed=4, step_s=0.02)
    okx_sim = sim.dialects[c.VENUE]
    assert isinstance(okx_sim, OkxDialect)
    okx_sim.checksums = False
    urls = await sim.start()
    engine = Engine(live_config(urls, tmp_path), credentials=credentials())
    try:
        await engine.start()
        stream = engine.streams[c.VENUE]
        assert isinstance(stream, OkxStream)
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        start = engine.books.sync(c.VENUE, BTC).applied
        await wait_for(lambda: engine.books.sync(c.VENUE, BTC).applied >= start + 20)  # moving
        states = list(stream._books.values())
        assert states and all(s.mode is BookMode.FAST and not s.bids.levels and not s.asks.levels
                              for s in states)
        assert stream.unverified == stream.checksum_failures == 0
        okx_sim.checksums = True
        await wait_for(lambda: stream.unverified >= 1 and all(
            (s := stream._books.get(i)) is not None and s.mode is BookMode.EXACT and s.synced
            for i in ("BTC-USDT", "ETH-USDT")), timeout=20.0)
        verified = engine.books.sync(c.VENUE, BTC).applied
        await wait_for(lambda: engine.books.sync(c.VENUE, BTC).applied >= verified + 10)
        await sim.close_driver()
        await wait_for(lambda: okx_book_matches_the_sim(engine, sim, BTC), timeout=20.0)
        assert stream.checksum_failures == 0 and stream.decode_errors == 0 and engine.decode_errors == 0
        assert stream._books["BTC-USDT"].bids.levels  # the strings the checksums were verified over
    finally:
        await engine.stop()
        await sim.close()
