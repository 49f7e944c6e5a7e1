"""WebSocket receive throughput: WsClient vs a bare aiohttp receive loop, same server, same frames.

A local aiohttp server (127.0.0.1, in its own process so that sending costs the measured loop
nothing) pushes N pre-encoded depth-diff frames as fast as it can to each connection: JSON text
frames (Binance / Gate style) and binary protobuf-sized frames (MEXC style). Both receivers are
timed from their first data frame to their last; WsClient hands each frame to a no-op callback.
Target: WsClient within 10% of the bare loop.

Frame sources are pluggable: `main(sources=...)` takes ``(name, source)`` pairs where ``source(n)``
returns n pre-encoded frames (later: the simulator's dialects).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, verdict

from arb.net.ws import WsClient

N: Final = 100_000
REPEATS: Final = 3
TARGET: Final = 0.90
LEVELS: Final = 20
BINARY_PAD: Final = 140  # a MEXC protobuf depth diff with a few levels is ~150 bytes
ACK_PREFIX: Final = '{"ack"'

FrameSource = Callable[[int], Sequence[str] | Sequence[bytes]]


def depth_json(n: int) -> list[str]:
    """Binance-style combined-stream depth diffs, 20 levels a side."""
    levels = [[f"{65000 - k * 0.1:.2f}", f"{0.5 + k:.4f}"] for k in range(LEVELS)]
    return [json.dumps({"stream": "btcusdt@depth@100ms", "data": {
        "e": "depthUpdate", "E": i, "s": "BTCUSDT", "U": i, "u": i, "b": levels, "a": levels}})
        for i in range(n)]


def depth_binary(n: int) -> list[bytes]:
    """MEXC-style binary frames of a realistic size."""
    return [bytes(BINARY_PAD) + i.to_bytes(8, "big") for i in range(n)]


SOURCES: Final[tuple[tuple[str, FrameSource], ...]] = (
    ("JSON text (binance/gateio)", depth_json),
    ("binary (mexc)", depth_binary),
)


class Dialect:
    """Subscribe with an id, ack by id; no app-level pings."""

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"op": "sub", "id": request_id})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> None:
        return None

    def ack(self, frame: str) -> int | None:
        return int(json.loads(frame)["ack"])

    def is_control(self, frame: bytes | str) -> bool:
        return isinstance(frame, str) and frame.startswith(ACK_PREFIX)

    def ping(self) -> None:
        return None


def _serve(source: FrameSource, n: int, port_out: Connection) -> None:
    """Child process: serve the frames to every connection until terminated."""
    frames = source(n)

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive()
        if first.type is aiohttp.WSMsgType.TEXT and '"sub"' in first.data:
            await ws.send_str(json.dumps({"ack": json.loads(first.data)["id"]}))
        send = ws.send_str if isinstance(frames[0], str) else ws.send_bytes
        for frame in frames:
            await send(frame)  # type: ignore[arg-type]
        await ws.close()
        return ws

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/ws", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(run())


async def bare(url: str, n: int) -> float:
    """Frames/s of a plain ``async for msg in ws`` loop."""
    count, start = 0, 0.0
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        await ws.send_str('{"op": "sub", "id": 1}')
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT or msg.type is aiohttp.WSMsgType.BINARY:
                if msg.type is aiohttp.WSMsgType.TEXT and msg.data.startswith(ACK_PREFIX):
                    continue
                count += 1
                if count == 1:
                    start = time.perf_counter()
        elapsed = time.perf_counter() - start
    assert count == n
    return (n - 1) / elapsed


async def ours(url: str, n: int) -> float:
    """Frames/s through WsClient to a no-op callback."""
    done = asyncio.Event()
    count, start = 0, 0.0

    def on_frame(frame: bytes | str, recv_ns: int) -> None:
        nonlocal count, start
        count += 1
        if count == 1:
            start = time.perf_counter()
        elif count == n:
            done.set()

    client = WsClient("bench", url, dialect=Dialect(), on_frame=on_frame, heartbeat_s=None,
                      ping_interval_s=3600, transport_idle_s=3600, data_idle_s=3600)
    await client.subscribe(["x"])
    await done.wait()
    elapsed = time.perf_counter() - start
    await client.close()
    return (n - 1) / elapsed


async def measure(url: str, n: int) -> tuple[float, float]:
    best_bare = best_ours = 0.0
    for _ in range(REPEATS):  # interleaved so drift hits both alike
        best_bare = max(best_bare, await bare(url, n))
        best_ours = max(best_ours, await ours(url, n))
    return best_bare, best_ours


def main(sources: Sequence[tuple[str, FrameSource]] = SOURCES, n: int = N) -> None:
    ctx = multiprocessing.get_context("spawn")
    rows, checks = [], []
    for name, source in sources:
        receive, send = ctx.Pipe(duplex=False)
        server = ctx.Process(target=_serve, args=(source, n, send), daemon=True)
        server.start()
        try:
            port = receive.recv()
            bare_fps, ours_fps = asyncio.run(measure(f"ws://127.0.0.1:{port}/ws", n))
        finally:
            server.terminate()
            server.join()
        ratio = ours_fps / bare_fps
        rows.append((name, bare_fps, ours_fps, ratio))
        checks.append((name, ratio, f">= {TARGET:.2f}", verdict(ratio >= TARGET)))
    print(table(f"WebSocket receive, {n:,} frames over loopback (frames/s, best of {REPEATS})",
                ["frames", "bare aiohttp loop", "WsClient", "ratio"], rows))
    print()
    print(table("Targets", ["check", "WsClient / bare", "target", "verdict"], checks))


if __name__ == "__main__":
    main()
