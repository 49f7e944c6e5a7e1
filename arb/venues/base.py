"""The venue contract: three interfaces every venue package implements, and what streams emit.

Every venue is one package with the same eight modules (plus ``__init__.py``)::

    __init__.py   exports Public, Private, Stream and the venue's `VenueSpec` as VENUE (`venues.spec`)
    constants.py  facts as data: URLs, channels, weights, pools, status and error tables
    auth.py       signing as pure functions + a RequestSigner
    codec.py      [2] market-data wire: envelopes and errors, symbols, books, trades, tickers, klines,
                  depth/trade frames; decode_* functions: bytes -> model objects / level buffers
    orders.py     [2] order and account wire: orders, fills, balances, fee rates, user-stream payloads
    public.py     REST market data (PublicExchangeInterface)
    private.py    REST orders and account (PrivateExchangeInterface)
    stream.py     WebSocket streams (BaseWebSocketInterface): routes frames to the handlers below
    user.py       the account's order/fill/balance stream (private WebSocket channels)

Venue streams never import the engine: they hand decoded events to a `StreamHandlers` object the
engine passes in. What the engine and its reports read of a connector is a typed member of these
interfaces (`limiter`, `rest_metrics`, `server_clock`, `connections`, `malformed_control`), never an
attribute found by name; `RestBacked` and `StreamBacked` implement them once for connectors built on a
`RestClient` / `WsClient`.
"""

from __future__ import annotations

import abc
import enum
import functools
import logging
from array import array
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Final, ParamSpec, Protocol, TypeVar

import msgspec

from arb._core.book import split_levels
from arb.errors import DecodeError
from arb.model import (
    AccountInfo,
    AssetBalance,
    Fill,
    Kline,
    KlineInterval,
    Order,
    OrderBook,
    OrderBookLevel,
    OrderType,
    Side,
    Spelling,
    Symbol,
    SymbolInfo,
    Ticker,
    TimeInForce,
    Trade,
    TradingFee,
    TransferStatus,
)
from arb.net.ratelimit import RateLimiter
from arb.net.rest import RestClient, RestMetrics
from arb.net.ws import WsClient, WsStats
from arb.venues.clock import ServerClock


class DepthUpdate:
    """One decoded depth message for one symbol: level buffers ready for `L2Book.apply_levels`.

    Sizes are absolute (0 deletes the level). `first_id`/`last_id` are the venue's sequence range
    (Binance/Gate ``U``/``u``, MEXC ``fromVersion``/``toVersion``); `is_snapshot` marks a message that
    replaces the whole book (Gate ``full: true``, MEXC limit depth). Times are ns.
    """

    __slots__ = (
        "venue", "symbol", "first_id", "last_id", "bid_prices", "bid_sizes",
        "ask_prices", "ask_sizes", "is_snapshot", "ts_event", "ts_recv",
    )

    def __init__(
        self,
        venue: str,
        symbol: Symbol,
        first_id: int,
        last_id: int,
        bid_prices: array[float],
        bid_sizes: array[float],
        ask_prices: array[float],
        ask_sizes: array[float],
        ts_event: int,
        ts_recv: int,
        is_snapshot: bool = False,
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.first_id = first_id
        self.last_id = last_id
        self.bid_prices = bid_prices
        self.bid_sizes = bid_sizes
        self.ask_prices = ask_prices
        self.ask_sizes = ask_sizes
        self.ts_event = ts_event
        self.ts_recv = ts_recv
        self.is_snapshot = is_snapshot

    def __repr__(self) -> str:
        return (
            f"DepthUpdate({self.venue} {self.symbol} {self.first_id}..{self.last_id} "
            f"bids={len(self.bid_prices)} asks={len(self.ask_prices)} snapshot={self.is_snapshot})"
        )


# what malformed input makes decoding code raise: msgspec's errors, RecursionError (deeply nested
# JSON), conversions (ValueError, decimal and overflow errors) and lookups on unexpected values
MALFORMED: Final = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError, TypeError,
                    KeyError, IndexError, AttributeError, ArithmeticError)
P = ParamSpec("P")
R = TypeVar("R")


def decode_body(venue: str, decoder: msgspec.json.Decoder[Any], body: bytes | str, what: str) -> Any:
    """Decode a REST body or WS payload with a reused decoder; any failure is a `DecodeError`."""
    try:
        return decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise DecodeError(venue, what, str(exc), body) from None


