"""`arb-engine demo` across the five venues: the new ones (OKX, Bybit) trade against the old ones.

Driven through the CLI exactly as a user types it. The simulator the demo starts is captured (the
test wraps its constructor) so its ledger, the truth, can be compared with the demo's journal
afterwards: every order the simulator saw was sent once and the journal holds its fill, and each
venue's balances moved by exactly what the journaled fills imply.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb import demo
from arb.cli import main
from arb.engine.journal import Journal
from arb.model import Fill
from arb.ops.chaos.common import moves
from arb.sim.accounts import FUNDING
from arb.sim.server import SimExchange

OLD = ("binance", "gateio", "mexc")
NEW = ("okx", "bybit")
FIVE = [*OLD, *NEW]
DURATION_S = 25  # enough for a few dozen trades on the shared 2-core machine


def _filled_pairs(journal: Path) -> set[tuple[str, str]]:
    """(buy venue, sell venue) of every trade whose two legs both filled something."""
    with sqlite3.connect(journal) as db:
        rows = db.execute(
            "SELECT b.venue, s.venue FROM orders b JOIN orders s ON s.opportunity_id = b.opportunity_id"
            " WHERE b.leg = 'buy' AND s.leg = 'sell'"
            " AND CAST(b.filled_qty AS REAL) > 0 AND CAST(s.filled_qty AS REAL) > 0").fetchall()
    return {(b, s) for b, s in rows}


async def _journal_fills(path: Path) -> tuple[list[Fill], dict[str, Decimal]]:
    journal = Journal(path)
    await journal.open(mode="live", version="test", now_ns=1)
    try:
        filled = {o.client_order_id: o.filled_qty for o in await journal.orders()}
        return await journal.fills(), filled
    finally:
        await journal.close()


def test_demo_trades_between_the_new_venues_and_the_old(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    made: list[SimExchange] = []

    def remembered(*args: Any, **kwargs: Any) -> SimExchange:
        made.append(SimExchange(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(demo, "SimExchange", remembered)
    assert main(["demo", "--venues", *FIVE, "--duration", str(DURATION_S), "--symbols", "BTC/USDT",
                 "ETH/USDT", "SOL/USDT", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for venue in FIVE:
        assert f"simulated {venue}: rest=http://127.0.0.1:" in out
    assert "books synced                  15/15" in out

    # the summary's trade lines name the new venues against the old
    lines = [line for line in out.split("\nTrades\n", 1)[1].splitlines() if " on " in line]
    legs = [set(re.findall(r" on (\w+)", line)) for line in lines]
    for new in NEW:
        assert any(new in pair and pair & set(OLD) for pair in legs), (new, lines)

    # and the journal has trades where both legs filled: OKX against an old venue, Bybit too
    pairs = _filled_pairs(tmp_path / "journal.sqlite")
    for new in NEW:
        against_old = {p for p in pairs if new in p and set(p) & set(OLD)}
        assert against_old, (new, pairs)

    # journal == the simulator's ledger, venue by venue
    (sim,) = made
    fills, filled = asyncio.run(_journal_fills(tmp_path / "journal.sqlite"))
    assert {f.venue for f in fills} >= set(NEW)
    for venue in FIVE:
        dialect: Any = sim.dialects[venue]
        seen = list(dialect.matching.orders.values())
        assert len({o.client_id for o in seen}) == len(seen), venue  # never sent twice
        for sim_order in seen:
            assert filled[sim_order.client_id] == sim_order.filled, (venue, sim_order.client_id)
        for asset, moved in moves(fills, venue).items():
            assert dialect.ledger.total("sim", asset) == FUNDING[asset] + moved, (venue, asset)
