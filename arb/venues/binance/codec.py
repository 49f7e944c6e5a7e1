"""[2] Binance wire Structs and decoders: market data, depth streams, envelopes and errors.

Orders, fills, balances, fee rates and the user data stream (WS API) are in `orders`.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import partial
from types import MappingProxyType
from typing import Any, Final

import msgspec

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
from arb.venues.binance.constants import ERROR_CODES, SPELLING, VENUE
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
