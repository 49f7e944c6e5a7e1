"""Typed records every layer shares: msgspec Structs and IntEnums.

Conventions: times are int nanoseconds since the epoch (`ts_event` from the venue, `ts_recv` local);
book prices and sizes are floats (doubles); anything sent back to a venue or booked as money
(order prices and quantities, fills, fees, balances) is an exact `Decimal`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from decimal import Decimal
from typing import NewType

import msgspec

ExchangeName = NewType("ExchangeName", str)
AssetName = NewType("AssetName", str)

ZERO = Decimal(0)


# --------------------------------------------------------------------------- enums


class Side(enum.IntEnum):
    """Order or trade side (for a public trade: the taker's side)."""

    BUY = 1
    SELL = 2

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


OrderSide = Side


class OrderType(enum.IntEnum):
    LIMIT = 1
    MARKET = 2
    LIMIT_MAKER = 3


class TimeInForce(enum.IntEnum):
    GTC = 1
    IOC = 2
    FOK = 3


class OrderStatus(enum.IntEnum):
    """Order lifecycle. Values are ordered: a tracked order's status only moves forward.

    `UNKNOWN` sits between `PENDING_NEW` and `NEW`: a write whose outcome is unknown may later be
    found `NEW` (or any terminal state) by a query, never the other way round.
    """

    PENDING_NEW = 0
    UNKNOWN = 1
    NEW = 2
    PARTIALLY_FILLED = 3
    # terminal states
    FILLED = 10
    CANCELED = 11
    REJECTED = 12
    EXPIRED = 13

    @property
    def is_terminal(self) -> bool:
        return self >= OrderStatus.FILLED


class SymbolStatus(enum.IntEnum):
    TRADING = 1
    HALTED = 2
    BUY_ONLY = 3
    SELL_ONLY = 4
    CLOSED = 5


class KlineInterval(enum.IntEnum):
    """Candle length in seconds."""

    M1 = 60
    M5 = 300
    M15 = 900
    M30 = 1800
    H1 = 3600
    H4 = 14400
    D1 = 86400
    W1 = 604800


class SymbolStyle(enum.IntEnum):
    """How a venue spells a symbol on the wire."""

    CONCAT = 1  # BTCUSDT (Binance REST, MEXC)
    UNDERSCORE = 2  # BTC_USDT (Gate)
    LOWER_CONCAT = 3  # btcusdt (Binance stream names)


# Quote assets tried (longest first) when splitting a concatenated spelling such as BTCUSDT.
KNOWN_QUOTES: tuple[str, ...] = (
    "FDUSD", "USDT", "USDC", "TUSD", "BUSD", "USDE", "EUR", "TRY", "BRL",
    "BTC", "ETH", "BNB", "USD", "MX",
)


# --------------------------------------------------------------------------- symbols


class Symbol(msgspec.Struct, frozen=True, order=True):
    """A spot pair, venue-independent: ``Symbol("BTC", "USDT")``; ``str()`` gives ``BTC/USDT``.

    The one place that converts to and from each venue's spelling.
    """

    base: str
    quote: str

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"

    def to_venue(self, style: SymbolStyle) -> str:
        if style is SymbolStyle.CONCAT:
            return f"{self.base}{self.quote}"
        if style is SymbolStyle.UNDERSCORE:
            return f"{self.base}_{self.quote}"
        return f"{self.base}{self.quote}".lower()

    @classmethod
    def parse(cls, text: str) -> Symbol:
        """Parse the canonical ``BASE/QUOTE`` form (also accepts ``BASE_QUOTE`` and ``BASE-QUOTE``)."""
        for sep in ("/", "_", "-"):
            if sep in text:
                base, _, quote = text.partition(sep)
                if base and quote and sep not in quote:
                    return cls(base.upper(), quote.upper())
        raise ValueError(f"symbol {text!r} is not of the form BASE/QUOTE")

    @classmethod
    def from_venue(
        cls, text: str, style: SymbolStyle, quotes: tuple[str, ...] = KNOWN_QUOTES
    ) -> Symbol:
        """Parse a venue spelling; concatenated forms are split on the longest known quote."""
        if style is SymbolStyle.UNDERSCORE:
            base, sep, quote = text.partition("_")
            if not sep or not base or not quote:
                raise ValueError(f"symbol {text!r} is not of the form BASE_QUOTE")
            return cls(base.upper(), quote.upper())
        upper = text.upper()
        for quote in sorted(quotes, key=len, reverse=True):
            if upper.endswith(quote) and len(upper) > len(quote):
                return cls(upper[: -len(quote)], quote)
        raise ValueError(f"symbol {text!r} does not end in a known quote asset {quotes}")


class Spelling(msgspec.Struct, frozen=True):
    """How one venue names symbols and assets: its wire style and the assets it lists under another
    name than everyone else (`aliases`: the venue's code -> the common code, e.g. MEXC's
    ``{"STEPN": "GMT", "GMT": "GMTTOKEN"}``, the table ccxt keeps as ``commonCurrencies``).

    A venue package converts at its edge with it, so everything past the package speaks common names.
    """

    style: SymbolStyle
    aliases: Mapping[str, str] = msgspec.field(default_factory=dict)

    def asset(self, code: str) -> str:
        """The common name of the venue's asset `code`."""
        return self.aliases.get(code, code)

    def venue_asset(self, asset: str) -> str:
        """The venue's code for the common `asset`."""
        for code, common in self.aliases.items():
            if common == asset:
                return code
        return asset if asset not in self.aliases else f"{asset}?"  # common name taken by another asset

    def pair(self, base: str, quote: str) -> Symbol:
        """The common symbol of the venue's (base, quote) codes."""
        return Symbol(self.asset(base), self.asset(quote))

    def venue(self, symbol: Symbol, style: SymbolStyle | None = None) -> str:
        """The venue's spelling of the common `symbol` (in `style`, default its own)."""
        renamed = Symbol(self.venue_asset(symbol.base), self.venue_asset(symbol.quote))
        return renamed.to_venue(self.style if style is None else style)

    def common(self, text: str, quotes: tuple[str, ...] = KNOWN_QUOTES) -> Symbol:
        """The common symbol of a venue spelling (ValueError when it cannot be split)."""
        raw = Symbol.from_venue(text, self.style, quotes)
        return self.pair(raw.base, raw.quote)


class SymbolInfo(msgspec.Struct, frozen=True):
    """Trading rules of one symbol on one venue."""

    venue: str
    symbol: Symbol
    venue_symbol: str
    status: SymbolStatus
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal = ZERO
    max_qty: Decimal = ZERO  # 0 = no limit
    min_notional: Decimal = ZERO
    max_notional: Decimal = ZERO  # 0 = no limit
    maker_fee: float | None = None
    taker_fee: float | None = None

    @property
    def tradable(self) -> bool:
        return self.status is SymbolStatus.TRADING


# --------------------------------------------------------------------------- market data


class OrderBookLevel(msgspec.Struct, frozen=True, array_like=True):
    price: float
    size: float


class OrderBook(msgspec.Struct):
    """A materialised L2 book (a REST snapshot, or a copy of a live book for display)."""

    venue: str
    symbol: Symbol
    bids: list[OrderBookLevel]
    asks: list[OrderBookLevel]
    update_id: int = 0
    ts_event: int = 0
    ts_recv: int = 0


class Trade(msgspec.Struct, frozen=True):
    """A public trade; `side` is the taker's."""

    venue: str
    symbol: Symbol
    trade_id: str
    price: float
    size: float
    side: Side
    ts_event: int
    ts_recv: int = 0


class Ticker(msgspec.Struct, frozen=True):
    venue: str
    symbol: Symbol
    last: float
    bid: float
    ask: float
    volume_base: float = 0.0
    volume_quote: float = 0.0
    ts_event: int = 0


class TransferStatus(msgspec.Struct, frozen=True):
    """Whether an asset can be deposited to and withdrawn from a venue (all networks together)."""

    asset: str
    deposit: bool
    withdraw: bool

    @property
    def suspended(self) -> bool:
        """Either way closed: inventory on this venue cannot be rebalanced."""
        return not (self.deposit and self.withdraw)


class Kline(msgspec.Struct, frozen=True):
    venue: str
    symbol: Symbol
    interval: KlineInterval
    open_time: int  # ns
    open: float
    high: float
    low: float
    close: float
    volume: float
    closed: bool = True


# --------------------------------------------------------------------------- account


class TradingFee(msgspec.Struct, frozen=True):
    """Fee rates as fractions (0.001 = 10 bps)."""

    venue: str
    symbol: Symbol
    maker: float
    taker: float


class AssetBalance(msgspec.Struct, frozen=True):
    asset: str
    free: Decimal
    locked: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


class AccountInfo(msgspec.Struct, frozen=True):
    venue: str
    balances: dict[str, AssetBalance]
    can_trade: bool = True
    ts_event: int = 0


# --------------------------------------------------------------------------- trading


class Order(msgspec.Struct):
    """An order as arb tracks it. `client_order_id` is always set (idempotency key)."""

    venue: str
    symbol: Symbol
    client_order_id: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    order_id: str | None = None
    status: OrderStatus = OrderStatus.PENDING_NEW
    filled_qty: Decimal = ZERO
    filled_quote: Decimal = ZERO
    fee: Decimal = ZERO
    fee_asset: str = ""
    ts_created: int = 0
    ts_updated: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled_qty

    @property
    def avg_price(self) -> Decimal | None:
        return self.filled_quote / self.filled_qty if self.filled_qty else None


class Fill(msgspec.Struct, frozen=True):
    """One execution of one of our orders; unique per (venue, trade_id)."""

    venue: str
    symbol: Symbol
    trade_id: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    order_id: str | None = None
    client_order_id: str | None = None
    is_maker: bool = False
    ts_event: int = 0
    ts_recv: int = 0
    paper: bool = False

    @property
    def quote_qty(self) -> Decimal:
        return self.price * self.quantity


class Opportunity(msgspec.Struct, frozen=True):
    """A cross-venue arbitrage the detector found: buy on `buy_venue`, sell on `sell_venue`.

    Prices are the kernel's doubles; the executor turns the worst prices into exact IOC limit
    prices rounded to each venue's tick.
    """

    id: str
    symbol: Symbol
    buy_venue: str
    sell_venue: str
    quantity: float
    buy_vwap: float
    sell_vwap: float
    buy_worst: float
    sell_worst: float
    gross_profit: float  # quote currency
    net_profit: float  # quote currency, after both taker fees
    gross_bps: float
    net_bps: float
    ts_detected: int = 0
