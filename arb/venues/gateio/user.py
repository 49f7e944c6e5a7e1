"""Gate.io private channels (``spot.orders``, ``spot.usertrades``, ``spot.balances``) on a `WsClient`.

Gate has no listen key: the private channels are subscribed on the ordinary ``/ws/v4/`` endpoint,
each request carrying its own ``auth`` block ``{"method": "api_key", "KEY", "SIGN"}`` with SIGN =
hex(HMAC-SHA512(secret, ``channel=<ch>&event=<ev>&time=<time>``)) over the request's ``time``
(seconds, within 60 s of the venue's clock; fact sheet §2.8). The dialect builds every request anew
with a fresh ``time``, so the `WsClient` reconnect path re-authenticates by itself. The ack is matched
by id; a refused request (error code 4: authentication failed) fails the connection attempt and the
client retries with backoff, never reporting the stream as up. ``spot.ping`` keeps the socket busy;
a quiet account is not a dead connection (no data-idle watchdog).

Pushes are routed by their exact channel (fact sheet §2.10): ``spot.usertrades`` rows -> `on_fill`,
``spot.orders`` rows -> `on_order` (cumulative fill and fee), ``spot.balances`` rows -> `on_balance`
(absolute available / freeze). A frame that does not decode is counted, logged once with a truncated
sample, reported, and skipped. The key, secret and signatures are never logged; the dialect's repr
masks them.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, Final

import msgspec

from arb.credentials import Credentials
from arb.errors import DecodeError
from arb.model import Symbol
from arb.net.ws import WsClient
from arb.venues.base import StreamHandlers, UserPushes
from arb.venues.gateio import codec, orders
from arb.venues.gateio import constants as c
from arb.venues.gateio.auth import GateSigner

log = logging.getLogger(__name__)

REQUEST_EVENTS: Final = frozenset({"subscribe", "unsubscribe"})
# WsClient options the user stream sets itself (a quiet account is not a dead connection)
OWN_OPTIONS: Final = frozenset({"data_idle_s", "ping_interval_s", "max_subscriptions", "per_request"})


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class GateUserDialect(codec.Envelopes):
    """One signed request per private channel, acks by id, ``spot.ping``; decodes each frame once."""

    def __init__(self, api_key: str, api_secret: str, clock_ms: Callable[[], int]) -> None:
        super().__init__()
        self._signer = GateSigner(api_key, api_secret)
        self._clock_ms = clock_ms
        self._pending: set[int] = set()
        self.last_error: tuple[int, str] | None = None  # (code, message) of the last refused subscribe

    def __repr__(self) -> str:
        return "GateUserDialect(****)"

    def request(self, channel: str, event: str, request_id: int) -> dict[str, Any]:
        """``{"time", "id", "channel", "event", ["payload"], "auth"}`` signed at the current time."""
        if channel not in c.PRIVATE_CHANNELS:
            raise ValueError(f"not a gateio private channel: {channel!r}")
        now_s = self._clock_ms() // 1000
        req: dict[str, Any] = {"time": now_s, "id": request_id, "channel": channel, "event": event}
        if channel != c.BALANCES_CHANNEL:  # spot.balances takes no payload
            req["payload"] = [c.ALL_PAIRS]
        req["auth"] = self._signer.ws_auth(channel, event, now_s)
        return req

    def _one(self, channels: Sequence[str]) -> str:
        if len(channels) != 1:
            raise ValueError(f"gateio private requests carry one channel, got {list(channels)}")
        return channels[0]

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        message = json.dumps(self.request(self._one(channels), "subscribe", request_id))
        self._pending.add(request_id)
        return message

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps(self.request(self._one(channels), "unsubscribe", request_id))

    def ack(self, frame: str) -> int | None:
        try:
            env = self.envelope(frame)
        except DecodeError:
            return None
        if env.event not in REQUEST_EVENTS or env.id is None or env.id not in self._pending:
            return None  # a pong, an unsubscribe reply, or a late answer to an attempt given up
        self._pending.discard(env.id)
        if bytes(env.error) != b"null":
            code, message = orders.decode_ws_error(env.error)
            self.last_error = (code, message)
            what = "authentication failed" if code == c.WS_AUTH_FAILED else "refused"
            raise ValueError(f"{env.channel} subscribe {what}: code {code} {message.strip()}")
        self.last_error = None
        return env.id

    def ping(self) -> str:
        return json.dumps({"time": self._clock_ms() // 1000, "channel": c.PING_CHANNEL})


class GateUserStream(UserPushes):
    """One account's order, fill and balance pushes, handed to the engine's `StreamHandlers`.

    Parameters
    ----------
    handlers:
        Gets `on_order`, `on_fill`, `on_balance`, `on_decode_error` and `on_stream_state` (with no
        symbols: the user stream carries no books).
    credentials:
        The account's API key and secret.
    url:
        The spot WebSocket endpoint (the same ``/ws/v4/`` as the market streams).
    clock_ms:
        Venue time for the requests' ``time`` (a `ServerClock.now_ms`); wall clock by default.
    symbols:
        Venue spelling -> `Symbol` for the symbols in use; others are split on the underscore.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, credentials: Credentials, *, url: str = c.WS_URL,
                 clock_ms: Callable[[], int] | None = None,
                 symbols: MutableMapping[str, Symbol] | None = None,
                 caller_id: Callable[[str], str] | None = None, **ws_options: Any) -> None:
        self._handlers = handlers
        self._caller_id = caller_id  # wire text -> the caller's client id (GatePrivate.caller_id)
        self._symbols: MutableMapping[str, Symbol] = symbols if symbols is not None else {}
        self.dialect = GateUserDialect(credentials.api_key.reveal(), credentials.api_secret.reveal(),
                                       clock_ms or _wall_ms)
        options = {k: v for k, v in ws_options.items() if k not in OWN_OPTIONS}
        self.ws = WsClient(f"{c.VENUE}-user", url, dialect=self.dialect, on_frame=self._on_frame,
                           on_state=self._on_state, per_request=1, ping_interval_s=c.WS_PING_INTERVAL_S,
                           data_idle_s=math.inf, **options)
        self.decode_errors = 0
        self.ignored_pushes = 0
        self._logged_error = False

    async def start(self) -> None:
        """Connect and subscribe the three channels (a refused subscribe is retried by the reconnect path)."""
        await self.ws.subscribe(list(c.PRIVATE_CHANNELS))

    async def close(self) -> None:
        await self.ws.close()

    def symbol_of(self, venue_symbol: str) -> Symbol:
        symbol = self._symbols.get(venue_symbol)
        if symbol is None:
            symbol = self._symbols[venue_symbol] = c.SPELLING.common(venue_symbol)
        return symbol

    def _caller(self, text: str | None) -> str | None:
        """The client id the caller gave for a wire ``text`` (GatePrivate rewrites ids Gate refuses)."""
        return text if text is None or self._caller_id is None else self._caller_id(text)

    # ------------------------------------------------------------------ frames

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        try:
            env = self.dialect.envelope(frame)
            channel = env.channel
            if channel == c.USER_TRADES_CHANNEL:
                for fill in orders.decode_user_trades(env.result, self.symbol_of, recv_ns):
                    caller = self._caller(fill.client_order_id)
                    self._handlers.on_fill(fill if caller == fill.client_order_id else
                                           msgspec.structs.replace(fill, client_order_id=caller))
            elif channel == c.ORDERS_CHANNEL:
                for order in orders.decode_ws_orders(env.result, self.symbol_of):
                    caller = self._caller(order.client_order_id)
                    self._handlers.on_order(order if caller == order.client_order_id else
                                            msgspec.structs.replace(order, client_order_id=caller))
            elif channel == c.BALANCES_CHANNEL:
                for balance in orders.decode_ws_balances(env.result):
                    self._handlers.on_balance(c.VENUE, balance)
            else:
                self.ignored_pushes += 1
        except DecodeError as err:
            self._undecodable(c.VENUE, err)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        self._handlers.on_stream_state(c.VENUE, connected, [])
