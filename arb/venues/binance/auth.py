"""Binance signing: HMAC-SHA256 hex over query string + body (the shared ``/api/v3`` `QuerySigner`);
the WebSocket API signs sorted params."""

from __future__ import annotations

from collections.abc import Mapping

from arb.credentials import Credentials
from arb.venues.apiv3 import QuerySigner, SignerFacts, hmac_sha256_hex
from arb.venues.binance.constants import RECV_WINDOW_MS

API_KEY_HEADER = "X-MBX-APIKEY"
SIGNING = SignerFacts(name="BinanceSigner", key_header=API_KEY_HEADER, recv_window_ms=RECV_WINDOW_MS)


def sign(secret: str, payload: str) -> str:
    """hex(HMAC_SHA256(secret, payload)); payload = query string immediately followed by body."""
    return hmac_sha256_hex(secret, payload)


def sign_ws(secret: str, params: Mapping[str, str]) -> str:
    """WebSocket API signature: every param but `signature`, sorted by name, joined as k=v&..."""
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
    return sign(secret, payload)


class BinanceSigner(QuerySigner):
    """`RequestSigner`: timestamp, recvWindow and signature go in the query string."""

    __slots__ = ()

    def __init__(self, api_key: str, api_secret: str) -> None:
        super().__init__(SIGNING, api_key, api_secret)


def signer(credentials: Credentials) -> BinanceSigner:
    """The registry's signer factory: the venue's `RequestSigner` for `credentials`."""
    return BinanceSigner(credentials.api_key.reveal(), credentials.api_secret.reveal())
