"""Gate.io REST market data (`PublicExchangeInterface`) on `RestClient`."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import MappingProxyType

from arb.config import MARKET_DATA_PRESET, RequestConfig
from arb.model import Kline, KlineInterval, OrderBook, Symbol, SymbolInfo, Ticker, Trade, TransferStatus
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient
from arb.venues.base import PublicExchangeInterface, RestBacked, TransferSource
from arb.venues.gateio import codec
from arb.venues.gateio import constants as c

INTERVALS = MappingProxyType({KlineInterval.M1: "1m", KlineInterval.M5: "5m", KlineInterval.M15: "15m",
             KlineInterval.M30: "30m", KlineInterval.H1: "1h", KlineInterval.H4: "4h",
             KlineInterval.D1: "1d", KlineInterval.W1: "7d"})


class GatePublic(RestBacked, PublicExchangeInterface):
    """Gate spot market data; snapshots use ``with_id=true`` and at most 100 levels."""

    venue = c.VENUE
    transfer_source = TransferSource.PUBLIC

    def __init__(self, rest: RestClient, *, kind: RequestConfig = MARKET_DATA_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns

    async def _get(self, path: str, params: list[tuple[str, str]],
                   priority: Priority = Priority.NORMAL) -> bytes:
        body: bytes = await self.rest.request("GET", path, kind=self._kind, params=params,
                                              draws={"public": 1}, priority=priority)
        return body

    def _pair(self, symbol: Symbol) -> tuple[str, str]:
        return ("currency_pair", c.SPELLING.venue(symbol))

    async def server_time(self) -> int:
        return codec.decode_time(await self._get(c.TIME, []))

    async def symbols(self) -> list[SymbolInfo]:
        return codec.decode_symbols(await self._get(c.CURRENCY_PAIRS, []))

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        params = [self._pair(symbol), ("limit", str(min(limit, c.SNAPSHOT_LIMIT))), ("with_id", "true")]
        return codec.decode_snapshot(await self._get(c.ORDER_BOOK, params, Priority.SNAPSHOT), symbol,
                                     self._clock())

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        body = await self._get(c.TRADES, [self._pair(symbol), ("limit", str(limit))])
        return codec.decode_trades(body, symbol, self._clock())

    async def ticker(self, symbol: Symbol) -> Ticker:
        return codec.decode_ticker(await self._get(c.TICKERS, [self._pair(symbol)]), symbol)

    async def tickers(self) -> list[Ticker]:
        return codec.decode_tickers(await self._get(c.TICKERS, []))

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        return codec.decode_currencies(await self._get(c.CURRENCIES, []))

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        params = [self._pair(symbol), ("interval", INTERVALS[interval]), ("limit", str(limit))]
        return codec.decode_klines(await self._get(c.CANDLES, params), symbol, interval)

    async def close(self) -> None:
        await self.rest.close()
