"""Streams of any ccxt exchange (`BaseWebSocketInterface`): books and the account, through ccxt.pro.

Books: one ``watch_order_book`` loop per symbol; every book ccxt resolves is handed on as a
`DepthUpdate` snapshot of its top `depth` levels (``is_snapshot``; the venue's spec sets
``BookRule(stream_snapshots=True)``), so it takes the same `BookStore` -> `L2Book` path as the native
venues. A book is handed on the moment ccxt resolves it, from inside ccxt's handling of the frame
(`feed.direct`: a bridged book lands in the same event-loop pass as a native book of the same
instant, so the executor's re-check before sending sees both); the watch loop hands on what that
missed, keeps the subscription and judges it. A book is down (not tradable) from its subscription
until its first change: ccxt resolves its own REST snapshot before any stream update, and its
snapshot reads are paced (seconds for a few symbols), so neither that snapshot nor the book store's
would stay current. ccxt's own sequencing has known failures on some exchanges, so each update is
checked here first: a crossed book, an update id going backwards, or no update for `stale_s`
seconds drops the book (its symbol reported down, which invalidates it), counts why, and
resubscribes that symbol (``un_watch_order_book`` where ccxt has it, else every socket of the client
is reopened). Where ccxt.pro has no ``watchOrderBook`` for the exchange the book is polled over REST
every `poll_s`.

Account: ``watch_orders`` / ``watch_my_trades`` / ``watch_balance`` loops where the exchange has them
(its pushes turned into `Order` / `Fill` / `AssetBalance` with the caller's client ids); without
``watchOrders`` the orders the signed connector placed and has not seen final are polled every
`user_poll_s` and reported when they change. The user stream is reported up once ccxt's sockets
are open and subscribed (plus `USER_SETTLE_S` for the exchange to take the subscription).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from functools import partial
from typing import Any, Final

import msgspec

from arb.config import MARKET_DATA_PRESET, RequestConfig
from arb.model import AssetBalance, Order, Symbol
from arb.net.ws import WsStats
from arb.venues.base import BaseWebSocketInterface, StreamHandlers, depth_update
from arb.venues.ccxt import convert, feed
from arb.venues.ccxt import exchange as ex
from arb.venues.ccxt.exchange import scrub
from arb.venues.ccxt.private import CcxtPrivate
from arb.venues.ccxt.public import CcxtConnector

log = logging.getLogger(__name__)

MS: Final = 1_000_000
BOOK_DEPTH: Final = 20  # levels per side handed to the book store from each ccxt book
BOOK_STALE_S: Final = 15.0  # a watched book silent this long is resubscribed
BOOK_POLL_S: Final = 1.0  # REST book polling cadence where ccxt.pro cannot watch books
USER_POLL_S: Final = 1.0  # order polling cadence where ccxt.pro cannot watch orders
USER_SETTLE_S: Final = 0.5  # after ccxt's sockets are subscribed, before the user stream is "up"
UNWATCH_SETTLE_S: Final = 0.25  # after un_watch_order_book, before the book is watched again
RETRY_S: Final = 0.25  # first pause after a failed watch (doubles up to RETRY_MAX_S)
RETRY_MAX_S: Final = 5.0


class BookFault(enum.IntEnum):
    """Why a book ccxt resolved is not handed on (it is dropped and its symbol resubscribed)."""

    UNREADABLE = 1
    CROSSED = 2
    REGRESSED = 3  # its update id went back


class BookFeed:
    """One watched book: what was last handed on, and whether it was dropped since it was up."""

    __slots__ = ("dropped", "last", "last_id", "pair", "primed", "resyncing", "symbol")

    def __init__(self, symbol: Symbol, pair: str) -> None:
        self.symbol = symbol
        self.pair = pair
        # dropped (socket failed, or resubscribed) since it was last up, or before its first book
        # (ccxt's MEXC class buffers 25 diffs before its first snapshot, so a drop can come first):
        # the book coming up after a drop is a reconnect either way
        self.dropped = False
        self.resyncing = False  # resubscribed: only its watch hands on (ccxt's old book may linger)
        self.primed = False  # a first book was seen (and held back) since it was last down
        self.last_id = 0
        self.last: tuple[object, ...] = ()  # (nonce, timestamp, bids, asks) last handed on


class BookCounters:
    """Why ccxt books were dropped (each drop resubscribes its symbol)."""

    __slots__ = ("crossed", "errors", "late", "regressions", "resubscribes", "stale", "updates")

    def __init__(self) -> None:
        self.updates = self.crossed = self.regressions = self.stale = self.errors = self.resubscribes = 0
        self.late = 0  # books handed on by their watch waking, not when ccxt resolved them


class CcxtSockets:
    """The connection view a caller may drive (``ws.connections``, ``ws.reconnect``) as on a WsClient."""

    def __init__(self, stream: CcxtStream) -> None:
        self._stream = stream

    @property
    def connections(self) -> list[WsStats]:
        return [self._stream.stats]

    async def reconnect(self, reason: str = "requested") -> None:
        """Close every socket of the market-data client: each book loop reports its symbol down,
        and recovers on a new connection."""
        log.info("%s: reconnecting ccxt sockets (%s)", self._stream.venue, reason)
        for symbol in list(self._stream.subscribed):  # every book on them is down until its next snapshot
            self._stream.down(symbol, reason)
        await close_sockets(self._stream.client, f"arb: {reason}")


async def close_sockets(client: Any, reason: str = "closed by arb") -> None:
    """Drop every WebSocket a ccxt client holds as a failed connection would (its REST session
    stays): pending watches fail with ccxt's NetworkError and the next watch opens a new socket."""
    network_error = importlib.import_module("ccxt.base.errors").NetworkError
    for socket in list(getattr(client, "clients", {}).values()):
        with contextlib.suppress(Exception):
            socket.on_error(network_error(reason))
    await asyncio.sleep(0)  # let the sockets' close tasks start


