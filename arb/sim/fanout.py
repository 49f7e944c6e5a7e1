"""Per-socket topic sets and ordered outboxes: how every simulated venue pushes to its clients.

The market produces diffs synchronously; a dialect encodes each diff once and `publish`es it to the
sockets subscribed to its topic. One sender task per socket drains that socket's queue in order.
When the server attaches `faults` (a venue's `FaultInjector`), every push first goes through it:
it may be dropped, doubled, held back behind the next one, or delayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from aiohttp import web

Frame = str | bytes


class FrameFaults(Protocol):
    """What a fault injector decides about pushes (see `arb.sim.faults.FaultInjector`)."""

    def frames(self, topic: str, frame: Frame) -> tuple[Frame, ...]: ...

    def delay_s(self) -> float: ...


class Subscribers:
    def __init__(self) -> None:
        self._topics: dict[web.WebSocketResponse, set[str]] = {}
        self._outbox: dict[web.WebSocketResponse, asyncio.Queue[tuple[float, Frame]]] = {}
        self._senders: dict[web.WebSocketResponse, asyncio.Task[None]] = {}
        self.frames_sent = 0
        self.faults: FrameFaults | None = None

    @property
    def sockets(self) -> list[set[str]]:
        """The topic set of every open socket."""
        return [set(topics) for ws, topics in self._topics.items() if not ws.closed]

    def add(self, ws: web.WebSocketResponse) -> set[str]:
        """Register a socket; returns its (mutable) topic set."""
        topics: set[str] = set()
        queue: asyncio.Queue[tuple[float, Frame]] = asyncio.Queue()
        self._topics[ws] = topics
        self._outbox[ws] = queue
        self._senders[ws] = asyncio.get_running_loop().create_task(self._send(ws, queue))
        return topics

    def remove(self, ws: web.WebSocketResponse) -> None:
        self._topics.pop(ws, None)
        self._outbox.pop(ws, None)
        sender = self._senders.pop(ws, None)
        if sender is not None:
            sender.cancel()

    def wants(self, topic: str) -> bool:
        return any(topic in topics for topics in self._topics.values())

    def publish(self, topic: str, frame: Frame) -> None:
        frames: tuple[Frame, ...] = (frame,)
        due = 0.0
        if self.faults is not None:
            frames = self.faults.frames(topic, frame)
            delay = self.faults.delay_s()
            if delay > 0:
                due = asyncio.get_running_loop().time() + delay
        for ws, topics in self._topics.items():
            if topic in topics and not ws.closed:
                for out in frames:
                    self.frames_sent += 1
                    self._outbox[ws].put_nowait((due, out))

    def send(self, ws: web.WebSocketResponse, frame: Frame) -> None:
        """Queue `frame` for one socket, in order with the pushes already queued for it."""
        queue = self._outbox.get(ws)
        if queue is not None and not ws.closed:
            self.frames_sent += 1
            queue.put_nowait((0.0, frame))

    @staticmethod
    async def _send(ws: web.WebSocketResponse, queue: asyncio.Queue[tuple[float, Frame]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due, frame = await queue.get()
            if due:
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            if ws.closed:
                return
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)

    async def close_all(self, app: web.Application | None = None) -> None:
        """Close every socket (the server side of a disconnect, and shutdown)."""
        for ws in list(self._topics):
            self.remove(ws)
            with contextlib.suppress(Exception):
                await ws.close()
