"""A loopback depth pusher for bench_cluster's 1 vs 2 workers (run as its own process).

Like `_wspush.py` (pre-built frames in the venues' wire formats: Binance and Gate JSON, MEXC
protobuf, contiguous update ids from 1001 per book, written straight to the transport in large
chunks as fast as the receiver drains them), but each connection gets only the books it subscribed
(and did not unsubscribe since): a worker that streams half the symbols receives half the frames.
It also answers the connectors' keep-alives (MEXC ``PING``, Gate ``spot.ping``).

Commands on stdin, one a line: ``prep`` joins each open connection's frames (its books interleaved,
update after update) and prints ``{"connections": n, "frames": f}``; ``go`` pushes them all at once;
``stop`` (or EOF) ends. Connections opened later (the next run's workers) start from update 1001
again: one pusher serves several runs.

Paced (``--rate R``, bench_capacity): nothing is pre-built; ``go`` starts every open connection's
books at R diffs a second each, spread evenly (book j of B on a connection gets update k at
(k * B + j) / (R * B) s after the go: a frame at a time, not a burst a period), each encoded when it
is due with the time of writing as its event time (Binance ``E``, Gate ``t``, MEXC ``sendTime``), so
the receiver can tell a frame's age. A receiver that does not drain its socket holds the pusher back
(the frames stay unwritten, not queued): ``count`` prints ``{"books": b, "sent": n, "cpu": s}``
(books subscribed on open connections, frames written so far, the pusher's CPU seconds and the
seconds it waited, runnable, for a CPU).

    python perf/_shardpush.py --symbols 100 --frames-per-book 1000   # prints {"binance": port, ...}
    python perf/_shardpush.py --rate 10                               # paced, any C<i> base
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _wspush import FIRST_ID, HIGH_WATER, VENUES, _ack, depth_frame, random_changes
from aiohttp import WSMsgType, web

FRAMES_PER_CHUNK = 64
PACE_S = 0.002  # the paced writer's tick: R * B * PACE_S frames a connection a tick
PACE_HIGH_WATER = 1 << 16  # paced: unsent bytes a connection may hold (its frames' age is the receiver's)
CYCLE = 16  # distinct change sets a book cycles through in paced mode


def bases(n: int) -> list[str]:
    """`n` made-up base assets (``C000`` ...), the same on every venue."""
    return [f"C{i:03d}" for i in range(n)]


def channel_base(venue: str, req: dict[str, object]) -> list[str]:
    """The base assets a (un)subscribe request names."""
    params = req.get("params") or req.get("payload") or []
    assert isinstance(params, list)
    if venue == "binance":  # "c000usdt@depth@100ms"
        return [str(p).split("usdt@")[0].upper() for p in params]
    if venue == "mexc":  # "spot@public.aggre.depth.v3.api.pb@100ms@C000USDT"
        return [str(p).rsplit("@", 1)[1].removesuffix("USDT") for p in params]
    return [str(params[0]).split("_")[0]] if params else []  # gateio: ["C000_USDT", "100ms"]


class _Conn:
    def __init__(self, venue: str, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.venue = venue
        self.ws = ws
        self.request = request
        self.books: set[str] = set()
        self.chunks: list[bytes] = []


class ShardPusher:
    def __init__(self, frames: dict[str, dict[str, list[bytes]]], rate: float = 0.0) -> None:
        self.frames = frames  # venue -> base -> its frames in update order
        self.rate = rate  # diffs a second a book; 0: flat out, pre-built
        self.sent = 0
        self.conns: list[_Conn] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def app(self, venue: str) -> web.Application:
        async def handler(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True)
            await ws.prepare(request)
            conn = _Conn(venue, ws, request)
            self.conns.append(conn)
            try:
                async for msg in ws:
                    if msg.type is WSMsgType.TEXT:
                        with contextlib.suppress(ConnectionResetError):  # a reply to a closing peer
                            await self._control(conn, json.loads(msg.data))
            finally:
                self.conns.remove(conn)
            return ws

        app = web.Application()
        for path in ("/", "/stream", "/ws", "/ws/v4/"):
            app.router.add_get(path, handler)
        return app

    async def _control(self, conn: _Conn, req: dict[str, object]) -> None:
        method, event = req.get("method"), req.get("event")
        if method == "PING":
            await conn.ws.send_str(json.dumps({"id": 0, "code": 0, "msg": "PONG"}))
        elif req.get("channel") == "spot.ping":
            now = time.time()
            await conn.ws.send_str(json.dumps({"time": int(now), "time_ms": int(now * 1000),
                                               "channel": "spot.pong", "event": "", "result": None}))
        elif method in ("SUBSCRIBE", "SUBSCRIPTION") or event == "subscribe":
            conn.books.update(channel_base(conn.venue, req))
            await conn.ws.send_str(_ack(conn.venue, req)[0])
        elif method in ("UNSUBSCRIBE", "UNSUBSCRIPTION") or event == "unsubscribe":
            conn.books.difference_update(channel_base(conn.venue, req))
            await conn.ws.send_str(_ack(conn.venue, req)[0])

    def prep(self) -> dict[str, int]:
        total = 0
        for conn in self.conns:
            books = [self.frames[conn.venue][b] for b in sorted(conn.books) if b in self.frames[conn.venue]]
            interleaved = [book[n] for n in range(min(map(len, books), default=0)) for book in books]
            total += len(interleaved)
            conn.chunks = [b"".join(interleaved[i:i + FRAMES_PER_CHUNK])
                           for i in range(0, len(interleaved), FRAMES_PER_CHUNK)]
        return {"connections": sum(1 for c in self.conns if c.chunks), "frames": total}

    def go(self) -> None:
        for conn in self.conns:
            if conn.chunks or (self.rate and conn.books):
                push = self._pace(conn) if self.rate else self._push(conn)
                task = asyncio.get_running_loop().create_task(push)
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)

    def count(self) -> dict[str, float]:
        waited = sum(int((t / "schedstat").read_text().split()[1]) for t in Path("/proc/self/task").iterdir())
        return {"books": sum(len(c.books) for c in self.conns), "sent": self.sent, "cpu": time.process_time(),
                "waited": waited / 1e9}

    async def _pace(self, conn: _Conn) -> None:
        """Write each of the connection's books' diffs when due (see the module docstring)."""
        transport = conn.request.transport
        order = sorted(conn.books)
        changes = [_cycle(conn.venue, base) for base in order]
        books, per_s = len(order), self.rate * len(order)
        start, sent = time.monotonic(), 0
        while transport is not None and not transport.is_closing():
            await asyncio.sleep(PACE_S)
            if transport.get_write_buffer_size() > PACE_HIGH_WATER:  # the receiver is behind: hold back
                continue
            due = int((time.monotonic() - start) * per_s)
            if due <= sent:
                continue
            ms = time.time_ns() // 1_000_000
            frames = []
            for k in range(sent, due):
                j, n = k % books, k // books
                frames.append(depth_frame(conn.venue, order[j], FIRST_ID + n, ms, *changes[j][n % CYCLE]))
            transport.write(b"".join(frames))
            self.sent += due - sent
            sent = due

    @staticmethod
    async def _push(conn: _Conn) -> None:
        transport = conn.request.transport
        chunks, conn.chunks = conn.chunks, []
        for chunk in chunks:
            if transport is None or transport.is_closing():
                return
            while transport.get_write_buffer_size() > HIGH_WATER:  # MBs queued: a worker's 0.1 s or more
                await asyncio.sleep(0.005)  # not a spin: with 2 workers the pusher shares their CPUs
            transport.write(chunk)


def _cycle(venue: str, base: str) -> list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """CYCLE change sets of ``<base>/USDT`` (``C<i>``: symbol i's price levels) on `venue`."""
    i = int(base[1:])
    rng = random.Random(f"{venue}{base}")
    return [random_changes(rng, i) for _ in range(CYCLE)]


def build(symbols: list[str], per_book: int) -> dict[str, dict[str, list[bytes]]]:
    now_ms = time.time_ns() // 1_000_000  # event times near now: the engine's lag gate reads them
    out: dict[str, dict[str, list[bytes]]] = {}
    for seed, venue in enumerate(VENUES):
        rng = random.Random(seed)
        out[venue] = {base: [depth_frame(venue, base, FIRST_ID + n, now_ms + n, *random_changes(rng, i))
                             for n in range(per_book)] for i, base in enumerate(symbols)}
    return out


async def main(args: argparse.Namespace) -> None:
    pusher = ShardPusher({} if args.rate else build(bases(args.symbols), args.frames_per_book), args.rate)
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
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "prep":
            print(json.dumps(pusher.prep()), flush=True)
        elif line == "go":
            pusher.go()
        elif line == "count":
            print(json.dumps(pusher.count()), flush=True)
        else:  # "stop" or EOF
            break
    for runner in runners:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames-per-book", type=int, default=1000)
    parser.add_argument("--symbols", type=int, default=100)
    parser.add_argument("--rate", type=float, default=0.0, help="paced: diffs a second a book")
    asyncio.run(main(parser.parse_args()))
