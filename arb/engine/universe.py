"""``symbols = "auto"`` in the running engine: discover at start, then re-discover on a schedule and
add or drop books while running (subscribe / unsubscribe on the venue streams).

Start-up takes the universe's (venue, symbol) rules as the engine's symbols, so the rest of start-up
(fees, books, detector, subscriptions) runs as for a configured list. A refresh changes only what
differs: a new listing gets its rules, its fee, a book (synced from a snapshot like any other) and
its subscription; a dropped one loses its book and subscription (its rules stay known, so an order
still in flight on it settles as usual). A venue whose lists could not be read keeps its books.

A `BookScope` (``UniverseKeeper.scope``, set before the engine starts: cluster mode's worker) narrows
the books to the symbols it wants: start-up keeps only those, and `rescope()` (called by the scope's
owner when its wishes change) applies the difference in the background with the same add / drop
machinery as a refresh. Books are added first (a new owner's books start syncing at once); books to
drop wait (bounded) for the trades in flight, whose legs may still need them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from arb.engine.hooks import BookScope
from arb.engine.upkeep import taker_fee
from arb.errors import ArbError
from arb.model import Symbol, SymbolInfo
from arb.universe import TRANSFERS_TEXT, Universe, discover

if TYPE_CHECKING:
    from arb.engine.engine import Engine

log = logging.getLogger(__name__)

DRAIN_S = 10.0  # books to drop wait at most this long for the trades in flight
RESCOPE_RETRY_S = 2.0


class UniverseKeeper:
    """The engine's symbol universe: `discover` at start, `refresh` on ``universe.refresh_s``."""

    def __init__(self, engine: Engine, paper_fee: Callable[[str], float]) -> None:
        self._engine = engine
        self._paper_fee = paper_fee  # venue -> its fee schedule's taker rate (paper mode)
        self.current: Universe | None = None
        self.refreshes = 0  # discoveries after the first
        self.added = 0  # books added by refreshes
        self.removed = 0  # books dropped by refreshes
        self.scope: BookScope | None = None  # whose symbols' books to keep (None: every one)
        self.rescoped = 0  # passes of `rescope` applied
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one change of the books at a time (refresh, rescope)
        self._running = False
        self._again = False  # the scope changed since the running pass read it
        self._scoping: asyncio.Task[None] | None = None

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

    def wanted(self, symbol: Symbol) -> bool:
        """The scope (if any) wants `symbol`'s books."""
        return self.scope is None or self.scope.wants(symbol)

    async def _discover(self) -> Universe:
        engine = self._engine
        aliases = {name: engine.specs[name].aliases for name in engine.publics if name in engine.specs}
        self.current = await discover(engine.publics, engine.config.universe, signed=engine.signed,
                                      aliases=aliases, now_ns=engine.clock_ns())
        return self.current

    def start(self) -> None:
        self._running = True
        every = self._engine.config.universe.refresh_s
        if self.enabled and every > 0:
            self._task = asyncio.get_running_loop().create_task(self._every(every), name="universe refresh")
        if self._again:  # the scope changed while the engine was starting
            self.rescope()

    async def stop(self) -> None:
        self._running = False
        for task in (self._task, self._scoping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._scoping = None

    def rescope(self) -> None:
        """The scope's wishes changed: add and drop books to match, in the background (changes made
        while a pass runs are applied by another pass right after). Synchronous, no I/O."""
        self._again = True
        if self._running and (self._scoping is None or self._scoping.done()):
            self._scoping = asyncio.get_running_loop().create_task(self._rescope(), name="book scope")

    async def _rescope(self) -> None:
        while self._again and self._running:
            self._again = False
            try:
                await self._reconcile("scope")
            except Exception as exc:  # e.g. a fee read for a new book failed: try again shortly
                if isinstance(exc, ArbError):
                    log.warning("book scope change failed (%s): retrying in %g s", exc, RESCOPE_RETRY_S)
                else:  # a bug: say where, and still converge if it was transient
                    log.exception("book scope change failed: retrying in %g s", RESCOPE_RETRY_S)
                self._again = True
                await asyncio.sleep(RESCOPE_RETRY_S)
            self.rescoped += 1

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
        universe = await self._discover()
        self.refreshes += 1
        added, removed = await self._reconcile("universe", keep=universe.errors)
        self.added += added
        self.removed += removed

    def _candidates(self) -> dict[tuple[str, Symbol], SymbolInfo]:
        """Every book the engine could keep: the universe's ("auto"), else the configured symbols'
        listings on at least two enabled venues."""
        engine = self._engine
        if self.enabled:
            return self.current.books() if self.current is not None else {}
        listed: dict[Symbol, list[tuple[str, Symbol]]] = {}
        for key in engine.symbols:
            listed.setdefault(key[1], []).append(key)
        wanted = set(engine.config.symbol_list)
        return {key: engine.symbols[key] for symbol, keys in listed.items() if symbol in wanted
                and len(keys) >= 2 for key in keys}

    async def _reconcile(self, why: str, keep: Collection[str] = ()) -> tuple[int, int]:
        """Make the books the candidates the scope wants (a venue in `keep` keeps its books):
        (added, dropped)."""
        async with self._lock:
            engine = self._engine
            target = {key: info for key, info in self._candidates().items() if self.wanted(key[1])}
            current = {(sync.venue, sync.symbol) for sync in engine.books.all()}
            added = {key: info for key, info in target.items() if key not in current}
            removed = sorted(key for key in current if key not in target and key[0] not in keep)
            if added:
                await self._add(added, why)
            if removed:
                await self._drop(removed, why)
            return len(added), len(removed)

    async def _add(self, added: Mapping[tuple[str, Symbol], SymbolInfo], why: str) -> None:
        """Fees first (a read may fail: then nothing changed), then books, detector, subscriptions (a
        venue whose subscription fails gets its new books taken back: the next pass adds them again)."""
        engine = self._engine
        for key in added:
            if key not in engine.fees:
                engine.fees[key] = await self._fee(*key)
        for key, info in added.items():
            engine.symbols[key] = info
            engine.books.add(*key, start=False)
        for symbol in sorted({symbol for _, symbol in added}):
            self._bind(symbol)
        for venue in sorted({v for v, _ in added}):
            new = [s for v, s in added if v == venue]
            try:
                await engine.streams[venue].subscribe_depth(new)
            except BaseException:
                for symbol in new:
                    engine.books.remove(venue, symbol)
                for symbol in new:
                    self._bind(symbol)
                raise
            for symbol in new:
                if engine.books.tracks(venue, symbol):  # not dropped meanwhile
                    engine.books.invalidate(venue, symbol, f"added ({why})")
            log.info("%s: books added (%s): %s", venue, why, ", ".join(map(str, new)))

    async def _drop(self, removed: Sequence[tuple[str, Symbol]], why: str) -> None:
        engine = self._engine
        in_flight = engine.in_flight()
        if in_flight:
            await asyncio.wait(in_flight, timeout=DRAIN_S)
        for venue in sorted({v for v, _ in removed}):
            gone = [s for v, s in removed if v == venue]
            with contextlib.suppress(NotImplementedError):  # its frames then count as unknown updates
                await engine.streams[venue].unsubscribe_depth(gone)
            for symbol in gone:
                engine.books.remove(venue, symbol)
            log.info("%s: books dropped (%s): %s", venue, why, ", ".join(map(str, gone)))
        for symbol in sorted({symbol for _, symbol in removed}):
            self._bind(symbol)

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
            return await taker_fee(engine.privates[venue], symbol)
        known = [fee for (v, _), fee in engine.fees.items() if v == venue]
        return max(known) if known else self._paper_fee(venue)


