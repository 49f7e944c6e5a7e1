"""Binance market-data streams (`BaseWebSocketInterface`) on `WsClient`: combined streams, routed.

Frames arrive as ``{"stream": "nknusdt@depth@100ms", "data": {...}}``; the stream name is looked up
exactly in a routing table (never matched by substring): depth streams (``<s>@depth@100ms``) and
trade streams (``<s>@trade``, one print each) have one table each, and the payload goes to its
decoder, then to the engine's `StreamHandlers`. Both kinds share the connections (1024 streams
each). A frame that does not decode is counted, logged once with a
truncated sample, reported (the book is invalidated) and skipped: the stream keeps running.
`subscribe_user` opens the account's user data stream on the WebSocket API (`arb.venues.binance.user`);
it needs the credentials given at construction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from arb.credentials import Credentials
from arb.errors import ConfigError, DecodeError
from arb.model import Symbol
from arb.net.ratelimit import TokenBucket
from arb.net.ws import WsClient
from arb.venues.base import BaseWebSocketInterface, StreamBacked, StreamHandlers
from arb.venues.binance import codec
from arb.venues.binance import constants as c
from arb.venues.binance.user import BinanceUserStream

log = logging.getLogger(__name__)


class BinanceDialect:
    """SUBSCRIBE / UNSUBSCRIBE by id, acks ``{"result": null, "id": N}``; protocol pings only."""

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"method": "SUBSCRIBE", "params": list(channels), "id": request_id})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"method": "UNSUBSCRIBE", "params": list(channels), "id": request_id})

    def ack(self, frame: str) -> int | None:
        try:
            msg = codec.decode_control(frame)
        except DecodeError:
            return None  # not a reply to anything we sent
        if bytes(msg.error) not in (b"", b"null"):
            raise ValueError(bytes(msg.error).decode("utf-8", "replace"))
        if not bytes(msg.result) or msg.id is None:
            return None
        try:
            return int(msg.id)
        except ValueError:
            return None

    def is_control(self, frame: bytes | str) -> bool:
        # data frames of the combined endpoint always start with their stream name; a reply is a
        # JSON object; anything else is data that does not decode, for the stream to count
        if isinstance(frame, str) and frame.startswith('{"stream"'):
            return False
        try:
            codec.decode_control(frame)
        except DecodeError:
            return False
        return True

    def ping(self) -> None:
        return None


class BinanceStream(StreamBacked, BaseWebSocketInterface):
    """Depth and trade streams for many symbols over combined-stream connections (1024 streams
    each), and the user data stream.

    `credentials` (and optionally `ws_api_url`, default derived from `ws_url`, and `clock_ms`, the
    venue clock used to timestamp the signed subscribe) are only needed for `subscribe_user`.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, *, ws_url: str = c.WS_URL,
                 max_streams: int = c.MAX_STREAMS_PER_CONNECTION, credentials: Credentials | None = None,
                 ws_api_url: str | None = None, clock_ms: Callable[[], int] | None = None,
                 **ws_options: float) -> None:
        self._handlers = handlers
        self._routes: dict[str, Symbol] = {}
        self._trade_routes: dict[str, Symbol] = {}  # "<s>@trade" -> Symbol
        self._symbols: dict[str, Symbol] = {}  # venue spelling -> Symbol, for the user stream
        self._credentials = credentials
        self._ws_api_url = ws_api_url or c.ws_api_url(ws_url)
        self._clock_ms = clock_ms
        self._ws_options: dict[str, Any] = dict(ws_options)
        self.user: BinanceUserStream | None = None
        self.decode_errors = 0
        self._logged_error = False
        self.connect_budget = TokenBucket(*c.WS_CONNECT_BUDGET)  # per IP: market and user sockets
        self.ws = WsClient(f"{c.VENUE}-market", ws_url.rstrip("/") + "/stream", dialect=BinanceDialect(),
                           on_frame=self._on_frame, on_state=self._on_state, max_subscriptions=max_streams,
                           lifetime_s=c.CONNECTION_LIFETIME_S - 1800, send_limit=c.WS_SEND_LIMIT,
                           connect_budget=self.connect_budget, **ws_options)  # type: ignore[arg-type]

    async def start(self) -> None:
        """Connections open on the first subscription."""

    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        names = []
        for symbol in symbols:
            name = c.DEPTH_STREAM.format(symbol=c.SPELLING.venue(symbol, c.STREAM_SYMBOL_STYLE))
            self._routes[name] = symbol
            self._symbols[c.SPELLING.venue(symbol)] = symbol
            names.append(name)
        await self.ws.subscribe(names)

    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None:
        """Public trades (``<s>@trade``) of `symbols`, to `StreamHandlers.on_trade`."""
        names = []
        for symbol in symbols:
            name = c.TRADE_STREAM.format(symbol=c.SPELLING.venue(symbol, c.STREAM_SYMBOL_STYLE))
            self._trade_routes[name] = symbol
            names.append(name)
        await self.ws.subscribe(names)

    async def subscribe_user(self) -> None:
        """Open the user data stream (once); its events go to the same handlers."""
        if self._credentials is None:
            raise ConfigError("venues.binance credentials", "the user data stream needs API credentials")
        if self.user is None:
            self.user = BinanceUserStream(self._handlers, self._credentials, url=self._ws_api_url,
                                          clock_ms=self._clock_ms, symbols=self._symbols,
                                          connect_budget=self.connect_budget, **self._ws_options)
            await self.user.start()

    async def unsubscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        names = [c.DEPTH_STREAM.format(symbol=c.SPELLING.venue(s, c.STREAM_SYMBOL_STYLE)) for s in symbols]
        for name in names:
            self._routes.pop(name, None)
        await self.ws.unsubscribe(names)

    async def resubscribe_depth(self, symbol: Symbol) -> None:
        name = c.DEPTH_STREAM.format(symbol=c.SPELLING.venue(symbol, c.STREAM_SYMBOL_STYLE))
        await self.ws.unsubscribe([name])
        await self.ws.subscribe([name])

    async def close(self) -> None:
        if self.user is not None:
            await self.user.close()
        await self.ws.close()

    # ------------------------------------------------------------------ frames

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        symbol: Symbol | None = None
        try:
            envelope = codec.decode_stream(frame)
            symbol = self._routes.get(envelope.stream)
            if symbol is None:  # a trade stream (a bad one invalidates no book), or one no longer routed
                traded = self._trade_routes.get(envelope.stream)
                if traded is not None:
                    self._handlers.on_trade(codec.decode_trade_event(envelope.data, traded, recv_ns))
                return
            self._handlers.on_depth(codec.decode_depth(envelope.data, symbol, recv_ns))
        except DecodeError as err:
            if symbol is None:  # an envelope that did not decode may still name its stream
                name = codec.stream_name(frame)
                symbol = self._routes.get(name) if name is not None else None
            self.decode_errors += 1
            if not self._logged_error:
                log.warning("%s: undecodable frame (%s); sample: %s", c.VENUE, err, err.sample)
                self._logged_error = True
            self._handlers.on_decode_error(err, symbol)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        symbols = [self._routes[ch] for ch in channels if ch in self._routes]
        self._handlers.on_stream_state(c.VENUE, connected, symbols)
