"""The bridge's own book checks: ccxt's sequencing fails on some exchanges, so a crossed book, an
update id going back or a silent book is dropped (its symbol reported down), counted and
resubscribed; a book is down until its first change (ccxt resolves its REST snapshot before any
stream update); good books reach the handlers as snapshots of the top levels."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from arb.model import Symbol
from arb.venues.base import DepthUpdate
from arb.venues.ccxt.stream import CcxtStream

BTC = Symbol("BTC", "USDT")
MARKET = {"symbol": "BTC/USDT", "id": "BTCUSDT", "spot": True, "type": "spot", "base": "BTC", "quote": "USDT"}


def book(nonce: int, bid: float, ask: float) -> dict[str, Any]:
    return {"nonce": nonce, "timestamp": 1_700_000_000_000, "bids": [[bid, 1.0], [bid - 1, 2.0]],
            "asks": [[ask, 1.0], [ask + 1, 2.0]]}


class ScriptedExchange:
    """A ccxt-like client whose `watch_order_book` resolves the scripted books, then goes silent."""

    def __init__(self, books: Sequence[dict[str, Any]]) -> None:
        self.has = {"watchOrderBook": True, "unWatchOrderBook": True}
        self.markets = {"BTC/USDT": MARKET}
        self.books = list(books)
        self.unwatched: list[str] = []
        self.clients: dict[str, Any] = {}

    async def load_markets(self) -> dict[str, Any]:
        return self.markets

    async def watch_order_book(self, pair: str) -> dict[str, Any]:
        if not self.books:
            await asyncio.sleep(3600)
        return self.books.pop(0)

    async def un_watch_order_book(self, pair: str) -> None:
        self.unwatched.append(pair)

    async def close(self) -> None:
        return None


class Recorder:
    def __init__(self) -> None:
        self.depth: list[DepthUpdate] = []
        self.states: list[tuple[bool, list[Symbol]]] = []

    def on_depth(self, update: DepthUpdate) -> None:
        self.depth.append(update)

    def on_stream_state(self, venue: str, connected: bool, symbols: Any) -> None:
        self.states.append((connected, list(symbols)))

    def on_trade(self, trade: Any) -> None: ...
    def on_order(self, order: Any) -> None: ...
    def on_fill(self, fill: Any) -> None: ...
    def on_balance(self, venue: str, balance: Any) -> None: ...
    def on_decode_error(self, error: Any, symbol: Any) -> None: ...


async def test_crossed_regressing_and_silent_books_are_dropped_counted_and_resubscribed() -> None:
    exchange = ScriptedExchange([book(10, 100.0, 101.0), book(11, 100.5, 101.0),  # held back, then up
                                 book(12, 102.0, 101.5),  # crossed
                                 book(13, 100.0, 101.0), book(14, 100.5, 101.5),  # held back, then up
                                 book(9, 100.0, 101.0),  # id went back
                                 book(15, 100.0, 101.0), book(16, 100.5, 101.0)])  # held back, then up
    handlers = Recorder()
    stream = CcxtStream(handlers, venue="kucoin", client=exchange, depth=1, stale_s=0.3)
    try:
        await stream.subscribe_depth([BTC])
        for _ in range(500):
            if stream.books.stale:
                break
            await asyncio.sleep(0.01)
    finally:
        await stream.close()
    # a book comes up on its first change (ccxt resolves its REST snapshot before any stream update)
    assert [(u.last_id, list(u.bid_prices), list(u.ask_prices), u.is_snapshot) for u in handlers.depth] == [
        (11, [100.5], [101.0], True), (14, [100.5], [101.5], True), (16, [100.5], [101.0], True)]
    counters = stream.books
    assert (counters.updates, counters.crossed, counters.regressions, counters.stale) == (3, 1, 1, 1)
    assert exchange.unwatched == ["BTC/USDT"] * 3 and counters.resubscribes == 3
    assert handlers.states == [(False, [BTC]),  # not tradable before its stream delivers
                               (True, [BTC]), (False, [BTC]), (True, [BTC]), (False, [BTC]),
                               (True, [BTC]), (False, [BTC])]
    assert stream.stats.reconnects == 2
