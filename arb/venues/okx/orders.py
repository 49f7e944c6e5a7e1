"""[2] OKX v5 order and account wire: order acks (``sCode``/``sMsg`` per item, checked by `codec.check`),
orders, fills, balances, fee rates, and the ``orders`` / ``account`` pushes of the private channels.
"""

from __future__ import annotations

from functools import partial
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
    TransferStatus,
)
from arb.venues.base import decode_body, guarded, transfer_from_chains
from arb.venues.okx import constants as c
from arb.venues.okx.codec import (
    EXPIRING_TYPES,
    ITEMS,
    SIDES,
    ItemMsg,
    asset,
    check,
    dec,
    first_row,
    ms_ns,
    num,
    parse_inst,
)

_decode: Final = partial(decode_body, c.VENUE)


# --------------------------------------------------------------------------- orders and account


class OrderMsg(msgspec.Struct):
    """The order object (GET /trade/order, /trade/orders-pending and the ``orders`` channel):
    ``{"instId": "BTC-USDT", "ordId": "680800019749904384", "clOrdId": "", "px": "", "sz": "100",
    "ordType": "market", "side": "buy", "tgtCcy": "quote_ccy", "accFillSz": "0.00192834",
    "avgPx": "51858", "state": "filled", "fee": "-0.00000192834", "feeCcy": "BTC", "cancelSource": "",
    "cTime": "1708587373361", "uTime": "1708587373362", "fillPx": "51858", "fillSz": "0.00192834",
    "tradeId": "744876980", "fillTime": "1708587373361", ...}``; pushes add ``fillFee``/``fillFeeCcy``/
    ``execType`` for the event's own fill (``accFillSz`` is cumulative, ``fillSz`` this event only)."""

    instId: str
    ordId: str
    side: str
    clOrdId: str = ""
    px: str = ""
    sz: str = ""
    ordType: str = "limit"
    tgtCcy: str = ""
    accFillSz: str = ""
    avgPx: str = ""
    state: str = ""
    fee: str = ""
    feeCcy: str = ""
    cancelSource: str = ""
    cTime: str = ""
    uTime: str = ""
    fillPx: str = ""
    fillSz: str = ""
    fillFee: str | None = None
    fillFeeCcy: str = ""
    tradeId: str = ""
    fillTime: str = ""
    execType: str = ""


class FillMsg(msgspec.Struct):
    """GET /trade/fills row: ``{"instId": "BTC-USDT", "tradeId": "744876980", "ordId": "680800019749904384",
    "clOrdId": "", "fillPx": "51858", "fillSz": "0.00192834", "side": "buy", "execType": "T",
    "fee": "-0.00000192834" (negative = paid), "feeCcy": "BTC", "ts": "1708587373362",
    "fillTime": "1708587373361"}``"""

    instId: str
    tradeId: str
    fillPx: str
    fillSz: str
    side: str
    ordId: str = ""
    clOrdId: str = ""
    execType: str = ""
    fee: str = ""
    feeCcy: str = ""
    ts: str = ""
    fillTime: str = ""


class BalanceDetailMsg(msgspec.Struct):
    """``{"ccy": "USDT", "availBal": "4834.317", "frozenBal": "158.573", "cashBal": "4850.43", ...}``"""

    ccy: str
    availBal: str = ""
    frozenBal: str = ""
    cashBal: str = ""


class BalanceMsg(msgspec.Struct):
    """GET /account/balance ``data[0]`` and the ``account`` push: ``{"details": [...], "uTime": ...}``"""

    details: list[BalanceDetailMsg] = []


class FeeGroupMsg(msgspec.Struct):
    maker: str = ""
    taker: str = ""


class FeeMsg(msgspec.Struct):
    """GET /account/trade-fee: ``{"feeGroup": [{"maker": "-0.0008", "taker": "-0.001", "groupId": "1"}],
    "maker": "-0.0008", "taker": "-0.001", "level": "Lv1", ...}`` (negative = commission)."""

    feeGroup: list[FeeGroupMsg] = []
    maker: str = ""
    taker: str = ""


_ORDERS: Final = msgspec.json.Decoder(list[OrderMsg])
_FILLS: Final = msgspec.json.Decoder(list[FillMsg])
_BALANCES: Final = msgspec.json.Decoder(list[BalanceMsg])
_FEES: Final = msgspec.json.Decoder(list[FeeMsg])


@guarded(c.VENUE, "order ack")
def decode_ack(body: bytes, client_order_id: str | None = None) -> ItemMsg:
    """A place / cancel reply's item (``sCode`` "0": accepted; a failed item raises its error)."""
    data = check(body, "order ack", write=True, client_order_id=client_order_id)
    return first_row(_decode(ITEMS, data, "order ack"), "order ack", body)  # type: ignore[no-any-return]


@guarded(c.VENUE, "orders")
def decode_orders(body: bytes) -> list[OrderMsg]:
    return _decode(_ORDERS, check(body, "orders"), "orders")  # type: ignore[no-any-return]


@guarded(c.VENUE, "fills")
def decode_fills(body: bytes) -> list[FillMsg]:
    return _decode(_FILLS, check(body, "fills"), "fills")  # type: ignore[no-any-return]


def to_balances(msg: BalanceMsg) -> list[AssetBalance]:
    """free = availBal, locked = frozenBal (cashBal when the split is not given)."""
    return [AssetBalance(asset(d.ccy), dec(d.availBal or d.cashBal), dec(d.frozenBal)) for d in msg.details]


