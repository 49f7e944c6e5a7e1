"""[2] OKX v5 wire Structs and decoders: REST envelopes and errors, market data, WebSocket frames.

OKX sends prices, sizes, ids and most times as strings (``"ts":"1597026383085"``, ``"code":"0"``) and
fields that do not apply as ``""``: Structs keep such fields as text and the decoders convert them
(`dec`, `num`), so an empty field is zero, never a decode error. Every REST reply is an envelope
``{"code": "0", "msg": "", "data": [...]}``; order operations put the result of each item in its
``sCode``/``sMsg``, which wins over the top ``code`` (fact sheet §1.1). `check` turns a non-zero code
into the venue's error class.
The `books` channel's sequencing and checksum (`BookState`) live with the stream that feeds it;
orders, fills, balances, fee rates and the private pushes are in `orders`.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import partial
from types import MappingProxyType
from typing import Any, Final

import msgspec

from arb._core.jsonlevels import read_levels
from arb.errors import DecodeError, ExchangeError, ExchangeUnavailableError, OrderOutcomeUnknownError
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
from arb.venues.base import MALFORMED, decode_body, guarded, order_book
from arb.venues.errors import classify
from arb.venues.okx import constants as c

MS: Final = 1_000_000
ZERO: Final = Decimal(0)
SIDES: Final = MappingProxyType({"buy": Side.BUY, "sell": Side.SELL})
EXPIRING_TYPES: Final = frozenset({"ioc", "fok", "market", "optimal_limit_ioc"})
_decode: Final = partial(decode_body, c.VENUE)


def asset(code: str) -> str:
    """The common name of OKX's asset `code` (`constants.ASSET_ALIASES`)."""
    return c.ASSET_ALIASES.get(code, code)


def venue_asset(common: str) -> str:
    """OKX's code for the common asset `common`; a common name OKX uses for another asset gets a
    ``?`` so it never reaches the wrong instrument."""
    for code, name in c.ASSET_ALIASES.items():
        if name == common:
            return code
    return common if common not in c.ASSET_ALIASES else f"{common}?"


def inst_id(symbol: Symbol) -> str:
    """``BTC-USDT``: OKX's spelling of a spot pair (its own asset codes)."""
    return f"{venue_asset(symbol.base)}-{venue_asset(symbol.quote)}"


def parse_inst(text: str) -> Symbol:
    """``BTC-USDT`` -> ``Symbol("BTC", "USDT")`` in common asset names; anything else is a `ValueError`."""
    base, sep, quote = text.partition("-")
    if not sep or not base or not quote or "-" in quote:
        raise ValueError(f"instrument {text!r} is not a spot pair BASE-QUOTE")
    return Symbol(asset(base.upper()), asset(quote.upper()))


def dec(text: str) -> Decimal:
    """An exact decimal from a wire string; ``""`` (not applicable) is 0."""
    if not text:
        return ZERO
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a decimal: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {text!r}")
    return value


def num(text: str) -> float:
    """A float from a wire string; ``""`` is 0."""
    return float(text) if text else 0.0


def ms_ns(text: str | int) -> int:
    """A ms time (string or number; ``""`` is 0) in ns."""
    return int(text) * MS if text != "" else 0


# --------------------------------------------------------------------------- envelopes and errors


class ItemMsg(msgspec.Struct):
    """An order-operation result item: ``{"ordId": "312269865356374016", "clOrdId": "oktswap6",
    "tag": "", "ts": "1695190491421", "sCode": "0", "sMsg": "", "subCode": ""}``."""

    ordId: str | None = ""
    clOrdId: str = ""
    sCode: str | int = "0"
    sMsg: str = ""
    subCode: str = ""
    ts: str = ""


class RestResp(msgspec.Struct):
    """``{"code": "0", "msg": "", "data": [...]}`` (``code`` may also be a number: 50113 in a capture)."""

    code: str | int
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"[]")


_RESP: Final = msgspec.json.Decoder(RestResp)
ITEMS: Final = msgspec.json.Decoder(list[ItemMsg])


