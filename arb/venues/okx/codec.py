"""[2] OKX v5 wire Structs and decoders: REST envelopes, market data, orders, and WebSocket pushes.

OKX sends prices, sizes, ids and most times as strings (``"ts":"1597026383085"``, ``"code":"0"``) and
fields that do not apply as ``""``: Structs keep such fields as text and the decoders convert them
(`dec`, `num`), so an empty field is zero, never a decode error. Every REST reply is an envelope
``{"code": "0", "msg": "", "data": [...]}``; order operations put the result of each item in its
``sCode``/``sMsg``, which wins over the top ``code`` (fact sheet §1.1). `check` turns a non-zero code
into the venue's error class.
The `books` channel's sequencing and checksum (`BookState`) live with the stream that feeds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from functools import partial
from types import MappingProxyType
from typing import Any, Final

import msgspec

from arb.errors import DecodeError, ExchangeError, ExchangeUnavailableError, OrderOutcomeUnknownError
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
from arb.venues.base import MALFORMED, decode_body, guarded, order_book
from arb.venues.errors import classify
from arb.venues.okx import constants as c

MS: Final = 1_000_000
ZERO: Final = Decimal(0)
SIDES: Final = MappingProxyType({"buy": Side.BUY, "sell": Side.SELL})
EXPIRING_TYPES: Final = frozenset({"ioc", "fok", "market", "optimal_limit_ioc"})
_decode: Final = partial(decode_body, c.VENUE)


def inst_id(symbol: Symbol) -> str:
    """``BTC-USDT``: OKX's spelling of a spot pair."""
    return f"{symbol.base}-{symbol.quote}"


def parse_inst(text: str) -> Symbol:
    """``BTC-USDT`` -> ``Symbol("BTC", "USDT")``; anything else is a `ValueError`."""
    base, sep, quote = text.partition("-")
    if not sep or not base or not quote or "-" in quote:
        raise ValueError(f"instrument {text!r} is not a spot pair BASE-QUOTE")
    return Symbol(base.upper(), quote.upper())


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
_ITEMS: Final = msgspec.json.Decoder(list[ItemMsg])


def _code(value: str | int) -> int:
    return int(value) if value != "" else c.SUCCESS


def decode_error(status: int, body: bytes) -> tuple[int | str | None, str]:
    """(code, message) of an error body: a failed item's ``sCode`` wins over the top ``code``."""
    try:
        err = _RESP.decode(body)
        for item in _ITEMS.decode(err.data) if bytes(err.data) != b"null" else ():
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
            items = _ITEMS.decode(resp.data)
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


def _first(rows: Sequence[Any], what: str, body: bytes) -> Any:
    if not rows:
        raise DecodeError(c.VENUE, what, "empty data", body)
    return rows[0]


def levels(rows: list[list[str]]) -> list[tuple[float, float]]:
    """``[["30000.1", "0.5", "0", "2"], ...]`` -> ``[(30000.1, 0.5), ...]``."""
    return [(float(row[0]), float(row[1])) for row in rows]


@guarded(c.VENUE, "time")
def decode_time(body: bytes) -> int:
    """``{"code": "0", "data": [{"ts": "1597026383085"}]}`` -> ms."""
    return int(_first(_decode(_TS, check(body, "time"), "time"), "time", body).ts)


@guarded(c.VENUE, "instruments")
def decode_symbols(body: bytes) -> list[SymbolInfo]:
    """Spot instruments -> `SymbolInfo`: tick = tickSz, step = lotSz, min qty = minSz, max qty = maxLmtSz.

    OKX publishes no minimum notional [UNVERIFIED whether one exists]: 0 here.
    """
    out = []
    for row in _decode(_INSTRUMENTS, check(body, "instruments"), "instruments"):
        if row.instType != c.INST_TYPE:
            continue
        symbol = Symbol(row.baseCcy, row.quoteCcy) if row.baseCcy and row.quoteCcy else parse_inst(row.instId)
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
    book = _first(_decode(_BOOK, check(body, "order book"), "order book"), "order book", body)
    return order_book(c.VENUE, symbol, book.seqId, levels(book.bids), levels(book.asks), ms_ns(book.ts),
                      ts_recv)


