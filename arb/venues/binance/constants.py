"""Binance spot: facts as data (URLs, paths, weights, pools, maps, error table)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from arb.errors import (
    AuthenticationError,
    ExchangeError,
    InvalidOrderError,
    InvalidSymbolError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
)
from arb.model import OrderStatus, Spelling, SymbolStyle
from arb.net.ratelimit import PoolSpec

VENUE: Final = "binance"
REST_URL: Final = "https://api.binance.com"
WS_URL: Final = "wss://stream.binance.com:9443"
WS_API_URL: Final = "wss://ws-api.binance.com:443/ws-api/v3"
SYMBOL_STYLE: Final = SymbolStyle.CONCAT
STREAM_SYMBOL_STYLE: Final = SymbolStyle.LOWER_CONCAT
# assets Binance lists under another name than other venues (its code -> the common code)
ASSET_ALIASES: Final = MappingProxyType({"YOYO": "YOYOW"})
SPELLING: Final = Spelling(SYMBOL_STYLE, ASSET_ALIASES)

# REST paths
TIME: Final = "/api/v3/time"
EXCHANGE_INFO: Final = "/api/v3/exchangeInfo"
DEPTH: Final = "/api/v3/depth"
TRADES: Final = "/api/v3/trades"
KLINES: Final = "/api/v3/klines"
TICKER_24H: Final = "/api/v3/ticker/24hr"
ORDER: Final = "/api/v3/order"
OPEN_ORDERS: Final = "/api/v3/openOrders"
ACCOUNT: Final = "/api/v3/account"
MY_TRADES: Final = "/api/v3/myTrades"
COMMISSION: Final = "/api/v3/account/commission"
CAPITAL_CONFIG: Final = "/sapi/v1/capital/config/getall"  # every coin's networks (USER_DATA, signed)

# stream names (lowercase symbol)
DEPTH_STREAM: Final = "{symbol}@depth@100ms"
TRADE_STREAM: Final = "{symbol}@trade"
MAX_STREAMS_PER_CONNECTION: Final = 1024
CONNECTION_LIFETIME_S: Final = 24 * 3600
# 5 incoming messages/s per connection, 300 connection attempts per 5 min per IP (fact sheet §3.8):
# buckets sized so that capacity + rate x window stays within each limit
WS_SEND_LIMIT: Final = (2.0, 3.0)
WS_CONNECT_BUDGET: Final = (60.0, 0.8)
RECV_WINDOW_MS: Final = 5000

# user data: WebSocket API (listenKey streams were retired on 2026-02-20)
WS_API_PATH: Final = "/ws-api/v3"
USER_SUBSCRIBE: Final = "userDataStream.subscribe.signature"
USER_UNSUBSCRIBE: Final = "userDataStream.unsubscribe"
WS_API_PING: Final = "ping"
USER_CHANNEL: Final = "userData"  # the user stream's one "channel" on its WsClient
WS_API_PING_INTERVAL_S: Final = 20.0  # app-level ping: the user stream can stay silent for hours


def ws_api_url(ws_url: str) -> str:
    """The WebSocket API URL beside a market-data WS base (the real one for the real base)."""
    if ws_url.rstrip("/") in (WS_URL, "wss://stream.binance.com:443", "wss://stream.binance.com"):
        return WS_API_URL
    return ws_url.rstrip("/") + WS_API_PATH


def depth_weight(limit: int) -> int:
    """GET /api/v3/depth weight by limit (5 / 25 / 50 / 250)."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


WEIGHTS: Final = MappingProxyType({
    TIME: 1, EXCHANGE_INFO: 20, TRADES: 25, KLINES: 2, TICKER_24H: 2, ORDER: 1, OPEN_ORDERS: 6,
    ACCOUNT: 20, MY_TRADES: 20, COMMISSION: 20,
    CAPITAL_CONFIG: 10,  # a SAPI IP weight: drawn from the one weight pool here (conservative)
})
QUERY_ORDER_WEIGHT: Final = 4
TICKERS_ALL_WEIGHT: Final = 80  # GET /api/v3/ticker/24hr without a symbol

POOLS: Final = (
    PoolSpec("weight", 6000, 60.0, header="X-MBX-USED-WEIGHT-1M"),
    PoolSpec("orders", 100, 10.0, header="X-MBX-ORDER-COUNT-10S"),
    PoolSpec("orders_day", 200_000, 86_400.0, header="X-MBX-ORDER-COUNT-1D"),
)

STATUS_MAP: Final = MappingProxyType({
    "NEW": OrderStatus.NEW,
    "PENDING_NEW": OrderStatus.PENDING_NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.NEW,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
})

CLIENT_ID_MAX_LEN: Final = 36
CLIENT_ID_CHARS: Final = r"^[.A-Z:/a-z0-9_-]{1,36}$"
CLIENT_ID_ALPHABET: Final = string.ascii_letters + string.digits + ".:/_-"
SNAPSHOT_LIMIT: Final = 1000  # levels per side of the REST snapshot the book is bridged onto

# api code -> error class. -2010 (NEW_ORDER_REJECTED) covers several reasons (balance, LIMIT_MAKER
# would take, ...) that only its text tells apart: it maps to InvalidOrderError, never by text.
# codes that leave a write's fate unknown whatever the status line (fact sheet 3.1, 3.7): -1000
# UNKNOWN (an unknown error while processing), -1006 UNEXPECTED_RESP and -1007 TIMEOUT ("execution
# status unknown"). A write answered so is resolved by query; a read is merely "unavailable".
OUTCOME_UNKNOWN_CODES: Final = frozenset({-1000, -1006, -1007})

ERROR_CODES: Final[Mapping[int, type[ExchangeError]]] = MappingProxyType({
    **dict.fromkeys(OUTCOME_UNKNOWN_CODES, OrderOutcomeUnknownError),
    -1003: RateLimitError,
    -1013: InvalidOrderError,  # filter failure
    -1015: RateLimitError,  # too many orders
    -1021: TimestampError,
    -1022: AuthenticationError,
    -1100: InvalidOrderError,
    -1102: InvalidOrderError,
    -1121: InvalidSymbolError,
    -2010: InvalidOrderError,
    -2011: OrderNotFoundError,
    -2013: OrderNotFoundError,
    -2014: AuthenticationError,
    -2015: AuthenticationError,
})