def _code(value: str | int) -> int:
    return int(value) if value != "" else c.SUCCESS


def decode_error(status: int, body: bytes) -> tuple[int | str | None, str]:
    """(code, message) of an error body: a failed item's ``sCode`` wins over the top ``code``."""
    try:
        err = _RESP.decode(body)
        for item in ITEMS.decode(err.data) if bytes(err.data) != b"null" else ():
            if _code(item.sCode) != c.SUCCESS:
                return _code(item.sCode), item.sMsg
        return _code(err.code), err.msg
    except MALFORMED:
        return None, body[:200].decode("utf-8", "replace")


def error_class(status: int, api_code: int | str | None) -> type[ExchangeError]:
    return classify(status, api_code, c.ERROR_CODES)


def api_error(code: int, message: str, *, status: int = 200, write: bool = False,
              client_order_id: str | None = None) -> ExchangeError:
    """The error a non-zero code stands for. A write whose code leaves its outcome unknown (50004,
    51149, ...) is `OrderOutcomeUnknownError`; for a read the venue was merely unavailable."""
    cls = error_class(status, code)
    text = f"{code} {message}".strip()
    if issubclass(cls, OrderOutcomeUnknownError):
        if write:
            return OrderOutcomeUnknownError(c.VENUE, text, client_order_id=client_order_id,
                                            http_status=status, api_code=code)
        return ExchangeUnavailableError(c.VENUE, text, http_status=status, api_code=code)
    return cls(c.VENUE, text, http_status=status, api_code=code)


def check(body: bytes, what: str, *, write: bool = False, client_order_id: str | None = None) -> msgspec.Raw:
    """The ``data`` of a 2xx reply, or the error its ``code`` (or a failed item's ``sCode``) says.

    OKX answers most business errors with HTTP 200 and a non-zero code; an order operation's items
    each carry their own ``sCode``, which is the result when present.
    """
    resp = _decode(_RESP, body, what)
    try:
        code = _code(resp.code)
    except ValueError:
        raise DecodeError(c.VENUE, what, f"code {resp.code!r} is not a number", body) from None
    if code != c.SUCCESS or write:
        try:
            items = ITEMS.decode(resp.data)
        except MALFORMED:  # not items: the top code decides (a write's unreadable data is its caller's)
            items = []
        for item in items:
            item_code = _code(item.sCode)
            if item_code != c.SUCCESS:
                raise api_error(item_code, item.sMsg or resp.msg, write=write,
                                client_order_id=client_order_id)
        if code != c.SUCCESS:
            raise api_error(code, resp.msg, write=write, client_order_id=client_order_id)
    return resp.data  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- market data (REST)


class TsMsg(msgspec.Struct):
    """``{"ts": "1597026383085"}``"""

    ts: str


class InstrumentMsg(msgspec.Struct):
    """``{"instType": "SPOT", "instId": "BTC-USDT", "baseCcy": "BTC", "quoteCcy": "USDT", "tickSz": "0.1",
    "lotSz": "0.00000001", "minSz": "0.00001", "maxLmtSz": "9999999999", "maxMktSz": "1000000",
    "state": "live", ...}`` (derivative fields ignored)."""

    instId: str
    tickSz: str
    lotSz: str
    instType: str = c.INST_TYPE
    baseCcy: str = ""
    quoteCcy: str = ""
    minSz: str = ""
    maxLmtSz: str = ""
    state: str = "live"


class BookResp(msgspec.Struct):
    """GET /market/books: ``{"asks": [["41006.8", "0.60038921", "0", "1"]], "bids": [[...]],
    "ts": "1629966436396", "seqId": 3235851742}`` (levels: price, size, deprecated "0", order count)."""

    asks: list[list[str]]
    bids: list[list[str]]
    ts: str = ""
    seqId: int = 0


