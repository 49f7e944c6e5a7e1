from __future__ import annotations

import asyncio
import contextlib
import resource
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest

from arb.engine.journal import MIGRATIONS, Journal, migrate
from arb.errors import DuplicateIntentError, JournalError
from arb.model import Fill, Opportunity, Order, OrderStatus, OrderType, Side, Symbol, TimeInForce

SYM = Symbol("BTC", "USDT")


def _order(cid: str, status: OrderStatus = OrderStatus.PENDING_NEW, filled: str = "0") -> Order:
    return Order(
        venue="binance", symbol=SYM, client_order_id=cid, side=Side.BUY, type=OrderType.LIMIT,
        quantity=Decimal("0.50"), price=Decimal("100.10"), time_in_force=TimeInForce.IOC,
        status=status, filled_qty=Decimal(filled), ts_created=1, ts_updated=2,
    )


def _fill(trade_id: str) -> Fill:
    return Fill(
        venue="binance", symbol=SYM, trade_id=trade_id, side=Side.BUY, price=Decimal("100.1"),
        quantity=Decimal("0.25"), fee=Decimal("0.025"), fee_asset="USDT", client_order_id="c1",
        ts_event=5, ts_recv=6,
    )


async def test_writes_commit_on_flush_and_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j" / "journal.sqlite"
    journal = Journal(path)
    await journal.open(mode="paper", version="t", now_ns=1)
    opp = Opportunity(
        id="o1", symbol=SYM, buy_venue="binance", sell_venue="gateio", quantity=0.5, buy_vwap=100.0,
        sell_vwap=100.5, buy_worst=100.1, sell_worst=100.4, gross_profit=0.25, net_profit=0.15,
        gross_bps=50.0, net_bps=30.0, ts_detected=7,
    )
    journal.record_opportunity(opp, "approved")
    journal.record_order(_order("c1"), opportunity_id="o1", leg="buy")
    await journal.flush()
    assert [o.client_order_id for o in await journal.orders(open_only=True)] == ["c1"]
    await journal.close(now_ns=9)

    again = Journal(path)
    await again.open(mode="paper", version="t", now_ns=10)
    orders = await again.orders()
    assert orders[0].price == Decimal("100.10") and orders[0].quantity == Decimal("0.50")
    assert (await again.order_links())["c1"] == ("o1", "buy")
    runs = await again.query("SELECT id, stopped_ns FROM runs ORDER BY id")
    assert [tuple(r) for r in runs] == [(1, 9), (2, None)]
    await again.close()


async def test_order_status_never_moves_backwards(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="paper", version="t", now_ns=1)
    journal.record_order(_order("c1", OrderStatus.FILLED, "0.50"))
    journal.record_order(_order("c1", OrderStatus.NEW))  # a late, stale event
    await journal.flush()
    (order,) = await journal.orders()
    assert order.status is OrderStatus.FILLED
    events = await journal.query("SELECT status FROM order_events WHERE client_order_id='c1' ORDER BY id")
    assert [r[0] for r in events] == [OrderStatus.FILLED, OrderStatus.NEW]
    assert await journal.orders(open_only=True) == []
    await journal.close()


