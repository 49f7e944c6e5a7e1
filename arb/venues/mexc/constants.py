"""MEXC spot v3: facts as data (URLs, paths, channels, pools, maps, error table)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from arb.errors import (
    AuthenticationError,
    ExchangeError,
    InsufficientBalanceError,
    InvalidOrderError,
    InvalidSymbolError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
    TradingDisabledError,
)
from arb.model import OrderStatus, OrderType, Side, Spelling, SymbolStyle, TimeInForce
from arb.net.ratelimit import PoolSpec

VENUE: Final = "mexc"
REST_URL: Final = "https://api.mexc.com"
WS_URL: Final = "wss://wbs-api.mexc.com/ws"
SYMBOL_STYLE: Final = SymbolStyle.CONCAT
# assets MEXC lists under another name than other venues (its code -> the common code): StepN's GMT is
# STEPN there and its own GMT another token; Neo's GAS is GASNEO and its GAS another token
ASSET_ALIASES: Final = MappingProxyType({"STEPN": "GMT", "GMT": "GMTTOKEN", "GASNEO": "GAS", "GAS": "GASDAO"})
SPELLING: Final = Spelling(SYMBOL_STYLE, ASSET_ALIASES)

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
TRADE_FEE: Final = "/api/v3/tradeFee"
CAPITAL_CONFIG: Final = "/api/v3/capital/config/getall"  # every coin's networks (signed, IP weight 10)
LISTEN_KEY: Final = "/api/v3/userDataStream"

DEPTH_CHANNEL: Final = "spot@public.aggre.depth.v3.api.pb@100ms@{symbol}"
DEALS_CHANNEL: Final = "spot@public.aggre.deals.v3.api.pb@100ms@{symbol}"
PRIVATE_CHANNELS: Final = (
    "spot@private.orders.v3.api.pb", "spot@private.deals.v3.api.pb", "spot@private.account.v3.api.pb",
)
MAX_SUBSCRIPTIONS_PER_CONNECTION: Final = 30
WS_SEND_LIMIT: Final = (50.0, 50.0)  # at most 100 messages/s per connection (fact sheet §1.6)
CONNECTION_LIFETIME_S: Final = 24 * 3600
PING_INTERVAL_S: Final = 20.0  # the server closes a subscribed but silent connection after 60 s
LISTEN_KEY_TTL_S: Final = 3600
LISTEN_KEY_RENEW_S: Final = 1800  # PUT (extend by 60 min) this often; MEXC recommends every 30 min
INVALID_LISTEN_KEY: Final = "Invalid listen key"  # text frame on a socket opened with a bad key
RECV_WINDOW_MS: Final = 5000
SNAPSHOT_LIMIT: Final = 1000

WEIGHTS: Final = MappingProxyType({
    TIME: 1, EXCHANGE_INFO: 10, DEPTH: 1, TRADES: 5, KLINES: 1, TICKER_24H: 1, ORDER: 1,
    OPEN_ORDERS: 3, ACCOUNT: 10, MY_TRADES: 10, TRADE_FEE: 20, CAPITAL_CONFIG: 10,
})
QUERY_ORDER_WEIGHT: Final = 2
TICKERS_ALL_WEIGHT: Final = 40  # GET /api/v3/ticker/24hr without a symbol

POOLS: Final = (
    PoolSpec("ip", 500, 10.0),
    PoolSpec("uid", 500, 10.0),
)

STATUS_MAP: Final = MappingProxyType({
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PARTIALLY_CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.NEW,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
})
# privateOrders.status on the user stream
STREAM_STATUS_MAP: Final = MappingProxyType({
    1: OrderStatus.NEW, 2: OrderStatus.FILLED, 3: OrderStatus.PARTIALLY_FILLED,
    4: OrderStatus.CANCELED, 5: OrderStatus.CANCELED,
})

# privateOrders.orderType -> (type, time in force); tradeType (orders, deals) -> side
STREAM_ORDER_TYPES: Final = MappingProxyType({
    1: (OrderType.LIMIT, TimeInForce.GTC), 2: (OrderType.LIMIT_MAKER, TimeInForce.GTC),
    3: (OrderType.LIMIT, TimeInForce.IOC), 4: (OrderType.LIMIT, TimeInForce.FOK),
    5: (OrderType.MARKET, TimeInForce.IOC),
})
TRADE_SIDES: Final = MappingProxyType({1: Side.BUY, 2: Side.SELL})

CLIENT_ID_MAX_LEN: Final = 32  # undocumented; hummingbot's cap
CLIENT_ID_CHARS: Final = r"^[0-9A-Za-z_-]{1,32}$"
CLIENT_ID_ALPHABET: Final = string.ascii_letters + string.digits + "_-"

# codes that leave a write's fate unknown (fact sheet 1.1: server-side errors have "unknown execution
# status"; MEXC's code table names them 500 internal error, 503 service not available, 504 gateway
# timeout, and sends them in the body whatever the status line)
OUTCOME_UNKNOWN_CODES: Final = frozenset({500, 503, 504})

ERROR_CODES: Final[Mapping[int, type[ExchangeError]]] = MappingProxyType({
    **dict.fromkeys(OUTCOME_UNKNOWN_CODES, OrderOutcomeUnknownError),
    -2011: OrderNotFoundError,
    -2013: OrderNotFoundError,
    400: AuthenticationError,
    401: AuthenticationError,
    403: AuthenticationError,
    429: RateLimitError,
    602: AuthenticationError,
    700001: AuthenticationError,
    700002: AuthenticationError,
    700003: TimestampError,
    700004: InvalidOrderError,
    700005: InvalidOrderError,
    700006: AuthenticationError,
    700007: AuthenticationError,
    700008: InvalidOrderError,
    10007: InvalidSymbolError,
    30014: InvalidSymbolError,
    30021: InvalidSymbolError,
    730001: InvalidSymbolError,
    10101: InsufficientBalanceError,
    30004: InsufficientBalanceError,
    30005: InsufficientBalanceError,
    30002: InvalidOrderError,
    30003: InvalidOrderError,
    30000: TradingDisabledError,
    30016: TradingDisabledError,
    30018: TradingDisabledError,
    30019: TradingDisabledError,
    30020: TradingDisabledError,
    30029: InvalidOrderError,
    30041: InvalidOrderError,
    33333: InvalidOrderError,
    44444: InvalidOrderError,
    70011: InvalidSymbolError,
})
