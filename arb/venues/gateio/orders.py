"""[2] Gate.io order and account wire: ``/spot/orders`` bodies, my trades, accounts, fee rates, and the
private channels (``spot.orders``, ``spot.usertrades``, ``spot.balances``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Final

import msgspec

from arb.errors import DecodeError
from arb.model import (
    AssetBalance,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Symbol,
    TimeInForce,
    TradingFee,
)
from arb.venues.base import (
    MALFORMED,
    decode_body,
    guarded,
)
from arb.venues.gateio.codec import (
    MS,
    SECOND_NS,
)
from arb.venues.gateio.constants import (
    FINISH_MAP,
    POST_ONLY,
    SPELLING,
    STATUS_MAP,
    VENUE,
)

_decode: Final = partial(decode_body, VENUE)


# --------------------------------------------------------------------------- orders and account


class OrderMsg(msgspec.Struct):
    """The Order object (POST/GET/DELETE /spot/orders, open_orders): ``{"id": "1852454420",
    "text": "t-abc123", "create_time_ms": 1710488334073, "update_time_ms": 1710488334074,
    "status": "closed", "currency_pair": "BTC_USDT", "type": "limit", "side": "buy", "amount": "0.001",
    "price": "65000", "time_in_force": "gtc", "left": "0", "filled_amount": "0.001",
    "filled_total": "63.4693", "avg_deal_price": "63469.3", "fee": "0.00000022", "fee_currency": "BTC",
    "finish_as": "filled"}`` (older replies lack ``filled_amount``/``*_ms``; the ACK reply has only
    ``id``, ``text``, ``amend_text``)."""

    id: str
    text: str = ""
    status: str = "open"
    currency_pair: str = ""
    type: str = "limit"
    side: str = "buy"
    amount: Decimal = Decimal(0)
    price: Decimal = Decimal(0)
    time_in_force: str = "gtc"
    left: Decimal | None = None
    filled_amount: Decimal | None = None
    filled_total: Decimal | None = None
    fill_price: Decimal | None = None
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    finish_as: str = ""
    create_time: Decimal = Decimal(0)  # times as Decimal: ms * 10^6 stays exact (a float would not)
    update_time: Decimal = Decimal(0)
    create_time_ms: Decimal = Decimal(0)
    update_time_ms: Decimal = Decimal(0)


class OpenOrdersMsg(msgspec.Struct):
    """GET /spot/open_orders, grouped: ``[{"currency_pair": "ETH_BTC", "total": 1, "orders": [...]}]``"""

    currency_pair: str
    orders: list[OrderMsg]
    total: int = 0


class SpotAccountMsg(msgspec.Struct):
    """``{"currency": "ETH", "available": "968.8", "locked": "0", "update_id": 98}``"""

    currency: str
    available: Decimal
    locked: Decimal = Decimal(0)


class MyTradeMsg(msgspec.Struct):
    """A fill row of GET /spot/my_trades and of the ``spot.usertrades`` channel (where ``id`` is a
    number and ``currency_pair`` says the pair): ``{"id": "1232893232", "create_time_ms":
    "1548000000123.456", "currency_pair": "BTC_USDT", "side": "buy", "role": "taker", "amount": "0.15",
    "price": "0.03", "order_id": "4128442423", "fee": "0.0005", "fee_currency": "ETH", "text": "t-abc"}``"""

    id: int | str
    side: str
    amount: Decimal
    price: Decimal
    currency_pair: str = ""
    order_id: int | str = ""
    role: str = "taker"
    fee: Decimal = Decimal(0)
    fee_currency: str = ""
    text: str = ""
    create_time: Decimal = Decimal(0)
    create_time_ms: Decimal = Decimal(0)


class FeeResp(msgspec.Struct):
    """GET /wallet/fee (or /spot/fee): ``{"taker_fee": "0.002", "maker_fee": "0.002", ...}`` (fractions)."""

    taker_fee: float
    maker_fee: float


_ORDER: Final = msgspec.json.Decoder(OrderMsg, strict=False)
_ORDERS: Final = msgspec.json.Decoder(list[OrderMsg], strict=False)
_OPEN_ORDERS: Final = msgspec.json.Decoder(list[OpenOrdersMsg], strict=False)
_ACCOUNTS: Final = msgspec.json.Decoder(list[SpotAccountMsg], strict=False)
_MY_TRADES: Final = msgspec.json.Decoder(list[MyTradeMsg], strict=False)
_FEE: Final = msgspec.json.Decoder(FeeResp, strict=False)
TIF: Final = MappingProxyType({"gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK,
                               "poc": TimeInForce.GTC})


@guarded(VENUE, "order")
def decode_order(body: bytes) -> OrderMsg:
    return _decode(_ORDER, body, "order")  # type: ignore[no-any-return]


@guarded(VENUE, "orders")
def decode_orders(body: bytes) -> list[OrderMsg]:
    return _decode(_ORDERS, body, "orders")  # type: ignore[no-any-return]


@guarded(VENUE, "open orders")
def decode_open_orders(body: bytes) -> list[OpenOrdersMsg]:
    return _decode(_OPEN_ORDERS, body, "open orders")  # type: ignore[no-any-return]


@guarded(VENUE, "accounts")
def decode_accounts(body: bytes) -> dict[str, AssetBalance]:
    return {SPELLING.asset(a.currency): AssetBalance(SPELLING.asset(a.currency), a.available, a.locked)
            for a in _decode(_ACCOUNTS, body, "spot accounts")}


@guarded(VENUE, "my trades")
def decode_my_trades(body: bytes) -> list[MyTradeMsg]:
    return _decode(_MY_TRADES, body, "my trades")  # type: ignore[no-any-return]


@guarded(VENUE, "fee")
def decode_fee(body: bytes, symbol: Symbol) -> TradingFee:
    fee = _decode(_FEE, body, "fee")
    return TradingFee(VENUE, symbol, fee.maker_fee, fee.taker_fee)


def _time_ns(ms: Decimal, seconds: Decimal) -> int:
    return int(ms * MS) if ms else int(seconds * SECOND_NS)


def order_status(msg: OrderMsg, filled: Decimal) -> OrderStatus:
    """``status`` + ``finish_as`` (+ the fill) -> `OrderStatus`."""
    if msg.status == "open":
        return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
    return FINISH_MAP.get(msg.finish_as) or STATUS_MAP.get(msg.status, OrderStatus.UNKNOWN)


@guarded(VENUE, "to order")
def to_order(msg: OrderMsg, symbol: Symbol, client_order_id: str | None = None,
             quantity: Decimal | None = None) -> Order:
    """An Order object as the model's `Order`.

    A market buy's ``amount`` is quote: pass the base `quantity` the caller asked for (else the
    filled amount stands in). `client_order_id` is the caller's id when it differs from ``text``.
    """
    market_buy = msg.type == "market" and msg.side == "buy"
    filled = msg.filled_amount
    if filled is None:
        filled = Decimal(0) if market_buy or msg.left is None else msg.amount - msg.left
    quote = msg.filled_total if msg.filled_total is not None else msg.fill_price or Decimal(0)
    if quantity is None:
        quantity = filled if market_buy else msg.amount
    order_type = OrderType.MARKET if msg.type == "market" else (
        OrderType.LIMIT_MAKER if msg.time_in_force == POST_ONLY else OrderType.LIMIT)
    return Order(
        venue=VENUE, symbol=symbol, client_order_id=client_order_id or msg.text,
        side=Side.BUY if msg.side == "buy" else Side.SELL, type=order_type, quantity=quantity,
        price=msg.price or None, time_in_force=TIF.get(msg.time_in_force, TimeInForce.GTC),
        order_id=msg.id, status=order_status(msg, filled), filled_qty=filled, filled_quote=quote,
        fee=msg.fee, fee_asset=SPELLING.asset(msg.fee_currency),
        ts_created=_time_ns(msg.create_time_ms, msg.create_time),
        ts_updated=_time_ns(msg.update_time_ms, msg.update_time),
    )


@guarded(VENUE, "to fill")
def to_fill(msg: MyTradeMsg, symbol: Symbol, ts_recv: int, client_order_id: str | None = None) -> Fill:
    return Fill(VENUE, symbol, str(msg.id), Side.BUY if msg.side == "buy" else Side.SELL, msg.price,
                msg.amount, msg.fee, SPELLING.asset(msg.fee_currency), order_id=str(msg.order_id) or None,
                client_order_id=client_order_id or msg.text or None, is_maker=msg.role == "maker",
                ts_event=_time_ns(msg.create_time_ms, msg.create_time), ts_recv=ts_recv)


# --------------------------------------------------------------------------- private channels (WebSocket)


class WsErrorMsg(msgspec.Struct):
    """The ``error`` of a refused request: ``{"code": 4, "message": "{\\"label\\":\\"INVALID_KEY\\",
    \\"message\\":\\"Invalid key provided\\"}\\n"}`` (1 invalid body, 2 invalid argument, 3 server
    error, 4 authentication failed)."""

    code: int
    message: str = ""


class WsOrderMsg(OrderMsg):
    """A ``spot.orders`` row: the Order object (times in ``*_ms`` as strings, no ``status``) plus
    ``event`` put / update / finish: ``{"id": "399123456", "text": "t-testtext", "create_time":
    "1694655225", "currency_pair": "BTC_USDT", "type": "limit", "account": "spot", "side": "sell",
    "amount": "0.0001", "price": "26253.3", "time_in_force": "gtc", "left": "0.0001", "filled_total":
    "0", "fee": "0", "fee_currency": "USDT", "create_time_ms": "1694655225315", "update_time_ms":
    "1694655225315", "user": 3497082, "event": "put", "finish_as": "open"}``"""

    event: str = ""


class WsBalanceMsg(msgspec.Struct):
    """A ``spot.balances`` row, absolute amounts after the change: ``{"timestamp": "1667556323",
    "timestamp_ms": "1667556323730", "user": "1000001", "currency": "USDT", "change": "0", "total":
    "222244.3827652", "available": "222244.3827", "freeze": "5", "freeze_change": "5.000000",
    "change_type": "order-create"}``"""

    currency: str
    available: Decimal
    freeze: Decimal = Decimal(0)


_WS_ERROR: Final = msgspec.json.Decoder(WsErrorMsg)
_WS_ORDERS: Final = msgspec.json.Decoder(list[WsOrderMsg], strict=False)
_USER_TRADES: Final = msgspec.json.Decoder(list[MyTradeMsg], strict=False)
_WS_BALANCES: Final = msgspec.json.Decoder(list[WsBalanceMsg], strict=False)
_PUSH_ERRORS: Final = MALFORMED
FINISH_EVENT: Final = "finish"


def decode_ws_error(error: bytes | msgspec.Raw) -> tuple[int, str]:
    """A reply's non-null ``error`` -> (code, message); an unreadable one -> (0, its text)."""
    try:
        err = _WS_ERROR.decode(error)
    except MALFORMED:
        return 0, bytes(error)[:200].decode("utf-8", "replace")
    return err.code, err.message


