"""The engine trading with one venue bridged through ccxt: native Gate.io + ccxt's own Binance class,
both against the simulator, on the live path (real signed orders to the funded accounts), the engine
wired as `run` wires it.

The simulator's venues re-quote at the same instants, as real venues' aggregated streams do: an
opportunity is decided on the first venue's update of an instant, and the executor re-checks the
books one event-loop pass later, when the other venue's update of that instant has landed. The
bridged book must land as soon as a native one; it used to land two passes later (ccxt's reader
and its futures), so the bridged book of the previous instant was traded: its IOC leg came back
empty and the trade went one-legged. ccxt's pacing used to hold the first order behind the
start-up reads' rate-limit debt (~100 ms), long enough for the market to move under it.

The simulator's ledgers are the truth: the journal's fills and the engine's balances agree with
them exactly on both venues.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import partial
from pathlib import Path

from arb.config import default_config
from arb.credentials import Credentials, Secret
from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.engine.journal import Journal
from arb.engine.reasons import Gate
from arb.model import Fill, Order, OrderStatus, Symbol
from arb.ops.chaos.common import moves
from arb.sim.accounts import FUNDING
from arb.sim.faults import FaultPlan
from arb.sim.server import SimExchange
from arb.venues.ccxt import CcxtPrivate, CcxtStream

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
VENUES = ["binance", "gateio"]
WINDOWS = [("binance", "gateio"), ("gateio", "binance"), ("binance", "gateio")]
JUMPS = [0.005, -0.005, 0.005, -0.005]  # the reference price moves 50 bps: both venues follow at once


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@asynccontextmanager
async def bridged(tmp_path: Path, faults: dict[str, FaultPlan] | None = None,
                  synced: tuple[str, ...] = tuple(VENUES)) -> AsyncIterator[tuple[Engine, SimExchange]]:
    """Native Gate.io and ccxt's Binance on a quiet simulated market (no noise, no dislocations:
    only what a test does moves the venues apart), the books of `synced` synced, user streams up."""
    sim = SimExchange(VENUES, seed=4, step_s=0.05, faults=faults)
    urls = await sim.start()
    for params in list(sim.market.venues.values()):
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)
    config = default_config(
        symbols=["BTC/USDT", "ETH/USDT"],
        venues={"gateio": {"rest_url": urls["gateio"][0], "ws_url": urls["gateio"][1]},
                "binance": {"driver": "ccxt", "rest_url": urls["binance"][0], "ws_url": urls["binance"][1]}},
        engine={"data_dir": str(tmp_path), "mode": "live", "balance_refresh_s": 60.0},
        risk={"min_net_bps": 10.0, "symbol_cooldown_ms": 0})
    creds = {v: Credentials(v, Secret("sim-key"), Secret("sim-secret")) for v in VENUES}
    engine = Engine(config, credentials=creds)
    try:
        await engine.start()
        assert isinstance(engine.privates["binance"], CcxtPrivate)
        assert isinstance(engine.streams["binance"], CcxtStream) and engine.streams["binance"].direct
        assert engine.reconciliation is not None and engine.reconciliation.ok
        await wait_for(lambda: all(engine.books.is_synced(v, s) for v in synced for s in (BTC, ETH)))
        await wait_for(lambda: all(engine.user_streams.values()))
        yield engine, sim
    finally:
        await engine.stop()
        await sim.close()


def best_spread(engine: Engine) -> float:
    """The engine's best net BTC spread (bps, taker fees paid) across the two venues."""
    return max((s.net_bps for s in engine.detector.spreads() if s.symbol == BTC), default=-1e9)


def traded_window(engine: Engine, buy: str, sell: str, since: int) -> bool:
    """A trade buying on `buy` and selling on `sell` was sent after the first `since` outcomes."""
    return any(o.status is not OutcomeStatus.REJECTED and o.buy is not None and o.buy.venue == buy
               and o.sell is not None and o.sell.venue == sell for o in list(engine.outcomes)[since:])


def settled(engine: Engine) -> bool:
    return not engine._tasks and not engine.tracker.open_orders()


