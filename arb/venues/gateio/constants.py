"""Gate.io spot v4: facts as data (URLs, paths, pools, maps, error table keyed by label)."""

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
)
from arb.model import OrderStatus, Spelling, SymbolStyle, TimeInForce
from arb.net.ratelimit import PoolSpec

VENUE: Final = "gateio"
REST_URL: Final = "https://api.gateio.ws"
API_PREFIX: Final = "/api/v4"
WS_URL: Final = "wss://api.gateio.ws/ws/v4/"
SYMBOL_STYLE: Final = SymbolStyle.UNDERSCORE
# assets Gate lists under another name than other venues (its code -> the common code): its GTC is
# Game.com, not Gitcoin
ASSET_ALIASES: Final = MappingProxyType({"GTC": "GAMECOM", "BOX": "DEFIBOX", "POINT": "GATEPOINT"})
SPELLING: Final = Spelling(SYMBOL_STYLE, ASSET_ALIASES)

TIME: Final = "/api/v4/spot/time"
CURRENCY_PAIRS: Final = "/api/v4/spot/currency_pairs"
ORDER_BOOK: Final = "/api/v4/spot/order_book"
TRADES: Final = "/api/v4/spot/trades"
TICKERS: Final = "/api/v4/spot/tickers"
CURRENCIES: Final = "/api/v4/spot/currencies"  # public: per asset deposit / withdrawal status
CANDLES: Final = "/api/v4/spot/candlesticks"
ORDERS: Final = "/api/v4/spot/orders"
ORDER: Final = "/api/v4/spot/orders/{order_id}"
OPEN_ORDERS: Final = "/api/v4/spot/open_orders"
ACCOUNTS: Final = "/api/v4/spot/accounts"
MY_TRADES: Final = "/api/v4/spot/my_trades"
FEE: Final = "/api/v4/wallet/fee"  # preferred over /spot/fee; takes currency_pair too
OPEN_ORDERS_PAGE: Final = 100  # max `limit` when listing open orders
MY_TRADES_MAX: Final = 1000

DEPTH_CHANNEL: Final = "spot.order_book_update"
DEPTH_INTERVAL: Final = "100ms"  # 100 levels maintained
TRADES_CHANNEL: Final = "spot.trades"
PING_CHANNEL: Final = "spot.ping"
PONG_CHANNEL: Final = "spot.pong"
ORDERS_CHANNEL: Final = "spot.orders"
USER_TRADES_CHANNEL: Final = "spot.usertrades"
BALANCES_CHANNEL: Final = "spot.balances"
PRIVATE_CHANNELS: Final = (ORDERS_CHANNEL, USER_TRADES_CHANNEL, BALANCES_CHANNEL)
ALL_PAIRS: Final = "!all"  # payload of spot.orders / spot.usertrades for every pair
WS_AUTH_FAILED: Final = 4  # error code of a refused private-channel request (fact sheet §2.8)
WS_PING_INTERVAL_S: Final = 10.0  # spot.ping cadence (Gate's demo; the idle timeout is undocumented)
SNAPSHOT_LIMIT: Final = 100
TIMESTAMP_TOLERANCE_S: Final = 60

POOLS: Final = (
    PoolSpec("public", 200, 10.0, header="X-Gate-RateLimit-Requests-Remain", header_kind="remain"),
    PoolSpec("private", 200, 10.0),
    PoolSpec("orders", 10, 1.0),
    PoolSpec("cancels", 200, 1.0),
)

# order "status" + "finish_as" -> OrderStatus: "status" says open / closed (fully filled) /
# cancelled; "finish_as" tells a user cancel from an IOC/FOK/POC remainder or a venue-side cancel.
STATUS_MAP: Final = MappingProxyType({
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELED,
})
FINISH_MAP: Final = MappingProxyType({
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELED,
    "liquidate_cancelled": OrderStatus.CANCELED,
    "stp": OrderStatus.CANCELED,
    "ioc": OrderStatus.EXPIRED,
    "fok": OrderStatus.EXPIRED,
    "poc": OrderStatus.EXPIRED,
    "small": OrderStatus.EXPIRED,
    "depth_not_enough": OrderStatus.EXPIRED,
    "trader_not_enough": OrderStatus.EXPIRED,
})
TIME_IN_FORCE: Final = MappingProxyType({
    TimeInForce.GTC: "gtc", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok",
})
POST_ONLY: Final = "poc"

CLIENT_ID_PREFIX: Final = "t-"
CLIENT_ID_MAX_BYTES: Final = 28  # after the prefix
CLIENT_ID_CHARS: Final = r"^t-[0-9A-Za-z_.-]{1,28}$"
CLIENT_ID_ALPHABET: Final = string.ascii_letters + string.digits + "_.-"

# labels that leave a write's fate unknown (fact sheet 2.7: "server side, status unknown for writes")
OUTCOME_UNKNOWN_CODES: Final = frozenset({"INTERNAL", "SERVER_ERROR", "TOO_BUSY"})

ERROR_CODES: Final[Mapping[str, type[ExchangeError]]] = MappingProxyType({
    **dict.fromkeys(OUTCOME_UNKNOWN_CODES, OrderOutcomeUnknownError),
    "INVALID_PARAM_VALUE": InvalidOrderError,
    "INVALID_ARGUMENT": InvalidOrderError,
    "MISSING_REQUIRED_PARAM": InvalidOrderError,
    "INVALID_REQUEST_BODY": InvalidOrderError,
    "BAD_REQUEST": InvalidOrderError,
    "INVALID_PRECISION": InvalidOrderError,
    "AMOUNT_TOO_LITTLE": InvalidOrderError,
    "AMOUNT_TOO_MUCH": InvalidOrderError,
    "POC_FILL_IMMEDIATELY": InvalidOrderError,
    "FOK_NOT_FILL": InvalidOrderError,
    "ORDER_BOOK_NOT_FOUND": InvalidOrderError,
    "TOO_MANY_ORDERS": InvalidOrderError,
    "TOO_MANY_CURRENCY_PAIRS": InvalidOrderError,
    "MIXED_ACCOUNT_TYPE": InvalidOrderError,
    "INVALID_CLIENT_ORDER_ID": InvalidOrderError,
    "ORDER_EXISTS": InvalidOrderError,
    "DUPLICATE_REQUEST": InvalidOrderError,
    "INVALID_KEY": AuthenticationError,
    "INVALID_CREDENTIALS": AuthenticationError,
    "INVALID_SIGNATURE": AuthenticationError,
    "MISSING_REQUIRED_HEADER": AuthenticationError,
    "IP_FORBIDDEN": AuthenticationError,
    "READ_ONLY": AuthenticationError,
    "FORBIDDEN": AuthenticationError,
    "ACCOUNT_LOCKED": AuthenticationError,
    "REQUEST_EXPIRED": TimestampError,
    "INVALID_CURRENCY_PAIR": InvalidSymbolError,
    "INVALID_CURRENCY": InvalidSymbolError,
    "BALANCE_NOT_ENOUGH": InsufficientBalanceError,
    "ORDER_NOT_FOUND": OrderNotFoundError,
    "ORDER_CLOSED": OrderNotFoundError,
    "ORDER_CANCELLED": OrderNotFoundError,
    "TOO_MANY_REQUESTS": RateLimitError,
})
