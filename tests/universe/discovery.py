"""`discover` over venues built from a config (public connectors, and signed ones where keys are
given), closed after: what the transfer-status tests of native and bridged venues read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arb.config import UniverseConfig, default_config
from arb.credentials import Credentials
from arb.model import Symbol
from arb.universe import Drop, Transfers, discover
from arb.venues.registry import make_private, make_public

Found = tuple[dict[str, Transfers], set[tuple[str, Symbol]], dict[str, str]]


async def discover_transfers(venues: Mapping[str, Any], names: Sequence[str],
                             keys: Mapping[str, Credentials]) -> Found:
    """What is known of each venue's transfer status, the listings dropped for it, the read errors
    (`venues`: the config's venue tables; `names`: the venues discovered; `keys`: who signs)."""
    config = default_config(symbols="auto", venues=dict(venues))
    publics = {v: make_public(v, config.venues[v]) for v in names}
    signed = {v: make_private(v, config.venues[v], keys[v]) for v in keys}
    try:
        found = await discover(publics, UniverseConfig(quotes=["USDT"], max_symbols=100), signed=signed)
    finally:
        for p in publics.values():
            await p.close()
        for s in signed.values():
            await s.close()
    dropped = {(i.venue, pair.symbol) for pair in (*found.chosen, *found.dropped) for i in pair.listings
               if i.drop is Drop.TRANSFERS}
    return dict(found.transfers), dropped, dict(found.transfer_errors)
