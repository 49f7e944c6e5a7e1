"""[2] MEXC wire Structs and decoders."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Any, Final

import msgspec
from google.protobuf.message import DecodeError as DecodeProtoError

from arb._core.pbwire import read_depth_push
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
from arb.venues.errors import classify, decode_code_msg
from arb.venues.mexc.constants import (
    ERROR_CODES,
    SPELLING,
    STATUS_MAP,
    STREAM_ORDER_TYPES,
    STREAM_STATUS_MAP,
    TRADE_SIDES,
    VENUE,
)
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

decode_error: Final = decode_code_msg  # {"code": -1121, "msg": "Invalid symbol."}


def error_class(status: int, api_code: int | str | None) -> type[ExchangeError]:
    return classify(status, api_code, ERROR_CODES)


# --------------------------------------------------------------------------- depth

Level = tuple[float, float]


class DepthSnapshotResp(msgspec.Struct):
    """``{"lastUpdateId": "20453289489", "bids": [["45995.47", "10.337165"]], "asks": [...],
    "timestamp": "1704908526228"}`` (ids and times arrive as strings or numbers)."""

    lastUpdateId: int
    bids: list[Level]
    asks: list[Level]
    timestamp: int = 0


_SNAPSHOT: Final = msgspec.json.Decoder(DepthSnapshotResp, strict=False)
MS: Final = 1_000_000


def decode_push(frame: bytes) -> PushDataV3ApiWrapper:
    """A binary WebSocket frame -> the protobuf wrapper (read field by field afterwards)."""
    wrapper = PushDataV3ApiWrapper()
    try:
        wrapper.ParseFromString(frame)
    except DecodeProtoError as exc:
        raise DecodeError(VENUE, "push frame", str(exc), frame) from None
    return wrapper


def decode_depth(wrapper: PushDataV3ApiWrapper, symbol: Symbol, ts_recv: int) -> DepthUpdate:
    """``publicAggreDepths`` -> `DepthUpdate`; ``publicLimitDepths`` (a top-N snapshot) replaces the book.

    Decoded sample: ``{"channel": "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDC", "symbol": "BTCUSDC",
    "sendTime": "1755973885809", "publicAggreDepths": {"asks": [{"price": "115198.74", "quantity":
    "0.068865"}], "bids": [...], "fromVersion": "17521975448", "toVersion": "17521975455"}}``
    """
    kind = wrapper.WhichOneof("body")
    try:
        if kind == "publicAggreDepths":
            body = wrapper.publicAggreDepths
            first, last, full = int(body.fromVersion), int(body.toVersion), False
        elif kind == "publicLimitDepths":
            limit = wrapper.publicLimitDepths
            first = last = int(limit.version)
            body, full = limit, True
        else:
            raise ValueError(f"not a depth push: {kind}")
        if last < first:
            raise ValueError(f"toVersion {last} < fromVersion {first}")
        bids = [(float(level.price), float(level.quantity)) for level in body.bids]
        asks = [(float(level.price), float(level.quantity)) for level in body.asks]
    except MALFORMED as exc:
        raise DecodeError(VENUE, "depth push", str(exc), wrapper.channel) from None
    return depth_update(VENUE, symbol, first, last, bids, asks, wrapper.sendTime * MS, ts_recv, full)


# wire layout of the depth pushes (fact sheet 1.10): wrapper field -> (asks, bids, first, last)
AGGRE_DEPTH: Final = (313, 1, 2, 4, 5)
LIMIT_DEPTH: Final = (303, 1, 2, 4, 0)


def decode_depth_frame(frame: bytes, symbol: Symbol, ts_recv: int, *, limit: bool = False) -> DepthUpdate:
    """The hot path: a binary depth frame -> `DepthUpdate` in one C pass (no per-level objects).

    Same result as `decode_depth(decode_push(frame))`, which stays for the other push types and
    as the reference the tests compare this reader against.
    """
    layout = LIMIT_DEPTH if limit else AGGRE_DEPTH
    try:
        _, _, send_ms, first, last, bp, bs, ap, az = read_depth_push(frame, *layout)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "depth push", str(exc), frame) from None
    if last < first:
        raise DecodeError(VENUE, "depth push", f"toVersion {last} < fromVersion {first}", frame)
    return DepthUpdate(VENUE, symbol, first, last, bp, bs, ap, az, send_ms * MS, ts_recv, limit)


def decode_depth_frame_routed(frame: bytes, routes: Mapping[str, Symbol], ts_recv: int) -> DepthUpdate | None:
    """`decode_depth_frame` for a frame whose channel names its symbol; None for an unrouted channel."""
    try:
        channel, _, send_ms, first, last, bp, bs, ap, az = read_depth_push(frame, *AGGRE_DEPTH)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "depth push", str(exc), frame) from None
    symbol = routes.get(channel)
    if symbol is None:
        return None
    if last < first:
        raise DecodeError(VENUE, "depth push", f"toVersion {last} < fromVersion {first}", frame)
    return DepthUpdate(VENUE, symbol, first, last, bp, bs, ap, az, send_ms * MS, ts_recv, False)


# --------------------------------------------------------------------------- public deals (trades)


def frame_channel(frame: bytes) -> str:
    """A push's channel (wrapper field 1), read without parsing the rest when it comes first (as
    proto3 serializers write it); otherwise from the parsed wrapper."""
    if len(frame) > 2 and frame[0] == 0x0A and frame[1] < 0x80:  # tag 1/LEN, one-byte length
        return frame[2:2 + frame[1]].decode("utf-8", "replace")
    return str(decode_push(frame).channel)


@guarded(VENUE, "deals")
def decode_deals(wrapper: PushDataV3ApiWrapper, symbol: Symbol, ts_recv: int) -> list[Trade]:
    """``publicAggreDeals`` -> one `Trade` per deal, read field by field (``tradeType`` 1 buy / 2 sell is
    the taker's side); a deal without ``tradeId`` (older pushes) gets ``<time>-<position>``, as in REST.

    Decoded sample: ``{"channel": "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDC", "symbol": "BTCUSDC",
    "sendTime": "1755973886309", "publicAggreDeals": {"deals": [{"price": "115091.25", "quantity":
    "0.000059", "tradeType": 1, "time": "1755973886258"}], "eventType": "spot@public.aggre.deals..."}}``
    """
    kind = wrapper.WhichOneof("body")
    try:
        if kind != "publicAggreDeals":
            raise ValueError(f"not a deals push: {kind}")
        return [Trade(VENUE, symbol, deal.tradeId or f"{deal.time}-{i}", float(deal.price),
                      float(deal.quantity), TRADE_SIDES[deal.tradeType], deal.time * MS, ts_recv)
                for i, deal in enumerate(wrapper.publicAggreDeals.deals)]
    except MALFORMED as exc:
        raise _push_error("deals push", exc, wrapper) from None


@guarded(VENUE, "deals frame")
def decode_deals_frame(frame: bytes, routes: Mapping[str, Symbol], ts_recv: int) -> list[Trade] | None:
    """A binary deals push -> its trades, routed by exact channel; None for a channel not routed."""
    wrapper = decode_push(frame)
    symbol = routes.get(wrapper.channel)
    return None if symbol is None else decode_deals(wrapper, symbol, ts_recv)


def decode_market_frame(frame: bytes, depth: Mapping[str, Symbol], deals: Mapping[str, Symbol],
                        ts_recv: int) -> DepthUpdate | list[Trade] | None:
    """A market push routed by its exact channel: deals -> trades, depth -> `DepthUpdate` (the C
    reader); a deals push on a channel not routed (a late one) -> None, as for depth."""
    if deals:  # without deal subscriptions, depth frames skip the channel peek
        channel = frame_channel(frame)
        if channel in deals:
            return decode_deals_frame(frame, deals, ts_recv)
        if channel not in depth and decode_push(frame).WhichOneof("body") == "publicAggreDeals":
            return None
    return decode_depth_frame_routed(frame, depth, ts_recv)


@guarded(VENUE, "snapshot")
def decode_snapshot(body: bytes, symbol: Symbol, ts_recv: int) -> OrderBook:
    try:
        msg = _SNAPSHOT.decode(body)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "depth snapshot", str(exc), body) from None
    return order_book(VENUE, symbol, msg.lastUpdateId, msg.bids, msg.asks, msg.timestamp * MS, ts_recv)


# --------------------------------------------------------------------------- market data


class TimeResp(msgspec.Struct):
    serverTime: int


class SymbolMsg(msgspec.Struct):
    """``{"symbol": "OGNUSDT", "status": "1", "baseAsset": "OGN", "baseAssetPrecision": "2",
    "quoteAsset": "USDT", "quotePrecision": "4", "baseSizePrecision": "0.01",
    "quoteAmountPrecision": "5", "isSpotTradingAllowed": true, "takerCommission": "0.002"}``
    (``baseSizePrecision`` is the minimum quantity, ``quoteAmountPrecision`` the minimum notional)."""

    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str
    baseAssetPrecision: int
    quotePrecision: int | None = None
    quoteAssetPrecision: int | None = None
    baseSizePrecision: str = "0"
    quoteAmountPrecision: str = "0"
    maxQuoteAmount: str = "0"
    isSpotTradingAllowed: bool = True
    makerCommission: float | None = None
    takerCommission: float | None = None


class ExchangeInfoResp(msgspec.Struct):
    symbols: list[SymbolMsg]


class TradeMsg(msgspec.Struct):
    """``{"id": null, "price": "23", "qty": "0.478468", "time": 1640830579240, "isBuyerMaker": true}``"""

    price: float
    qty: float
    time: int
    isBuyerMaker: bool
    id: str | None = None


class TickerResp(msgspec.Struct):
    """``{"symbol": "BTCUSDT", "lastPrice": "73397.77", "bidPrice": "73369.83", "askPrice": "73369.84",
    "volume": "...", "quoteVolume": null, "closeTime": 1710331200000}`` (fields may be null)"""

    symbol: str
    lastPrice: float
    bidPrice: float = 0.0
    askPrice: float = 0.0
    volume: float | None = None
    quoteVolume: float | None = None
    closeTime: int | None = None


_TIME: Final = msgspec.json.Decoder(TimeResp, strict=False)
_INFO: Final = msgspec.json.Decoder(ExchangeInfoResp, strict=False)
_TRADES: Final = msgspec.json.Decoder(list[TradeMsg], strict=False)
_TICKER: Final = msgspec.json.Decoder(TickerResp, strict=False)
_TICKERS: Final = msgspec.json.Decoder(list[TickerResp], strict=False)
_ROWS: Final = msgspec.json.Decoder(list[list[Any]])
ONLINE: Final = frozenset({"1", "ENABLED"})


_decode: Final = partial(decode_body, VENUE)


@guarded(VENUE, "time")
def decode_time(body: bytes) -> int:
    return int(_decode(_TIME, body, "server time").serverTime)


@guarded(VENUE, "symbols")
def decode_symbols(body: bytes) -> list[SymbolInfo]:
    """exchangeInfo -> SymbolInfo; tradable only if status is online and spot trading is allowed."""
    out = []
    for s in _decode(_INFO, body, "exchange info").symbols:
        price_decimals = s.quotePrecision if s.quotePrecision is not None else (s.quoteAssetPrecision or 0)
        online = s.status in ONLINE and s.isSpotTradingAllowed
        status = SymbolStatus.TRADING if online else SymbolStatus.HALTED
        out.append(
            SymbolInfo(
                venue=VENUE,
                symbol=SPELLING.pair(s.baseAsset, s.quoteAsset),
                venue_symbol=s.symbol,
                status=status,
                tick_size=Decimal(1).scaleb(-price_decimals),
                step_size=Decimal(1).scaleb(-s.baseAssetPrecision),
                min_qty=Decimal(s.baseSizePrecision),
                min_notional=Decimal(s.quoteAmountPrecision),
                max_notional=Decimal(s.maxQuoteAmount),
                maker_fee=s.makerCommission,
                taker_fee=s.takerCommission,
            )
        )
    return out


@guarded(VENUE, "trades")
def decode_trades(body: bytes, symbol: Symbol, ts_recv: int) -> list[Trade]:
    """MEXC sends ``id: null``; the trade id is then made from the time and the position."""
    return [
        Trade(
            VENUE,
            symbol,
            t.id or f"{t.time}-{i}",
            t.price,
            t.qty,
            Side.SELL if t.isBuyerMaker else Side.BUY,
            t.time * MS,
            ts_recv,
        )
        for i, t in enumerate(_decode(_TRADES, body, "trades"))
    ]


@guarded(VENUE, "ticker")
def decode_ticker(body: bytes, symbol: Symbol) -> Ticker:
    t = _decode(_TICKER, body, "ticker")
    return Ticker(
        VENUE,
        symbol,
        t.lastPrice,
        t.bidPrice,
        t.askPrice,
        t.volume or 0.0,
        t.quoteVolume or 0.0,
        (t.closeTime or 0) * MS,
    )


@guarded(VENUE, "tickers")
def decode_tickers(body: bytes) -> list[Ticker]:
    """GET /api/v3/ticker/24hr without a symbol: one row per symbol (a name that ends in no known quote
    asset is left out)."""
    out = []
    for t in _decode(_TICKERS, body, "tickers"):
        symbol = common_symbol(SPELLING, t.symbol)
        if symbol is not None:
            out.append(Ticker(VENUE, symbol, t.lastPrice, t.bidPrice, t.askPrice, t.volume or 0.0,
                              t.quoteVolume or 0.0, (t.closeTime or 0) * MS))
    return out


@guarded(VENUE, "klines")
def decode_klines(body: bytes, symbol: Symbol, interval: KlineInterval) -> list[Kline]:
    """8-column rows ``[openTime, open, high, low, close, volume, closeTime, quoteVolume]``."""
    try:
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
            for r in _decode(_ROWS, body, "klines")
        ]
    except (IndexError, ValueError, TypeError) as exc:
        raise DecodeError(VENUE, "klines", str(exc), body) from None


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


def _push_error(what: str, exc: Exception, wrapper: PushDataV3ApiWrapper) -> DecodeError:
    return DecodeError(VENUE, what, f"{type(exc).__name__}: {exc}", wrapper.SerializeToString())


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
        raise _push_error("private order push", exc, wrapper) from None


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
        raise _push_error("private deal push", exc, wrapper) from None


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
        raise _push_error("private account push", exc, wrapper) from None
