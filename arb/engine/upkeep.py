"""The engine's periodic chores, off the hot path.

- Stale-book watchdog: a SYNCED book that has not changed for `engine.stale_book_s` is invalidated
  and resynced from a snapshot (a stream can stall with its socket and pings up and no data).
- Halted symbols: a venue that refuses an order because trading is disabled on the symbol gets the
  symbol gated in the detector (`Detector.set_halted`); its rules are re-read every
  `engine.stale_book_s` and the gate lifts when the venue lists the symbol as trading again.
- "Never placed" re-checks (live): an order declared never placed (not found by id, in open orders or
  in trades after the grace window) is asked about again after one and three more grace windows; a
  venue that shows it after all turns it into a late fill, which reopens its trade.
- Fees (live): taker fee rates are re-read from every venue every `engine.fee_refresh_s` and a
  changed rate goes to the detector's kernel (`Detector.set_fee`) and the executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from arb.errors import DecodeError, ExchangeError, RateLimitError
from arb.model import Symbol

if TYPE_CHECKING:
    from arb.config import VenueConfig
    from arb.engine.engine import Engine
    from arb.venues.base import PrivateExchangeInterface

log = logging.getLogger(__name__)
NS = 1_000_000_000
FEE_ATTEMPTS = 4  # a start-up fee read refused by a rate limit is asked again after the venue's wait


async def taker_fee(private: PrivateExchangeInterface, symbol: Symbol) -> float:
    """The venue's taker fee for `symbol`, asked again after a rate limit: reading one fee per symbol
    at start-up can outrun a venue's per-endpoint window (the limiter's bucket refills within the
    window: `demo --universe large --symbols auto` died at a fee endpoint's 429). The 429 froze the
    venue's limiter until its Retry-After, so the next ask waits there."""
    for attempt in range(1, FEE_ATTEMPTS + 1):
        try:
            return (await private.trading_fees(symbol)).taker
        except RateLimitError as exc:
            if attempt == FEE_ATTEMPTS:
                raise
            log.warning("%s %s: fee read rate limited (%s): asking again", exc.venue, symbol, exc)
            await asyncio.sleep(exc.retry_after or 1.0)
    raise AssertionError("unreachable")


async def read_taker_fees(fees: dict[tuple[str, Symbol], float], symbols: Iterable[tuple[str, Symbol]],
                          venues: Mapping[str, VenueConfig],
                          signed: Mapping[str, PrivateExchangeInterface]) -> None:
    """Fill `fees` for every (venue, symbol): the config's taker fee, else the venue's (`taker_fee`),
    each venue at its own pace, side by side; the first venue's error is raised as itself."""
    async def one_venue(name: str, cfg: VenueConfig) -> None:
        for (venue, symbol) in [k for k in symbols if k[0] == name]:
            fees[(venue, symbol)] = (cfg.taker_fee if cfg.taker_fee is not None
                                     else await taker_fee(signed[name], symbol))

    try:
        async with asyncio.TaskGroup() as group:
            for name, cfg in venues.items():
                group.create_task(one_venue(name, cfg))
    except ExceptionGroup as errors:  # the first venue's error, as the callers expect it
        raise errors.exceptions[0] from None


FINAL_BALANCES_S = 5.0  # the stop's last balance read waits at most this long for the venues


async def final_balances(refresh: Callable[[], Coroutine[Any, Any, None]], settling_ns: int) -> None:
    """Live, as the run ends: the venues' balances once more (`refresh`), so the journal's last
    report holds the run's last fills (one taken before them read as current in `status`). Waits
    out what is left of an order's settle window (`settling_ns`, at most 1 s), then at most
    `FINAL_BALANCES_S` for the venues: a stop never hangs on a venue."""
    if settling_ns > 0:
        await asyncio.sleep(min(settling_ns / NS, 1.0))
    try:
        await asyncio.wait_for(refresh(), FINAL_BALANCES_S)
    except TimeoutError:
        log.warning("final balance read took over %.0f s: the journal keeps the last report",
                    FINAL_BALANCES_S)
    except Exception as exc:  # best effort: the stop goes on whatever the read did
        log.warning("final balance read failed (%s): the journal keeps the last report", exc)


RECHECK_S = 1.0  # how often orders declared "never placed" are looked at
RECHECKS = 2  # each is asked about again after 1x and 3x the grace window, then forgotten


