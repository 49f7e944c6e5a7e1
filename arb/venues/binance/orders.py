"""[2] Binance order and account wire: orders, fills, balances, commission rates, and the user data
stream (WS API ``userDataStream.subscribe``: executionReport, outboundAccountPosition).
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
from arb.venues.binance.codec import (
    MS,
)
from arb.venues.binance.constants import SPELLING, STATUS_MAP, VENUE

_decode: Final = partial(decode_body, VENUE)


# --------------------------------------------------------------------------- orders and account


class FillMsg(msgspec.Struct):
    price: Decimal
    qty: Decimal
    commission: Decimal
    commissionAsset: str
    tradeId: int


class OrderResp(msgspec.Struct):
    """``{"symbol": "BTCUSDT", "orderId": 28, "clientOrderId": "ab12-000001b0", "price": "65000.00",
    "origQty": "0.01", "executedQty": "0.01", "cummulativeQuoteQty": "650.0", "status": "FILLED",
    "timeInForce": "IOC", "type": "LIMIT", "side": "BUY", "fills": [{"price": ..., "qty": ...,
    "commission": ..., "commissionAsset": "USDT", "tradeId": 12}]}`` (FULL; ACK/RESULT omit fields).
    GET /api/v3/order has ``time`` instead of ``transactTime``; DELETE names the order's own id
    ``origClientOrderId`` and the cancel request's id ``clientOrderId``."""

    symbol: str
    orderId: int
    clientOrderId: str
    origClientOrderId: str = ""
    status: str = "NEW"
    price: Decimal = Decimal(0)
    origQty: Decimal = Decimal(0)
    executedQty: Decimal = Decimal(0)
    cummulativeQuoteQty: Decimal = Decimal(0)
    timeInForce: str = "GTC"
    type: str = "LIMIT"
    side: str = "BUY"
    transactTime: int = 0
    time: int = 0
    updateTime: int = 0
    fills: list[FillMsg] = []


class BalanceMsg(msgspec.Struct):
    asset: str
    free: Decimal
    locked: Decimal


class AccountResp(msgspec.Struct):
    balances: list[BalanceMsg]
    canTrade: bool = True


