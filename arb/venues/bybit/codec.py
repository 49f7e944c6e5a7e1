"""[2] Bybit v5 wire Structs and decoders.

Every REST answer is an envelope ``{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {},
"time": 1672211918471}``; business errors come back with HTTP 200 and a non-zero ``retCode``
(`decode_envelope`; `public.call` raises what the code means). ``retCode``/``time`` may be
numbers or strings (ccxt's recordings stringify them): both parse. Prices and sizes travel as
decimal strings, some of them empty (``"avgPrice": ""``): such fields are read as text and converted
here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Final

import msgspec

from arb.errors import DecodeError, ExchangeError
from arb.model import (
    AssetBalance,
    Fill,
    Kline,
    KlineInterval,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Side,
    Symbol,
    SymbolInfo,
    SymbolStatus,
    Ticker,
    TimeInForce,
    Trade,
    TradingFee,
)
from arb.venues.base import MALFORMED, DepthUpdate, decode_body, depth_update, guarded, order_book
from arb.venues.bybit import constants as c
from arb.venues.errors import classify

VENUE: Final = c.VENUE
MS: Final = 1_000_000
ZERO: Final = Decimal(0)
_decode: Final = partial(decode_body, VENUE)


def dec(text: str) -> Decimal:
    """A decimal string as sent (``""`` is zero)."""
    if not text:
        return ZERO
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a decimal: {text[:40]!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {text[:40]!r}")
    return value


def num(text: str) -> float:
    """A number string as sent (``""`` is zero)."""
    return float(text) if text else 0.0


# --------------------------------------------------------------------------- envelope and errors


class EnvelopeResp(msgspec.Struct):
    """``{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {}, "time": 1672211918471}``"""

    retCode: int
    retMsg: str = ""
    result: msgspec.Raw = msgspec.Raw(b"null")
    time: int = 0


_ENVELOPE: Final = msgspec.json.Decoder(EnvelopeResp, strict=False)


def decode_envelope(body: bytes, what: str = "response") -> EnvelopeResp:
    """The envelope of any REST answer (a body that is not one is a `DecodeError`)."""
    return _decode(_ENVELOPE, body, what)  # type: ignore[no-any-return]


def decode_error(status: int, body: bytes) -> tuple[int | str | None, str]:
    """(retCode, retMsg) of an error answer; a non-envelope body (a 403 page) gives (None, its start)."""
    try:
        env = _ENVELOPE.decode(body)
    except MALFORMED:
        return None, body[:200].decode("utf-8", "replace")
    return env.retCode, env.retMsg


def error_class(status: int, api_code: int | str | None) -> type[ExchangeError]:
    return classify(status, api_code, c.ERROR_CODES, c.STATUS_ERRORS)


# --------------------------------------------------------------------------- market data (REST)


class TimeResult(msgspec.Struct):
    """``{"timeSecond": "1688639403", "timeNano": "1688639403423213947"}``"""

    timeSecond: int = 0
    timeNano: int = 0


class LotSizeMsg(msgspec.Struct):
    """``{"basePrecision": "0.000001", "quotePrecision": "0.0000001", "minOrderQty": "0.000011",
    "maxOrderQty": "83", "minOrderAmt": "5", "maxOrderAmt": "8000000", "maxLimitOrderQty": "83", ...}``"""

    basePrecision: str
    minOrderAmt: str = ""
    maxLimitOrderQty: str = ""
    maxOrderQty: str = ""


class PriceFilterMsg(msgspec.Struct):
    tickSize: str


class InstrumentMsg(msgspec.Struct):
    """``{"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "status": "Trading",
    "lotSizeFilter": {...}, "priceFilter": {"tickSize": "0.1"}, ...}``"""

    symbol: str
    baseCoin: str
    quoteCoin: str
    lotSizeFilter: LotSizeMsg
    priceFilter: PriceFilterMsg
    status: str = "Trading"


class InstrumentsResult(msgspec.Struct):
    items: list[InstrumentMsg] = msgspec.field(name="list")


Level = tuple[float, float]  # decimal strings, converted in C (strict=False)


class BookResult(msgspec.Struct):
    """``{"s": "BTCUSDT", "a": [["65557.7", "16.606555"]], "b": [["65485.47", "47.081829"]],
    "ts": 1716863719031, "u": 230704, "seq": 1432604333, "cts": 1716863718905}``"""

    s: str
    b: list[Level]
    a: list[Level]
    u: int
    ts: int = 0
    seq: int = 0


class RecentTradeMsg(msgspec.Struct):
    """``{"execId": "2100000000007764263", "symbol": "BTCUSDT", "price": "16618.49", "size": "0.00012",
    "side": "Buy", "time": "1672052955758", "isBlockTrade": false}`` (``side``: the taker's)"""

    execId: str
    price: float
    size: float
    side: str
    time: int


class RecentTradesResult(msgspec.Struct):
    items: list[RecentTradeMsg] = msgspec.field(name="list")


class TickerMsg(msgspec.Struct):
    """``{"symbol": "BTCUSDT", "bid1Price": "20517.96", "ask1Price": "20527.77", "lastPrice": "20533.13",
    "turnover24h": "243765620.65899866", "volume24h": "11801.27771", ...}``"""

    symbol: str
    lastPrice: str = ""
    bid1Price: str = ""
    ask1Price: str = ""
    volume24h: str = ""
    turnover24h: str = ""


class TickersResult(msgspec.Struct):
    items: list[TickerMsg] = msgspec.field(name="list")


class KlinesResult(msgspec.Struct):
    """``{"symbol": "BTCUSDT", "list": [["1670608800000", "17071", "17073", "17027", "17055.5",
    "268611", "15.74462667"], ...]}`` newest first: start ms, open, high, low, close, volume, turnover."""

    items: list[list[str]] = msgspec.field(name="list")


_TIME: Final = msgspec.json.Decoder(TimeResult, strict=False)
_INSTRUMENTS: Final = msgspec.json.Decoder(InstrumentsResult, strict=False)
_BOOK: Final = msgspec.json.Decoder(BookResult, strict=False)
_RECENT_TRADES: Final = msgspec.json.Decoder(RecentTradesResult, strict=False)
_TICKERS: Final = msgspec.json.Decoder(TickersResult, strict=False)
_KLINES: Final = msgspec.json.Decoder(KlinesResult, strict=False)


@guarded(VENUE, "time")
def decode_time(result: bytes) -> int:
    """``/v5/market/time`` result -> venue time in ms."""
    t = _decode(_TIME, result, "server time")
    if t.timeNano:
        return int(t.timeNano // MS)
    if t.timeSecond:
        return int(t.timeSecond * 1000)
    raise ValueError("no timeSecond or timeNano")


@guarded(VENUE, "symbols")
def decode_symbols(result: bytes) -> list[SymbolInfo]:
    """instruments-info -> SymbolInfo: tick = ``tickSize``, step = ``basePrecision``, min notional =
    ``minOrderAmt``; ``minOrderQty`` is no longer checked by Bybit and is left out."""
    out = []
    for i in _decode(_INSTRUMENTS, result, "instruments").items:
        lot = i.lotSizeFilter
        out.append(SymbolInfo(
            venue=VENUE, symbol=Symbol(i.baseCoin.upper(), i.quoteCoin.upper()), venue_symbol=i.symbol,
            status=c.SYMBOL_STATUS.get(i.status, SymbolStatus.HALTED),
            tick_size=dec(i.priceFilter.tickSize).normalize(), step_size=dec(lot.basePrecision).normalize(),
            max_qty=dec(lot.maxLimitOrderQty or lot.maxOrderQty), min_notional=dec(lot.minOrderAmt),
        ))
    return out


@guarded(VENUE, "snapshot")
def decode_snapshot(result: bytes, symbol: Symbol, ts_recv: int) -> OrderBook:
    """``/v5/market/orderbook`` result -> `OrderBook` with `update_id` = ``u``."""
    book = _decode(_BOOK, result, "order book")
    return order_book(VENUE, symbol, book.u, book.b, book.a, book.ts * MS, ts_recv)


@guarded(VENUE, "trades")
def decode_trades(result: bytes, symbol: Symbol, ts_recv: int) -> list[Trade]:
    return [Trade(VENUE, symbol, t.execId, t.price, t.size, c.SIDES[t.side], t.time * MS, ts_recv)
            for t in _decode(_RECENT_TRADES, result, "recent trades").items]


@guarded(VENUE, "ticker")
def decode_ticker(result: bytes, symbol: Symbol, ts_ms: int = 0) -> Ticker:
    rows = _decode(_TICKERS, result, "tickers").items
    if not rows:
        raise ValueError("empty ticker list")
    t = rows[0]
    return Ticker(VENUE, symbol, num(t.lastPrice), num(t.bid1Price), num(t.ask1Price), num(t.volume24h),
                  num(t.turnover24h), ts_ms * MS)


@guarded(VENUE, "klines")
def decode_klines(result: bytes, symbol: Symbol, interval: KlineInterval, now_ms: int) -> list[Kline]:
    """Candles oldest first; one that has not ended by `now_ms` is not ``closed``."""
    out = []
    for row in reversed(_decode(_KLINES, result, "klines").items):
        start = int(row[0])
        out.append(Kline(VENUE, symbol, interval, start * MS, float(row[1]), float(row[2]), float(row[3]),
                         float(row[4]), float(row[5]), start + int(interval) * 1000 <= now_ms))
    return out


# --------------------------------------------------------------------------- WebSocket frames


class WsMsg(msgspec.Struct):
    """Every frame: pushes ``{"topic", "type", "ts", "data", "cts"}`` (spot puts ``ts`` before ``type``:
    parsed by key) and private ``{"topic", "id", "creationTime", "data"}``; replies
    ``{"success", "ret_msg", "conn_id", "req_id", "op"}``, the private pong ``{"op": "pong", "args"}``.
    ``data`` stays raw until the topic picks its decoder."""

    topic: str = ""
    type: str = ""
    ts: int = 0
    data: msgspec.Raw = msgspec.Raw(b"null")
    op: str = ""
    success: bool | None = None
    ret_msg: str = ""
    req_id: str | int | None = None
    retCode: int | None = None  # the trade URL's replies
    retMsg: str = ""


_WS: Final = msgspec.json.Decoder(WsMsg, strict=False)


def decode_ws(frame: bytes | str) -> WsMsg:
    try:
        return _WS.decode(frame)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "ws frame", str(exc), frame) from None


_TOPIC: Final = re.compile(r'"topic"\s*:\s*"([^"\\]{1,100})"')


def named_topic(frame: bytes | str) -> str | None:
    """The topic a frame names in its first bytes, even when it does not decode."""
    head = frame[:256]
    text = head.decode("utf-8", "replace") if isinstance(head, (bytes, bytearray)) else str(head)
    match = _TOPIC.search(text)
    return match.group(1) if match else None


class DepthDataMsg(msgspec.Struct):
    """``{"s": "BTCUSDT", "b": [["30247.20", "30.028"], ["30240.00", "0"]], "a": [...], "u": 177400507,
    "seq": 66544703342}`` (a size of ``"0"`` deletes the level)."""

    s: str
    u: int
    b: list[Level] = []
    a: list[Level] = []
    seq: int = 0


_DEPTH: Final = msgspec.json.Decoder(DepthDataMsg, strict=False)


def decode_depth(data: bytes | msgspec.Raw, symbol: Symbol, kind: str, ts_ms: int,
                 ts_recv: int) -> DepthUpdate:
    """An ``orderbook.{depth}.{symbol}`` push's ``data`` -> `DepthUpdate` with ``first_id = last_id = u``.

    `kind` is the push's ``type``: ``snapshot`` replaces the book, ``delta`` applies levels.
    ``{"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1687940967466, "data": {"s": "BTCUSDT",
    "b": [["30247.20", "30.028"]], "a": [["30248.70", "0"]], "u": 177400507, "seq": 66544703342}}``
    """
    try:
        if kind != c.SNAPSHOT and kind != c.DELTA:
            raise ValueError(f"unknown book push type {kind!r}")
        msg = _DEPTH.decode(data)
        if msg.u < 1:
            raise ValueError(f"update id {msg.u} < 1")
        snapshot = kind == c.SNAPSHOT
        return depth_update(VENUE, symbol, msg.u, msg.u, msg.b, msg.a, ts_ms * MS, ts_recv, snapshot)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "order book push", str(exc), bytes(data)) from None


