"""Depth unsubscription against the loopback simulator, every venue: a book dropped (the symbol
universe's refresh, or cluster mode's book scope when a lease goes) stops streaming: the simulator no
longer serves it to the connection, no frame of it arrives after, and the other books stream on."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from arb.config import VenueConfig
from arb.engine.books import BookStore
from arb.model import Symbol
from arb.sim.server import SimExchange
from arb.venues.registry import VENUES, make_public
from tests.conformance.venues import SIM_VENUES
from tests.helpers import BookHandlers

KEPT, DROPPED = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
WAIT_S = 20.0  # generous: a loaded machine


async def _until(predicate: Any, what: str) -> None:
    began = time.monotonic()
    while not predicate():
        assert time.monotonic() - began < WAIT_S, f"not within {WAIT_S:.0f} s: {what}"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("venue", SIM_VENUES)
async def test_an_unsubscribed_book_stops_streaming(venue: str) -> None:
    sim = SimExchange([venue], seed=5, step_s=0.02)
    rest_url, ws_url = (await sim.start())[venue]
    public = make_public(venue, VenueConfig(rest_url=rest_url))

    async def fetch(v: str, symbol: Symbol, limit: int) -> Any:
        return await public.orderbook(symbol, limit)

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0)
    handlers = BookHandlers(store)
    stream = VENUES[venue].stream(handlers, ws_url=ws_url, heartbeat_s=None)
    try:
        for symbol in (KEPT, DROPPED):
            store.add(venue, symbol, start=False)
        await stream.subscribe_depth([KEPT, DROPPED])
        for symbol in (KEPT, DROPPED):
            store.invalidate(venue, symbol, "start")
        await _until(lambda: all(store.is_synced(venue, s) for s in (KEPT, DROPPED)), "both books synced")
        assert sim.depth_subscriptions()[venue] == [str(KEPT), str(DROPPED)]

        store.remove(venue, DROPPED)
        await stream.unsubscribe_depth([DROPPED])
        await _until(lambda: sim.depth_subscriptions()[venue] == [str(KEPT)], "the simulator stops it")
        await asyncio.sleep(0.2)  # frames already on the wire when the request landed
        stray, kept_id = store.unknown_updates, store.book(venue, KEPT).update_id
        await asyncio.sleep(0.5)
        assert store.unknown_updates == stray, "frames of the unsubscribed book still arrive"
        await _until(lambda: store.book(venue, KEPT).update_id > kept_id, "the other book streams on")
        assert store.is_synced(venue, KEPT) and handlers.errors == []
    finally:
        await stream.close()
        await public.close()
        await store.close()
        await sim.close()
