"""The OKX ``books`` channel on the wire: the checksum is the fact sheet's, the seqId chain holds (snapshot
``prevSeqId`` -1, each update's ``prevSeqId`` the previous ``seqId``), gaps show and heal, heartbeats
keep the chain, and the public socket's control messages (ping, errors, idle close) are OKX's."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arb.model import Symbol
from arb.sim.okx_wire import checksum
from tests.sim.okx_rig import BTC, LocalBook, OkxRig, crc32_signed, receive_json, running

ETH = Symbol("ETH", "USDT")
UPDATES = 25
MAX_FRAMES = 2000  # a bound on every read loop: a missing frame fails the test instead of hanging it


def books(*insts: str, op: str = "subscribe") -> dict[str, Any]:
    return {"op": op, "args": [{"channel": "books", "instId": i} for i in insts]}


@pytest.mark.parametrize(("bids", "asks", "expected"), [
    ([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]], -1881014294),
    ([["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]], 831078360),
])
def test_the_checksum_is_the_fact_sheets_worked_examples(bids: list[list[str]], asks: list[list[str]],
                                                          expected: int) -> None:
    assert checksum(bids, asks) == crc32_signed(bids, asks) == expected


@pytest.mark.parametrize("sample", ["ws_books_btcusdt_snapshot_plus_5_updates_recorded.json",
                                    "ws_books_seqid_chain_SYNTH.json"])
def test_the_checksum_matches_every_recorded_push(samples_dir: Path, sample: str) -> None:
    book = LocalBook()
    frames = json.loads((samples_dir / "okx" / sample).read_text())
    for frame in frames:
        data = frame["data"][0]
        if "seqId" not in data:  # the 2022 recording predates the sequence fields
            data = {**data, "prevSeqId": -1 if frame["action"] == "snapshot" else book.seq, "seqId": 0}
        book.apply(frame["action"], data)
        assert checksum(book.top(True), book.top(False)) == book.checksum() == data["checksum"]
    assert len(frames) == 6


async def follow(ws: aiohttp.ClientWebSocketResponse, local: dict[str, LocalBook], updates: int) -> int:
    """Apply pushes until `updates` updates arrived; every push's checksum must match the local book."""
    seen = 0
    for _ in range(MAX_FRAMES):
        if seen >= updates:
            break
        frame = await receive_json(ws)
        if frame.get("arg", {}).get("channel") != "books" or "data" not in frame:
            continue
        book = local.setdefault(frame["arg"]["instId"], LocalBook())
        data = frame["data"][0]
        book.apply(frame["action"], data)
        assert data["checksum"] == book.checksum() != 0
        seen += frame["action"] == "update"
    return seen


async def test_updates_chain_on_seq_ids_and_the_local_book_ends_equal_to_the_sim() -> None:
    async with running(still=False, step_s=0.02) as rig, rig.session.ws_connect(rig.ws_public) as a, \
            rig.session.ws_connect(rig.ws_public) as b:
        await a.send_json(books("BTC-USDT", "ETH-USDT"))
        await b.send_json(books("BTC-USDT"))
        local: dict[str, LocalBook] = {}
        other: dict[str, LocalBook] = {}
        assert await follow(a, local, UPDATES) == UPDATES
        await rig.sim.close_driver()
        await follow(b, other, 1)
        truth = rig.sim.market.books[("okx", BTC)].update_id
        for _ in range(MAX_FRAMES):
            if local["BTC-USDT"].seq == truth:
                break
            await follow(a, local, 1)
        for _ in range(MAX_FRAMES):  # seqIds are the same on every socket
            if other["BTC-USDT"].seq == truth:
                break
            await follow(b, other, 1)
    _, bids, asks = rig.sim.market.snapshot("okx", BTC, 400)
    assert (local["BTC-USDT"].levels(True, 400), local["BTC-USDT"].levels(False, 400)) == (bids, asks)
    assert other["BTC-USDT"].bids == local["BTC-USDT"].bids and set(local) == {"BTC-USDT", "ETH-USDT"}


