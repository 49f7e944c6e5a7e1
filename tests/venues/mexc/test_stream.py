"""MEXC snapshot (REST) + protobuf depth stream (WS) on loopback -> a SYNCED book; our own frames."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from arb.config import ConnectionConfig
from arb.engine.books import BookStore
from arb.model import Symbol
from arb.net.rest import RestClient
from arb.venues.mexc import codec
from arb.venues.mexc import constants as c
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper
from arb.venues.mexc.public import MexcPublic
from arb.venues.mexc.stream import MexcDialect, MexcStream
from tests.helpers import BookHandlers, serve

BTC = Symbol("BTC", "USDT")
CHANNEL = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
SNAPSHOT = {"lastUpdateId": "1000", "bids": [["100.0", "1"], ["99.5", "2"]], "asks": [["100.5", "1"]],
            "timestamp": "1764000000000"}
# (fromVersion, toVersion, bids, asks): the first straddles the snapshot, the rest are contiguous
DIFFS = [
    (995, 999, [("99.0", "3")], []),  # older than the snapshot: dropped
    (1000, 1002, [("100.0", "1.5")], [("101.0", "4")]),
    (1003, 1003, [("99.5", "0")], []),
    (1004, 1006, [], [("100.5", "0.25")]),
]


def frame(first: int, last: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> bytes:
    wrapper = PushDataV3ApiWrapper(channel=CHANNEL, symbol="BTCUSDT", sendTime=1764000000000 + last)
    body = wrapper.publicAggreDepths
    body.fromVersion, body.toVersion = str(first), str(last)
    for p, q in bids:
        body.bids.add(price=p, quantity=q)
    for p, q in asks:
        body.asks.add(price=p, quantity=q)
    return wrapper.SerializeToString()


@pytest.fixture
async def exchange() -> AsyncIterator[tuple[str, list[Any]]]:
    requests: list[Any] = []

    async def depth(request: web.Request) -> web.Response:
        await asyncio.sleep(0.03)
        return web.json_response(SNAPSHOT)

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = json.loads(msg.data)
            requests.append(req)
            if req["method"] == "PING":
                await ws.send_str('{"id": 0, "code": 0, "msg": "PONG"}')
                continue
            await ws.send_str(json.dumps({"id": req["id"], "code": 0, "msg": ",".join(req["params"])}))
            await ws.send_bytes(b"\x0a\x05broken")  # a malformed push: counted, skipped
            for diff in DIFFS:
                await ws.send_bytes(frame(*diff))
                await asyncio.sleep(0.01)
        return ws

    app = web.Application()
    app.router.add_get(c.DEPTH, depth)
    app.router.add_get("/ws", ws_handler)
    address, runner = await serve(app)
    yield address, requests
    await runner.cleanup()


async def test_snapshot_plus_protobuf_stream_gives_a_synced_book(exchange: tuple[str, list[Any]]) -> None:
    address, requests = exchange
    rest = RestClient(c.VENUE, f"http://{address}", connection=ConnectionConfig(),
                      decode_error=codec.decode_error, error_class=codec.error_class)
    public = MexcPublic(rest)

    async def fetch(venue: str, symbol: Symbol, limit: int) -> Any:
        return await public.orderbook(symbol, limit)

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0)
    handlers = BookHandlers(store)
    stream = MexcStream(handlers, ws_url=f"ws://{address}/ws", heartbeat_s=None)  # type: ignore[arg-type]
    store.add(c.VENUE, BTC, start=False)
    await stream.subscribe_depth([BTC])
    store.invalidate(c.VENUE, BTC, "start")
    for _ in range(300):
        if store.is_synced(c.VENUE, BTC) and store.book(c.VENUE, BTC).update_id == 1006:
            break
        await asyncio.sleep(0.01)
    book = store.book(c.VENUE, BTC)
    assert store.is_synced(c.VENUE, BTC) and book.update_id == 1006
    assert book.top(True, 5) == [(100.0, 1.5)]
    assert book.top(False, 5) == [(100.5, 0.25), (101.0, 4.0)]
    assert requests[0] == {"method": "SUBSCRIPTION", "params": [CHANNEL], "id": requests[0]["id"]}
    assert stream.decode_errors == 1 and handlers.errors[0].venue == "mexc"
    await stream.close()
    await public.close()
    await store.close()


def test_dialect() -> None:
    d = MexcDialect()
    assert d.ack('{"id": 4, "code": 0, "msg": "spot@public..."}') == 4
    assert d.ack('{"id": 0, "code": 0, "msg": "PONG"}') is None
    assert d.ack("Invalid listen key") is None
    with pytest.raises(ValueError, match="Not Subscribed"):
        d.ack('{"id": 5, "code": 1, "msg": "Not Subscribed successfully!"}')
    assert d.is_control("{}") and not d.is_control(b"\x0a")
