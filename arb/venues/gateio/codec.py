"""[2] Gate.io wire Structs and decoders."""

from __future__ import annotations

from typing import Final

import msgspec

from arb.errors import DecodeError, ExchangeError
from arb.model import OrderBook, Symbol
from arb.venues.base import DepthUpdate, depth_update, order_book
from arb.venues.errors import classify
from arb.venues.gateio.constants import ERROR_CODES, VENUE


class ErrorResp(msgspec.Struct):
    """``{"label": "BALANCE_NOT_ENOUGH", "message": "Not enough balance"}`` (sometimes ``detail``)."""

    label: str
    message: str | None = None
    detail: str | None = None


_ERROR: Final = msgspec.json.Decoder(ErrorResp)


def decode_error(status: int, body: bytes) -> tuple[int | str | None, str]:
    try:
        err = _ERROR.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
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
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(VENUE, "ws frame", str(exc), frame) from None


def decode_depth(result: bytes | str, symbol: Symbol, ts_recv: int) -> DepthUpdate:
    """A ``spot.order_book_update`` result -> `DepthUpdate`; ``full: true`` replaces the book."""
    try:
        msg = _DEPTH.decode(result)
        return depth_update(VENUE, symbol, msg.U, msg.u, msg.b, msg.a, msg.t * MS, ts_recv, msg.full)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError) as exc:
        raise DecodeError(VENUE, "order book update", str(exc), result) from None


def decode_snapshot(body: bytes, symbol: Symbol, ts_recv: int) -> OrderBook:
    try:
        msg = _SNAPSHOT.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(VENUE, "order book", str(exc), body) from None
    return order_book(VENUE, symbol, msg.id, msg.bids, msg.asks, msg.update * MS, ts_recv)