class TickerMsg(msgspec.Struct):
    """``{"instId": "BTC-USDT", "last": "30236", "askPx": "30228.7", "bidPx": "30228.6",
    "vol24h": "17602.13" (base), "volCcy24h": "525802090.62" (quote on spot), "ts": "1652459224956"}``"""

    instId: str = ""
    instType: str = ""
    last: str = ""
    askPx: str = ""
    bidPx: str = ""
    vol24h: str = ""
    volCcy24h: str = ""
    ts: str = ""


class TradeMsg(msgspec.Struct):
    """A public trade (REST and the ``trades`` channel): ``{"instId": "BTC-USDT", "tradeId": "242720720",
    "px": "29963.2", "sz": "0.00001", "side": "sell" (taker), "ts": "1654161646974"}``."""

    tradeId: str
    px: str
    sz: str
    side: str
    ts: str
    instId: str = ""


_TS: Final = msgspec.json.Decoder(list[TsMsg])
_INSTRUMENTS: Final = msgspec.json.Decoder(list[InstrumentMsg])
_BOOK: Final = msgspec.json.Decoder(list[BookResp], strict=False)
_TICKERS: Final = msgspec.json.Decoder(list[TickerMsg])
_TRADES: Final = msgspec.json.Decoder(list[TradeMsg])
_ROWS: Final = msgspec.json.Decoder(list[list[str]])


def first_row(rows: Sequence[Any], what: str, body: bytes) -> Any:
    if not rows:
        raise DecodeError(c.VENUE, what, "empty data", body)
    return rows[0]


def levels(rows: list[list[str]]) -> list[tuple[float, float]]:
    """``[["30000.1", "0.5", "0", "2"], ...]`` -> ``[(30000.1, 0.5), ...]``.

    A price that is not a finite number > 0 or a size that is not a finite number >= 0 is a
    `ValueError` (a `DecodeError` through the guarded callers): the stream keeps its own book of
    these levels for the checksum, and a NaN key there would desynchronise it."""
    out = []
    for row in rows:
        price, size = float(row[0]), float(row[1])
        if not 0.0 < price < math.inf or not 0.0 <= size < math.inf:
            raise ValueError(f"level {row[:2]!r}: price must be finite and > 0, size finite and >= 0")
        out.append((price, size))
    return out


@guarded(c.VENUE, "time")
def decode_time(body: bytes) -> int:
    """``{"code": "0", "data": [{"ts": "1597026383085"}]}`` -> ms."""
    return int(first_row(_decode(_TS, check(body, "time"), "time"), "time", body).ts)


@guarded(c.VENUE, "instruments")
def decode_symbols(body: bytes) -> list[SymbolInfo]:
    """Spot instruments -> `SymbolInfo`: tick = tickSz, step = lotSz, min qty = minSz, max qty = maxLmtSz.

    OKX publishes no minimum notional [UNVERIFIED whether one exists]: 0 here.
    """
    out = []
    for row in _decode(_INSTRUMENTS, check(body, "instruments"), "instruments"):
        if row.instType != c.INST_TYPE:
            continue
        symbol = (Symbol(asset(row.baseCcy), asset(row.quoteCcy)) if row.baseCcy and row.quoteCcy
                  else parse_inst(row.instId))
        out.append(SymbolInfo(
            venue=c.VENUE, symbol=symbol, venue_symbol=row.instId,
            status=c.INSTRUMENT_STATUS.get(row.state, SymbolStatus.HALTED),
            tick_size=dec(row.tickSz), step_size=dec(row.lotSz), min_qty=dec(row.minSz),
            max_qty=dec(row.maxLmtSz),
        ))
    return out


@guarded(c.VENUE, "order book")
def decode_snapshot(body: bytes, symbol: Symbol, ts_recv: int) -> OrderBook:
    """GET /market/books -> `OrderBook` with ``seqId`` as its update id (the stream's sequence)."""
    book = first_row(_decode(_BOOK, check(body, "order book"), "order book"), "order book", body)
    return order_book(c.VENUE, symbol, book.seqId, levels(book.bids), levels(book.asks), ms_ns(book.ts),
                      ts_recv)