@guarded(c.VENUE, "balance")
def decode_balances(body: bytes) -> dict[str, AssetBalance]:
    rows = _decode(_BALANCES, check(body, "balance"), "balance")
    return {b.asset: b for row in rows for b in to_balances(row)}


@guarded(c.VENUE, "fee rates")
def decode_fee(body: bytes, symbol: Symbol) -> TradingFee:
    """Fee rates as fractions we pay: OKX's sign is flipped (its negative = commission)."""
    msg = first_row(_decode(_FEES, check(body, "fee rates"), "fee rates"), "fee rates", body)
    group = msg.feeGroup[0] if msg.feeGroup else FeeGroupMsg(msg.maker, msg.taker)
    return TradingFee(c.VENUE, symbol, -num(group.maker), -num(group.taker))


class CurrencyMsg(msgspec.Struct):
    """One currency on one chain (signed ``GET /api/v5/asset/currencies``): ``{"ccy": "BTC", "chain":
    "BTC-Bitcoin", "canDep": true, "canWd": true, "canInternal": true, "minWd": "0.0005", "mainNet":
    true, ...}``; one row per chain."""

    ccy: str
    chain: str = ""
    canDep: bool = False
    canWd: bool = False


_CURRENCIES: Final = msgspec.json.Decoder(list[CurrencyMsg], strict=False)


@guarded(c.VENUE, "currencies")
def decode_currencies(body: bytes) -> dict[str, TransferStatus]:
    """Every currency's status by its common name: open one way when any of its chains is."""
    chains: dict[str, list[tuple[bool, bool]]] = {}
    for row in _decode(_CURRENCIES, check(body, "currencies"), "currencies"):
        chains.setdefault(asset(row.ccy), []).append((row.canDep, row.canWd))
    return {name: transfer_from_chains(name, rows) for name, rows in chains.items()}


def order_status(msg: OrderMsg) -> OrderStatus:
    """``state`` -> `OrderStatus`; a ``canceled`` IOC/FOK remainder (cancelSource 13/14/31/33, or an
    IOC-type order cancelled without a source) is EXPIRED, as on the other venues."""
    status = c.STATUS_MAP.get(msg.state, OrderStatus.UNKNOWN)
    if status is OrderStatus.CANCELED and (
            msg.cancelSource in c.EXPIRED_SOURCES
            or (not msg.cancelSource and msg.ordType in EXPIRING_TYPES)):
        return OrderStatus.EXPIRED
    return status


@guarded(c.VENUE, "to order")
def to_order(msg: OrderMsg, symbol: Symbol | None = None, client_order_id: str | None = None) -> Order:
    """The order object as the model's `Order` (fee sign flipped: positive = paid).

    A market order sized in quote (``tgtCcy`` quote_ccy, OKX's default for buys) has no base
    quantity: the filled quantity stands in.
    """
    order_type, tif = c.ORD_TYPES.get(msg.ordType, (OrderType.LIMIT, TimeInForce.GTC))
    side = SIDES.get(msg.side)
    if side is None:
        raise ValueError(f"unknown side {msg.side!r}")
    filled = dec(msg.accFillSz)
    quote_sized = msg.ordType == c.MARKET and (
        msg.tgtCcy == c.QUOTE_CCY or (not msg.tgtCcy and side is Side.BUY))
    return Order(
        venue=c.VENUE, symbol=symbol or parse_inst(msg.instId),
        client_order_id=client_order_id or msg.clOrdId or msg.ordId,
        side=side, type=order_type, quantity=filled if quote_sized else dec(msg.sz),
        price=dec(msg.px) or None, time_in_force=tif, order_id=msg.ordId, status=order_status(msg),
        filled_qty=filled,
        filled_quote=filled * dec(msg.avgPx), fee=-dec(msg.fee), fee_asset=asset(msg.feeCcy),
        ts_created=ms_ns(msg.cTime), ts_updated=ms_ns(msg.uTime),
    )


@guarded(c.VENUE, "to fill")
def to_fill(msg: FillMsg, symbol: Symbol | None, ts_recv: int, client_order_id: str | None = None) -> Fill:
    side = SIDES.get(msg.side)
    if side is None:
        raise ValueError(f"unknown side {msg.side!r}")
    return Fill(c.VENUE, symbol or parse_inst(msg.instId), msg.tradeId, side, dec(msg.fillPx),
                dec(msg.fillSz), -dec(msg.fee), asset(msg.feeCcy), order_id=msg.ordId or None,
                client_order_id=client_order_id or msg.clOrdId or None,
                is_maker=msg.execType == c.MAKER_EXEC,
                ts_event=ms_ns(msg.fillTime or msg.ts), ts_recv=ts_recv)


@guarded(c.VENUE, "orders push")
def decode_order_push(data: bytes | msgspec.Raw) -> list[OrderMsg]:
    return _decode(_ORDERS, data, "orders push")  # type: ignore[no-any-return]


@guarded(c.VENUE, "account push")
def decode_account_push(data: bytes | msgspec.Raw) -> list[AssetBalance]:
    """``account`` push data ``[{"details": [{"ccy": "USDT", "availBal": ..., "frozenBal": ...}]}]``."""
    return [b for row in _decode(_BALANCES, data, "account push") for b in to_balances(row)]