class Upkeep:
    """Runs the chores as tasks of the engine's loop; `stop()` cancels them."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._tasks: list[asyncio.Task[None]] = []
        self.halted: set[tuple[str, Symbol]] = set()
        self.stale_resyncs = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self._engine.config.engine
        self._tasks.append(loop.create_task(self._every(cfg.stale_book_s / 4, self.check_books),
                                            name="stale-book watchdog"))
        self._tasks.append(loop.create_task(self._every(cfg.stale_book_s, self.check_halts),
                                            name="halted symbols"))
        if self._engine.live:
            self._tasks.append(loop.create_task(self._every(cfg.fee_refresh_s, self.refresh_fees),
                                                name="fee refresh"))
            self._tasks.append(loop.create_task(self._every(RECHECK_S, self.recheck_never_placed),
                                                name="never-placed re-check"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    @staticmethod
    async def _every(seconds: float, chore: Callable[[], Coroutine[Any, Any, None]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await chore()
            except Exception:  # a chore's bug must not end the chores
                log.exception("%s failed", getattr(chore, "__name__", "chore"))

    # ------------------------------------------------------------------ chores

    async def check_books(self) -> None:
        engine = self._engine
        max_age = int(engine.config.engine.stale_book_s * NS)
        for sync in engine.books.check_stale(engine.clock_ns(), max_age):
            self.stale_resyncs += 1
            log.warning("%s %s: no update for %.0f s: resyncing", sync.venue, sync.symbol,
                        engine.config.engine.stale_book_s)

    def symbol_halted(self, venue: str, symbol: Symbol) -> None:
        """A venue refused an order because trading on `symbol` is disabled: gate it until it lists
        the symbol as trading again."""
        if (venue, symbol) not in self.halted:
            log.warning("%s %s: trading disabled by the venue: not traded until its rules say otherwise",
                        venue, symbol)
        self.halted.add((venue, symbol))
        self._engine.detector.set_halted(venue, symbol, True)

    async def check_halts(self) -> None:
        engine = self._engine
        for venue in sorted({v for v, _ in self.halted}):
            try:
                infos = {i.symbol: i for i in await engine.publics[venue].symbols()}
            except (ExchangeError, DecodeError) as exc:  # a malformed answer too
                log.warning("%s: symbol rules unavailable: %s", venue, exc)
                continue
            for key in [k for k in self.halted if k[0] == venue]:
                info = infos.get(key[1])
                if info is not None and info.tradable:
                    engine.symbols[key] = info
                    engine.detector.set_halted(venue, key[1], False)
                    self.halted.discard(key)
                    log.info("%s %s: trading again", venue, key[1])

    async def refresh_fees(self) -> None:
        engine = self._engine
        for (venue, symbol), fee in list(engine.fees.items()):
            cfg = engine.config.enabled_venues.get(venue)
            if cfg is None or cfg.taker_fee is not None or venue not in engine.privates:
                continue  # a configured rate is the user's word
            try:
                taker = (await engine.privates[venue].trading_fees(symbol)).taker
            except (ExchangeError, DecodeError) as exc:  # a malformed answer too
                log.warning("%s %s: fee refresh failed: %s", venue, symbol, exc)
                continue
            if taker != fee:
                engine.fees[(venue, symbol)] = taker
                if engine.detector.has(symbol):
                    engine.detector.set_fee(venue, symbol, taker)
                log.info("%s %s: taker fee %s -> %s", venue, symbol, fee, taker)

    async def recheck_never_placed(self) -> None:
        engine = self._engine
        tracker = engine.tracker
        grace = engine.config.executor.unknown_grace_ms * 1_000_000
        now = engine.clock_ns()
        for cid, (since, checks) in list(tracker.never_placed.items()):
            if now - since < grace * (1 + 2 * checks):
                continue
            order = tracker.get(cid)
            private = engine.privates.get(order.venue) if order is not None else None
            if order is None or private is None:
                tracker.never_placed.pop(cid, None)
                continue
            try:
                if await tracker.recheck(cid, private):
                    continue
            except (ExchangeError, DecodeError) as exc:  # ask again next time
                log.warning("%s %s: re-check of %s failed: %s", order.venue, order.symbol, cid, exc)
                continue
            if checks + 1 >= RECHECKS:
                tracker.never_placed.pop(cid, None)
            else:
                tracker.never_placed[cid] = (since, checks + 1)
