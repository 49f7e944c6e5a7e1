"""The symbol universe: every pair that two enabled venues list, filtered and ranked (``symbols = "auto"``).

Each venue's lists come through its `PublicExchangeInterface`: `symbols()` (rules and status),
`tickers()` (24 h volumes) and `transfer_status()` (deposits / withdrawals per asset, where the venue
publishes it). Names are already common: each venue package converts its renamed assets at its edge
(its spec's `aliases`: one venue's ``STEPN`` is everyone's ``GMT``), so one symbol is one asset pair.

For each pair, each listing venue is kept or left out with a `Drop` reason (not trading, thin 24 h
volume, suspended transfers); a pair is traded when two venues are left, ranked by the volume of its
second-best venue (the thinner side bounds what an arbitrage can move) and cut at ``max_symbols``.
``include`` keeps a pair past the quote, volume and count filters; ``exclude`` drops pairs or assets.
Nothing here names a venue.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Mapping, Sequence

import msgspec

from arb.config import UniverseConfig
from arb.errors import ArbError, DecodeError
from arb.model import Symbol, SymbolInfo, Ticker, TransferStatus
from arb.venues.base import PublicExchangeInterface

log = logging.getLogger(__name__)


class Drop(enum.IntEnum):
    """Why a venue's listing, or a whole pair, is not traded (the first reason that applies)."""

    KEPT = 0
    NOT_TRADING = 1  # the venue lists it halted / closed
    LOW_VOLUME = 2  # below universe.min_quote_volume for its quote
    TRANSFERS = 3  # deposits or withdrawals of its base or quote suspended on the venue
    QUOTE = 4  # pair: its quote is not in universe.quotes
    EXCLUDED = 5  # pair: in universe.exclude (or one of its assets is)
    ONE_VENUE = 6  # pair: fewer than two venues left
    OVER_MAX = 7  # pair: ranked below universe.max_symbols


DROP_TEXT: Mapping[Drop, str] = {
    Drop.KEPT: "", Drop.NOT_TRADING: "not trading", Drop.LOW_VOLUME: "24 h volume below the minimum",
    Drop.TRANSFERS: "transfers suspended", Drop.QUOTE: "quote not in universe.quotes",
    Drop.EXCLUDED: "in universe.exclude", Drop.ONE_VENUE: "fewer than two venues",
    Drop.OVER_MAX: "over universe.max_symbols",
}


class Listing(msgspec.Struct, frozen=True):
    """One venue's listing of a pair, with what the filters said of it."""

    venue: str
    info: SymbolInfo
    volume_quote: float | None  # 24 h, in the quote asset; None: no ticker
    transfers: tuple[TransferStatus, ...]  # base and quote where the venue publishes them
    renamed: bool  # the venue calls an asset of it otherwise (its spec's aliases)
    drop: Drop = Drop.KEPT


class Pair(msgspec.Struct, frozen=True):
    """One pair across the venues that list it."""

    symbol: Symbol
    listings: tuple[Listing, ...]
    drop: Drop = Drop.KEPT
    rank_volume: float = 0.0  # the second-largest kept venue volume
    included: bool = False  # named in universe.include

    @property
    def venues(self) -> tuple[str, ...]:
        """The venues it is traded on (kept listings)."""
        return tuple(item.venue for item in self.listings if item.drop is Drop.KEPT)


class Universe(msgspec.Struct, frozen=True):
    """What one discovery found: the chosen pairs (ranked) and the dropped ones, with reasons."""

    chosen: tuple[Pair, ...]
    dropped: tuple[Pair, ...]
    errors: Mapping[str, str]  # venue -> why its lists could not be read (it is left out)
    ts_ns: int = 0

    def symbols(self) -> list[Symbol]:
        return [pair.symbol for pair in self.chosen]

    def books(self) -> dict[tuple[str, Symbol], SymbolInfo]:
        """(venue, symbol) -> rules, for every book the universe trades."""
        return {(item.venue, pair.symbol): item.info for pair in self.chosen
                for item in pair.listings if item.drop is Drop.KEPT}


class VenueLists(msgspec.Struct, frozen=True):
    """What one venue publishes for discovery."""

    infos: list[SymbolInfo]
    tickers: dict[Symbol, Ticker]
    transfers: dict[str, TransferStatus] | None


async def read_venue(public: PublicExchangeInterface) -> VenueLists:
    """One venue's symbol list, tickers and transfer status (in parallel)."""
    infos, tickers, transfers = await asyncio.gather(public.symbols(), public.tickers(),
                                                     public.transfer_status())
    return VenueLists(infos, {t.symbol: t for t in tickers}, transfers)


