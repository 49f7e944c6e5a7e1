"""The Bybit dialect's depth topics chain as the venue's do (fact sheet §2.8-2.9).

``orderbook.50.{symbol}``: a snapshot first, then deltas whose ``u`` is the previous + 1 and whose
``seq`` only grows; a client that applies them (absolute sizes, "0" deletes) holds exactly the
simulator's top 50. A mid-stream snapshot resets the book (``u`` + 1), a service restart sends one with
``u = 1``, and a dropped delta shows as a jump in ``u``.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import aiohttp

from arb.model import Side
from arb.sim.faults import FaultPlan
from tests.sim.bybit_support import BTC, VENUE, Bybit, running, text_frame

TOPIC = "orderbook.50.BTCUSDT"
STEPS = 25
Levels = list[tuple[Decimal, Decimal]]


class LocalBook:
    """A client's book as the fact sheet's procedure A builds it (§2.9)."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.u = 0
        self.seq = 0

    def apply(self, frame: dict[str, Any]) -> None:
        data = frame["data"]
        if frame["type"] == "snapshot":
            self.bids, self.asks = {}, {}
        else:
            assert data["u"] == self.u + 1, f"u {data['u']} after {self.u}"
            assert data["seq"] > self.seq
        for side, levels in ((self.bids, data["b"]), (self.asks, data["a"])):
            for price, size in levels:
                if Decimal(size) == 0:
                    del side[Decimal(price)]  # a delete names a level the book has
                else:
                    side[Decimal(price)] = Decimal(size)
        self.u, self.seq = data["u"], data["seq"]

    def top(self, depth: int) -> tuple[Levels, Levels]:
        return (sorted(self.bids.items(), reverse=True)[:depth], sorted(self.asks.items())[:depth])


def sim_top(bybit: Bybit, depth: int = 50) -> tuple[Levels, Levels]:
    _, bids, asks = bybit.sim.market.snapshot(VENUE, BTC, depth)
    return bids, asks


