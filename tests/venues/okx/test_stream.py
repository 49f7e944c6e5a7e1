"""OkxStream on a loopback WebSocket that speaks OKX's public protocol: ``books`` to a SYNCED book
with no REST snapshot, heartbeats and a sequence reset taken in stride, a checksum mismatch and a
broken chain repaired by re-subscribing, trades, text ping/pong, and the 64008 upgrade notice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from arb.engine.books import BookFeed, BookStore
from arb.model import OrderBook, Symbol, Trade
from arb.venues import okx
from arb.venues.okx import constants as c
from arb.venues.okx.books import BookMode
from arb.venues.okx.stream import OkxDialect, OkxStream, private_url
from tests.helpers import serve

BTC = Symbol("BTC", "USDT")
Frames = list[dict[str, Any]]


class Exchange:
    """A public endpoint: acks every arg, answers ``ping``, and plays `script(subscription number)`."""

    def __init__(self, script: Callable[[int], Frames], trades: Frames | None = None) -> None:
        self.script = script
        self.trades = trades or []
        self.requests: list[Any] = []
        self.subscriptions = 0
        self.sockets = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets += 1
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            if msg.data == "ping":
                self.requests.append("ping")
                await ws.send_str("pong")
                continue
            req = json.loads(msg.data)
            self.requests.append(req)
            for arg in req["args"]:
                ack = {"id": req["id"], "event": req["op"], "arg": arg, "connId": "c0"}
                await ws.send_str(json.dumps(ack))
            if req["op"] != "subscribe":
                continue
            for arg in req["args"]:
                if arg["channel"] == "trades":
                    for frame in self.trades:
                        await ws.send_str(json.dumps(frame))
                if arg["channel"] == "books":
                    self.subscriptions += 1
                    for frame in self.script(self.subscriptions):
                        await ws.send_str(json.dumps(frame))
                        await asyncio.sleep(0.002)
        return ws


async def refuse_rest(venue: str, symbol: Symbol, limit: int) -> OrderBook:
    raise ConnectionError("no REST in this test: the stream's own snapshot must do")


@pytest.fixture
async def started() -> AsyncIterator[Callable[[Callable[[int], Frames]], Any]]:
    cleanup: list[Any] = []

    async def start(script: Callable[[int], Frames], trades: Frames | None = None
                    ) -> tuple[Exchange, OkxStream, BookStore, BookFeed]:
        exchange = Exchange(script, trades)
        app = web.Application()
        app.router.add_get(c.PUBLIC_PATH, exchange.handle)
        address, runner = await serve(app)
        store = BookStore(refuse_rest, lambda *a: None, clock_ns=lambda: 0, rules={c.VENUE: okx.VENUE.book},
                          retry_backoff_s=0.05)
        feed = BookFeed(store)
        stream = OkxStream(feed, ws_url=f"ws://{address}{c.PUBLIC_PATH}", heartbeat_s=None)
        store.add(c.VENUE, BTC, start=False)
        cleanup.append((runner, stream, store))
        return exchange, stream, store, feed

    yield start
    for runner, stream, store in cleanup:
        await stream.close()
        await store.close()
        await runner.cleanup()


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def chain(samples: Path) -> Frames:
    frames: Frames = json.loads((samples / "okx/ws_books_seqid_chain_SYNTH.json").read_text())
    return frames


async def test_books_chain_with_heartbeat_and_reset_gives_a_synced_book(samples_dir: Path,
                                                                         started: Any) -> None:
    frames = chain(samples_dir)
    exchange, stream, store, feed = await started(lambda n: frames)
    await stream.subscribe_depth([BTC])
    await until(lambda: store.book(c.VENUE, BTC).update_id == 5)
    book = store.book(c.VENUE, BTC)
    assert store.is_synced(c.VENUE, BTC)
    assert book.best_bid() == (30000.15, 0.7) and book.best_ask() == (30000.2, 0.25)
    assert book.top(True, 3) == [(30000.15, 0.7), (30000.0, 1.2), (29999.5, 0.35)]
    assert book.top(False, 3) == [(30000.2, 0.25), (30000.5, 0.1), (30002.0, 1.0)]
    assert (stream.heartbeats, stream.resets, stream.gaps, stream.checksum_failures) == (1, 1, 0, 0)
    sync = store.sync(c.VENUE, BTC)
    assert sync.gaps == 0 and sync.decode_errors == 0 and sync.snapshot_fetches == 0 and not feed.errors
    assert exchange.requests[0] == {"id": exchange.requests[0]["id"], "op": "subscribe",
                                    "args": [{"channel": "books", "instId": "BTC-USDT"}]}


def zeroed(frames: Frames) -> Frames:
    """The frames as OKX sends them since 2026-06-23: checksum 0."""
    out: Frames = json.loads(json.dumps(frames))
    for frame in out:
        for item in frame["data"]:
            item["checksum"] = 0
    return out


async def test_a_checksum_0_chain_with_a_reset_gives_the_same_book_without_strings(samples_dir: Path,
                                                                                   started: Any) -> None:
    """The same chain with checksum 0: the book is kept as numbers only, and the sequence reset still
    hands the whole (correct) book on with numbering restarted, without re-subscribing."""
    frames = zeroed(chain(samples_dir))
    exchange, stream, store, feed = await started(lambda n: frames)
    await stream.subscribe_depth([BTC])
    await until(lambda: store.book(c.VENUE, BTC).update_id == 5)
    book = store.book(c.VENUE, BTC)
    assert store.is_synced(c.VENUE, BTC) and exchange.subscriptions == 1
    assert book.top(True, 5) == [(30000.15, 0.7), (30000.0, 1.2), (29999.5, 0.35)]
    assert book.top(False, 5) == [(30000.2, 0.25), (30000.5, 0.1), (30002.0, 1.0)]
    assert (stream.heartbeats, stream.resets, stream.gaps, stream.checksum_failures, stream.unverified) == \
        (1, 1, 0, 0, 0)
    state = stream._books["BTC-USDT"]
    assert state.mode is BookMode.FAST and not state.bids.levels and not state.asks.levels
    assert store.sync(c.VENUE, BTC).gaps == 0 and not feed.errors


async def test_a_checksum_on_a_fast_book_resubscribes_for_an_exact_one(samples_dir: Path,
                                                                      started: Any) -> None:
    """Checksum-0 pushes, then one with a checksum: it is handed on unverified and the instrument
    re-subscribes; the fresh (checksummed) snapshot starts EXACT mode and the chain verifies on."""
    frames = chain(samples_dir)
    plain = zeroed(frames)
    exchange, stream, store, feed = await started(lambda n: [plain[0], frames[1]] if n == 1 else frames)
    await stream.subscribe_depth([BTC])
    await until(lambda: exchange.subscriptions == 2 and store.book(c.VENUE, BTC).update_id == 5)
    ops = [r["op"] for r in exchange.requests if isinstance(r, dict)]
    assert ops == ["subscribe", "unsubscribe", "subscribe"] and stream.unverified == 1
    assert stream._books["BTC-USDT"].mode is BookMode.EXACT and store.is_synced(c.VENUE, BTC)
    assert stream.checksum_failures == 0 and not feed.errors and store.sync(c.VENUE, BTC).decode_errors == 0
    assert store.book(c.VENUE, BTC).top(True, 5) == [(30000.15, 0.7), (30000.0, 1.2), (29999.5, 0.35)]


async def test_a_checksum_mismatch_resubscribes_for_a_fresh_snapshot(samples_dir: Path, started: Any) -> None:
    frames = chain(samples_dir)
    bad = json.loads(json.dumps(frames[1]))
    bad["data"][0]["asks"][0][1] = "0.26"  # the pushed checksum was computed over 0.25
    exchange, stream, store, feed = await started(lambda n: [frames[0], bad] if n == 1 else frames[:2])
    await stream.subscribe_depth([BTC])
    await until(lambda: exchange.subscriptions == 2 and store.is_synced(c.VENUE, BTC)
                and store.book(c.VENUE, BTC).update_id == 104)
    assert stream.checksum_failures == 1 and store.sync(c.VENUE, BTC).decode_errors == 1
    assert [e.what for e in feed.errors] == ["books checksum"]
    ops = [r["op"] for r in exchange.requests if isinstance(r, dict)]
    assert ops == ["subscribe", "unsubscribe", "subscribe"]
    assert store.book(c.VENUE, BTC).best_ask() == (30000.2, 0.25)  # the fresh book, not the bad one


async def test_a_broken_chain_is_a_gap_repaired_by_a_fresh_snapshot(samples_dir: Path, started: Any) -> None:
    frames = chain(samples_dir)
    exchange, stream, store, _ = await started(lambda n: [frames[0], frames[3]] if n == 1 else frames[:4])
    await stream.subscribe_depth([BTC])
    await until(lambda: exchange.subscriptions == 2 and store.is_synced(c.VENUE, BTC)
                and store.book(c.VENUE, BTC).update_id == 110)
    assert stream.gaps == 1 and store.sync(c.VENUE, BTC).gaps == 1  # the store saw it as a gap too
    assert store.book(c.VENUE, BTC).best_bid() == (30000.15, 0.7)


async def test_trades_ping_and_the_upgrade_notice(samples_dir: Path, started: Any) -> None:
    frames = chain(samples_dir)
    trade = json.loads((samples_dir / "okx/ws_trades_push_recorded.json").read_text())
    notice = json.loads((samples_dir / "okx/ws_notice_64008_docs.json").read_text())
    # the first socket's book is followed by the notice: the stream moves to a new socket at once
    exchange, stream, store, feed = await started(lambda n: [frames[0], notice] if n == 1 else frames[:1],
                                                  [trade])
    seen: list[Trade] = []
    feed.on_trade = seen.append  # type: ignore[method-assign]
    stream.ws._ping_interval = 0.05
    await stream.subscribe_trades([BTC])
    await until(lambda: len(seen) == 1)
    assert seen[0].trade_id == "338476307" and seen[0].price == 30236.0
    await stream.subscribe_depth([BTC])
    await until(lambda: exchange.sockets == 2 and exchange.subscriptions == 2
                and store.is_synced(c.VENUE, BTC))
    assert stream._dialect.notices == 1
    assert store.sync(c.VENUE, BTC).invalidations == 1  # the old socket's books went down with it
    await until(lambda: "ping" in exchange.requests)  # the literal text, answered by "pong"


def test_dialect_acks_per_arg_errors_and_pongs() -> None:
    d = OkxDialect()
    req = json.loads(d.subscribe(["books:BTC-USDT", "trades:ETH-USDT"], 7))
    assert req == {"id": "7", "op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"},
                                                          {"channel": "trades", "instId": "ETH-USDT"}]}
    first = '{"id": "7", "event": "subscribe", "arg": {"channel": "books", "instId": "BTC-USDT"}}'
    assert d.is_control(first) and d.ack(first) is None  # one of two args
    second = '{"event": "subscribe", "arg": {"channel": "trades", "instId": "ETH-USDT"}}'  # 2022: no id
    assert d.ack(second) == 7
    d.subscribe(["books:BTC-USDT"], 8)
    error = '{"id": "8", "event": "error", "code": "60012", "msg": "Invalid request", "connId": "a"}'
    with pytest.raises(ValueError, match="60012"):
        d.ack(error)
    assert d.ack('{"id": "99", "event": "error", "code": "60012", "msg": "late"}') is None  # not ours
    assert d.is_control("pong") and d.ack("pong") is None and d.ping() == "ping"
    assert not d.is_control('{"arg": {"channel": "books", "instId": "BTC-USDT"}, "data": []}')
    assert not d.is_control("not json")  # data for the stream to count
    assert json.loads(d.unsubscribe(["books:BTC-USDT"], 9))["op"] == "unsubscribe"
    assert private_url("wss://ws.okx.com:8443/ws/v5/public") == c.WS_PRIVATE_URL


async def test_an_undecodable_books_frame_invalidates_its_book(samples_dir: Path, started: Any) -> None:
    frames = chain(samples_dir)
    _, stream, store, feed = await started(lambda n: frames[:2])
    await stream.subscribe_depth([BTC])
    await until(lambda: store.is_synced(c.VENUE, BTC))
    cut = '{"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [{"as'
    stream._on_frame(cut, 1)
    assert stream.decode_errors == 1 and feed.errors and not store.is_synced(c.VENUE, BTC)
    stream._on_frame('{"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", '
                     '"data": [{"asks": [["x", "1", "0", "1"]], "bids": [], "ts": "1", "prevSeqId": 104, '
                     '"seqId": 105}]}', 1)
    assert stream.decode_errors == 2
