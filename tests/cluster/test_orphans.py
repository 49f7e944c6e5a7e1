"""A new owner's sweep of a symbol against the loopback simulator (the venues' real wire formats,
the engine's signed connectors): a departed worker's resting order is cancelled; a live member's, a
tracked one and an order outside the cluster are left; a venue that fails is asked again (with
backoff) and the symbol stays refused until a sweep is clean."""

from __future__ import annotations

import asyncio
from decimal import ROUND_FLOOR, Decimal

from arb.cluster.orphans import Takeover, VenueAccess
from arb.config import default_config
from arb.demo import sim_credentials
from arb.engine.runtag import run_tag
from arb.model import Order, OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.sim.server import SimExchange
from arb.venues.base import PrivateExchangeInterface
from arb.venues.registry import VENUES, make_private, make_public

VENUES_USED = ["binance", "gateio"]
BTC = Symbol("BTC", "USDT")
NOW_NS = 1_790_000_000 * 10**9


async def _resting(sim_urls: dict[str, tuple[str, str]], venue: str, private: PrivateExchangeInterface,
                cid: str) -> Order:
    config = default_config(symbols=[str(BTC)], venues={v: {"rest_url": r, "ws_url": w}
                                                        for v, (r, w) in sim_urls.items()})
    public = make_public(venue, config.enabled_venues[venue])
    try:
        info = next(i for i in await public.symbols() if i.symbol == BTC)
        bid = Decimal(repr((await public.orderbook(BTC, 5)).bids[0].price))
        price = (bid * Decimal("0.7") / info.tick_size).to_integral_value(ROUND_FLOOR) * info.tick_size
        qty = info.min_qty
        while qty * price < info.min_notional * 2:
            qty += info.step_size * max(1, int(qty / info.step_size))
        return await private.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, cid, price=price,
                                         time_in_force=TimeInForce.GTC)
    finally:
        await public.close()


async def test_a_sweep_cancels_only_a_departed_workers_orders_and_retries_a_failing_venue() -> None:
    sim = SimExchange(VENUES_USED, seed=3)
    urls = await sim.start()
    config = default_config(symbols=[str(BTC)], venues={v: {"rest_url": r, "ws_url": w}
                                                        for v, (r, w) in urls.items()})
    creds = sim_credentials(VENUES_USED)
    privates = {v: make_private(v, config.enabled_venues[v], creds[v]) for v in VENUES_USED}
    rules = {v: VENUES[v].client_id for v in VENUES_USED}
    try:
        def cid(venue: str, worker: str, leg: str) -> str:
            return rules[venue].make(f"{run_tag(4, NOW_NS, worker)}000123{leg}")

        ids = {"dead": cid("gateio", "w9", "r1"), "live": cid("gateio", "w2", "r1"),
               "tracked": cid("gateio", "w1", "r1"), "foreign": "t-manual-1",
               "dead_binance": cid("binance", "w9", "r2")}
        for name, client_id in ids.items():
            venue = "binance" if name == "dead_binance" else "gateio"
            placed = await _resting(urls, venue, privates[venue], client_id)
            assert placed.status is OrderStatus.NEW, placed
        recorded: list[tuple[Symbol, list[Order], list[str]]] = []
        access = VenueAccess(privates=privates, rules=rules, listed=lambda v, s: s == BTC,
                             tracked=lambda c: c == ids["tracked"], activity=lambda: (0, 0),
                             record=lambda kind, venue, text: None, live=True)
        takeover = Takeover("w1", access, lambda: ["w1", "w2"], lambda *found: recorded.append(found))
        takeover.last_holders = {str(BTC): "w9"}  # w9 held it and is no longer a member
        plan = sim.faults["gateio"]
        plan.http_methods, plan.error_5xx = frozenset({"GET"}), 2  # its open orders fail twice
        takeover.acquired(BTC)
        assert BTC in takeover.pending  # refused until swept
        for _ in range(300):
            if not takeover.pending:
                break
            await asyncio.sleep(0.05)
        assert not takeover.pending and plan.error_5xx == 0 and takeover.swept >= 3
        [(symbol, cancelled, left)] = recorded
        assert symbol == BTC
        assert sorted(o.client_order_id for o in cancelled) == sorted([ids["dead"], ids["dead_binance"]])
        assert sorted(left) == sorted(f"gateio {ids[n]}" for n in ("live", "tracked", "foreign"))
        for name, client_id in ids.items():
            venue = "binance" if name == "dead_binance" else "gateio"
            status = (await privates[venue].get_order(BTC, client_order_id=client_id)).status
            assert (status is OrderStatus.CANCELED) == name.startswith("dead"), (name, status)
        # a clean handover (the last holder is a live member) is not swept
        takeover.last_holders = {str(BTC): "w2"}
        takeover.acquired(BTC)
        assert not takeover.pending
        await takeover.stop()
    finally:
        for private in privates.values():
            await private.close()
        await sim.close()
