"""Gate.io market-data streams (`BaseWebSocketInterface`) on `WsClient`.

Every frame is one JSON envelope ``{"time", "channel", "event", "result", "error", "id"}``. The
dialect decodes it once (the result stays raw) and keeps it for the stream's frame handler, so a
frame is parsed a single time: acks (``event`` subscribe/unsubscribe) and pongs are control frames,
``update`` frames are routed by exact channel, then by the pair inside the result: depth
(``spot.order_book_update``) and public trades (``spot.trades``) share the connections.
`subscribe_user` opens the private channels (spot.orders / spot.usertrades / spot.balances) on their
own signed connection to the same endpoint (`arb.venues.gateio.user`); it needs the credentials given
at construction.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from arb.credentials import Credentials
from arb.errors import ConfigError, DecodeError
from arb.model import Symbol
from arb.net.ws import WsClient
from arb.venues.base import BaseWebSocketInterface, StreamBacked, StreamHandlers
from arb.venues.gateio import codec
from arb.venues.gateio import constants as c
from arb.venues.gateio.user import GateUserStream

log = logging.getLogger(__name__)

class GateDialect(codec.Envelopes):
    """Gate's request/ack protocol; remembers the last decoded envelope for the stream."""

    def __init__(self, clock_s: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._clock = clock_s

    def _request(self, event: str, channels: Sequence[str], request_id: int) -> str:
        """One pair per request: depth payload ``[pair, "100ms"]``, trades ``[pair]`` (`codec.ws_request`)."""
        if len(channels) != 1:
            raise ValueError(f"gateio requests carry one pair, got {list(channels)}")
        channel, payload = codec.ws_request(channels[0])
        return json.dumps({"time": int(self._clock()), "id": request_id, "channel": channel,
                           "event": event, "payload": payload})

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return self._request("subscribe", channels, request_id)

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return self._request("unsubscribe", channels, request_id)

    def ack(self, frame: str) -> int | None:
        try:
            env = self.envelope(frame)
        except DecodeError:
            return None
        if env.event not in ("subscribe", "unsubscribe"):
            return None
        if bytes(env.error) != b"null":
            raise ValueError(bytes(env.error).decode())
        return env.id

    def ping(self) -> str:
        return json.dumps({"time": int(self._clock()), "channel": c.PING_CHANNEL})


class GateStream(StreamBacked, BaseWebSocketInterface):
    """Depth (``spot.order_book_update``, 100 levels / 100 ms) and public trades (``spot.trades``)
    for many pairs, and the private channels.

    `credentials` (and optionally `clock_ms`, the venue clock used for the signed requests' ``time``)
    are only needed for `subscribe_user`.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, *, ws_url: str = c.WS_URL,
                 credentials: Credentials | None = None, clock_ms: Callable[[], int] | None = None,
                 caller_id: Callable[[str], str] | None = None, **ws_options: float) -> None:
        self._handlers = handlers
        self._pairs: dict[str, Symbol] = {}
        self._symbols: dict[str, Symbol] = {}  # venue spelling -> Symbol, for the user stream
        self._ws_url = ws_url
        self._credentials = credentials
        self._clock_ms = clock_ms
        self._caller_id = caller_id  # GatePrivate.caller_id: pushes carry the caller's client ids
        self._ws_options: dict[str, Any] = dict(ws_options)
        self.user: GateUserStream | None = None
        self._trade_pairs: dict[str, Symbol] = {}  # pairs whose spot.trades are subscribed
        self._dialect = GateDialect()
        self.decode_errors = 0
        self._logged_error = False
        self.ws = WsClient(f"{c.VENUE}-market", ws_url, dialect=self._dialect, on_frame=self._on_frame,
                           on_state=self._on_state, ping_interval_s=c.WS_PING_INTERVAL_S, per_request=1,
                           **ws_options)  # type: ignore[arg-type]

    @staticmethod
    def _key(symbol: Symbol) -> str:
        return c.SPELLING.venue(symbol)

    async def start(self) -> None:
        """Connections open on the first subscription."""

    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        for symbol in symbols:
            self._pairs[c.SPELLING.venue(symbol)] = symbol
            self._symbols[c.SPELLING.venue(symbol)] = symbol
        # one subscribe request per pair: Gate's depth payload is [pair, interval]
        for symbol in symbols:
            await self.ws.subscribe([self._key(symbol)])

    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None:
        """Public trades (``spot.trades``, payload ``[pair]``) of `symbols`, to `StreamHandlers.on_trade`."""
        for symbol in symbols:
            self._trade_pairs[self._key(symbol)] = symbol
        for symbol in symbols:
            await self.ws.subscribe([codec.trade_key(self._key(symbol))])

    async def subscribe_user(self) -> None:
        """Open the private channels (once); their pushes go to the same handlers."""
        if self._credentials is None:
            raise ConfigError("venues.gateio credentials", "the private channels need API credentials")
        if self.user is None:
            self.user = GateUserStream(self._handlers, self._credentials, url=self._ws_url,
                                       clock_ms=self._clock_ms, symbols=self._symbols,
                                       caller_id=self._caller_id, **self._ws_options)
            await self.user.start()

    async def unsubscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        for symbol in symbols:
            self._pairs.pop(self._key(symbol), None)
            await self.ws.unsubscribe([self._key(symbol)])

    async def resubscribe_depth(self, symbol: Symbol) -> None:
        await self.ws.unsubscribe([self._key(symbol)])
        await self.ws.subscribe([self._key(symbol)])

    async def close(self) -> None:
        if self.user is not None:
            await self.user.close()
        await self.ws.close()

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        symbol: Symbol | None = None
        try:
            env = self._dialect.envelope(frame)
            if env.channel == c.TRADES_CHANNEL:  # a bad trade frame invalidates no book: symbol stays None
                trade = codec.decode_trade_routed(env.result, self._trade_pairs, recv_ns)
                if trade is not None:
                    self._handlers.on_trade(trade)
                return
            if env.channel != c.DEPTH_CHANNEL:
                return
            update = codec.decode_depth_routed(env.result, self._pairs, recv_ns)
            if update is not None:
                self._handlers.on_depth(update)
        except DecodeError as err:
            pair = codec.named_pair(frame) if symbol is None else None
            symbol = self._pairs.get(pair) if pair is not None else symbol
            self.decode_errors += 1
            if not self._logged_error:
                log.warning("%s: undecodable frame (%s); sample: %s", c.VENUE, err, err.sample)
                self._logged_error = True
            self._handlers.on_decode_error(err, symbol)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        symbols = [self._pairs[pair] for pair in channels if pair in self._pairs]
        self._handlers.on_stream_state(c.VENUE, connected, symbols)
