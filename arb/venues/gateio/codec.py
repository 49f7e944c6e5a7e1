"""[2] Gate.io wire Structs and decoders: market data, the `spot.*` envelopes, depth and trade
pushes, errors.

Orders, fills, accounts, fee rates and the private channels are in `orders`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
    TransferStatus,
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
from arb.venues.errors import classify
from arb.venues.gateio.constants import (
    DEPTH_CHANNEL,
    DEPTH_INTERVAL,
    ERROR_CODES,
    PONG_CHANNEL,
    SPELLING,
    TRADES_CHANNEL,
    VENUE,
)


class ErrorResp(msgspec.Struct):
    """``{"label": "BALANCE_NOT_ENOUGH", "message": "Not enough balance"}`` (sometimes ``detail``)."""

    label: str
    message: str | None = None
    detail: str | None = None


_ERROR: Final = msgspec.json.Decoder(ErrorResp)


def decode_error(status: int, body: bytes) -> tuple[int | str | None, str]:
    try:
        err = _ERROR.decode(body)
    except MALFORMED:
        return None, body[:200].decode("utf-8", "replace")
    return err.label, err.message or err.detail or ""


def error_class(status: int, api_code: int | str | None) -> type[ExchangeError]:
    return classify(status, api_code, ERROR_CODES)


# --------------------------------------------------------------------------- depth

Level = tuple[float, float]  # prices travel as strings; msgspec converts them in C (strict=False)


class WsMsg(msgspec.Struct):
    """Every push: ``{"time": 1606294781, "channel": "spot.order_book_update", "event": "update",
    "result": {...}}``; the result stays raw until the channel picks its decoder."""

    channel: str
    event: str = ""
    result: msgspec.Raw = msgspec.Raw(b"null")
    error: msgspec.Raw = msgspec.Raw(b"null")
    id: int | None = None


class DepthUpdateMsg(msgspec.Struct):
    """``{"t": 1606294781123, "full": true, "s": "BTC_USDT", "U": 48776301, "u": 48776306,
    "b": [["19137.74", "0.0001"]], "a": [["19137.75", "0.6135"]]}`` (``full`` only when true)."""

    t: int
    s: str
    U: int
    u: int
    b: list[Level] = []
    a: list[Level] = []
    full: bool = False


class OrderBookResp(msgspec.Struct):
    """GET /spot/order_book?with_id=true: ``{"id": 123456, "current": ..., "update": ...,
    "asks": [["1.52", "1.151"]], "bids": [["1.17", "201.863"]]}``"""

    id: int
    asks: list[Level]
    bids: list[Level]
    update: int = 0


_WS: Final = msgspec.json.Decoder(WsMsg)
_DEPTH: Final = msgspec.json.Decoder(DepthUpdateMsg, strict=False)
_SNAPSHOT: Final = msgspec.json.Decoder(OrderBookResp, strict=False)
MS: Final = 1_000_000


def decode_ws(frame: bytes | str) -> WsMsg:
    try:
        return _WS.decode(frame)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "ws frame", str(exc), frame) from None


class Envelopes:
    """Each frame's envelope decoded once, for the market and user dialects and their streams."""

    def __init__(self) -> None:
        self.last_frame: bytes | str | None = None
        self.last: WsMsg | None = None

    def envelope(self, frame: bytes | str) -> WsMsg:
        if frame is not self.last_frame or self.last is None:
            self.last = decode_ws(frame)
            self.last_frame = frame
        return self.last

    def is_control(self, frame: bytes | str) -> bool:
        """Acks and pongs; an undecodable frame is data, so the stream counts and reports it."""
        try:
            env = self.envelope(frame)
        except DecodeError:
            return False
        return env.event != "update" or env.channel == PONG_CHANNEL


_DEPTH_ERRORS: Final = MALFORMED
_PAIR: Final = re.compile(r'"s"\s*:\s*"([0-9A-Za-z_]{1,40})"')


def _depth(msg: DepthUpdateMsg, symbol: Symbol, ts_recv: int) -> DepthUpdate:
    if msg.u < msg.U:
        raise ValueError(f"first update id {msg.U} > last update id {msg.u}")
    return depth_update(VENUE, symbol, msg.U, msg.u, msg.b, msg.a, msg.t * MS, ts_recv, msg.full)


def decode_depth(result: bytes | str, symbol: Symbol, ts_recv: int) -> DepthUpdate:
    """A ``spot.order_book_update`` result -> `DepthUpdate`; ``full: true`` replaces the book.

    ``U > u`` is malformed; level values are checked by `L2Book` where they are applied.
    """
    try:
        return _depth(_DEPTH.decode(result), symbol, ts_recv)
    except _DEPTH_ERRORS as exc:
        raise DecodeError(VENUE, "order book update", str(exc), result) from None


