"""The one place where a venue's error table is applied: (HTTP status, api code) -> error class.

Each venue's `constants.py` holds two tables as data: `ERROR_CODES` (its api codes or labels) and
`STATUS_ERRORS` (fallbacks by HTTP status). 429 and 418 are decided by status first, whatever code
the body carries (Binance sends -1003 with both); otherwise the api code wins, then the status.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import msgspec

from arb.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailableError,
    IPBannedError,
    RateLimitError,
)
from arb.net.contract import ErrorClassifier

ErrorTable = Mapping[Any, type[ExchangeError]]  # keys: int codes (MEXC, Binance) or str labels (Gate)

COMMON_STATUS_ERRORS: Final[Mapping[int, type[ExchangeError]]] = MappingProxyType({
    401: AuthenticationError,
    403: AuthenticationError,  # also a WAF block on MEXC/Binance: treat as "stop and look"
    418: IPBannedError,
    429: RateLimitError,
    500: ExchangeUnavailableError,
    502: ExchangeUnavailableError,
    503: ExchangeUnavailableError,
    504: ExchangeUnavailableError,
})

_STATUS_FIRST: Final = frozenset({418, 429})


def classify(status: int, api_code: int | str | None, codes: ErrorTable,
             statuses: Mapping[int, type[ExchangeError]] = COMMON_STATUS_ERRORS) -> type[ExchangeError]:
    """The most specific error class for a response."""
    if status in _STATUS_FIRST:
        return statuses[status]
    if api_code is not None:
        cls = codes.get(api_code)
        if cls is not None:
            return cls
    cls = statuses.get(status)
    if cls is not None:
        return cls
    return ExchangeUnavailableError if status >= 500 else ExchangeError


def classifier(codes: ErrorTable,
               statuses: Mapping[int, type[ExchangeError]] = COMMON_STATUS_ERRORS) -> ErrorClassifier:
    """Bind a venue's tables into an `ErrorClassifier` for `net.rest`."""

    def classify_response(status: int, api_code: int | str | None) -> type[ExchangeError]:
        return classify(status, api_code, codes, statuses)

    return classify_response


class CodeMsgResp(msgspec.Struct):
    """The Binance-style error body MEXC shares: ``{"code": -1121, "msg": "Invalid symbol."}``."""

    code: int
    msg: str = ""


_CODE_MSG: Final = msgspec.json.Decoder(CodeMsgResp)


def decode_code_msg(status: int, body: bytes) -> tuple[int | str | None, str]:
    """(code, msg) of a code/msg error body; a non-JSON body (a WAF page) gives (None, its start)."""
    try:
        err = _CODE_MSG.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None, body[:200].decode("utf-8", "replace")
    return err.code, err.msg