async def agree_with_the_ledgers(engine: Engine, sim: SimExchange, tmp_path: Path) -> list[Order]:
    """Every venue's balances, in the engine and as the journal's fills imply, are the simulator's."""
    local = {(v, a): engine.risk.available(v, a) for v in VENUES for a in ("BTC", "USDT")}
    journal = Journal(tmp_path / "journal.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        fills: list[Fill] = await journal.fills()
        orders: list[Order] = await journal.orders()
    finally:
        await journal.close()
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        implied = moves(fills, venue)
        for asset in ("BTC", "USDT"):
            truth = ledger.total("sim", asset)
            assert truth == FUNDING[asset] + implied.get(asset, Decimal(0)), (venue, asset)
            assert local[(venue, asset)] == truth, (venue, asset)
    return orders


async def test_every_window_trades_both_legs_and_agrees_with_the_ledgers(tmp_path: Path) -> None:
    async with bridged(tmp_path) as (engine, sim):
        for buy, sell in WINDOWS:  # the first right after start-up, with ccxt's pacing in debt
            sim.market.open_window(BTC, buy, sell, net_bps=40.0, duration_ns=800_000_000)
            await wait_for(partial(traded_window, engine, buy, sell, len(engine.outcomes)))
            await wait_for(lambda: best_spread(engine) < 0)  # the window closed on both books
            await wait_for(lambda: settled(engine))
        books = engine.streams["binance"].books  # type: ignore[attr-defined]
        outcomes = list(engine.outcomes)
        orders = await agree_with_the_ledgers(engine, sim, tmp_path)
    traded = [o for o in outcomes if o.status is not OutcomeStatus.REJECTED]
    assert [o.status for o in traded] == [OutcomeStatus.FILLED] * len(traded)  # never one-legged
    assert all(o.residual_ms is None for o in outcomes)
    directions = [(o.buy.venue, o.sell.venue) for o in traded if o.buy is not None and o.sell is not None]
    assert all(pair in directions for pair in WINDOWS)
    assert len(traded) >= len(WINDOWS)
    assert {o.venue for o in orders} == set(VENUES)
    assert all(o.status is OrderStatus.FILLED for o in orders), [(o.client_order_id, o.status)
                                                                 for o in orders]
    assert len(orders) == 2 * len(traded)  # two legs a trade, no hedge ever sent
    assert books.updates > 0 and books.crossed == 0 and books.regressions == 0
    assert books.late == 0  # every book was handed on from ccxt's handling of its frame


async def jump(engine: Engine, sim: SimExchange, move: float, venues: list[str]) -> None:
    """Move the reference price by `move`: every venue re-quotes at the same instant; back once
    the engine's books of `venues` show it."""
    book = engine.books.book
    start = {v: float(sim.market.mid(v, BTC)) for v in VENUES}
    sim.market.set_reference_price(BTC, sim.market.reference[BTC] * (1 + move))

    def followed() -> bool:
        for venue in VENUES:
            mid = float(sim.market.mid(venue, BTC))
            if abs(mid / start[venue] - 1 - move) > abs(move) / 3:
                return False
            if venue not in venues:
                continue
            bid, ask = book(venue, BTC).best_bid(), book(venue, BTC).best_ask()
            if bid is None or ask is None or abs((bid[0] + ask[0]) / 2 / mid - 1) > 0.0005:
                return False  # the engine's book is not the sim's yet
        return True

    await wait_for(followed)
    await wait_for(lambda: settled(engine))


async def test_a_move_both_venues_print_at_the_same_instant_is_never_traded(tmp_path: Path) -> None:
    """The reference price jumps: both venues re-quote 50 bps away at the same instant. Whichever
    venue's update lands first, the pair looks 25+ bps apart against the other's book of the
    previous instant: the executor must see that book moved too, and send nothing."""
    async with bridged(tmp_path) as (engine, sim):
        for move in JUMPS:
            await jump(engine, sim, move, VENUES)
        outcomes = list(engine.outcomes)
        gates = dict(engine.detector.funnel.gates)
        orders = await agree_with_the_ledgers(engine, sim, tmp_path)
    assert [o for o in outcomes if o.status is not OutcomeStatus.REJECTED] == []
    assert orders == []
    # each jump was seen as an opportunity on the first venue's update, and dropped at send
    assert gates.get(Gate.BOOK_MOVED_BEFORE_SEND, 0) >= len(JUMPS), gates


async def test_a_bridged_book_its_stream_never_delivered_is_never_traded(tmp_path: Path) -> None:
    """Binance's depth pushes never come (the socket stays up, no data): the engine's REST snapshot
    of a bridged book is not made tradable, since nothing would ever update it (ccxt's stream takes
    up to seconds to deliver its first book: its own snapshot read is paced). The market moves under
    the frozen snapshot: never traded."""
    stalled = {"binance": FaultPlan(stall=True)}
    async with bridged(tmp_path, faults=stalled, synced=("gateio",)) as (engine, sim):
        for move in JUMPS:
            await jump(engine, sim, move, ["gateio"])
        outcomes = list(engine.outcomes)
        gates = dict(engine.detector.funnel.gates)
        synced = [v for v in VENUES if engine.books.is_synced(v, BTC)]
        orders = await agree_with_the_ledgers(engine, sim, tmp_path)
    assert synced == ["gateio"]
    assert outcomes == [] and orders == []
    assert gates.get(Gate.NOT_SYNCED, 0) > 0, gates  # the gate that kept it out
