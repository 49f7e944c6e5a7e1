"""Gate public trades, tickers and candlesticks of the simulator: REST and the ``spot.trades`` channel.

Written from the fact sheet (§2.2, §2.8), over the market's trade tape (`arb.sim.tape`):

- ``GET /api/v4/spot/trades``: ``currency_pair``, ``limit`` (default 100, max 1000), ``from`` /
  ``to`` (s); newest first: ``{"id", "create_time", "create_time_ms", "currency_pair", "side"
  (the taker's), "amount", "price", "sequence_id"}`` (``last_id``/``reverse``/``page`` are not
  served).
- ``GET /api/v4/spot/tickers``: all pairs, or ``currency_pair``; ``change_percentage`` is a
  percent over the rolling 24 h, ``change_utc0`` / ``change_utc8`` since that day's midnight.
- ``GET /api/v4/spot/candlesticks``: ``currency_pair``, ``interval`` (``10s`` .. ``30d``, default
  ``30m``), ``limit`` (default 100, max 1000) or ``from`` / ``to`` (s); rows ``[t (s), quote volume,
  close, high, low, open, base volume, window closed]``, all strings.
- Channel ``spot.trades``, payload ``[pair, ...]`` (subscribing again adds): one update per print,
  ``{"time", "time_ms", "channel": "spot.trades", "event": "update", "result": {"id",
  "id_market", "create_time", "create_time_ms", "side", "currency_pair", "amount", "price",
  "range"}}``; ``id`` is global to the venue, ``id_market`` contiguous per pair.

Unknown pairs answer ``INVALID_CURRENCY_PAIR``, a missing one ``MISSING_REQUIRED_PARAM``, other
bad values ``INVALID_PARAM_VALUE`` (all HTTP 400); a bad subscription gets error code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.fanout import Subscribers
from arb.sim.market import MarketModel
from arb.sim.tape import DAY_MS, PublicTrade, candles, window_stats

NAME: Final = "gateio"
PREFIX: Final = "/api/v4"
TRADES_CHANNEL: Final = "spot.trades"
MAX_LIMIT: Final = 1000
PERCENT: Final = Decimal("0.01")
UTC8_MS: Final = 8 * 3_600_000
SIDES: Final = MappingProxyType({Side.BUY: "buy", Side.SELL: "sell"})
_M, _H = 60_000, 3_600_000
INTERVALS: Final[Mapping[str, int]] = MappingProxyType({
    "10s": 10_000, "1m": _M, "5m": 5 * _M, "15m": 15 * _M, "30m": 30 * _M, "1h": _H, "4h": 4 * _H,
    "8h": 8 * _H, "1d": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS,
})
Reply = Callable[[dict[str, Any], str, Any, object], str]  # (request, event, error, result) -> frame


def _pair(symbol: Symbol) -> str:
    return f"{symbol.base}_{symbol.quote}"


def _f(value: Decimal) -> str:
    return format(value, "f")


def _error(label: str, message: str) -> web.Response:
    return web.json_response({"label": label, "message": message}, status=400)


def trade_topic(pair: str) -> str:
    """The `Subscribers` topic of a pair's trades (its depth topic is the bare pair)."""
    return f"{TRADES_CHANNEL}:{pair}"


def _percent(now: Decimal, then: Decimal) -> str:
    return _f(((now - then) * 100 / then).quantize(PERCENT)) if then else "0"


