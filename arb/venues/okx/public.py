"""OKX REST market data (`PublicExchangeInterface`) on `RestClient`.

Every request draws on its endpoint's own budget (OKX limits public REST per IP and endpoint). OKX
answers some errors with HTTP 200 and an error code: `call` decodes through `codec.check` and, for
a rate limit reported that way (50011 with 200), freezes the venue's limiter as a 429 would.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, TypeVar

from arb.config import MARKET_DATA_PRESET, RequestConfig
from arb.errors import RateLimitError
from arb.model import Kline, KlineInterval, OrderBook, Symbol, SymbolInfo, Ticker, Trade
from arb.net.contract import Params
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient
from arb.venues.base import PublicExchangeInterface, RestBacked, TransferSource
from arb.venues.okx import codec
from arb.venues.okx import constants as c

T = TypeVar("T")
BARS: Final = MappingProxyType({
    KlineInterval.M1: "1m", KlineInterval.M5: "5m", KlineInterval.M15: "15m", KlineInterval.M30: "30m",
    KlineInterval.H1: "1H", KlineInterval.H4: "4H", KlineInterval.D1: "1Dutc", KlineInterval.W1: "1Wutc",
})


def _bounded(limit: int, most: int) -> str:
    return str(max(1, min(limit, most)))


def decoded(rest: RestClient, body: bytes, decode: Callable[[bytes], T]) -> T:
    """`decode(body)`; a rate limit the venue reported inside a 2xx body pauses the venue's limiter."""
    try:
        return decode(body)
    except RateLimitError as exc:
        if rest.limiter is not None:
            rest.limiter.on_rate_limited(exc.retry_after)
        raise


class OkxPublic(RestBacked, PublicExchangeInterface):
    """OKX spot market data; book snapshots carry ``seqId``, the `books` channel's sequence."""

    venue = c.VENUE
    transfer_source = TransferSource.SIGNED

    def __init__(self, rest: RestClient, *, kind: RequestConfig = MARKET_DATA_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns

    async def _get(self, path: str, params: Params = (), priority: Priority = Priority.NORMAL) -> bytes:
        draws: Mapping[str, int] = c.DRAWS[path]
        body: bytes = await self.rest.request("GET", path, kind=self._kind, params=params, draws=draws,
                                              priority=priority)
        return body

    @staticmethod
    def _inst(symbol: Symbol) -> tuple[str, str]:
        return ("instId", codec.inst_id(symbol))

    async def server_time(self) -> int:
        return decoded(self.rest, await self._get(c.TIME), codec.decode_time)

    async def symbols(self) -> list[SymbolInfo]:
        return decoded(self.rest, await self._get(c.INSTRUMENTS, [("instType", c.INST_TYPE)]),
                       codec.decode_symbols)

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        params = [self._inst(symbol), ("sz", _bounded(limit, c.SNAPSHOT_LIMIT))]
        body = await self._get(c.BOOKS, params, Priority.SNAPSHOT)
        return decoded(self.rest, body, lambda b: codec.decode_snapshot(b, symbol, self._clock()))

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        body = await self._get(c.TRADES, [self._inst(symbol), ("limit", _bounded(limit, c.TRADES_MAX))])
        return decoded(self.rest, body, lambda b: codec.decode_trades(b, symbol, self._clock()))

    async def ticker(self, symbol: Symbol) -> Ticker:
        body = await self._get(c.TICKER, [self._inst(symbol)])
        return decoded(self.rest, body, lambda b: codec.decode_ticker(b, symbol))

    async def tickers(self) -> list[Ticker]:
        """Every spot instrument's 24 h ticker in one request (``instType=SPOT``)."""
        body = await self._get(c.TICKERS, [("instType", c.INST_TYPE)])
        return decoded(self.rest, body, codec.decode_tickers)

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        params = [self._inst(symbol), ("bar", BARS[interval]), ("limit", _bounded(limit, c.CANDLES_MAX))]
        body = await self._get(c.CANDLES, params)
        return decoded(self.rest, body, lambda b: codec.decode_klines(b, symbol, interval))

    async def close(self) -> None:
        await self.rest.close()