def guarded(venue: str, what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a decoder so that any failure on malformed input is a `DecodeError` naming `what`
    (its first argument is kept as the sample): callers handle one exception type."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except DecodeError:
                raise
            except MALFORMED as exc:
                raise DecodeError(venue, what, f"{type(exc).__name__}: {exc}",
                                  args[0] if args else b"") from None

        return run

    return wrap


def common_symbol(spelling: Spelling, text: str) -> Symbol | None:
    """The common symbol of a venue spelling, None when it cannot be split (an unknown quote asset)."""
    try:
        return spelling.common(text)
    except ValueError:
        return None


def depth_update(
    venue: str,
    symbol: Symbol,
    first_id: int,
    last_id: int,
    bids: list[tuple[float, float]],
    asks: list[tuple[float, float]],
    ts_event: int,
    ts_recv: int,
    is_snapshot: bool = False,
) -> DepthUpdate:
    """Build a `DepthUpdate` from decoded level lists (converted to double buffers in C)."""
    bid_prices, bid_sizes = split_levels(bids)
    ask_prices, ask_sizes = split_levels(asks)
    return DepthUpdate(venue, symbol, first_id, last_id, bid_prices, bid_sizes, ask_prices, ask_sizes,
                       ts_event, ts_recv, is_snapshot)


def order_book(
    venue: str, symbol: Symbol, update_id: int, bids: list[tuple[float, float]],
    asks: list[tuple[float, float]], ts_event: int, ts_recv: int,
) -> OrderBook:
    """A REST snapshot as the model's `OrderBook`."""
    return OrderBook(venue, symbol, [OrderBookLevel(p, q) for p, q in bids],
                     [OrderBookLevel(p, q) for p, q in asks], update_id, ts_event, ts_recv)


class StreamHandlers(Protocol):
    """What a venue stream calls; the engine implements it. Calls are synchronous and cheap."""

    def on_depth(self, update: DepthUpdate) -> None: ...

    def on_trade(self, trade: Trade) -> None: ...

    def on_order(self, order: Order) -> None: ...

    def on_fill(self, fill: Fill) -> None: ...

    def on_balance(self, venue: str, balance: AssetBalance) -> None: ...

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        """A frame could not be decoded; the affected symbol's book (if known) must be invalidated."""
        ...

    def on_stream_state(self, venue: str, connected: bool, symbols: Sequence[Symbol]) -> None:
        """The connection carrying `symbols` went up or down (down invalidates those books)."""
        ...


class TransferSource(enum.IntEnum):
    """Where a venue publishes deposit / withdrawal status per asset (`transfer_source`)."""

    NONE = 0  # nowhere arb reads
    PUBLIC = 1  # without keys: `PublicExchangeInterface.transfer_status`
    SIGNED = 2  # to signed requests only: `PrivateExchangeInterface.transfer_status` (needs keys)


def transfer_from_chains(asset: str, chains: Iterable[tuple[bool, bool]]) -> TransferStatus:
    """An asset's status from its chains' (deposit open, withdrawal open): deposits (withdrawals) are
    open when ANY chain takes them, since one open network is enough to move inventory in (out);
    an asset without a chain cannot be moved at all (closed both ways)."""
    deposit = withdraw = False
    for chain_deposit, chain_withdraw in chains:
        deposit = deposit or chain_deposit
        withdraw = withdraw or chain_withdraw
    return TransferStatus(asset, deposit, withdraw)


class UserPushes:
    """What every venue's user stream does with a push it cannot decode: count it, log the first one
    with a sample, and tell the engine (which resolves that venue's orders by query)."""

    _handlers: StreamHandlers
    decode_errors: int
    _logged_error: bool

    def _undecodable(self, venue: str, err: DecodeError) -> None:
        self.decode_errors += 1
        if not self._logged_error:
            logging.getLogger(type(self).__module__).warning(
                "%s: undecodable private push (%s); sample: %r", venue, err, err.sample[:120])
            self._logged_error = True
        self._handlers.on_decode_error(err, None)


class PublicExchangeInterface(abc.ABC):
    """REST market data of one venue."""

    venue: str
    transfer_source: TransferSource = TransferSource.NONE  # where its transfer status is read

    @property
    def limiter(self) -> RateLimiter | None:
        """The venue's request budgets this connector draws from (None: it sends no requests)."""
        return None

    @property
    def rest_metrics(self) -> RestMetrics | None:
        """Its REST client's counters (429s, 418s, retries); None without one."""
        return None

    @abc.abstractmethod
    async def server_time(self) -> int:
        """Venue time in ms."""

    @abc.abstractmethod
    async def symbols(self) -> list[SymbolInfo]:
        """Every spot symbol with its tick, step, min qty/notional and status."""

    @abc.abstractmethod
    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        """A depth snapshot with the venue's update id (the sync layer bridges diffs onto it)."""

    @abc.abstractmethod
    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]: ...

    @abc.abstractmethod
    async def ticker(self, symbol: Symbol) -> Ticker: ...

    @abc.abstractmethod
    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]: ...

    async def tickers(self) -> list[Ticker]:
        """Every listed symbol's 24 h ticker (volumes for the symbol universe). This default asks
        symbol by symbol; venues with a bulk endpoint override it with one request."""
        return [await self.ticker(info.symbol) for info in await self.symbols() if info.tradable]

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Deposit / withdrawal status per asset (common names) where the venue publishes it without
        keys (`transfer_source` PUBLIC); None where it does not."""
        return None

    @abc.abstractmethod
    async def close(self) -> None: ...


class PrivateExchangeInterface(abc.ABC):
    """REST orders and account of one venue. Every order carries a client order id."""

    venue: str
    server_clock: ServerClock | None = None  # venue time the signed requests are stamped with

    @property
    def limiter(self) -> RateLimiter | None:
        """The venue's request budgets this connector draws from (None: it sends no requests)."""
        return None

    @property
    def rest_metrics(self) -> RestMetrics | None:
        """Its REST client's counters (429s, 418s, retries); None without one."""
        return None

    @abc.abstractmethod
    async def place_order(
        self,
        symbol: Symbol,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        client_order_id: str,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> Order:
        """Send one order; prices and quantities are exact decimals already on tick and step.

        Raises `OrderOutcomeUnknownError` when the venue may or may not have accepted it.
        """

    @abc.abstractmethod
    async def cancel_order(
        self, symbol: Symbol, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order: ...

    @abc.abstractmethod
    async def get_order(
        self, symbol: Symbol, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        """Query one order by exchange id or client id; `OrderNotFoundError` if unknown."""

    @abc.abstractmethod
    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]: ...

    @abc.abstractmethod
    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        """Our recent fills on `symbol` (for reconciliation after a restart)."""

    @abc.abstractmethod
    async def balances(self) -> dict[str, AssetBalance]: ...

    @abc.abstractmethod
    async def trading_fees(self, symbol: Symbol) -> TradingFee: ...

    @abc.abstractmethod
    async def account_info(self) -> AccountInfo: ...

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Deposit / withdrawal status per asset (common names) from the venue's signed endpoint,
        where it publishes it only to signed requests (its public connector's `transfer_source` is
        SIGNED); None where it does not. An asset is open one way when any of its chains is
        (`transfer_from_chains`)."""
        return None

    @abc.abstractmethod
    async def close(self) -> None: ...


class BaseWebSocketInterface(abc.ABC):
    """A venue's streams: depth and trades for many symbols, plus the private user stream.

    Built on `arb.net.ws.WsClient` (connect, keep-alive, jittered reconnect, resubscribe); decoded
    events go to the `StreamHandlers` given at construction.
    """

    venue: str

    @property
    def connections(self) -> list[WsStats]:
        """One entry per market-data connection slot (reconnects, frames, last frame time)."""
        return []

    @property
    def malformed_control(self) -> int:
        """Control frames (acks, pongs) that could not be read: counted and skipped."""
        return sum(conn.malformed_control for conn in self.connections)

    @abc.abstractmethod
    async def start(self) -> None:
        """Open the connections (pooled under the venue's subscription cap)."""

    @abc.abstractmethod
    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None: ...

    @abc.abstractmethod
    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None: ...

    @abc.abstractmethod
    async def subscribe_user(self) -> None:
        """Private order / fill / balance stream (needs credentials)."""

    @abc.abstractmethod
    async def resubscribe_depth(self, symbol: Symbol) -> None:
        """Drop and re-subscribe one symbol's depth (venues that resync by re-subscribing)."""

    async def unsubscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        """Stop the depth of `symbols` (the universe dropped them). Streams that cannot say so
        raise NotImplementedError: their frames then go on arriving for books no one keeps."""
        raise NotImplementedError(f"{self.venue}: depth unsubscription")

    @abc.abstractmethod
    async def close(self) -> None: ...


class RestBacked:
    """The REST members of a connector built on one `RestClient` (mix in before the interface)."""

    rest: RestClient

    @property
    def limiter(self) -> RateLimiter | None:
        return self.rest.limiter

    @property
    def rest_metrics(self) -> RestMetrics | None:
        return self.rest.metrics


class StreamBacked:
    """The connection members of a stream whose market data rides one `WsClient` (mix in first)."""

    ws: WsClient

    @property
    def connections(self) -> list[WsStats]:
        return self.ws.connections
