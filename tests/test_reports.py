"""Issue 11.5: `history` and `pnl` are readable: ISO times, exact decimals, PnL per trade, by day,
symbol and venue; driven through `arb-engine`, plus once over a real demo's journal."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

import arb.demo
from arb.cli import main
from arb.engine.journal import Journal
from arb.model import Fill, Opportunity, Order, OrderType, Side, Symbol, TimeInForce

BTC = Symbol("BTC", "USDT")
DAY1 = 1_764_633_600_000_000_000  # 2025-12-02T00:00:00Z
DAY2 = DAY1 + 86_400 * 10**9
MS = 1_000_000


def _opportunity(oid: str, ts_ns: int) -> Opportunity:
    return Opportunity(id=oid, symbol=BTC, buy_venue="binance", sell_venue="gateio", quantity=0.1,
                       buy_vwap=100.0, sell_vwap=101.0, buy_worst=100.0, sell_worst=101.0, gross_profit=0.1,
                       net_profit=0.07, gross_bps=100.0, net_bps=70.123456789, ts_detected=ts_ns)


async def _journal(path: Path) -> None:
    journal = Journal(path, paper=True)
    await journal.open(mode="paper", version="t", now_ns=1)
    trades = (("o1", DAY1 + 1234 * MS, "100.10", "101.30"), ("o2", DAY2 + 5 * MS, "100.00", "100.20"))
    for oid, ts, buy, sell in trades:
        journal.record_opportunity(_opportunity(oid, ts), "approved")
        for side, venue, price in ((Side.BUY, "binance", buy), (Side.SELL, "gateio", sell)):
            cid = f"{oid}-{side.name}"
            journal.record_order(Order(venue, BTC, cid, side, OrderType.LIMIT, Decimal("0.1"), Decimal(price),
                                       TimeInForce.IOC), opportunity_id=oid, leg=side.name)
            journal.record_fill(Fill(venue, BTC, f"t-{cid}", side, Decimal(price), Decimal("0.1"),
                                     Decimal("0.01"), "USDT", client_order_id=cid, ts_event=ts, ts_recv=ts))
    journal.record_opportunity(_opportunity("o3", DAY2 + 9 * MS), "rejected", "balance")
    await journal.close()


def test_history_shows_iso_times_exact_decimals_and_pnl_per_trade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_journal(tmp_path / "journal.sqlite"))
    assert main(["history", "--data-dir", str(tmp_path), "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == ["o1", "o2", "o3"]  # oldest first
    o1 = rows["o1"]
    assert o1["time"] == "2025-12-02T00:00:01.234Z"
    assert (o1["quantity"], o1["expected_profit"], o1["net_bps"]) == ("0.1", "0.07", "70.1235")
    assert o1["realised_pnl"] == "0.1" and o1["fills"] == 2  # 10.13 - 10.01 - 0.02 fees
    assert Decimal(rows["o2"]["realised_pnl"]) == Decimal("0.00")  # 10.02 - 10.00 - 0.02
    assert rows["o3"]["realised_pnl"] == "" and rows["o3"]["reason"] == "balance"
    assert main(["history", "--data-dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "2025-12-02T00:00:01.234Z" in table and "realised_pnl" in table and "e-" not in table


def test_history_shows_a_float_size_as_the_order_size(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """The kernel's size is steps x step in binary floating point: 1539 x 0.00001 is
    0.015390000000000001, which `history` printed as such (the order sent was 0.01539)."""
    async def write() -> None:
        journal = Journal(tmp_path / "journal.sqlite", paper=True)
        await journal.open(mode="paper", version="t", now_ns=1)
        opportunity = msgspec.structs.replace(_opportunity("o1", DAY1), quantity=1539 * 0.00001,
                                              net_profit=0.766277718750104)
        journal.record_opportunity(opportunity, "approved")
        await journal.close()

    assert 1539 * 0.00001 != 0.01539
    asyncio.run(write())
    assert main(["history", "--data-dir", str(tmp_path), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["quantity"], row["expected_profit"]) == ("0.01539", "0.76627771875")


def test_pnl_by_symbol_day_and_venue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_journal(tmp_path / "journal.sqlite"))
    assert main(["pnl", "--data-dir", str(tmp_path), "--json"]) == 0
    (total,) = json.loads(capsys.readouterr().out)
    assert (total["symbol"], total["fills"], total["pnl"]) == ("BTC/USDT", 4, "0.1")
    assert main(["pnl", "--data-dir", str(tmp_path), "--by", "day", "--csv"]) == 0
    days = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(d["day"], d["symbol"], d["pnl"]) for d in days] == [
        ("2025-12-02", "BTC/USDT", "0.1"), ("2025-12-03", "BTC/USDT", "0")]
    assert main(["pnl", "--data-dir", str(tmp_path), "--by", "venue", "--json"]) == 0
    venues = {r["venue"]: r for r in json.loads(capsys.readouterr().out)}
    assert venues["binance"]["quote_flow"] == "-20.01" and venues["gateio"]["quote_flow"] == "20.15"
    assert sum(Decimal(v["pnl"]) for v in venues.values()) == Decimal(total["pnl"])
    # a venue's figure is its leg's quote flow: the table says so (it read like a venue's profit)
    assert main(["pnl", "--data-dir", str(tmp_path), "--by", "venue"]) == 0
    assert "a venue's figure is not a profit: the venues' sum is the realised PnL" in capsys.readouterr().out
    assert main(["pnl", "--data-dir", str(tmp_path), "--by", "venue", "--csv"]) == 0
    assert "not a profit" not in capsys.readouterr().out  # machine-readable output stays rows only


def test_demo_journal_history_matches_its_trade_lines(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A real run: every trade line the demo prints has its realised PnL in `history`."""
    assert main(["demo", "--duration", "6", "--symbols", "BTC/USDT", "ETH/USDT", "SOL/USDT", "--data-dir",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "one-legged trades" in out and "residual" not in out.lower()
    lines = [line.split() for line in out.split("\nTrades\n")[1].splitlines() if " PnL " in line]
    assert main(["history", "--data-dir", str(tmp_path), "--json", "--limit", "1000"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    for words in lines:
        oid, pnl = words[0], Decimal(words[words.index("PnL") + 1])
        size = Decimal(rows[oid]["quantity"])  # the kernel's size as ordered, no binary float tail
        assert size.as_tuple().exponent >= -8, (oid, rows[oid])  # type: ignore[operator]
        if words[2] == "bought" and words[3] != "nothing":
            assert Decimal(words[3]) <= size, (oid, rows[oid])
        if rows[oid]["fills"]:
            assert abs(Decimal(rows[oid]["realised_pnl"]) - pnl) < Decimal("0.000001"), (oid, rows[oid])


def test_demo_names_the_history_command_that_lists_its_earlier_trades(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary's "(N earlier trades in the journal: `arb-engine history`)" named no data dir: typed
    as shown it read ./arb-data, not the demo's journal."""
    monkeypatch.setattr(arb.demo, "TRADE_LINES", 1)
    data = tmp_path / "demo-data"
    assert main(["demo", "--duration", "6", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    hint = next(line for line in out.splitlines() if "earlier trades" in line)
    command = hint.split("`")[1].split()
    assert command[:4] == ["arb-engine", "history", "--data-dir", str(data)], hint
    monkeypatch.chdir(tmp_path)  # not where the journal is
    assert main([*command[1:], "--json"]) == 0
    earlier = int(hint.split("(")[1].split()[0])
    assert len(json.loads(capsys.readouterr().out)) >= earlier + 1


def test_status_of_a_directory_with_no_engine_and_no_journal_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Said "source: none" and exited 0, where pnl and history exit 2 naming the missing journal."""
    assert main(["status", "--data-dir", str(tmp_path / "typo")]) == 2
    err = capsys.readouterr().err
    assert f"no running engine and no journal at {tmp_path / 'typo' / 'journal.sqlite'}" in err