async def drain(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every frame already on its way (a short wait for each: the sender task runs between steps)."""
    out: list[dict[str, Any]] = []
    while True:
        try:
            msg = await ws.receive(timeout=0.2)
        except TimeoutError:
            return out
        out.append(json.loads(msg.data))


async def subscribe(ws: aiohttp.ClientWebSocketResponse, *topics: str) -> dict[str, Any]:
    await ws.send_json({"req_id": "s", "op": "subscribe", "args": list(topics)})
    ack = await text_frame(ws)
    assert ack["success"] is True, ack
    frame: dict[str, Any] = await text_frame(ws)
    return frame


def step(bybit: Bybit, times: int = STEPS) -> None:
    for _ in range(times):
        bybit.sim.market.step(time.time_ns())


async def test_deltas_chain_on_u_and_rebuild_the_simulators_top_50() -> None:
    async with running(seed=21) as bybit, bybit.session.ws_connect(bybit.ws) as ws:
        book = LocalBook()
        snapshot = await subscribe(ws, TOPIC)
        assert (snapshot["topic"], snapshot["type"]) == (TOPIC, "snapshot")
        assert len(snapshot["data"]["b"]) == len(snapshot["data"]["a"]) == 50
        book.apply(snapshot)
        assert book.top(50) == sim_top(bybit)
        step(bybit)
        await bybit.order(price=format(bybit.touch(Side.BUY), "f"), qty="0.01", timeInForce="IOC")
        step(bybit)
        frames = await drain(ws)
        assert len(frames) > STEPS and {f["type"] for f in frames} == {"delta"}
        for frame in frames:
            assert frame["ts"] >= frame["cts"] and frame["data"]["s"] == "BTCUSDT"
            book.apply(frame)
            assert len(book.bids) <= 50 and len(book.asks) <= 50  # levels leaving the window are deleted
        assert [f["data"]["u"] for f in frames] == list(range(snapshot["data"]["u"] + 1, book.u + 1))
        assert book.top(50) == sim_top(bybit)
        rest = await bybit.get("/v5/market/orderbook",
                               {"category": "spot", "symbol": "BTCUSDT", "limit": "50"})
        assert rest["result"]["seq"] == book.seq  # the same engine sequence
        assert rest["result"]["u"] == bybit.dialect.books.views[(BTC, 200)].u  # the 200-level topic's u


async def test_a_late_subscriber_gets_the_current_u_and_shares_the_next_delta() -> None:
    async with running(seed=22) as bybit, bybit.session.ws_connect(bybit.ws) as first, \
            bybit.session.ws_connect(bybit.ws) as second:
        await subscribe(first, TOPIC)
        step(bybit, 5)
        seen = await drain(first)
        late = await subscribe(second, TOPIC)
        assert late["type"] == "snapshot" and late["data"]["u"] == seen[-1]["data"]["u"]
        step(bybit, 1)
        (a,), (b,) = await drain(first), await drain(second)
        assert a == b and a["data"]["u"] == late["data"]["u"] + 1


async def test_a_mid_stream_snapshot_and_a_restart_reset_the_book() -> None:
    async with running(seed=23) as bybit, bybit.session.ws_connect(bybit.ws) as ws:
        book = LocalBook()
        book.apply(await subscribe(ws, TOPIC))
        step(bybit, 3)
        for frame in await drain(ws):
            book.apply(frame)
        assert bybit.dialect.reset_books([BTC]) == 1
        (again,) = await drain(ws)
        assert (again["type"], again["data"]["u"]) == ("snapshot", book.u + 1)
        book.apply(again)
        assert book.top(50) == sim_top(bybit)
        bybit.dialect.reset_books(restart=True)
        (restart,) = await drain(ws)
        assert (restart["type"], restart["data"]["u"]) == ("snapshot", 1)
        book.apply(restart)
        step(bybit, 1)
        (delta,) = await drain(ws)
        assert (delta["type"], delta["data"]["u"]) == ("delta", 2)
        book.apply(delta)
        assert book.top(50) == sim_top(bybit)


async def test_a_gap_on_the_depth_topic_shows_as_a_jump_in_u_and_a_resubscribe_heals_it() -> None:
    async with running(seed=24, faults={VENUE: FaultPlan(gap=1, gap_topic=TOPIC)}) as bybit, \
            bybit.session.ws_connect(bybit.ws) as ws:
        first = await subscribe(ws, TOPIC)
        step(bybit, 3)
        frames = await drain(ws)
        us = [first["data"]["u"]] + [f["data"]["u"] for f in frames]
        assert us[1] == us[0] + 2 and us[2:] == list(range(us[1] + 1, us[1] + len(us) - 1))
        assert bybit.sim.injectors[VENUE].counts.gapped == 1
        await ws.send_json({"op": "unsubscribe", "args": [TOPIC]})
        assert (await text_frame(ws))["success"] is True
        book = LocalBook()
        book.apply(await subscribe(ws, TOPIC))
        assert book.u == us[-1] and book.top(50) == sim_top(bybit)


async def test_depth_1_is_snapshot_only_and_has_its_own_u() -> None:
    async with running(seed=25) as bybit, bybit.session.ws_connect(bybit.ws) as ws:
        top = await subscribe(ws, "orderbook.1.BTCUSDT")
        assert (len(top["data"]["b"]), len(top["data"]["a"])) == (1, 1)
        step(bybit, 10)
        frames = await drain(ws)
        assert frames and {f["type"] for f in frames} == {"snapshot"}
        first_u = top["data"]["u"] + 1
        assert [f["data"]["u"] for f in frames] == list(range(first_u, first_u + len(frames)))
        bids, asks = sim_top(bybit, 1)
        last = frames[-1]["data"]
        assert [[Decimal(p), Decimal(q)] for p, q in last["b"] + last["a"]] == [list(bids[0]), list(asks[0])]


async def test_subscription_errors_are_the_venues_and_refuse_the_whole_request() -> None:
    async with running() as bybit, bybit.session.ws_connect(bybit.ws) as ws:
        replies = []
        for args in (["orderbook.7.BTCUSDT"], ["orderbook.50.NOPEUSDT", TOPIC],
                     [f"publicTrade.{s}USDT" for s in ("BTC", "ETH", "SOL", "XRP", "DOGE")] * 3):
            await ws.send_json({"req_id": "bad", "op": "subscribe", "args": args})
            replies.append(await text_frame(ws))
        await subscribe(ws, TOPIC)
        await ws.send_json({"op": "subscribe", "args": [TOPIC]})
        replies.append(await text_frame(ws))
        await ws.send_str("{not json")
        replies.append(await text_frame(ws))
        assert [r["success"] for r in replies] == [False] * 5
        assert [r["ret_msg"] for r in replies] == [
            "error:handler not found,topic:orderbook.7.BTCUSDT",
            "error:handler not found,topic:orderbook.50.NOPEUSDT", "args size must be 1-10",
            f"error:already subscribed,topic:{TOPIC}", "Params Error"]
        assert bybit.dialect.malformed == 1
        await ws.send_json({"req_id": "p", "op": "ping"})
        assert (await text_frame(ws))["ret_msg"] == "pong"  # the socket is still served
