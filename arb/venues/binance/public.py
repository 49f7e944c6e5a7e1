"""Binance REST market data (`PublicExchangeInterface`) on `RestClient`."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import MappingProxyType

from arb.config import MARKET_DATA_PRESET, RequestConfig
from arb.model import Kline, KlineInterval, OrderBook, Symbol, SymbolInfo, Ticker, Trade
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient
from arb.venues.base import PublicExchangeInterface
from arb.venues.binance import codec
from arb.venues.binance import constants as c

INTERVALS = MappingProxyType({KlineInterval.M1: "1m", KlineInterval.M5: "5m", KlineInterval.M15: "15m",
             KlineInterval.M30: "30m", KlineInterval.H1: "1h", KlineInterval.H4: "4h",
             KlineInterval.D1: "1d", KlineInterval.W1: "1w"})


class BinancePublic(PublicExchangeInterface):
    """Binance spot market data. Snapshots go at low priority so orders never wait behind them."""

    venue = c.VENUE

    def __init__(self, rest: RestClient, *, kind: RequestConfig = MARKET_DATA_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns

    async def _get(self, path: str, params: list[tuple[str, str]], weight: int,
                   priority: Priority = Priority.NORMAL) -> bytes:
        body: bytes = await self.rest.request("GET", path, kind=self._kind, params=params,
                                              draws={"weight": weight}, priority=priority)
        return body

    async def server_time(self) -> int:
        return codec.decode_time(await self._get(c.TIME, [], c.WEIGHTS[c.TIME]))

    async def symbols(self) -> list[SymbolInfo]:
        return codec.decode_symbols(await self._get(c.EXCHANGE_INFO, [], c.WEIGHTS[c.EXCHANGE_INFO]))

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        body = await self._get(c.DEPTH, [("symbol", symbol.to_venue(c.SYMBOL_STYLE)), ("limit", str(limit))],
                               c.depth_weight(limit), Priority.SNAPSHOT)
        return codec.decode_snapshot(body, symbol, self._clock())

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        body = await self._get(c.TRADES, [("symbol", symbol.to_venue(c.SYMBOL_STYLE)), ("limit", str(limit))],
                               c.WEIGHTS[c.TRADES])
        return codec.decode_trades(body, symbol, self._clock())

    async def ticker(self, symbol: Symbol) -> Ticker:
        body = await self._get(c.TICKER_24H, [("symbol", symbol.to_venue(c.SYMBOL_STYLE))],
                               c.WEIGHTS[c.TICKER_24H])
        return codec.decode_ticker(body, symbol)

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        params = [("symbol", symbol.to_venue(c.SYMBOL_STYLE)), ("interval", INTERVALS[interval]),
                  ("limit", str(limit))]
        return codec.decode_klines(await self._get(c.KLINES, params, c.WEIGHTS[c.KLINES]), symbol, interval)

    async def close(self) -> None:
        await self.rest.close()
