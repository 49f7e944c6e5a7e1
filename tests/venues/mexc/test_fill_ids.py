"""One MEXC fill, two names: ``myTrades.id`` (32 hex) and the deals push's ``tradeId`` (``<n>X<k>``).

The simulator prints both real formats; the codec names the fill by what both carry (order id,
time, price, quantity), so the engine's dedup by (venue, trade_id) counts a fill that arrives both
by the user stream and by the trade history once.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.engine.engine import Engine
from arb.model import Fill, OrderType, Side, TimeInForce
from arb.sim.faults import FaultInjector, FaultPlan
from arb.sim.mexc_user import DEALS
from arb.venues.mexc import orders
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper
from arb.venues.registry import make_private
from tests.engine.test_engine_live import (
    BTC,
    FUNDING,
    VENUES,
    calm_sim,
    journal_fills,
    live_config,
    moves,
    sim_credentials,
    wait_for,
)

STREAM_DELAY_MS = 1500.0  # the deals push arrives after the executor read the fills by REST


async def test_the_simulator_prints_the_two_real_formats_and_the_codec_joins_them(tmp_path: Path) -> None:
    sim, urls = await calm_sim(["mexc"], seed=9)
    client = make_private("mexc", VenueConfig(rest_url=urls["mexc"][0]),
                          Credentials("mexc", Secret("sim-key"), Secret("sim-secret")))
    pushed: list[bytes] = []
    user = sim.dialects["mexc"].user  # type: ignore[attr-defined]
    user.subscribers.wants = lambda topic: topic.startswith(DEALS)  # type: ignore[method-assign]
    user.subscribers.publish = lambda topic, frame: pushed.append(frame)  # type: ignore[method-assign]
    try:
        _, _, asks = sim.market.snapshot("mexc", BTC, 1)
        await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.002"), "two-names", asks[0][0],
                                 TimeInForce.IOC)
        raw = await client.rest.request("GET", "/api/v3/myTrades", kind=client._kind,  # type: ignore[attr-defined]
                                        params=[("symbol", "BTCUSDT")], signed=True)
        by_rest = await client.my_trades(BTC)
    finally:
        await client.close()
        await sim.close()
    (row,) = json.loads(raw)
    wrapper = PushDataV3ApiWrapper()
    wrapper.ParseFromString(pushed[0])
    assert re.fullmatch(r"[0-9a-f]{32}", row["id"])
    assert re.fullmatch(r"\d+X\d+", wrapper.privateDeals.tradeId)  # unrelated to the REST id
    by_stream = orders.decode_private_deal(wrapper, lambda _: BTC, 0)
    assert [f.trade_id for f in by_rest] == [by_stream.trade_id]
    assert (by_rest[0].quantity, by_rest[0].price) == (by_stream.quantity, by_stream.price)


async def test_a_live_mexc_fill_seen_by_stream_and_by_my_trades_counts_once(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=4)
    # the user stream's pushes run late: the executor backfills the MEXC leg's fills from
    # myTrades first, then the same fills arrive on spot@private.deals
    late = FaultInjector("mexc", FaultPlan(delay_ms=STREAM_DELAY_MS))
    sim.dialects["mexc"].user.subscribers.faults = late  # type: ignore[attr-defined]
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    seen: list[tuple[str, bool]] = []  # every MEXC fill the tracker was offered: (trade id, applied)
    apply_fill = engine.tracker.on_fill

    def spy(fill: Fill) -> bool:
        applied = apply_fill(fill)
        if fill.venue == "mexc":
            seen.append((fill.trade_id, applied))
        return applied

    engine.tracker.on_fill = spy  # type: ignore[method-assign]
    streamed: list[Fill] = []  # MEXC fills the user stream delivered
    on_venue_fill = engine.on_venue_fill

    def from_stream(fill: Fill) -> None:
        if fill.venue == "mexc":
            streamed.append(fill)
        on_venue_fill(fill)

    engine.on_venue_fill = from_stream  # type: ignore[method-assign]
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        await wait_for(lambda: engine.user_streams == {"binance": True, "mexc": True})
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(engine.outcomes) and not engine._tasks)
        matching = sim.dialects["mexc"].matching  # type: ignore[attr-defined]
        # every MEXC fill comes twice: by REST (the executor's backfill) first, then by the late stream
        await wait_for(lambda: not engine._tasks and len(streamed) == len(matching.fills), timeout=15.0)
    finally:
        await engine.stop()
        await sim.close()
    mexc_fills = len(matching.fills)
    assert mexc_fills >= 1 and len(streamed) == mexc_fills
    assert [applied for _, applied in seen].count(True) == mexc_fills  # applied once each
    assert len({trade_id for trade_id, _ in seen}) == mexc_fills  # one name per fill, from both sources
    assert {f.trade_id for f in streamed} == {trade_id for trade_id, _ in seen}
    assert late.counts.delayed > 0 and sim.traffic["mexc"].by_route["GET /api/v3/myTrades"] >= 1
    fills: list[Fill] = await journal_fills(tmp_path)
    assert len([f for f in fills if f.venue == "mexc"]) == mexc_fills
    for venue in VENUES:
        ledger = sim.dialects[venue].ledger  # type: ignore[attr-defined]
        implied = moves(fills, venue)
        for asset in ("BTC", "USDT"):
            truth = ledger.total("sim", asset)
            assert truth == FUNDING[asset] + implied.get(asset, Decimal(0)), (venue, asset)
