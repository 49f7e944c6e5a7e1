"""OKX market-data streams (`BaseWebSocketInterface`) on `WsClient`: ``books`` and ``trades``.

Requests carry many args (``{"id": "7", "op": "subscribe", "args": [{"channel": "books", "instId":
"BTC-USDT"}, ...]}``, at most 480 ops per hour per connection) and are acknowledged per arg; a request
counts as acknowledged once every arg is. The keep-alive is the literal text ``ping`` (answered by
``pong``); a 64008 notice (service upgrade) moves the connection at once.

``books`` needs no REST snapshot: the first push is one (``prevSeqId`` -1) and replaces the book;
updates chain by ``prevSeqId`` == the previous ``seqId`` (`BookState`, `arb.venues.okx.books`). Pushes
with checksum 0 (OKX's value since 2026-06-23) are read straight into double buffers and no price or
size text is kept; only a book whose snapshot carries a non-zero checksum keeps the exact strings the
checksum is verified over (EXACT mode), until a push with checksum 0 comes. What goes to the engine's
`BookStore`: a snapshot as a `DepthUpdate` flagged ``is_snapshot`` with ids (seqId, seqId); an update as
(prevSeqId + 1, seqId), so the store's contiguity check is OKX's chain check and a broken chain is a
gap there too; a heartbeat (nothing changed) not at all; a sequence reset (seqId < prevSeqId) as the
whole book (from the state's copy, numbers or strings), flagged ``is_snapshot``, so numbering restarts
without a resync. A non-zero checksum that does not match invalidates the book as a decode error. A
broken chain or a checksum mismatch also re-subscribes the instrument, so a fresh snapshot repairs the
book (the store's REST resync, on the same ``seqId`` sequence, may get there first); so does a non-zero
checksum on an update of a book kept as numbers (it cannot be verified: the update is handed on, and the
fresh snapshot starts EXACT mode).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, Final

from arb.credentials import Credentials
from arb.errors import ConfigError, DecodeError
from arb.model import Symbol
from arb.net.ratelimit import TokenBucket
from arb.net.ws import WsClient
from arb.venues.base import (
    BaseWebSocketInterface,
    DepthUpdate,
    StreamBacked,
    StreamHandlers,
    depth_update,
)
from arb.venues.okx import codec
from arb.venues.okx import constants as c
from arb.venues.okx.books import (
    BookMode,
    BookState,
    Buffers,
    Item,
    Verdict,
    checksum_of,
    feed_push,
    text_levels,
)

__all__ = ["BookMode", "BookState", "OkxDialect", "OkxStream", "Verdict", "checksum_of", "private_url"]

log = logging.getLogger(__name__)

MS: Final = 1_000_000
PENDING_MAX: Final = 256  # unacknowledged requests remembered per dialect (older ones were given up)
_INST: Final = re.compile(r'"instId"\s*:\s*"([0-9A-Za-z-]{1,40})"')
_BOOKS: Final = re.compile(r'"channel"\s*:\s*"books"')


def channel_key(channel: str, qualifier: str = "") -> str:
    """A WsClient channel: ``books:BTC-USDT``, ``trades:BTC-USDT``, ``orders:SPOT``, ``account:``."""
    return f"{channel}:{qualifier}"


def channel_arg(key: str) -> dict[str, str]:
    """A channel key as a subscribe arg: ``books:BTC-USDT`` -> ``{"channel": "books", "instId": ...}``."""
    channel, _, qualifier = key.partition(":")
    if channel == c.ORDERS_CHANNEL:
        return {"channel": channel, "instType": qualifier}
    return {"channel": channel, "instId": qualifier} if qualifier else {"channel": channel}


def _request_id(value: str | int | None) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except ValueError:
        return None


class OkxDialect(codec.Envelopes):
    """Subscribe / unsubscribe with many args, acks per arg, text ``ping``; each frame decoded once.

    `on_notice` is told of a 64008 (the connection will be closed for an upgrade).
    """

    def __init__(self, on_notice: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self._pending: dict[int, set[str]] = {}  # request id -> keys whose ack is still due
        self._on_notice = on_notice
        self.notices = 0

    def _request(self, op: str, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"id": str(request_id), "op": op, "args": [channel_arg(k) for k in channels]})

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        self._pending[request_id] = set(channels)
        while len(self._pending) > PENDING_MAX:
            del self._pending[next(iter(self._pending))]
        return self._request("subscribe", channels, request_id)

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return self._request("unsubscribe", channels, request_id)

    def _acked(self, msg: codec.WsMsg) -> int | None:
        """The request a per-arg subscribe ack completes (by id, else by the arg it echoes)."""
        arg = msg.arg or codec.ArgMsg()
        key = channel_key(arg.channel, arg.instId or arg.instType)
        rid = _request_id(msg.id)
        if rid not in self._pending:
            rid = next((r for r, keys in self._pending.items() if key in keys), None)
            if rid is None:
                return None
        keys = self._pending[rid]
        if key in keys:
            keys.discard(key)
        else:  # an echo spelled differently: take one of that channel
            keys.discard(next((k for k in keys if k.partition(":")[0] == arg.channel), key))
        if keys:
            return None
        del self._pending[rid]
        return rid

    def ack(self, frame: str) -> int | None:
        if frame == c.PONG:
            return None
        msg = self.envelope(frame)
        if msg.event == "subscribe":
            return self._acked(msg)
        if msg.event == "error":
            rid = _request_id(msg.id)
            if rid is None or rid in self._pending:  # ours (or unattributed): the attempt fails
                self._pending.pop(rid, None)  # type: ignore[arg-type]
                raise ValueError(f"{msg.code} {msg.msg}".strip())
            return None
        if msg.event == "notice":
            self.notices += 1
            log.warning("%s: notice %s %s", c.VENUE, msg.code, msg.msg)
            if codec.ws_code(msg) == c.NOTICE_UPGRADE and self._on_notice is not None:
                self._on_notice(msg.msg)
        return None

    def ping(self) -> str:
        return c.PING


def private_url(ws_url: str) -> str:
    """The private endpoint beside a public one (``.../ws/v5/public`` -> ``.../ws/v5/private``)."""
    if ws_url.rstrip("/").endswith(c.PUBLIC_PATH):
        return ws_url.rstrip("/")[: -len(c.PUBLIC_PATH)] + c.PRIVATE_PATH
    return ws_url


class OkxStream(StreamBacked, BaseWebSocketInterface):
    """``books`` (400 levels, 100 ms) and ``trades`` for many instruments, and the private channels.

    `credentials` (with `ws_private_url`, `clock_ms` for the login timestamp and `caller_id` for the
    pushes' client ids) are only needed for `subscribe_user`.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, *, ws_url: str = c.WS_URL, ws_private_url: str | None = None,
                 credentials: Credentials | None = None, clock_ms: Callable[[], int] | None = None,
                 caller_id: Callable[[str], str] | None = None, **ws_options: Any) -> None:
        self._handlers = handlers
        self._routes: dict[str, Symbol] = {}  # instId -> Symbol (books)
        self._trade_routes: dict[str, Symbol] = {}  # instId -> Symbol (trades)
        self._symbols: dict[str, Symbol] = {}  # instId -> Symbol, for the user stream
        self._books: dict[str, BookState] = {}
        self._resubscribing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ws_private_url = ws_private_url or private_url(ws_url)
        self._credentials = credentials
        self._clock_ms = clock_ms
        self._caller_id = caller_id
        self._ws_options: dict[str, Any] = dict(ws_options)
        self.user: Any = None  # the OkxUserStream once subscribed (user.py imports this module)
        self.decode_errors = self.gaps = self.resets = self.heartbeats = self.checksum_failures = 0
        self.unverified = 0  # checksummed pushes a FAST book could not verify (each re-subscribes)
        self._logged_error = False
        self.connect_budget = TokenBucket(*c.WS_CONNECT_BUDGET)  # per IP: market and user sockets
        self._dialect = OkxDialect(on_notice=self._on_notice)
        options = {"ping_interval_s": c.WS_PING_INTERVAL_S, "data_idle_s": c.WS_DATA_IDLE_S,
                   "max_subscriptions": c.WS_CHANNELS_PER_CONNECTION, "per_request": c.WS_ARGS_PER_REQUEST,
                   "connect_budget": self.connect_budget, **ws_options}
        self.ws = WsClient(f"{c.VENUE}-market", ws_url, dialect=self._dialect, on_frame=self._on_frame,
                           on_state=self._on_state, **options)

    async def start(self) -> None:
        """Connections open on the first subscription."""

    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        keys = []
        for symbol in symbols:
            inst = codec.inst_id(symbol)
            self._routes[inst] = self._symbols[inst] = symbol
            keys.append(channel_key(c.BOOKS_CHANNEL, inst))
        await self.ws.subscribe(keys)

    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None:
        """Public trades (``trades``) of `symbols`, to `StreamHandlers.on_trade`."""
        keys = []
        for symbol in symbols:
            inst = codec.inst_id(symbol)
            self._trade_routes[inst] = self._symbols[inst] = symbol
            keys.append(channel_key(c.TRADES_CHANNEL, inst))
        await self.ws.subscribe(keys)

    async def subscribe_user(self) -> None:
        """Log in on the private endpoint and subscribe ``orders`` and ``account`` (once)."""
        from arb.venues.okx.user import OkxUserStream  # user.py builds on this module's dialect

        if self._credentials is None:
            raise ConfigError("venues.okx credentials", "the private channels need API credentials")
        if self.user is None:
            self.user = OkxUserStream(self._handlers, self._credentials, url=self._ws_private_url,
                                      clock_ms=self._clock_ms, symbols=self._symbols,
                                      caller_id=self._caller_id, connect_budget=self.connect_budget,
                                      **self._ws_options)
            await self.user.start()

    async def unsubscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        keys = []
        for symbol in symbols:
            inst = codec.inst_id(symbol)
            self._routes.pop(inst, None)
            self._books.pop(inst, None)
            keys.append(channel_key(c.BOOKS_CHANNEL, inst))
        await self.ws.unsubscribe(keys)

    async def resubscribe_depth(self, symbol: Symbol) -> None:
        """Unsubscribe and subscribe again: OKX then sends a fresh snapshot."""
        inst = codec.inst_id(symbol)
        key = channel_key(c.BOOKS_CHANNEL, inst)
        self._books.pop(inst, None)
        await self.ws.unsubscribe([key])
        await self.ws.subscribe([key])

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
            msg = self._dialect.envelope(frame)
            arg = msg.arg
            if arg is None:
                return
            if arg.channel == c.BOOKS_CHANNEL:
                symbol = self._routes.get(arg.instId)
                if symbol is not None:
                    self._on_books(arg.instId, symbol, msg, recv_ns)
            elif arg.channel == c.TRADES_CHANNEL:  # a bad trade frame invalidates no book: symbol stays None
                traded = self._trade_routes.get(arg.instId)
                if traded is not None:
                    for trade in codec.decode_trade_push(msg.data, traded, recv_ns):
                        self._handlers.on_trade(trade)
        except DecodeError as err:
            if symbol is None:  # an envelope that did not decode may still name its book
                head = frame[:4096]
                text = head if isinstance(head, str) else bytes(head).decode("utf-8", "replace")
                match = _INST.search(text)
                symbol = self._routes.get(match.group(1)) if match and _BOOKS.search(text) else None
            self._report(err, symbol)

    def _report(self, err: DecodeError, symbol: Symbol | None) -> None:
        self.decode_errors += 1
        if not self._logged_error:
            log.warning("%s: undecodable frame (%s); sample: %s", c.VENUE, err, err.sample)
            self._logged_error = True
        if symbol is not None:
            self._resync(symbol)
        self._handlers.on_decode_error(err, symbol)

    def _on_books(self, inst: str, symbol: Symbol, msg: codec.WsMsg, recv_ns: int) -> None:
        state = self._books.get(inst)
        if state is None:
            state = self._books[inst] = BookState()
        for item, verdict, bids, asks in feed_push(state, msg.action, msg.data):
            self._on_verdict(state, symbol, msg, item, verdict, bids, asks, recv_ns)

    def _on_verdict(self, state: BookState, symbol: Symbol, msg: codec.WsMsg, item: Item, verdict: Verdict,
                    bids: Buffers, asks: Buffers, recv_ns: int) -> None:
        ts = item.ts * MS
        if verdict is Verdict.SNAPSHOT:
            self._handlers.on_depth(DepthUpdate(c.VENUE, symbol, state.last, state.last, *bids, *asks, ts,
                                                recv_ns, True))
        elif verdict is Verdict.HEARTBEAT:
            self.heartbeats += 1
        elif verdict is Verdict.RESET:
            self.resets += 1
            whole_bids, whole_asks = state.book()
            self._handlers.on_depth(depth_update(c.VENUE, symbol, state.last, state.last, whole_bids,
                                                 whole_asks, ts, recv_ns, True))
        elif verdict is Verdict.CHECKSUM:
            self.checksum_failures += 1
            self._report(DecodeError(c.VENUE, "books checksum", f"checksum {item.checksum} does not "
                                     f"match the book at seqId {state.last}", msg.data), symbol)
        else:  # APPLIED, or a GAP / UNSYNCED update the store's chain check will judge
            if verdict is Verdict.GAP:
                self.gaps += 1
                self._resync(symbol)
            self._handlers.on_depth(DepthUpdate(c.VENUE, symbol, state.prev + 1, state.last, *bids, *asks, ts,
                                                recv_ns))
        if state.unverified(item, verdict):  # a checksum this FAST book cannot check: start EXACT mode
            self.unverified += 1
            self._resubscribe(symbol)

    def _resync(self, symbol: Symbol) -> None:
        """Drop `symbol`'s book until a fresh snapshot, and re-subscribe for one."""
        state = self._books.get(codec.inst_id(symbol))
        if state is not None:
            state.synced = False
        self._resubscribe(symbol)

    def _resubscribe(self, symbol: Symbol) -> None:
        """Re-subscribe `symbol`'s book in the background (once at a time) for a fresh snapshot."""
        inst = codec.inst_id(symbol)
        if inst in self._resubscribing or self.ws.offline:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # decoded outside a loop (tools): the store's REST resync repairs the book
            return
        self._resubscribing.add(inst)
        task = loop.create_task(self.resubscribe_depth(symbol), name=f"okx resubscribe {inst}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._resubscribing.discard(inst))

    def _on_notice(self, message: str) -> None:
        """64008: the server closes this connection soon; reconnect now (books resync on the way)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = loop.create_task(self.ws.reconnect(f"notice {c.NOTICE_UPGRADE}"), name="okx upgrade notice")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        symbols = []
        for key in channels:
            channel, _, inst = key.partition(":")
            if channel == c.BOOKS_CHANNEL and inst in self._routes:
                symbols.append(self._routes[inst])
                if not connected:  # the next socket starts with a snapshot (it may already be here)
                    self._books.pop(inst, None)
        self._handlers.on_stream_state(c.VENUE, connected, symbols)


_levels = text_levels  # the fuzz targets' name for the string path's level check
