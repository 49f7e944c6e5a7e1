from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from arb.engine.journal import Journal, migrate
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
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="paper", version="t", now_ns=1)
    journal._put(("INSERT INTO no_such_table VALUES (1)", ()))
    with pytest.raises(sqlite3.OperationalError):
        await journal.flush()
    await journal.close()


def test_migrations_are_idempotent(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.sqlite", isolation_level=None)
    assert migrate(conn) == 1
    assert migrate(conn) == 1
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
