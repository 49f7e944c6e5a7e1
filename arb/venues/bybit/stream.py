"""Bybit public spot streams (`BaseWebSocketInterface`) on `WsClient`: books and trades, routed by topic.

Pushes ``{"topic": "orderbook.200.BTCUSDT", "type": "snapshot" | "delta", "ts", "data": {"s", "b",
"a", "u", "seq"}}`` are looked up exactly in a routing table (never matched by substring) and
decoded into `DepthUpdate` (``first_id = last_id = u``): a snapshot replaces the book, a delta is
applied and must carry ``u = previous + 1`` (checked by the engine's `BookStore`). Bybit's own
recovery (fact sheet §2.9) is done here too: on a jump in ``u`` the topic is re-subscribed, which
brings a fresh snapshot; a delta that restarts at ``u = 1`` without a snapshot is reported as an
unusable frame (its book is invalidated) and re-subscribed the same way. ``publicTrade.{symbol}``
pushes carry up to 1024 prints each. Subscribe requests carry at most 10 topics; replies are
matched by ``req_id`` (or, when a reply has none, by arrival order); ``{"op": "ping"}`` goes out
every 20 s. A frame that does not decode is counted, logged once with a truncated sample, reported
(its book, when its topic can still be read, is invalidated) and skipped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Final

from arb.credentials import Credentials
from arb.errors import ConfigError, DecodeError
from arb.model import Symbol
from arb.net.ratelimit import TokenBucket
from arb.net.ws import WsClient
from arb.venues.base import BaseWebSocketInterface, DepthUpdate, StreamBacked, StreamHandlers
from arb.venues.bybit import codec
from arb.venues.bybit import constants as c
from arb.venues.bybit.user import BybitUserStream, Envelopes, answered

log = logging.getLogger(__name__)

REQUEST_OPS: Final = frozenset({"subscribe", "unsubscribe"})
PING_ID: Final = "ping"


class BybitDialect(Envelopes):
    """``{"req_id", "op": "subscribe" | "unsubscribe", "args": [topics]}``, replies by ``req_id``."""

    def __init__(self) -> None:
        super().__init__()
        self._pending: deque[int] = deque()  # subscribe ids sent, oldest first

    @staticmethod
    def request(op: str, args: Sequence[Any], request_id: int | str) -> str:
        return json.dumps({"req_id": str(request_id), "op": op, "args": list(args)})

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        self._pending.append(request_id)
        return self.request("subscribe", channels, request_id)

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return self.request("unsubscribe", channels, request_id)

    def ack(self, frame: str) -> int | None:
        """The subscribe request a reply answers; a refusal (``success: false``) raises ValueError."""
        try:
            env = self.envelope(frame)
        except DecodeError:
            return None
        if env.op != "subscribe":
            return None  # a pong, an unsubscribe reply, or anything else
        request_id = answered(self._pending, env.req_id)
        if env.success is False or (env.retCode is not None and env.retCode != c.OK_CODE):
            raise ValueError(f"subscribe refused: {env.ret_msg or env.retMsg or 'no reason given'}")
        return request_id

    def ping(self) -> str:
        return json.dumps({"req_id": PING_ID, "op": "ping"})


class BybitStream(StreamBacked, BaseWebSocketInterface):
    """Book (``orderbook.{50|200}.{symbol}``) and trade (``publicTrade.{symbol}``) topics for many
    symbols over pooled connections (500 topics each), and the private stream.

    `credentials` (and optionally `ws_private_url`, default derived from `ws_url`, and `clock_ms`,
    the venue clock the auth expiry is computed from) are only needed for `subscribe_user`.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, *, ws_url: str = c.WS_URL, depth: int = c.DEPTH,
                 credentials: Credentials | None = None, ws_private_url: str | None = None,
                 clock_ms: Callable[[], int] | None = None, **ws_options: Any) -> None:
        if depth not in c.DEPTHS:
            raise ConfigError("venues.bybit depth", f"must be one of {c.DEPTHS}", depth)
        self._handlers = handlers
        self._depth = depth
        self._books: dict[str, Symbol] = {}  # depth topic -> Symbol
        self._trades: dict[str, Symbol] = {}  # trade topic -> Symbol
        self._symbols: dict[str, Symbol] = {}  # venue spelling -> Symbol, for the user stream
        self._last_u: dict[Symbol, int] = {}  # last update id seen per book
        self._resubscribing: set[Symbol] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._credentials = credentials
        self._private_url = ws_private_url or c.ws_private_url(ws_url)
        self._clock_ms = clock_ms
        self._ws_options: dict[str, Any] = dict(ws_options)
        self.user: BybitUserStream | None = None
        self.decode_errors = 0
        self.gaps = 0
        self.restarts = 0
        self.ignored_pushes = 0
        self._logged_error = False
        self.connect_budget = TokenBucket(*c.WS_CONNECT_BUDGET)  # per domain: public and private sockets
        self._dialect = BybitDialect()
        self.ws = WsClient(f"{c.VENUE}-market", ws_url, dialect=self._dialect, on_frame=self._on_frame,
                           on_state=self._on_state, max_subscriptions=c.MAX_TOPICS_PER_CONNECTION,
                           per_request=c.PUBLIC_ARGS_PER_REQUEST, ping_interval_s=c.PING_INTERVAL_S,
                           connect_budget=self.connect_budget, **ws_options)

    def book_topic(self, symbol: Symbol) -> str:
        return c.DEPTH_TOPIC.format(depth=self._depth, symbol=c.SPELLING.venue(symbol))

    @staticmethod
    def trade_topic(symbol: Symbol) -> str:
        return c.TRADE_TOPIC.format(symbol=c.SPELLING.venue(symbol))

    async def start(self) -> None:
        """Connections open on the first subscription."""

    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        topics = []
        for symbol in symbols:
            topic = self.book_topic(symbol)
            self._books[topic] = symbol
            self._symbols[c.SPELLING.venue(symbol)] = symbol
            topics.append(topic)
        await self.ws.subscribe(topics)

    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None:
        """Public trades (``publicTrade.{symbol}``) of `symbols`, to `StreamHandlers.on_trade`."""
        topics = []
        for symbol in symbols:
            topic = self.trade_topic(symbol)
            self._trades[topic] = symbol
            topics.append(topic)
        await self.ws.subscribe(topics)

    async def subscribe_user(self) -> None:
        """Open the private stream (once); its pushes go to the same handlers."""
        if self._credentials is None:
            raise ConfigError("venues.bybit credentials", "the private stream needs API credentials")
        if self.user is None:
            self.user = BybitUserStream(self._handlers, self._credentials, url=self._private_url,
                                        clock_ms=self._clock_ms, symbols=self._symbols,
                                        connect_budget=self.connect_budget, **self._ws_options)
            await self.user.start()

    async def unsubscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        topics = [self.book_topic(symbol) for symbol in symbols]
        for symbol, topic in zip(symbols, topics, strict=True):
            self._books.pop(topic, None)
            self._last_u.pop(symbol, None)
        await self.ws.unsubscribe(topics)

    async def resubscribe_depth(self, symbol: Symbol) -> None:
        """Drop and subscribe the book topic again: Bybit answers with a fresh snapshot."""
        topic = self.book_topic(symbol)
        self._last_u.pop(symbol, None)
        await self.ws.unsubscribe([topic])
        await self.ws.subscribe([topic])

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.user is not None:
            await self.user.close()
        await self.ws.close()

    # ------------------------------------------------------------------ frames

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        symbol: Symbol | None = None
        try:
            env = self._dialect.envelope(frame)
            symbol = self._books.get(env.topic)
            if symbol is None:  # a trade topic (a bad one invalidates no book), or one not routed
                traded = self._trades.get(env.topic)
                if traded is None:
                    self.ignored_pushes += 1
                    return
                for trade in codec.decode_public_trades(env.data, traded, recv_ns):
                    self._handlers.on_trade(trade)
                return
            update = codec.decode_depth(env.data, symbol, env.type, env.ts, recv_ns)
            if self._in_sequence(symbol, update):
                self._handlers.on_depth(update)
        except DecodeError as err:
            if symbol is None:  # an envelope that did not decode may still name its topic
                topic = codec.named_topic(frame)
                symbol = self._books.get(topic) if topic is not None else None
            self._report(err, symbol)

    def _in_sequence(self, symbol: Symbol, update: DepthUpdate) -> bool:
        """Track ``u`` per book; a jump or a restart without a snapshot re-subscribes the topic.

        The update still goes on after a jump (the `BookStore` sees its own gap and invalidates the
        book); a restarted delta does not, since the store would take it for a stale duplicate.
        """
        u = update.last_id
        last = self._last_u.get(symbol)
        if update.is_snapshot or last is None:
            self._last_u[symbol] = u
            return True
        if u == c.RESTART_ID and last > c.RESTART_ID:
            self.restarts += 1
            self._last_u.pop(symbol, None)
            self._report(DecodeError(c.VENUE, "order book push", f"update id restarted at {u} without a "
                                     f"snapshot (after {last})"), symbol)
            self._resubscribe(symbol)
            return False
        if u > last + 1:
            self.gaps += 1
            log.info("%s %s: book update id jumped %d -> %d; re-subscribing", c.VENUE, symbol, last, u)
            self._resubscribe(symbol)
        self._last_u[symbol] = max(u, last)
        return True

    def _resubscribe(self, symbol: Symbol) -> None:
        if symbol in self._resubscribing:
            return
        self._resubscribing.add(symbol)
        task = asyncio.get_running_loop().create_task(self.resubscribe_depth(symbol),
                                                      name=f"{c.VENUE} resubscribe {symbol}")
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            self._resubscribing.discard(symbol)  # asked again: the next jump may ask once more

        task.add_done_callback(done)

    def _report(self, err: DecodeError, symbol: Symbol | None) -> None:
        self.decode_errors += 1
        if not self._logged_error:
            log.warning("%s: undecodable frame (%s); sample: %s", c.VENUE, err, err.sample)
            self._logged_error = True
        self._handlers.on_decode_error(err, symbol)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        symbols = [self._books[topic] for topic in channels if topic in self._books]
        if not connected:
            for symbol in symbols:
                self._last_u.pop(symbol, None)
        self._handlers.on_stream_state(c.VENUE, connected, symbols)
