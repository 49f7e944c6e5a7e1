"""[2] Bybit v5 order and account wire: acks, orders, executions, wallet balances, fee rates, and the
``order`` / ``execution`` / ``wallet`` pushes of the private stream.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
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
from arb.venues.bybit import constants as c
from arb.venues.bybit.codec import (
    MS,
    VENUE,
    ZERO,
    dec,
)

_decode: Final = partial(decode_body, VENUE)


# --------------------------------------------------------------------------- orders and account


class AckResult(msgspec.Struct):
    """create / cancel: ``{"orderId": "1321003749386327552", "orderLinkId": "spot-test-postonly"}``"""

    orderId: str
    orderLinkId: str = ""


class OrderMsg(msgspec.Struct):
    """An order object (``/v5/order/realtime``, ``/history``, the ``order`` topic): ``{"orderId":
    "1552132392821724672", "orderLinkId": "1552132392821724673", "symbol": "BTCUSDT", "side": "Buy",
    "orderStatus": "PartiallyFilledCanceled", "rejectReason": "EC_CancelForNoFullFill",
    "timeInForce": "IOC", "price": "0", "qty": "10.000000", "leavesQty": "0.000000",
    "cumExecQty": "0.000306", "cumExecValue": "9.98631000", "cumExecFee": "0.000000306",
    "orderType": "Market", "createdTime": "1699764599837", "updatedTime": "1699764599841",
    "feeCurrency": "BTC", "cumFeeDetail": {"BTC": "0.000000306"}}``"""

    orderId: str
    symbol: str
    side: str
    orderStatus: str
    orderLinkId: str = ""
    category: str = c.CATEGORY
    price: str = ""
    qty: str = ""
    leavesQty: str = ""
    cumExecQty: str = ""
    cumExecValue: str = ""
    cumExecFee: str = ""
    feeCurrency: str = ""
    cumFeeDetail: dict[str, str] | None = None
    rejectReason: str = ""
    timeInForce: str = "GTC"
    orderType: str = "Limit"
    marketUnit: str = ""
    createdTime: str = ""
    updatedTime: str = ""


class OrdersResult(msgspec.Struct):
    items: list[OrderMsg] = msgspec.field(name="list")
    nextPageCursor: str = ""


class ExecutionMsg(msgspec.Struct):
    """A fill (``/v5/execution/list`` row, ``execution`` topic): ``{"category": "spot", "symbol":
    "BTCUSDT", "execId": "2100000000047469164", "execPrice": "32635.00", "execQty": "0.000306",
    "execFee": "0.000000306", "feeCurrency": "", "side": "Buy", "orderId": "1552132392821724672",
    "orderLinkId": "1552132392821724673", "isMaker": false, "execTime": "1699764599837",
    "execType": "Trade"}`` (``execFee`` positive = paid)"""

    symbol: str
    orderId: str
    side: str
    execId: str
    execPrice: str
    execQty: str
    execTime: str
    orderLinkId: str = ""
    category: str = c.CATEGORY
    execFee: str = ""
    feeCurrency: str = ""
    isMaker: bool = False
    execType: str = c.TRADE_EXEC


class ExecutionsResult(msgspec.Struct):
    items: list[ExecutionMsg] = msgspec.field(name="list")


class CoinMsg(msgspec.Struct):
    """``{"coin": "BTC", "walletBalance": "0.0003058", "locked": "0", "equity": ..., ...}``"""

    coin: str
    walletBalance: str = ""
    locked: str = ""


class WalletMsg(msgspec.Struct):
    """``{"accountType": "UNIFIED", "totalEquity": "3.31216591", ..., "coin": [...]}``"""

    coin: list[CoinMsg] = []
    accountType: str = c.ACCOUNT_TYPE


class WalletResult(msgspec.Struct):
    items: list[WalletMsg] = msgspec.field(name="list")


class FeeRateMsg(msgspec.Struct):
    """``{"symbol": "ETHUSDT", "takerFeeRate": "0.0006", "makerFeeRate": "0.0001"}`` (positive = charged)"""

    takerFeeRate: str
    makerFeeRate: str
    symbol: str = ""


class FeeRatesResult(msgspec.Struct):
    items: list[FeeRateMsg] = msgspec.field(name="list")


_ACK: Final = msgspec.json.Decoder(AckResult, strict=False)
_ORDERS: Final = msgspec.json.Decoder(OrdersResult, strict=False)
_ORDER_ROWS: Final = msgspec.json.Decoder(list[OrderMsg], strict=False)
_EXECUTIONS: Final = msgspec.json.Decoder(ExecutionsResult, strict=False)
_EXECUTION_ROWS: Final = msgspec.json.Decoder(list[ExecutionMsg], strict=False)
_WALLET: Final = msgspec.json.Decoder(WalletResult, strict=False)
_WALLET_ROWS: Final = msgspec.json.Decoder(list[WalletMsg], strict=False)
_FEE_RATES: Final = msgspec.json.Decoder(FeeRatesResult, strict=False)


def fee_asset(symbol: Symbol, side: Side, fee: Decimal, given: str) -> str:
    """The fee's currency: `given` when the venue names it, else Bybit's spot rule (a charge on a
    buy is in base, on a sell in quote; a rebate the other way round)."""
    if given:
        return c.SPELLING.asset(given)
    takes_base = (side is Side.BUY) == (fee >= 0)
    return symbol.base if takes_base else symbol.quote


def _ms(text: str) -> int:
    return int(text) * MS if text else 0


@guarded(VENUE, "ack")
def decode_ack(result: bytes) -> AckResult:
    return _decode(_ACK, result, "order ack")  # type: ignore[no-any-return]


@guarded(VENUE, "orders")
def decode_orders(result: bytes) -> OrdersResult:
    return _decode(_ORDERS, result, "orders")  # type: ignore[no-any-return]


def order_status(msg: OrderMsg) -> OrderStatus:
    """``orderStatus`` (+ ``rejectReason``): a cancel the time in force made is an expiry."""
    status = c.STATUS_MAP.get(msg.orderStatus, OrderStatus.UNKNOWN)
    if status is OrderStatus.CANCELED and msg.rejectReason in c.EXPIRY_REASONS:
        return OrderStatus.EXPIRED
    return status


@guarded(VENUE, "to order")
def to_order(msg: OrderMsg, symbol: Symbol) -> Order:
    """An order object as the model's `Order`.

    A market buy not sized in base (``marketUnit`` other than ``baseCoin``) carries a quote ``qty``:
    its base quantity is what filled plus what is left. The fee is ``cumFeeDetail`` (its entry for
    ``feeCurrency``, else its only entry) or the deprecated ``cumExecFee`` in ``feeCurrency``.
    """
    side = c.SIDES[msg.side]
    filled = dec(msg.cumExecQty)
    quote_sized = msg.orderType == "Market" and side is Side.BUY and msg.marketUnit != c.BASE_COIN
    quantity = filled + dec(msg.leavesQty) if quote_sized else dec(msg.qty)
    fee, asset = dec(msg.cumExecFee), msg.feeCurrency
    detail = msg.cumFeeDetail
    if detail:
        asset = asset if asset in detail else next(iter(detail))
        fee = dec(detail[asset])
    order_type = c.ORDER_TYPES.get(msg.orderType, OrderType.LIMIT)
    if msg.timeInForce == c.POST_ONLY:
        order_type = OrderType.LIMIT_MAKER
    price = dec(msg.price)
    return Order(
        venue=VENUE, symbol=symbol, client_order_id=msg.orderLinkId, side=side, type=order_type,
        quantity=quantity, price=price or None,
        time_in_force=c.TIME_IN_FORCE.get(msg.timeInForce, TimeInForce.GTC), order_id=msg.orderId,
        status=order_status(msg), filled_qty=filled, filled_quote=dec(msg.cumExecValue), fee=fee,
        fee_asset=fee_asset(symbol, side, fee, asset) if fee else asset,
        ts_created=_ms(msg.createdTime), ts_updated=_ms(msg.updatedTime or msg.createdTime),
    )


def _to_fill(e: ExecutionMsg, symbol: Symbol, ts_recv: int) -> Fill:
    side = c.SIDES[e.side]
    fee = dec(e.execFee)
    return Fill(VENUE, symbol, e.execId, side, dec(e.execPrice), dec(e.execQty), fee,
                fee_asset(symbol, side, fee, e.feeCurrency), order_id=e.orderId,
                client_order_id=e.orderLinkId or None, is_maker=e.isMaker, ts_event=_ms(e.execTime),
                ts_recv=ts_recv)


@guarded(VENUE, "executions")
def decode_executions(result: bytes, symbol: Symbol, ts_recv: int) -> list[Fill]:
    """``/v5/execution/list`` result -> our fills (rows that are not trades are left out)."""
    return [_to_fill(e, symbol, ts_recv) for e in _decode(_EXECUTIONS, result, "executions").items
            if e.execType == c.TRADE_EXEC]


def _balances(wallets: list[WalletMsg]) -> list[AssetBalance]:
    """Coins of the unified account: free = walletBalance - locked (spot open orders), never below 0."""
    out = []
    for wallet in wallets:
        if wallet.accountType != c.ACCOUNT_TYPE:
            continue
        for coin in wallet.coin:
            total, locked = dec(coin.walletBalance), dec(coin.locked)
            out.append(AssetBalance(c.SPELLING.asset(coin.coin), max(total - locked, ZERO), locked))
    return out


@guarded(VENUE, "wallet")
def decode_wallet(result: bytes) -> dict[str, AssetBalance]:
    """``/v5/account/wallet-balance?accountType=UNIFIED`` result -> balance per coin."""
    return {b.asset: b for b in _balances(_decode(_WALLET, result, "wallet balance").items)}


class ChainMsg(msgspec.Struct):
    """One chain of a coin: ``chainDeposit`` / ``chainWithdraw`` are ``"1"`` (open) or ``"0"``
    (suspended); it also prints ``chainType``, ``confirmation``, ``withdrawFee``, ``depositMin``..."""

    chain: str = ""
    chainDeposit: str = "0"
    chainWithdraw: str = "0"


class CoinInfoMsg(msgspec.Struct):
    """``{"name": "ETH", "coin": "ETH", "remainAmount": "1020000", "chains": [...]}``."""

    coin: str
    chains: list[ChainMsg] | None = None


class CoinsResult(msgspec.Struct):
    rows: list[CoinInfoMsg] | None = None


_COINS: Final = msgspec.json.Decoder(CoinsResult, strict=False)


@guarded(VENUE, "coin info")
def decode_coins(result: bytes) -> dict[str, TransferStatus]:
    """Signed ``GET /v5/asset/coin/query-info`` result -> status per coin (common names): open one
    way when any of its chains is."""
    out = {}
    for row in _decode(_COINS, result, "coin info").rows or ():
        name = c.SPELLING.asset(row.coin)
        out[name] = transfer_from_chains(name, ((ch.chainDeposit == "1", ch.chainWithdraw == "1")
                                                for ch in row.chains or ()))
    return out


@guarded(VENUE, "fee rate")
def decode_fee_rate(result: bytes, symbol: Symbol) -> TradingFee:
    rows = _decode(_FEE_RATES, result, "fee rates").items
    if not rows:
        raise ValueError("empty fee rate list")
    row = next((r for r in rows if r.symbol == c.SPELLING.venue(symbol)), rows[0])
    return TradingFee(VENUE, symbol, float(dec(row.makerFeeRate)), float(dec(row.takerFeeRate)))


# --------------------------------------------------------------------------- private pushes

SymbolOf = Callable[[str], Symbol]


@guarded(VENUE, "order push")
def decode_ws_orders(data: bytes | msgspec.Raw, symbol_of: SymbolOf) -> list[Order]:
    """An ``order`` push's ``data`` -> its spot orders (other categories are left out)."""
    return [to_order(m, symbol_of(m.symbol)) for m in _decode(_ORDER_ROWS, data, "order push")
            if m.category == c.CATEGORY]


@guarded(VENUE, "execution push")
def decode_ws_executions(data: bytes | msgspec.Raw, symbol_of: SymbolOf, ts_recv: int) -> list[Fill]:
    """An ``execution`` push's ``data`` -> its spot fills (one push may hold several)."""
    rows = _decode(_EXECUTION_ROWS, data, "execution push")
    return [_to_fill(e, symbol_of(e.symbol), ts_recv) for e in rows
            if e.category == c.CATEGORY and e.execType == c.TRADE_EXEC]


@guarded(VENUE, "wallet push")
def decode_ws_wallet(data: bytes | msgspec.Raw) -> list[AssetBalance]:
    """A ``wallet`` push's ``data`` -> absolute balances of the unified account's coins."""
    return _balances(_decode(_WALLET_ROWS, data, "wallet push"))
