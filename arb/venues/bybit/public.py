"""Bybit REST market data (`PublicExchangeInterface`) on `RestClient`, and the one request path
(`call`) both connectors use.

Business errors come back with HTTP 200 and a non-zero ``retCode``: `call` opens the envelope and
raises the error the code table names (a write's outcome-unknown codes as
`OrderOutcomeUnknownError`). A ``retCode`` rate limit (10006, ...) freezes the venue's limiter as a
429 does; an HTTP 403 (IP limit "access too frequent", forbidden region) halts it for 10 minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

from arb.config import MARKET_DATA_PRESET, RequestConfig
from arb.errors import (
    ExchangeError,
    ExchangeUnavailableError,
    InvalidOrderError,
    InvalidSymbolError,
    IPBannedError,
    OrderOutcomeUnknownError,
    RateLimitError,
)
from arb.model import Kline, KlineInterval, OrderBook, Symbol, SymbolInfo, Ticker, Trade
from arb.net.contract import Params
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient, decode_write_reply
from arb.venues.base import PublicExchangeInterface, RestBacked, TransferSource
from arb.venues.bybit import codec
from arb.venues.bybit import constants as c

FORBIDDEN = 403
INTERVALS: Mapping[KlineInterval, str] = MappingProxyType({
    KlineInterval.M1: "1", KlineInterval.M5: "5", KlineInterval.M15: "15", KlineInterval.M30: "30",
    KlineInterval.H1: "60", KlineInterval.H4: "240", KlineInterval.D1: "D", KlineInterval.W1: "W",
})


def api_error(env: codec.EnvelopeResp, what: str, *, idempotent: bool, client_order_id: str | None = None,
              http_status: int = 200) -> ExchangeError:
    """The error an envelope with a non-zero ``retCode`` stands for, by the same rules as a non-2xx
    answer (`arb.net.rest`): a write answered with an outcome-unknown code is
    `OrderOutcomeUnknownError` (reconcile by orderLinkId), a read so answered is only unavailable."""
    code = env.retCode
    cls = codec.error_class(http_status, code)
    text = f"{what}: {env.retMsg}"
    if issubclass(cls, RateLimitError):
        return cls(c.VENUE, text, http_status=http_status, api_code=code)
    if issubclass(cls, OrderOutcomeUnknownError):
        if idempotent:
            return ExchangeUnavailableError(c.VENUE, text, http_status=http_status, api_code=code)
        return OrderOutcomeUnknownError(c.VENUE, text, client_order_id=client_order_id,
                                        http_status=http_status, api_code=code)
    return cls(c.VENUE, text, http_status=http_status, api_code=code)


async def call(rest: RestClient, method: str, path: str, *, kind: RequestConfig, draws: Mapping[str, int],
               params: Params = (), body: bytes = b"", signed: bool = False,
               priority: Priority = Priority.NORMAL,
               client_order_id: str | None = None) -> codec.EnvelopeResp:
    """Send one request; the envelope of a ``retCode == 0`` answer, else the mapped error."""
    idempotent = method == "GET"
    what = f"{method} {path}"
    try:
        raw = await rest.request(method, path, kind=kind, params=params, body=body, signed=signed,
                                 draws=draws, priority=priority, client_order_id=client_order_id)
    except IPBannedError as exc:
        if exc.http_status == FORBIDDEN and rest.limiter is not None:
            rest.limiter.on_banned(c.IP_BAN_S)
        raise
    if idempotent:
        env = codec.decode_envelope(raw, what)
    else:  # the venue took the write: an answer we cannot read leaves its fate unknown
        env = decode_write_reply(c.VENUE, what, client_order_id, lambda: codec.decode_envelope(raw, what))
    if env.retCode != c.OK_CODE:
        error = api_error(env, what, idempotent=idempotent, client_order_id=client_order_id)
        if isinstance(error, RateLimitError) and rest.limiter is not None:
            rest.limiter.on_rate_limited(None)
        raise error
    return env


class BybitPublic(RestBacked, PublicExchangeInterface):
    """Bybit spot market data. Snapshots go at low priority so orders never wait behind them."""

    venue = c.VENUE
    transfer_source = TransferSource.SIGNED

    def __init__(self, rest: RestClient, *, kind: RequestConfig = MARKET_DATA_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns

    async def _get(self, path: str, params: Params,
                   priority: Priority = Priority.NORMAL) -> codec.EnvelopeResp:
        """A market-data read. Its only parameter from the caller is the symbol (category, limit and
        interval are ours and valid), so a ``10001`` params error here names an unknown symbol:
        Bybit answers ``{"retCode": 10001, "retMsg": "params error: symbol invalid"}`` for one."""
        try:
            return await call(self.rest, "GET", path, kind=self._kind,
                              params=[("category", c.CATEGORY), *params],
                              draws=c.PUBLIC_DRAWS, priority=priority)
        except InvalidOrderError as exc:
            if exc.api_code != c.PARAMS_ERROR or not any(k == "symbol" for k, _ in params):
                raise
            raise InvalidSymbolError(c.VENUE, exc.message, http_status=exc.http_status,
                                     api_code=exc.api_code) from None

    @staticmethod
    def _sym(symbol: Symbol) -> tuple[str, str]:
        return "symbol", c.SPELLING.venue(symbol)

    async def server_time(self) -> int:
        env = await call(self.rest, "GET", c.TIME, kind=self._kind, draws=c.PUBLIC_DRAWS)
        return codec.decode_time(env.result)

    async def symbols(self) -> list[SymbolInfo]:
        return codec.decode_symbols((await self._get(c.INSTRUMENTS, [])).result)

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        env = await self._get(c.ORDERBOOK, [self._sym(symbol), ("limit", str(max(1, min(limit, 1000))))],
                              Priority.SNAPSHOT)
        return codec.decode_snapshot(env.result, symbol, self._clock())

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        limit = max(1, min(limit, c.RECENT_TRADES_MAX))
        env = await self._get(c.RECENT_TRADES, [self._sym(symbol), ("limit", str(limit))])
        return codec.decode_trades(env.result, symbol, self._clock())

    async def ticker(self, symbol: Symbol) -> Ticker:
        env = await self._get(c.TICKERS, [self._sym(symbol)])
        return codec.decode_ticker(env.result, symbol, env.time)

    async def tickers(self) -> list[Ticker]:
        """Every spot symbol's 24 h ticker in one request (``tickers`` without ``symbol``)."""
        env = await self._get(c.TICKERS, [])
        return codec.decode_tickers(env.result, env.time)

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        params = [self._sym(symbol), ("interval", INTERVALS[interval]),
                  ("limit", str(max(1, min(limit, c.KLINES_MAX))))]
        env = await self._get(c.KLINES, params)
        return codec.decode_klines(env.result, symbol, interval, env.time or self._clock() // 1_000_000)

    async def close(self) -> None:
        await self.rest.close()
