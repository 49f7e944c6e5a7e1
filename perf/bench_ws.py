"""WebSocket receive throughput: WsClient vs a bare aiohttp receive loop, same server, same frames.

A local aiohttp server (127.0.0.1) pushes N pre-encoded depth-diff frames as fast as it can to one
connection: JSON text frames (Binance / Gate style) and binary protobuf-sized frames (MEXC style).
The client hands each frame to a no-op callback. Target: WsClient within 10% of the bare loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import table, verdict

from arb.net.ws import WsClient

N = 100_000
REPEATS = 3


def text_frame(i: int) -> str:
    levels = [[f"{65000 - k * 0.1:.2f}", f"{0.5 + k:.4f}"] for k in range(20)]
    return json.dumps({"stream": "btcusdt@depth@100ms", "data": {"e": "depthUpdate", "E": i, "s": "BTCUSDT",
                       "U": i, "u": i, "b": levels, "a": levels}})


class Dialect:
    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"op": "sub", "id": request_id})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> None:
        return None

    def ack(self, frame: str) -> int | None:
        return int(json.loads(frame)["ack"])

    def is_control(self, frame: bytes | str) -> bool:
        return frame.__class__ is str and frame.startswith('{"ack"')  # type: ignore[union-attr]

    def ping(self) -> None:
        return None


async def serve(frames: list[str] | list[bytes]) -> tuple[web.AppRunner, str]:
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

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"ws://127.0.0.1:{port}/ws"


async def bare(url: str) -> float:
    count = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        await ws.send_str('{"op": "sub", "id": 1}')
        start = time.perf_counter()
        async for msg in ws:
            if msg.type is aiohttp.WSMsgType.TEXT or msg.type is aiohttp.WSMsgType.BINARY:
                count += 1
        elapsed = time.perf_counter() - start
    return (count - 1) / elapsed  # minus the ack


async def ours(url: str) -> float:
    done = asyncio.Event()
    count = 0

    def on_frame(frame: bytes | str, recv_ns: int) -> None:
        nonlocal count
        count += 1
        if count == N:
            done.set()

    client = WsClient("bench", url, dialect=Dialect(), on_frame=on_frame, heartbeat_s=None,
                      ping_interval_s=3600, transport_idle_s=3600, data_idle_s=3600)
    start = time.perf_counter()
    await client.subscribe(["x"])
    await done.wait()
    elapsed = time.perf_counter() - start
    await client.close()
    return N / elapsed


async def measure(frames: list[str] | list[bytes]) -> tuple[float, float]:
    best_bare = best_ours = 0.0
    for _ in range(REPEATS):
        runner, url = await serve(frames)
        best_bare = max(best_bare, await bare(url))
        await runner.cleanup()
        runner, url = await serve(frames)
        best_ours = max(best_ours, await ours(url))
        await runner.cleanup()
    return best_bare, best_ours


def main() -> None:
    text = [text_frame(i) for i in range(N)]
    binary = [bytes(140) + i.to_bytes(8, "big") for i in range(N)]
    rows, checks = [], []
    for name, frames in (("JSON text (binance/gateio)", text), ("binary (mexc)", binary)):
        bare_fps, ours_fps = asyncio.run(measure(frames))
        ratio = ours_fps / bare_fps
        rows.append((name, bare_fps, ours_fps, ratio))
        checks.append((name, ratio, ">= 0.90", verdict(ratio >= 0.90)))
    print(table(f"WebSocket receive, {N:,} frames over loopback (frames/s, best of {REPEATS})",
                ["frames", "bare aiohttp loop", "WsClient", "ratio"], rows))
    print()
    print(table("Targets", ["check", "WsClient / bare", "target", "verdict"], checks))


if __name__ == "__main__":
    main()