@guarded(c.VENUE, "ticker")
def decode_ticker(body: bytes, symbol: Symbol) -> Ticker:
    t = _first(_decode(_TICKERS, check(body, "ticker"), "ticker"), "ticker", body)
    return Ticker(c.VENUE, symbol, num(t.last), num(t.bidPx), num(t.askPx), num(t.vol24h), num(t.volCcy24h),
                  ms_ns(t.ts))


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
    return _first(_decode(_ITEMS, data, "order ack"), "order ack", body)  # type: ignore[no-any-return]


@guarded(c.VENUE, "orders")
def decode_orders(body: bytes) -> list[OrderMsg]:
    return _decode(_ORDERS, check(body, "orders"), "orders")  # type: ignore[no-any-return]


@guarded(c.VENUE, "fills")
def decode_fills(body: bytes) -> list[FillMsg]:
    return _decode(_FILLS, check(body, "fills"), "fills")  # type: ignore[no-any-return]


def to_balances(msg: BalanceMsg) -> list[AssetBalance]:
    """free = availBal, locked = frozenBal (cashBal when the split is not given)."""
    return [AssetBalance(d.ccy, dec(d.availBal or d.cashBal), dec(d.frozenBal)) for d in msg.details]


@guarded(c.VENUE, "balance")
def decode_balances(body: bytes) -> dict[str, AssetBalance]:
    rows = _decode(_BALANCES, check(body, "balance"), "balance")
    return {b.asset: b for row in rows for b in to_balances(row)}


@guarded(c.VENUE, "fee rates")
def decode_fee(body: bytes, symbol: Symbol) -> TradingFee:
    """Fee rates as fractions we pay: OKX's sign is flipped (its negative = commission)."""
    msg = _first(_decode(_FEES, check(body, "fee rates"), "fee rates"), "fee rates", body)
    group = msg.feeGroup[0] if msg.feeGroup else FeeGroupMsg(msg.maker, msg.taker)
    return TradingFee(c.VENUE, symbol, -num(group.maker), -num(group.taker))


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
        filled_quote=filled * dec(msg.avgPx), fee=-dec(msg.fee), fee_asset=msg.feeCcy,
        ts_created=ms_ns(msg.cTime), ts_updated=ms_ns(msg.uTime),
    )


@guarded(c.VENUE, "to fill")
def to_fill(msg: FillMsg, symbol: Symbol | None, ts_recv: int, client_order_id: str | None = None) -> Fill:
    side = SIDES.get(msg.side)
    if side is None:
        raise ValueError(f"unknown side {msg.side!r}")
    return Fill(c.VENUE, symbol or parse_inst(msg.instId), msg.tradeId, side, dec(msg.fillPx),
                dec(msg.fillSz), -dec(msg.fee), msg.feeCcy, order_id=msg.ordId or None,
                client_order_id=client_order_id or msg.clOrdId or None,
                is_maker=msg.execType == c.MAKER_EXEC,
                ts_event=ms_ns(msg.fillTime or msg.ts), ts_recv=ts_recv)


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


_BOOK_DATA: Final = msgspec.json.Decoder(list[BookDataMsg], strict=False)


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


@guarded(c.VENUE, "trades push")
def decode_trade_push(data: bytes | msgspec.Raw, symbol: Symbol, ts_recv: int) -> list[Trade]:
    """``trades`` push data ``[{"instId": "BTC-USDT", "tradeId": "338476307", "px": "30236",
    "sz": "0.0002", "side": "buy", "ts": "1652459224818"}]`` -> `Trade` per item."""
    return [to_trade(t, symbol, ts_recv) for t in _decode(_TRADES, data, "trades push")]


@guarded(c.VENUE, "orders push")
def decode_order_push(data: bytes | msgspec.Raw) -> list[OrderMsg]:
    return _decode(_ORDERS, data, "orders push")  # type: ignore[no-any-return]


@guarded(c.VENUE, "account push")
def decode_account_push(data: bytes | msgspec.Raw) -> list[AssetBalance]:
    """``account`` push data ``[{"details": [{"ccy": "USDT", "availBal": ..., "frozenBal": ...}]}]``."""
    return [b for row in _decode(_BALANCES, data, "account push") for b in to_balances(row)]
