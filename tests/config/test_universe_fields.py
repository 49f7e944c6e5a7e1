"""`[universe]` (with ``symbols = "auto"``): each field, changed, changes which books the engine
started against the simulator's large universe keeps."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from arb.config import default_config
from arb.model import Symbol
from arb.sim.server import SimExchange
from arb.sim.universe import large_universe
from tests.config.support import Probe, data_dir, scene

VENUES = ("binance", "gateio", "mexc")


async def _books(tmp: Path, universe: dict[str, Any], *, after: Any = None,
                 keys: bool = False) -> set[tuple[str, Symbol]]:
    """The (venue, symbol) books of an engine with ``symbols = "auto"`` and `universe` (`keys`: with the
    simulator's keys, which read the signed venues' transfer status)."""
    sim = SimExchange(list(VENUES), universe=large_universe(VENUES))
    urls = await sim.start()
    config = default_config(symbols="auto", engine={"data_dir": data_dir(tmp)}, universe=universe,
                            venues={v: {"rest_url": urls[v][0], "ws_url": urls[v][1]} for v in VENUES})
    try:
        async with scene(tmp, sim=sim, config=config, wait_synced=False, keys=keys) as sc:
            if after is not None:
                await after(sc)
            return {(s.venue, s.symbol) for s in sc.engine.books.all()}
    finally:
        await sim.close()


def _symbols(books: set[tuple[str, Symbol]]) -> set[Symbol]:
    return {s for _, s in books}


async def quotes(tmp: Path, _: str | None) -> None:
    usdt, both = [await _books(tmp, {"quotes": q}) for q in (["USDT"], ["USDT", "BTC"])]
    assert {s.quote for s in _symbols(usdt)} == {"USDT"} and Symbol("ETH", "BTC") in _symbols(both)


async def min_quote_volume(tmp: Path, _: str | None) -> None:
    zec = Symbol("ZEC", "USDT")  # Gate trades 40k of it a day
    open_, strict = [await _books(tmp, {"min_quote_volume": m}) for m in ({}, {"USDT": 100_000})]
    assert zec in _symbols(open_) and zec not in _symbols(strict)


async def include(tmp: Path, _: str | None) -> None:
    zec = Symbol("ZEC", "USDT")
    plain, kept = [await _books(tmp, {"max_symbols": 3, "include": i}) for i in ([], ["ZEC/USDT"])]
    assert zec not in _symbols(plain) and zec in _symbols(kept) and len(_symbols(kept)) == 4


async def exclude(tmp: Path, _: str | None) -> None:
    plain, less = [await _books(tmp, {"exclude": e}) for e in ([], ["GAS", "BTC/USDT"])]
    gone = _symbols(plain) - _symbols(less)
    assert gone == {Symbol("GAS", "USDT"), Symbol("BTC", "USDT")}


async def max_symbols(tmp: Path, _: str | None) -> None:
    counts = [len(_symbols(await _books(tmp, {"max_symbols": n}))) for n in (50, 5)]
    assert counts[0] > 30 and counts[1] == 5


async def refresh_s(tmp: Path, _: str | None) -> None:
    ada = ("gateio", Symbol("ADA", "USDT"))

    async def delist(sc: Any) -> None:
        sc.sim.market.set_listed(*ada, False)
        await asyncio.sleep(1.0)

    never, often = [await _books(tmp, {"refresh_s": r}, after=delist) for r in (0.0, 0.2)]
    assert ada in never and ada not in often


async def exclude_suspended_transfers(tmp: Path, _: str | None) -> None:
    gas = ("gateio", Symbol("GAS", "USDT"))  # Gate's GAS withdrawals are suspended (public status)
    fil = ("binance", Symbol("FIL", "USDT"))  # Binance's FIL withdrawals (signed status: with keys)
    on, off = [await _books(tmp, {"exclude_suspended_transfers": e}, keys=True) for e in (True, False)]
    assert gas not in on and gas in off and fil not in on and fil in off
    keyless = await _books(tmp, {"exclude_suspended_transfers": True})
    assert gas not in keyless and fil in keyless  # no keys: Binance's status is unknown, nothing dropped


PROBES: dict[str, Probe] = {
    "universe.quotes": quotes,
    "universe.min_quote_volume": min_quote_volume,
    "universe.include": include,
    "universe.exclude": exclude,
    "universe.max_symbols": max_symbols,
    "universe.refresh_s": refresh_s,
    "universe.exclude_suspended_transfers": exclude_suspended_transfers,
}


@pytest.mark.parametrize("field", sorted(PROBES))
async def test_universe_field_changes_behaviour(field: str, tmp_path: Path) -> None:
    await PROBES[field](tmp_path, None)