def decode_depth_routed(
    result: bytes | str, symbols: Mapping[str, Symbol], ts_recv: int
) -> DepthUpdate | None:
    """Decode a depth result once and route it by its pair (``s``); None for a pair not subscribed."""
    try:
        msg = _DEPTH.decode(result)
        symbol = symbols.get(msg.s)
        if symbol is None:
            return None
        return _depth(msg, symbol, ts_recv)
    except _DEPTH_ERRORS as exc:
        raise DecodeError(VENUE, "order book update", str(exc), result) from None


def named_pair(frame: bytes | str) -> str | None:
    """The pair (``"s": "BTC_USDT"``) a depth frame names, even when it does not decode."""
    head = frame[:4096]
    text = head.decode("utf-8", "replace") if isinstance(head, (bytes, bytearray)) else str(head)
    match = _PAIR.search(text)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- public trades (spot.trades)


class TradeUpdateMsg(msgspec.Struct):
    """``spot.trades`` result: ``{"id": 816995772, "create_time": 1619093543, "create_time_ms":
    "1619093543708.2642", "side": "sell", "currency_pair": "DIS_USDT", "amount": "0.2010000000",
    "price": "121.5800000000"}`` (current servers add ``id_market``, ``range``); ``side`` is the taker's."""

    id: int
    currency_pair: str
    side: str
    amount: float
    price: float
    create_time_ms: Decimal = Decimal(0)  # fractional ms: exact to the ns (a double is not)
    create_time: int = 0


_TRADE_UPDATE: Final = msgspec.json.Decoder(TradeUpdateMsg, strict=False)
SIDES: Final = MappingProxyType({"buy": Side.BUY, "sell": Side.SELL})
TRADE_KEY: Final = TRADES_CHANNEL + ":"  # WsClient channel key of a pair's trades: "spot.trades:BTC_USDT"


def trade_key(pair: str) -> str:
    return TRADE_KEY + pair


def ws_request(key: str) -> tuple[str, list[str]]:
    """A stream's channel key -> (channel, payload): a bare pair is its depth (``[pair, "100ms"]``),
    ``spot.trades:PAIR`` its trades (``[pair]``)."""
    if key.startswith(TRADE_KEY):
        return TRADES_CHANNEL, [key[len(TRADE_KEY):]]
    return DEPTH_CHANNEL, [key, DEPTH_INTERVAL]


@guarded(VENUE, "trade routed")
def decode_trade_routed(result: bytes | str, symbols: Mapping[str, Symbol], ts_recv: int) -> Trade | None:
    """A ``spot.trades`` result -> `Trade`, routed by its pair; None for a pair not subscribed."""
    msg = decode_body(VENUE, _TRADE_UPDATE, result, "trade update")
    symbol = symbols.get(msg.currency_pair)
    if symbol is None:
        return None
    side = SIDES.get(msg.side)
    if side is None:
        raise DecodeError(VENUE, "trade update", f"unknown side {msg.side!r}", result)
    ts = int(msg.create_time_ms * MS) if msg.create_time_ms else int(msg.create_time * SECOND_NS)
    return Trade(VENUE, symbol, str(msg.id), msg.price, msg.amount, side, ts, ts_recv)


@guarded(VENUE, "snapshot")
def decode_snapshot(body: bytes, symbol: Symbol, ts_recv: int) -> OrderBook:
    try:
        msg = _SNAPSHOT.decode(body)
    except MALFORMED as exc:
        raise DecodeError(VENUE, "order book", str(exc), body) from None
    return order_book(VENUE, symbol, msg.id, msg.bids, msg.asks, msg.update * MS, ts_recv)


# --------------------------------------------------------------------------- market data


class TimeResp(msgspec.Struct):
    """``{"server_time": 1597026383085}`` (ms)"""

    server_time: int


class PairMsg(msgspec.Struct):
    """``{"id": "OMG_USDT", "base": "OMG", "quote": "USDT", "fee": "0.2", "min_quote_amount": "1",
    "amount_precision": 3, "precision": 3, "trade_status": "tradable"}``"""

    id: str
    base: str
    quote: str
    precision: int
    amount_precision: int
    trade_status: str = "tradable"
    min_base_amount: str | None = None
    min_quote_amount: str | None = None
    max_base_amount: str | None = None
    max_quote_amount: str | None = None


class TradeMsg(msgspec.Struct):
    """``{"id": "1232893232", "create_time_ms": "1548000000123.456", "side": "buy", "amount": "0.15",
    "price": "0.03"}`` (``side`` is the taker's)"""

    id: str
    side: str
    amount: float
    price: float
    create_time_ms: Decimal = Decimal(0)  # fractional ms: exact to the ns (a double is not)


class TickerMsg(msgspec.Struct):
    """``{"currency_pair": "BTC3L_USDT", "last": "2.46", "lowest_ask": "2.477", "highest_bid": "2.46",
    "base_volume": "656614.08", "quote_volume": "1602221.66"}``"""

    currency_pair: str
    last: float
    lowest_ask: float = 0.0
    highest_bid: float = 0.0
    base_volume: float = 0.0
    quote_volume: float = 0.0


