"""Simulated accounts: the funded default account and the signed-request checks of the venues.

Binance and MEXC sign ``HMAC-SHA256(secret, query string + body)`` into a ``signature`` parameter
with a ``timestamp`` (and optional ``recvWindow``); Gate signs ``HMAC-SHA512`` over five lines into
``KEY`` / ``Timestamp`` / ``SIGN`` headers. Each dialect maps an `AuthFailure` to its own error.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from arb.sim.matching import Ledger

SIM_KEY: Final = "sim-key"
SIM_SECRET: Final = "sim-secret"  # the simulator's funded test account: fake money, not a secret
SIM_PASSPHRASE: Final = "sim-passphrase"  # OKX keys also carry a passphrase (the same for every key)
DEFAULT_ACCOUNTS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType({SIM_KEY: (SIM_SECRET, "sim")})
FUNDING: Final[Mapping[str, Decimal]] = MappingProxyType({
    "USDT": Decimal("1000000"), "BTC": Decimal("10"), "ETH": Decimal("200"), "SOL": Decimal("4000"),
    "XRP": Decimal("1000000"), "DOGE": Decimal("4000000"),
})
CLOCK_AHEAD_MS: Final = 1000  # venues accept timestamps up to 1 s ahead of their clock
GATE_WINDOW_S: Final = 60  # Gate: the Timestamp header must be within 60 s of server time


class AuthFailure(enum.Enum):
    KEY = "unknown api key"
    SIGNATURE = "bad signature"
    TIMESTAMP = "timestamp outside the receive window"
    PARAMS = "missing or malformed timestamp"


def funded_ledger(accounts: Mapping[str, tuple[str, str]]) -> Ledger:
    ledger = Ledger()
    for _, account in accounts.values():
        for asset, amount in FUNDING.items():
            ledger.deposit(account, asset, amount)
    return ledger


async def check_hmac_query(
    request: web.Request, accounts: Mapping[str, tuple[str, str]], key_header: str,
    clock_ms: Callable[[], int],
) -> tuple[str, dict[str, str]] | AuthFailure:
    """(account, params) for a correctly signed request, else why it is refused."""
    key = request.headers.get(key_header, "")
    if key not in accounts:
        return AuthFailure.KEY
    secret, account = accounts[key]
    payload = request.query_string + (await request.read()).decode()
    unsigned, _, signature = payload.rpartition("&signature=")
    expected = hmac.new(secret.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
    if not signature or not hmac.compare_digest(signature.lower(), expected):
        return AuthFailure.SIGNATURE
    params = dict(parse_qsl(unsigned))
    try:
        timestamp, window = int(params["timestamp"]), int(params.get("recvWindow", "5000"))
    except (KeyError, ValueError):
        return AuthFailure.PARAMS
    now = clock_ms()
    if timestamp >= now + CLOCK_AHEAD_MS or now - timestamp > window:
        return AuthFailure.TIMESTAMP
    return account, params


def gate_signature(secret: str, method: str, path: str, query: str, body: bytes, timestamp: str) -> str:
    """hex(HMAC_SHA512(secret, METHOD\\nPATH\\nQUERY\\nhex(SHA512(BODY))\\nTIMESTAMP)) (fact sheet §2.4)."""
    payload = "\n".join((method.upper(), path, query, hashlib.sha512(body).hexdigest(), timestamp))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()


def gate_signed_query(raw_query: str) -> str:
    """The query string Gate signs (fact sheet 2.4): the one sent, in its order, percent-decoded.

    Each ``key=value`` pair of the wire query is decoded on its own; ``&`` joins them as sent.
    """
    return "&".join(unquote(part) for part in raw_query.split("&")) if raw_query else ""


async def check_gate_headers(
    request: web.Request, accounts: Mapping[str, tuple[str, str]], clock_ms: Callable[[], int],
) -> str | AuthFailure:
    """The account of a correctly signed Gate APIv4 request, else why it is refused (fact sheet 2.4:
    the signed query is the one sent, not URL-encoded; the timestamp within 60 s of server time)."""
    key, stamp, sign = (request.headers.get(h, "") for h in ("KEY", "Timestamp", "SIGN"))
    if not (key and stamp and sign):
        return AuthFailure.PARAMS
    if key not in accounts:
        return AuthFailure.KEY
    secret, account = accounts[key]
    try:
        ts = float(stamp)
    except ValueError:
        return AuthFailure.TIMESTAMP
    if abs(clock_ms() / 1000 - ts) > GATE_WINDOW_S:
        return AuthFailure.TIMESTAMP
    body = await request.read()
    query = gate_signed_query(request.raw_path.partition("?")[2])
    expected = gate_signature(secret, request.method, request.path, query, body, stamp)
    return account if hmac.compare_digest(sign.lower(), expected) else AuthFailure.SIGNATURE


ErrorTable = Mapping[AuthFailure, tuple[int, int, str]]  # failure -> (HTTP status, api code, message)


async def authenticate(
    request: web.Request, accounts: Mapping[str, tuple[str, str]], key_header: str,
    clock_ms: Callable[[], int], errors: ErrorTable,
) -> tuple[str, dict[str, str]] | web.Response:
    """`check_hmac_query`, answered with the venue's own ``{"code", "msg"}`` error when it fails."""
    result = await check_hmac_query(request, accounts, key_header, clock_ms)
    if isinstance(result, AuthFailure):
        status, code, msg = errors[result]
        return web.json_response({"code": code, "msg": msg}, status=status)
    return result


def balances_json(ledger: Ledger, account: str) -> list[dict[str, str]]:
    """``[{"asset", "free", "locked"}]`` as both HMAC venues print them."""
    return [{"asset": a, "free": format(f, "f"), "locked": format(lk, "f")}
            for a, (f, lk) in ledger.balances(account).items()]
