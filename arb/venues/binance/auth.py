"""Binance signing: HMAC-SHA256 hex over query string + body; WS-API signs sorted params."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlencode

from arb.config import Credentials
from arb.net.contract import Params, SignedRequest
from arb.venues.binance.constants import RECV_WINDOW_MS

API_KEY_HEADER = "X-MBX-APIKEY"


def sign(secret: str, payload: str) -> str:
    """hex(HMAC_SHA256(secret, payload)); payload = query string immediately followed by body."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_ws(secret: str, params: Mapping[str, str]) -> str:
    """WebSocket API signature: every param but `signature`, sorted by name, joined as k=v&..."""
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
    return sign(secret, payload)


class BinanceSigner:
    """`RequestSigner`: timestamp, recvWindow and signature go in the query string."""

    __slots__ = ("_key", "_secret")

    def __init__(self, api_key: str, api_secret: str) -> None:
        self._key = api_key
        self._secret = api_secret

    def __repr__(self) -> str:
        return "BinanceSigner(****)"

    def sign(self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int) -> SignedRequest:
        query = urlencode([*params, ("recvWindow", str(RECV_WINDOW_MS)), ("timestamp", str(timestamp_ms))])
        signature = sign(self._secret, query + body.decode())
        return SignedRequest(f"{query}&signature={signature}", body, {API_KEY_HEADER: self._key})


def signer(credentials: Credentials) -> BinanceSigner:
    """The registry's signer factory: the venue's `RequestSigner` for `credentials`."""
    return BinanceSigner(credentials.api_key.reveal(), credentials.api_secret.reveal())
