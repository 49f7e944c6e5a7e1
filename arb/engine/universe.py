"""``symbols = "auto"`` in the running engine: discover at start, then re-discover on a schedule and
add or drop books while running (subscribe / unsubscribe on the venue streams).

Start-up takes the universe's (venue, symbol) rules as the engine's symbols, so the rest of start-up
(fees, books, detector, subscriptions) runs as for a configured list. A refresh changes only what
differs: a new listing gets its rules, its fee, a book (synced from a snapshot like any other) and
its subscription; a dropped one loses its book and subscription (its rules stay known, so an order
still in flight on it settles as usual). A venue whose lists could not be read keeps its books.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from arb.errors import ArbError
from arb.model import Symbol, SymbolInfo
from arb.universe import TRANSFERS_TEXT, Universe, changes, discover

if TYPE_CHECKING:
    from arb.engine.engine import Engine

log = logging.getLogger(__name__)


class UniverseKeeper:
    """The engine's symbol universe: `discover` at start, `refresh` on ``universe.refresh_s``."""

    def __init__(self, engine: Engine, paper_fee: Callable[[str], float]) -> None:
        self._engine = engine
        self._paper_fee = paper_fee  # venue -> its fee schedule's taker rate (paper mode)
        self.current: Universe | None = None
        self.refreshes = 0  # discoveries after the first
        self.added = 0  # books added by refreshes
        self.removed = 0  # books dropped by refreshes
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._engine.config.auto_symbols

    async def discover(self) -> dict[tuple[str, Symbol], SymbolInfo]:
        """The first discovery: the books to start with."""
        universe = await self._discover()
        log.info("symbol universe: %d pairs, %d books on %s (%d pairs dropped)", len(universe.chosen),
                 len(universe.books()), ", ".join(self._engine.publics), len(universe.dropped))
        log.info("transfer status: %s", ", ".join(f"{venue} {TRANSFERS_TEXT[known] or 'read'}"
                                                  for venue, known in universe.transfers.items()))
        return universe.books()

    def symbols(self) -> list[Symbol]:
        """The chosen pairs, best first (empty before `discover`)."""
        return self.current.symbols() if self.current is not None else []

    async def _discover(self) -> Universe:
        engine = self._engine
        aliases = {name: engine.specs[name].aliases for name in engine.publics if name in engine.specs}
        self.current = await discover(engine.publics, engine.config.universe, signed=engine.signed,
                                      aliases=aliases, now_ns=engine.clock_ns())
        return self.current

    def start(self) -> None:
        every = self._engine.config.universe.refresh_s
        if self.enabled and every > 0:
            self._task = asyncio.get_running_loop().create_task(self._every(every), name="universe refresh")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await self.refresh()
            except ArbError as exc:
                log.warning("symbol universe refresh failed: %s", exc)
            except Exception:  # a bug here must not stop the refreshes
                log.exception("symbol universe refresh failed")

    async def refresh(self) -> None:
        """Discover again and apply the difference to the running books."""
        engine = self._engine
        universe = await self._discover()
        self.refreshes += 1
        current = {(sync.venue, sync.symbol): sync for sync in engine.books.all()}
        diff = changes(current, universe)
        removed = [key for key in diff.removed if key[0] not in universe.errors]
        touched = {symbol for _, symbol in removed} | {symbol for _, symbol in diff.added}
        for venue in sorted({v for v, _ in removed}):
            gone = [s for v, s in removed if v == venue]
            with contextlib.suppress(NotImplementedError):  # its frames then count as unknown updates
                await engine.streams[venue].unsubscribe_depth(gone)
            for symbol in gone:
                engine.books.remove(venue, symbol)
            log.info("%s: dropped %s from the universe", venue, ", ".join(map(str, gone)))
        for key, info in diff.added.items():
            engine.symbols[key] = info
            engine.fees[key] = await self._fee(*key)
            engine.books.add(*key, start=False)
        for symbol in sorted(touched):
            self._bind(symbol)
        for venue in sorted({v for v, _ in diff.added}):
            new = [s for v, s in diff.added if v == venue]
            await engine.streams[venue].subscribe_depth(new)
            for symbol in new:
                engine.books.invalidate(venue, symbol, "added to the universe")
            log.info("%s: added %s to the universe", venue, ", ".join(map(str, new)))
        self.added += len(diff.added)
        self.removed += len(removed)

    def _bind(self, symbol: Symbol) -> None:
        """Point the detector at the symbol's books now (none below two venues)."""
        engine = self._engine
        venues = [v for v in engine.config.enabled_venues if engine.books.tracks(v, symbol)]
        if len(venues) < 2:
            engine.detector.remove_symbol(symbol)
            return
        step = max(float(engine.symbols[(v, symbol)].step_size) for v in venues)
        engine.detector.add_symbol(symbol, {v: engine.books.book(v, symbol) for v in venues},
                                   {v: engine.fees[(v, symbol)] for v in venues}, step)

    async def _fee(self, venue: str, symbol: Symbol) -> float:
        """A new listing's taker fee: configured, else the venue's (live) or its paper schedule."""
        engine = self._engine
        configured = engine.config.enabled_venues[venue].taker_fee
        if configured is not None:
            return configured
        if engine.live:
            return (await engine.privates[venue].trading_fees(symbol)).taker
        known = [fee for (v, _), fee in engine.fees.items() if v == venue]
        return max(known) if known else self._paper_fee(venue)


