"""A WebSocket that always has frames buffered must not hold the event loop (issue #14).

aiohttp returns buffered frames without suspending: a reader fed faster than it handles frames
would run frame after frame while the loop's timers (the loop-lag monitor, a cluster worker's
NATS round trips and lease renewals, the engine's watchdogs) wait. The server here writes a flood of
small frames straight to its transport (about 200k frames a 256 KB socket read's worth: seconds of
handler work at once); the engine's own loop-lag monitor, with a 10 ms timer, must keep waking on
time while the flood is handled.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence

from aiohttp import WSMsgType, web

from arb.net.ws import WsClient
from arb.obs.health import LoopLagMonitor

FRAMES = 20_000
HANDLER_S = 0.0001  # what one frame costs the handler (a busy engine: decode, book, detector)
LAG_BOUND_S = 0.5  # generous for a loaded machine; without the time slice it is over a second


class Dialect:
    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"op": "sub", "args": list(channels), "id": request_id})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        return None

    def ack(self, frame: str) -> int | None:
        value = json.loads(frame).get("ack")
        return int(value) if value is not None else None

    def is_control(self, frame: bytes | str) -> bool:
        return isinstance(frame, str) and frame.startswith('{"ack"')

    def ping(self) -> str | None:
        return None


def _text_frame(payload: bytes) -> bytes:
    """An unmasked server-to-client text frame (payload under 126 bytes)."""
    assert len(payload) < 126
    return b"\x81" + bytes([len(payload)]) + payload


async def _flood(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for msg in ws:
        if msg.type is WSMsgType.TEXT and json.loads(msg.data).get("op") == "sub":
            await ws.send_str(json.dumps({"ack": json.loads(msg.data)["id"]}))
            blob = b"".join(_text_frame(b'{"d":%d}' % i) for i in range(FRAMES))
            assert request.transport is not None
            request.transport.write(blob)  # all at once: the client's socket always has data
    return ws


async def test_a_flooded_socket_does_not_delay_a_10ms_timer() -> None:
    app = web.Application()
    app.router.add_get("/ws", _flood)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    handled: list[int] = []

    def on_frame(frame: bytes | str, recv_ns: int) -> None:
        until = time.perf_counter() + HANDLER_S
        while time.perf_counter() < until:
            pass
        handled.append(1)

    monitor = LoopLagMonitor(interval_s=0.01)  # the engine's loop-lag monitor, with a 10 ms timer
    client = WsClient("flood", f"ws://127.0.0.1:{port}/ws", dialect=Dialect(), on_frame=on_frame,
                      heartbeat_s=None)
    try:
        monitor.start()
        await client.subscribe(["depth"])
        deadline = time.monotonic() + 120  # generous: the machine is shared
        while len(handled) < FRAMES and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert len(handled) == FRAMES, f"only {len(handled)} of {FRAMES} frames arrived"
        assert client.connections[0].data_frames == FRAMES
        # the timer kept firing through the flood (seconds of handler work), each time nearly on time
        assert monitor.max_lag_s < LAG_BOUND_S, f"the loop was held {monitor.max_lag_s * 1000:.0f} ms"
        assert monitor.samples >= 10, f"the 10 ms timer fired {monitor.samples} times"
    finally:
        await monitor.stop()
        await client.close()
        await runner.cleanup()
