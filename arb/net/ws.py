"""[1] WsClient: subscriptions over a pool of WebSocket connections that heal themselves.

- Channels are spread over connections of at most `max_subscriptions` each (MEXC allows 30).
- Each connection: connect, subscribe with acks checked within a timeout, then hand every data
  frame to `on_frame(frame, recv_ns)` directly from the receive loop (no copies, no queues).
- A watchdog per connection sends the venue's keep-alive, and closes the socket when no frame at
  all arrived for `transport_idle_s` or no data frame for `data_idle_s`; the connection then
  reconnects with jittered, capped exponential backoff and resubscribes everything.
- Before the venue's maximum connection lifetime the connection is rotated make-before-break: a
  new socket subscribes first, then the old one closes (overlapping frames are harmless: the book
  layer drops diffs it has already applied).
- `on_state(connected, channels)` tells the owner when channels go down and come back.

The venue specifics (subscribe message, ack recognition, pings) come from a `WsDialect`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import aiohttp

log = logging.getLogger(__name__)

FrameHandler = Callable[[bytes | str, int], None]
StateHandler = Callable[[bool, Sequence[str]], None]


class WsDialect(Protocol):
    """What differs between venues on a WebSocket."""

    def subscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        """The subscribe request (None when channels are in the URL and nothing is sent)."""
        ...

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str | None: ...

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
    """Everything observable about one connection."""

    __slots__ = ("bytes", "connects", "data_frames", "disconnects", "frames", "last_frame_ns", "reasons")

    def __init__(self) -> None:
        self.connects = 0
        self.disconnects = 0
        self.frames = 0
        self.data_frames = 0
        self.bytes = 0
        self.last_frame_ns = 0
        self.reasons: dict[str, int] = {}


class _Conn:
    """One socket and the channels it carries."""

    def __init__(self, index: int, channels: list[str]) -> None:
        self.index = index
        self.channels = channels
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.task: asyncio.Task[None] | None = None
        self.stats = WsStats()
        self.last_frame = 0.0
        self.last_data = 0.0
        self.close_reason = ""
        self.subscribed = asyncio.Event()


class WsClient:
    """A self-healing pool of WebSocket connections for one venue endpoint.

    Parameters
    ----------
    name:
        For logs and stats (``"binance-depth"``).
    url:
        ``ws://`` or ``wss://`` URL.
    """

    def __init__(
        self,
        name: str,
        url: str,
        *,
        dialect: WsDialect,
        on_frame: FrameHandler,
        on_state: StateHandler | None = None,
        max_subscriptions: int = 1024,
        ack_timeout_s: float = 5.0,
        ping_interval_s: float = 20.0,
        transport_idle_s: float = 30.0,
        data_idle_s: float = 60.0,
        lifetime_s: float = 23.5 * 3600,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        heartbeat_s: float | None = 20.0,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self._dialect = dialect
        self._on_frame = on_frame
        self._on_state = on_state
        self._cap = max_subscriptions
        self._ack_timeout = ack_timeout_s
        self._ping_interval = ping_interval_s
        self._transport_idle = transport_idle_s
        self._data_idle = data_idle_s
        self._lifetime = lifetime_s
        self._backoff = backoff_base_s
        self._backoff_max = backoff_max_s
        self._heartbeat = heartbeat_s
        self._rng = rng or random.Random()
        self._ids = itertools.count(1)
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._conns: list[_Conn] = []
        self._session: aiohttp.ClientSession | None = None
        self._closing = False
        self.rotations = 0

    # ------------------------------------------------------------------ public API

    @property
    def connections(self) -> list[WsStats]:
        return [c.stats for c in self._conns]

    @property
    def channels(self) -> list[str]:
        return [ch for c in self._conns for ch in c.channels]

    async def subscribe(self, channels: Sequence[str]) -> None:
        """Add channels, opening connections as the per-connection cap requires; waits for acks."""
        pending = [ch for ch in channels if ch not in self.channels]
        while pending:
            conn = next((c for c in self._conns if len(c.channels) < self._cap), None)
            if conn is None:
                conn = _Conn(len(self._conns), [])
                self._conns.append(conn)
            room = self._cap - len(conn.channels)
            batch, pending = pending[:room], pending[room:]
            conn.channels.extend(batch)
            if conn.task is None:
                conn.task = asyncio.get_running_loop().create_task(self._run(conn), name=f"ws {self.name}")
                await self._wait_subscribed(conn)
            elif conn.ws is not None and not conn.ws.closed:
                await self._send_subscribe(conn.ws, batch)

    async def unsubscribe(self, channels: Sequence[str]) -> None:
        for conn in self._conns:
            gone = [ch for ch in channels if ch in conn.channels]
            if not gone:
                continue
            conn.channels = [ch for ch in conn.channels if ch not in gone]
            if conn.ws is not None and not conn.ws.closed:
                message = self._dialect.unsubscribe(gone, next(self._ids))
                if message is not None:
                    await conn.ws.send_str(message)

    async def reconnect(self, reason: str = "requested") -> None:
        """Drop every socket now (they come back through the normal reconnect path)."""
        for conn in self._conns:
            await self._drop(conn, reason)

    async def close(self) -> None:
        self._closing = True
        for conn in self._conns:
            if conn.task is not None:
                conn.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await conn.task
            if conn.ws is not None:
                await conn.ws.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ------------------------------------------------------------------ connection lifecycle

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _wait_subscribed(self, conn: _Conn) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(conn.subscribed.wait(), self._ack_timeout * 2)

    async def _send_subscribe(self, ws: aiohttp.ClientWebSocketResponse, channels: Sequence[str]) -> None:
        if not channels:
            return
        request_id = next(self._ids)
        message = self._dialect.subscribe(channels, request_id)
        if message is None:
            return
        ack = asyncio.get_running_loop().create_future()
        self._acks[request_id] = ack
        await ws.send_str(message)
        try:
            await asyncio.wait_for(ack, self._ack_timeout)
        except TimeoutError:
            raise ConnectionError(f"{self.name}: no subscription ack within {self._ack_timeout}s") from None
        finally:
            self._acks.pop(request_id, None)

    async def _run(self, conn: _Conn) -> None:
        """Connect, receive, and reconnect forever (until `close`)."""
        delay = self._backoff
        while not self._closing:
            reader: asyncio.Task[None] | None = None
            try:
                if conn.ws is None or conn.ws.closed:
                    reader_ready = asyncio.get_running_loop().create_future()
                    conn.ws = await self._connect_and_read(conn, reader_ready)
                    reader = reader_ready.result()
                if self._on_state is not None:
                    self._on_state(True, list(conn.channels))
                conn.subscribed.set()
                delay = self._backoff
                opened = time.monotonic()
                conn.close_reason = ""
                await self._watch(conn, reader, opened)
            except asyncio.CancelledError:
                if reader is not None:
                    reader.cancel()
                raise
            except (aiohttp.ClientError, OSError, ConnectionError, ValueError) as exc:
                conn.close_reason = f"{type(exc).__name__}: {exc}"
            if reader is not None:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            conn.subscribed.clear()
            conn.stats.disconnects += 1
            reason = conn.close_reason or "closed by server"
            conn.stats.reasons[reason.split(":")[0]] = conn.stats.reasons.get(reason.split(":")[0], 0) + 1
            log.info("%s[%d]: disconnected (%s)", self.name, conn.index, reason)
            if conn.ws is not None and not conn.ws.closed:
                await conn.ws.close()
            conn.ws = None
            if self._on_state is not None:
                self._on_state(False, list(conn.channels))
            if self._closing:
                return
            await asyncio.sleep(delay * (0.5 + self._rng.random()))
            delay = min(delay * 2, self._backoff_max)

    async def _connect_and_read(self, conn: _Conn, reader_ready: asyncio.Future[asyncio.Task[None]]
                                ) -> aiohttp.ClientWebSocketResponse:
        # the reader must run while we wait for the subscription ack, so it starts right after connect
        ws = await self._http().ws_connect(self.url, heartbeat=self._heartbeat, autoping=True,
                                           max_msg_size=0)
        conn.stats.connects += 1
        conn.last_frame = conn.last_data = time.monotonic()
        reader = asyncio.get_running_loop().create_task(self._read(conn, ws))
        reader_ready.set_result(reader)
        try:
            await self._send_subscribe(ws, conn.channels)
        except BaseException:
            reader.cancel()
            await ws.close()
            raise
        return ws

    async def _read(self, conn: _Conn, ws: aiohttp.ClientWebSocketResponse) -> None:
        """The hot loop: every frame goes straight to the handler with its receive time."""
        on_frame, dialect, stats = self._on_frame, self._dialect, conn.stats
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        async for msg in ws:
            recv_ns = time.time_ns()
            kind = msg.type
            if kind is not text and kind is not binary:
                continue
            data = msg.data
            stats.frames += 1
            stats.bytes += len(data)
            stats.last_frame_ns = recv_ns
            conn.last_frame = time.monotonic()
            if dialect.is_control(data):
                if kind is text:
                    self._on_control(conn, data)
                continue
            conn.last_data = conn.last_frame
            stats.data_frames += 1
            on_frame(data, recv_ns)
        conn.close_reason = conn.close_reason or f"closed: {ws.close_code}"

    def _on_control(self, conn: _Conn, frame: str) -> None:
        try:
            request_id = self._dialect.ack(frame)
        except ValueError as exc:  # an error ack: fail the waiter with it
            for waiting in self._acks.values():
                if not waiting.done():
                    waiting.set_exception(ConnectionError(f"{self.name}: subscription refused: {exc}"))
            return
        if request_id is not None:
            fut = self._acks.get(request_id)
            if fut is not None and not fut.done():
                fut.set_result(None)

    async def _watch(self, conn: _Conn, reader: asyncio.Task[None] | None, opened: float) -> None:
        """Keep-alive, idle watchdogs and planned rotation until the socket is gone."""
        tick = max(0.01, min(self._ping_interval, self._transport_idle, self._data_idle) / 4)
        next_ping = time.monotonic() + self._ping_interval
        while True:
            if reader is not None:
                done, _ = await asyncio.wait({reader}, timeout=tick)
                if done:
                    return
            else:
                await asyncio.sleep(tick)
            now = time.monotonic()
            if now - conn.last_frame > self._transport_idle:
                await self._drop(conn, "transport idle")
            elif now - conn.last_data > self._data_idle:
                await self._drop(conn, "data idle")
            elif now - opened > self._lifetime:
                fresh = await self._rotate(conn)
                if fresh is not None:
                    if reader is not None:
                        reader.cancel()
                    reader, opened = fresh, now
            elif now >= next_ping:
                ping = self._dialect.ping()
                if ping is not None and conn.ws is not None and not conn.ws.closed:
                    await conn.ws.send_str(ping)
                next_ping = now + self._ping_interval

    async def _drop(self, conn: _Conn, reason: str) -> None:
        conn.close_reason = reason
        if conn.ws is not None and not conn.ws.closed:
            await conn.ws.close()

    async def _rotate(self, conn: _Conn) -> asyncio.Task[None] | None:
        """Make-before-break: subscribe a new socket, then close the old one; returns its reader."""
        old = conn.ws
        ready: asyncio.Future[asyncio.Task[None]] = asyncio.get_running_loop().create_future()
        try:
            conn.ws = await self._connect_and_read(conn, ready)
        except (aiohttp.ClientError, OSError, ConnectionError) as exc:
            log.warning("%s[%d]: rotation failed (%s); keeping the old socket", self.name, conn.index, exc)
            conn.ws = old
            return None
        self.rotations += 1
        if old is not None:
            await old.close()
        return ready.result()
