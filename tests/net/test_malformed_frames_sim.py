"""Malformed frames on a live multi-symbol socket (the simulator's `corrupt` fault).

One depth frame of BTC/USDT is spoilt on a socket that also carries ETH/USDT: the socket stays up
(no reconnect), the decode error is counted, BTC's book alone is invalidated and resyncs, and ETH's
book stays SYNCED throughout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from arb.engine.books import SyncState
from arb.sim.faults import Corruption
from tests.sim.support import BTC, ETH, Harness, wait_until

TOPICS = {"binance": "btcusdt@depth@100ms", "gateio": "BTC_USDT",
          "mexc": "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"}
BOOK_REFUSES = {Corruption.NAN_PRICE, Corruption.NEGATIVE_SIZE}  # decodes; the book refuses the numbers
CASES = [(venue, how) for venue in ("binance", "gateio", "mexc") for how in Corruption
         if not (venue == "mexc" and how in (Corruption.DEEP_JSON, Corruption.WRONG_TYPE))]


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=97)
    yield harness
    await harness.aclose()


@pytest.mark.parametrize(("venue", "how"), CASES, ids=[f"{v}-{c.name.lower()}" for v, c in CASES])
async def test_a_malformed_frame_costs_one_book_not_the_socket(h: Harness, venue: str,
                                                              how: Corruption) -> None:
    sim = await h.sim([venue])
    rig = await h.rig(sim, venue, [BTC, ETH])
    store, stream = rig.store, rig.stream
    btc, eth = store.sync(venue, BTC), store.sync(venue, ETH)
    assert len(stream.ws.connections) == 1  # both symbols share one socket
    eth_states: list[SyncState] = []
    on_update = store._on_update

    def watch(v: str, symbol: object, book: object, ts: int) -> None:
        eth_states.append(store.state(venue, ETH))
        on_update(v, symbol, book, ts)  # type: ignore[arg-type]

    store._on_update = watch  # type: ignore[method-assign]
    invalidations, eth_invalidations, eth_applied = btc.invalidations, eth.invalidations, eth.applied
    plan = sim.faults[venue]
    plan.corruption, plan.corrupt_topic, plan.corrupt = how, TOPICS[venue], 1
    await wait_until(lambda: sim.injectors[venue].counts.corrupted == 1, what="the frame spoilt")
    await wait_until(lambda: btc.invalidations > invalidations, what="BTC invalidated")
    await rig.synced()  # BTC resynced
    await wait_until(lambda: eth.applied > eth_applied + 3, what="ETH kept applying diffs")
    stats = stream.ws.connections[0]
    assert stats.connects == 1 and stats.reconnects == 0 and stats.disconnects == 0  # the socket stayed up
    assert eth.invalidations == eth_invalidations and eth.decode_errors == 0
    assert eth.state is SyncState.SYNCED and set(eth_states) == {SyncState.SYNCED}
    assert btc.decode_errors + stream.decode_errors >= 1
    if how in BOOK_REFUSES:
        assert btc.decode_errors == 1 and store.malformed_updates == 1  # counted where it was refused
        assert "malformed update" in btc.last_reason
    else:
        assert stream.decode_errors == 1  # the codec refused it, counted by the stream
    assert btc.resyncs >= 2 and btc.state is SyncState.SYNCED
