"""Bybit public streams on loopback: book topics (snapshot/delta, ``u`` + 1, resets) into a `BookStore`,
the venue's own recovery (a jump in ``u`` or a restart without a snapshot re-subscribes the topic),
trade pushes, malformed frames, and the dialect's requests and replies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from arb.engine.books import BookFeed, BookStore
from arb.errors import ConfigError, ExchangeUnavailableError
from arb.model import OrderBook, Side, Symbol, Trade
from arb.venues.bybit import VENUE as SPEC
from arb.venues.bybit import constants as c
from arb.venues.bybit.stream import BybitDialect, BybitStream
from tests.helpers import serve
from tests.sim.user_recorder import wait_until

BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
RULES = {c.VENUE: SPEC.book}  # the venue spec's own book rule


class FakePublic:
    """The public spot endpoint: acks subscribes (echoing ``req_id`` unless told not to), answers
    pings, and lets the test push frames on the socket."""

    def __init__(self, echo_req_id: bool = True) -> None:
        self.echo = echo_req_id
        self.requests: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = json.loads(msg.data)
            self.requests.append(req)
            reply: dict[str, Any] = {"success": True, "ret_msg": req["op"], "conn_id": "c-1", "op": req["op"]}
            if req["op"] == "ping":
                reply["ret_msg"] = "pong"
            elif self.echo:
                reply["req_id"] = req["req_id"]
            await ws.send_str(json.dumps(reply))
        return ws

    def subscribes(self, topic: str) -> int:
        return sum(1 for r in self.requests if r["op"] == "subscribe" and topic in r["args"])

    async def push(self, *frames: Any) -> None:
        for frame in frames:
            await self.sockets[-1].send_str(frame if isinstance(frame, str) else json.dumps(frame))


def book_frame(kind: str, u: int, bids: list[list[str]], asks: list[list[str]], symbol: str = "BTCUSDT",
               depth: int = 200) -> dict[str, Any]:
    return {"topic": f"orderbook.{depth}.{symbol}", "ts": 1700000000000 + u, "type": kind,
            "data": {"s": symbol, "b": bids, "a": asks, "u": u, "seq": 9000 + u}, "cts": 1700000000000}


class Handlers(BookFeed):
    def __init__(self, store: BookStore) -> None:
        super().__init__(store)
        self.trades: list[Trade] = []

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)


@pytest.fixture
async def venue() -> AsyncIterator[tuple[FakePublic, BybitStream, BookStore, Handlers]]:
    fake = FakePublic()
    app = web.Application()
    app.router.add_get("/v5/public/spot", fake.handle)
    address, runner = await serve(app)

    async def no_rest(venue: str, symbol: Symbol, limit: int) -> OrderBook:
        raise ExchangeUnavailableError(venue, "no REST here: the stream heals itself")

    store = BookStore(no_rest, lambda *a: None, clock_ns=lambda: 0, rules=RULES, retry_backoff_s=0.05)
    handlers = Handlers(store)
    stream = BybitStream(handlers, ws_url=f"ws://{address}/v5/public/spot", heartbeat_s=None)
    yield fake, stream, store, handlers
    await stream.close()
    await store.close()
    await runner.cleanup()


async def test_recorded_snapshot_and_delta_give_a_synced_book(
        venue: tuple[FakePublic, BybitStream, BookStore, Handlers], samples_dir: Path) -> None:
    fake, stream, store, _ = venue
    store.add(c.VENUE, BTC, start=False)
    await stream.subscribe_depth([BTC])
    assert fake.requests[0]["op"] == "subscribe" and fake.requests[0]["args"] == ["orderbook.200.BTCUSDT"]
    recorded = samples_dir / "bybit/ws_orderbook50_spot_snapshot_plus_delta_recorded.json"
    frames = json.loads(recorded.read_text())
    for frame in frames:  # the recording is of the 50-level topic: served here under ours
        frame["topic"] = "orderbook.200.BTCUSDT"
    await fake.push(*frames)
    await wait_until(lambda: store.book(c.VENUE, BTC).update_id == 2876701, "the delta applied")
    book = store.book(c.VENUE, BTC)
    assert store.is_synced(c.VENUE, BTC) and book.best_bid() == (75848.74, 0.067669)
    assert book.best_ask() == (75848.75, 0.747137) and stream.decode_errors == 0 and stream.gaps == 0


async def test_mid_stream_snapshots_and_a_restart_at_1_reset_the_book(
        venue: tuple[FakePublic, BybitStream, BookStore, Handlers], samples_dir: Path) -> None:
    fake, stream, store, _ = venue
    store.add(c.VENUE, BTC, start=False)
    await stream.subscribe_depth([BTC])
    frames = json.loads((samples_dir / "bybit/ws_orderbook50_sequence_with_resets_SYNTH.json").read_text())
    for frame in frames:
        frame["topic"] = "orderbook.200.BTCUSDT"
    await fake.push(*frames[:4])  # snapshot 5000, deltas 5001 and 5002, then a snapshot 5003
    await wait_until(lambda: store.book(c.VENUE, BTC).update_id == 5003, "the mid-stream snapshot")
    assert store.book(c.VENUE, BTC).best_bid() == (30000.05, 0.3)
    await fake.push(*frames[4:])  # the service restarted: snapshot u=1, then delta u=2
    await wait_until(lambda: store.book(c.VENUE, BTC).update_id == 2, "the restart's delta")
    book = store.book(c.VENUE, BTC)
    assert book.best_bid() == (29999.9, 0.8) and book.best_ask() == (30000.3, 0.5)
    assert store.is_synced(c.VENUE, BTC) and store.sync(c.VENUE, BTC).gaps == 0
    assert fake.subscribes("orderbook.200.BTCUSDT") == 1  # nothing needed re-subscribing


async def test_a_jump_in_u_resubscribes_and_the_fresh_snapshot_heals_the_book(
        venue: tuple[FakePublic, BybitStream, BookStore, Handlers]) -> None:
    fake, stream, store, _ = venue
    store.add(c.VENUE, BTC, start=False)
    store.add(c.VENUE, ETH, start=False)
    await stream.subscribe_depth([BTC, ETH])
    await fake.push(book_frame(c.SNAPSHOT, 10, [["100", "1"]], [["101", "1"]]),
                    book_frame(c.DELTA, 11, [["100", "2"]], []),
                    book_frame(c.SNAPSHOT, 7, [["50", "1"]], [["51", "1"]], symbol="ETHUSDT"))
    await wait_until(lambda: store.book(c.VENUE, BTC).update_id == 11, "delta 11")
    await fake.push(book_frame(c.DELTA, 15, [["99", "1"]], []))  # 12-14 never came
    await wait_until(lambda: fake.subscribes("orderbook.200.BTCUSDT") == 2, "the topic re-subscribed")
    assert not store.is_synced(c.VENUE, BTC) and store.sync(c.VENUE, BTC).gaps == 1 and stream.gaps == 1
    assert [r["args"] for r in fake.requests if r["op"] == "unsubscribe"] == [["orderbook.200.BTCUSDT"]]
    await fake.push(book_frame(c.SNAPSHOT, 40, [["98", "3"]], [["102", "1"]]))
    await wait_until(lambda: store.is_synced(c.VENUE, BTC), "the fresh snapshot")
    assert store.book(c.VENUE, BTC).best_bid() == (98.0, 3.0)
    assert store.is_synced(c.VENUE, ETH) and fake.subscribes("orderbook.200.ETHUSDT") == 1  # untouched


async def test_a_delta_restarting_at_1_without_a_snapshot_is_not_taken_for_a_duplicate(
        venue: tuple[FakePublic, BybitStream, BookStore, Handlers]) -> None:
    fake, stream, store, handlers = venue
    store.add(c.VENUE, BTC, start=False)
    await stream.subscribe_depth([BTC])
    await fake.push(book_frame(c.SNAPSHOT, 500, [["100", "1"]], [["101", "1"]]))
    await wait_until(lambda: store.is_synced(c.VENUE, BTC), "the first snapshot")
    await fake.push(book_frame(c.DELTA, 1, [["100", "5"]], []))
    await wait_until(lambda: fake.subscribes("orderbook.200.BTCUSDT") == 2, "the topic re-subscribed")
    assert not store.is_synced(c.VENUE, BTC) and stream.restarts == 1
    assert "restarted" in str(handlers.errors[-1])
    await fake.push(book_frame(c.SNAPSHOT, 1, [["90", "1"]], [["91", "1"]]))
    await wait_until(lambda: store.is_synced(c.VENUE, BTC), "the restart's snapshot")
    assert store.book(c.VENUE, BTC).best_bid() == (90.0, 1.0)


async def test_trades_and_malformed_frames(venue: tuple[FakePublic, BybitStream, BookStore, Handlers],
                                           samples_dir: Path) -> None:
    fake, stream, store, handlers = venue
    store.add(c.VENUE, BTC, start=False)
    await stream.subscribe_depth([BTC])
    await stream.subscribe_trades([BTC])
    assert fake.subscribes("publicTrade.BTCUSDT") == 1
    trade = json.loads((samples_dir / "bybit/ws_public_trade_docs.json").read_text())
    ticker = json.loads((samples_dir / "bybit/ws_ticker_spot_docs.json").read_text())
    await fake.push(book_frame(c.SNAPSHOT, 3, [["100", "1"]], [["101", "1"]]), trade, ticker)
    await wait_until(lambda: len(handlers.trades) == 1 and store.is_synced(c.VENUE, BTC), "trade and book")
    assert handlers.trades[0].side is Side.BUY and handlers.trades[0].price == 16578.5
    assert stream.ignored_pushes == 1  # the ticker topic is not ours
    await fake.push('{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","u":"x"}}')
    await wait_until(lambda: not store.is_synced(c.VENUE, BTC), "the bad frame invalidated its book")
    await fake.push("not json at all", '{"topic":"publicTrade.BTCUSDT","type":"snapshot","data":[{"T":1}]}')
    await wait_until(lambda: stream.decode_errors == 3, "every bad frame counted")
    assert store.sync(c.VENUE, BTC).decode_errors == 1  # the trade frame named no book


async def test_replies_without_req_id_are_matched_in_order() -> None:
    fake = FakePublic(echo_req_id=False)
    app = web.Application()
    app.router.add_get("/v5/public/spot", fake.handle)
    address, runner = await serve(app)
    stream = BybitStream(BookFeed(BookStore(None, lambda *a: None, clock_ns=lambda: 0, rules=RULES)),  # type: ignore[arg-type]
                         ws_url=f"ws://{address}/v5/public/spot", heartbeat_s=None, ack_timeout_s=2.0)
    try:
        symbols = [Symbol(f"C{i}", "USDT") for i in range(12)]
        await stream.subscribe_depth(symbols)  # 12 topics: two requests of at most 10 args
        assert [len(r["args"]) for r in fake.requests if r["op"] == "subscribe"] == [10, 2]
        assert stream.connections == stream.ws.connections and len(stream.connections) == 1
        assert sum(c.reconnects for c in stream.ws.connections) == 0
        assert stream.ws.connections[0].disconnects == 0  # both acks matched: the socket stayed
    finally:
        await stream.close()
        await runner.cleanup()


def test_dialect_requests_and_replies(samples_dir: Path) -> None:
    d = BybitDialect()
    assert json.loads(d.subscribe(["orderbook.200.BTCUSDT", "publicTrade.BTCUSDT"], 7)) == {
        "req_id": "7", "op": "subscribe", "args": ["orderbook.200.BTCUSDT", "publicTrade.BTCUSDT"]}
    documented = json.loads((samples_dir / "bybit/ws_subscribe_request_docs.json").read_text())
    assert set(json.loads(d.request("subscribe", documented["args"], "test"))) == set(documented)
    ack = json.loads((samples_dir / "bybit/ws_subscribe_ack_public_spot_docs.json").read_text())
    assert d.ack(json.dumps({**ack, "req_id": "7"})) == 7
    d.subscribe(["publicTrade.ETHUSDT"], 8)
    recorded = (samples_dir / "bybit/ws_subscribe_ack_public_recorded.json").read_text()
    assert d.is_control(recorded) and d.ack(recorded) == 8  # no req_id echoed: the oldest pending
    d.subscribe(["orderbook.200.NOPEUSDT"], 9)
    with pytest.raises(ValueError, match="Invalid symbol"):
        d.ack('{"success": false, "ret_msg": "error:handler not found,topic:Invalid symbol", '
              '"op": "subscribe", "req_id": "9"}')
    for name in ("ws_pong_public_spot_recorded.json", "ws_pong_private_recorded.json"):
        pong = (samples_dir / "bybit" / name).read_text()
        assert d.is_control(pong) and d.ack(pong) is None
    assert json.loads(d.ping())["op"] == "ping"
    assert json.loads(d.unsubscribe(["orderbook.200.BTCUSDT"], 10))["op"] == "unsubscribe"


def test_only_the_maintained_depths_are_accepted_and_private_urls_follow_the_public() -> None:
    with pytest.raises(ConfigError, match="depth"):
        BybitStream(None, depth=1000)  # type: ignore[arg-type]
    assert BybitStream(None, depth=50).book_topic(BTC) == "orderbook.50.BTCUSDT"  # type: ignore[arg-type]
    assert c.ws_private_url(c.WS_URL) == c.WS_PRIVATE_URL
    assert c.ws_private_url("ws://127.0.0.1:9/v5/public/spot") == "ws://127.0.0.1:9/v5/private"
    assert c.ws_private_url("ws://127.0.0.1:9") == "ws://127.0.0.1:9/v5/private"
    capacity, rate = c.WS_CONNECT_BUDGET
    assert capacity + rate * 300 <= 500  # new connections per 5 minutes per domain


async def test_the_user_stream_needs_credentials() -> None:
    stream = BybitStream(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="credentials"):
        await stream.subscribe_user()
    await stream.close()
