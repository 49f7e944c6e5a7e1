"""Helpers for tests against the simulator: condition waits, a synced-books rig, virtual time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from arb.config import VenueConfig
from arb.engine.books import BookStore, SyncState
from arb.model import Symbol
from arb.sim.server import SimExchange
from arb.venues.base import DepthUpdate
from arb.venues.binance.stream import BinanceStream
from arb.venues.gateio.stream import GateStream
from arb.venues.mexc.stream import MexcStream
from arb.venues.registry import make_public
from tests.helpers import BookHandlers

STREAMS: dict[str, Any] = {"binance": BinanceStream, "gateio": GateStream, "mexc": MexcStream}
BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
MIN_SLEEP_S = 1e-6


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `predicate` every 10 ms; fail (naming `what`) only after a generous timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        await asyncio.sleep(0.01)


class VirtualTime:
    """A clock both the simulator's rate limits and the client's limiter read; sleeping advances it."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        # at least a microsecond, as any real sleep: a float-rounding remainder (1e-13 s) added to
        # t ~ 1e3 would leave t unchanged and a waiter would spin forever
        self.slept.append(seconds)
        self.t += max(seconds, MIN_SLEEP_S)
        await asyncio.sleep(0)


class Recording(BookHandlers):
    """The book layer's feed, also keeping every depth update it saw."""

    def __init__(self, store: BookStore) -> None:
        super().__init__(store)
        self.updates: list[DepthUpdate] = []

    def on_depth(self, update: DepthUpdate) -> None:
        self.updates.append(update)
        super().on_depth(update)


class BookRig:
    """Public REST + depth stream + BookStore for one venue of a running simulator."""

    def __init__(self, sim: SimExchange, venue: str, symbols: Sequence[Symbol], **ws_options: Any) -> None:
        self.sim = sim
        self.venue = venue
        self.symbols = list(symbols)
        rest_url, ws_url = sim.urls[venue]
        self.public = make_public(venue, VenueConfig(rest_url=rest_url))

        async def fetch(v: str, symbol: Symbol, limit: int) -> Any:
            return await self.public.orderbook(symbol, limit)

        self.store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0, retry_backoff_s=0.05,
                               max_backoff_s=0.2)
        self.feed = Recording(self.store)
        options: dict[str, Any] = {"heartbeat_s": None, **ws_options}
        self.stream = STREAMS[venue](self.feed, ws_url=ws_url, **options)

    async def start(self) -> BookRig:
        for symbol in self.symbols:
            self.store.add(self.venue, symbol, start=False)
        await self.stream.subscribe_depth(self.symbols)
        for symbol in self.symbols:
            self.store.invalidate(self.venue, symbol, "start")
        await self.synced()
        return self

    def all_synced(self) -> bool:
        return all(self.store.is_synced(self.venue, s) for s in self.symbols)

    async def synced(self, timeout: float = 15.0) -> None:
        await wait_until(self.all_synced, timeout, f"{self.venue} books synced")

    async def applied(self, symbol: Symbol, more: int) -> None:
        """Wait until `more` further diffs were applied to `symbol`'s book."""
        sync = self.store.sync(self.venue, symbol)
        target = sync.applied + more
        await wait_until(lambda: sync.applied >= target, what=f"{more} more diffs on {symbol}")

    async def converged(self) -> None:
        """Stop the market, then wait until every book equals the simulator's (id and 50 levels)."""
        await self.sim.close_driver()
        for symbol in self.symbols:
            await wait_until(lambda s=symbol: self._equal(s), what=f"{self.venue} {symbol} equal to the sim")

    def _equal(self, symbol: Symbol) -> bool:
        if self.store.state(self.venue, symbol) is not SyncState.SYNCED:
            return False
        update_id, bids, asks = self.sim.market.snapshot(self.venue, symbol, 50)
        book = self.store.book(self.venue, symbol)
        return (book.update_id == update_id and book.top(True, 50) == [(float(p), float(q)) for p, q in bids]
                and book.top(False, 50) == [(float(p), float(q)) for p, q in asks])

    async def close(self) -> None:
        await self.stream.close()
        await self.public.close()
        await self.store.close()


class Harness:
    """Starts simulators and book rigs for one test and always closes them (even when it fails)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._sims: list[SimExchange] = []
        self._rigs: list[BookRig] = []

    async def sim(self, venues: list[str], **kw: Any) -> SimExchange:
        sim = SimExchange(venues, seed=kw.pop("seed", self.seed), step_s=kw.pop("step_s", 0.02), **kw)
        self._sims.append(sim)
        await sim.start()
        return sim

    async def rig(self, sim: SimExchange, venue: str, symbols: Sequence[Symbol],
                  **ws_options: Any) -> BookRig:
        rig = BookRig(sim, venue, symbols, **ws_options)
        self._rigs.append(rig)
        return await rig.start()

    async def aclose(self) -> None:
        for rig in self._rigs:
            await rig.close()
        for sim in self._sims:
            await sim.close()
