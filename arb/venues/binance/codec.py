"""[2] Binance wire Structs and decoders."""

from __future__ import annotations

from typing import Final

import msgspec

from arb.errors import DecodeError, ExchangeError
from arb.model import OrderBook, Symbol
from arb.venues.base import DepthUpdate, depth_update, order_book
from arb.venues.binance.constants import ERROR_CODES, VENUE
from arb.venues.errors import classify


class ErrorResp(msgspec.Struct):
    """``{"code": -1121, "msg": "Invalid symbol."}``"""

    code: int
    msg: str = ""


_ERROR: Final = msgspec.json.Decoder(ErrorResp)


def decode_error(status: int, body: bytes) -> tuple[int | str | None, str]:
    """Binance error body -> (code, msg); a non-JSON body (a WAF page) gives (None, its start)."""
    try:
        err = _ERROR.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, body[:200].decode("utf-8", "replace")
    return err.code, err.msg


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


_STREAM: Final = msgspec.json.Decoder(StreamMsg)
_DEPTH: Final = msgspec.json.Decoder(DepthDiffMsg, strict=False)
_SNAPSHOT: Final = msgspec.json.Decoder(DepthSnapshotResp, strict=False)
MS: Final = 1_000_000


def decode_stream(frame: bytes | str) -> StreamMsg:
    """Split a combined-stream frame into its stream name and raw payload."""
    try:
        return _STREAM.decode(frame)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(VENUE, "stream frame", str(exc), frame) from None


def decode_depth(payload: bytes | str, symbol: Symbol, ts_recv: int) -> DepthUpdate:
    """A ``depthUpdate`` payload -> `DepthUpdate` (levels as double buffers)."""
    try:
        msg = _DEPTH.decode(payload)
        return depth_update(VENUE, symbol, msg.U, msg.u, msg.b, msg.a, msg.E * MS, ts_recv)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError) as exc:
        raise DecodeError(VENUE, "depth update", str(exc), payload) from None


def decode_snapshot(body: bytes, symbol: Symbol, ts_recv: int) -> OrderBook:
    """GET /api/v3/depth -> `OrderBook` with `update_id` = lastUpdateId."""
    try:
        msg = _SNAPSHOT.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(VENUE, "depth snapshot", str(exc), body) from None
    return order_book(VENUE, symbol, msg.lastUpdateId, msg.bids, msg.asks, 0, ts_recv)
