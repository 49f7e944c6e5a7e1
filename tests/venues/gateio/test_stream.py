"""Gate snapshot (REST, with_id) + spot.order_book_update stream on loopback -> a SYNCED book."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from arb.config import ConnectionConfig
from arb.engine.books import BookStore
from arb.model import Symbol
from arb.net.rest import RestClient
from arb.venues.gateio import codec
from arb.venues.gateio import constants as c
from arb.venues.gateio.public import GatePublic
from arb.venues.gateio.stream import GateDialect, GateStream
from tests.helpers import BookHandlers, serve

OMG = Symbol("OMG", "USDT")


@pytest.fixture
async def exchange(samples_dir: Path) -> AsyncIterator[tuple[str, list[Any]]]:
    frames = json.loads((samples_dir / "gateio/ws_order_book_update_sequence_OMG_USDT.json").read_text())
    requests: list[Any] = []

    async def book(request: web.Request) -> web.Response:
        assert request.query["with_id"] == "true" and int(request.query["limit"]) <= 100
        await asyncio.sleep(0.03)
        return web.Response(body=(samples_dir / "gateio/order_book_snapshot_OMG_USDT.json").read_bytes(),
                            content_type="application/json")

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = json.loads(msg.data)
            requests.append(req)
            if req["channel"] == "spot.ping":
                pong = {"time": 1, "channel": "spot.pong", "event": "", "result": None}
                await ws.send_str(json.dumps(pong))
                continue
            await ws.send_str(json.dumps({"time": 1, "id": req["id"], "channel": req["channel"],
                                          "event": "subscribe", "error": None,
                                          "result": {"status": "success"}}))
            for frame in frames:
                await ws.send_str(json.dumps(frame))
                await asyncio.sleep(0.001)
        return ws

    app = web.Application()
    app.router.add_get(c.ORDER_BOOK, book)
    app.router.add_get("/ws/v4/", stream)
    address, runner = await serve(app)
    yield address, requests
    await runner.cleanup()


async def test_snapshot_plus_stream_gives_a_synced_book(exchange: tuple[str, list[Any]]) -> None:
    address, requests = exchange
    rest = RestClient(c.VENUE, f"http://{address}", connection=ConnectionConfig(),
                      decode_error=codec.decode_error, error_class=codec.error_class)
    public = GatePublic(rest)

    async def fetch(venue: str, symbol: Symbol, limit: int) -> Any:
        return await public.orderbook(symbol, limit)

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0)
    stream = GateStream(BookHandlers(store), ws_url=f"ws://{address}/ws/v4/", heartbeat_s=None)  # type: ignore[arg-type]
    store.add(c.VENUE, OMG, start=False)
    await stream.subscribe_depth([OMG])
    store.invalidate(c.VENUE, OMG, "start")
    for _ in range(300):
        if store.is_synced(c.VENUE, OMG) and store.book(c.VENUE, OMG).update_id == 59231950:
            break
        await asyncio.sleep(0.01)
    book = store.book(c.VENUE, OMG)
    assert store.is_synced(c.VENUE, OMG) and book.update_id == 59231950
    assert book.best_bid() == (7.899, 288.0) and book.best_ask() == (7.927, 316.6)
    assert requests[0]["payload"] == ["OMG_USDT", "100ms"] and requests[0]["event"] == "subscribe"
    assert stream.decode_errors == 0
    await stream.close()
    await public.close()
    await store.close()


def test_dialect_acks_pongs_and_errors() -> None:
    d = GateDialect(clock_s=lambda: 1700000000.0)
    req = json.loads(d.subscribe(["BTC_USDT"], 7))
    assert req == {"time": 1700000000, "id": 7, "channel": "spot.order_book_update", "event": "subscribe",
                   "payload": ["BTC_USDT", "100ms"]}
    ack = '{"time": 1, "id": 7, "channel": "spot.order_book_update", "event": "subscribe", "error": null}'
    assert d.is_control(ack) and d.ack(ack) == 7
    bad = ('{"time": 1, "id": 8, "channel": "spot.obu", "event": "subscribe", '
           '"error": {"code": 2, "message": "Alert sub ob.BTC_USDT.50"}}')
    with pytest.raises(ValueError, match="Alert sub"):
        d.ack(bad)
    assert d.is_control('{"time": 1, "channel": "spot.pong", "event": "", "result": null}')
    update = '{"time": 1, "channel": "spot.order_book_update", "event": "update", "result": {}}'
    assert not d.is_control(update)
    assert json.loads(d.ping())["channel"] == "spot.ping"
