"""WsClient (through the venue streams) against the simulator's faults: kills, stalls, refusals, caps."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

import pytest

from arb.model import Symbol
from arb.net.ws import WsClient
from arb.sim.market import SimSymbolSpec
from arb.venues.mexc.stream import MexcDialect
from tests.sim.support import BTC, ETH, Harness, wait_until

MEXC_DEPTH = "spot@public.aggre.depth.v3.api.pb@100ms@{}"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=21)
    yield harness
    await harness.aclose()


@pytest.mark.parametrize(("venue", "symbols"), [
    ("binance", [BTC, ETH]), ("mexc", [BTC, ETH]), ("gateio", [BTC]), ("gateio", [BTC, ETH]),
])
async def test_server_kill_reconnects_resubscribes_and_data_resumes(
    h: Harness, venue: str, symbols: list[Symbol],
) -> None:
    sim = await h.sim([venue])
    rig = await h.rig(sim, venue, symbols, backoff_base_s=0.02, backoff_max_s=0.1)
    assert await sim.disconnect(venue) == 1
    await wait_until(lambda: [up for up, _ in rig.feed.states] == [True, False, True], timeout=5.0,
                     what="down, then up")
    await rig.synced()
    await rig.applied(BTC, 3)  # data flows again on the new socket
    assert rig.stream.ws.connections[0].connects == 2
    assert [sorted(t) for t in sim.dialects[venue].subscribers.sockets] == [  # type: ignore[attr-defined]
        sorted(sim.depth_topic(venue, s) for s in symbols)]
    await rig.converged()


async def test_a_stalled_stream_is_caught_by_the_data_idle_watchdog(h: Harness) -> None:
    sim = await h.sim(["mexc"])
    rig = await h.rig(sim, "mexc", [BTC], data_idle_s=0.3, backoff_base_s=0.02, backoff_max_s=0.1)
    sim.faults["mexc"].stall = True  # sockets stay open and answer PING; no data
    stats = rig.stream.ws.connections[0]
    await wait_until(lambda: stats.reasons.get("data idle", 0) >= 2, what="data-idle drops")
    assert "transport idle" not in stats.reasons and sim.injectors["mexc"].counts.disconnects == 0
    assert (False, [BTC]) in rig.feed.states  # the book was taken down with the socket
    sim.faults["mexc"].stall = False
    await rig.applied(BTC, 3)
    await rig.converged()


async def test_refused_upgrades_back_off_then_connect(h: Harness) -> None:
    sim = await h.sim(["mexc"], faults={})
    sim.faults["mexc"].refuse_upgrades = 3
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0.001)

    frames: list[bytes | str] = []
    client = WsClient("mexc-test", sim.urls["mexc"][1], dialect=MexcDialect(),
                      on_frame=lambda f, _: frames.append(f), backoff_base_s=0.01, backoff_max_s=1.0,
                      heartbeat_s=None, sleep=sleep, rng=random.Random(7))
    await client.subscribe([MEXC_DEPTH.format("BTCUSDT")])
    await wait_until(lambda: len(frames) >= 3, what="data after the refusals")
    stats = client.connections[0]
    assert sim.faults["mexc"].refuse_upgrades == 0 and sim.injectors["mexc"].counts.refused_upgrades == 3
    assert stats.connects == 1 and stats.reasons == {"WSServerHandshakeError": 3}
    jitter = random.Random(7)  # jittered, doubling, from the same seed
    assert waits == [0.01 * 2 ** i * (0.5 + jitter.random()) for i in range(3)]
    assert sim.traffic["mexc"].upgrades == 4
    await client.close()


async def test_rotation_is_seamless_against_the_simulator(h: Harness) -> None:
    sim = await h.sim(["gateio"])
    rig = await h.rig(sim, "gateio", [BTC], lifetime_s=0.3)
    await wait_until(lambda: rig.stream.ws.rotations >= 2, what="two rotations")
    await rig.applied(BTC, 3)
    sync = rig.store.sync("gateio", BTC)
    assert sync.gaps == 0 and sync.resyncs == 1  # overlapping frames were duplicates, never holes
    assert [up for up, _ in rig.feed.states] == [True]
    await rig.converged()


def many_symbols(n: int) -> list[SimSymbolSpec]:
    return [SimSymbolSpec(Symbol(f"C{i}X", "USDT"), Decimal("10"), Decimal("0.001"), Decimal("0.01"))
            for i in range(n)]


async def test_mexc_cap_of_30_subscriptions_opens_a_second_connection(h: Harness) -> None:
    universe = many_symbols(35)
    sim = await h.sim(["mexc"], universe=universe, step_s=0.1)
    symbols = [spec.symbol for spec in universe]
    rig = await h.rig(sim, "mexc", symbols)
    assert len(rig.stream.ws.connections) == 2
    sizes = sorted(len(t) for t in sim.dialects["mexc"].subscribers.sockets)  # type: ignore[attr-defined]
    assert sizes == [5, 30]
    await rig.applied(symbols[-1], 2)


async def test_the_simulator_refuses_a_31st_subscription_on_one_socket(h: Harness) -> None:
    universe = many_symbols(31)
    sim = await h.sim(["mexc"], universe=universe, step_s=0.1)
    channels: Sequence[str] = [MEXC_DEPTH.format(f"{s.symbol.base}USDT") for s in universe]
    client = WsClient("mexc-test", sim.urls["mexc"][1], dialect=MexcDialect(), on_frame=lambda f, _: None,
                      max_subscriptions=31, heartbeat_s=None, backoff_base_s=0.05)
    await client.subscribe(channels)
    await wait_until(lambda: client.connections[0].disconnects >= 1, what="the refused subscription")
    assert "refused" in client.connections[0].last_reason
    await client.close()


async def test_periodic_server_kills_are_survived(h: Harness) -> None:
    sim = await h.sim(["binance"])
    rig = await h.rig(sim, "binance", [BTC], backoff_base_s=0.02, backoff_max_s=0.1)
    sim.faults["binance"].disconnect_every_s = 0.2
    stats = rig.stream.ws.connections[0]
    await wait_until(lambda: stats.connects >= 3, what="three connections")
    sim.faults["binance"].disconnect_every_s = 0.0
    await rig.synced()
    await rig.applied(BTC, 3)
    assert sim.injectors["binance"].counts.disconnects >= 2 and stats.reasons.get("closed", 0) >= 2
    await rig.converged()