def _dialled(socket: Any) -> bool:
    """Whether a ccxt WebSocket client was ever asked to connect (is connecting, open or done)."""
    return bool(socket.connecting or socket.connection is not None or socket.connected.done())


def _cancelled_here() -> bool:
    """True when this task itself is being cancelled (not a ccxt future it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class CcxtStream(BaseWebSocketInterface):
    """Books (and, with `private`, the account) of one ccxt exchange, pushed to `handlers`.

    `client` is a credential-free ccxt client for market data; the user stream runs on the signed
    connector's client (`private.client`).
    """

    def __init__(self, handlers: StreamHandlers, *, venue: str, client: Any,
                 private: CcxtPrivate | None = None, depth: int = BOOK_DEPTH, stale_s: float = BOOK_STALE_S,
                 poll_s: float = BOOK_POLL_S, user_poll_s: float = USER_POLL_S,
                 kind: RequestConfig = MARKET_DATA_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.venue = venue
        self.client = client
        self.handlers = handlers
        self.private = private
        self.depth = depth
        self.stale_s = stale_s
        self.poll_s = poll_s
        self.user_poll_s = user_poll_s
        self._clock = clock_ns
        self.market_data = CcxtConnector(venue, client, kind, clock_ns)
        self.stats = WsStats()
        self.books = BookCounters()
        self.ws = CcxtSockets(self)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._feeds: dict[str, BookFeed] = {}  # ccxt's symbol -> its book
        self._readers: set[asyncio.Task[None]] = set()  # `feed.direct`'s socket readers
        self.direct = False  # books are handed on from ccxt's handling of each frame
        self.up: set[Symbol] = set()  # symbols whose books are streaming (reported up)
        self.subscribed: set[Symbol] = set()
        self.user_up = False
        self.user_errors = 0

    @property
    def connections(self) -> list[WsStats]:
        return [self.stats]

    @property
    def watches_books(self) -> bool:
        return bool(self.client.has.get("watchOrderBook"))

    def _spawn(self, name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            self._tasks[name] = asyncio.get_running_loop().create_task(work(), name=f"{self.venue} {name}")

    async def start(self) -> None:
        await self.market_data.markets()

    # ------------------------------------------------------------------ books

    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        if self.watches_books and not self.direct:
            self.direct = feed.direct(self.client, self._pushed, self._readers)
        for symbol in symbols:
            market = await self.market_data.market(symbol)
            self.subscribed.add(symbol)
            book = self._feeds.setdefault(market["symbol"], BookFeed(symbol, market["symbol"]))
            self._spawn(f"book {symbol}", partial(self._book_loop, book))

    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None:
        """Public trades are not used by the engine; ccxt venues do not stream them."""
        del symbols

    async def resubscribe_depth(self, symbol: Symbol) -> None:
        await self._resubscribe(convert.pair(symbol))

    async def _resubscribe(self, pair: str) -> None:
        self.books.resubscribes += 1
        book = self._feeds.get(pair)
        if book is not None:
            book.resyncing = True
        if self.client.has.get("unWatchOrderBook"):
            try:
                await self.client.un_watch_order_book(pair)
            except Exception as exc:
                log.info("%s %s: un_watch_order_book failed (%s); reopening sockets", self.venue, pair, exc)
            else:
                # some classes (MEXC's) send the unsubscription from a task they spawn: a watch made
                # at once would subscribe first, the exchange would take the unsubscription last
                await asyncio.sleep(UNWATCH_SETTLE_S)
                return
        await close_sockets(self.client)

    async def _next_book(self, pair: str) -> dict[str, Any]:
        if self.watches_books:
            async with asyncio.timeout(self.stale_s):  # (wait_for may lose a cancel: Python 3.11)
                book: dict[str, Any] = await self.client.watch_order_book(pair)
            return book
        await asyncio.sleep(self.poll_s)
        return dict(await self.client.fetch_order_book(pair, self.depth))

    def down(self, symbol: Symbol, reason: str) -> None:
        """Report `symbol`'s book down (the book store invalidates it until the next snapshot); its
        next book is a reconnect."""
        log.info("%s %s: ccxt book dropped (%s)", self.venue, symbol, reason)
        for book in self._feeds.values():
            if book.symbol == symbol:
                book.dropped, book.primed = True, False
        self.up.discard(symbol)  # reported even when it never came up: a REST-synced book goes too
        self.handlers.on_stream_state(self.venue, False, [symbol])

    def _pushed(self, value: Any) -> None:
        """ccxt resolved `value` on a market-data socket, inside its handling of the frame: a watched
        book goes to the handlers now. A book that fails a check is left to its watch loop (which
        gets the same book next, drops it and resubscribes)."""
        if isinstance(value, dict) and "bids" in value and "asks" in value:
            book = self._feeds.get(value.get("symbol"))  # type: ignore[arg-type]
            if book is not None and book.symbol in self.subscribed and not book.resyncing:
                self._hand_on(book, value)

    def _hand_on(self, book: BookFeed, raw: dict[str, Any]) -> tuple[BookFault, str] | None:
        """Check one book ccxt resolved and hand it on (unless it was handed on already); the fault
        when it fails a check (nothing is handed on or reported then)."""
        symbol = book.symbol
        try:
            bids = convert.levels(raw.get("bids") or [], self.depth)
            asks = convert.levels(raw.get("asks") or [], self.depth)
        except (TypeError, ValueError, IndexError) as exc:
            return BookFault.UNREADABLE, f"unreadable book: {exc}"
        if bids and asks and bids[0][0] >= asks[0][0]:
            return BookFault.CROSSED, f"crossed: bid {bids[0][0]} >= ask {asks[0][0]}"
        nonce, stamp = raw.get("nonce"), raw.get("timestamp")
        seen = (nonce, stamp, bids, asks)
        if symbol in self.up and seen == book.last:
            return None  # handed on already (when ccxt resolved it; this is its watch waking)
        if isinstance(nonce, int) and symbol in self.up and nonce < book.last_id:
            return BookFault.REGRESSED, f"update id went back from {book.last_id} to {nonce}"
        if symbol not in self.up and (not book.primed or seen == book.last):
            # a book comes up on its first change: ccxt resolves its own REST snapshot before any
            # stream update (Binance's class does), and a stream that never delivers would leave
            # that snapshot frozen and tradable
            book.primed, book.last = True, seen
            return None
        now = self._clock()
        book.last = seen
        book.last_id = nonce if isinstance(nonce, int) and nonce > book.last_id else book.last_id + 1
        ts_event = int(stamp) * MS if isinstance(stamp, int | float) and stamp > 0 else now
        self.books.updates += 1
        self.stats.frames += 1
        self.stats.data_frames += 1
        self.stats.last_frame_ns = now
        self.handlers.on_depth(depth_update(self.venue, symbol, book.last_id, book.last_id, bids, asks,
                                            ts_event, now, is_snapshot=True))
        if symbol not in self.up:
            self.up.add(symbol)
            self.stats.connects += 1
            if book.dropped:
                self.stats.reconnects += 1
            book.dropped = False
            self.handlers.on_stream_state(self.venue, True, [symbol])
        return None

    async def _book_loop(self, book: BookFeed) -> None:
        pair, retry = book.pair, RETRY_S
        if book.symbol not in self.up:
            # not tradable until its stream delivers: a REST snapshot the book store takes meanwhile
            # (and its resync in flight) is dropped, since nothing would update it (ccxt's stream
            # takes up to seconds to come up: its own snapshot read is paced, 0.5 s a symbol on
            # Binance), and the stream's first book makes it SYNCED
            self.handlers.on_stream_state(self.venue, False, [book.symbol])
        while True:
            try:
                raw = await self._next_book(pair)
            except TimeoutError:
                self.books.stale += 1
                self.down(book.symbol, f"no update for {self.stale_s} s")
                await self._resubscribe(pair)
                continue
            except (Exception, asyncio.CancelledError) as exc:  # socket closed, refused, ccxt's book failed
                if isinstance(exc, asyncio.CancelledError) and _cancelled_here():
                    raise  # this loop is being stopped (else ccxt cancelled a watch on a closed socket)
                self.books.errors += 1
                self.stats.disconnects += 1
                self.stats.last_reason = convert.error(self.venue, exc).__class__.__name__
                self.down(book.symbol, f"{type(exc).__name__}: {scrub(str(exc))[:200]}")
                await asyncio.sleep(retry)
                retry = min(retry * 2, RETRY_MAX_S)
                continue
            book.resyncing = False
            updates = self.books.updates
            fault = self._hand_on(book, raw)
            if fault is None:
                self.books.late += self.books.updates - updates
                retry = RETRY_S
                continue
            kind, reason = fault
            if kind is BookFault.CROSSED:
                self.books.crossed += 1
            elif kind is BookFault.REGRESSED:
                self.books.regressions += 1
            else:
                self.books.errors += 1
            self.down(book.symbol, reason)
            await self._resubscribe(pair)

    # ------------------------------------------------------------------ the account

    async def subscribe_user(self) -> None:
        if self.private is None:
            raise TypeError(f"{self.venue}: a user stream needs the venue's signed connector (`private`)")
        client = self.private.client
        await self.private.markets()
        if client.has.get("watchOrders"):
            self._spawn("orders", lambda: self._user_loop("orders", client.watch_orders, self._on_orders))
            if client.has.get("watchMyTrades"):
                self._spawn("trades", lambda: self._user_loop("trades", client.watch_my_trades,
                                                              self._on_trades))
            if client.has.get("watchBalance"):
                self._spawn("balance", lambda: self._user_loop("balance", client.watch_balance,
                                                               self._on_balance))
            self._spawn("user state", self._user_state)
        else:
            self._spawn("order polling", self._poll_orders)

    def _set_user(self, up: bool) -> None:
        if up != self.user_up:
            self.user_up = up
            self.handlers.on_stream_state(self.venue, up, [])

    def _sockets_ready(self) -> bool:
        """Every socket the account client dialled is open, and one carries subscriptions. Sockets
        ccxt keeps without ever dialling them are left out: MEXC's client holds one on the bare spot
        URL only to make concurrent watches wait for one listen key (its account socket is the URL
        with ``?listenKey=``), and would otherwise keep the user stream down for good."""
        clients = getattr(self.private.client if self.private else None, "clients", {})
        sockets = [s for s in clients.values() if _dialled(s)]
        ready = [s for s in sockets if s.connected.done() and not s.connected.cancelled()
                 and s.connected.exception() is None]
        return bool(ready) and len(ready) == len(sockets) and any(s.subscriptions for s in ready)

    async def _user_state(self) -> None:
        """Up once every account socket is open and subscribed; down while any is not."""
        while True:
            ready = self._sockets_ready()
            if ready and not self.user_up:
                await asyncio.sleep(USER_SETTLE_S)
                ready = self._sockets_ready()
            self._set_user(ready)
            await asyncio.sleep(0.05)

    async def _user_loop(self, what: str, watch: Callable[[], Awaitable[Any]],
                         handle: Callable[[Any], None]) -> None:
        retry = RETRY_S
        while True:
            try:
                update = await watch()
            except (Exception, asyncio.CancelledError) as exc:
                if isinstance(exc, asyncio.CancelledError) and _cancelled_here():
                    raise
                self.user_errors += 1
                log.warning("%s: ccxt %s stream failed: %s", self.venue, what,
                            convert.error(self.venue, exc))
                self._set_user(False)
                await asyncio.sleep(retry)
                retry = min(retry * 2, RETRY_MAX_S)
                continue
            retry = RETRY_S
            try:
                handle(update)
            except (TypeError, ValueError, KeyError, ArithmeticError) as exc:  # one unreadable push
                self.user_errors += 1
                log.warning("%s: unreadable ccxt %s push skipped: %s", self.venue, what, exc)

    def _symbol(self, raw: dict[str, Any]) -> Symbol | None:
        market = (self.private.client.markets or {}).get(raw.get("symbol")) if self.private else None
        return convert.symbol_of(market) if market and convert.is_spot(market) else None

    def _on_orders(self, rows: list[dict[str, Any]]) -> None:
        assert self.private is not None
        for raw in rows:
            symbol = self._symbol(raw)
            if symbol is not None:
                self.handlers.on_order(self.private.to_order(symbol, raw))

    def _on_trades(self, rows: list[dict[str, Any]]) -> None:
        assert self.private is not None
        now = self._clock()
        sign = ex.ws_fee_sign(self.private.client)
        for raw in rows:
            symbol = self._symbol(raw)
            if symbol is not None:
                fill = convert.fill(self.venue, symbol, raw, self.private.caller_id(raw), now)
                self.handlers.on_fill(fill if sign > 0 else msgspec.structs.replace(fill, fee=-fill.fee))

    def _on_balance(self, raw: dict[str, Any]) -> None:
        for asset, balance in convert.balances(raw).items():
            self.handlers.on_balance(self.venue, AssetBalance(asset, balance.free, balance.locked))

    async def _poll_orders(self) -> None:
        """Orders this process placed and has not seen final, asked about every `user_poll_s`."""
        assert self.private is not None
        seen: dict[str, tuple[int, object]] = {}
        self._set_user(True)
        while True:
            await asyncio.sleep(self.user_poll_s)
            for cid, symbol in self.private.open_client_ids().items():
                try:
                    order: Order = await self.private.get_order(symbol, client_order_id=cid)
                except Exception as exc:  # counted; asked again next round
                    self.user_errors += 1
                    log.info("%s: polling order %s failed: %s", self.venue, cid, exc)
                    continue
                state = (int(order.status), order.filled_qty)
                if seen.get(cid) != state:
                    seen[cid] = state
                    self.handlers.on_order(order)

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self.private is not None:
            await close_sockets(self.private.client)
        await self.client.close()
        for reader in list(self._readers):  # closing the sockets ended them, unless one hangs
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
