"""MEXC signing: HMAC-SHA256 hex over the exact query string immediately followed by the body."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import quote, urlencode

from arb.config import Credentials
from arb.net.contract import Params, SignedRequest
from arb.venues.mexc.constants import RECV_WINDOW_MS

API_KEY_HEADER = "X-MEXC-APIKEY"


def sign(secret: str, query: str, body: str = "") -> str:
    """lowercase hex(HMAC_SHA256(secret, query + body)) (no separator between the two)."""
    return hmac.new(secret.encode(), (query + body).encode(), hashlib.sha256).hexdigest()


def encode_params(params: Params) -> str:
    """URL-encode with uppercase percent escapes, as MEXC verifies batch parameters."""
    return urlencode(list(params), quote_via=quote)


class MexcSigner:
    """`RequestSigner`: every parameter (and timestamp, recvWindow, signature) in the query string."""

    __slots__ = ("_key", "_secret")

    def __init__(self, api_key: str, api_secret: str) -> None:
        self._key = api_key
        self._secret = api_secret

    def __repr__(self) -> str:
        return "MexcSigner(****)"

    def sign(self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int) -> SignedRequest:
        timing = [("recvWindow", str(RECV_WINDOW_MS)), ("timestamp", str(timestamp_ms))]
        query = encode_params([*params, *timing])
        signature = sign(self._secret, query, body.decode())
        return SignedRequest(f"{query}&signature={signature}", body,
                             {API_KEY_HEADER: self._key, "Content-Type": "application/json"})


def signer(credentials: Credentials) -> MexcSigner:
    """The registry's signer factory: the venue's `RequestSigner` for `credentials`."""
    return MexcSigner(credentials.api_key.reveal(), credentials.api_secret.reveal())