class GateMarketData:
    """The trade, ticker and candlestick endpoints and the ``spot.trades`` channel of one simulated Gate."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], subscribers: Subscribers) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.subscribers = subscribers
        self._pairs = {_pair(s): s for s in market.names(NAME)}
        market.trades.subscribe(NAME, self._on_trades)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/spot/trades", self._trades)
        app.router.add_get(f"{PREFIX}/spot/tickers", self._tickers)
        app.router.add_get(f"{PREFIX}/spot/candlesticks", self._candlesticks)

    def _symbol(self, request: web.Request) -> Symbol | web.Response:
        if "currency_pair" not in request.query:
            return _error("MISSING_REQUIRED_PARAM", "Missing required parameter: currency_pair")
        symbol = self._pairs.get(request.query["currency_pair"])
        return symbol if symbol is not None else _error("INVALID_CURRENCY_PAIR", "Invalid currency pair")

    async def _trades(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        q = request.query
        try:
            limit = min(int(q.get("limit", "100")), MAX_LIMIT)
            since = int(q["from"]) * 1000 if "from" in q else None
            until = int(q["to"]) * 1000 if "to" in q else None
        except ValueError:
            return _error("INVALID_PARAM_VALUE", "invalid limit, from or to")
        trades = [t for t in self.market.trades.recent(NAME, symbol)
                  if (since is None or t.ts_ms >= since) and (until is None or t.ts_ms < until + 1000)]
        return web.json_response([{
            "id": str(t.venue_seq), "create_time": str(t.ts_ms // 1000), "create_time_ms": f"{t.ts_ms}.000",
            "currency_pair": _pair(t.symbol), "side": SIDES[t.side], "amount": _f(t.qty),
            "price": _f(t.price), "sequence_id": str(t.trade_id)}
            for t in reversed(trades[max(len(trades) - limit, 0):])])

    def _ticker_json(self, symbol: Symbol, now: int) -> dict[str, object]:
        trades = self.market.trades.recent(NAME, symbol)
        mid = self.market.mid(NAME, symbol)
        day = window_stats(trades, now, mid)
        utc0 = window_stats(trades, now, mid, now % DAY_MS or DAY_MS)
        utc8 = window_stats(trades, now, mid, (now + UTC8_MS) % DAY_MS or DAY_MS)
        book = self.market.books[(NAME, symbol)]
        asks, bids = book.levels(False, 1), book.levels(True, 1)
        return {"currency_pair": _pair(symbol), "last": _f(day.last),
                "lowest_ask": _f(asks[0][0]) if asks else "", "highest_bid": _f(bids[0][0]) if bids else "",
                "change_percentage": _percent(day.last, day.open),
                "change_utc0": _percent(utc0.last, utc0.open), "change_utc8": _percent(utc8.last, utc8.open),
                "base_volume": _f(day.volume), "quote_volume": _f(day.quote_volume), "high_24h": _f(day.high),
                "low_24h": _f(day.low)}

    async def _tickers(self, request: web.Request) -> web.Response:
        now = self._clock_ms()
        if "currency_pair" in request.query:
            symbol = self._symbol(request)
            if isinstance(symbol, web.Response):
                return symbol
            return web.json_response([self._ticker_json(symbol, now)])
        return web.json_response([self._ticker_json(s, now) for s in self._pairs.values()
                                  if self.market.listed(NAME, s)])

    async def _candlesticks(self, request: web.Request) -> web.Response:
        symbol = self._symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        q = request.query
        interval = INTERVALS.get(q.get("interval", "30m"))
        if interval is None:
            return _error("INVALID_PARAM_VALUE", f"invalid interval {q.get('interval')}")
        try:
            limit = min(int(q.get("limit", "100")), MAX_LIMIT)
            start = int(q["from"]) * 1000 if "from" in q else None
            end = int(q["to"]) * 1000 if "to" in q else None
        except ValueError:
            return _error("INVALID_PARAM_VALUE", "invalid limit, from or to")
        if start is not None:  # from/to replace limit: every candle in between, at most 1000
            limit = MAX_LIMIT if end is None else min((end - start) // interval + 1, MAX_LIMIT)
        rows = candles(self.market.trades.recent(NAME, symbol), interval, self._clock_ms(), limit,
                       self.market.mid(NAME, symbol), start_ms=start, end_ms=end)
        return web.json_response([
            [str(c.open_ms // 1000), _f(c.quote_volume), _f(c.close), _f(c.high), _f(c.low), _f(c.open),
             _f(c.volume), "true" if c.closed else "false"] for c in rows])

    def subscription(self, req: dict[str, Any], topics: set[str], reply: Reply) -> str:
        """Apply a ``spot.trades`` subscribe / unsubscribe to a socket's `topics`; the answer to send."""
        event, payload = req.get("event", ""), req.get("payload") or []
        if (event not in ("subscribe", "unsubscribe") or not isinstance(payload, list) or not payload
                or any(pair not in self._pairs for pair in payload)):
            return reply(req, event, {"code": 2, "message": "invalid argument"}, None)
        keys = {trade_topic(pair) for pair in payload}
        if event == "subscribe":
            topics |= keys
        else:
            topics -= keys
        return reply(req, event, None, {"status": "success"})

    def _on_trades(self, batch: list[PublicTrade]) -> None:
        now = self._clock_ms()
        for t in batch:
            topic = trade_topic(_pair(t.symbol))
            if not self.subscribers.wants(topic):
                continue
            self.subscribers.publish(topic, json.dumps({
                "time": now // 1000, "time_ms": now, "channel": TRADES_CHANNEL, "event": "update",
                "result": {"id": t.venue_seq, "id_market": t.trade_id, "create_time": t.ts_ms // 1000,
                           "create_time_ms": f"{t.ts_ms}.000", "side": SIDES[t.side],
                           "currency_pair": _pair(t.symbol), "amount": _f(t.qty), "price": _f(t.price),
                           "range": f"{t.trade_id}-{t.trade_id}"}}))
