"""Binance snapshot (REST) + combined depth stream (WS) on loopback -> a SYNCED BookStore book."""

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
from arb.venues.binance import codec
from arb.venues.binance import constants as c
from arb.venues.binance.public import BinancePublic
from arb.venues.binance.stream import BinanceDialect, BinanceStream
from tests.helpers import BookHandlers, serve

NKN = Symbol("NKN", "USDT")


@pytest.fixture
async def exchange(samples_dir: Path) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A fake Binance: REST depth snapshot + combined stream replaying the recorded diffs."""
    frames = json.loads((samples_dir / "binance/ws_depth_update_sequence_NKNUSDT.json").read_text())
    control: dict[str, Any] = {"extra": [], "subscribed": []}

    async def depth(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)  # the snapshot arrives after the first diffs: they are buffered
        return web.Response(body=(samples_dir / "binance/depth_snapshot_NKNUSDT.json").read_bytes(),
                            content_type="application/json")

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        msg = await ws.receive()
        assert msg.type is WSMsgType.TEXT
        req = json.loads(msg.data)
        control["subscribed"].append(req["params"])
        await ws.send_str(json.dumps({"result": None, "id": req["id"]}))
        for i, frame in enumerate(frames):
            if i == 3:
                for extra in control["extra"]:
                    await ws.send_str(extra)
            await ws.send_str(json.dumps(frame))
            await asyncio.sleep(0.001)
        async for _ in ws:  # hold the connection open until the client leaves
            pass
        return ws

    app = web.Application()
    app.router.add_get(c.DEPTH, depth)
    app.router.add_get("/stream", stream)
    address, runner = await serve(app)
    yield address, control
    await runner.cleanup()


async def _run(address: str) -> tuple[BookStore, BinanceStream, BookHandlers, BinancePublic]:
    rest = RestClient(c.VENUE, f"http://{address}", connection=ConnectionConfig(),
                      decode_error=codec.decode_error, error_class=codec.error_class)
    public = BinancePublic(rest)

    async def fetch(venue: str, symbol: Symbol, limit: int) -> Any:
        return await public.orderbook(symbol, limit)

    store = BookStore(fetch, lambda *a: None, clock_ns=lambda: 0)
    handlers = BookHandlers(store)
    stream = BinanceStream(handlers, ws_url=f"ws://{address}", heartbeat_s=None)  # type: ignore[arg-type]
    store.add(c.VENUE, NKN, start=False)
    await stream.subscribe_depth([NKN])
    store.invalidate(c.VENUE, NKN, "start")  # fetch the snapshot now that diffs are buffering
    return store, stream, handlers, public


async def test_snapshot_plus_stream_gives_a_synced_book(exchange: tuple[str, dict[str, Any]]) -> None:
    address, control = exchange
    store, stream, handlers, public = await _run(address)
    for _ in range(300):
        if store.is_synced(c.VENUE, NKN) and store.book(c.VENUE, NKN).update_id == 499870179:
            break
        await asyncio.sleep(0.01)
    book = store.book(c.VENUE, NKN)
    assert store.is_synced(c.VENUE, NKN) and book.update_id == 499870179
    assert book.best_bid() == (0.3527, 9602.0) and book.best_ask() == (0.3531, 152.0)
    assert control["subscribed"] == [["nknusdt@depth@100ms"]]
    assert handlers.states[0] == (True, [NKN]) and stream.decode_errors == 0
    await stream.close()
    await public.close()
    await store.close()


async def test_malformed_frame_is_counted_and_the_stream_goes_on(
    exchange: tuple[str, dict[str, Any]],
) -> None:
    address, control = exchange
    control["extra"] = ['{"stream": "nknusdt@depth@100ms", "data": {"e": "depthUpdate", "U": "x"}}']
    store, stream, handlers, public = await _run(address)
    for _ in range(300):
        if stream.ws.connections[0].data_frames >= 151:
            break
        await asyncio.sleep(0.01)
    assert stream.decode_errors == 1 and handlers.errors[0].venue == "binance"
    assert store.sync(c.VENUE, NKN).decode_errors == 1  # the book was invalidated ...
    assert stream.ws.connections[0].data_frames == 151  # ... and every later frame still arrived
    await stream.close()
    await public.close()
    await store.close()


def test_dialect_messages() -> None:
    d = BinanceDialect()
    assert json.loads(d.subscribe(["a@depth"], 3)) == {"method": "SUBSCRIBE", "params": ["a@depth"], "id": 3}
    assert d.ack('{"result": null, "id": 3}') == 3
    with pytest.raises(ValueError, match="Invalid"):
        d.ack('{"error": {"code": 2, "msg": "Invalid request"}, "id": 3}')
    assert d.is_control('{"result": null, "id": 1}') and not d.is_control('{"stream": "x", "data": {}}')
