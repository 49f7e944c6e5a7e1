"""Market data of any ccxt exchange (`PublicExchangeInterface`).

Symbols and their rules come from ccxt's markets (spot only; tick and step from its precision,
minimum and maximum quantity and notional from its limits, maker/taker fees from its fee table);
book snapshots from ``fetch_order_book`` (the book's ``nonce`` is its update id where the exchange
gives one); recent trades, tickers and candles from the unified calls; deposit / withdrawal status
per asset from ``fetch_currencies`` where ccxt implements it (`exchange.transfer_source`: read here
when it is public, by the signed connector when the exchange publishes it to signed requests only).
Reads are retried on network errors as the venue's ``market_data`` settings say (retries, jittered
exponential backoff).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from arb.config import MARKET_DATA_PRESET, RequestConfig
from arb.errors import DecodeError, ExchangeUnavailableError, InvalidSymbolError, RateLimitError
from arb.model import Kline, KlineInterval, OrderBook, Symbol, SymbolInfo, Ticker, Trade, TransferStatus
from arb.venues.base import MALFORMED, PublicExchangeInterface, TransferSource
from arb.venues.ccxt import convert
from arb.venues.ccxt.exchange import transfer_source

T = TypeVar("T")
MS: Final = 1_000_000
TIMEFRAMES: Final = {KlineInterval.M1: "1m", KlineInterval.M5: "5m", KlineInterval.M15: "15m",
                     KlineInterval.M30: "30m", KlineInterval.H1: "1h", KlineInterval.H4: "4h",
                     KlineInterval.D1: "1d", KlineInterval.W1: "1w"}


class CcxtConnector:
    """What the public and private connectors share: the ccxt client, markets, retried reads."""

    venue: str

    def __init__(self, venue: str, client: Any, kind: RequestConfig, clock_ns: Callable[[], int]) -> None:
        self.venue = venue
        self.client = client
        self._kind = kind
        self._clock = clock_ns
        self._markets_lock = asyncio.Lock()
        self._sequence = itertools.count(1)  # update ids for books whose exchange gives none

    async def markets(self) -> dict[str, Any]:
        """ccxt's markets, loaded once (retried like every read)."""
        if not self.client.markets:
            async with self._markets_lock:
                if not self.client.markets:
                    await self.read(self.client.load_markets)
        markets: dict[str, Any] = self.client.markets
        return markets

    async def market(self, symbol: Symbol) -> dict[str, Any]:
        market = (await self.markets()).get(convert.pair(symbol))
        if market is None or not convert.is_spot(market):
            raise InvalidSymbolError(self.venue, f"{symbol} is not a spot market here")
        return dict(market)

    async def read(self, call: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`call` with the venue's read retries on network errors; failures as arb errors."""
        delay = self._kind.backoff_base_s
        for attempt in itertools.count():
            try:
                return await call(*args, **kwargs)
            except Exception as exc:  # ccxt's (and aiohttp's) errors, mapped
                error = convert.error(self.venue, exc)
            retriable = isinstance(error, ExchangeUnavailableError) and not isinstance(error, RateLimitError)
            if not retriable or attempt >= self._kind.retries:
                raise error
            await asyncio.sleep(min(delay, self._kind.backoff_max_s) * random.uniform(0.5, 1.0))
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    async def currencies(self) -> dict[str, TransferStatus] | None:
        """Transfer status per asset from ccxt's ``fetch_currencies`` (`convert.transfer_statuses`);
        None when that says nothing: ccxt answers {} where it will not ask (no keys, a sandbox), and
        some exchanges' currencies carry no deposit / withdraw flags at all."""
        found = await self.read(self.client.fetch_currencies)
        try:
            statuses = convert.transfer_statuses(found or {})
        except MALFORMED as exc:
            raise DecodeError(self.venue, "currencies", f"{type(exc).__name__}: {exc}", b"") from None
        return statuses or None

    def update_id(self, nonce: Any) -> int:
        """The book's update id: the exchange's nonce, else a local sequence."""
        return int(nonce) if isinstance(nonce, int) and nonce > 0 else next(self._sequence)

    async def close(self) -> None:
        await self.client.close()


class CcxtPublic(CcxtConnector, PublicExchangeInterface):
    """REST market data of one ccxt exchange (`client`: a configured ccxt instance)."""

    def __init__(self, venue: str, client: Any, *, kind: RequestConfig = MARKET_DATA_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        super().__init__(venue, client, kind, clock_ns)
        self.transfer_source = transfer_source(client)

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Read here where ccxt publishes it without keys (`transfer_source` PUBLIC)."""
        return await self.currencies() if self.transfer_source is TransferSource.PUBLIC else None

    async def server_time(self) -> int:
        """The exchange's clock (ms) where it publishes one, else the local clock."""
        if self.client.has.get("fetchTime"):
            return int(await self.read(self.client.fetch_time))
        return self._clock() // MS

    async def symbols(self) -> list[SymbolInfo]:
        markets = await self.markets()
        mode = int(self.client.precisionMode)
        return [convert.symbol_info(self.venue, m, mode) for m in markets.values() if convert.is_spot(m)]

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        market = await self.market(symbol)
        book = await self.read(self.client.fetch_order_book, market["symbol"], limit)
        return convert.order_book(self.venue, symbol, book, limit, self.update_id(book.get("nonce")),
                                  self._clock())

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        market = await self.market(symbol)
        rows = await self.read(self.client.fetch_trades, market["symbol"], None, limit)
        now = self._clock()
        return [convert.trade(self.venue, symbol, row, now) for row in rows]

    async def ticker(self, symbol: Symbol) -> Ticker:
        market = await self.market(symbol)
        raw = await self.read(self.client.fetch_ticker, market["symbol"])
        return Ticker(self.venue, symbol, float(raw.get("last") or 0.0), float(raw.get("bid") or 0.0),
                      float(raw.get("ask") or 0.0), float(raw.get("baseVolume") or 0.0),
                      float(raw.get("quoteVolume") or 0.0), int(raw.get("timestamp") or 0) * MS)

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        market = await self.market(symbol)
        rows = await self.read(self.client.fetch_ohlcv, market["symbol"], TIMEFRAMES[interval], None, limit)
        return [Kline(self.venue, symbol, interval, int(r[0]) * MS, float(r[1]), float(r[2]), float(r[3]),
                      float(r[4]), float(r[5] or 0.0)) for r in rows]