@guarded(c.VENUE, "ticker")
def decode_ticker(body: bytes, symbol: Symbol) -> Ticker:
    t = first_row(_decode(_TICKERS, check(body, "ticker"), "ticker"), "ticker", body)
    return to_ticker(t, symbol)


def to_ticker(t: TickerMsg, symbol: Symbol) -> Ticker:
    """Spot ``vol24h`` is base volume, ``volCcy24h`` quote volume (fact sheet §1)."""
    return Ticker(c.VENUE, symbol, num(t.last), num(t.bidPx), num(t.askPx), num(t.vol24h), num(t.volCcy24h),
                  ms_ns(t.ts))


@guarded(c.VENUE, "tickers")
def decode_tickers(body: bytes) -> list[Ticker]:
    """``/market/tickers?instType=SPOT``: one `Ticker` per spot row (a row of another instrument type,
    or one whose ``instId`` is not BASE-QUOTE, is skipped)."""
    out = []
    for t in _decode(_TICKERS, check(body, "tickers"), "tickers"):
        if t.instType and t.instType != c.INST_TYPE:
            continue
        try:
            symbol = parse_inst(t.instId)
        except ValueError:
            continue
        out.append(to_ticker(t, symbol))
    return out


def to_trade(t: TradeMsg, symbol: Symbol, ts_recv: int) -> Trade:
    side = SIDES.get(t.side)
    if side is None:
        raise ValueError(f"unknown side {t.side!r}")
    return Trade(c.VENUE, symbol, t.tradeId, float(t.px), float(t.sz), side, ms_ns(t.ts), ts_recv)


@guarded(c.VENUE, "trades")
def decode_trades(body: bytes, symbol: Symbol, ts_recv: int) -> list[Trade]:
    return [to_trade(t, symbol, ts_recv) for t in _decode(_TRADES, check(body, "trades"), "trades")]


@guarded(c.VENUE, "candles")
def decode_klines(body: bytes, symbol: Symbol, interval: KlineInterval) -> list[Kline]:
    """Rows ``[ts, open, high, low, close, vol (base), volCcy, volCcyQuote, confirm]``, newest first
    (returned oldest first); ``confirm`` "0" marks the candle still open."""
    rows = _decode(_ROWS, check(body, "candles"), "candles")
    return [Kline(c.VENUE, symbol, interval, int(r[0]) * MS, float(r[1]), float(r[2]), float(r[3]),
                  float(r[4]),
                  float(r[5]), r[8] != "0" if len(r) > 8 else True) for r in reversed(rows)]


# --------------------------------------------------------------------------- WebSocket


class ArgMsg(msgspec.Struct):
    """``{"channel": "books", "instId": "BTC-USDT"}`` (private channels: ``instType``, ``uid``)."""

    channel: str = ""
    instId: str = ""
    instType: str = ""


class WsMsg(msgspec.Struct):
    """Every frame but ``pong``: an event (``subscribe``, ``unsubscribe``, ``error``, ``login``,
    ``notice``, ``channel-conn-count``...) or a push ``{"arg": {...}, "action": "update", "data": [...]}``;
    the data stays raw until the channel picks its decoder."""

    event: str = ""
    arg: ArgMsg | None = None
    action: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    id: str | int | None = None
    code: str | int = ""
    msg: str = ""
    connId: str = ""
    channel: str = ""  # channel-conn-count(-error) events name their channel at the top


_WS: Final = msgspec.json.Decoder(WsMsg)


def decode_ws(frame: bytes | str) -> WsMsg:
    try:
        return _WS.decode(frame)
    except MALFORMED as exc:
        raise DecodeError(c.VENUE, "ws frame", str(exc), frame) from None


def ws_code(msg: WsMsg) -> int:
    """An event's ``code`` as a number (0 when absent or unreadable)."""
    try:
        return _code(msg.code)
    except ValueError:
        return -1


