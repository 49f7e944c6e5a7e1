"""[2] Binance wire Structs and decoders."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Any, Final

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
from arb.venues.base import (
    MALFORMED,
    DepthUpdate,
    common_symbol,
    decode_body,
    depth_update,
    guarded,
    order_book,
)
from arb.venues.binance.constants import ERROR_CODES, SPELLING, STATUS_MAP, VENUE
from arb.venues.errors import classify, decode_code_msg

decode_error: Final = decode_code_msg  # {"code": -1121, "msg": "Invalid symbol."}


def error_class(status: int, api_code: int | str | None) -> type[ExchangeError]:
    return classify(status, api_code, ERROR_CODES)


# --------------------------------------------------------------------------- depth

Level = tuple[float, float]  # prices travel as strings; msgspec converts them in C (strict=False)


class DepthDiffMsg(msgspec.Struct):
    """``{"e":"depthUpdate","E":1633998512568,"s":"NKNUSDT","U":499869753,"u":499869754,
    "b":[["0.35170000","4265.00000000"]],"a":[["0.35290000","10968.00000000"]]}``"""

    E: int
    s: str
    U: int
    u: int
    b: list[Level]
    a: list[Level]


class StreamMsg(msgspec.Struct):
    """Combined-stream envelope ``{"stream": "nknusdt@depth@100ms", "data": {...}}``; data kept raw."""

    stream: str
    data: msgspec.Raw


class DepthSnapshotResp(msgspec.Struct):
    """``{"lastUpdateId": 499869752, "bids": [["0.35210000", "672.0"]], "asks": [...]}``"""

    lastUpdateId: int
    bids: list[Level]
    asks: list[Level]


class ControlMsg(msgspec.Struct):
    """A reply on the market socket: ``{"result": null, "id": 1}`` or ``{"error": {"code": 2, "msg":
    "Invalid request"}, "id": 1}`` (``result`` kept raw: absent and null differ)."""

    id: int | str | None = None
    result: msgspec.Raw = msgspec.Raw(b"")
    error: msgspec.Raw = msgspec.Raw(b"")


_STREAM: Final = msgspec.json.Decoder(StreamMsg)
_CONTROL: Final = msgspec.json.Decoder(ControlMsg)


def decode_control(frame: bytes | str) -> ControlMsg:
    """A reply to one of our requests; anything else (not JSON, not an object) is a `DecodeError`."""
    return decode_body(VENUE, _CONTROL, frame, "control frame")  # type: ignore[no-any-return]
_DEPTH: Final = msgspec.json.Decoder(DepthDiffMsg, strict=False)
_SNAPSHOT: Final = msgspec.json.Decoder(DepthSnapshotResp, strict=False)
MS: Final = 1_000_000


def decode_stream(frame: bytes | str) -> StreamMsg:
    """Split a combined-stream frame into its stream name and raw payload."""
    try:
        return _STREAM.decode(frame)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "stream frame", str(exc), frame) from None


_STREAM_NAME: Final = re.compile(r'^\{\s*"stream"\s*:\s*"([^"\\]{1,100})"')


def stream_name(frame: bytes | str) -> str | None:
    """The stream a frame names in its first bytes, even when the rest does not decode."""
    head = frame[:128]
    text = head.decode("utf-8", "replace") if isinstance(head, (bytes, bytearray)) else str(head)
    match = _STREAM_NAME.match(text)
    return match.group(1) if match else None


def decode_depth(payload: bytes | str, symbol: Symbol, ts_recv: int) -> DepthUpdate:
    """A ``depthUpdate`` payload -> `DepthUpdate` (levels as double buffers); ``U > u`` is malformed.

    Level values (NaN, infinities, prices <= 0, negative sizes) are checked where they are applied,
    in C by `L2Book`, and the book layer turns a refusal into a `DecodeError` of that one book.
    """
    try:
        msg = _DEPTH.decode(payload)
        if msg.u < msg.U:
            raise ValueError(f"first update id {msg.U} > last update id {msg.u}")
        return depth_update(VENUE, symbol, msg.U, msg.u, msg.b, msg.a, msg.E * MS, ts_recv)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "depth update", str(exc), payload) from None


@guarded(VENUE, "snapshot")
def decode_snapshot(body: bytes, symbol: Symbol, ts_recv: int) -> OrderBook:
    """GET /api/v3/depth -> `OrderBook` with `update_id` = lastUpdateId."""
    try:
        msg = _SNAPSHOT.decode(body)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "depth snapshot", str(exc), body) from None
    return order_book(VENUE, symbol, msg.lastUpdateId, msg.bids, msg.asks, 0, ts_recv)


# --------------------------------------------------------------------------- market data


class TimeResp(msgspec.Struct):
    """``{"serverTime": 1499827319559}``"""

    serverTime: int


class FilterMsg(msgspec.Struct, forbid_unknown_fields=False):
    filterType: str
    tickSize: str = "0"
    stepSize: str = "0"
    minQty: str = "0"
    maxQty: str = "0"
    minNotional: str = "0"
    maxNotional: str = "0"


class SymbolMsg(msgspec.Struct):
    """``{"symbol": "LRCBTC", "status": "TRADING", "baseAsset": "LRC", "quoteAsset": "BTC",
    "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.00000001", ...}, ...]}``"""

    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    filters: list[FilterMsg] = []


class ExchangeInfoResp(msgspec.Struct):
    symbols: list[SymbolMsg]


class TradeMsg(msgspec.Struct):
    """``{"id": 28457, "price": "4.00000100", "qty": "12.0", "time": 1499865549590, "isBuyerMaker": true}``"""

    id: int
    price: float
    qty: float
    time: int
    isBuyerMaker: bool


class TickerResp(msgspec.Struct):
    """GET /api/v3/ticker/24hr: ``{"symbol": "BNBBTC", "lastPrice": "4.00000200", "bidPrice": ..., ...}``"""

    symbol: str
    lastPrice: float
    bidPrice: float
    askPrice: float
    volume: float = 0.0
    quoteVolume: float = 0.0
    closeTime: int = 0


_TIME: Final = msgspec.json.Decoder(TimeResp)
_INFO: Final = msgspec.json.Decoder(ExchangeInfoResp)
_TRADES: Final = msgspec.json.Decoder(list[TradeMsg], strict=False)
_TICKER: Final = msgspec.json.Decoder(TickerResp, strict=False)
_TICKERS: Final = msgspec.json.Decoder(list[TickerResp], strict=False)
_KLINES_ANY: Final = msgspec.json.Decoder(list[list[Any]])
STATUS: Final = MappingProxyType(
    {
        "TRADING": SymbolStatus.TRADING,
        "HALT": SymbolStatus.HALTED,
        "BREAK": SymbolStatus.HALTED,
        "END_OF_DAY": SymbolStatus.CLOSED,
    }
)


_decode: Final = partial(decode_body, VENUE)


@guarded(VENUE, "time")
def decode_time(body: bytes) -> int:
    return int(_decode(_TIME, body, "server time").serverTime)


@guarded(VENUE, "symbols")
def decode_symbols(body: bytes) -> list[SymbolInfo]:
    """exchangeInfo -> SymbolInfo (tick from PRICE_FILTER, step/min qty from LOT_SIZE, min notional)."""
    out = []
    for s in _decode(_INFO, body, "exchange info").symbols:
        f = {flt.filterType: flt for flt in s.filters}
        price, lot = f.get("PRICE_FILTER"), f.get("LOT_SIZE")
        notional = f.get("NOTIONAL") or f.get("MIN_NOTIONAL")
        out.append(
            SymbolInfo(
                venue=VENUE,
                symbol=SPELLING.pair(s.baseAsset, s.quoteAsset),
                venue_symbol=s.symbol,
                status=STATUS.get(s.status, SymbolStatus.HALTED),
                tick_size=Decimal(price.tickSize if price else "0").normalize(),
                step_size=Decimal(lot.stepSize if lot else "0").normalize(),
                min_qty=Decimal(lot.minQty if lot else "0"),
                max_qty=Decimal(lot.maxQty if lot else "0"),
                min_notional=Decimal(notional.minNotional if notional else "0"),
                max_notional=Decimal(notional.maxNotional if notional else "0"),
            )
        )
    return out


@guarded(VENUE, "trades")
def decode_trades(body: bytes, symbol: Symbol, ts_recv: int) -> list[Trade]:
    return [
        Trade(
            VENUE,
            symbol,
            str(t.id),
            t.price,
            t.qty,
            Side.SELL if t.isBuyerMaker else Side.BUY,
            t.time * MS,
            ts_recv,
        )
        for t in _decode(_TRADES, body, "trades")
    ]


@guarded(VENUE, "ticker")
def decode_ticker(body: bytes, symbol: Symbol) -> Ticker:
    t = _decode(_TICKER, body, "ticker")
    return Ticker(
        VENUE, symbol, t.lastPrice, t.bidPrice, t.askPrice, t.volume, t.quoteVolume, t.closeTime * MS
    )


@guarded(VENUE, "tickers")
def decode_tickers(body: bytes) -> list[Ticker]:
    """GET /api/v3/ticker/24hr without a symbol: one row per symbol (a name that ends in no known quote
    asset is left out)."""
    out = []
    for t in _decode(_TICKERS, body, "tickers"):
        symbol = common_symbol(SPELLING, t.symbol)
        if symbol is not None:
            out.append(Ticker(VENUE, symbol, t.lastPrice, t.bidPrice, t.askPrice, t.volume, t.quoteVolume,
                              t.closeTime * MS))
    return out


@guarded(VENUE, "klines")
def decode_klines(body: bytes, symbol: Symbol, interval: KlineInterval) -> list[Kline]:
    rows = _decode(_KLINES_ANY, body, "klines")
    return [
        Kline(
            VENUE,
            symbol,
            interval,
            int(r[0]) * MS,
            float(r[1]),
            float(r[2]),
            float(r[3]),
            float(r[4]),
            float(r[5]),
        )
        for r in rows
    ]


class TradeEventMsg(msgspec.Struct):
    """``<symbol>@trade`` payload: ``{"e": "trade", "E": 1672515782136, "s": "BNBBTC", "t": 12345,
    "p": "0.001", "q": "100", "T": 1672515782136, "m": true, "M": true}`` (``m``: the buyer was the maker)."""

    t: int
    p: float
    q: float
    T: int
    m: bool


_TRADE_EVENT: Final = msgspec.json.Decoder(TradeEventMsg, strict=False)


@guarded(VENUE, "trade event")
def decode_trade_event(payload: bytes | str, symbol: Symbol, ts_recv: int) -> Trade:
    """A ``trade`` stream payload -> `Trade`, with the taker's side (a maker buyer means a taker sell)."""
    msg = _decode(_TRADE_EVENT, payload, "trade event")
    side = Side.SELL if msg.m else Side.BUY
    return Trade(VENUE, symbol, str(msg.t), msg.p, msg.q, side, msg.T * MS, ts_recv)


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
