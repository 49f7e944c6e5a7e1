"""Binance public trades, 24 h tickers and klines of the simulator: REST and ``<s>@trade`` streams.

Written from the fact sheet (§3.2, §3.8), over the market's trade tape (`arb.sim.tape`):

- ``GET /api/v3/trades``: ``symbol``, ``limit`` (default 500, max 1000); the last prints, oldest
  first: ``{"id", "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}``.
- ``GET /api/v3/ticker/24hr``: ``symbol`` (one object), ``symbols`` (a JSON array) or neither (a
  list of all); ``type`` FULL (default) or MINI. The rolling 24 h window of the tape; bid/ask from
  the book; ``priceChangePercent`` is a percent; ``firstId``/``lastId`` -1 without prints.
- ``GET /api/v3/klines``: ``symbol``, ``interval`` (``1s`` .. ``1w``; no ``1M``), ``startTime``,
  ``endTime``, ``limit`` (default 500, max 1000); 12-column rows.
- Stream ``<symbol>@trade``: one combined-stream frame per print, ``{"stream": "btcusdt@trade",
  "data": {"e": "trade", "E", "s", "t", "p", "q", "T", "m", "M"}}`` (``m``: the buyer was the maker).

Unknown symbols answer ``-1121 Invalid symbol.``, a bad interval ``-1120``, a malformed number
``-1100``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.fanout import Subscribers
from arb.sim.market import MarketModel
from arb.sim.tape import PublicTrade, candles, window_stats

NAME: Final = "binance"
TRADE_SUFFIX: Final = "@trade"
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 500
PERCENT: Final = Decimal("0.001")
AVERAGE: Final = Decimal("1e-8")
_M, _H, _D = 60_000, 3_600_000, 86_400_000
INTERVALS: Final[Mapping[str, int]] = MappingProxyType({
    "1s": 1000, "1m": _M, "3m": 3 * _M, "5m": 5 * _M, "15m": 15 * _M, "30m": 30 * _M, "1h": _H,
    "2h": 2 * _H, "4h": 4 * _H, "6h": 6 * _H, "8h": 8 * _H, "12h": 12 * _H, "1d": _D, "3d": 3 * _D,
    "1w": 7 * _D,
})


def _name(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}"


def _f(value: Decimal) -> str:
    return format(value, "f")


def _error(code: int, msg: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def trade_stream(symbol: Symbol) -> str:
    return _name(symbol).lower() + TRADE_SUFFIX


class BinanceMarketData:
    """The trade, ticker and kline endpoints and the trade streams of one simulated Binance."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], subscribers: Subscribers) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.subscribers = subscribers
        self._symbols = {_name(s): s for s in market.names(NAME)}
        market.trades.subscribe(NAME, self._on_trades)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/trades", self._trades)
        app.router.add_get("/api/v3/aggTrades", self._agg_trades)
        app.router.add_get("/api/v3/ticker/24hr", self._ticker)
        app.router.add_get("/api/v3/klines", self._klines)

    def _symbol(self, request: web.Request) -> Symbol | web.Response:
        if "symbol" not in request.query:
            return _error(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        symbol = self._symbols.get(request.query["symbol"])
        return symbol if symbol is not None else _error(-1121, "Invalid symbol.")

    @staticmethod
    def _int(request: web.Request, key: str, default: int | None) -> int | None:
        raw = request.query.get(key)
        return default if raw is None else int(raw)  # ValueError: the caller answers -1100

    async def _trades(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        try:
            limit = min(self._int(request, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
        except ValueError:
            return _error(-1100, "Illegal characters found in parameter 'limit'.")
        return web.json_response([{
            "id": t.trade_id, "price": _f(t.price), "qty": _f(t.qty), "quoteQty": _f(t.price * t.qty),
            "time": t.ts_ms, "isBuyerMaker": t.side is Side.SELL, "isBestMatch": True}
            for t in self.market.trades.recent(NAME, symbol, limit)])

    async def _agg_trades(self, request: web.Request) -> web.Response:
        """Compressed trades; every simulated trade is its own aggregate (``a`` = ``f`` = ``l``)."""
        symbol = self._symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        try:
            limit = min(self._int(request, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
        except ValueError:
            return _error(-1100, "Illegal characters found in parameter 'limit'.")
        return web.json_response([{
            "a": t.trade_id, "p": _f(t.price), "q": _f(t.qty), "f": t.trade_id, "l": t.trade_id,
            "T": t.ts_ms, "m": t.side is Side.SELL, "M": True}
            for t in self.market.trades.recent(NAME, symbol, limit)])

    def _ticker_json(self, symbol: Symbol, mini: bool) -> dict[str, object]:
        now = self._clock_ms()
        stats = window_stats(self.market.trades.recent(NAME, symbol), now, self.market.mid(NAME, symbol))
        tail: dict[str, object] = {
            "openPrice": _f(stats.open), "highPrice": _f(stats.high), "lowPrice": _f(stats.low),
            "lastPrice": _f(stats.last), "volume": _f(stats.volume), "quoteVolume": _f(stats.quote_volume),
            "openTime": stats.start_ms, "closeTime": stats.end_ms, "firstId": stats.first_id,
            "lastId": stats.last_id, "count": stats.n_trades}
        if mini:
            return {"symbol": _name(symbol), **tail}
        book = self.market.books[(NAME, symbol)]
        (bid, bid_qty), = book.levels(True, 1) or [(Decimal(0), Decimal(0))]
        (ask, ask_qty), = book.levels(False, 1) or [(Decimal(0), Decimal(0))]
        change = stats.last - stats.open
        percent = (change * 100 / stats.open).quantize(PERCENT) if stats.open else Decimal("0.000")
        average = (stats.quote_volume / stats.volume).quantize(AVERAGE) if stats.volume else stats.last
        return {"symbol": _name(symbol), "priceChange": _f(change), "priceChangePercent": _f(percent),
                "weightedAvgPrice": _f(average), "prevClosePrice": _f(stats.open),
                "lastPrice": _f(stats.last), "lastQty": _f(stats.last_qty), "bidPrice": _f(bid),
                "bidQty": _f(bid_qty), "askPrice": _f(ask), "askQty": _f(ask_qty), **tail}

    async def _ticker(self, request: web.Request) -> web.Response:
        kind = request.query.get("type", "FULL")
        if kind not in ("FULL", "MINI"):
            return _error(-1100, "Illegal characters found in parameter 'type'.")
        mini = kind == "MINI"
        if "symbol" in request.query:
            symbol = self._symbol(request)
            if isinstance(symbol, web.Response):
                return symbol
            return web.json_response(self._ticker_json(symbol, mini))
        if "symbols" in request.query:
            try:
                names = json.loads(request.query["symbols"])
                wanted = [self._symbols[n] for n in names]
            except (ValueError, TypeError):
                return _error(-1100, "Illegal characters found in parameter 'symbols'.")
            except KeyError:
                return _error(-1121, "Invalid symbol.")
        else:
            wanted = [s for s in self._symbols.values() if self.market.listed(NAME, s)]
        return web.json_response([self._ticker_json(s, mini) for s in wanted])

    async def _klines(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        interval = INTERVALS.get(request.query.get("interval", ""))
        if interval is None:
            return _error(-1120, "Invalid interval.")
        try:
            limit = min(self._int(request, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
            start, end = self._int(request, "startTime", None), self._int(request, "endTime", None)
        except ValueError:
            return _error(-1100, "Illegal characters found in a parameter.")
        rows = candles(self.market.trades.recent(NAME, symbol), interval, self._clock_ms(), limit,
                       self.market.mid(NAME, symbol), start_ms=start, end_ms=end)
        return web.json_response([
            [c.open_ms, _f(c.open), _f(c.high), _f(c.low), _f(c.close), _f(c.volume),
             c.open_ms + interval - 1, _f(c.quote_volume), c.n_trades, _f(c.taker_buy_volume),
             _f(c.taker_buy_quote), "0"]
            for c in rows])

    def _on_trades(self, batch: list[PublicTrade]) -> None:
        now = self._clock_ms()
        for t in batch:
            stream = trade_stream(t.symbol)
            if not self.subscribers.wants(stream):
                continue  # encode only what someone listens to
            self.subscribers.publish(stream, json.dumps({"stream": stream, "data": {
                "e": "trade", "E": now, "s": _name(t.symbol), "t": t.trade_id, "p": _f(t.price),
                "q": _f(t.qty), "T": t.ts_ms, "m": t.side is Side.SELL, "M": True}}))
