"""Stream and book faults of the simulator, seen through our public entry points (streams + BookStore).

Every scenario ends with the books equal to the simulator's truth: the fault must be noticed
(gap, duplicate, stale snapshot...) and healed by the book layer, never silently absorbed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import InvalidOrderError, TradingDisabledError
from arb.model import OrderType, Side, TimeInForce
from arb.sim.faults import FaultInjector, FaultPlan, parse_fault
from arb.venues.binance.private import BinancePrivate
from arb.venues.mexc.private import MexcPrivate
from arb.venues.registry import make_rest
from tests.sim.support import BTC, ETH, Harness, wait_until


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=11)
    yield harness
    await harness.aclose()


async def test_dropped_frames_make_gaps_and_the_books_resync_to_the_truth(h: Harness) -> None:
    sim = await h.sim(["binance"], faults={"binance": FaultPlan(seed=3)})
    rig = await h.rig(sim, "binance", [BTC, ETH])
    sim.faults["binance"].drop = 0.3
    sync = rig.store.sync("binance", BTC)
    await wait_until(lambda: sync.gaps >= 2, what="gaps from dropped frames")
    assert sim.injectors["binance"].counts.dropped > 0
    sim.faults["binance"].drop = 0.0
    await rig.applied(BTC, 5)
    await rig.converged()
    assert sync.resyncs >= 2 and sync.snapshot_fetches >= 2


@pytest.mark.parametrize("venue", ["binance", "gateio", "mexc"])
async def test_a_skipped_diff_invalidates_only_that_book(h: Harness, venue: str) -> None:
    sim = await h.sim([venue])
    rig = await h.rig(sim, venue, [BTC, ETH])
    btc, eth = rig.store.sync(venue, BTC), rig.store.sync(venue, ETH)
    sim.faults[venue].gap_topic = sim.depth_topic(venue, BTC)
    sim.faults[venue].gap = 1
    await wait_until(lambda: btc.gaps == 1, what="the gap seen")
    assert sim.faults[venue].gap == 0 and sim.injectors[venue].counts.gapped == 1
    await rig.applied(BTC, 3)
    assert eth.gaps == 0 and btc.resyncs == 2 and "gap" in btc.last_reason
    await rig.converged()


async def test_duplicates_are_ignored_without_a_resync(h: Harness) -> None:
    sim = await h.sim(["gateio"], faults={"gateio": FaultPlan(seed=5, duplicate=0.5)})
    rig = await h.rig(sim, "gateio", [BTC])
    sync = rig.store.sync("gateio", BTC)
    await wait_until(lambda: sync.duplicates >= 5, what="duplicates seen")
    assert sync.gaps == 0 and sync.resyncs == 1 and sim.injectors["gateio"].counts.duplicated >= 5
    await rig.converged()


async def test_reordered_frames_are_a_gap_then_a_stale_duplicate(h: Harness) -> None:
    sim = await h.sim(["mexc"], faults={"mexc": FaultPlan(seed=2)})
    rig = await h.rig(sim, "mexc", [BTC])
    sim.faults["mexc"].reorder = 0.2
    sync = rig.store.sync("mexc", BTC)
    await wait_until(lambda: sync.gaps >= 1 and sim.injectors["mexc"].counts.reordered >= 2, what="reorders")
    sim.faults["mexc"].reorder = 0.0
    await rig.applied(BTC, 5)
    await rig.converged()


async def test_delayed_frames_arrive_no_earlier_than_the_delay(h: Harness) -> None:
    sim = await h.sim(["binance"], faults={"binance": FaultPlan(delay_ms=120)})
    rig = await h.rig(sim, "binance", [BTC])
    await rig.applied(BTC, 5)
    latencies_ms = [(u.ts_recv - u.ts_event) / 1e6 for u in rig.feed.updates]
    assert min(latencies_ms) >= 119  # the venue stamps E in ms: allow its rounding
    assert sim.injectors["binance"].counts.delayed >= len(latencies_ms)
    await rig.converged()  # late is not lost: nothing to resync
    assert rig.store.sync("binance", BTC).gaps == 0


async def test_a_lagging_snapshot_makes_the_bridge_fetch_again(h: Harness) -> None:
    sim = await h.sim(["binance"], faults={"binance": FaultPlan(snapshot_lag=8)})
    await wait_until(lambda: sim.market.books[("binance", BTC)].update_id > 0 and
                     len(sim.market._past.get(("binance", BTC), ())) > 8, what="history to lag behind")
    rig = await h.rig(sim, "binance", [BTC])
    sync = rig.store.sync("binance", BTC)
    # the snapshot is older than the stream: refused at the bridge ("too old") when diffs were already
    # buffered, else caught by the first diff after it (a bridge gap); either way it is fetched again
    await wait_until(lambda: sync.snapshot_fetches >= 2 and rig.all_synced(), what="a second snapshot")
    await rig.applied(BTC, 3)
    sim.faults["binance"].snapshot_lag = 0  # so the sim's own snapshot is the truth again
    await rig.converged()


async def test_a_halted_symbol_stops_its_book_and_refuses_orders(h: Harness) -> None:
    sim = await h.sim(["binance", "mexc"])
    rig = await h.rig(sim, "binance", [BTC, ETH])
    sim.halt("binance", BTC)
    sim.halt("mexc", BTC)
    frozen = sim.market.books[("binance", BTC)].update_id
    await rig.applied(ETH, 10)  # the rest of the market moves on
    assert sim.market.books[("binance", BTC)].update_id == frozen
    assert rig.store.book("binance", BTC).update_id == frozen
    infos = {i.symbol: i for i in await rig.public.symbols()}
    assert not infos[BTC].tradable and infos[ETH].tradable
    for venue, private, error in (("binance", BinancePrivate, InvalidOrderError),
                                  ("mexc", MexcPrivate, TradingDisabledError)):
        creds = Credentials(venue, Secret("sim-key"), Secret("sim-secret"))
        client = private(make_rest(venue, VenueConfig(rest_url=sim.urls[venue][0]), creds))
        with pytest.raises(error):
            await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), f"halt-{venue}",
                                     Decimal("60000"), TimeInForce.IOC)
        await client.close()
    sim.halt("binance", BTC, halted=False)
    await rig.applied(BTC, 3)


async def test_frame_faults_are_seeded() -> None:
    def run(seed: int) -> list[int]:
        injector = FaultInjector("binance", FaultPlan(seed=seed, drop=0.3, duplicate=0.3, reorder=0.3))
        return [len(injector.frames("t", str(i))) for i in range(200)]

    assert run(4) == run(4) and run(4) != run(5)
    injector = FaultInjector("binance", FaultPlan(seed=1, reorder=1.0))
    assert injector.frames("t", "a") == () and injector.frames("t", "b") == ("b", "a")


async def test_listen_key_expiry_runs_hooks_and_refuses_the_key(h: Harness) -> None:
    import aiohttp

    sim = await h.sim(["mexc"])
    expired: list[str] = []
    sim.injectors["mexc"].on_listen_key_expired(expired.append)
    sim.expire_listen_key("mexc", "lk-1")
    assert expired == ["lk-1"]
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await session.ws_connect(sim.urls["mexc"][1] + "?listenKey=lk-1")
        assert info.value.status == 400
        ws = await session.ws_connect(sim.urls["mexc"][1] + "?listenKey=lk-2")
        await ws.close()
    assert sim.injectors["mexc"].counts.expired_key_refusals == 1


def test_parse_fault_reads_kinds_and_values() -> None:
    assert parse_fault("binance:stall") == ("binance", "stall", True)
    assert parse_fault("mexc:drop=0.25") == ("mexc", "drop", 0.25)
    assert parse_fault("gateio:clock_skew_ms=-3000") == ("gateio", "clock_skew_ms", -3000)
    assert parse_fault("binance:halt=BTC/USDT") == ("binance", "halt", "BTC/USDT")
    assert parse_fault("binance:http_methods=post,DELETE") == ("binance", "http_methods",
                                                               frozenset({"POST", "DELETE"}))
    for bad in ("binance", "binance:nope", "mexc:gap", "mexc:drop=lots", "binance:halt",
                "binance:http_methods=", "binance:http_methods=P0ST"):
        with pytest.raises(ValueError):
            parse_fault(bad)