async def test_duplicate_fills_collapse(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite", paper=True)
    await journal.open(mode="paper", version="t", now_ns=1)
    journal.record_fill(_fill("t1"))
    journal.record_fill(_fill("t1"))
    journal.record_fill(_fill("t2"))
    await journal.flush()
    fills = await journal.fills()
    assert [f.trade_id for f in fills] == ["t1", "t2"]
    assert all(f.paper for f in fills)
    assert fills[0].fee == Decimal("0.025")
    await journal.close()


async def test_failed_write_reaches_the_flusher(tmp_path: Path) -> None:
    """One refused statement fails the next flush only: the writer goes on."""
    journal = Journal(tmp_path / "j.sqlite")
    failures: list[JournalError] = []
    journal.on_failure = failures.append
    await journal.open(mode="paper", version="t", now_ns=1)
    journal._put(("INSERT INTO no_such_table VALUES (1)", ()))
    with pytest.raises(JournalError, match="no such table"):
        await journal.flush()
    journal.record_order(_order("after"))
    await journal.flush()
    assert [o.client_order_id for o in await journal.orders()] == ["after"]
    assert journal.failed is None and not failures
    await journal.close()


async def test_an_intent_whose_client_id_exists_is_refused_never_merged(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    journal.record_intent(_order("dup", OrderStatus.FILLED, filled="0.50"), opportunity_id="o1", leg="buy")
    await journal.flush()
    other = msgspec.structs.replace(_order("dup"), venue="mexc", side=Side.SELL, quantity=Decimal("9"))
    journal.record_intent(other, opportunity_id="o2", leg="sell")
    journal.record_intent(_order("fresh"), opportunity_id="o2", leg="buy")
    with pytest.raises(DuplicateIntentError, match="'dup'") as refused:
        await journal.flush()
    assert refused.value.client_order_id == "dup"
    await journal.flush()  # the refusal was reported once; the journal goes on
    orders = {o.client_order_id: o for o in await journal.orders()}
    kept = orders["dup"]  # the first order, untouched
    assert (kept.venue, kept.side, kept.status, kept.filled_qty) == (
        "binance", Side.BUY, OrderStatus.FILLED, Decimal("0.50"))
    assert "fresh" in orders
    links = await journal.order_links()
    assert links["dup"] == ("o1", "buy") and links["fresh"] == ("o2", "buy")
    events = await journal.query("SELECT client_order_id FROM order_events ORDER BY id")
    assert [r[0] for r in events] == ["dup", "fresh"]  # nothing of the refused intent was written
    await journal.close()


async def test_every_run_gets_a_larger_run_id(tmp_path: Path) -> None:
    ids = []
    for _ in range(3):
        journal = Journal(tmp_path / "j.sqlite")
        await journal.open(mode="live", version="t", now_ns=1)
        assert journal.run_id is not None
        ids.append(journal.run_id)
        await journal.close(now_ns=2)
    assert ids == sorted(ids) and len(set(ids)) == 3
    conn = sqlite3.connect(tmp_path / "j.sqlite")  # AUTOINCREMENT: a deleted last run frees no id
    conn.execute("DELETE FROM runs WHERE id = ?", (ids[-1],))
    conn.commit()
    conn.close()
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    assert journal.run_id is not None and journal.run_id > ids[-1]
    await journal.close()


@contextlib.contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """A real write fault: files of this process cannot grow past `limit` bytes (EFBIG, as a full
    disk refuses them; Python ignores SIGXFSZ)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


async def test_a_dead_writer_fails_every_flush_at_once_and_close_returns(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    failures: list[JournalError] = []
    journal.on_failure = failures.append
    await journal.open(mode="live", version="t", now_ns=1)
    journal.record_order(_order("before"))
    await journal.flush()
    wal = tmp_path / "j.sqlite-wal"
    with _file_size_limit(wal.stat().st_size):
        for i in range(50):  # more than the WAL may take now
            journal.record_order(_order(f"c{i}"))
        waiters = [asyncio.ensure_future(journal.flush()) for _ in range(3)]
        results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 10)
    assert all(isinstance(r, JournalError) for r in results), results
    await asyncio.sleep(0)  # on_failure is called on the loop
    assert len(failures) == 1 and journal.failed is failures[0]
    assert "writer failed" in str(failures[0])
    journal.record_order(_order("later"))  # dropped, never raises on the caller
    with pytest.raises(JournalError):  # at once: nothing waits on a dead writer
        await asyncio.wait_for(journal.flush(), 1)
    await asyncio.wait_for(journal.close(now_ns=3), 10)
    assert journal.dropped >= 1
    reopened = Journal(tmp_path / "j.sqlite")  # what was committed before the fault is intact
    await reopened.open(mode="live", version="t", now_ns=4)
    assert "before" in {o.client_order_id for o in await reopened.orders()}
    await reopened.close()


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.sqlite", isolation_level=None)
    assert migrate(conn) == 2
    assert migrate(conn) == 2
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "opportunities", "orders", "order_events", "fills", "residuals", "balances",
            "risk_events"} <= tables
    conn.close()


async def test_links_are_kept_whichever_write_comes_first(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="paper", version="t", now_ns=1)
    journal.record_order(_order("c9"), detail="track")  # the tracker's event may land first
    journal.record_order(_order("c9"), opportunity_id="o9", leg="sell", detail="intent")
    journal.record_order(_order("c9", OrderStatus.FILLED, "0.50"), detail="fill")
    await journal.flush()
    assert (await journal.order_links())["c9"] == ("o9", "sell")
    await journal.close()


async def test_a_journal_that_cannot_be_opened_says_why(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    journal = Journal(tmp_path / "file" / "j.sqlite")
    with pytest.raises(JournalError, match="cannot open"):
        await journal.open(mode="live", version="t", now_ns=1)


async def test_the_same_trade_id_on_two_symbols_is_two_fills(tmp_path: Path) -> None:
    """Binance numbers trades per symbol: (venue, trade id) alone would drop the second fill."""
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    journal.record_fill(_fill("7"))
    journal.record_fill(msgspec.structs.replace(_fill("7"), symbol=Symbol("ETH", "USDT")))
    journal.record_fill(_fill("7"))  # the same fill again: ignored
    await journal.flush()
    fills = await journal.fills()
    await journal.close()
    assert sorted(str(f.symbol) for f in fills) == ["BTC/USDT", "ETH/USDT"]


def test_a_version_1_journal_migrates_its_fills(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.sqlite", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    row = "INSERT INTO fills VALUES ('binance', '7', '{}', NULL, '{}', 1, '1', '1', '0', 'USDT', 0, 1, 1, 0)"
    conn.execute(row.format("c1", "BTC/USDT"))
    assert migrate(conn) == 2
    assert conn.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == 1
    conn.execute(row.format("c2", "ETH/USDT"))
    assert conn.execute("SELECT COUNT(*) FROM fills").fetchone()[0] == 2
