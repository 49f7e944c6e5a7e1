"""MEXC public trades, 24 h tickers and klines of the simulator: REST and the aggregated deals channel.

Written from the fact sheet (§1.2, §1.9, §1.10), over the market's trade tape (`arb.sim.tape`):

- ``GET /api/v3/trades``: ``symbol``, ``limit`` (default 500, max 1000); the last prints, oldest
  first: ``{"id": null, "price", "qty", "quoteQty", "time", "isBuyerMaker", "isBestMatch"}``.
- ``GET /api/v3/ticker/24hr``: ``symbol`` (one object) or none (a list of all); the rolling 24 h
  window; ``priceChangePercent`` is a fraction (0.0173 = 1.73 %), ``count`` null as on the live API.
- ``GET /api/v3/klines``: ``symbol``, ``interval`` (``1m 5m 15m 30m 60m 4h 1d 1W``; no ``1M``),
  ``startTime``, ``endTime``, ``limit`` (default 500, max 1000); 8-column rows ``[openTime, open,
  high, low, close, volume, closeTime, quoteVolume]``.
- Channel ``spot@public.aggre.deals.v3.api.pb@100ms@SYM``: a binary ``PushDataV3ApiWrapper`` with
  ``publicAggreDeals`` (field 314) per event (all prints of one order together; the real venue
  batches each 100 ms): deals ``{price, quantity, tradeType (1 buy / 2 sell, the taker), time,
  tradeId}``.

Unknown symbols answer ``10007 bad symbol``, bad parameters ``33333 Parameter error`` (HTTP 400).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.fanout import Subscribers
from arb.sim.market import MarketModel
from arb.sim.tape import DAY_MS, PublicTrade, candles, window_stats
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

NAME: Final = "mexc"
DEALS_EVENT: Final = "spot@public.aggre.deals.v3.api.pb@100ms"
MAX_LIMIT: Final = 1000
DEFAULT_LIMIT: Final = 500
FRACTION: Final = Decimal("1e-4")
_M = 60_000
INTERVALS: Final[Mapping[str, int]] = MappingProxyType({
    "1m": _M, "5m": 5 * _M, "15m": 15 * _M, "30m": 30 * _M, "60m": 60 * _M, "4h": 240 * _M, "1d": DAY_MS,
    "1W": 7 * DAY_MS,
})
TRADE_TYPES: Final = MappingProxyType({Side.BUY: 1, Side.SELL: 2})


def _name(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}"


def _f(value: Decimal) -> str:
    return format(value, "f")


def _error(code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=400)


def deals_channel(symbol: Symbol) -> str:
    return f"{DEALS_EVENT}@{_name(symbol)}"


class MexcMarketData:
    """The trade, ticker and kline endpoints and the deals channel of one simulated MEXC."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], subscribers: Subscribers) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.subscribers = subscribers
        self._symbols = {_name(s): s for s in market.names(NAME)}
        market.trades.subscribe(NAME, self._on_trades)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/trades", self._trades)
        app.router.add_get("/api/v3/ticker/24hr", self._ticker)
        app.router.add_get("/api/v3/klines", self._klines)

    def _symbol(self, request: web.Request) -> Symbol | web.Response:
        symbol = self._symbols.get(request.query.get("symbol", ""))
        return symbol if symbol is not None else _error(10007, "bad symbol")

    async def _trades(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        try:
            limit = min(int(request.query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        except ValueError:
            return _error(33333, "Parameter error")
        return web.json_response([{
            "id": None, "price": _f(t.price), "qty": _f(t.qty), "quoteQty": _f(t.price * t.qty),
            "time": t.ts_ms, "isBuyerMaker": t.side is Side.SELL, "isBestMatch": True}
            for t in self.market.trades.recent(NAME, symbol, limit)])

    def _ticker_json(self, symbol: Symbol, now: int) -> dict[str, object]:
        stats = window_stats(self.market.trades.recent(NAME, symbol), now, self.market.mid(NAME, symbol))
        book = self.market.books[(NAME, symbol)]
        (bid, bid_qty), = book.levels(True, 1) or [(Decimal(0), Decimal(0))]
        (ask, ask_qty), = book.levels(False, 1) or [(Decimal(0), Decimal(0))]
        change = stats.last - stats.open
        fraction = (change / stats.open).quantize(FRACTION) if stats.open else Decimal(0)
        return {"symbol": _name(symbol), "priceChange": _f(change), "priceChangePercent": _f(fraction),
                "prevClosePrice": _f(stats.open), "lastPrice": _f(stats.last), "bidPrice": _f(bid),
                "bidQty": _f(bid_qty), "askPrice": _f(ask), "askQty": _f(ask_qty),
                "openPrice": _f(stats.open),
                "highPrice": _f(stats.high), "lowPrice": _f(stats.low), "volume": _f(stats.volume),
                "quoteVolume": _f(stats.quote_volume), "openTime": stats.start_ms, "closeTime": stats.end_ms,
                "count": None}

    async def _ticker(self, request: web.Request) -> web.Response:
        now = self._clock_ms()
        if "symbol" in request.query:
            symbol = self._symbol(request)
            if isinstance(symbol, web.Response):
                return symbol
            return web.json_response(self._ticker_json(symbol, now))
        return web.json_response([self._ticker_json(s, now) for s in self._symbols.values()
                                  if self.market.listed(NAME, s)])

    async def _klines(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        q = request.query
        interval = INTERVALS.get(q.get("interval", ""))
        try:
            if interval is None:
                raise ValueError(q.get("interval"))
            limit = min(int(q.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
            start = int(q["startTime"]) if "startTime" in q else None
            end = int(q["endTime"]) if "endTime" in q else None
        except ValueError:
            return _error(33333, "Parameter error")
        rows = candles(self.market.trades.recent(NAME, symbol), interval, self._clock_ms(), limit,
                       self.market.mid(NAME, symbol), start_ms=start, end_ms=end)
        return web.json_response([
            [c.open_ms, _f(c.open), _f(c.high), _f(c.low), _f(c.close), _f(c.volume), c.open_ms + interval,
             _f(c.quote_volume)] for c in rows])

    def _on_trades(self, batch: list[PublicTrade]) -> None:
        symbol = batch[0].symbol
        channel = deals_channel(symbol)
        if not self.subscribers.wants(channel):
            return
        wrapper = PushDataV3ApiWrapper(channel=channel, symbol=_name(symbol), sendTime=self._clock_ms())
        body = wrapper.publicAggreDeals
        body.eventType = DEALS_EVENT
        for t in batch:
            body.deals.add(price=_f(t.price), quantity=_f(t.qty), tradeType=TRADE_TYPES[t.side], time=t.ts_ms,
                           tradeId=str(t.trade_id))
        self.subscribers.publish(channel, wrapper.SerializeToString())