def _ws_order(msg: WsOrderMsg, symbol: Symbol) -> Order:
    """The row as the model's `Order`: filled = amount - left (a market buy's amount is quote: its
    ``filled_amount`` then), status from ``event`` (``finish``: ``finish_as``, else left 0 = filled)."""
    market_buy = msg.type == "market" and msg.side == "buy"
    if msg.left is not None and not market_buy:
        filled = msg.amount - msg.left
    else:
        filled = msg.filled_amount or Decimal(0)
    if msg.event == FINISH_EVENT or msg.status in ("closed", "cancelled"):
        status = "closed" if msg.left is not None and msg.left == 0 else "cancelled"
    else:
        status = "open"
    return to_order(msgspec.structs.replace(msg, filled_amount=filled, status=status), symbol)


@guarded(VENUE, "ws orders")
def decode_ws_orders(result: bytes | msgspec.Raw, symbol_of: Callable[[str], Symbol]) -> list[Order]:
    """A ``spot.orders`` result (a list; several pairs may share one push) -> `Order` per row, with the
    cumulative fill, quote and fee of the order."""
    try:
        return [_ws_order(m, symbol_of(m.currency_pair)) for m in _WS_ORDERS.decode(result)]
    except _PUSH_ERRORS as exc:
        raise DecodeError(VENUE, "spot.orders", str(exc), result) from None


@guarded(VENUE, "user trades")
def decode_user_trades(
    result: bytes | msgspec.Raw, symbol_of: Callable[[str], Symbol], ts_recv: int,
) -> list[Fill]:
    """A ``spot.usertrades`` result -> one `Fill` per row (trade id = the row's ``id``, client order id =
    ``text``)."""
    try:
        return [to_fill(m, symbol_of(m.currency_pair), ts_recv)
                for m in _USER_TRADES.decode(result)]
    except _PUSH_ERRORS as exc:
        raise DecodeError(VENUE, "spot.usertrades", str(exc), result) from None


@guarded(VENUE, "ws balances")
def decode_ws_balances(result: bytes | msgspec.Raw) -> list[AssetBalance]:
    """A ``spot.balances`` result -> absolute `AssetBalance` (free = available, locked = freeze) per row."""
    try:
        rows = _WS_BALANCES.decode(result)
        return [AssetBalance(SPELLING.asset(m.currency), m.available, m.freeze) for m in rows]
    except _PUSH_ERRORS as exc:
        raise DecodeError(VENUE, "spot.balances", str(exc), result) from None
