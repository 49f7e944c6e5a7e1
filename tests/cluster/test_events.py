"""The event publisher against a real nats-server that goes away: events emitted meanwhile are kept
and published once it is back, each stored once (retries are deduplicated by message id); beyond the
queue's bound the oldest are dropped and counted, and `pnl --cluster`'s reader reports the gap; a
fill told twice (the journal keeps one) is counted once."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from arb.cluster.conn import EVENTS_STREAM, connect, open_buckets
from arb.cluster.events import EventPublisher
from arb.cluster.feed import cluster_pnl, parse_since
from arb.cluster.server import NatsServer
from arb.cluster.tap import JournalTap
from arb.model import Fill, Side, Symbol
from arb.reports import Flow

BTC = Symbol("BTC", "USDT")


async def _until(predicate: object, timeout: float, what: str) -> None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def _fill(i: int) -> Fill:
    return Fill(venue="binance" if i % 2 else "mexc", symbol=BTC, trade_id=f"t{i}",
                side=Side.SELL if i % 2 else Side.BUY, price=Decimal(100 + i % 2), quantity=Decimal(1),
                fee=Decimal("0.1"), fee_asset="USDT", client_order_id=f"c{i}", ts_event=time.time_ns())


async def test_events_survive_a_nats_outage_within_the_bound_and_a_gap_beyond_it_is_reported(
        nats_server: NatsServer) -> None:
    url = nats_server.url
    nc = await connect(url, name="w1")
    try:
        js = nc.jetstream(timeout=2.0)
        await open_buckets(js, lease_s=2.0)
        events = EventPublisher(js, "w1", max_queued=100)
        events.start()
        tap = JournalTap(events)
        fills = [_fill(i) for i in range(160)]
        for fill in fills[:10]:
            tap.on_fill(fill)
        tap.on_fill(fills[0])  # told twice: the journal keeps one, so does the reader
        await _until(lambda: events.published == 11, 15, "the first events published")

        nats_server.kill()
        await _until(lambda: not nc.is_connected, 10, "the client noticed")
        for fill in fills[10:]:  # 150 while away: the 50 oldest of them overflow the bound
            tap.on_fill(fill)
        assert (events.queued, events.dropped) == (100, 50)
        nats_server.start()  # same port and store
        await _until(lambda: events.queued == 0, 60, "the queue drained once NATS was back")
        await events.flush()
        await events.stop()
        assert events.published == 111 and events.unsent == 0
        stored = (await js.stream_info(EVENTS_STREAM)).state.messages
    finally:
        await nc.close()
    assert stored == 111  # retries while away were not stored twice

    report = await cluster_pnl(url)
    kept = fills[:10] + fills[60:]
    expected = Flow()
    for fill in kept:
        expected.add(fill)
    assert report["total"] == expected.row()
    assert report["duplicates"] == 1
    assert report["missing"] == {"w1": 50}
    assert [row["worker"] for row in report["workers"]] == ["w1"]
    assert report["pairs"][0]["pair"] == "-"  # fills told without their opportunity


def test_since_reads_durations_ago_and_iso_times_in_utc() -> None:
    now = 1_764_684_000 * 10**9  # 2025-12-02T14:00:00Z
    hour = 3600 * 10**9
    assert parse_since("2h", now) == now - 2 * hour
    assert parse_since("90s", now) == now - 90 * 10**9
    assert parse_since("1.5m", now) == now - 90 * 10**9
    assert parse_since("1d", now) == now - 24 * hour
    assert parse_since("2025-12-02T13:00:00Z", now) == now - hour
    assert parse_since("2025-12-02T13:00:00", now) == now - hour  # no zone: UTC
    assert parse_since("2025-12-02T14:00:00+01:00", now) == now - hour
    with pytest.raises(ValueError, match="expected 30s, 15m, 2h, 1d"):
        parse_since("an hour ago", now)
