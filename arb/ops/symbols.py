"""`arb-engine symbols`: the symbol universe ``symbols = "auto"`` would trade, per venue.

Reads every enabled venue's symbol list, tickers and transfer status (`arb.universe.discover`) and
prints each chosen pair with its 24 h quote volume and transfer status on every venue that lists it
(the venue's own name where it renames an asset), then, with `--all`, the dropped pairs and why.
Venues that publish transfer status only to signed requests are read through their signed
connector with the keys in the environment (``ARB_<VENUE>_API_KEY`` ...), or the simulator's with
`--sim` (the in-process loopback simulator); without keys the table says so for each such venue
rather than showing its assets open.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

import msgspec

from arb.config import Config
from arb.credentials import Credentials, load_credentials
from arb.demo import sim_credentials
from arb.sim.server import SimExchange
from arb.sim.universe import SimUniverse
from arb.universe import DROP_TEXT, TRANSFERS_TEXT, Drop, Listing, Pair, Transfers, Universe, discover
from arb.venues.base import PrivateExchangeInterface
from arb.venues.registry import make_private, make_public, venue_specs


def _volume(value: float | None) -> str:
    if value is None:
        return "-"
    for size, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.4g}"


def _cell(item: Listing) -> str:
    """``12.0M``, ``2.0M as STEPNUSDT``, ``0.8M withdrawals off``, ``40.0k (24 h volume below ...)``."""
    parts = [_volume(item.volume_quote)]
    if item.renamed:
        parts.append(f"as {item.info.venue_symbol}")
    for status in item.transfers:
        ways = (("deposits", status.deposit), ("withdrawals", status.withdraw))
        off = [word for word, ok in ways if not ok]
        if off:
            parts.append(f"{status.asset} {'+'.join(off)} off")
    if item.drop is not Drop.KEPT:
        parts.append(f"({DROP_TEXT[item.drop]})")
    return " ".join(parts)


def table(universe: Universe, venues: list[str], *, dropped: bool = False) -> str:
    """The universe as text: one line per pair, one column per venue."""
    width = max([len(str(p.symbol)) for p in (*universe.chosen, *universe.dropped)] + [4])

    def line(pair: Pair, note: str) -> str:
        by_venue = {item.venue: item for item in pair.listings}
        cells = "  ".join(f"{venue}: {_cell(by_venue[venue])}" for venue in venues if venue in by_venue)
        return f"  {pair.symbol!s:<{width}}  {note}{cells}"

    out = [f"{len(universe.chosen)} pairs, {len(universe.books())} books on {', '.join(venues)} "
           "(24 h volume in the quote asset, per venue):"]
    out += [line(pair, f"{len(pair.venues)} venues  ") for pair in universe.chosen]
    for venue, error in universe.errors.items():
        out.append(f"  {venue}: lists unavailable, left out ({error})")
    for venue, known in universe.transfers.items():
        if known is Transfers.NO_KEYS:
            out.append(f"  {venue}: {TRANSFERS_TEXT[known]} (ARB_{venue.upper()}_API_KEY / _API_SECRET)")
        elif known is Transfers.UNAVAILABLE:
            out.append(f"  {venue}: {TRANSFERS_TEXT[known]} ({universe.transfer_errors.get(venue, '')})")
    if dropped:
        out.append(f"dropped ({len(universe.dropped)}):")
        out += [line(pair, f"{DROP_TEXT[pair.drop]}:  ") for pair in universe.dropped]
    else:
        out.append(f"{len(universe.dropped)} pairs dropped (--all lists them with the reason)")
    return "\n".join(out)


def as_json(universe: Universe) -> dict[str, Any]:
    def listing(i: Listing) -> dict[str, Any]:
        return {"venue": i.venue, "venue_symbol": i.info.venue_symbol, "volume_quote": i.volume_quote,
                "renamed": i.renamed, "drop": i.drop.name.lower(),
                "transfers": [msgspec.to_builtins(t) for t in i.transfers]}

    def pair(p: Pair) -> dict[str, Any]:
        return {"symbol": str(p.symbol), "venues": list(p.venues), "drop": p.drop.name.lower(),
                "listings": [listing(i) for i in p.listings]}
    return {"chosen": [pair(p) for p in universe.chosen], "dropped": [pair(p) for p in universe.dropped],
            "errors": dict(universe.errors),
            "transfer_status": {v: k.name.lower() for v, k in universe.transfers.items()},
            "transfer_errors": dict(universe.transfer_errors)}


def env_credentials(config: Config) -> dict[str, Credentials]:
    """The keys in the environment of the enabled venues (`ConfigError` for a half-set one)."""
    specs = venue_specs(config.enabled_venues)
    return {v: c for v in config.enabled_venues
            if (c := load_credentials(v, fields=specs[v].credentials)) is not None}


EXIT_UNREACHABLE = 3  # the CLI's environment error: the venues never answered


async def show(config: Config, *, out: TextIO | None = None, dropped: bool = False, json: bool = False,
               sim: SimUniverse | None = None, use_sim: bool = False) -> int:
    """Discover and print; with `use_sim` against an in-process simulator (listing `sim`)."""
    out = out or sys.stdout
    simulator = None
    if use_sim:
        simulator = SimExchange(list(config.enabled_venues), universe=sim)
        urls = await simulator.start()
        venues = {name: msgspec.structs.replace(cfg, rest_url=urls[name][0], ws_url=urls[name][1])
                  for name, cfg in config.enabled_venues.items()}
    else:
        venues = dict(config.enabled_venues)
    publics = {name: make_public(name, cfg) for name, cfg in venues.items()}
    keys = sim_credentials(list(venues)) if use_sim else env_credentials(config)
    signed: dict[str, PrivateExchangeInterface] = {
        name: make_private(name, cfg, keys[name], limiter=publics[name].limiter)
        for name, cfg in venues.items() if name in keys}
    try:
        # a bridged venue's codes are ccxt's common ones already: its spec has no aliases
        aliases: Mapping[str, Mapping[str, str]] = {n: s.aliases for n, s in venue_specs(venues).items()}
        universe = await discover(publics, config.universe, signed=signed, aliases=aliases)
    finally:
        for public in publics.values():
            await public.close()
        for private in signed.values():
            await private.close()
        if simulator is not None:
            await simulator.close()
    if json:
        out.write(msgspec.json.encode(as_json(universe)).decode() + "\n")
    else:
        out.write(table(universe, list(publics), dropped=dropped) + "\n")
    if not universe.chosen and len(publics) - len(universe.errors) < 2:  # not a filter: no answers
        print(f"arb-engine: error: could not read the lists of {', '.join(universe.errors)}: no network? "
              "`arb-engine symbols --sim` lists the loopback simulator's", file=sys.stderr)
        return EXIT_UNREACHABLE
    return 0 if universe.chosen else 1


__all__ = ["as_json", "env_credentials", "show", "table"]