async def test_a_gap_breaks_the_chain_and_resubscribing_gives_a_fresh_snapshot() -> None:
    async with running(still=False, step_s=0.02) as rig, rig.session.ws_connect(rig.ws_public) as ws:
        await ws.send_json(books("BTC-USDT"))
        local: dict[str, LocalBook] = {}
        await follow(ws, local, 2)
        rig.sim.faults["okx"].gap_topic = rig.sim.depth_topic("okx", BTC)
        rig.sim.faults["okx"].gap = 1
        with pytest.raises(AssertionError, match="chain broken"):
            await follow(ws, local, 5)
        assert rig.sim.injectors["okx"].counts.gapped == 1
        await ws.send_json(books("BTC-USDT", op="unsubscribe"))
        await ws.send_json(books("BTC-USDT"))
        local.clear()
        actions: list[str] = []
        for _ in range(MAX_FRAMES):
            frame = await receive_json(ws)
            if frame.get("event") in ("subscribe", "unsubscribe"):
                actions.append(frame["event"])
            elif actions[:2] == ["unsubscribe", "subscribe"] and "data" in frame:
                local.setdefault("BTC-USDT", LocalBook()).apply(frame["action"], frame["data"][0])
                assert frame["data"][0]["checksum"] == local["BTC-USDT"].checksum()
                actions.append(frame["action"])
            if len(actions) == 4:
                break
        assert actions == ["unsubscribe", "subscribe", "snapshot", "update"]


async def test_an_unchanged_book_gets_empty_heartbeat_updates_on_the_chain() -> None:
    async with running(still=False, step_s=0.02) as rig, rig.session.ws_connect(rig.ws_public) as ws:
        rig.dialect.heartbeat_s = 0.3
        rig.sim.halt("okx", BTC)
        await ws.send_json(books("BTC-USDT"))
        await receive_json(ws)
        snapshot = await receive_json(ws)
        beat = await receive_json(ws)
        first = snapshot["data"][0]
        assert (snapshot["action"], beat["action"]) == ("snapshot", "update")
        assert beat["data"][0] | {"ts": ""} == {"asks": [], "bids": [], "ts": "", "prevSeqId": first["seqId"],
                                                "seqId": first["seqId"], "checksum": first["checksum"]}


async def test_control_messages_are_okx_s() -> None:
    async with running() as rig, rig.session.ws_connect(rig.ws_public) as ws:
        await ws.send_str("ping")
        assert (await ws.receive(timeout=10)).data == "pong"
        await ws.send_str("{nope")
        bad = await receive_json(ws)
        await ws.send_json({"id": "a1", "op": "subscribe",
                            "args": [{"channel": "books-l2-tbt", "instId": "BTC-USDT"}]})
        vip = await receive_json(ws)
        await ws.send_json({"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]})
        private = await receive_json(ws)
        await ws.send_json({"op": "subscribe", "args": [{"channel": "books5", "instId": "BTC-USDT"}]})
        ack = await receive_json(ws)
    assert (bad["event"], bad["code"], "id" in bad) == ("error", "60012", False)
    assert (vip["event"], vip["code"], vip["id"]) == ("error", "64003", "a1")
    assert (private["event"], private["code"]) == ("error", "60018")
    assert ack == {"event": "subscribe", "arg": {"channel": "books5", "instId": "BTC-USDT"},
                   "connId": ack["connId"]}


async def idle_close(rig: OkxRig, ping_every_s: float | None) -> tuple[int | None, int]:
    rig.dialect.idle_s = 0.4
    rig.sim.faults["okx"].stall = True  # subscribed, but no push flows
    pongs = 0
    async with rig.session.ws_connect(rig.ws_public) as ws:
        await ws.send_json(books("BTC-USDT"))
        await receive_json(ws)  # the ack (sent directly, not a push)
        for _ in range(6):
            if ping_every_s is not None:
                await ws.send_str("ping")
            msg = await ws.receive(timeout=10)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                break
            pongs += msg.data == "pong"
            if ping_every_s is not None:
                await asyncio.sleep(ping_every_s)
        return ws.close_code, pongs


async def test_a_silent_socket_is_closed_after_the_idle_time_and_pings_keep_it() -> None:
    async with running() as rig:
        assert await idle_close(rig, None) == (4004, 0)
        code, pongs = await idle_close(rig, 0.1)
        assert (code, pongs) == (None, 6)
        assert rig.sim.injectors["okx"].counts.stalled >= 1
