"""OKX public trades and tickers of the simulator: REST and the ``trades`` / ``tickers`` channels.

Written from the fact sheet (§1.2, §1.8), over the market's trade tape (`arb.sim.tape`):

- ``GET /api/v5/market/trades``: ``instId``, ``limit`` (default 100, max 500); newest first:
  ``{"instId", "side" (the taker's), "sz", "source": "0", "px", "tradeId", "ts"}``.
- ``GET /api/v5/market/ticker`` (``instId``) and ``/market/tickers`` (``instType=SPOT``):
  ``{"instType", "instId", "last", "lastSz", "askPx", "askSz", "bidPx", "bidSz", "open24h",
  "high24h", "low24h", "volCcy24h" (quote), "vol24h" (base), "sodUtc0", "sodUtc8", "ts"}``.
- ``GET /api/v5/market/candles``: ``instId``, ``bar`` (default ``1m``; ``1m 3m 5m 15m 30m 1H 2H
  4H``, days and longer on Hong Kong time (UTC+8) ``6H 12H 1D 2D 3D 1W 1M 3M`` or on UTC with the
  ``utc`` suffix ``6Hutc`` .. ``3Mutc``), ``after`` (candles that open before this ms), ``before``
  (candles that open after it), ``limit`` (default 100, max 300); newest first, rows ``[ts, o, h,
  l, c, vol, volCcy, volCcyQuote, confirm]``: for spot ``vol`` is base, ``volCcy`` and
  ``volCcyQuote`` quote, ``confirm`` "1" once the candle is closed. A bad ``bar`` or ``limit``
  answers ``51000``.
- Channel ``trades``: one push per print ``{"instId", "tradeId", "px", "sz", "side", "ts",
  "count": "1", "source": "0", "seqId"}`` (the simulator prints one fill per taker order and price
  level, so no aggregation happens).
- Channel ``tickers``: the ticker object, pushed on subscribing and then whenever the best bid or
  ask or the last trade changes (at most once per book update).

A missing parameter answers ``50014``, an unknown ``instId`` ``51001`` (HTTP 200 with the envelope).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.market import MarketModel
from arb.sim.okx_wire import SPOT, error, inst_id, num, ok
from arb.sim.tape import DAY_MS, Candle, PublicTrade, candles, month_candles, window_stats

NAME: Final = "okx"
TRADES: Final = "trades"
TICKERS: Final = "tickers"
MAX_TRADES: Final = 500
UTC8_MS: Final = 8 * 3_600_000
SIDES: Final = MappingProxyType({Side.BUY: "buy", Side.SELL: "sell"})
NO_INST: Final = "Instrument ID, Instrument ID code or Spread ID doesn't exist."
MAX_CANDLES: Final = 300
DEFAULT_CANDLES: Final = 100
_M: Final = 60_000
_H: Final = 60 * _M
HK: Final = -UTC8_MS  # days (and longer) start at midnight Hong Kong time unless the bar ends in "utc"
BARS: Final = MappingProxyType({  # bar -> (length ms, or -months; boundary offset ms)
    "1m": (_M, 0), "3m": (3 * _M, 0), "5m": (5 * _M, 0), "15m": (15 * _M, 0), "30m": (30 * _M, 0),
    "1H": (_H, 0), "2H": (2 * _H, 0), "4H": (4 * _H, 0),
    **{f"{n}H": (n * _H, HK) for n in (6, 12)}, **{f"{n}Hutc": (n * _H, 0) for n in (6, 12)},
    **{f"{n}D": (n * DAY_MS, HK) for n in (1, 2, 3)}, **{f"{n}Dutc": (n * DAY_MS, 0) for n in (1, 2, 3)},
    "1W": (7 * DAY_MS, HK), "1Wutc": (7 * DAY_MS, 0),
    "1M": (-1, HK), "3M": (-3, HK), "1Mutc": (-1, 0), "3Mutc": (-3, 0),
})

Publish = Callable[[str, str], None]  # (topic, frame)
Wants = Callable[[str], bool]


def channel_topic(channel: str, inst: str) -> str:
    """The `Subscribers` topic of a public channel for one instrument."""
    return f"{channel}:{inst}"


class OkxMarketData:
    """The trade and ticker endpoints and channels of one simulated OKX."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], insts: dict[str, Symbol],
                 publish: Publish, wants: Wants) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self._insts = insts
        self._publish = publish
        self._wants = wants
        self._last_top: dict[str, tuple[object, ...]] = {}
        market.trades.subscribe(NAME, self._on_trades)

    def add_routes(self, app: web.Application, prefix: str) -> None:
        app.router.add_get(f"{prefix}/market/trades", self._trades)
        app.router.add_get(f"{prefix}/market/ticker", self._ticker)
        app.router.add_get(f"{prefix}/market/tickers", self._tickers)
        app.router.add_get(f"{prefix}/market/candles", self._candles)

    def symbol(self, request: web.Request) -> Symbol | web.Response:
        """The query's ``instId``, or the answer to give when it is missing or unknown."""
        inst = request.query.get("instId", "")
        if not inst:
            return error("50014", "Parameter instId can not be empty.")
        symbol = self._insts.get(inst)
        return symbol if symbol is not None else error("51001", NO_INST)

    async def _trades(self, request: web.Request) -> web.Response:
        symbol = self.symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        raw = request.query.get("limit", "100")
        if not raw.isdigit() or int(raw) < 1:
            return error("51000", "Parameter limit error")
        trades = self.market.trades.recent(NAME, symbol, min(int(raw), MAX_TRADES))
        return ok([{"instId": inst_id(t.symbol), "side": SIDES[t.side], "sz": num(t.qty), "source": "0",
                    "px": num(t.price), "tradeId": str(t.trade_id), "ts": str(t.ts_ms)}
                   for t in reversed(trades)])

    def ticker(self, symbol: Symbol, now: int) -> dict[str, object]:
        trades = self.market.trades.recent(NAME, symbol)
        mid = self.market.mid(NAME, symbol)
        day = window_stats(trades, now, mid)
        utc0 = window_stats(trades, now, mid, now % DAY_MS or DAY_MS)
        utc8 = window_stats(trades, now, mid, (now + UTC8_MS) % DAY_MS or DAY_MS)
        book = self.market.books[(NAME, symbol)]
        asks, bids = book.levels(False, 1), book.levels(True, 1)
        ask = asks[0] if asks else (Decimal(0), Decimal(0))
        bid = bids[0] if bids else (Decimal(0), Decimal(0))
        return {"instType": SPOT, "instId": inst_id(symbol), "last": num(day.last),
                "lastSz": num(day.last_qty),
                "askPx": num(ask[0]) if asks else "", "askSz": num(ask[1]) if asks else "",
                "bidPx": num(bid[0]) if bids else "", "bidSz": num(bid[1]) if bids else "",
                "open24h": num(day.open), "high24h": num(day.high), "low24h": num(day.low),
                "volCcy24h": num(day.quote_volume), "vol24h": num(day.volume), "sodUtc0": num(utc0.open),
                "sodUtc8": num(utc8.open), "ts": str(now)}

    async def _ticker(self, request: web.Request) -> web.Response:
        symbol = self.symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        return ok([self.ticker(symbol, self._clock_ms())])

    async def _tickers(self, request: web.Request) -> web.Response:
        kind = request.query.get("instType", "")
        if not kind:
            return error("50014", "Parameter instType can not be empty.")
        if kind != SPOT:  # the simulator lists spot pairs only
            return ok([])
        now = self._clock_ms()
        return ok([self.ticker(s, now) for s in self._insts.values() if self.market.listed(NAME, s)])

    async def _candles(self, request: web.Request) -> web.Response:
        symbol = self.symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        q = request.query
        bar = BARS.get(q.get("bar", "1m"))
        if bar is None:
            return error("51000", "Parameter bar error")
        raw = {key: q.get(key, "") for key in ("limit", "after", "before")}
        bad = next((key for key, value in raw.items() if value and not value.isdigit()), None)
        if bad is not None or (raw["limit"] and int(raw["limit"]) < 1):
            return error("51000", f"Parameter {bad or 'limit'} error")
        limit = min(int(raw["limit"] or DEFAULT_CANDLES), MAX_CANDLES)
        after = int(raw["after"]) if raw["after"] else None
        before = int(raw["before"]) if raw["before"] else -1
        length, offset = bar
        now, tape = self._clock_ms(), self.market.trades.recent(NAME, symbol)
        end = after - 1 if after is not None else None
        mid = self.market.mid(NAME, symbol)
        rows: list[Candle] = (
            candles(tape, length, now, limit, mid, end_ms=end, offset_ms=offset) if length > 0
            else month_candles(tape, -length, now, limit, mid, end_ms=end, offset_ms=offset))
        return ok([[str(c.open_ms), num(c.open), num(c.high), num(c.low), num(c.close), num(c.volume),
                    num(c.quote_volume), num(c.quote_volume), "1" if c.closed else "0"]
                   for c in reversed(rows) if c.open_ms > before])

    # ------------------------------------------------------------------ channels

    def ticker_frame(self, symbol: Symbol) -> str:
        inst = inst_id(symbol)
        return json.dumps({"arg": {"channel": TICKERS, "instId": inst},
                           "data": [self.ticker(symbol, self._clock_ms())]})

    def on_book(self, symbol: Symbol) -> None:
        """A book changed: push its ticker to subscribers when the touch moved."""
        inst = inst_id(symbol)
        topic = channel_topic(TICKERS, inst)
        if not self._wants(topic):
            return
        book = self.market.books[(NAME, symbol)]
        top = (*book.levels(True, 1), *book.levels(False, 1))
        if self._last_top.get(inst) == top:
            return
        self._last_top[inst] = top
        self._publish(topic, self.ticker_frame(symbol))

    def _on_trades(self, batch: list[PublicTrade]) -> None:
        for t in batch:
            inst = inst_id(t.symbol)
            topic = channel_topic(TRADES, inst)
            if self._wants(topic):
                self._publish(topic, json.dumps({"arg": {"channel": TRADES, "instId": inst}, "data": [{
                    "instId": inst, "tradeId": str(t.trade_id), "px": num(t.price), "sz": num(t.qty),
                    "side": SIDES[t.side], "ts": str(t.ts_ms), "count": "1", "source": "0",
                    "seqId": t.venue_seq}]}))
            self._last_top.pop(inst, None)  # the last price moved: the next book change pushes a ticker
