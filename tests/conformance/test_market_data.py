"""Conformance against the loopback simulator: symbols load, snapshot + stream -> the simulator's book.

Parametrized over every venue: the same checks for each, against its simulated twin.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from arb.config import VenueConfig
from arb.engine.books import BookStore
from arb.model import Symbol
from arb.sim.server import DIALECTS, SimExchange
from arb.venues.registry import VENUES, make_public
from tests.conformance.venues import SIM_VENUES
from tests.helpers import BookHandlers

SYMBOLS = [Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("XRP", "USDT")]


@pytest.mark.parametrize("venue", SIM_VENUES)
async def test_symbols_and_synced_books_match_the_simulator(venue: str) -> None:
    sim = SimExchange([venue], seed=5, step_s=0.02)
    urls = await sim.start()
    rest_url, ws_url = urls[venue]
    public = make_public(venue, VenueConfig(rest_url=rest_url))
    infos = {i.symbol: i for i in await public.symbols()}
    spec = sim.market.specs[Symbol("BTC", "USDT")]
    assert infos[spec.symbol].tick_size == spec.tick and infos[spec.symbol].step_size == Decimal("0.00001")
    assert infos[spec.symbol].tradable

    async def fetch(v: str, symbol: Symbol, limit: int) -> Any:
        return await public.orderbook(symbol, limit)

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0)
    handlers = BookHandlers(store)
    stream = VENUES[venue].stream(handlers, ws_url=ws_url, heartbeat_s=None)
    for symbol in SYMBOLS:
        store.add(venue, symbol, start=False)
    await stream.subscribe_depth(SYMBOLS)
    for symbol in SYMBOLS:
        store.invalidate(venue, symbol, "start")
    await asyncio.sleep(0.6)  # the market keeps moving while books sync
    assert all(store.is_synced(venue, s) for s in SYMBOLS)
    # quiescence: stop the market, let the last frames arrive, compare with the simulator's truth
    await sim.close_driver()
    await asyncio.sleep(0.2)
    for symbol in SYMBOLS:
        _, bids, asks = sim.market.snapshot(venue, symbol, 50)
        book = store.book(venue, symbol)
        # the venue's own id space (Bybit's topic ``u`` is not the engine sequence): its REST snapshot
        assert book.update_id == (await public.orderbook(symbol, 50)).update_id, symbol
        assert book.top(True, 50) == [(float(p), float(q)) for p, q in bids]
        assert book.top(False, 50) == [(float(p), float(q)) for p, q in asks]
        assert store.sync(venue, symbol).gaps == 0
    assert handlers.errors == []
    await stream.close()
    await public.close()
    await store.close()
    await sim.close()


def test_the_suite_covers_every_simulated_venue() -> None:
    # a venue the simulator serves is conformance-tested here as soon as the registry lists it
    assert set(SIM_VENUES) == set(DIALECTS) & set(VENUES) and {"okx", "bybit"} <= set(SIM_VENUES)
