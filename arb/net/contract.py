"""What the transport needs from a venue: how to sign a request and how to read an error body.

`net` never imports `venues`; each venue package provides objects of these shapes and the engine
hands them to `RestClient` / `WsClient`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from arb.errors import ExchangeError

Params = Sequence[tuple[str, str]]


class SignedRequest(msgspec.Struct, frozen=True):
    """The exact bytes to send: query string (no leading ``?``), body and extra headers."""

    query: str
    body: bytes
    headers: Mapping[str, str]


class RequestSigner(Protocol):
    """Signs one REST request with the venue's scheme; credentials are bound inside the signer."""

    def sign(
        self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int
    ) -> SignedRequest:
        """Return what to send for ``method path`` at venue time ``timestamp_ms``.

        ``params`` are the request's own parameters in order (the signer adds timestamp and
        signature fields where the venue wants them); ``path`` is the full URL path.
        """
        ...


class ErrorDecoder(Protocol):
    """Reads a venue error response: returns ``(api_code, message)``; never raises."""

    def __call__(self, status: int, body: bytes) -> tuple[int | str | None, str]: ...


class ErrorClassifier(Protocol):
    """Maps ``(http_status, api_code)`` to the most specific `ExchangeError` subclass (table lookup)."""

    def __call__(self, status: int, api_code: int | str | None) -> type[ExchangeError]: ...
