"""Bybit public trades, tickers and klines of the simulator: REST and the ``publicTrade`` / ``tickers``
topics.

Written from the fact sheet (§2.2, §2.8), over the market's trade tape (`arb.sim.tape`):

- ``GET /v5/market/recent-trade``: ``category=spot``, ``symbol``, ``limit`` 1-60 (default 60);
  newest first: ``{"execId", "symbol", "price", "size", "side" (the taker's), "time" (ms string),
  "isBlockTrade", "isRPITrade", "seq" (string)}``.
- ``GET /v5/market/tickers``: ``category=spot``, ``symbol`` optional: ``{"symbol", "bid1Price",
  "bid1Size", "ask1Price", "ask1Size", "lastPrice", "prevPrice24h", "price24hPcnt"`` (a fraction,
  4 decimals) ``, "highPrice24h", "lowPrice24h", "turnover24h"`` (quote) ``, "volume24h"`` (base)
  ``, "usdIndexPrice"}`` over the rolling 24 h.
- ``GET /v5/market/kline``: ``category=spot``, ``symbol``, ``interval`` (``1 3 5 15 30 60 120 240
  360 720`` minutes, ``D``, ``W`` (from Monday), ``M`` (calendar month), all on UTC), ``start`` /
  ``end`` (ms, the candles that open within them), ``limit`` 1-1000 (default 200); the latest
  candles up to ``end`` (default now), newest first: ``result`` ``{"category", "symbol", "list":
  [[startTime, open, high, low, close, volume (base), turnover (quote)], ...]}``, all strings.
- Topic ``publicTrade.{SYMBOL}``: ``{"topic", "type": "snapshot", "ts", "data": [{"T", "s", "S",
  "v", "p", "i", "BT", "RPI", "seq"}]}``, one message per batch of prints (spot has no ``L``).
- Topic ``tickers.{SYMBOL}``: a ``snapshot`` (spot sends no deltas and no bid/ask) after every
  change of the symbol's book or a print, ``cs`` = the book's sequence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from aiohttp import web

from arb.model import Symbol
from arb.sim.bybit_wire import (
    CATEGORY,
    NAME,
    PUBLIC_EXEC_ID_BASE,
    SIDES,
    BybitError,
    Code,
    guarded,
    num,
    ok,
    symbol_id,
)
from arb.sim.fanout import Subscribers
from arb.sim.market import BookDiff, MarketModel
from arb.sim.tape import DAY_MS, PublicTrade, candles, month_candles, window_stats

TRADE_PREFIX: Final = "publicTrade."
TICKER_PREFIX: Final = "tickers."
MAX_TRADES: Final = 60
MAX_KLINES: Final = 1000
DEFAULT_KLINES: Final = 200
MONTH: Final = -1  # the ``M`` interval: calendar months, not a fixed length
INTERVALS: Final = MappingProxyType({
    **{str(n): n * 60_000 for n in (1, 3, 5, 15, 30, 60, 120, 240, 360, 720)},
    "D": DAY_MS, "W": 7 * DAY_MS, "M": MONTH,
})
PERCENT_QUANTUM: Final = Decimal("0.0001")
PUSH_TICKER_FIELDS: Final = ("symbol", "lastPrice", "highPrice24h", "lowPrice24h", "prevPrice24h",
                             "volume24h", "turnover24h", "price24hPcnt", "usdIndexPrice")  # the push's order


def check_category(request: web.Request) -> None:
    category = request.query.get("category")
    if category != CATEGORY:
        raise BybitError(Code.PARAMS, "Illegal category" if category else "params error: category is empty")


class BybitMarketData:
    """Trades and tickers of one simulated Bybit endpoint (REST and topics)."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], subscribers: Subscribers) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.subscribers = subscribers
        self.symbols = {symbol_id(s): s for s in market.names(NAME)}
        market.trades.subscribe(NAME, self._on_trades)
        market.subscribe(NAME, self._on_diff)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v5/market/recent-trade", guarded(self._recent, self._clock_ms))
        app.router.add_get("/v5/market/tickers", guarded(self._tickers, self._clock_ms))
        app.router.add_get("/v5/market/kline", guarded(self._kline, self._clock_ms))

    def topic_symbol(self, topic: str) -> Symbol | None:
        """The symbol of a served ``publicTrade.`` / ``tickers.`` topic, else None."""
        for prefix in (TRADE_PREFIX, TICKER_PREFIX):
            if topic.startswith(prefix):
                return self.symbols.get(topic[len(prefix):])
        return None

    def symbol(self, request: web.Request, required: bool = True) -> Symbol | None:
        name = request.query.get("symbol")
        if not name:
            if required:
                raise BybitError(Code.PARAMS, "params error: symbol is empty")
            return None
        symbol = self.symbols.get(name)
        if symbol is None:
            raise BybitError(Code.PARAMS, "params error: Symbol Is Invalid")
        return symbol

    # ------------------------------------------------------------------ REST

    async def _recent(self, request: web.Request) -> web.Response:
        check_category(request)
        symbol = self.symbol(request)
        assert symbol is not None
        raw = request.query.get("limit", str(MAX_TRADES))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TRADES:
            raise BybitError(Code.PARAMS, f"params error: limit must be 1-{MAX_TRADES}")
        trades = self.market.trades.recent(NAME, symbol, int(raw))
        seq = str(self.market.books[(NAME, symbol)].update_id)
        return ok({"category": CATEGORY, "list": [{
            "execId": str(PUBLIC_EXEC_ID_BASE + t.venue_seq), "symbol": symbol_id(t.symbol),
            "price": num(t.price), "size": num(t.qty), "side": SIDES[t.side], "time": str(t.ts_ms),
            "isBlockTrade": False, "isRPITrade": False, "seq": seq,
        } for t in reversed(trades)]}, self._clock_ms)

    def ticker(self, symbol: Symbol, now: int, with_book: bool = True) -> dict[str, str]:
        trades = self.market.trades.recent(NAME, symbol)
        day = window_stats(trades, now, self.market.mid(NAME, symbol))
        change = ((day.last - day.open) / day.open).quantize(PERCENT_QUANTUM) if day.open else Decimal(0)
        row = {"symbol": symbol_id(symbol)}
        if with_book:
            _, bids, asks = self.market.snapshot(NAME, symbol, 1)
            row.update(bid1Price=num(bids[0][0]) if bids else "", bid1Size=num(bids[0][1]) if bids else "",
                       ask1Price=num(asks[0][0]) if asks else "", ask1Size=num(asks[0][1]) if asks else "")
        row.update(lastPrice=num(day.last), prevPrice24h=num(day.open), price24hPcnt=format(change, "f"),
                   highPrice24h=num(day.high), lowPrice24h=num(day.low), turnover24h=num(day.quote_volume),
                   volume24h=num(day.volume), usdIndexPrice=num(self.market.mid(NAME, symbol)))
        if not with_book:  # the push lists the 24 h fields in the venue's order
            row = {key: row[key] for key in PUSH_TICKER_FIELDS}
        return row

    async def _tickers(self, request: web.Request) -> web.Response:
        check_category(request)
        symbol = self.symbol(request, required=False)
        now = self._clock_ms()
        chosen = [symbol] if symbol is not None else [
            s for s in self.symbols.values() if self.market.listed(NAME, s)]
        return ok({"category": CATEGORY, "list": [self.ticker(s, now) for s in chosen]}, self._clock_ms)

    async def _kline(self, request: web.Request) -> web.Response:
        check_category(request)
        symbol = self.symbol(request)
        assert symbol is not None
        q = request.query
        interval = INTERVALS.get(q.get("interval", ""))
        if interval is None:
            raise BybitError(Code.PARAMS, "Invalid period!" if q.get("interval") else
                             "params error: interval is empty")
        raw = {key: q.get(key, "") for key in ("limit", "start", "end")}
        bad = next((key for key, value in raw.items() if value and not value.isdigit()), None)
        if bad is not None:
            raise BybitError(Code.PARAMS, f"params error: {bad} is invalid")
        limit = int(raw["limit"] or DEFAULT_KLINES)
        if not 1 <= limit <= MAX_KLINES:
            raise BybitError(Code.PARAMS, f"params error: limit must be 1-{MAX_KLINES}")
        start = int(raw["start"]) if raw["start"] else 0
        end = int(raw["end"]) if raw["end"] else None
        now, tape = self._clock_ms(), self.market.trades.recent(NAME, symbol)
        mid = self.market.mid(NAME, symbol)
        rows = (month_candles(tape, 1, now, limit, mid, end_ms=end) if interval == MONTH
                else candles(tape, interval, now, limit, mid, end_ms=end))
        return ok({"symbol": symbol_id(symbol), "category": CATEGORY, "list": [
            [str(c.open_ms), num(c.open), num(c.high), num(c.low), num(c.close), num(c.volume),
             num(c.quote_volume)] for c in reversed(rows) if c.open_ms >= start]}, self._clock_ms)

    # ------------------------------------------------------------------ topics

    def _on_trades(self, batch: list[PublicTrade]) -> None:
        by_symbol: dict[Symbol, list[PublicTrade]] = {}
        for trade in batch:
            by_symbol.setdefault(trade.symbol, []).append(trade)
        now = self._clock_ms()
        for symbol, trades in by_symbol.items():
            topic = TRADE_PREFIX + symbol_id(symbol)
            if self.subscribers.wants(topic):
                seq = self.market.books[(NAME, symbol)].update_id
                data = [{"T": t.ts_ms, "s": symbol_id(symbol), "S": SIDES[t.side], "v": num(t.qty),
                         "p": num(t.price), "i": str(PUBLIC_EXEC_ID_BASE + t.venue_seq), "BT": False,
                         "RPI": False, "seq": seq} for t in trades]
                frame = {"topic": topic, "type": "snapshot", "ts": now, "data": data}
                self.subscribers.publish(topic, json.dumps(frame))
            self._push_ticker(symbol, now)

    def _on_diff(self, diff: BookDiff) -> None:
        self._push_ticker(diff.symbol, self._clock_ms())

    def _push_ticker(self, symbol: Symbol, now: int) -> None:
        topic = TICKER_PREFIX + symbol_id(symbol)
        if not self.subscribers.wants(topic):
            return
        self.subscribers.publish(topic, json.dumps({
            "topic": topic, "ts": now, "type": "snapshot", "cs": self.market.books[(NAME, symbol)].update_id,
            "data": self.ticker(symbol, now, with_book=False)}))
