"""Per-socket topic sets and ordered outboxes: how every simulated venue pushes to its clients.

The market produces diffs synchronously; a dialect encodes each diff once and `publish`es it to the
sockets subscribed to its topic. One sender task per socket drains that socket's queue in order.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

Frame = str | bytes


class Subscribers:
    def __init__(self) -> None:
        self._topics: dict[web.WebSocketResponse, set[str]] = {}
        self._outbox: dict[web.WebSocketResponse, asyncio.Queue[Frame]] = {}
        self._senders: dict[web.WebSocketResponse, asyncio.Task[None]] = {}
        self.frames_sent = 0

    def add(self, ws: web.WebSocketResponse) -> set[str]:
        """Register a socket; returns its (mutable) topic set."""
        topics: set[str] = set()
        queue: asyncio.Queue[Frame] = asyncio.Queue()
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
        for ws, topics in self._topics.items():
            if topic in topics and not ws.closed:
                self.frames_sent += 1
                self._outbox[ws].put_nowait(frame)

    @staticmethod
    async def _send(ws: web.WebSocketResponse, queue: asyncio.Queue[Frame]) -> None:
        while True:
            frame = await queue.get()
            if ws.closed:
                return
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame)

    async def close_all(self, app: web.Application | None = None) -> None:
        for ws in list(self._topics):
            self.remove(ws)
            with contextlib.suppress(Exception):
                await ws.close()
