"""[2] Binance wire Structs and decoders."""

from __future__ import annotations

from typing import Final

import msgspec

from arb.errors import ExchangeError
from arb.venues.binance.constants import ERROR_CODES
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
