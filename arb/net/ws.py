"""[1] WsClient: subscriptions over a pool of WebSocket connections that heal themselves.

- Channels are spread over connections of at most `max_subscriptions` each (MEXC allows 30): the
  client itself holds the sockets (one `_Conn` each, with its own stats) rather than a separate
  pool class, so the owner sees one object per venue endpoint.
- Each connection: connect, subscribe with acks checked within a timeout, then hand every data
  frame to `on_frame(frame, recv_ns)` directly from the receive loop (no copies, no queues).
- A watchdog per connection sends the venue's app-level keep-alive, and closes the socket when no
  frame at all arrived for `transport_idle_s` or no data frame for `data_idle_s`; the connection
  then reconnects with jittered, capped exponential backoff (reset once a connection stayed up for
  `stable_s`) and resubscribes everything. Protocol pings are answered by aiohttp (autoping).
- Before the venue's maximum connection lifetime the connection is rotated make-before-break: a
  new socket subscribes first, then the old one closes (overlapping frames are passed on as they
  are: the sync layer drops diffs it has already applied).
- Venue message and connection limits are token buckets: every request the client sends on a socket
  (subscribe, unsubscribe, app-level ping) waits for `send_limit` (a fresh bucket per socket,
  Binance: 5 messages/s, MEXC 100/s) and every connection attempt for `connect_budget` (one bucket
  the owner may share across its clients: Binance allows 300 attempts per 5 min per IP). A bucket
  sized ``capacity + rate x window <= limit`` never exceeds the venue's window.
- `on_state(connected, channels)` tells the owner when channels go down and come back;
  `subscribe` never raises for venue trouble (a refused or unacknowledged subscription drops the
  socket, and the reconnect path retries it).

The venue specifics (subscribe message, ack recognition, keep-alive, control frames) come from a
`WsDialect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Protocol

import aiohttp

from arb.net.ratelimit import TokenBucket

log = logging.getLogger(__name__)

FrameHandler = Callable[[bytes | str, int], None]
StateHandler = Callable[[bool, Sequence[str]], None]
Socket = aiohttp.ClientWebSocketResponse

MAX_SUBSCRIPTIONS: Final = 1024
ACK_TIMEOUT_S: Final = 5.0
PING_INTERVAL_S: Final = 20.0
TRANSPORT_IDLE_S: Final = 30.0
DATA_IDLE_S: Final = 60.0
LIFETIME_S: Final = 23.5 * 3600  # Binance and MEXC cut connections at 24 h
BACKOFF_BASE_S: Final = 0.5
BACKOFF_MAX_S: Final = 30.0
STABLE_S: Final = 60.0
HEARTBEAT_S: Final = 20.0
JITTER_MIN: Final = 0.5  # backoff waits are delay * uniform(JITTER_MIN, JITTER_MIN + 1)
WATCH_TICKS: Final = 4  # watchdog checks per shortest interval
WATCH_MIN_TICK_S: Final = 0.01
SUBSCRIBE_WAIT_ACKS: Final = 2  # subscribe() waits at most this many ack timeouts for a new socket
# the reader hands the loop back after this long without a pause: aiohttp returns buffered frames
# without suspending, so a socket that always has data would hold the loop (timers, NATS) meanwhile.
# Measured (perf/bench_read_slice.py, bench_cluster shards at a 3 s lease, one worker at its ceiling):
# 5 ms costs nothing measurable but the worker still lost its leases (a cluster tick of ~3 s: a NATS
# round trip is several loop turns, each up to a slice per busy socket); 2 ms kept them (tick <= 1.3 s)
# for ~5% frames per CPU-second; 1 ms (tick 0.7 s) cost ~17%
READ_SLICE_S: Final = 0.002
# a frame that came this long after the previous one was handled was waited for (the reader was
# suspended and the loop ran): the slice starts again there, so a reader that is not flooded never
# yields in the middle of a burst of a few frames
READ_WAITED_S: Final = 0.0002


class WsDialect(Protocol):
    """What differs between venues on a WebSocket."""

    def subscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        """The subscribe request (None when channels are in the URL and nothing is sent)."""
        ...

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        """The unsubscribe request (None when the venue has none)."""
        ...

    def ack(self, frame: str) -> int | None:
        """The request id this text frame acknowledges, or None (an error ack raises ValueError)."""
        ...

    def is_control(self, frame: bytes | str) -> bool:
        """True for pongs, acks and other frames that carry no market data."""
        ...

    def ping(self) -> str | None:
        """An app-level ping to send every `ping_interval_s` (None: protocol pings only)."""
        ...


class WsStats:
    """Everything observable about one connection slot (it survives reconnects).

    ``connects`` counts sockets opened (rotations included), ``reconnects`` successful
    subscriptions after the first, ``disconnects`` ended attempts (failed connects included), each
    with its reason in ``reasons``.
    """

    __slots__ = ("bytes", "connects", "data_frames", "disconnects", "frames", "last_frame_ns", "last_reason",
                 "malformed_control", "reasons", "reconnects", "rotations")

    def __init__(self) -> None:
        self.connects = 0
        self.reconnects = 0
        self.rotations = 0
        self.disconnects = 0
        self.frames = 0
        self.data_frames = 0
        self.bytes = 0
        self.last_frame_ns = 0
        self.malformed_control = 0  # control frames the dialect could not read (counted, skipped)
        self.reasons: dict[str, int] = {}  # disconnect reason (before any ':') -> count
        self.last_reason = ""


class _Conn:
    """One connection slot: the current socket, its reader and the channels it carries."""

    def __init__(self, index: int, channels: list[str]) -> None:
        self.index = index
        self.channels = channels
        self.ws: Socket | None = None
        self.reader: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.stats = WsStats()
        self.last_frame = 0.0
        self.last_data = 0.0
        self.close_reason = ""
        self.ever_up = False
        self.sender: TokenBucket | None = None  # the current socket's message budget
        self.attempted = asyncio.Event()  # the first connect attempt ended, either way


class WsClient:
    """A self-healing pool of WebSocket connections for one venue endpoint.

    Parameters
    ----------
    name:
        For logs and stats (``"binance-depth"``).
    url:
        ``ws://`` or ``wss://`` URL.
    dialect:
        The venue's messages and frame predicates.
    on_frame:
        Called from the receive loop with each data frame (``str`` text, ``bytes`` binary) and its
        local receive time (ns, wall clock); must not block.
    max_subscriptions:
        Channels per connection; more open another connection.
    stable_s:
        Uptime after which a connection counts as healthy and the reconnect backoff starts over.
    heartbeat_s:
        aiohttp protocol ping interval (None: only answer the venue's pings).
    tap:
        Also called with every data frame, before `on_frame` (`arb-engine record`); None costs nothing.
    send_limit:
        ``(capacity, per_s)`` of the messages the venue accepts from us per socket (None: no limit).
    connect_budget:
        A bucket every connection attempt draws one token from (None: no limit).
    offline:
        Never open a socket: subscriptions are only noted and `feed` hands frames to `on_frame`
        (`arb-engine replay` drives the venue streams this way).
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        dialect: WsDialect,
        on_frame: FrameHandler,
        on_state: StateHandler | None = None,
        max_subscriptions: int = MAX_SUBSCRIPTIONS,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        ping_interval_s: float = PING_INTERVAL_S,
        transport_idle_s: float = TRANSPORT_IDLE_S,
        data_idle_s: float = DATA_IDLE_S,
        lifetime_s: float = LIFETIME_S,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_max_s: float = BACKOFF_MAX_S,
        stable_s: float = STABLE_S,
        heartbeat_s: float | None = HEARTBEAT_S,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tap: FrameHandler | None = None,
        offline: bool = False,
        per_request: int | None = None,
        send_limit: tuple[float, float] | None = None,
        connect_budget: TokenBucket | None = None,
    ) -> None:
        self.name = name
        self._send_limit = send_limit  # (capacity, per second) of messages we send on one socket
        self._connect_budget = connect_budget  # connection attempts (possibly shared)
        self.paced_s = 0.0  # time spent waiting for the send and connect budgets
        self._per_request = per_request  # channels one subscribe request may carry (Gate: 1)
        self.url = url
        self._dialect = dialect
        self._on_frame = on_frame if tap is None else _tee(tap, on_frame)
        self.offline = offline
        self._on_state = on_state
        self._cap = max_subscriptions
        self._ack_timeout = ack_timeout_s
        self._ping_interval = ping_interval_s
        self._transport_idle = transport_idle_s
        self._data_idle = data_idle_s
        self._lifetime = lifetime_s
        self._backoff = backoff_base_s
        self._backoff_max = backoff_max_s
        self._stable = stable_s
        self._heartbeat = heartbeat_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._acks: dict[int, tuple[Socket, asyncio.Future[None]]] = {}
        self._conns: list[_Conn] = []
        self._session: aiohttp.ClientSession | None = None
        self._closing = False

    # ------------------------------------------------------------------ public API

    @property
    def connections(self) -> list[WsStats]:
        return [c.stats for c in self._conns]

    @property
    def channels(self) -> list[str]:
        return [ch for c in self._conns for ch in c.channels]

    @property
    def rotations(self) -> int:
        return sum(c.stats.rotations for c in self._conns)

    async def subscribe(self, channels: Sequence[str]) -> None:
        """Add channels, opening connections as the per-connection cap requires; waits for acks."""
        current = set(self.channels)
        pending = [ch for ch in dict.fromkeys(channels) if ch not in current]
        if self.offline:
            self._conns = self._conns or [_Conn(0, [])]
            self._conns[0].channels.extend(pending)
            return
        while pending:
            conn = next((c for c in self._conns if len(c.channels) < self._cap), None)
            if conn is None:
                conn = _Conn(len(self._conns), [])
                self._conns.append(conn)
            room = self._cap - len(conn.channels)
            batch, pending = pending[:room], pending[room:]
            conn.channels.extend(batch)
            if conn.task is None:
                conn.task = asyncio.get_running_loop().create_task(
                    self._run(conn), name=f"ws {self.name}[{conn.index}]")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(conn.attempted.wait(), self._ack_timeout * SUBSCRIBE_WAIT_ACKS)
            elif conn.ws is not None and not conn.ws.closed:
                try:
                    await self._send_subscribe(conn, conn.ws, batch)
                except ConnectionError as exc:  # the reconnect path subscribes everything again
                    await self._drop(conn, f"{type(exc).__name__}: {exc}")
            # else: the slot is reconnecting and will subscribe its whole list

    async def unsubscribe(self, channels: Sequence[str]) -> None:
        """Remove channels (fire and forget: a late data frame for them is harmless)."""
        for conn in self._conns:
            gone = [ch for ch in channels if ch in conn.channels]
            if not gone:
                continue
            conn.channels = [ch for ch in conn.channels if ch not in gone]
            size = self._per_request or len(gone)
            for start in range(0, len(gone), size):
                if conn.ws is None or conn.ws.closed:
                    break
                message = self._dialect.unsubscribe(gone[start:start + size], next(self._ids))
                if message is not None:
                    await self._send(conn, conn.ws, message)

    def feed(self, frame: bytes | str, recv_ns: int) -> None:
        """Hand one data frame to the handler as if it had just been received (offline clients)."""
        self._on_frame(frame, recv_ns)

    async def reconnect(self, reason: str = "requested") -> None:
        """Drop every socket now (they come back through the normal reconnect path)."""
        for conn in self._conns:
            await self._drop(conn, reason)

    async def close(self) -> None:
        """Stop every connection and release the session; the client cannot be reused."""
        self._closing = True
        for conn in self._conns:
            for task in (conn.task, conn.reader):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if conn.ws is not None:
                await conn.ws.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> WsClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ connection lifecycle

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _send(self, conn: _Conn, ws: Socket, message: str) -> None:
        """Send one request within the socket's message budget."""
        sender = conn.sender
        if sender is not None and not sender.try_acquire():
            started = time.monotonic()
            await sender.acquire()
            self.paced_s += time.monotonic() - started
        await ws.send_str(message)

    async def _send_subscribe(self, conn: _Conn, ws: Socket, channels: Sequence[str]) -> None:
        """One request per `per_request` channels, all sent at once, then every ack awaited."""
        size = self._per_request or len(channels) or 1
        waiting: list[int] = []
        loop = asyncio.get_running_loop()
        try:
            for start in range(0, len(channels), size):
                request_id = next(self._ids)
                message = self._dialect.subscribe(channels[start:start + size], request_id)
                if message is None:
                    continue
                self._acks[request_id] = (ws, loop.create_future())
                waiting.append(request_id)
                await self._send(conn, ws, message)
            if waiting:
                acks = asyncio.gather(*(self._acks[r][1] for r in waiting))
                await asyncio.wait_for(acks, self._ack_timeout)
        except TimeoutError:
            raise ConnectionError(f"{self.name}: no subscription ack within {self._ack_timeout}s") from None
        finally:
            for request_id in waiting:
                self._acks.pop(request_id, None)

    def _fail_acks(self, ws: Socket, reason: str) -> None:
        for owner, waiting in self._acks.values():
            if owner is ws and not waiting.done():
                waiting.set_exception(ConnectionError(f"{self.name}: {reason}"))

    async def _run(self, conn: _Conn) -> None:
        """Connect, receive, and reconnect until `close`."""
        delay = self._backoff
        while not self._closing:
            connected_at: float | None = None
            try:
                await self._connect(conn)
                connected_at = time.monotonic()
                conn.close_reason = ""
                conn.attempted.set()
                if self._on_state is not None:
                    self._on_state(True, list(conn.channels))
                await self._watch(conn, connected_at)
            except (aiohttp.ClientError, OSError, ConnectionError, ValueError) as exc:
                conn.close_reason = f"{type(exc).__name__}: {exc}"
            await self._stop_reader(conn)
            conn.attempted.set()
            conn.stats.disconnects += 1
            reason = conn.stats.last_reason = conn.close_reason or "closed by server"
            key = reason.split(":")[0]
            conn.stats.reasons[key] = conn.stats.reasons.get(key, 0) + 1
            log.info("%s[%d]: disconnected (%s)", self.name, conn.index, reason)
            if conn.ws is not None and not conn.ws.closed:
                await conn.ws.close()
            conn.ws = None
            if connected_at is not None and self._on_state is not None:
                self._on_state(False, list(conn.channels))
            if self._closing:
                return
            if connected_at is not None and time.monotonic() - connected_at >= self._stable:
                delay = self._backoff
            await self._sleep(delay * (JITTER_MIN + self._rng.random()))
            delay = min(delay * 2, self._backoff_max)

    async def _connect(self, conn: _Conn) -> None:
        """Open a socket for the slot, start its reader and subscribe; sets ``conn.ws``/``conn.reader``."""
        ws, reader = await self._open(conn)
        if conn.ever_up:
            conn.stats.reconnects += 1
            log.info("%s[%d]: reconnected", self.name, conn.index)
        conn.ever_up = True
        conn.ws, conn.reader = ws, reader

    async def _open(self, conn: _Conn) -> tuple[Socket, asyncio.Task[None]]:
        # the reader must run while we wait for the subscription ack, so it starts right after connect
        if self._connect_budget is not None and not self._connect_budget.try_acquire():
            started = time.monotonic()
            await self._connect_budget.acquire()
            self.paced_s += time.monotonic() - started
        ws = await self._http().ws_connect(self.url, heartbeat=self._heartbeat, autoping=True, max_msg_size=0)
        conn.stats.connects += 1
        conn.last_frame = conn.last_data = time.monotonic()
        if self._send_limit is not None:  # a new socket, a new message window (a rotation's old
            conn.sender = TokenBucket(*self._send_limit)  # socket sends nothing more)
        reader = asyncio.get_running_loop().create_task(self._read(conn, ws), name=f"ws {self.name} reader")
        try:
            await self._send_subscribe(conn, ws, conn.channels)
        except BaseException:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await ws.close()
            raise
        return ws, reader

    async def _stop_reader(self, conn: _Conn) -> None:
        reader, conn.reader = conn.reader, None
        if reader is not None:
            await self._reap(conn, reader)

    async def _reap(self, conn: _Conn, reader: asyncio.Task[None]) -> None:
        """Stop a reader; a handler that raised costs the socket, never the connection slot."""
        reader.cancel()
        await asyncio.wait({reader})  # unlike `await reader`, never swallows our own cancellation
        exc = None if reader.cancelled() else reader.exception()
        if exc is not None:
            log.error("%s[%d]: frame handler failed", self.name, conn.index, exc_info=exc)
            conn.close_reason = f"handler failed: {type(exc).__name__}: {exc}"

    async def _read(self, conn: _Conn, ws: Socket) -> None:
        """The hot loop: every frame goes straight to the handler with its receive time.

        aiohttp hands out buffered frames without suspending, so while a socket always has data the
        loop would run nothing else (timers, the cluster's NATS round trips, other sockets' readers).
        After a frame, once `READ_SLICE_S` has passed since the reader last let the loop run, it yields
        once: a time slice, not a frame count, so a fast reader pays one clock read a frame.
        """
        on_frame, is_control, stats = self._on_frame, self._dialect.is_control, conn.stats
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        monotonic, slice_s, waited_s = time.monotonic, READ_SLICE_S, READ_WAITED_S
        resumed = done = monotonic()
        async for msg in ws:
            recv_ns = time.time_ns()
            now = monotonic()
            if now - done > waited_s:  # the reader waited for this frame: the loop ran meanwhile
                resumed = now
            kind = msg.type
            if kind is not text and kind is not binary:
                continue
            data = msg.data
            stats.frames += 1
            stats.bytes += len(data)
            stats.last_frame_ns = recv_ns
            conn.last_frame = now
            try:
                control = is_control(data)
            except Exception:  # a frame the dialect cannot even classify is data: the stream counts it
                control = False
            if control:
                if kind is text:
                    self._on_control(ws, stats, data)
            else:
                conn.last_data = conn.last_frame
                stats.data_frames += 1
                on_frame(data, recv_ns)
            done = monotonic()
            if done - resumed > slice_s:  # after the frame: its own latency is not affected
                await asyncio.sleep(0)
                resumed = done = monotonic()
        self._fail_acks(ws, f"socket closed ({ws.close_code}) before the subscription ack")
        if ws is conn.ws and not conn.close_reason:  # a rotated-out socket says nothing about the slot
            conn.close_reason = f"closed: {ws.close_code}"

    def _on_control(self, ws: Socket, stats: WsStats, frame: str) -> None:
        try:
            request_id = self._dialect.ack(frame)
        except ValueError as exc:
            self._fail_acks(ws, f"subscription refused: {exc}")
            return
        except Exception as exc:  # an unreadable control frame: counted and skipped, the socket stays
            stats.malformed_control += 1
            if stats.malformed_control == 1:
                log.warning("%s: unreadable control frame skipped (%s: %s)", self.name, type(exc).__name__,
                            str(exc)[:120])
            return
        if request_id is not None:
            entry = self._acks.get(request_id)
            if entry is not None and not entry[1].done():
                entry[1].set_result(None)

    async def _watch(self, conn: _Conn, opened: float) -> None:
        """Keep-alive, idle watchdogs and planned rotation until the current socket is gone."""
        shortest = min(self._ping_interval, self._transport_idle, self._data_idle)
        tick = max(WATCH_MIN_TICK_S, shortest / WATCH_TICKS)
        next_ping = time.monotonic() + self._ping_interval
        while True:
            reader = conn.reader
            if reader is None:
                return
            done, _ = await asyncio.wait({reader}, timeout=tick)
            if done:
                return
            now = time.monotonic()
            if now - conn.last_frame > self._transport_idle:
                await self._drop(conn, "transport idle")
            elif now - conn.last_data > self._data_idle:
                await self._drop(conn, "data idle")
            elif now - opened > self._lifetime:
                # on failure try again after one base backoff, still on the old socket
                opened = now if await self._rotate(conn) else now - self._lifetime + self._backoff
            elif now >= next_ping:
                ping = self._dialect.ping()
                if ping is not None and conn.ws is not None and not conn.ws.closed:
                    await self._send(conn, conn.ws, ping)
                next_ping = now + self._ping_interval

    async def _drop(self, conn: _Conn, reason: str) -> None:
        conn.close_reason = reason
        if conn.ws is not None and not conn.ws.closed:
            await conn.ws.close()

    async def _rotate(self, conn: _Conn) -> bool:
        """Make-before-break: subscribe a new socket, then close the old one."""
        try:
            ws, reader = await self._open(conn)
        except (aiohttp.ClientError, OSError, ConnectionError) as exc:
            log.warning("%s[%d]: rotation failed (%s); keeping the old socket", self.name, conn.index, exc)
            return False
        old_ws, old_reader = conn.ws, conn.reader
        conn.ws, conn.reader = ws, reader
        conn.stats.rotations += 1
        if old_ws is not None:
            await old_ws.close()
        if old_reader is not None:
            await self._reap(conn, old_reader)
        return True


def _tee(tap: FrameHandler, handler: FrameHandler) -> FrameHandler:
    def both(frame: bytes | str, recv_ns: int) -> None:
        tap(frame, recv_ns)
        handler(frame, recv_ns)

    return both
