"""[2] Gate.io wire Structs and decoders."""

from __future__ import annotations

from typing import Final

import msgspec

from arb.errors import ExchangeError
from arb.venues.errors import classify
from arb.venues.gateio.constants import ERROR_CODES


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