class Envelopes:
    """Each frame's envelope decoded once, for the dialect (control frames) and the stream (data)."""

    def __init__(self) -> None:
        self.last_frame: bytes | str | None = None
        self.last: WsMsg | None = None

    def envelope(self, frame: bytes | str) -> WsMsg:
        if frame is not self.last_frame or self.last is None:
            self.last = decode_ws(frame)
            self.last_frame = frame
        return self.last

    def is_control(self, frame: bytes | str) -> bool:
        """``pong`` and events; an undecodable frame is data, so the stream counts and reports it."""
        if frame == c.PONG:
            return True
        try:
            return self.envelope(frame).event != ""
        except DecodeError:
            return False


class BookDataMsg(msgspec.Struct):
    """A ``books`` push item: ``{"asks": [["30000.2", "0.4", "0", "1"]], "bids": [...],
    "ts": "1700000000100", "checksum": -1357189183, "prevSeqId": -1, "seqId": 100}`` (feeds before
    2023 carry no seq ids; since 2026-06-23 the checksum is always 0)."""

    asks: list[list[str]] = []
    bids: list[list[str]] = []
    ts: int = 0
    checksum: int = 0
    prevSeqId: int | None = None
    seqId: int | None = None


class BookNumbersMsg(msgspec.Struct):
    """A ``books`` push item whose levels are read as numbers: the stream's fast path, for books whose
    pushes carry checksum 0. Each side stays raw JSON (checked as JSON by msgspec) until `buffers`
    reads it straight into double buffers (`arb._core.jsonlevels`): no Python object per level."""

    asks: msgspec.Raw = msgspec.Raw(b"[]")
    bids: msgspec.Raw = msgspec.Raw(b"[]")
    ts: int = 0
    checksum: int = 0
    prevSeqId: int | None = None
    seqId: int | None = None


_BOOK_DATA: Final = msgspec.json.Decoder(list[BookDataMsg], strict=False)
LevelBuffers = tuple["array[float]", "array[float]"]  # one side's (prices, sizes) double buffers
_BOOK_NUMBERS: Final = msgspec.json.Decoder(list[BookNumbersMsg], strict=False)


@guarded(c.VENUE, "books push")
def decode_books(data: bytes | msgspec.Raw) -> list[BookDataMsg]:
    """The ``data`` of a ``books`` push (one item in practice); every level has a price and a size."""
    items = _decode(_BOOK_DATA, data, "books push")
    for item in items:
        for row in item.bids:
            if len(row) < 2:
                raise ValueError(f"bid level {row} has no size")
        for row in item.asks:
            if len(row) < 2:
                raise ValueError(f"ask level {row} has no size")
    return items  # type: ignore[no-any-return]


def decode_book_numbers(data: bytes | msgspec.Raw) -> list[BookNumbersMsg]:
    """The ``data`` of a ``books`` push with numeric levels (`BookNumbersMsg`); malformed data is a
    `DecodeError` (the levels' own checks are `buffers`')."""
    return _decode(_BOOK_NUMBERS, data, "books push")  # type: ignore[no-any-return]


@guarded(c.VENUE, "books levels")
def book_buffers(item: BookNumbersMsg) -> tuple[LevelBuffers, LevelBuffers]:
    """An item's raw levels ``[["30000.1", "0.5", "0", "2"], ...]`` -> ``(prices, sizes)`` double buffers
    of the bids and of the asks, refusing what no book holds (a price not finite and > 0, a size not
    finite and >= 0, a level without a size, a number spelt other than as a plain decimal), as
    `levels` does."""
    return read_levels(item.bids), read_levels(item.asks)


@guarded(c.VENUE, "trades push")
def decode_trade_push(data: bytes | msgspec.Raw, symbol: Symbol, ts_recv: int) -> list[Trade]:
    """``trades`` push data ``[{"instId": "BTC-USDT", "tradeId": "338476307", "px": "30236",
    "sz": "0.0002", "side": "buy", "ts": "1652459224818"}]`` -> `Trade` per item."""
    return [to_trade(t, symbol, ts_recv) for t in _decode(_TRADES, data, "trades push")]