_ORDER: Final = msgspec.json.Decoder(OrderResp, strict=False)
_ORDERS: Final = msgspec.json.Decoder(list[OrderResp], strict=False)
_ACCOUNT: Final = msgspec.json.Decoder(AccountResp, strict=False)
TIF: Final = MappingProxyType({"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK})
TYPES: Final = MappingProxyType(
    {"LIMIT": OrderType.LIMIT, "MARKET": OrderType.MARKET, "LIMIT_MAKER": OrderType.LIMIT_MAKER}
)


@guarded(VENUE, "to order")
def to_order(msg: OrderResp, symbol: Symbol) -> Order:
    return Order(
        venue=VENUE,
        symbol=symbol,
        client_order_id=msg.origClientOrderId or msg.clientOrderId,
        side=Side[msg.side],
        type=TYPES.get(msg.type, OrderType.LIMIT),
        quantity=msg.origQty,
        price=msg.price or None,
        time_in_force=TIF.get(msg.timeInForce, TimeInForce.GTC),
        order_id=str(msg.orderId),
        status=STATUS_MAP.get(msg.status, OrderStatus.UNKNOWN),
        filled_qty=msg.executedQty,
        filled_quote=msg.cummulativeQuoteQty,
        fee=sum((f.commission for f in msg.fills), Decimal(0)),
        fee_asset=SPELLING.asset(msg.fills[0].commissionAsset) if msg.fills else "",
        ts_created=(msg.time or msg.transactTime) * MS,
        ts_updated=(msg.updateTime or msg.transactTime or msg.time) * MS,
    )


@guarded(VENUE, "to fills")
def to_fills(msg: OrderResp, symbol: Symbol, ts_recv: int) -> list[Fill]:
    return [
        Fill(
            VENUE,
            symbol,
            str(f.tradeId),
            Side[msg.side],
            f.price,
            f.qty,
            f.commission,
            SPELLING.asset(f.commissionAsset),
            order_id=str(msg.orderId),
            client_order_id=msg.clientOrderId,
            ts_event=msg.transactTime * MS,
            ts_recv=ts_recv,
        )
        for f in msg.fills
    ]


@guarded(VENUE, "order")
def decode_order(body: bytes) -> OrderResp:
    return _decode(_ORDER, body, "order")  # type: ignore[no-any-return]


@guarded(VENUE, "orders")
def decode_orders(body: bytes) -> list[OrderResp]:
    return _decode(_ORDERS, body, "orders")  # type: ignore[no-any-return]


@guarded(VENUE, "account")
def decode_account(body: bytes) -> AccountResp:
    return _decode(_ACCOUNT, body, "account")  # type: ignore[no-any-return]


class MyTradeMsg(msgspec.Struct):
    """GET /api/v3/myTrades row: ``{"symbol": "BNBBTC", "id": 28457, "orderId": 100234, "price":
    "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012", "commission": "10.10000000",
    "commissionAsset": "BNB", "time": 1499865549590, "isBuyer": true, "isMaker": false}``
    (no client order id: the caller maps ``orderId``)."""

    id: int
    orderId: int
    price: Decimal
    qty: Decimal
    commission: Decimal = Decimal(0)
    commissionAsset: str = ""
    time: int = 0
    isBuyer: bool = True
    isMaker: bool = False


class RatesMsg(msgspec.Struct):
    maker: Decimal = Decimal(0)
    taker: Decimal = Decimal(0)


class CommissionResp(msgspec.Struct):
    """GET /api/v3/account/commission: ``{"symbol": "BTCUSDT", "standardCommission": {"maker":
    "0.00000010", "taker": "0.00000020", ...}, "taxCommission": {...}, "specialCommission": {...},
    "discount": {...}}``: the rate paid is standard + tax + special (fractions; the side-dependent
    buyer/seller parts are left out)."""

    standardCommission: RatesMsg
    taxCommission: RatesMsg = msgspec.field(default_factory=RatesMsg)
    specialCommission: RatesMsg = msgspec.field(default_factory=RatesMsg)


_MY_TRADES: Final = msgspec.json.Decoder(list[MyTradeMsg], strict=False)
_COMMISSION: Final = msgspec.json.Decoder(CommissionResp, strict=False)


@guarded(VENUE, "my trades")
def decode_my_trades(body: bytes, symbol: Symbol, ts_recv: int) -> list[Fill]:
    return [
        Fill(VENUE, symbol, str(t.id), Side.BUY if t.isBuyer else Side.SELL, t.price, t.qty, t.commission,
             SPELLING.asset(t.commissionAsset), order_id=str(t.orderId), is_maker=t.isMaker,
             ts_event=t.time * MS, ts_recv=ts_recv)
        for t in _decode(_MY_TRADES, body, "my trades")
    ]


@guarded(VENUE, "commission")
def decode_commission(body: bytes, symbol: Symbol) -> TradingFee:
    c = _decode(_COMMISSION, body, "commission")
    parts = (c.standardCommission, c.taxCommission, c.specialCommission)
    return TradingFee(VENUE, symbol, float(sum(p.maker for p in parts)), float(sum(p.taker for p in parts)))


# --------------------------------------------------------------------------- user data stream (WS API)


class UserEventMsg(msgspec.Struct):
    """WS-API push ``{"subscriptionId": 0, "event": {"e": "executionReport", ...}}``; event kept raw."""

    subscriptionId: int
    event: msgspec.Raw


class EventKindMsg(msgspec.Struct):
    """Only the ``e`` of an event (the other fields are skipped without being built)."""

    e: str


class ExecutionReportMsg(msgspec.Struct, kw_only=True):
    """``{"e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW",
    "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410", "C": "", "x": "NEW",
    "X": "NEW", "i": 4293153, "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0",
    "N": null, "T": 1499405658657, "t": -1, "m": false, "O": 1499405658657, "Z": "0.00000000"}``"""

    event_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    client_id: str = msgspec.field(name="c")
    side: str = msgspec.field(name="S")
    type: str = msgspec.field(name="o")
    tif: str = msgspec.field(name="f")
    quantity: Decimal = msgspec.field(name="q")
    price: Decimal = msgspec.field(name="p")
    orig_client_id: str | None = msgspec.field(name="C", default=None)
    exec_type: str = msgspec.field(name="x")
    status: str = msgspec.field(name="X")
    order_id: int = msgspec.field(name="i")
    last_qty: Decimal = msgspec.field(name="l")
    cum_qty: Decimal = msgspec.field(name="z")
    last_price: Decimal = msgspec.field(name="L")
    fee: Decimal = msgspec.field(name="n", default=Decimal(0))
    fee_asset: str | None = msgspec.field(name="N", default=None)
    trade_ms: int = msgspec.field(name="T")
    trade_id: int = msgspec.field(name="t", default=-1)
    maker: bool = msgspec.field(name="m", default=False)
    created_ms: int = msgspec.field(name="O", default=0)
    cum_quote: Decimal = msgspec.field(name="Z", default=Decimal(0))


class PositionBalanceMsg(msgspec.Struct):
    a: str
    f: Decimal
    l: Decimal  # noqa: E741 (Binance's field name)


class AccountPositionMsg(msgspec.Struct):
    """``{"e": "outboundAccountPosition", "E": 1564034571105, "u": 1564034571073,
    "B": [{"a": "ETH", "f": "10000.000000", "l": "0.000000"}]}`` (absolute free/locked of changed assets)"""

    E: int
    B: list[PositionBalanceMsg]


NO_RESULT: Final = msgspec.Raw(b"null")


class WsApiErrorMsg(msgspec.Struct):
    code: int
    msg: str = ""


class WsApiResponseMsg(msgspec.Struct):
    """``{"id": 7, "status": 200, "result": {"subscriptionId": 0}}`` or ``{"id": 7, "status": 400,
    "error": {"code": -1022, "msg": "Signature for this request is not valid."}}``"""

    id: int | str | None = None
    status: int = 0
    result: msgspec.Raw = NO_RESULT  # a Raw cannot be Optional: absent reads as ``null``
    error: WsApiErrorMsg | None = None


class SubscribedMsg(msgspec.Struct):
    subscriptionId: int


_USER_EVENT: Final = msgspec.json.Decoder(UserEventMsg)
_EVENT_KIND: Final = msgspec.json.Decoder(EventKindMsg)
_EXECUTION: Final = msgspec.json.Decoder(ExecutionReportMsg, strict=False)
_POSITION: Final = msgspec.json.Decoder(AccountPositionMsg, strict=False)
_WS_API_RESPONSE: Final = msgspec.json.Decoder(WsApiResponseMsg)
_SUBSCRIBED: Final = msgspec.json.Decoder(SubscribedMsg)
EXECUTION_REPORT: Final = "executionReport"
ACCOUNT_POSITION: Final = "outboundAccountPosition"
TRADE_EXEC: Final = "TRADE"
_USER_ERRORS: Final = MALFORMED


@guarded(VENUE, "user event")
def decode_user_event(frame: bytes | str) -> tuple[str, msgspec.Raw]:
    """A user-stream push -> (event type, raw event) for the exact-name dispatch in the stream.

    ``{"subscriptionId": 0, "event": {"e": "outboundAccountPosition", "E": 1564034571105, ...}}``
    """
    try:
        envelope = _USER_EVENT.decode(frame)
        return _EVENT_KIND.decode(envelope.event).e, envelope.event
    except _USER_ERRORS as exc:
        raise DecodeError(VENUE, "user event", str(exc), frame) from None


@guarded(VENUE, "execution")
def decode_execution(
    event: bytes | msgspec.Raw, symbol_of: Callable[[str], Symbol], ts_recv: int,
) -> tuple[Order, Fill | None]:
    """``executionReport`` -> the order as of this event and, for ``x == "TRADE"``, its fill.

    `Order.fee` is this event's commission only (the stream adds them up). A cancel reports the
    cancel request's id in ``c`` and the order's own in ``C``: the order's is used.
    ``{"e": "executionReport", "s": "BTCUSDT", "c": "arb-1", "S": "BUY", "o": "LIMIT", "f": "IOC",
    "q": "0.01", "p": "65000", "x": "TRADE", "X": "FILLED", "i": 28, "l": "0.01", "z": "0.01",
    "L": "64990", "n": "0.649", "N": "USDT", "T": 1764000000000, "t": 12, "m": false, "Z": "649.9"}``
    """
    try:
        m = _EXECUTION.decode(event)
        symbol = symbol_of(m.symbol)
        side = Side[m.side]
        order = Order(
            venue=VENUE, symbol=symbol, client_order_id=m.orig_client_id or m.client_id, side=side,
            type=TYPES.get(m.type, OrderType.LIMIT), quantity=m.quantity, price=m.price or None,
            time_in_force=TIF.get(m.tif, TimeInForce.GTC), order_id=str(m.order_id),
            status=STATUS_MAP.get(m.status, OrderStatus.UNKNOWN), filled_qty=m.cum_qty,
            filled_quote=m.cum_quote, fee=m.fee, fee_asset=SPELLING.asset(m.fee_asset or ""),
            ts_created=(m.created_ms or m.trade_ms) * MS, ts_updated=m.trade_ms * MS,
        )
        fill = None
        if m.exec_type == TRADE_EXEC:
            if m.trade_id < 0 or m.last_qty <= 0:
                raise ValueError(f"TRADE without a trade id or quantity (t={m.trade_id}, l={m.last_qty})")
            fill = Fill(VENUE, symbol, str(m.trade_id), side, m.last_price, m.last_qty, m.fee,
                        SPELLING.asset(m.fee_asset or ""), order_id=str(m.order_id),
                        client_order_id=m.client_id, is_maker=m.maker, ts_event=m.trade_ms * MS,
                        ts_recv=ts_recv)
    except _USER_ERRORS as exc:
        raise DecodeError(VENUE, "execution report", str(exc), bytes(event)) from None
    return order, fill


@guarded(VENUE, "account position")
def decode_account_position(event: bytes | msgspec.Raw) -> list[AssetBalance]:
    """``outboundAccountPosition`` -> absolute balances of the assets that changed.

    ``{"e": "outboundAccountPosition", "E": 1564034571105, "u": 1564034571073,
    "B": [{"a": "ETH", "f": "10000.000000", "l": "0.000000"}]}``
    """
    try:
        return [AssetBalance(SPELLING.asset(b.a), b.f, b.l) for b in _POSITION.decode(event).B]
    except _USER_ERRORS as exc:
        raise DecodeError(VENUE, "account position", str(exc), bytes(event)) from None


@guarded(VENUE, "ws api response")
def decode_ws_api_response(frame: bytes | str) -> WsApiResponseMsg:
    """A WS-API reply ``{"id", "status", "result" | "error"}``."""
    try:
        return _WS_API_RESPONSE.decode(frame)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "ws-api response", str(exc), frame) from None


@guarded(VENUE, "subscribed")
def decode_subscribed(result: msgspec.Raw) -> int:
    """``{"subscriptionId": 0}`` -> 0."""
    try:
        return _SUBSCRIBED.decode(result).subscriptionId
    except MALFORMED as exc:
        raise DecodeError(VENUE, "subscribe result", str(exc), bytes(result)) from None
