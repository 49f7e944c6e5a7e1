"""[2] Bybit v5 wire Structs and decoders.

Every REST answer is an envelope ``{"retCode": 0, "retMsg": "OK", "result": {...}, "retExtInfo": {},
"time": 1672211918471}``; business errors come back with HTTP 200 and a non-zero ``retCode``
(`decode_envelope`; `public.call` raises what the code means). ``retCode``/``time`` may be
numbers or strings (ccxt's recordings stringify them): both parse. Prices and sizes travel as
decimal strings, some of them empty (``"avgPrice": ""``): such fields are read as text and converted
here (`dec`, `num`). Orders, executions, wallet, fee rates and the private pushes are in `orders`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Final

import msgspec

from arb.errors import DecodeError, ExchangeError
from arb.model import (
    Kline,
    KlineInterval,
    OrderBook,
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
            venue=VENUE, symbol=c.SPELLING.pair(i.baseCoin.upper(), i.quoteCoin.upper()),
            venue_symbol=i.symbol,
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
    return to_ticker(rows[0], symbol, ts_ms)


def to_ticker(t: TickerMsg, symbol: Symbol, ts_ms: int) -> Ticker:
    """``volume24h`` is base volume, ``turnover24h`` quote volume; the envelope's ``time`` stamps it."""
    return Ticker(VENUE, symbol, num(t.lastPrice), num(t.bid1Price), num(t.ask1Price), num(t.volume24h),
                  num(t.turnover24h), ts_ms * MS)


@guarded(VENUE, "tickers")
def decode_tickers(result: bytes, ts_ms: int = 0) -> list[Ticker]:
    """``/v5/market/tickers?category=spot`` without a symbol: every spot symbol's ticker (a symbol whose
    quote asset cannot be told apart is skipped)."""
    out = []
    for t in _decode(_TICKERS, result, "tickers").items:
        symbol = common_symbol(c.SPELLING, t.symbol)
        if symbol is not None:
            out.append(to_ticker(t, symbol, ts_ms))
    return out


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
