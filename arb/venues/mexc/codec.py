"""[2] MEXC wire Structs and decoders: market data, protobuf depth and deals pushes, errors.

Orders, fills, account, fee rates and the private (user data) pushes are in `orders`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any, Final

import msgspec
from google.protobuf.message import DecodeError as DecodeProtoError

from arb._core.pbwire import read_depth_push
from arb.errors import DecodeError, ExchangeError
from arb.model import (
    Kline,
    KlineInterval,
    OrderBook,
    Side,
    Symbol,
    SymbolInfo,
    SymbolStatus,
    Ticker,
    Trade,
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
        raise push_error("deals push", exc, wrapper) from None


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


def push_error(what: str, exc: Exception, wrapper: PushDataV3ApiWrapper) -> DecodeError:
    return DecodeError(VENUE, what, f"{type(exc).__name__}: {exc}", wrapper.SerializeToString())
