from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from arb._core.book import L2Book
from arb.engine.journal import Journal
from arb.engine.orders import OrderTracker
from arb.engine.paper import PaperExchange
from arb.engine.reconcile import reconcile
from arb.model import Order, OrderStatus, OrderType, Side, Symbol, TimeInForce

SYM = Symbol("BTC", "USDT")


def intent(cid: str, venue: str = "binance", status: OrderStatus = OrderStatus.PENDING_NEW) -> Order:
    return Order(venue=venue, symbol=SYM, client_order_id=cid, side=Side.BUY, type=OrderType.LIMIT,
                 quantity=Decimal("1"), price=Decimal("101"), time_in_force=TimeInForce.IOC,
                 status=status, ts_created=0, ts_updated=0)


async def _no_sleep(_: float) -> None:
    return None


async def test_restart_resolves_intents_and_recovers_fills(tmp_path: Path) -> None:
    book = L2Book()
    book.set_snapshot([99.0], [5.0], [100.0], [5.0])
    venue = PaperExchange("binance", lambda s: book, {"USDT": Decimal("1000")}, taker_fee=0.001,
                          clock_ns=lambda: 10**12)
    # before the "crash": two intents journaled; only the first reached the venue and filled
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="paper", version="t", now_ns=1)
    journal.record_order(intent("sent-b0"), opportunity_id="o1", leg="buy")
    journal.record_order(intent("never-sent-s0"), opportunity_id="o1", leg="sell")
    journal.record_residual("o9r", "o9", "binance", SYM, Side.SELL, Decimal("0.1"), 5)
    await journal.flush()
    await venue.place_order(SYM, Side.BUY, OrderType.LIMIT, Decimal("1"), "sent-b0", Decimal("101"),
                            TimeInForce.IOC)
    await journal.close()

    again = Journal(tmp_path / "j.sqlite")
    await again.open(mode="paper", version="t", now_ns=2)
    tracker = OrderTracker(lambda: 10**12, lambda o, d: again.record_order(o, detail=d))
    report = await reconcile(again, {"binance": venue}, tracker, grace_ns=1, deadline_ns=10**18,
                             sleep=_no_sleep)
    assert sorted(report.resolved) == ["never-sent-s0", "sent-b0"]
    assert report.unresolved == [] and report.fills_applied == 1
    # an open residual keeps us HALTED, and so does the one-legged o1 the crash left behind
    assert report.open_residuals == ["o9r", "o1: net position +1 BTC (one-legged; from its fills)"]
    assert not report.ok
    orders = {o.client_order_id: o for o in await again.orders()}
    assert orders["sent-b0"].status is OrderStatus.FILLED and orders["sent-b0"].filled_qty == Decimal("1")
    assert orders["never-sent-s0"].status is OrderStatus.REJECTED
    assert [f.client_order_id for f in await again.fills()] == ["sent-b0"]
    # a second reconciliation finds nothing open and adds no duplicate fill
    again.close_residual("o9r", 6, "manual")
    second = await reconcile(again, {"binance": venue}, OrderTracker(lambda: 10**12), grace_ns=1,
                             deadline_ns=10**18, sleep=_no_sleep)
    assert second.ok and second.resolved == [] and len(await again.fills()) == 1
    await again.close()


async def test_unconfigured_venue_is_an_error(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    await journal.open(mode="paper", version="t", now_ns=1)
    journal.record_order(intent("x-b0", venue="mexc"))
    await journal.flush()
    report = await reconcile(journal, {}, OrderTracker(lambda: 0), grace_ns=1, deadline_ns=10**18,
                             sleep=_no_sleep)
    assert not report.ok and "mexc" in report.errors[0]
    await journal.close()
