"""`symbols`, `[engine]` (all but logging and the event loop: `test_cli_fields`) and `[journal]`:
each field, changed, changes what the engine started against the simulator does."""

from __future__ import annotations

import asyncio
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import DEFAULT_PAPER_BALANCES, default_config
from arb.ops.status import engine_status
from tests.config.support import BTC, ETH, Probe, Scene, calm_sim, scene, window


async def symbols(tmp: Path, _: str | None) -> None:
    traded = []
    for chosen in (("BTC/USDT",), ("ETH/USDT",)):
        async with scene(tmp, symbols=chosen) as sc:
            traded.append({s.symbol for s in sc.engine.books.all()})
    assert traded == [{BTC}, {ETH}]


def _posts(sc: Scene, venue: str) -> int:
    return sum(n for route, n in sc.sim.traffic[venue].by_route.items() if route.startswith("POST "))


async def mode(tmp: Path, _: str | None) -> None:
    """Paper fills against the local books (the venue sees no order); live sends them."""
    sent = []
    for live in (False, True):
        async with scene(tmp, live=live) as sc:
            assert await window(sc, "binance", "gateio"), "the window was not traded"
            sent.append(_posts(sc, "binance") > 0)
    assert sent == [False, True]


async def name(tmp: Path, _: str | None) -> None:
    names = []
    for tables in ({}, {"engine": {"name": "desk-7"}}):
        async with scene(tmp, tables) as sc:
            names.append(engine_status(sc.engine)["name"])
    assert names == ["arb", "desk-7"]


async def data_dir(tmp: Path, _: str | None) -> None:
    """The journal (and the HALT state) live in the data dir: ./arb-data unless told otherwise."""
    sim = await calm_sim(("binance", "gateio"))
    venues = {v: {"rest_url": r, "ws_url": w} for v, (r, w) in sim.urls.items()}
    here = Path.cwd()
    os.chdir(tmp)
    try:
        for tables in ({}, {"engine": {"data_dir": str(tmp / "elsewhere")}}):
            config = default_config(symbols=["BTC/USDT"], venues=venues, **tables)
            async with scene(tmp, config=config, sim=sim) as sc:
                sc.engine.risk.halt("probe")
        found = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.suffix in (".sqlite", ".json"))
    finally:
        os.chdir(here)
        await sim.close()
    assert found == ["arb-data/journal.sqlite", "arb-data/trading_state.json",
                     "elsewhere/journal.sqlite", "elsewhere/trading_state.json"]


async def paper_balances(tmp: Path, _: str | None) -> None:
    held = []
    for tables in ({}, {"engine": {"paper_balances": {"USDT": "1234.5"}}}):
        async with scene(tmp, tables) as sc:
            risk = sc.engine.risk
            held.append((risk.available("gateio", "USDT"), risk.available("gateio", "BTC")))
    assert held == [(DEFAULT_PAPER_BALANCES["USDT"], DEFAULT_PAPER_BALANCES["BTC"]), (Decimal("1234.5"), 0)]


async def _reads_of(tmp: Path, field: str, changed: float, what: str) -> list[int]:
    """Live: how often the venue is asked `what` (its balances or its fee rate) in 1.2 s."""
    async def run(path: Path, tables: dict[str, Any]) -> int:
        async with scene(path, tables, live=True) as sc:
            private = sc.engine.privates["binance"]
            await asyncio.sleep(0.3)
            before = dict(sc.sim.traffic["binance"].by_route)
            await (private.balances() if what == "balances" else private.trading_fees(BTC))
            route = next(r for r, n in sc.sim.traffic["binance"].by_route.items() if n != before.get(r, 0))
            asked = sc.sim.traffic["binance"].by_route[route]
            await asyncio.sleep(1.2)
            return sc.sim.traffic["binance"].by_route[route] - asked

    changed_run = run(tmp / "changed", {"engine": {field: changed}})
    return list(await asyncio.gather(run(tmp / "default", {}), changed_run))


async def balance_refresh_s(tmp: Path, _: str | None) -> None:
    idle, often = await _reads_of(tmp, "balance_refresh_s", 0.2, "balances")
    assert (idle, often >= 3) == (0, True), (idle, often)


async def fee_refresh_s(tmp: Path, _: str | None) -> None:
    idle, often = await _reads_of(tmp, "fee_refresh_s", 0.2, "fees")
    assert (idle, often >= 3) == (0, True), (idle, often)


async def stale_book_s(tmp: Path, _: str | None) -> None:
    """Binance's stream stalls (socket and pings up, no data): resynced after 0.4 s, not within 30 s."""
    async def run(path: Path, tables: dict[str, Any]) -> int:
        async with scene(path, tables) as sc:
            sc.sim.faults["binance"].stall = True
            await asyncio.sleep(1.2)
            return sc.engine.upkeep.stale_resyncs

    resyncs = await asyncio.gather(run(tmp / "default", {}),
                                   run(tmp / "changed", {"engine": {"stale_book_s": 0.4}}))
    assert resyncs[0] == 0 and resyncs[1] >= 1, resyncs


async def journal_path(tmp: Path, _: str | None) -> None:
    where = []
    for tables in ({}, {"journal": {"path": str(tmp / "books" / "j.sqlite")}}):
        async with scene(tmp, tables) as sc:
            data = Path(sc.engine.config.engine.data_dir)
            where.append(((data / "journal.sqlite").exists(), (tmp / "books" / "j.sqlite").exists()))
    assert where == [(True, False), (False, True)]


async def journal_sync(tmp: Path, _: str | None) -> None:
    """SQLite's synchronous mode on the journal's connections: NORMAL (1) or FULL (2)."""
    modes = []
    for tables in ({}, {"journal": {"sync": "full"}}):
        async with scene(tmp, tables) as sc:
            rows = await sc.engine.journal.query("PRAGMA synchronous")
            modes.append(rows[0][0])
    assert modes == [1, 2]


PROBES: dict[str, Probe] = {
    "symbols": symbols,
    "engine.mode": mode,
    "engine.name": name,
    "engine.data_dir": data_dir,
    "engine.paper_balances": paper_balances,
    "engine.balance_refresh_s": balance_refresh_s,
    "engine.fee_refresh_s": fee_refresh_s,
    "engine.stale_book_s": stale_book_s,
    "journal.path": journal_path,
    "journal.sync": journal_sync,
}


@pytest.mark.parametrize("field", sorted(PROBES))
async def test_engine_field_changes_behaviour(field: str, tmp_path: Path) -> None:
    await PROBES[field](tmp_path, None)

