"""The ``/api/v3`` spot REST dialect shared by venues that copied Binance's (MEXC does): one
implementation of market data and of query-string HMAC signing, parameterised by each venue's facts.

What differs is data in the venue's package: its paths, weights and weight pool, kline interval
names, symbol spelling, API-key header, percent-encoding, and its codec (the wire types differ in
detail, so each venue keeps its own decoders).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from typing import ClassVar, Protocol
from urllib.parse import quote_plus, urlencode

import msgspec

from arb.config import MARKET_DATA_PRESET, RequestConfig
from arb.model import (
    Kline,
    KlineInterval,
    OrderBook,
    Spelling,
    Symbol,
    SymbolInfo,
    Ticker,
    Trade,
    TransferStatus,
)
from arb.net.contract import Params, SignedRequest
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient
from arb.venues.base import PublicExchangeInterface, RestBacked, decode_body, guarded, transfer_from_chains


class MarketCodec(Protocol):
    """The decoders `V3Public` needs (a venue's codec module)."""

    def decode_time(self, body: bytes) -> int: ...

    def decode_symbols(self, body: bytes) -> list[SymbolInfo]: ...

    def decode_snapshot(self, body: bytes, symbol: Symbol, ts_recv: int) -> OrderBook: ...

    def decode_trades(self, body: bytes, symbol: Symbol, ts_recv: int) -> list[Trade]: ...

    def decode_ticker(self, body: bytes, symbol: Symbol) -> Ticker: ...

    def decode_tickers(self, body: bytes) -> list[Ticker]: ...

    def decode_klines(self, body: bytes, symbol: Symbol, interval: KlineInterval) -> list[Kline]: ...


class MarketFacts(msgspec.Struct, frozen=True, kw_only=True):
    """One venue's ``/api/v3`` market-data endpoints, as data."""

    venue: str
    spelling: Spelling  # its symbol style and renamed assets
    time: str
    exchange_info: str
    depth: str
    trades: str
    ticker: str
    klines: str
    weights: Mapping[str, int]  # path -> request weight
    pool: str  # the rate-limit pool the weights are drawn from
    intervals: Mapping[KlineInterval, str]  # the venue's kline interval names
    depth_weight: Callable[[int], int]  # snapshot weight by its `limit`
    tickers_weight: int  # the 24 h tickers of every symbol at once


class V3Public(RestBacked, PublicExchangeInterface):
    """Spot market data on the ``/api/v3`` dialect. Snapshots go at low priority so orders never wait
    behind them. A venue subclasses it with its `facts` and `codec`."""

    facts: ClassVar[MarketFacts]
    codec: ClassVar[MarketCodec]

    def __init__(self, rest: RestClient, *, kind: RequestConfig = MARKET_DATA_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns

    async def _get(self, path: str, params: list[tuple[str, str]], weight: int | None = None,
                   priority: Priority = Priority.NORMAL) -> bytes:
        draws = {self.facts.pool: self.facts.weights[path] if weight is None else weight}
        body: bytes = await self.rest.request("GET", path, kind=self._kind, params=params, draws=draws,
                                              priority=priority)
        return body

    def _symbol(self, symbol: Symbol) -> tuple[str, str]:
        return ("symbol", self.facts.spelling.venue(symbol))

    async def server_time(self) -> int:
        return self.codec.decode_time(await self._get(self.facts.time, []))

    async def symbols(self) -> list[SymbolInfo]:
        return self.codec.decode_symbols(await self._get(self.facts.exchange_info, []))

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        body = await self._get(self.facts.depth, [self._symbol(symbol), ("limit", str(limit))],
                               self.facts.depth_weight(limit), Priority.SNAPSHOT)
        return self.codec.decode_snapshot(body, symbol, self._clock())

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        body = await self._get(self.facts.trades, [self._symbol(symbol), ("limit", str(limit))])
        return self.codec.decode_trades(body, symbol, self._clock())

    async def ticker(self, symbol: Symbol) -> Ticker:
        return self.codec.decode_ticker(await self._get(self.facts.ticker, [self._symbol(symbol)]), symbol)

    async def tickers(self) -> list[Ticker]:
        return self.codec.decode_tickers(await self._get(self.facts.ticker, [], self.facts.tickers_weight))

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        params = [self._symbol(symbol), ("interval", self.facts.intervals[interval]), ("limit", str(limit))]
        return self.codec.decode_klines(await self._get(self.facts.klines, params), symbol, interval)

    async def close(self) -> None:
        await self.rest.close()


# --------------------------------------------------------------------------- signing


def hmac_sha256_hex(secret: str, payload: str) -> str:
    """lowercase hex(HMAC_SHA256(secret, payload))."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class SignerFacts(msgspec.Struct, frozen=True, kw_only=True):
    """How one venue signs ``/api/v3`` requests."""

    name: str  # shown in repr
    key_header: str  # the API key's header
    recv_window_ms: int
    quote_via: Callable[..., str] = quote_plus  # percent-encoding of the query (MEXC: `quote`)
    headers: Mapping[str, str] = {}  # sent with every signed request (MEXC: a JSON content type)


class QuerySigner:
    """`RequestSigner`: the parameters, recvWindow, timestamp and the signature (HMAC-SHA256 hex of the
    query string immediately followed by the body) all go in the query string."""

    __slots__ = ("_facts", "_key", "_secret")

    def __init__(self, facts: SignerFacts, api_key: str, api_secret: str) -> None:
        self._facts = facts
        self._key = api_key
        self._secret = api_secret

    def __repr__(self) -> str:
        return f"{self._facts.name}(****)"

    def sign(self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int) -> SignedRequest:
        timing = [("recvWindow", str(self._facts.recv_window_ms)), ("timestamp", str(timestamp_ms))]
        query = urlencode([*params, *timing], quote_via=self._facts.quote_via)
        signature = hmac_sha256_hex(self._secret, query + body.decode())
        return SignedRequest(f"{query}&signature={signature}", body,
                             {self._facts.key_header: self._key, **self._facts.headers})


# ---------------------------------------------------------------------------- coin networks


class NetworkMsg(msgspec.Struct):
    """One network of a coin (``networkList[]``); both venues print more (fees, minimums, tips)."""

    depositEnable: bool | None = False
    withdrawEnable: bool | None = False


class CoinMsg(msgspec.Struct):
    """One coin of ``GET .../capital/config/getall`` (Binance ``/sapi/v1``, MEXC ``/api/v3``):
    ``{"coin": "BTC", "name": "Bitcoin", "networkList": [{"network": "BSC", "depositEnable": true,
    "withdrawEnable": false, ...}], ...}`` (Binance adds ``depositAllEnable`` / ``withdrawAllEnable``
    and the balances)."""

    coin: str
    networkList: list[NetworkMsg] | None = None


_COINS = msgspec.json.Decoder(list[CoinMsg], strict=False)


def decode_coins(body: bytes, venue: str, spelling: Spelling) -> dict[str, TransferStatus]:
    """Every coin's status by its common name: open one way when any of its networks is (a coin
    without a network cannot be moved: closed both ways)."""

    @guarded(venue, "coin networks")
    def decode(raw: bytes) -> dict[str, TransferStatus]:
        out = {}
        for coin in decode_body(venue, _COINS, raw, "coin networks"):
            asset = spelling.asset(coin.coin)
            out[asset] = transfer_from_chains(asset, ((bool(n.depositEnable), bool(n.withdrawEnable))
                                                      for n in coin.networkList or ()))
        return out

    return decode(body)


__all__ = ["CoinMsg", "MarketCodec", "MarketFacts", "QuerySigner", "SignerFacts", "V3Public", "decode_coins",
           "hmac_sha256_hex"]
