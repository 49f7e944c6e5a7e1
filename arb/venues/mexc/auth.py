"""MEXC signing: HMAC-SHA256 hex over the exact query string immediately followed by the body (the
shared ``/api/v3`` `QuerySigner`, with uppercase percent escapes and a JSON content type)."""

from __future__ import annotations

from types import MappingProxyType
from urllib.parse import quote

from arb.credentials import Credentials
from arb.venues.apiv3 import QuerySigner, SignerFacts, hmac_sha256_hex
from arb.venues.mexc.constants import RECV_WINDOW_MS

API_KEY_HEADER = "X-MEXC-APIKEY"
SIGNING = SignerFacts(name="MexcSigner", key_header=API_KEY_HEADER, recv_window_ms=RECV_WINDOW_MS,
                      quote_via=quote, headers=MappingProxyType({"Content-Type": "application/json"}))


def sign(secret: str, query: str, body: str = "") -> str:
    """lowercase hex(HMAC_SHA256(secret, query + body)) (no separator between the two)."""
    return hmac_sha256_hex(secret, query + body)


class MexcSigner(QuerySigner):
    """`RequestSigner`: every parameter (and timestamp, recvWindow, signature) in the query string."""

    __slots__ = ()

    def __init__(self, api_key: str, api_secret: str) -> None:
        super().__init__(SIGNING, api_key, api_secret)


def signer(credentials: Credentials) -> MexcSigner:
    """The registry's signer factory: the venue's `RequestSigner` for `credentials`."""
    return MexcSigner(credentials.api_key.reveal(), credentials.api_secret.reveal())
