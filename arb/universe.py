"""The symbol universe: every pair that two enabled venues list, filtered and ranked (``symbols = "auto"``).

Each venue's lists come through its `PublicExchangeInterface`: `symbols()` (rules and status) and
`tickers()` (24 h volumes). Its transfer status (deposits / withdrawals per asset) comes from where
its `transfer_source` says: the public connector, or its signed connector (`signed`, given when
there are keys) for the venues that publish it only to signed requests; without keys there it is
`Transfers.NO_KEYS` (unknown, so nothing is dropped for it), and a failed read is
`Transfers.UNAVAILABLE` (logged, the venue's listings kept). Names are already common: each venue
package converts its renamed assets at its edge (its spec's `aliases`: one venue's ``STEPN`` is
everyone's ``GMT``), so one symbol is one asset pair.

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
from arb.venues.base import PrivateExchangeInterface, PublicExchangeInterface, TransferSource

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


class Transfers(enum.IntEnum):
    """What is known of a venue's transfer status."""

    READ = 0  # read (without keys, or signed with the venue's keys)
    NO_KEYS = 1  # the venue publishes it to signed requests only, and there are no keys for it
    UNAVAILABLE = 2  # the read failed (`Universe.transfer_errors` says why)
    NOT_PUBLISHED = 3  # the venue does not publish it where arb reads


TRANSFERS_TEXT: Mapping[Transfers, str] = {
    Transfers.READ: "", Transfers.NO_KEYS: "transfer status not published without keys",
    Transfers.UNAVAILABLE: "transfer status unavailable",
    Transfers.NOT_PUBLISHED: "transfer status not published",
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
    transfers: Mapping[str, Transfers] = {}  # venue -> what is known of its transfer status
    transfer_errors: Mapping[str, str] = {}  # venue -> why its transfer status could not be read

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
    known: Transfers = Transfers.READ
    transfer_error: str = ""


async def read_transfers(public: PublicExchangeInterface, signed: PrivateExchangeInterface | None
                         ) -> tuple[dict[str, TransferStatus] | None, Transfers, str]:
    """A venue's transfer status from where its `transfer_source` says, with what is known of it."""
    source = public.transfer_source
    if source is TransferSource.NONE:
        return None, Transfers.NOT_PUBLISHED, ""
    reader = public if source is TransferSource.PUBLIC else signed
    if reader is None:
        return None, Transfers.NO_KEYS, ""
    try:
        found = await reader.transfer_status()
    except (ArbError, DecodeError, NotImplementedError) as exc:
        log.warning("%s: transfer status unavailable: %s", public.venue, exc)
        return None, Transfers.UNAVAILABLE, f"{type(exc).__name__}: {exc}"
    return found, Transfers.READ if found is not None else Transfers.NOT_PUBLISHED, ""


async def read_venue(public: PublicExchangeInterface, signed: PrivateExchangeInterface | None = None
                     ) -> VenueLists:
    """One venue's symbol list, tickers and transfer status (in parallel); `signed`: its signed
    connector, for the transfer status of a venue that publishes it only to signed requests."""
    infos, tickers, (transfers, known, error) = await asyncio.gather(
        public.symbols(), public.tickers(), read_transfers(public, signed))
    return VenueLists(infos, {t.symbol: t for t in tickers}, transfers, known, error)


async def discover(publics: Mapping[str, PublicExchangeInterface], config: UniverseConfig, *,
                   signed: Mapping[str, PrivateExchangeInterface] | None = None,
                   aliases: Mapping[str, Mapping[str, str]] | None = None, now_ns: int = 0) -> Universe:
    """Read every venue's lists and choose the pairs. A venue whose lists fail is left out (named in
    `Universe.errors`); the others still count. `signed`: the venues' signed connectors where there
    are keys (the transfer status some venues publish only to signed requests)."""
    names = list(publics)
    keys = signed or {}
    results = await asyncio.gather(*(read_venue(publics[n], keys.get(n)) for n in names),
                                   return_exceptions=True)
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
    return Universe(tuple(chosen), tuple(dropped), dict(errors or {}), now_ns,
                    {v: found.known for v, found in lists.items()},
                    {v: found.transfer_error for v, found in lists.items() if found.transfer_error})


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


__all__ = ["DROP_TEXT", "TRANSFERS_TEXT", "BookChanges", "Drop", "Listing", "Pair", "Transfers", "Universe",
           "VenueLists", "changes", "choose", "discover", "read_transfers", "read_venue"]
