"""ccxt's unified structures -> arb's model, and ccxt's exceptions -> arb's error classes.

ccxt hands out floats (and None where an exchange says nothing); arb books money as exact decimals,
so every amount goes through ``Decimal(repr(x))`` (the shortest decimal that reads back as the same
double: what the exchange printed, for every price and size it prints on its grid).

Errors keep the executor's rules: on a write (placing or cancelling an order) anything that leaves
open whether the exchange acted (a timeout, a dropped connection, a 5xx, an unreadable answer, an
unexpected exception) is `OrderOutcomeUnknownError`, never a rejection; an answer that says no is
the matching typed error.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from arb.errors import (
    ArbError,
    AuthenticationError,
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientBalanceError,
    InvalidOrderError,
    InvalidSymbolError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
    TradingDisabledError,
)
from arb.model import (
    ZERO,
    AssetBalance,
    Fill,
    Order,
    OrderBook,
    OrderBookLevel,
    OrderStatus,
    OrderType,
    Side,
    Symbol,
    SymbolInfo,
    SymbolStatus,
    TimeInForce,
    Trade,
    TransferStatus,
)
from arb.venues.base import MALFORMED
from arb.venues.ccxt.exchange import scrub

MS: Final = 1_000_000
TICK_SIZE: Final = 4  # ccxt's precisionMode constants
DECIMAL_PLACES: Final = 2
SIGNIFICANT_DIGITS: Final = 3
STATUSES: Final[Mapping[str, OrderStatus]] = {
    "canceled": OrderStatus.CANCELED, "cancelled": OrderStatus.CANCELED, "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
TIFS: Final[Mapping[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def dec(value: Any) -> Decimal:
    """An amount ccxt gives (float, int, numeric string or None) as an exact decimal; None is 0."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        return Decimal(repr(value))
    try:
        out = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not out.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return out


def pair(symbol: Symbol) -> str:
    """ccxt's unified spot symbol (``BTC/USDT``)."""
    return f"{symbol.base}/{symbol.quote}"


def symbol_of(market: Mapping[str, Any]) -> Symbol:
    return Symbol(str(market["base"]).upper(), str(market["quote"]).upper())


def grid(value: Any, mode: int) -> Decimal:
    """A ccxt precision entry as a step: a tick size as is, decimal places as 10**-n."""
    if value is None:
        return ZERO
    if mode == TICK_SIZE:
        return dec(value)
    if mode == DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(value))
    return ZERO  # significant digits give no fixed grid


def symbol_info(venue: str, market: Mapping[str, Any], precision_mode: int) -> SymbolInfo:
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    amount = limits.get("amount") or {}
    cost = limits.get("cost") or {}
    return SymbolInfo(
        venue=venue, symbol=symbol_of(market), venue_symbol=str(market.get("id") or market["symbol"]),
        status=SymbolStatus.TRADING if market.get("active") is not False else SymbolStatus.HALTED,
        tick_size=grid(precision.get("price"), precision_mode),
        step_size=grid(precision.get("amount"), precision_mode),
        min_qty=dec(amount.get("min")), max_qty=dec(amount.get("max")),
        min_notional=dec(cost.get("min")), max_notional=dec(cost.get("max")),
        maker_fee=_rate(market.get("maker")), taker_fee=_rate(market.get("taker")))


