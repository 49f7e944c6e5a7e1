"""OKX v5 signing: Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body)).

REST signs with an ISO-8601 UTC timestamp with exactly three millisecond digits
(``2020-12-08T09:08:57.715Z``), the path *with* its query string as sent, and the exact JSON body;
the WebSocket login signs ``<unix seconds> + "GET" + "/users/self/verify"``. The passphrase chosen
at key creation travels in clear in ``OK-ACCESS-PASSPHRASE`` (fact sheet §1.4).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Final
from urllib.parse import quote, urlencode

from arb.credentials import Credentials
from arb.net.contract import Params, SignedRequest
from arb.venues.okx.constants import LOGIN_PATH

KEY_HEADER: Final = "OK-ACCESS-KEY"
SIGN_HEADER: Final = "OK-ACCESS-SIGN"
TIMESTAMP_HEADER: Final = "OK-ACCESS-TIMESTAMP"
PASSPHRASE_HEADER: Final = "OK-ACCESS-PASSPHRASE"


def iso_timestamp(timestamp_ms: int) -> str:
    """``2020-12-08T09:08:57.715Z``: always three millisecond digits (dropping zeros breaks the sign)."""
    seconds, millis = divmod(timestamp_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def sign(secret: str, prehash: str) -> str:
    """Base64 of HMAC-SHA256(secret, prehash)."""
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sign_request(secret: str, timestamp: str, method: str, request_path: str, body: str) -> str:
    """The REST ``OK-ACCESS-SIGN``: `request_path` includes ``?query`` exactly as sent."""
    return sign(secret, f"{timestamp}{method.upper()}{request_path}{body}")


def sign_login(secret: str, timestamp_s: int | str) -> str:
    """The WebSocket login ``sign`` for `timestamp_s` (Unix seconds; valid for 30 s)."""
    return sign(secret, f"{timestamp_s}GET{LOGIN_PATH}")


class OkxSigner:
    """`RequestSigner`: the four ``OK-ACCESS-*`` headers; the query is sent as it was signed."""

    __slots__ = ("_key", "_passphrase", "_secret")

    def __init__(self, api_key: str, api_secret: str, passphrase: str) -> None:
        self._key = api_key
        self._secret = api_secret
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return "OkxSigner(****)"

    def sign(self, method: str, path: str, params: Params, body: bytes, timestamp_ms: int) -> SignedRequest:
        query = urlencode(list(params), quote_via=quote)
        request_path = f"{path}?{query}" if query else path
        ts = iso_timestamp(timestamp_ms)
        headers = {
            KEY_HEADER: self._key,
            SIGN_HEADER: sign_request(self._secret, ts, method, request_path, body.decode()),
            TIMESTAMP_HEADER: ts,
            PASSPHRASE_HEADER: self._passphrase,
            "Content-Type": "application/json",
        }
        return SignedRequest(query, body, headers)

    def login_args(self, timestamp_s: int) -> dict[str, str]:
        """The one ``args`` item of a WebSocket ``login`` op, signed at `timestamp_s`."""
        return {"apiKey": self._key, "passphrase": self._passphrase, "timestamp": str(timestamp_s),
                "sign": sign_login(self._secret, timestamp_s)}


def passphrase_of(credentials: Credentials) -> str:
    """The key's passphrase ("" when none was given: OKX then refuses with 50105 / 60024)."""
    return credentials.passphrase.reveal() if credentials.passphrase is not None else ""


def signer(credentials: Credentials) -> OkxSigner:
    """The registry's signer factory: the venue's `RequestSigner` for `credentials`."""
    return OkxSigner(credentials.api_key.reveal(), credentials.api_secret.reveal(),
                     passphrase_of(credentials))
