"""`[venues.<name>] driver` and `exchange`: a venue's connectors are arb's own, or ccxt's class for
the exchange id, built from the same config (each probe runs for every registry venue).

The probes build the program's real objects (`venue_spec`, `make_public`, as the engine does) from
the default config and from the changed one; the bridge's trading through the engine is driven in
tests/venues/ccxt.
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from arb.config import default_config
from arb.venues.ccxt import CcxtPublic
from arb.venues.registry import VENUES, make_public, venue_spec
from tests.config.support import ALL_VENUES, Probe

# the ccxt class speaking each registry venue's protocol (its id differs for Gate.io)
CCXT_IDS = MappingProxyType({"binance": "binance", "gateio": "gate", "mexc": "mexc", "okx": "okx",
                             "bybit": "bybit"})


async def _public_of(venue: str, table: dict[str, str]) -> tuple[str, str]:
    """(spec display, connector class) of `venue` under `table`."""
    config = default_config(venues={venue: table, **{v: {} for v in VENUES if v != venue}})
    public = make_public(venue, config.venues[venue])
    try:
        return venue_spec(venue, config.venues[venue]).display, type(public).__name__
    finally:
        await public.close()


async def driver(tmp: Path, venue: str | None) -> None:
    del tmp
    assert venue is not None
    native = await _public_of(venue, {})
    bridged = await _public_of(venue, {"driver": "ccxt", "exchange": CCXT_IDS[venue]})
    assert native[0] == VENUES[venue].display and native[1] != CcxtPublic.__name__
    assert bridged[1] == CcxtPublic.__name__ and f"ccxt {CCXT_IDS[venue]}" in bridged[0]


async def exchange(tmp: Path, venue: str | None) -> None:
    del tmp
    assert venue is not None
    ids = {}
    for exchange_id in (CCXT_IDS[venue], "kucoin"):
        config = default_config(venues={venue: {"driver": "ccxt", "exchange": exchange_id},
                                        **{v: {} for v in VENUES if v != venue}})
        public = make_public(venue, config.venues[venue])
        try:
            assert isinstance(public, CcxtPublic)
            ids[exchange_id] = public.client.id
        finally:
            await public.close()
    assert ids == {CCXT_IDS[venue]: CCXT_IDS[venue], "kucoin": "kucoin"}


PROBES: dict[str, Probe] = {"venues.*.driver": driver, "venues.*.exchange": exchange}


@pytest.mark.parametrize("field", sorted(PROBES))
@pytest.mark.parametrize("venue", ALL_VENUES)
async def test_ccxt_field_changes_the_connectors(field: str, venue: str, tmp_path: Path) -> None:
    await PROBES[field](tmp_path, venue)
