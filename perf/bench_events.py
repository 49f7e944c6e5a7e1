"""Cluster events: what publishing orders and fills costs the hot path, and how fast they drain.

- hot path: `Journal.record_fill` / `record_order` with no observer (the baseline, a queue put for
  the journal's writer thread) against the same with the cluster's `JournalTap` observing (the event
  encoded to JSON and queued; nothing is sent on the hot path), measured interleaved in one run;
- drain: a burst of FILL events queued at once, published with JetStream acks to a real nats-server
  (from the dev install) on 127.0.0.1: events per second until the queue is empty. A worker whose
  sustained event rate stays under it never grows its queue; above it the queue absorbs bursts
  up to its bound (`events.MAX_QUEUED`).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_ns_interleaved, table

from arb.cluster.conn import connect, open_buckets
from arb.cluster.events import EventPublisher
from arb.cluster.server import NatsServer
from arb.cluster.tap import JournalTap
from arb.engine.journal import Journal
from arb.model import Fill, Order, OrderStatus, OrderType, Side, Symbol, TimeInForce

N = 5_000
BURST = 10_000
BTC = Symbol("BTC", "USDT")


def _fills(n: int) -> list[Fill]:
    return [Fill(venue="binance", symbol=BTC, trade_id=f"t{i}", side=Side.BUY, price=Decimal("100123.45"),
                 quantity=Decimal("0.0123"), fee=Decimal("0.00123"), fee_asset="USDT", order_id=f"o{i}",
                 client_order_id=f"1-tk2m9x-{i:06d}b0", ts_event=time.time_ns(), ts_recv=time.time_ns())
            for i in range(n)]


def _orders(n: int) -> list[Order]:
    return [Order(venue="binance", symbol=BTC, client_order_id=f"1-tk2m9x-{i:06d}b0", side=Side.BUY,
                  type=OrderType.LIMIT, quantity=Decimal("0.0123"), price=Decimal("100200"),
                  time_in_force=TimeInForce.IOC, order_id=f"o{i}", status=OrderStatus.FILLED,
                  filled_qty=Decimal("0.0123"), filled_quote=Decimal("1231.5"), fee=Decimal("0.00123"),
                  fee_asset="USDT") for i in range(n)]


async def hot_path(tmp: Path) -> list[float]:
    plain, tapped = Journal(tmp / "plain.sqlite"), Journal(tmp / "tapped.sqlite")
    for journal in (plain, tapped):
        await journal.open(mode="paper", version="bench", now_ns=time.time_ns())
    events = EventPublisher(cast(Any, None), "bench", max_queued=10**9)  # never started: queue only
    tapped.observer = JournalTap(events)
    fills, orders = _fills(N), _orders(N)

    def record_fills(journal: Journal) -> int:
        for fill in fills:
            journal.record_fill(fill)
        return len(fills)

    def record_orders(journal: Journal) -> int:
        if journal is tapped:  # a new tap each round: every order's final state is news to it
            tapped.observer = JournalTap(events)
        for order in orders:
            journal.record_order(order, detail="queried")
        return len(orders)

    try:
        return best_ns_interleaved([lambda: record_fills(plain), lambda: record_fills(tapped),
                                    lambda: record_orders(plain), lambda: record_orders(tapped)], repeats=7)
    finally:
        for journal in (plain, tapped):
            await journal.close()


async def drain_per_s(url: str) -> float:
    nc = await connect(url, name="bench")
    try:
        js = nc.jetstream(timeout=2.0)
        await open_buckets(js, lease_s=3.0)
        events = EventPublisher(js, "bench")
        tap = JournalTap(events)
        for fill in _fills(BURST):
            tap.on_fill(fill)
        began = time.perf_counter()
        events.start()
        while events.queued:
            await asyncio.sleep(0.005)
        took = time.perf_counter() - began
        await events.stop()
        return BURST / took
    finally:
        await nc.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fill_plain, fill_tap, order_plain, order_tap = await hot_path(Path(tmp))
        server = NatsServer(Path(tmp) / "nats")
        url = server.start()
        try:
            drained = await drain_per_s(url)
        finally:
            server.stop()
    print(table("Hot path: journal records with and without the cluster's event tap (ns per record)",
                ["record", "journal only", "journal + event", "ratio"], [
                    ["fill", fill_plain, fill_tap, f"{fill_tap / fill_plain:.2f}x"],
                    ["order (final state)", order_plain, order_tap, f"{order_tap / order_plain:.2f}x"],
                ]))
    print()
    print(table("Drain to a real nats-server (JetStream acks, 127.0.0.1)", ["measure", "value"],
                [[f"FILL events per second ({BURST:,} queued at once)", drained]]))


if __name__ == "__main__":
    asyncio.run(main())
