"""OKX API v5 spot: facts as data (URLs, paths, channels, pools, status maps, error table).

Source: the OKX/Bybit fact sheet (`shared/docs/exchange-protocols-okx-bybit.md`, §1) and the real
payloads in `shared/exchange-samples/okx/`. Codes and fields marked [UNVERIFIED] there are handled
defensively here (54109 is a reject; no minimum notional is assumed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
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
from arb.model import OrderStatus, OrderType, SymbolStatus, TimeInForce
from arb.net.ratelimit import PoolSpec

VENUE: Final = "okx"
REST_URL: Final = "https://www.okx.com"
WS_URL: Final = "wss://ws.okx.com:8443/ws/v5/public"
WS_PRIVATE_URL: Final = "wss://ws.okx.com:8443/ws/v5/private"
PUBLIC_PATH: Final = "/ws/v5/public"
PRIVATE_PATH: Final = "/ws/v5/private"
INST_TYPE: Final = "SPOT"
TD_MODE: Final = "cash"  # plain spot, no margin
SUCCESS: Final = 0  # `code` / `sCode` of a success ("0" on the wire)
# assets OKX lists under another code than everyone else: its code -> the common code (the table ccxt
# keeps as okx `commonCurrencies`: OKX's ``AE`` is Aeternity, ``AET`` elsewhere); `codec.inst_id` and
# `codec.parse_inst` convert at the package edge, as do balances and fee assets
ASSET_ALIASES: Final = MappingProxyType({"AE": "AET"})

# REST paths (GET parameters in the query, POST parameters as a JSON body)
TIME: Final = "/api/v5/public/time"
INSTRUMENTS: Final = "/api/v5/public/instruments"
BOOKS: Final = "/api/v5/market/books"
TICKER: Final = "/api/v5/market/ticker"
TICKERS: Final = "/api/v5/market/tickers"  # every instrument of an instType in one reply
TRADES: Final = "/api/v5/market/trades"
CANDLES: Final = "/api/v5/market/candles"
ORDER: Final = "/api/v5/trade/order"  # POST places, GET queries
CANCEL: Final = "/api/v5/trade/cancel-order"
ORDERS_PENDING: Final = "/api/v5/trade/orders-pending"
FILLS: Final = "/api/v5/trade/fills"
BALANCE: Final = "/api/v5/account/balance"
TRADE_FEE: Final = "/api/v5/account/trade-fee"
CURRENCIES: Final = "/api/v5/asset/currencies"  # transfer status per currency and chain (signed)

SNAPSHOT_LIMIT: Final = 400  # `sz` of GET /market/books (default 1, max 400); the `books` channel keeps 400
TRADES_MAX: Final = 500
CANDLES_MAX: Final = 300
PAGE_MAX: Final = 100  # orders-pending and fills `limit`
PAGES_MAX: Final = 100  # open orders: at most this many pages are walked
TIMESTAMP_TOLERANCE_S: Final = 30  # request timestamps must be within 30 s of the venue (50102)

# Request budgets (§1.2, §1.3, §1.6): public per IP and endpoint, private per account, trading per
# account + instrument (one budget across instruments here: conservative). No quota headers exist.
POOLS: Final = (
    PoolSpec("time", 10, 2.0),
    PoolSpec("instruments", 20, 2.0),
    PoolSpec("books", 40, 2.0),
    PoolSpec("ticker", 20, 2.0),
    PoolSpec("tickers", 20, 2.0),
    PoolSpec("trades", 100, 2.0),
    PoolSpec("candles", 40, 2.0),
    PoolSpec("order", 60, 2.0),
    PoolSpec("cancel", 60, 2.0),
    PoolSpec("query", 60, 2.0),
    PoolSpec("pending", 60, 2.0),
    PoolSpec("fills", 60, 2.0),
    PoolSpec("balance", 10, 2.0),
    PoolSpec("fee", 5, 2.0),
    PoolSpec("currencies", 12, 2.0),  # 6 requests per second per user
)
# the pool each path draws one request from
DRAWS: Final[Mapping[str, Mapping[str, int]]] = MappingProxyType({
    TIME: {"time": 1}, INSTRUMENTS: {"instruments": 1}, BOOKS: {"books": 1}, TICKER: {"ticker": 1},
    TICKERS: {"tickers": 1},
    TRADES: {"trades": 1}, CANDLES: {"candles": 1}, CANCEL: {"cancel": 1},
    ORDERS_PENDING: {"pending": 1}, FILLS: {"fills": 1}, BALANCE: {"balance": 1}, TRADE_FEE: {"fee": 1},
    CURRENCIES: {"currencies": 1},
})
PLACE_DRAWS: Final = MappingProxyType({"order": 1})
QUERY_DRAWS: Final = MappingProxyType({"query": 1})

# ------------------------------------------------------------------ WebSocket (§1.8 - §1.10)
BOOKS_CHANNEL: Final = "books"  # 400-level snapshot, then 100 ms increments chained by prevSeqId/seqId
TRADES_CHANNEL: Final = "trades"
ORDERS_CHANNEL: Final = "orders"
FILLS_CHANNEL: Final = "fills"  # VIP4+ only (64003 otherwise): not subscribed, fills come from `orders`
ACCOUNT_CHANNEL: Final = "account"
PING: Final = "ping"  # the literal text, not JSON and not a protocol ping frame
PONG: Final = "pong"
WS_PING_INTERVAL_S: Final = 18.0  # the server drops a connection silent for 30 s (ccxt pings every 18 s)
WS_DATA_IDLE_S: Final = 90.0  # a quiet `books` channel sends an empty heartbeat about once a minute
WS_ARGS_PER_REQUEST: Final = 50  # one subscribe carries many args (payload <= 64 KB; 480 ops/h/connection)
WS_CHANNELS_PER_CONNECTION: Final = 60  # OKX: fewer than 30 book channels per connection (+ trades)
WS_CONNECT_BUDGET: Final = (3.0, 3.0)  # 3 connection attempts per second per IP
SNAPSHOT_PREV_SEQ: Final = -1  # prevSeqId of a `books` snapshot
CHECKSUM_DEPTH: Final = 25  # levels per side in the CRC32 (when the pushed checksum is non-zero)
LOGIN_PATH: Final = "/users/self/verify"  # the WS login signs ts + "GET" + this
NOTICE_UPGRADE: Final = 64008  # "connection will soon be closed for a service upgrade"
WS_LOGIN_CODES: Final = frozenset({60004, 60005, 60006, 60007, 60009, 60011, 60024})

ACTION_SNAPSHOT: Final = "snapshot"
ACTION_UPDATE: Final = "update"

# ------------------------------------------------------------------ orders
# `state` -> OrderStatus; an IOC/FOK remainder is `canceled` (with accFillSz > 0 when it partly filled):
# see `CANCEL_SOURCES` for telling a venue-side expiry from a user cancel
STATUS_MAP: Final[Mapping[str, OrderStatus]] = MappingProxyType({
    "live": OrderStatus.NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "mmp_canceled": OrderStatus.CANCELED,
})
# cancelSource codes that mean "the venue ended it by rule" (13 FOK not fillable, 14 IOC remainder,
# 31 post-only would take, 33 too many maker matches): EXPIRED, as the other venues report them
EXPIRED_SOURCES: Final = frozenset({"13", "14", "31", "33"})
ORD_TYPES: Final[Mapping[str, tuple[OrderType, TimeInForce]]] = MappingProxyType({
    "limit": (OrderType.LIMIT, TimeInForce.GTC),
    "market": (OrderType.MARKET, TimeInForce.IOC),
    "ioc": (OrderType.LIMIT, TimeInForce.IOC),
    "fok": (OrderType.LIMIT, TimeInForce.FOK),
    "post_only": (OrderType.LIMIT_MAKER, TimeInForce.GTC),
    "optimal_limit_ioc": (OrderType.MARKET, TimeInForce.IOC),
})
LIMIT_ORD_TYPES: Final[Mapping[TimeInForce, str]] = MappingProxyType({
    TimeInForce.GTC: "limit", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok",
})
POST_ONLY: Final = "post_only"
MARKET: Final = "market"
BASE_CCY: Final = "base_ccy"  # tgtCcy of a market order sized in base (buys default to quote)
QUOTE_CCY: Final = "quote_ccy"
MAKER_EXEC: Final = "M"  # execType of a maker fill

INSTRUMENT_STATUS: Final[Mapping[str, SymbolStatus]] = MappingProxyType({
    "live": SymbolStatus.TRADING,
    "suspend": SymbolStatus.HALTED,
    "preopen": SymbolStatus.HALTED,
    "test": SymbolStatus.HALTED,
    "expired": SymbolStatus.CLOSED,
})

# clOrdId: 1-32 case-sensitive letters and digits (no '-' or '_'); unique among pending orders
CLIENT_ID_PREFIX: Final = ""
CLIENT_ID_MAX_LENGTH: Final = 32
CLIENT_ID_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CLIENT_ID_RULE: Final = re.compile(r"^[0-9A-Za-z]{1,32}$")

# ------------------------------------------------------------------ errors (§1.7; map on the code)
# codes after which a write may or may not have happened: resolve by query, never take as rejected
# `51020` "should meet or exceed the minimum order amount": OKX publishes no minimum notional
# (instruments carry only ``minSz``; fact sheet §1 and open question 2: a hidden floor is
# [UNVERIFIED]). The private connector treats a 51020 as a symbol rule it had not been told: the
# refused order's value times FLOOR_RAISE becomes the symbol's known minimum, and smaller orders are
# refused before they are sent.
MIN_AMOUNT_CODE: Final = 51020
FLOOR_RAISE: Final = Decimal(2)

OUTCOME_UNKNOWN_CODES: Final = frozenset({
    50001,  # service temporarily unavailable (503)
    50004,  # endpoint request timeout
    50013,  # systems busy
    50026,  # system error (500)
    51054,  # request timed out
    51149,  # order timed out
    51412,  # cancel timed out
})

ERROR_CODES: Final[Mapping[int, type[ExchangeError]]] = MappingProxyType({
    **dict.fromkeys(OUTCOME_UNKNOWN_CODES, OrderOutcomeUnknownError),
    # auth / permission
    **dict.fromkeys((50100, 50101, 50103, 50104, 50105, 50106, 50107, 50110, 50111, 50112, 50113, 50114,
                     50120, 50030, 51024), AuthenticationError),
    # timestamp
    **dict.fromkeys((50102, 50036, 50037), TimestampError),
    # rate limits
    **dict.fromkeys((50011, 50061, 50040, 60014), RateLimitError),
    # instruments
    **dict.fromkeys((51001, 51015), InvalidSymbolError),
    **dict.fromkeys((51021, 51155, 50033, 54109), TradingDisabledError),  # 54109 [UNVERIFIED]: a reject
    # balance
    **dict.fromkeys((51008, 51131, 51127), InsufficientBalanceError),
    # price / quantity / ids / counts
    **dict.fromkeys((51000, 51006, 51137, 51138, 51121, 51120, 51020, 51150, 51201, 51202, 51005, 51116,
                     51016, 51003, 51407, 51025, 51174, 51410), InvalidOrderError),
    # not found or already final
    **dict.fromkeys((51400, 51603, 51503, 51063), OrderNotFoundError),
})
