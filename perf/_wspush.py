"""A loopback depth-frame pusher for the socket half of bench_e2e (run as its own process).

Speaks just enough of each venue's WebSocket dialect for the real connectors (subscribe acks), then,
on ``go`` from stdin, writes pre-built frames (Binance and Gate JSON, MEXC protobuf) straight to the
transport in large chunks, as fast as the receiving engine drains them. The frames change sizes at
the price levels of `book_levels` (never crossing), with contiguous update ids from 1001 per book.

    python perf/_wspush.py --frames-per-book 2500 --symbols 20   # prints {"binance": port, ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import WSMsgType, web

from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

SYMBOLS = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "DOT", "LINK", "LTC", "TRX", "BCH", "ATOM",
           "NEAR", "APT", "ARB", "OP", "SUI", "FIL", "ETC"]
VENUES = ("binance", "gateio", "mexc")
DEPTH = 30
CHANGED = 5  # levels changed per side per frame
FIRST_ID = 1001
CHUNK = 1 << 16
HIGH_WATER = 1 << 22
MEXC_CHANNEL = "spot@public.aggre.depth.v3.api.pb@100ms@{}"


def book_levels(i: int) -> tuple[float, list[float], list[float]]:
    """Mid and the price ladders of symbol `i` (the same on every venue)."""
    mid = 10.0 * (i + 1)
    bids = [round(mid - 0.01 * (k + 1), 2) for k in range(DEPTH)]
    return mid, bids, [round(mid + 0.01 * (k + 1), 2) for k in range(DEPTH)]


def _ws_frame(payload: bytes, binary: bool) -> bytes:
    """One unmasked server frame (FIN set), as RFC 6455 lays it out."""
    head = 0x82 if binary else 0x81
    n = len(payload)
    if n < 126:
        return bytes((head, n)) + payload
    if n < 1 << 16:
        return bytes((head, 126)) + struct.pack("!H", n) + payload
    return bytes((head, 127)) + struct.pack("!Q", n) + payload


def depth_frame(venue: str, base: str, uid: int, ms: int, bids: list[tuple[str, str]],
                asks: list[tuple[str, str]]) -> bytes:
    """One depth diff of ``<base>/USDT`` (update id `uid`) as `venue` sends it, framed."""
    if venue == "binance":
        body = json.dumps({"stream": f"{base.lower()}usdt@depth@100ms", "data": {
            "e": "depthUpdate", "E": ms, "s": f"{base}USDT", "U": uid, "u": uid, "b": bids,
            "a": asks}},
            separators=(",", ":")).encode()
        return _ws_frame(body, False)
    if venue == "gateio":
        body = json.dumps({"time": ms // 1000, "time_ms": ms, "channel": "spot.order_book_update",
                           "event": "update", "result": {"t": ms, "e": "depthUpdate", "E": ms // 1000,
                                                         "s": f"{base}_USDT", "U": uid, "u": uid,
                                                         "b": bids, "a": asks}},
                          separators=(",", ":")).encode()
        return _ws_frame(body, False)
    name = f"{base}USDT"
    wrapper = PushDataV3ApiWrapper(channel=MEXC_CHANNEL.format(name), symbol=name, sendTime=ms)
    depth = wrapper.publicAggreDepths
    depth.eventType = "spot@public.aggre.depth.v3.api.pb@100ms"
    depth.fromVersion = depth.toVersion = str(uid)
    for p, q in bids:
        depth.bids.add(price=p, quantity=q)
    for p, q in asks:
        depth.asks.add(price=p, quantity=q)
    return _ws_frame(wrapper.SerializeToString(), True)


def random_changes(rng: random.Random, i: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """CHANGED new sizes a side at the price levels of symbol `i` (never crossing)."""
    _, bid_px, ask_px = book_levels(i)
    bids = [(f"{bid_px[k]:.2f}", f"{rng.uniform(0.1, 5):.3f}") for k in rng.sample(range(DEPTH), CHANGED)]
    asks = [(f"{ask_px[k]:.2f}", f"{rng.uniform(0.1, 5):.3f}") for k in rng.sample(range(DEPTH), CHANGED)]
    return bids, asks


def build_frames(venue: str, symbols: list[str], per_book: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for n in range(per_book):
        uid = FIRST_ID + n
        for i, base in enumerate(symbols):
            bids, asks = random_changes(rng, i)
            out.append(depth_frame(venue, base, uid, 1_764_000_000_000 + n, bids, asks))
    return out


def _ack(venue: str, req: dict[str, object]) -> tuple[str, int]:
    """The subscription ack and how many channels it covers."""
    params = req.get("params") or req.get("payload") or []
    assert isinstance(params, list)
    if venue == "binance":
        return json.dumps({"result": None, "id": req["id"]}), len(params)
    if venue == "mexc":
        return json.dumps({"id": req["id"], "code": 0, "msg": ",".join(map(str, params))}), len(params)
    return json.dumps({"time": 0, "time_ms": 0, "id": req["id"], "conn_id": "bench",
                       "channel": req["channel"], "event": req["event"], "error": None,
                       "result": {"status": "success"}}), 1


class Pusher:
    def __init__(self, frames: dict[str, list[bytes]], channels: int) -> None:
        self.chunks = {v: [b"".join(f[i:i + 64]) for i in range(0, len(f), 64)] for v, f in frames.items()}
        self.channels = channels
        self.go = asyncio.Event()
        self.ready = {v: asyncio.Event() for v in frames}
        self.pushed: dict[str, int] = {}

    def app(self, venue: str) -> web.Application:
        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            subscribed = 0
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                req = json.loads(msg.data)
                if req.get("method") in ("SUBSCRIBE", "SUBSCRIPTION") or req.get("event") == "subscribe":
                    ack, n = _ack(venue, req)
                    await ws.send_str(ack)
                    subscribed += n
                    if subscribed >= self.channels:
                        asyncio.get_running_loop().create_task(self._push(venue, request))
            return ws

        app = web.Application()
        for path in ("/", "/stream", "/ws", "/ws/v4/"):
            app.router.add_get(path, handler)
        return app

    async def _push(self, venue: str, request: web.Request) -> None:
        await self.go.wait()
        transport = request.transport
        assert transport is not None
        for chunk in self.chunks[venue]:
            while transport.get_write_buffer_size() > HIGH_WATER:
                await asyncio.sleep(0.0001)
            transport.write(chunk)
        self.pushed[venue] = len(self.chunks[venue])


async def main(args: argparse.Namespace) -> None:
    symbols = SYMBOLS[: args.symbols]
    frames = {v: build_frames(v, symbols, args.frames_per_book, seed=i) for i, v in enumerate(VENUES)}
    pusher = Pusher(frames, len(symbols))
    ports = {}
    runners = []
    for venue in VENUES:
        runner = web.AppRunner(pusher.app(venue), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports[venue] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        runners.append(runner)
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    if line.strip() == "go":
        pusher.go.set()
    await loop.run_in_executor(None, sys.stdin.readline)  # EOF or "stop": the bench is done
    for runner in runners:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames-per-book", type=int, default=2500)
    parser.add_argument("--symbols", type=int, default=20)
    parser.add_argument("--cpu", type=int, default=None, help="pin to this CPU")
    ns = parser.parse_args()
    if ns.cpu is not None:
        import os

        os.sched_setaffinity(0, {ns.cpu})
    asyncio.run(main(ns))
