"""Bybit v5 spot (``category=spot``): facts as data (URLs, paths, topics, pools, maps, error table).

Source: the OKX/Bybit fact sheet, §2 (shared/docs/exchange-protocols-okx-bybit.md).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from arb.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientBalanceError,
    InvalidOrderError,
    InvalidSymbolError,
    IPBannedError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
    TradingDisabledError,
)
from arb.model import OrderStatus, OrderType, Side, Spelling, SymbolStatus, SymbolStyle, TimeInForce
from arb.net.ratelimit import PoolSpec

VENUE: Final = "bybit"
REST_URL: Final = "https://api.bybit.com"
WS_URL: Final = "wss://stream.bybit.com/v5/public/spot"
WS_PRIVATE_URL: Final = "wss://stream.bybit.com/v5/private"
SYMBOL_STYLE: Final = SymbolStyle.CONCAT  # BTCUSDT, upper case only
# assets Bybit lists under another code than everyone else: its code -> the common code. None is
# known (ccxt keeps no Bybit-specific `commonCurrencies`); the table is where one goes, and every
# symbol and asset crosses the package edge through SPELLING so an entry takes effect everywhere
ASSET_ALIASES: Final[Mapping[str, str]] = MappingProxyType({})
SPELLING: Final = Spelling(SYMBOL_STYLE, ASSET_ALIASES)
CATEGORY: Final = "spot"
ACCOUNT_TYPE: Final = "UNIFIED"  # balances of the Unified Trading Account

# REST paths (§2.2, §2.3)
TIME: Final = "/v5/market/time"
INSTRUMENTS: Final = "/v5/market/instruments-info"
ORDERBOOK: Final = "/v5/market/orderbook"
TICKERS: Final = "/v5/market/tickers"
RECENT_TRADES: Final = "/v5/market/recent-trade"
KLINES: Final = "/v5/market/kline"
CREATE_ORDER: Final = "/v5/order/create"
CANCEL_ORDER: Final = "/v5/order/cancel"
OPEN_ORDERS: Final = "/v5/order/realtime"  # open + the recent 500 closed when asked by id
ORDER_HISTORY: Final = "/v5/order/history"
EXECUTIONS: Final = "/v5/execution/list"
WALLET: Final = "/v5/account/wallet-balance"
FEE_RATE: Final = "/v5/account/fee-rate"
COIN_INFO: Final = "/v5/asset/coin/query-info"  # transfer status per coin and chain (signed)

SNAPSHOT_LIMIT: Final = 200  # REST book levels per side asked for on a resync (spot takes 1-1000)
RECENT_TRADES_MAX: Final = 60
KLINES_MAX: Final = 1000
ORDERS_PAGE_MAX: Final = 50
EXECUTIONS_MAX: Final = 100
RECV_WINDOW_MS: Final = 5000

# --------------------------------------------------------------------------- WebSocket (§2.8-2.10)

DEPTHS: Final = (50, 200)  # the depth topics this connector maintains a book from
DEPTH: Final = 200  # default: the REST book's ``u`` is documented to follow the 200-level stream
DEPTH_TOPIC: Final = "orderbook.{depth}.{symbol}"
DEPTH_PREFIX: Final = "orderbook."
TRADE_TOPIC: Final = "publicTrade.{symbol}"
TRADE_PREFIX: Final = "publicTrade."
SNAPSHOT: Final = "snapshot"
DELTA: Final = "delta"
RESTART_ID: Final = 1  # a book whose ``u`` is 1 starts over (service restart)
PUBLIC_ARGS_PER_REQUEST: Final = 10  # spot public subscribe requests carry at most 10 topics
# at most 21,000 characters of args per public connection: 500 topics of <= 40 characters
MAX_TOPICS_PER_CONNECTION: Final = 500
# <= 500 new connections per 5 min per domain: capacity + rate x 300 s stays under it
WS_CONNECT_BUDGET: Final = (100.0, 1.0)
PING_INTERVAL_S: Final = 20.0  # {"op": "ping"} about every 20 s

# private stream: auth op first, then the topics (the "auth" pseudo-channel goes first in the list)
AUTH_CHANNEL: Final = "auth"
ORDER_TOPIC: Final = "order.spot"
EXECUTION_TOPIC: Final = "execution.spot"
WALLET_TOPIC: Final = "wallet"
PRIVATE_TOPICS: Final = (ORDER_TOPIC, EXECUTION_TOPIC, WALLET_TOPIC)
# pushes may come under the all-category names too ("order" and "order.spot" are alternatives)
ORDER_TOPICS: Final = frozenset({"order", ORDER_TOPIC})
EXECUTION_TOPICS: Final = frozenset({"execution", EXECUTION_TOPIC})
WALLET_TOPICS: Final = frozenset({WALLET_TOPIC})
WS_AUTH_PATH: Final = "GET/realtime"  # signed with the expiry: hex(HMAC_SHA256(secret, path + expires))
WS_AUTH_EXPIRY_MS: Final = 10_000  # how far in the future the auth request's ``expires`` lies

# --------------------------------------------------------------------------- rate limits (§2.6)

IP_POOL: Final = "ip"
IP_BAN_S: Final = 600.0  # HTTP 403 "access too frequent": stop every session for >= 10 min
POOLS: Final = (
    PoolSpec(IP_POOL, 600, 5.0),  # 600 requests per rolling 5 s per IP, all endpoints together
    PoolSpec("create", 20, 1.0),  # per UID, per endpoint per second
    PoolSpec("cancel", 20, 1.0),
    PoolSpec("realtime", 50, 1.0),
    PoolSpec("history", 50, 1.0),
    PoolSpec("executions", 50, 1.0),
    PoolSpec("wallet", 50, 1.0),
    PoolSpec("fees", 5, 1.0),
    PoolSpec("coins", 2, 1.0),  # coin info: 2 per second (ccxt 4.5.90 costs it 25 of 50/s)
)
PUBLIC_DRAWS: Final = MappingProxyType({IP_POOL: 1})
DRAWS: Final = MappingProxyType({
    CREATE_ORDER: MappingProxyType({IP_POOL: 1, "create": 1}),
    CANCEL_ORDER: MappingProxyType({IP_POOL: 1, "cancel": 1}),
    OPEN_ORDERS: MappingProxyType({IP_POOL: 1, "realtime": 1}),
    ORDER_HISTORY: MappingProxyType({IP_POOL: 1, "history": 1}),
    EXECUTIONS: MappingProxyType({IP_POOL: 1, "executions": 1}),
    WALLET: MappingProxyType({IP_POOL: 1, "wallet": 1}),
    FEE_RATE: MappingProxyType({IP_POOL: 1, "fees": 1}),
    COIN_INFO: MappingProxyType({IP_POOL: 1, "coins": 1}),
})

# --------------------------------------------------------------------------- maps

SIDES: Final = MappingProxyType({"Buy": Side.BUY, "Sell": Side.SELL})
SIDE_NAMES: Final = MappingProxyType({Side.BUY: "Buy", Side.SELL: "Sell"})
ORDER_TYPES: Final = MappingProxyType({"Limit": OrderType.LIMIT, "Market": OrderType.MARKET})
TIME_IN_FORCE: Final = MappingProxyType({
    "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "PostOnly": TimeInForce.GTC,
})
TIF_NAMES: Final = MappingProxyType({TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"})
POST_ONLY: Final = "PostOnly"
BASE_COIN: Final = "baseCoin"  # marketUnit: a market buy sized in base (the default is quote)
TRADE_EXEC: Final = "Trade"  # execType of a fill; Funding, AdlTrade, BustTrade, ... are not ours

# orderStatus (spot): PartiallyFilledCanceled is an IOC/market remainder cancelled, spot only
STATUS_MAP: Final = MappingProxyType({
    "New": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Untriggered": OrderStatus.NEW,
    "Triggered": OrderStatus.NEW,  # transient: becomes an ordinary order
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELED,
    "PartiallyFilledCanceled": OrderStatus.EXPIRED,
    "Rejected": OrderStatus.REJECTED,
    "Deactivated": OrderStatus.CANCELED,
})
# a cancel the venue made because of the time in force is an expiry, as on the other venues
EXPIRY_REASONS: Final = frozenset({
    "EC_NoImmediateQtyToFill", "EC_CancelForNoFullFill", "EC_PostOnlyWillTakeLiquidity",
})
SYMBOL_STATUS: Final = MappingProxyType({
    "Trading": SymbolStatus.TRADING,
    "PreLaunch": SymbolStatus.CLOSED,
    "Delivering": SymbolStatus.CLOSED,
    "Closed": SymbolStatus.CLOSED,
})

# --------------------------------------------------------------------------- client order ids (§2.5)

CLIENT_ID_MAX_LEN: Final = 36
CLIENT_ID_ALPHABET: Final = string.ascii_letters + string.digits + "_-"
CLIENT_ID_CHARS: Final = r"^[0-9A-Za-z_-]{1,36}$"

# --------------------------------------------------------------------------- errors (§2.7)

OK_CODE: Final = 0
PARAMS_ERROR: Final = 10001  # also what market data answers for an unknown symbol ("symbol invalid")
# codes that leave a write's fate unknown: server timeout, server error / restarting, internal
# error, backend timeout, order creation / cancel timeout. A write answered so is reconciled by
# orderLinkId; a read is merely "unavailable".
OUTCOME_UNKNOWN_CODES: Final = frozenset({10000, 10016, 170001, 170007, 170146, 170147})
RATE_LIMIT_CODES: Final = frozenset({10006, 170005, 170222, 10429})
WS_AUTH_REPEATED: Final = 20001  # a second auth on the same connection

ERROR_CODES: Final[Mapping[int, type[ExchangeError]]] = MappingProxyType({
    **dict.fromkeys(OUTCOME_UNKNOWN_CODES, OrderOutcomeUnknownError),
    **dict.fromkeys(RATE_LIMIT_CODES, RateLimitError),
    # auth / permission
    10003: AuthenticationError, 10004: AuthenticationError, 10005: AuthenticationError,
    10007: AuthenticationError, 10010: AuthenticationError, -2015: AuthenticationError,
    10028: AuthenticationError,
    10009: TradingDisabledError, 10024: TradingDisabledError, 10027: TradingDisabledError,
    # timestamp
    10002: TimestampError, -1: TimestampError,
    # symbol
    170121: InvalidSymbolError, 10029: InvalidSymbolError,
    170151: TradingDisabledError, 170157: TradingDisabledError, 170209: TradingDisabledError,
    # balance
    170131: InsufficientBalanceError, 110007: InsufficientBalanceError, 110004: InsufficientBalanceError,
    110012: InsufficientBalanceError,
    # price / quantity / parameters
    **dict.fromkeys((10001, 170130, 170132, 170133, 170134, 170136, 170137, 170140, 170148, 170124, 170381,
                     170193, 170194, 170217, 170218, 170115, 170116, 170117, 170210), InvalidOrderError),
    # client id reused (never done on purpose: ids are unique per order)
    170141: InvalidOrderError, 110072: InvalidOrderError,
    # order not found, or already final
    **dict.fromkeys((170213, 110001, 170139, 170142, 170143, 170190, 110008), OrderNotFoundError),
})
# 170212 "cancel in progress" is left to the generic ExchangeError: the order is not final yet

STATUS_ERRORS: Final[Mapping[int, type[ExchangeError]]] = MappingProxyType({
    401: AuthenticationError,
    403: IPBannedError,  # IP rate limit ("access too frequent"), forbidden region: stop >= 10 min
    418: IPBannedError,  # not documented by Bybit; kept so that the shared rule "418 halts" holds
    429: RateLimitError,  # system protection: retry later
    500: ExchangeUnavailableError,
    502: ExchangeUnavailableError,
    503: ExchangeUnavailableError,
    504: ExchangeUnavailableError,
})


def ws_private_url(ws_url: str) -> str:
    """The private stream's URL beside a public spot WS URL (the real one for the real one)."""
    url = ws_url.rstrip("/")
    if url == WS_URL:
        return WS_PRIVATE_URL
    public = WS_URL.removeprefix("wss://stream.bybit.com")  # "/v5/public/spot"
    private = WS_PRIVATE_URL.removeprefix("wss://stream.bybit.com")  # "/v5/private"
    if url.endswith(public):
        return url[: -len(public)] + private
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.split('/', 1)[0]}{private}"
