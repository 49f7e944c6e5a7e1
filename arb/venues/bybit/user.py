"""Bybit private stream (``/v5/private``): auth, then ``order.spot``, ``execution.spot`` and ``wallet``.

Every (re)connect authenticates anew: the dialect's first request on a socket is the auth op
``{"req_id", "op": "auth", "args": [apiKey, expires, signature]}`` with ``expires`` a few seconds
ahead of the venue's clock and signature = hex(HMAC_SHA256(secret, ``GET/realtime`` + expires))
(fact sheet §2.4), sent as the first of the socket's requests, before the topic subscriptions; the
server answers them in order. A refused auth (``success: false``, e.g. ``10004`` bad sign) fails
the connection attempt and the `WsClient` retries with backoff, never reporting the stream as up.
``{"op": "ping"}`` goes out every 20 s (the server cuts a private link silent for 10 minutes); a
quiet account is not a dead connection (no data-idle watchdog).

Pushes are routed by their exact topic (§2.10): ``order`` rows -> `on_order` (cumulative fill and
fee), ``execution`` rows of type ``Trade`` -> `on_fill` (several per push; the order tracker drops a
repeated ``execId``), ``wallet`` coins -> `on_balance` (absolute). Rows of other categories are left
out. A frame that does not decode is counted, logged once with a truncated sample, reported and
skipped. The key, secret and signatures are never logged; the dialect's repr masks them.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, Final

from arb.credentials import Credentials
from arb.errors import DecodeError
from arb.model import Symbol
from arb.net.ws import WsClient
from arb.venues.base import StreamHandlers, UserPushes
from arb.venues.bybit import codec, orders
from arb.venues.bybit import constants as c
from arb.venues.bybit.auth import BybitSigner

log = logging.getLogger(__name__)

PING_ID: Final = "ping"
CHANNELS: Final = (c.AUTH_CHANNEL, *c.PRIVATE_TOPICS)  # auth first: requests go out in this order
# WsClient options the user stream sets itself (a quiet account is not a dead connection)
OWN_OPTIONS: Final = frozenset({"data_idle_s", "ping_interval_s", "max_subscriptions", "per_request"})


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Envelopes:
    """Each frame's envelope decoded once, shared by a stream's dialect and its frame handler."""

    def __init__(self) -> None:
        self.last_frame: bytes | str | None = None
        self.last: codec.WsMsg | None = None

    def envelope(self, frame: bytes | str) -> codec.WsMsg:
        if frame is not self.last_frame or self.last is None:
            self.last = codec.decode_ws(frame)
            self.last_frame = frame
        return self.last

    def is_control(self, frame: bytes | str) -> bool:
        """Replies and pongs (an ``op`` and no topic); an undecodable frame is data, for the stream
        to count and report."""
        try:
            env = self.envelope(frame)
        except DecodeError:
            return False
        return not env.topic and bool(env.op)


class BybitUserDialect(Envelopes):
    """The auth op (signed anew on every socket), one subscribe per topic, replies by ``req_id``."""

    def __init__(self, api_key: str, api_secret: str, clock_ms: Callable[[], int]) -> None:
        super().__init__()
        self._signer = BybitSigner(api_key, api_secret)
        self._clock_ms = clock_ms
        self._pending: dict[str, deque[int]] = {"auth": deque(), "subscribe": deque()}
        self.last_error: str | None = None  # the reason of the last refused auth or subscribe

    def __repr__(self) -> str:
        return "BybitUserDialect(****)"

    def auth_request(self, request_id: int | str) -> dict[str, Any]:
        expires = self._clock_ms() + c.WS_AUTH_EXPIRY_MS
        return {"req_id": str(request_id), "op": "auth", "args": self._signer.ws_auth(expires)}

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        if list(channels) == [c.AUTH_CHANNEL]:
            self._pending["auth"].append(request_id)
            return json.dumps(self.auth_request(request_id))
        unknown = [ch for ch in channels if ch not in c.PRIVATE_TOPICS]
        if unknown:
            raise ValueError(f"not bybit private topics: {unknown}")
        self._pending["subscribe"].append(request_id)
        return json.dumps({"req_id": str(request_id), "op": "subscribe", "args": list(channels)})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        topics = [ch for ch in channels if ch != c.AUTH_CHANNEL]
        if not topics:
            return None
        return json.dumps({"req_id": str(request_id), "op": "unsubscribe", "args": topics})

    def ack(self, frame: str) -> int | None:
        """The auth or subscribe request a reply answers; a refusal raises ValueError."""
        try:
            env = self.envelope(frame)
        except DecodeError:
            return None
        pending = self._pending.get(env.op)
        if pending is None:
            return None  # a pong or an unsubscribe reply
        request_id = answered(pending, env.req_id)
        if env.success is False or (env.retCode is not None and env.retCode != c.OK_CODE):
            reason = env.ret_msg or env.retMsg or "no reason given"
            if env.op == "auth" or not (self.last_error or "").startswith("auth"):
                self.last_error = f"{env.op}: {reason}"  # the topics refused after a refused auth say less
            what = "authentication failed" if env.op == "auth" else "subscribe refused"
            raise ValueError(f"{what}: {reason}")
        self.last_error = None
        return request_id

    def ping(self) -> str:
        return json.dumps({"req_id": PING_ID, "op": "ping"})


def answered(pending: deque[int], req_id: str | int | None) -> int | None:
    """The pending id a reply names, else (no ``req_id`` echoed) the oldest one pending."""
    if req_id is None:
        return pending.popleft() if pending else None
    try:
        request_id = int(req_id)
    except ValueError:
        return None
    if request_id in pending:
        pending.remove(request_id)
        return request_id
    return None


class BybitUserStream(UserPushes):
    """One account's order, fill and balance pushes, handed to the engine's `StreamHandlers`.

    Parameters
    ----------
    handlers:
        Gets `on_order`, `on_fill`, `on_balance`, `on_decode_error` and `on_stream_state` (with no
        symbols: the private stream carries no books).
    credentials:
        The account's API key and secret.
    url:
        The private endpoint (``wss://stream.bybit.com/v5/private``).
    clock_ms:
        Venue time for the auth expiry (a `ServerClock.now_ms`); wall clock by default.
    symbols:
        Venue spelling -> `Symbol` for the symbols in use; others are split on known quote assets.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, credentials: Credentials, *, url: str = c.WS_PRIVATE_URL,
                 clock_ms: Callable[[], int] | None = None,
                 symbols: MutableMapping[str, Symbol] | None = None, **ws_options: Any) -> None:
        self._handlers = handlers
        self._symbols: MutableMapping[str, Symbol] = symbols if symbols is not None else {}
        self.dialect = BybitUserDialect(credentials.api_key.reveal(), credentials.api_secret.reveal(),
                                        clock_ms or _wall_ms)
        options = {k: v for k, v in ws_options.items() if k not in OWN_OPTIONS}
        self.ws = WsClient(f"{c.VENUE}-user", url, dialect=self.dialect, on_frame=self._on_frame,
                           on_state=self._on_state, per_request=1, ping_interval_s=c.PING_INTERVAL_S,
                           data_idle_s=math.inf, **options)
        self.decode_errors = 0
        self.ignored_pushes = 0
        self._logged_error = False

    async def start(self) -> None:
        """Connect, authenticate and subscribe (a refusal is retried by the reconnect path)."""
        await self.ws.subscribe(list(CHANNELS))

    async def close(self) -> None:
        await self.ws.close()

    def symbol_of(self, venue_symbol: str) -> Symbol:
        symbol = self._symbols.get(venue_symbol)
        if symbol is None:
            symbol = self._symbols[venue_symbol] = c.SPELLING.common(venue_symbol)
        return symbol

    # ------------------------------------------------------------------ frames

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        try:
            env = self.dialect.envelope(frame)
            topic = env.topic
            if topic in c.EXECUTION_TOPICS:
                for fill in orders.decode_ws_executions(env.data, self.symbol_of, recv_ns):
                    self._handlers.on_fill(fill)
            elif topic in c.ORDER_TOPICS:
                for order in orders.decode_ws_orders(env.data, self.symbol_of):
                    self._handlers.on_order(order)
            elif topic in c.WALLET_TOPICS:
                for balance in orders.decode_ws_wallet(env.data):
                    self._handlers.on_balance(c.VENUE, balance)
            else:
                self.ignored_pushes += 1
        except DecodeError as err:
            self._undecodable(c.VENUE, err)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        self._handlers.on_stream_state(c.VENUE, connected, [])