async def discover(publics: Mapping[str, PublicExchangeInterface], config: UniverseConfig, *,
                   aliases: Mapping[str, Mapping[str, str]] | None = None, now_ns: int = 0) -> Universe:
    """Read every venue's lists and choose the pairs. A venue whose lists fail is left out (named in
    `Universe.errors`); the others still count."""
    names = list(publics)
    results = await asyncio.gather(*(read_venue(publics[n]) for n in names), return_exceptions=True)
    lists: dict[str, VenueLists] = {}
    errors: dict[str, str] = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, (ArbError, DecodeError, NotImplementedError)):
            errors[name] = f"{type(result).__name__}: {result}"
            log.warning("%s: symbol lists unavailable, left out of the universe: %s", name, result)
        elif isinstance(result, BaseException):
            raise result
        else:
            lists[name] = result
    return choose(lists, config, aliases=aliases or {}, errors=errors, now_ns=now_ns)


def _excluded(symbol: Symbol, exclude: Sequence[str]) -> bool:
    for text in exclude:
        if text.isalnum():
            if text.upper() in (symbol.base, symbol.quote):
                return True
        elif Symbol.parse(text) == symbol:
            return True
    return False


def _listing(venue: str, info: SymbolInfo, lists: VenueLists, config: UniverseConfig,
             aliases: Mapping[str, str], included: bool) -> Listing:
    ticker = lists.tickers.get(info.symbol)
    volume = ticker.volume_quote if ticker is not None else None
    known = lists.transfers or {}
    transfers = tuple(known[a] for a in (info.symbol.base, info.symbol.quote) if a in known)
    renamed = any(common in (info.symbol.base, info.symbol.quote) for common in aliases.values())
    drop = Drop.KEPT
    minimum = config.min_quote_volume.get(info.symbol.quote, 0.0)
    if not info.tradable:
        drop = Drop.NOT_TRADING
    elif config.exclude_suspended_transfers and any(t.suspended for t in transfers):
        drop = Drop.TRANSFERS
    elif not included and minimum > 0 and (volume or 0.0) < minimum:
        drop = Drop.LOW_VOLUME
    return Listing(venue, info, volume, transfers, renamed, drop)


def choose(lists: Mapping[str, VenueLists], config: UniverseConfig, *,
           aliases: Mapping[str, Mapping[str, str]], errors: Mapping[str, str] | None = None,
           now_ns: int = 0) -> Universe:
    """The pure part of `discover`: filter, rank and cut (same lists, same universe)."""
    include = {Symbol.parse(s) for s in config.include}
    by_symbol: dict[Symbol, list[tuple[str, SymbolInfo]]] = {}
    for venue, found in lists.items():
        for info in found.infos:
            by_symbol.setdefault(info.symbol, []).append((venue, info))
    candidates: list[Pair] = []
    dropped: list[Pair] = []
    for symbol in sorted(by_symbol):
        included = symbol in include
        listings = tuple(_listing(v, i, lists[v], config, aliases.get(v, {}), included)
                         for v, i in by_symbol[symbol])
        kept = sorted((item.volume_quote or 0.0 for item in listings if item.drop is Drop.KEPT), reverse=True)
        pair = Pair(symbol, listings, rank_volume=kept[1] if len(kept) > 1 else 0.0, included=included)
        if _excluded(symbol, config.exclude):
            dropped.append(msgspec.structs.replace(pair, drop=Drop.EXCLUDED))
        elif symbol.quote not in config.quotes and not included:
            dropped.append(msgspec.structs.replace(pair, drop=Drop.QUOTE))
        elif len(kept) < 2:
            dropped.append(msgspec.structs.replace(pair, drop=Drop.ONE_VENUE))
        else:
            candidates.append(pair)
    candidates.sort(key=lambda p: (not p.included, -p.rank_volume, p.symbol))
    room = config.max_symbols + sum(1 for p in candidates if p.included)  # included pairs come on top
    chosen, over = candidates[:room], candidates[room:]
    dropped.extend(msgspec.structs.replace(p, drop=Drop.OVER_MAX) for p in over)
    dropped.sort(key=lambda p: p.symbol)
    return Universe(tuple(chosen), tuple(dropped), dict(errors or {}), now_ns)


class BookChanges(msgspec.Struct, frozen=True):
    """What a new universe changes in the books: (venue, symbol) pairs to add and to drop."""

    added: dict[tuple[str, Symbol], SymbolInfo]
    removed: list[tuple[str, Symbol]]


def changes(current: Mapping[tuple[str, Symbol], object], new: Universe) -> BookChanges:
    """The books `new` adds to and drops from `current` (keys (venue, symbol))."""
    wanted = new.books()
    added = {key: info for key, info in wanted.items() if key not in current}
    removed = sorted(key for key in current if key not in wanted)
    return BookChanges(added, removed)


__all__ = ["DROP_TEXT", "BookChanges", "Drop", "Listing", "Pair", "Universe", "VenueLists", "changes",
           "choose", "discover", "read_venue"]