class PublicTradeMsg(msgspec.Struct):
    """``{"T": 1672304486865, "s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "16578.50",
    "i": "20f43950-d8dd-5b31-9112-a178eb6023af", "BT": false, "seq": 1783284617}`` (``S``: the taker's)"""

    T: int
    S: str
    v: float
    p: float
    i: str


_PUBLIC_TRADES: Final = msgspec.json.Decoder(list[PublicTradeMsg], strict=False)


@guarded(VENUE, "public trades")
def decode_public_trades(data: bytes | msgspec.Raw, symbol: Symbol, ts_recv: int) -> list[Trade]:
    """A ``publicTrade.{symbol}`` push's ``data`` (up to 1024 prints) -> `Trade` each."""
    return [Trade(VENUE, symbol, t.i, t.p, t.v, c.SIDES[t.S], t.T * MS, ts_recv)
            for t in _decode(_PUBLIC_TRADES, data, "public trades")]


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
        return given
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
            out.append(AssetBalance(coin.coin, max(total - locked, ZERO), locked))
    return out


@guarded(VENUE, "wallet")
def decode_wallet(result: bytes) -> dict[str, AssetBalance]:
    """``/v5/account/wallet-balance?accountType=UNIFIED`` result -> balance per coin."""
    return {b.asset: b for b in _balances(_decode(_WALLET, result, "wallet balance").items)}


@guarded(VENUE, "fee rate")
def decode_fee_rate(result: bytes, symbol: Symbol) -> TradingFee:
    rows = _decode(_FEE_RATES, result, "fee rates").items
    if not rows:
        raise ValueError("empty fee rate list")
    row = next((r for r in rows if r.symbol == symbol.to_venue(c.SYMBOL_STYLE)), rows[0])
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

