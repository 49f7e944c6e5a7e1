"""[2] MEXC wire Structs and decoders."""

from __future__ import annotations

from typing import Final

import msgspec

from arb.errors import ExchangeError
from arb.venues.errors import classify
from arb.venues.mexc.constants import ERROR_CODES


class ErrorResp(msgspec.Struct):
    """``{"code": 10101, "msg": "资金不足"}`` (messages are sometimes Chinese: key on the code)."""

    code: int
    msg: str = ""


_ERROR: Final = msgspec.json.Decoder(ErrorResp)


def decode_error(status: int, body: bytes) -> tuple[int | str | None, str]:
    try:
        err = _ERROR.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None, body[:200].decode("utf-8", "replace")
    return err.code, err.msg


def error_class(status: int, api_code: int | str | None) -> type[ExchangeError]:
    return classify(status, api_code, ERROR_CODES)
