"""[2] MEXC order and account wire: order acks and queries, my trades (with the derived fill id),
account, trade fees, the listen key and the private protobuf pushes (orders, deals, account).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Final

import msgspec

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
from arb.venues.mexc.codec import (
    MS,
    push_error,
)
from arb.venues.mexc.constants import (
    SPELLING,
    STATUS_MAP,
    STREAM_ORDER_TYPES,
    STREAM_STATUS_MAP,
    TRADE_SIDES,
    VENUE,
)
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

_decode: Final = partial(decode_body, VENUE)


# --------------------------------------------------------------------------- orders and account


class OrderAckResp(msgspec.Struct):
    """POST /api/v3/order: ``{"symbol": "BTCUSDT", "orderId": "C02__4135...", "price": "65000",
    "origQty": "0.01", "type": "IMMEDIATE_OR_CANCEL", "side": "BUY", "transactTime": 1764000000000}``
    (no status, no fills: follow up with GET /api/v3/order)."""

    symbol: str
    orderId: str
    transactTime: int = 0


class OrderResp(msgspec.Struct):
    """GET /api/v3/order: ``{"symbol": "BTCUSDT", "orderId": "C02__4135...", "clientOrderId": "ab-b0",
    "price": "65000", "origQty": "0.01", "executedQty": "0.01", "cummulativeQuoteQty": "650",
    "status": "FILLED", "type": "IMMEDIATE_OR_CANCEL", "side": "BUY", "time": ..., "updateTime": ...}``"""

    symbol: str
    orderId: str | int  # a string on MEXC; the doc's cancel example (copied from Binance) has an int
    clientOrderId: str | None = None
    origClientOrderId: str | None = None  # DELETE only: the order's own id (clientOrderId is the cancel's)
    price: Decimal = Decimal(0)
    origQty: Decimal = Decimal(0)
    executedQty: Decimal = Decimal(0)
    cummulativeQuoteQty: Decimal = Decimal(0)
    status: str = "NEW"
    type: str = "LIMIT"
    side: str = "BUY"
    time: int = 0
    updateTime: int | None = None


class BalanceMsg(msgspec.Struct):
    asset: str
    free: Decimal
    locked: Decimal


class AccountResp(msgspec.Struct):
    balances: list[BalanceMsg]
    canTrade: bool = True


_ACK: Final = msgspec.json.Decoder(OrderAckResp, strict=False)
_ORDER: Final = msgspec.json.Decoder(OrderResp, strict=False)
_ORDERS: Final = msgspec.json.Decoder(list[OrderResp], strict=False)
_ACCOUNT: Final = msgspec.json.Decoder(AccountResp, strict=False)
TYPES: Final = MappingProxyType(
    {
        "LIMIT": (OrderType.LIMIT, TimeInForce.GTC),
        "MARKET": (OrderType.MARKET, TimeInForce.IOC),
        "LIMIT_MAKER": (OrderType.LIMIT_MAKER, TimeInForce.GTC),
        "IMMEDIATE_OR_CANCEL": (OrderType.LIMIT, TimeInForce.IOC),
        "FILL_OR_KILL": (OrderType.LIMIT, TimeInForce.FOK),
    }
)


@guarded(VENUE, "to order")
def to_order(msg: OrderResp, symbol: Symbol, client_order_id: str | None = None) -> Order:
    order_type, tif = TYPES.get(msg.type, (OrderType.LIMIT, TimeInForce.GTC))
    return Order(
        venue=VENUE,
        symbol=symbol,
        client_order_id=msg.origClientOrderId or msg.clientOrderId or client_order_id or "",
        side=Side[msg.side],
        type=order_type,
        quantity=msg.origQty,
        price=msg.price or None,
        time_in_force=tif,
        order_id=str(msg.orderId),
        status=STATUS_MAP.get(msg.status, OrderStatus.UNKNOWN),
        filled_qty=msg.executedQty,
        filled_quote=msg.cummulativeQuoteQty,
        ts_created=msg.time * MS,
        ts_updated=(msg.updateTime or msg.time) * MS,
    )


@guarded(VENUE, "ack")
def decode_ack(body: bytes) -> OrderAckResp:
    return _decode(_ACK, body, "order ack")  # type: ignore[no-any-return]


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
    """GET /api/v3/myTrades row: ``{"symbol": "ATLASUSDT", "id": "dd44f79d...", "orderId":
    "C02__385413065019117569043", "price": "0.004542", "qty": "1220", "commission": "0",
    "commissionAsset": "USDT", "time": "1707671871000", "isBuyer": false, "isMaker": false,
    "clientOrderId": null}`` (numbers sometimes as strings)."""

    id: str
    orderId: str
    price: Decimal
    qty: Decimal
    commission: Decimal = Decimal(0)
    commissionAsset: str = ""
    time: int = 0
    isBuyer: bool = True
    isMaker: bool = False
    clientOrderId: str | None = None


class RatesMsg(msgspec.Struct):
    makerCommission: float
    takerCommission: float


class TradeFeeResp(msgspec.Struct):
    """GET /api/v3/tradeFee: ``{"data": {"makerCommission": 0.003, "takerCommission": 0.003},
    "code": 0, "msg": "success", "timestamp": 1669109672717}`` (fractions)."""

    data: RatesMsg


_MY_TRADES: Final = msgspec.json.Decoder(list[MyTradeMsg], strict=False)
_TRADE_FEE: Final = msgspec.json.Decoder(TradeFeeResp, strict=False)


def fill_id(order_id: str, time_ms: int, price: Decimal, quantity: Decimal) -> str:
    """The one `Fill.trade_id` of a MEXC fill, whichever way it arrived.

    MEXC names a fill twice, unrelatably: ``GET /api/v3/myTrades`` prints 32 hex digits
    (``dd44f79dda764c2e927a190ac5e7a1e5``), the ``spot@private.deals`` push prints the order's
    number, ``X`` and a fill number (``505979017439002624X1`` of order ``C02__505979017439002624115``);
    neither reply carries the other's id. What both carry is the order id, the execution time (ms),
    the price and the quantity, so the fill is named by those (numbers normalised: ``"1220"`` and
    ``"1220.00"`` are one quantity). Two fills of one order at the same price and size in the same
    millisecond would share a name; a taker order meets each price level once per match, so that
    does not happen for our IOC orders.
    """
    return f"{order_id}/{time_ms}/{_plain(price)}/{_plain(quantity)}"


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


@guarded(VENUE, "my trades")
def decode_my_trades(body: bytes, symbol: Symbol, ts_recv: int) -> list[Fill]:
    return [
        Fill(VENUE, symbol, fill_id(t.orderId, t.time, t.price, t.qty), Side.BUY if t.isBuyer else Side.SELL,
             t.price, t.qty, t.commission,
             SPELLING.asset(t.commissionAsset), order_id=t.orderId, client_order_id=t.clientOrderId or None,
             is_maker=t.isMaker, ts_event=t.time * MS, ts_recv=ts_recv)
        for t in _decode(_MY_TRADES, body, "my trades")
    ]


@guarded(VENUE, "trade fee")
def decode_trade_fee(body: bytes, symbol: Symbol) -> TradingFee:
    rates = _decode(_TRADE_FEE, body, "trade fee").data
    return TradingFee(VENUE, symbol, rates.makerCommission, rates.takerCommission)


# --------------------------------------------------------------------------- user data stream


class ListenKeyResp(msgspec.Struct):
    """POST/PUT/DELETE /api/v3/userDataStream: ``{"listenKey": "pqia91ma19a5s61cv6a81va65sdf1..."}``"""

    listenKey: str


_LISTEN_KEY: Final = msgspec.json.Decoder(ListenKeyResp)
_PRIVATE_ERRORS: Final = MALFORMED


@guarded(VENUE, "listen key")
def decode_listen_key(body: bytes) -> str:
    return str(_decode(_LISTEN_KEY, body, "listen key").listenKey)


def _amount(text: str) -> Decimal:
    """A decimal string of a push; proto3 sends an unset string as ``""``, read as 0."""
    return Decimal(text) if text else Decimal(0)


@guarded(VENUE, "private order")
def decode_private_order(wrapper: PushDataV3ApiWrapper, symbol_of: Callable[[str], Symbol],
                         ts_recv: int) -> Order:
    """``privateOrders`` -> `Order` (cumulative fields; the fee comes with `privateDeals`).

    Decoded sample: ``{"channel": "spot@private.orders.v3.api.pb", "symbol": "MXUSDT", "sendTime":
    "1736417034281", "privateOrders": {"id": "C02__505979017439002624115", "price": "3.5121",
    "quantity": "1", "avgPrice": "3.6962", "orderType": 5, "tradeType": 2, "cumulativeQuantity": "1",
    "cumulativeAmount": "3.6962", "status": 2, "createTime": "1736417034259"}}``
    """
    body = wrapper.privateOrders
    try:
        order_type, tif = STREAM_ORDER_TYPES[body.orderType]
        price = _amount(body.price)
        return Order(
            venue=VENUE, symbol=symbol_of(wrapper.symbol), client_order_id=body.clientId,
            side=TRADE_SIDES[body.tradeType], type=order_type, quantity=_amount(body.quantity),
            price=price or None, time_in_force=tif, order_id=body.id, status=STREAM_STATUS_MAP[body.status],
            filled_qty=_amount(body.cumulativeQuantity), filled_quote=_amount(body.cumulativeAmount),
            ts_created=body.createTime * MS, ts_updated=(wrapper.sendTime or body.createTime) * MS,
        )
    except _PRIVATE_ERRORS as exc:
        raise push_error("private order push", exc, wrapper) from None


@guarded(VENUE, "private deal")
def decode_private_deal(wrapper: PushDataV3ApiWrapper, symbol_of: Callable[[str], Symbol],
                        ts_recv: int) -> Fill:
    """``privateDeals`` -> `Fill` (one execution, with its fee and trade id).

    Decoded sample: ``{"channel": "spot@private.deals.v3.api.pb", "symbol": "MXUSDT", "privateDeals":
    {"price": "3.6962", "quantity": "1", "amount": "3.6962", "tradeType": 2, "tradeId":
    "505979017439002624X1", "orderId": "C02__505979017439002624115", "feeAmount": "0.00039983",
    "feeCurrency": "MX", "time": "1736417034280"}}``
    """
    body = wrapper.privateDeals
    try:
        if not body.tradeId or not body.orderId:
            raise ValueError("deal without a trade id or an order id")
        price, quantity = _amount(body.price), _amount(body.quantity)
        return Fill(VENUE, symbol_of(wrapper.symbol), fill_id(body.orderId, body.time, price, quantity),
                    TRADE_SIDES[body.tradeType], price, quantity, _amount(body.feeAmount),
                    SPELLING.asset(body.feeCurrency),
                    order_id=body.orderId, client_order_id=body.clientOrderId or None, is_maker=body.isMaker,
                    ts_event=body.time * MS, ts_recv=ts_recv)
    except _PRIVATE_ERRORS as exc:
        raise push_error("private deal push", exc, wrapper) from None


@guarded(VENUE, "private account")
def decode_private_account(wrapper: PushDataV3ApiWrapper) -> AssetBalance:
    """``privateAccount`` -> the asset's absolute balance (available + frozen).

    Decoded sample: ``{"channel": "spot@private.account.v3.api.pb", "privateAccount": {"vcoinName":
    "USDC", "balanceAmount": "21.94210356004384", "balanceAmountChange": "10", "frozenAmount": "0",
    "frozenAmountChange": "0", "type": "CONTRACT_TRANSFER", "time": "1736416910000"}}``
    """
    body = wrapper.privateAccount
    try:
        if not body.vcoinName:
            raise ValueError("account push without an asset")
        asset = SPELLING.asset(body.vcoinName)
        return AssetBalance(asset, _amount(body.balanceAmount), _amount(body.frozenAmount))
    except _PRIVATE_ERRORS as exc:
        raise push_error("private account push", exc, wrapper) from None
