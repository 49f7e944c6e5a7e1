"""OKX v5 wire helpers of the simulator: envelopes, number printing, ids, signing and the book checksum.

Written from the fact sheet (§1.1, §1.4, §1.9), independently of `arb.venues.okx`:

- REST envelope ``{"code": "0", "msg": "", "data": [...]}``; ``code`` and most integers are strings.
  Order operations answer per item (``sCode`` / ``sMsg``) with top ``code`` ``"1"`` when all failed,
  plus ``inTime`` / ``outTime`` (gateway times in µs).
- Numbers print as plain decimals without trailing zeros (``"30244"``, ``"0.08"``).
- ``OK-ACCESS-SIGN = Base64(HMAC-SHA256(secret, timestamp + METHOD + path?query + body))``; the WS
  login signs ``ts + "GET" + "/users/self/verify"`` with ``ts`` in Unix seconds.
- `authenticate` checks the four ``OK-ACCESS-*`` headers in this order: present (50103, 50104,
  50106, 50107), known key (50111), readable timestamp (50112), within 30 s (50102), passphrase
  (50105), signature (50113); the query may be signed percent-encoded or not.
- Book checksum: CRC32 (zlib) of the best 25 bids and 25 asks interleaved ``bid px:bid sz:ask px:ask
  sz:...`` (a shorter side is skipped), the exact strings pushed, read as a signed 32-bit integer.
- Order, trade and bill ids are ~19-digit numeric strings: the simulator's small internal ids are
  offset past 2^53, so a client that reads one as a float loses digits.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import itertools
import json
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlencode

from aiohttp import WSMsgType, web

from arb.model import Symbol
from arb.sim.fanout import Subscribers

CHECKSUM_DEPTH: Final = 25
ORDER_ID_BASE: Final = 2_896_576_259_728_695_296  # ordIds as big as the real ones (> 2^53)
TRADE_ID_BASE: Final = 744_876_000
BILL_ID_BASE: Final = 680_800_019_754_098_688
LOGIN_PATH: Final = "/users/self/verify"
SPOT: Final = "SPOT"
WINDOW_MS: Final = 30_000  # OK-ACCESS-TIMESTAMP must be within 30 s of server time
IDLE_S: Final = 30.0  # a socket without a push or a client message for this long is closed
IDLE_CLOSE: Final = 4004  # the close code OKX gives it

Row = dict[str, object]


def num(value: Decimal) -> str:
    """OKX prints plain decimals without trailing zeros: ``30244``, ``0.08``, ``0``."""
    return format(value.normalize(), "f") if value else "0"


def inst_id(symbol: Symbol) -> str:
    return f"{symbol.base}-{symbol.quote}"


def ok(data: Sequence[object], **extra: object) -> web.Response:
    """The success envelope (HTTP 200)."""
    return web.json_response({"code": "0", "msg": "", "data": list(data), **extra})


def error(code: str, msg: str, status: int = 200) -> web.Response:
    """A top-level error (most business errors come with HTTP 200, auth errors with 401)."""
    return web.json_response({"code": code, "msg": msg, "data": []}, status=status)


def gateway_times(in_ms: int, out_ms: int) -> dict[str, str]:
    """``inTime`` / ``outTime`` of an order operation, in µs as strings."""
    return {"inTime": str(in_ms * 1000), "outTime": str(out_ms * 1000 + 500)}


def rest_signature(secret: str, timestamp: str, method: str, request_path: str, body: str) -> str:
    """Base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath(+query) + body)) (fact sheet §1.4)."""
    prehash = f"{timestamp}{method.upper()}{request_path}{body}"
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


def login_signature(secret: str, timestamp: str) -> str:
    """The WS login sign: the REST one over ``ts + "GET" + "/users/self/verify"`` (ts in seconds)."""
    return rest_signature(secret, timestamp, "GET", LOGIN_PATH, "")


def checksum(bids: Sequence[Sequence[str]], asks: Sequence[Sequence[str]]) -> int:
    """The signed CRC32 of the top 25 levels, over the exact price and size strings (fact sheet §1.9)."""
    tokens: list[str] = []
    for i in range(CHECKSUM_DEPTH):
        if i < len(bids):
            tokens += (bids[i][0], bids[i][1])
        if i < len(asks):
            tokens += (asks[i][0], asks[i][1])
    crc = zlib.crc32(":".join(tokens).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def level(price: Decimal, size: Decimal) -> list[str]:
    """``[px, sz, "0", numOrders]``: the third field is deprecated (always "0"); the simulator's book
    keeps no orders per level, so a live level counts one and a deletion zero."""
    return [num(price), num(size), "0", "1" if size else "0"]


class AuthError(enum.IntEnum):
    """Why a signed request is refused, in the order the checks run."""

    NO_KEY = 50103
    NO_PASSPHRASE = 50104
    NO_SIGN = 50106
    NO_TIMESTAMP = 50107
    BAD_KEY = 50111
    BAD_TIMESTAMP = 50112
    EXPIRED = 50102
    BAD_PASSPHRASE = 50105
    BAD_SIGN = 50113


AUTH_MESSAGES: Final[Mapping[AuthError, str]] = MappingProxyType({
    AuthError.NO_KEY: 'Request header "OK-ACCESS-KEY" cannot be empty.',
    AuthError.NO_PASSPHRASE: 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.',
    AuthError.NO_SIGN: 'Request header "OK-ACCESS-SIGN" cannot be empty.',
    AuthError.NO_TIMESTAMP: 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.',
    AuthError.BAD_KEY: "Invalid OK-ACCESS-KEY",
    AuthError.BAD_TIMESTAMP: "Invalid OK-ACCESS-TIMESTAMP",
    AuthError.EXPIRED: "Timestamp request expired.",
    AuthError.BAD_PASSPHRASE: "OK-ACCESS-PASSPHRASE incorrect.",
    AuthError.BAD_SIGN: "Invalid Sign",
})
def parse_timestamp(text: str) -> int | None:
    """Milliseconds of an ISO-8601 UTC timestamp with milliseconds (``2020-12-08T09:08:57.715Z``)."""
    try:
        stamp = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return int(stamp.timestamp() * 1000)


async def authenticate(request: web.Request, accounts: Mapping[str, tuple[str, str]], passphrase: str,
                       clock_ms: Callable[[], int]) -> str | AuthError:
    """The account of a correctly signed request, else why it is refused (fact sheet §1.4)."""
    headers = request.headers
    key, sign = headers.get("OK-ACCESS-KEY", ""), headers.get("OK-ACCESS-SIGN", "")
    stamp, phrase = headers.get("OK-ACCESS-TIMESTAMP", ""), headers.get("OK-ACCESS-PASSPHRASE", "")
    for value, missing in ((key, AuthError.NO_KEY), (phrase, AuthError.NO_PASSPHRASE),
                           (sign, AuthError.NO_SIGN), (stamp, AuthError.NO_TIMESTAMP)):
        if not value:
            return missing
    if key not in accounts:
        return AuthError.BAD_KEY
    at = parse_timestamp(stamp)
    if at is None:
        return AuthError.BAD_TIMESTAMP
    if abs(clock_ms() - at) > WINDOW_MS:
        return AuthError.EXPIRED
    if phrase != passphrase:
        return AuthError.BAD_PASSPHRASE
    secret, account = accounts[key]
    body = (await request.read()).decode(errors="replace")
    signed = {rest_signature(secret, stamp, request.method, path, body) for path in signed_paths(request)}
    return account if sign in signed else AuthError.BAD_SIGN


def signed_paths(request: web.Request) -> set[str]:
    """The request path with its query as sent; HTTP clients may percent-encode a query character the
    signer left as is (``,`` -> ``%2C``) or the reverse, so both spellings of the same query count."""
    path, _, query = request.raw_path.partition("?")
    if not query:
        return {path}
    pairs = parse_qsl(query, keep_blank_values=True)
    return {f"{path}?{query}", f"{path}?{unquote(query)}", f"{path}?{urlencode(pairs)}"}


def ws_error(code: str, msg: str, conn: str, request_id: object = None) -> str:
    """``{"id"?, "event": "error", "code", "msg", "connId"}`` (the id only when the request had one)."""
    head: dict[str, object] = {"id": request_id} if request_id is not None else {}
    return json.dumps({**head, "event": "error", "code": code, "msg": msg, "connId": conn})


def ws_event(event: str, conn: str, request_id: object = None, **fields: object) -> str:
    """An acknowledgement: ``{"id"?, "event", ..., "connId"}``."""
    head: dict[str, object] = {"id": request_id} if request_id is not None else {}
    return json.dumps({**head, "event": event, **fields, "connId": conn})


class Pushes:
    """One fanout (`Subscribers`, where the server attaches the fault seam) and when each topic was
    last pushed, for the 30 s idle rule; `send_own` pushes to one socket only (a snapshot)."""

    def __init__(self) -> None:
        self.subscribers = Subscribers()
        self.last: dict[str, float] = {}
        self._conns = itertools.count(0xA4D3AE55)

    def conn_id(self) -> str:
        """A new ``connId`` (8 hex digits, as OKX prints them)."""
        return format(next(self._conns) & 0xFFFFFFFF, "08x")

    def wants(self, topic: str) -> bool:
        return self.subscribers.wants(topic)

    def publish(self, topic: str, frame: str) -> None:
        self.last[topic] = time.monotonic()
        self.subscribers.publish(topic, frame)

    def send_own(self, topics: set[str], conn: str, frame: str) -> None:
        """Queue `frame` behind everything already queued for the socket holding `topics` (its own
        topic, so it passes the same fault seam as the channel's other pushes)."""
        own = f"conn|{conn}"
        topics.add(own)
        self.publish(own, frame)
        topics.discard(own)

    def idle(self, topics: set[str], since: float) -> bool:
        """No topic of the socket pushed since `since` (monotonic)."""
        return all(self.last.get(t, 0.0) < since for t in topics)


Request = Callable[[web.WebSocketResponse, str, set[str], dict[str, Any]], Awaitable[None]]


async def serve_socket(request: web.Request, pushes: Pushes, idle_s: float, on_request: Request,
                       on_close: Callable[[web.WebSocketResponse], None] | None = None
                       ) -> web.WebSocketResponse:
    """One OKX WebSocket: text ``ping`` -> ``pong``, JSON requests to `on_request(ws, connId, topics,
    request)`, anything unreadable answered 60012, and a close (4004) after `idle_s` without a push
    or a client message."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    conn = pushes.conn_id()
    topics = pushes.subscribers.add(ws)
    try:
        while not ws.closed:
            waited_from = time.monotonic()
            try:
                msg = await ws.receive(timeout=idle_s)
            except TimeoutError:
                if pushes.idle(topics, waited_from):
                    await ws.close(code=IDLE_CLOSE, message=b"No data received in 30s.")
                    break
                continue
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            if msg.type is not WSMsgType.TEXT:
                continue
            if msg.data == "ping":
                await ws.send_str("pong")
                continue
            try:
                req = json.loads(msg.data)
            except ValueError:
                req = None
            if not isinstance(req, dict):
                await ws.send_str(ws_error("60012", f"Invalid request: {msg.data[:200]}", conn))
                continue
            await on_request(ws, conn, topics, req)
    finally:
        pushes.subscribers.remove(ws)
        pushes.last.pop(f"conn|{conn}", None)
        if on_close is not None:
            on_close(ws)
    return ws
