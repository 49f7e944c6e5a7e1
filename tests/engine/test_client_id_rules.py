"""Client ids follow each venue's `ClientIdRule` (its spec's), never a rule of the engine's own.

A rule like OKX's (letters and digits only, at most 32) drops the run tag's dashes: the ids of two
runs must still differ and name their run, the journal must still link each id to its opportunity,
and a restart must still find an order a crash left unresolved by the id the venue knows.
"""

from __future__ import annotations

import string
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.engine.engine import Engine
from arb.engine.journal import Journal
from arb.model import Order, OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.venues.registry import VENUES, make_private
from arb.venues.spec import ClientIdRule
from tests.engine.test_engine_live import calm_sim, live_config, sim_credentials, wait_for

BTC = Symbol("BTC", "USDT")
PAIR = ["binance", "mexc"]
OKX_LIKE = ClientIdRule(max_length=32, alphabet=string.ascii_letters + string.digits)


def _specs() -> dict[str, Any]:
    return {**VENUES, "mexc": VENUES["mexc"]._replace(client_id=OKX_LIKE)}


async def _trade_once(config: Any, sim: Any) -> str:
    engine = Engine(config, credentials=sim_credentials(PAIR), specs=_specs())
    try:
        await engine.start()
        assert engine.reconciliation is not None and engine.reconciliation.ok, engine.reconciliation
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: bool(engine.outcomes) and not engine._tasks, timeout=20.0)
        return str(engine.detector._run_tag)
    finally:
        await engine.stop()


async def _journal(config: Any) -> tuple[list[Order], dict[str, tuple[str, str]]]:
    journal = Journal(config.journal_path)
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        return await journal.orders(), await journal.order_links()
    finally:
        await journal.close()


async def test_a_rule_without_dashes_keeps_runs_apart_and_ids_linked(tmp_path: Path) -> None:
    sim, urls = await calm_sim(PAIR, seed=4)
    config = live_config(urls, tmp_path)
    try:
        tags = [await _trade_once(config, sim), await _trade_once(config, sim)]
    finally:
        await sim.close()
    orders, links = await _journal(config)
    assert tags[0] != tags[1] and all("-" in tag for tag in tags)
    prefixes = [OKX_LIKE.spell(tag) for tag in tags]
    assert not prefixes[0].startswith(prefixes[1]) and not prefixes[1].startswith(prefixes[0])
    by_run: dict[int, list[Order]] = {0: [], 1: []}
    for order in orders:
        opportunity, _ = links[order.client_order_id]
        run = next(i for i, tag in enumerate(tags) if opportunity.startswith(tag))  # the engine's own id
        by_run[run].append(order)
        if order.venue == "mexc":  # the venue's spelling: letters and digits, its run's tag first
            assert order.client_order_id.isalnum() and len(order.client_order_id) <= 32
            assert order.client_order_id.startswith(prefixes[run])
            assert order.client_order_id == OKX_LIKE.make(opportunity + order.client_order_id[-2:])
        else:
            assert order.client_order_id.startswith(tags[run])
    assert by_run[0] and by_run[1]
    seen = {o.client_id for o in sim.dialects["mexc"].matching.orders.values()}  # type: ignore[attr-defined]
    assert seen == {o.client_order_id for o in orders if o.venue == "mexc"}  # no id sent twice, all journaled


async def test_a_restart_resolves_a_crashed_intent_by_its_spelled_id(tmp_path: Path) -> None:
    """The journal holds an intent (PENDING_NEW) the venue got before the crash: the restart asks
    the venue for it by the id the rule made, and learns its fill."""
    sim, urls = await calm_sim(PAIR, seed=5)
    config = live_config(urls, tmp_path)
    creds = sim_credentials(PAIR)
    cid = OKX_LIKE.make("1-tk2m9x-000001s0")
    try:
        journal = Journal(config.journal_path)
        await journal.open(mode="live", version="t", now_ns=1)
        _, bids, _ = sim.market.snapshot("mexc", BTC, 1)
        intent = Order(venue="mexc", symbol=BTC, client_order_id=cid, side=Side.SELL, type=OrderType.LIMIT,
                       quantity=Decimal("0.01"), price=bids[0][0], time_in_force=TimeInForce.IOC,
                       ts_created=1, ts_updated=1)
        journal.record_order(intent, opportunity_id="1-tk2m9x-000001", leg="sell", detail="intent")
        await journal.flush()
        await journal.close(now_ns=2)
        private = make_private("mexc", config.venues["mexc"], creds["mexc"])
        try:
            await private.place_order(BTC, Side.SELL, OrderType.LIMIT, Decimal("0.01"), cid, bids[0][0],
                                      TimeInForce.IOC)
        finally:
            await private.close()
        engine = Engine(config, credentials=creds, specs=_specs())
        try:
            await engine.start()
            report = engine.reconciliation
        finally:
            await engine.stop()
    finally:
        await sim.close()
    assert report is not None and report.resolved == [cid] and not report.unresolved, report
    orders, links = await _journal(config)
    final = next(o for o in orders if o.client_order_id == cid)
    assert final.status is OrderStatus.FILLED and final.filled_qty == Decimal("0.01")
    assert links[cid] == ("1-tk2m9x-000001", "sell")