def _rate(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def is_spot(market: Mapping[str, Any]) -> bool:
    return bool(market.get("spot")) and market.get("type", "spot") == "spot" and bool(
        market.get("base")) and bool(market.get("quote"))


def levels(side: Any, depth: int) -> list[tuple[float, float]]:
    """The first `depth` ``[price, size, ...]`` entries of one side of a ccxt book, as floats."""
    out = []
    for entry in side[:depth]:
        out.append((float(entry[0]), float(entry[1])))
    return out


def order_book(venue: str, symbol: Symbol, book: Mapping[str, Any], depth: int, update_id: int,
               ts_recv: int) -> OrderBook:
    bids, asks = levels(book.get("bids") or [], depth), levels(book.get("asks") or [], depth)
    stamp = book.get("timestamp")
    return OrderBook(venue, symbol, [OrderBookLevel(p, q) for p, q in bids],
                     [OrderBookLevel(p, q) for p, q in asks], update_id,
                     int(stamp) * MS if isinstance(stamp, int | float) else ts_recv, ts_recv)


def trade(venue: str, symbol: Symbol, raw: Mapping[str, Any], ts_recv: int) -> Trade:
    return Trade(venue, symbol, str(raw.get("id") or ""), float(raw["price"]), float(raw["amount"]),
                 Side.SELL if raw.get("side") == "sell" else Side.BUY, _ns(raw.get("timestamp"), ts_recv),
                 ts_recv)


def _ns(ms: Any, default: int) -> int:
    return int(ms) * MS if isinstance(ms, int | float) and ms > 0 else default


def _fee(raw: Mapping[str, Any]) -> tuple[Decimal, str]:
    """The fee of an order or trade (several fees in one asset are added; the first asset wins)."""
    fees = [f for f in (raw.get("fees") or []) if f] or ([raw["fee"]] if raw.get("fee") else [])
    if not fees:
        return ZERO, ""
    asset = str(fees[0].get("currency") or "")
    return sum((dec(f.get("cost")) for f in fees if (f.get("currency") or "") == asset), ZERO), asset


def order_status(raw: Mapping[str, Any], quantity: Decimal, filled: Decimal) -> OrderStatus:
    status = raw.get("status")
    if status == "closed":  # done: all of it, or an IOC/FOK whose rest the exchange dropped
        return OrderStatus.FILLED if quantity and filled >= quantity else OrderStatus.EXPIRED
    if status in STATUSES:
        return STATUSES[str(status)]
    return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.NEW


def order(venue: str, symbol: Symbol, raw: Mapping[str, Any], client_order_id: str, now_ns: int,
          quantity: Decimal | None = None) -> Order:
    """A ccxt order as arb's `Order`; `quantity` stands in where the answer omits the amount."""
    amount = dec(raw.get("amount")) or (quantity or ZERO)
    filled = dec(raw.get("filled"))
    cost = dec(raw.get("cost"))
    if not cost and filled and raw.get("average") is not None:
        cost = dec(raw["average"]) * filled
    fee, fee_asset = _fee(raw)
    kind = OrderType.MARKET if raw.get("type") == "market" else (
        OrderType.LIMIT_MAKER if raw.get("postOnly") else OrderType.LIMIT)
    price = raw.get("price")
    created = _ns(raw.get("timestamp"), now_ns)
    return Order(
        venue=venue, symbol=symbol, client_order_id=client_order_id,
        side=Side.SELL if raw.get("side") == "sell" else Side.BUY, type=kind, quantity=amount,
        price=dec(price) if price is not None else None,
        time_in_force=TIFS.get(str(raw.get("timeInForce") or "GTC"), TimeInForce.GTC),
        order_id=str(raw["id"]) if raw.get("id") is not None else None,
        status=order_status(raw, amount, filled), filled_qty=filled, filled_quote=cost, fee=fee,
        fee_asset=fee_asset, ts_created=created,
        ts_updated=_ns(raw.get("lastUpdateTimestamp") or raw.get("lastTradeTimestamp"), created))


def fill(venue: str, symbol: Symbol, raw: Mapping[str, Any], client_order_id: str | None,
         now_ns: int) -> Fill:
    fee, fee_asset = _fee(raw)
    return Fill(venue=venue, symbol=symbol, trade_id=str(raw["id"]),
                side=Side.SELL if raw.get("side") == "sell" else Side.BUY, price=dec(raw["price"]),
                quantity=dec(raw["amount"]), fee=fee, fee_asset=fee_asset,
                order_id=str(raw["order"]) if raw.get("order") is not None else None,
                client_order_id=client_order_id, is_maker=raw.get("takerOrMaker") == "maker",
                ts_event=_ns(raw.get("timestamp"), now_ns), ts_recv=now_ns)


def balances(raw: Mapping[str, Any]) -> dict[str, AssetBalance]:
    """ccxt's balance structure (``free``/``used`` per asset) as arb's, assets with no free amount
    skipped."""
    free: Mapping[str, Any] = raw.get("free") or {}
    used: Mapping[str, Any] = raw.get("used") or {}
    return {asset: AssetBalance(asset, dec(amount), dec(used.get(asset)))
            for asset, amount in free.items() if amount is not None}


# --------------------------------------------------------------------------- errors


def _way(currency: Mapping[str, Any], way: str) -> bool | None:
    """One way (``deposit`` / ``withdraw``) of a ccxt currency: open when ccxt says so for the
    currency or for any of its networks, closed when it says no and nothing says yes, None when
    nothing says either."""
    networks = currency.get("networks")
    said = [currency.get(way)] + [net.get(way) for net in (networks.values() if isinstance(networks, Mapping)
                                                          else ()) if isinstance(net, Mapping)]
    known = [value for value in said if isinstance(value, bool)]
    return any(known) if known else None


def transfer_statuses(currencies: Mapping[str, Any]) -> dict[str, TransferStatus]:
    """ccxt's ``fetch_currencies`` -> status per asset (ccxt's unified codes, the names its markets
    use), the native venues' any-chain rule (`transfer_from_chains`): a way is open when the
    currency or any of its networks is open that way. A way ccxt knows nothing of (None on the
    currency and every network) counts as open: unknown is not suspended; an asset unknown both
    ways is left out (nothing is known of it, so nothing is dropped for it)."""
    out: dict[str, TransferStatus] = {}
    for code, currency in currencies.items():
        if not isinstance(currency, Mapping):
            continue
        deposit, withdraw = _way(currency, "deposit"), _way(currency, "withdraw")
        if deposit is None and withdraw is None:
            continue
        asset = str(currency.get("code") or code).upper()
        out[asset] = TransferStatus(asset, deposit is not False, withdraw is not False)
    return out


def _ccxt_errors() -> Any:
    return importlib.import_module("ccxt.base.errors")


def error(venue: str, exc: BaseException, *, write: bool = False,
          client_order_id: str | None = None) -> ArbError:
    """The arb error for an exception ccxt raised. `write`: an order placement or cancel, where
    anything short of a definite answer is an unknown outcome."""
    if isinstance(exc, ArbError):
        return exc
    e = _ccxt_errors()
    message = scrub(str(exc) or type(exc).__name__)
    definite: tuple[tuple[type[BaseException], type[ExchangeError]], ...] = (
        (e.AuthenticationError, AuthenticationError), (e.InsufficientFunds, InsufficientBalanceError),
        (e.OrderNotFound, OrderNotFoundError), (e.BadSymbol, InvalidSymbolError),
        (e.MarketClosed, TradingDisabledError), (e.InvalidOrder, InvalidOrderError),
        (e.RateLimitExceeded, RateLimitError), (e.DDoSProtection, RateLimitError),
        (e.InvalidNonce, TimestampError),
    )
    for source, target in definite:
        if isinstance(exc, source):
            if target is TimestampError and isinstance(exc, e.ChecksumError):
                break  # a WebSocket book checksum, not a request stamp
            return target(venue, message)
    unsure = isinstance(exc, e.NetworkError | e.BadResponse | e.OperationFailed) or not isinstance(
        exc, e.BaseError)
    if write and (unsure or isinstance(exc, MALFORMED)):
        return OrderOutcomeUnknownError(venue, f"{type(exc).__name__}: {message}",
                                        client_order_id=client_order_id)
    if isinstance(exc, (e.BadResponse, *MALFORMED)):
        return DecodeError(venue, "ccxt answer", f"{type(exc).__name__}: {message}")
    if unsure:
        return ExchangeUnavailableError(venue, f"{type(exc).__name__}: {message}")
    if write and isinstance(exc, e.BadRequest | e.ArgumentsRequired | e.OperationRejected):
        return InvalidOrderError(venue, message)
    return ExchangeError(venue, f"{type(exc).__name__}: {message}")
