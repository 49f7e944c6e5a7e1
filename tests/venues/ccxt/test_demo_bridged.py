"""`arb-engine demo --venues ccxt:binance gateio mexc` (and `ccxt:okx ccxt:bybit binance`): the demo with
venues bridged through ccxt.

Driven through the CLI as a user types it. The simulator and the engine the demo builds are captured
(the test wraps their constructors): the engine really drove each bridged venue through ccxt's own
class, trades with a filled leg there happened, and the journal agrees with the simulator's ledger on every
venue (each order the simulator saw was sent once and the journal holds its fill; each venue's
balances moved by exactly what the journaled fills imply).
"""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb import demo
from arb.cli import main
from arb.engine.engine import Engine
from arb.engine.journal import Journal
from arb.model import Fill
from arb.ops.chaos.common import moves
from arb.sim.accounts import FUNDING
from arb.sim.server import SimExchange
from arb.venues.ccxt import CcxtPrivate, CcxtPublic, CcxtStream

DURATION_S = 20  # a handful of trades on the shared 2-core machine


async def _journal_fills(path: Path) -> tuple[list[Fill], dict[str, Decimal]]:
    journal = Journal(path)
    await journal.open(mode="live", version="test", now_ns=1)
    try:
        filled = {o.client_order_id: o.filled_qty for o in await journal.orders()}
        return await journal.fills(), filled
    finally:
        await journal.close()


def _filled_legs(journal: Path, venue: str) -> int:
    """Arbitrage legs (not residual closes) on `venue` that filled something."""
    with sqlite3.connect(journal) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM orders WHERE venue = ? AND leg IN ('buy', 'sell')"
                              " AND CAST(filled_qty AS REAL) > 0", (venue,)).fetchone()
    return int(count)


@pytest.mark.parametrize(("bridged", "native"), [
    (("binance",), ("gateio", "mexc")),
    (("okx", "bybit"), ("binance",)),  # ccxt's okx and bybit against the simulator's OKX and Bybit
], ids=["binance", "okx+bybit"])
def test_demo_trades_with_venues_bridged_through_ccxt(
        bridged: tuple[str, ...], native: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    venues = (*bridged, *native)
    sims: list[SimExchange] = []
    engines: list[Engine] = []

    def sim(*args: Any, **kwargs: Any) -> SimExchange:
        sims.append(SimExchange(*args, **kwargs))
        return sims[-1]

    def engine(*args: Any, **kwargs: Any) -> Engine:
        engines.append(Engine(*args, **kwargs))
        return engines[-1]

    monkeypatch.setattr(demo, "SimExchange", sim)
    monkeypatch.setattr(demo, "Engine", engine)
    assert main(["demo", "--venues", *(f"ccxt:{v}" for v in bridged), *native, "--duration", str(DURATION_S),
                 "--symbols", "BTC/USDT", "ETH/USDT", "--data-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    for venue in bridged:
        assert f"simulated {venue}: rest=http://127.0.0.1:" in out
        assert f"(driven through ccxt's {venue})" in out
    # ccxt's binance reads its fee at /sapi/v1/asset/tradeFee: the simulator answered it (was a 404
    # warning per symbol, then the published schedule)
    assert "account fee rates unavailable" not in err, err
    assert f"books synced                  {2 * len(venues)}/{2 * len(venues)}" in out

    (running,) = engines
    for venue in bridged:
        assert isinstance(running.privates[venue], CcxtPrivate)
        assert isinstance(running.streams[venue], CcxtStream)
        assert isinstance(running.publics[venue], CcxtPublic)
        assert running.streams[venue].books.updates > 0  # type: ignore[attr-defined]
    assert not any(isinstance(running.privates[v], CcxtPrivate) for v in native)

    journal = tmp_path / "journal.sqlite"
    fills, filled = asyncio.run(_journal_fills(journal))
    # which venues a 20 s market opens windows on varies from run to run: a bridged venue traded
    # (with two bridged, at least one of them; `check ccxt:ID` places and fills on each), and the
    # journal agrees with every venue's ledger below
    traded = [venue for venue in bridged if _filled_legs(journal, venue) > 0]
    assert traded, bridged
    assert set(traded) <= {f.venue for f in fills}
    (simulated,) = sims
    for venue in venues:
        dialect: Any = simulated.dialects[venue]
        seen = list(dialect.matching.orders.values())
        assert len({o.client_id for o in seen}) == len(seen), venue  # never sent twice
        for sim_order in seen:
            assert filled[sim_order.client_id] == sim_order.filled, (venue, sim_order.client_id)
        for asset, moved in moves(fills, venue).items():
            assert dialect.ledger.total("sim", asset) == FUNDING[asset] + moved, (venue, asset)


@pytest.mark.parametrize(("venues", "message"), [
    (["ccxt:binance", "binance"], "ccxt:binance and binance both trade on the simulated binance"),
    (["ccxt:kraken", "gateio"], "the simulator speaks no dialect of ccxt exchange 'kraken'"),
    (["ccxt:nosuchexchange", "gateio"], "ccxt has no exchange 'nosuchexchange'"),
])
def test_demo_venues_that_cannot_be_bridged_are_usage_errors(
        venues: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--venues", *venues, "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_demo_venue_neither_simulated_nor_ccxt_is_refused_by_the_parser(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--venues", "kraken", "gateio"])
    assert info.value.code == 2
    assert "or ccxt:ID" in capsys.readouterr().err
