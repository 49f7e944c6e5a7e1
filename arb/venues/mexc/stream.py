"""MEXC market-data streams (`BaseWebSocketInterface`) on `WsClient`: JSON control, protobuf data.

Control frames are JSON text (``{"id": 3, "code": 0, "msg": "<channels>"}`` acks, ``PONG``); data
frames are binary ``PushDataV3ApiWrapper`` messages, read in one C pass by `arb._core.pbwire` and
routed by their exact channel: aggregated depth, and aggregated deals (public trades, read field by
field from the generated classes). At most 30 subscriptions per connection, depth and deals counted
together (the WsClient opens more), ``{"method": "PING"}`` every 20 s keeps a quiet connection open.
`subscribe_user` opens the private channels on a listen key (`arb.venues.mexc.user`); it needs the
signed `RestClient` given at construction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from arb.config import TRADING_PRESET, RequestConfig
from arb.errors import ConfigError, DecodeError
from arb.model import Symbol
from arb.net.rest import RestClient
from arb.net.ws import WsClient
from arb.venues.base import BaseWebSocketInterface, StreamBacked, StreamHandlers
from arb.venues.mexc import codec
from arb.venues.mexc import constants as c
from arb.venues.mexc.user import MexcUserStream

log = logging.getLogger(__name__)


class MexcDialect:
    """SUBSCRIPTION / UNSUBSCRIPTION with an echoed id; code 0 is success."""

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"method": "SUBSCRIPTION", "params": list(channels), "id": request_id})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"method": "UNSUBSCRIPTION", "params": list(channels), "id": request_id})

    def ack(self, frame: str) -> int | None:
        try:
            msg = json.loads(frame)
        except RecursionError:  # nested past any real message: malformed, counted by the socket
            raise DecodeError(c.VENUE, "control frame", "JSON nested too deep", frame[:80]) from None
        except ValueError:
            return None  # e.g. "Invalid listen key" arrives as plain text
        if not isinstance(msg, dict) or msg.get("msg") == "PONG":
            return None
        if msg.get("code", 0) != 0:
            raise ValueError(str(msg.get("msg")))
        request_id = msg.get("id")
        if isinstance(request_id, str) and request_id.isdigit():
            return int(request_id)
        return request_id if isinstance(request_id, int) and not isinstance(request_id, bool) else None

    def is_control(self, frame: bytes | str) -> bool:
        return isinstance(frame, str)  # all market data is binary protobuf

    def ping(self) -> str:
        return '{"method": "PING"}'


class MexcStream(StreamBacked, BaseWebSocketInterface):
    """Aggregated depth (``spot@public.aggre.depth.v3.api.pb@100ms@SYM``) and deals
    (``spot@public.aggre.deals.v3.api.pb@100ms@SYM``) for many symbols, and the user data stream.

    `rest` (a signed `RestClient`, e.g. the private connector's ``.rest``; the caller closes it),
    `user_ws_url` (default `ws_url`) and `listen_key_keepalive_s` are only used by `subscribe_user`.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, *, ws_url: str = c.WS_URL, rest: RestClient | None = None,
                 user_ws_url: str | None = None, listen_key_keepalive_s: float = c.LISTEN_KEY_RENEW_S,
                 kind: RequestConfig = TRADING_PRESET, **ws_options: float) -> None:
        self._handlers = handlers
        self._routes: dict[str, Symbol] = {}
        self._trade_routes: dict[str, Symbol] = {}  # deals channel -> Symbol
        self._symbols: dict[str, Symbol] = {}  # venue spelling -> Symbol, for the user stream
        self._rest = rest
        self._user_url = user_ws_url or ws_url
        self._keepalive_s = listen_key_keepalive_s
        self._kind = kind
        self._ws_options: dict[str, Any] = dict(ws_options)
        self.user: MexcUserStream | None = None
        self.decode_errors = 0
        self._logged_error = False
        self.ws = WsClient(f"{c.VENUE}-market", ws_url, dialect=MexcDialect(), on_frame=self._on_frame,
                           on_state=self._on_state, max_subscriptions=c.MAX_SUBSCRIPTIONS_PER_CONNECTION,
                           ping_interval_s=c.PING_INTERVAL_S, lifetime_s=c.CONNECTION_LIFETIME_S - 1800,
                           send_limit=c.WS_SEND_LIMIT, **ws_options)  # type: ignore[arg-type]

    @staticmethod
    def _channel(symbol: Symbol) -> str:
        return c.DEPTH_CHANNEL.format(symbol=c.SPELLING.venue(symbol))

    async def start(self) -> None:
        """Connections open on the first subscription."""

    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        channels = []
        for symbol in symbols:
            channel = self._channel(symbol)
            self._routes[channel] = symbol
            self._symbols[c.SPELLING.venue(symbol)] = symbol
            channels.append(channel)
        await self.ws.subscribe(channels)

    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None:
        """Public trades (``spot@public.aggre.deals.v3.api.pb@100ms@SYM``) of `symbols`, to
        `StreamHandlers.on_trade`; they share the connections (and the 30 per connection) with depth."""
        channels = []
        for symbol in symbols:
            channel = c.DEALS_CHANNEL.format(symbol=c.SPELLING.venue(symbol))
            self._trade_routes[channel] = symbol
            channels.append(channel)
        await self.ws.subscribe(channels)

    async def subscribe_user(self) -> None:
        """Open the private channels (once); their events go to the same handlers."""
        if self._rest is None:
            raise ConfigError("venues.mexc credentials", "the user data stream needs a signed RestClient")
        if self.user is None:
            self.user = MexcUserStream(self._handlers, self._rest, url=self._user_url, kind=self._kind,
                                       keepalive_s=self._keepalive_s, symbols=self._symbols,
                                       **self._ws_options)
            await self.user.start()

    async def unsubscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        channels = [self._channel(s) for s in symbols]
        for channel in channels:
            self._routes.pop(channel, None)
        await self.ws.unsubscribe(channels)

    async def resubscribe_depth(self, symbol: Symbol) -> None:
        await self.ws.unsubscribe([self._channel(symbol)])
        await self.ws.subscribe([self._channel(symbol)])

    async def close(self) -> None:
        if self.user is not None:
            await self.user.close()
        await self.ws.close()

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        try:
            update = codec.decode_market_frame(frame, self._routes,  # type: ignore[arg-type]
                                               self._trade_routes, recv_ns)
        except DecodeError as err:
            self.decode_errors += 1
            if not self._logged_error:
                log.warning("%s: undecodable frame (%s); sample: %r", c.VENUE, err, err.sample[:80])
                self._logged_error = True
            self._handlers.on_decode_error(err, self._named(frame))
            return
        if isinstance(update, list):
            for trade in update:
                self._handlers.on_trade(trade)
        elif update is not None:
            self._handlers.on_depth(update)

    def _named(self, frame: bytes | str) -> Symbol | None:
        """The depth book a malformed push names by its channel, if it can be read (else none)."""
        if isinstance(frame, str):
            return None
        try:
            return self._routes.get(codec.frame_channel(frame))
        except DecodeError:
            return None

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        symbols = [self._routes[ch] for ch in channels if ch in self._routes]
        self._handlers.on_stream_state(c.VENUE, connected, symbols)
