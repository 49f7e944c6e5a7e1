"""symbols = "auto" in the engine as `run` wires it, against the simulator's large universe: every pair
two venues list gets a synced book on each listing venue (renamed assets included), single-venue pairs
none, listings whose transfers are suspended none (Gate's public status, and Binance's and MEXC's
signed status read with the simulator's keys, as `run --sim` passes them in paper mode), it trades,
and a refresh adds and drops books while running."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from arb.config import default_config
from arb.demo import sim_credentials
from arb.engine.books import SyncState
from arb.engine.engine import Engine
from arb.engine.executor import Outcome, OutcomeStatus
from arb.model import Symbol
from arb.sim.server import SimExchange
from arb.sim.universe import PAIRS, RENAMES, TRANSFERS, large_universe
from arb.universe import Transfers

VENUES = ["binance", "gateio", "mexc"]
GMT = Symbol("GMT", "USDT")  # MEXC lists it as STEPNUSDT
BALANCES = {"USDT": Decimal("100000"), "USDC": Decimal("100000"), "BTC": Decimal("2"),
            "GMT": Decimal("100000")}


def expected_books(hidden: set[tuple[str, Symbol]] = frozenset()) -> set[tuple[str, Symbol]]:
    """From the simulator's tables: each pair's venues, less suspended transfers and hidden listings."""
    out = set()
    for pair in PAIRS:
        symbol = Symbol.parse(pair.symbol)
        venues = []
        for venue in VENUES:
            if venue not in pair.volumes or (venue, symbol) in hidden:
                continue
            names = RENAMES.get(venue, {})
            own = (names.get(symbol.base, symbol.base), names.get(symbol.quote, symbol.quote))
            status = TRANSFERS.get(venue, {})
            if any(not all(status.get(asset, (True, True))) for asset in own):
                continue
            venues.append(venue)
        if len(venues) >= 2:
            out |= {(v, symbol) for v in venues}
    return out


async def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        await asyncio.sleep(0.05)


def synced(engine: Engine) -> set[tuple[str, Symbol]]:
    return {(s.venue, s.symbol) for s in engine.books.all() if s.state is SyncState.SYNCED}


def tracked(engine: Engine) -> set[tuple[str, Symbol]]:
    return {(s.venue, s.symbol) for s in engine.books.all()}


async def test_auto_books_every_common_pair_trades_and_refreshes(tmp_path: Path) -> None:
    sim = SimExchange(VENUES, seed=3, universe=large_universe(VENUES))
    xlm, ada, sei = Symbol("XLM", "USDT"), Symbol("ADA", "USDT"), Symbol("SEI", "USDT")
    sim.market.set_listed("mexc", xlm, False)  # listed later, while running
    urls = await sim.start()
    config = default_config(
        symbols="auto", venues={v: {"rest_url": urls[v][0], "ws_url": urls[v][1]} for v in VENUES},
        engine={"data_dir": str(tmp_path)}, universe={"quotes": ["USDT", "USDC", "BTC"], "max_symbols": 100,
                                                      "refresh_s": 0.5},
        risk={"min_net_bps": 10.0},
    )
    engine = Engine(config, paper_balances=BALANCES, credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        wanted = expected_books({("mexc", xlm)})
        assert tracked(engine) == wanted
        await wait_for(lambda: synced(engine) == wanted, 60, "every common pair's books synced")
        # renamed assets: MEXC's STEPN is GMT; its own GMT (GMT Token) and Gate's GTC (Game.com) are others
        assert {v for v, s in wanted if s == GMT} == {"binance", "gateio", "mexc"}
        assert {v for v, s in wanted if s == Symbol("GTC", "USDT")} == {"binance", "mexc"}
        assert not any(s.base in ("GMTTOKEN", "GAMECOM", "MX", "GT") for _, s in wanted)
        assert ("gateio", Symbol("GAS", "USDT")) not in wanted  # withdrawals suspended there
        # signed status: Binance's FIL withdrawals and MEXC's FET deposits are suspended
        fil, fet = Symbol("FIL", "USDT"), Symbol("FET", "USDT")
        assert TRANSFERS["binance"]["FIL"] == (True, False) and TRANSFERS["mexc"]["FET"] == (False, True)
        assert {v for v, s in tracked(engine) if s == fil} == {"gateio", "mexc"}
        assert {v for v, s in tracked(engine) if s == fet} == {"binance", "gateio"}
        assert engine.universe.current is not None
        assert engine.universe.current.transfers == dict.fromkeys(VENUES, Transfers.READ)
        # it trades: a window on the renamed pair, bought on MEXC (STEPNUSDT), sold on Binance
        sim.market.open_window(GMT, "mexc", "binance", net_bps=25.0, duration_ns=1_500_000_000)
        def on_gmt(o: Outcome) -> bool:  # the market's own noise may trade another pair (or venue) meanwhile
            return (o.status is OutcomeStatus.FILLED and o.buy is not None and o.buy.symbol == GMT
                    and o.buy.venue == "mexc" and o.sell is not None and o.sell.venue == "binance")

        await wait_for(lambda: any(on_gmt(o) for o in engine.outcomes), 20, "a filled GMT/USDT trade")
        filled = next(o for o in engine.outcomes if on_gmt(o))
        assert filled.buy is not None and filled.sell is not None
        assert (filled.buy.venue, filled.sell.venue, filled.buy.symbol) == ("mexc", "binance", GMT)
        # the listings change while running: the next refresh adds and drops books
        sim.market.set_listed("mexc", xlm, True)
        sim.market.set_listed("gateio", ada, False)
        sim.market.set_listed("binance", sei, False)
        sim.market.set_listed("gateio", sei, False)
        changed = expected_books({("gateio", ada), ("binance", sei), ("gateio", sei)})
        assert ("mexc", xlm) in changed and ("binance", xlm) in changed
        await wait_for(lambda: tracked(engine) == changed, 20, "books added and dropped by a refresh")
        await wait_for(lambda: synced(engine) == changed, 30, "the added books synced")
        assert engine.detector.has(xlm) and not engine.detector.has(sei) and engine.detector.has(ada)
        assert engine.universe.added == 2 and engine.universe.removed == 4  # ADA@gate, SEI x3
    finally:
        await engine.stop()
        await sim.close()