_TIME: Final = msgspec.json.Decoder(TimeResp)
_PAIRS: Final = msgspec.json.Decoder(list[PairMsg])
_TRADES: Final = msgspec.json.Decoder(list[TradeMsg], strict=False)
_TICKERS: Final = msgspec.json.Decoder(list[TickerMsg], strict=False)
_ROWS: Final = msgspec.json.Decoder(list[list[Any]])
STATUS: Final = MappingProxyType({"tradable": SymbolStatus.TRADING, "buyable": SymbolStatus.BUY_ONLY,
                 "sellable": SymbolStatus.SELL_ONLY, "untradable": SymbolStatus.HALTED})
SECOND_NS: Final = 1_000_000_000


_decode: Final = partial(decode_body, VENUE)


@guarded(VENUE, "time")
def decode_time(body: bytes) -> int:
    return int(_decode(_TIME, body, "server time").server_time)


@guarded(VENUE, "symbols")
def decode_symbols(body: bytes) -> list[SymbolInfo]:
    """currency_pairs -> SymbolInfo: tick = 10^-precision, step = 10^-amount_precision."""
    return [
        SymbolInfo(
            venue=VENUE, symbol=SPELLING.pair(p.base, p.quote), venue_symbol=p.id,
            status=STATUS.get(p.trade_status, SymbolStatus.HALTED),
            tick_size=Decimal(1).scaleb(-p.precision), step_size=Decimal(1).scaleb(-p.amount_precision),
            min_qty=Decimal(p.min_base_amount or 0), max_qty=Decimal(p.max_base_amount or 0),
            min_notional=Decimal(p.min_quote_amount or 0), max_notional=Decimal(p.max_quote_amount or 0),
        )
        for p in _decode(_PAIRS, body, "currency pairs")
    ]


@guarded(VENUE, "trades")
def decode_trades(body: bytes, symbol: Symbol, ts_recv: int) -> list[Trade]:
    return [Trade(VENUE, symbol, t.id, t.price, t.amount, Side.BUY if t.side == "buy" else Side.SELL,
                  int(t.create_time_ms * MS), ts_recv) for t in _decode(_TRADES, body, "trades")]


@guarded(VENUE, "ticker")
def decode_ticker(body: bytes, symbol: Symbol) -> Ticker:
    rows = _decode(_TICKERS, body, "tickers")
    if not rows:
        raise DecodeError(VENUE, "tickers", "empty ticker list", body)
    t = rows[0]
    return Ticker(VENUE, symbol, t.last, t.highest_bid, t.lowest_ask, t.base_volume, t.quote_volume)


@guarded(VENUE, "tickers")
def decode_tickers(body: bytes) -> list[Ticker]:
    """GET /spot/tickers without a pair: one row per pair (see `TickerMsg`)."""
    out = []
    for t in _decode(_TICKERS, body, "tickers"):
        symbol = common_symbol(SPELLING, t.currency_pair)
        if symbol is not None:
            out.append(Ticker(VENUE, symbol, t.last, t.highest_bid, t.lowest_ask, t.base_volume,
                              t.quote_volume))
    return out


class CurrencyMsg(msgspec.Struct):
    """GET /spot/currencies row: ``{"currency": "GT", "delisted": false, "withdraw_disabled": false,
    "withdraw_delayed": false, "deposit_disabled": false, "trade_disabled": false, "chain": "GT"}``"""

    currency: str
    delisted: bool = False
    withdraw_disabled: bool = False
    deposit_disabled: bool = False
    trade_disabled: bool = False


_CURRENCIES: Final = msgspec.json.Decoder(list[CurrencyMsg], strict=False)


@guarded(VENUE, "currencies")
def decode_currencies(body: bytes) -> dict[str, TransferStatus]:
    """Every asset's deposit / withdrawal status by its common name (a delisted asset: closed both ways)."""
    out = {}
    for row in _decode(_CURRENCIES, body, "currencies"):
        asset = SPELLING.asset(row.currency)
        out[asset] = TransferStatus(asset, not (row.deposit_disabled or row.delisted),
                                    not (row.withdraw_disabled or row.delisted))
    return out


@guarded(VENUE, "klines")
def decode_klines(body: bytes, symbol: Symbol, interval: KlineInterval) -> list[Kline]:
    """Rows ``[t (s), quote volume, close, high, low, open, base volume, window closed]``.

    Older responses have 7 columns, without the base volume: ``["1539852480", "971519.677",
    "0.0021724", "0.0021922", "0.0021724", "0.0021737", "true"]``.
    """
    out = []
    for row in _decode(_ROWS, body, "candlesticks"):
        try:
            base_volume = float(row[6]) if len(row) >= 8 else 0.0
            closed = str(row[-1]).lower() != "false" if len(row) >= 7 else True
            out.append(Kline(VENUE, symbol, interval, int(row[0]) * SECOND_NS, float(row[5]), float(row[3]),
                             float(row[4]), float(row[2]), base_volume, closed))
        except (IndexError, ValueError, TypeError) as exc:
            raise DecodeError(VENUE, "candlestick", str(exc), body) from None
    return out
