"""Bybit v5 signing: hex(HMAC-SHA256(secret, timestamp + apiKey + recvWindow + query-or-body)).

The server applies no sorting or re-encoding: what is signed is exactly the query string that is
sent (GET) or the exact JSON body text (POST). The WebSocket auth signs ``GET/realtime`` + expiry.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote

from arb.credentials import Credentials
from arb.net.contract import Params, SignedRequest
from arb.venues.bybit.constants import RECV_WINDOW_MS, WS_AUTH_PATH

KEY_HEADER = "X-BAPI-API-KEY"
TIMESTAMP_HEADER = "X-BAPI-TIMESTAMP"
SIGN_HEADER = "X-BAPI-SIGN"
RECV_WINDOW_HEADER = "X-BAPI-RECV-WINDOW"


def sign(secret: str, payload: str) -> str:
    """Lowercase hex HMAC-SHA256 of `payload`."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_request(secret: str, api_key: str, timestamp_ms: int | str, recv_window_ms: int | str,
                 query_or_body: str) -> str:
    """``X-BAPI-SIGN`` of one REST request: the query string as sent (GET) or the body text (POST)."""
    return sign(secret, f"{timestamp_ms}{api_key}{recv_window_ms}{query_or_body}")


def sign_ws(secret: str, expires_ms: int) -> str:
    """The WebSocket auth signature: hex(HMAC_SHA256(secret, ``GET/realtime`` + expires))."""
    return sign(secret, f"{WS_AUTH_PATH}{expires_ms}")


def encode_query(params: Params) -> str:
    """The query string exactly as it is sent and signed (percent-encoded, order kept).

    ``%`` is kept as is: the page cursors Bybit hands out (``page_args%3Dfd43...%26``) are already
    encoded and go back verbatim, as the official SDK sends them."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='%')}" for k, v in params)


class BybitSigner:
    """`RequestSigner`: the four ``X-BAPI-*`` headers; the query or body is sent as signed."""

    __slots__ = ("_key", "_recv_window", "_secret")

    def __init__(self, api_key: str, api_secret: str, recv_window_ms: int = RECV_WINDOW_MS) -> None:
        self._key = api_key
        self._secret = api_secret
        self._recv_window = recv_window_ms

    def __repr__(self) -> str:
        return "BybitSigner(****)"

    def sign(self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int) -> SignedRequest:
        query = encode_query(params)
        signed = body.decode() if method.upper() != "GET" else query
        headers = {
            KEY_HEADER: self._key,
            TIMESTAMP_HEADER: str(timestamp_ms),
            RECV_WINDOW_HEADER: str(self._recv_window),
            SIGN_HEADER: sign_request(self._secret, self._key, timestamp_ms, self._recv_window, signed),
        }
        if body:
            headers["Content-Type"] = "application/json"
        return SignedRequest(query, body, headers)

    def ws_auth(self, expires_ms: int) -> list[str | int]:
        """The ``args`` of the auth op: ``[apiKey, expires (a number), signature]``."""
        return [self._key, expires_ms, sign_ws(self._secret, expires_ms)]


def signer(credentials: Credentials) -> BybitSigner:
    """The registry's signer factory: the venue's `RequestSigner` for `credentials`."""
    return BybitSigner(credentials.api_key.reveal(), credentials.api_secret.reveal())
