"""WsClient against a WebSocket server on 127.0.0.1: frames, acks, reconnects, idle, rotation, caps."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from arb.net.ratelimit import TokenBucket
from arb.net.ws import WsClient


class Dialect:
    """A small JSON protocol with acks by id, like the venues'."""

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"op": "sub", "args": list(channels), "id": request_id})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str:
        return json.dumps({"op": "unsub", "args": list(channels), "id": request_id})

    def ack(self, frame: str) -> int | None:
        msg = json.loads(frame)
        if "error" in msg:
            raise ValueError(msg["error"])
        return msg.get("ack")

    def is_control(self, frame: bytes | str) -> bool:
        return isinstance(frame, str) and (frame.startswith('{"ack"') or frame.startswith('{"pong"')
                                           or frame.startswith('{"error"'))

    def ping(self) -> str:
        return '{"op": "ping"}'


class Server:
    def __init__(self) -> None:
        self.sockets: list[tuple[web.WebSocketResponse, set[str]]] = []
        self.subscribes: list[list[str]] = []
        self.ack = True
        self.refuse = False
        self.close_after_ack = False
        self.send_data = True
        self.pings = 0
        self.seq = 0
        self.received: list[float] = []  # monotonic receive time of every request

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        channels: set[str] = set()
        self.sockets.append((ws, channels))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = json.loads(msg.data)
            self.received.append(time.monotonic())
            if req["op"] == "sub":
                self.subscribes.append(req["args"])
                if self.refuse:
                    await ws.send_str(json.dumps({"error": "unknown channel", "id": req["id"]}))
                elif self.ack:
                    channels.update(req["args"])
                    await ws.send_str(json.dumps({"ack": req["id"]}))
                    if self.close_after_ack:
                        await ws.close()
            elif req["op"] == "ping":
                self.pings += 1
                await ws.send_str('{"pong": true}')
        return ws

    async def broadcast(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            if not self.send_data:
                continue
            self.seq += 1
            for ws, channels in list(self.sockets):
                if ws.closed:
                    continue
                for ch in sorted(channels):
                    await ws.send_str(json.dumps({"ch": ch, "seq": self.seq}))
                if channels:
                    await ws.send_bytes(b"\x01\x02" + self.seq.to_bytes(4, "big"))

    async def kill_all(self) -> None:
        for ws, _ in self.sockets:
            await ws.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, str]]:
    srv = Server()
    app = web.Application()
    app.router.add_get("/ws", srv.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    pump = asyncio.create_task(srv.broadcast())
    yield srv, f"ws://127.0.0.1:{port}/ws"
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)
    await srv.kill_all()
    await runner.cleanup()


class Recorder:
    def __init__(self) -> None:
        self.frames: list[tuple[bytes | str, int]] = []
        self.states: list[tuple[bool, list[str]]] = []

    def on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        self.frames.append((frame, recv_ns))

    def on_state(self, up: bool, channels: Sequence[str]) -> None:
        self.states.append((up, list(channels)))

    def seqs(self) -> set[int]:
        return {json.loads(f)["seq"] for f, _ in self.frames if isinstance(f, str)}


def make(url: str, rec: Recorder, **kw: Any) -> WsClient:
    opts: dict[str, Any] = {"ack_timeout_s": 0.5, "ping_interval_s": 0.1, "transport_idle_s": 2.0,
                            "data_idle_s": 2.0, "backoff_base_s": 0.02, "backoff_max_s": 0.1,
                            "heartbeat_s": None}
    opts.update({"on_frame": rec.on_frame, **kw})
    return WsClient("test", url, dialect=Dialect(), on_state=rec.on_state, **opts)


async def wait_for(predicate: Any, timeout: float = 3.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


async def test_text_and_binary_frames_with_receive_times(server: tuple[Server, str]) -> None:
    srv, url = server
    rec = Recorder()
    client = make(url, rec)
    await client.subscribe(["a", "b"])
    await wait_for(lambda: len(rec.frames) > 20)
    assert any(isinstance(f, bytes) for f, _ in rec.frames)
    assert all(not (isinstance(f, str) and f.startswith('{"ack"')) for f, _ in rec.frames)
    assert all(t > 0 for _, t in rec.frames)
    assert rec.states[0] == (True, ["a", "b"])
    await wait_for(lambda: srv.pings >= 1)  # the app-level keep-alive went out
    stats = client.connections[0]
    assert stats.connects == 1 and stats.data_frames == len(rec.frames) and stats.bytes > 0
    await client.close()


async def test_reconnect_after_kill_resubscribes(server: tuple[Server, str]) -> None:
    srv, url = server
    rec = Recorder()
    client = make(url, rec)
    await client.subscribe(["a"])
    await wait_for(lambda: len(rec.frames) > 5)
    await srv.kill_all()
    await wait_for(lambda: len(rec.states) >= 3)
    assert [s[0] for s in rec.states[:3]] == [True, False, True]
    before = len(rec.frames)
    await wait_for(lambda: len(rec.frames) > before + 5)
    assert srv.subscribes == [["a"], ["a"]] and client.connections[0].connects == 2
    await client.close()


async def test_data_idle_triggers_reconnect(server: tuple[Server, str]) -> None:
    srv, url = server
    rec = Recorder()
    client = make(url, rec, data_idle_s=0.2, transport_idle_s=5.0)
    await client.subscribe(["a"])
    srv.send_data = False  # only pongs now: the transport is alive, the data is not
    await wait_for(lambda: client.connections[0].reasons.get("data idle", 0) >= 1)
    srv.send_data = True
    await wait_for(lambda: client.connections[0].connects >= 2)
    await client.close()


async def test_missing_ack_is_detected_and_retried(server: tuple[Server, str]) -> None:
    srv, url = server
    srv.ack = False
    rec = Recorder()
    client = make(url, rec, ack_timeout_s=0.1)
    await client.subscribe(["a"])
    await wait_for(lambda: client.connections[0].reasons.get("ConnectionError", 0) >= 2)
    assert rec.states == [] or all(not up for up, _ in rec.states)
    srv.ack = True
    await wait_for(lambda: any(up for up, _ in rec.states))
    await client.close()


async def test_rotation_is_make_before_break(server: tuple[Server, str]) -> None:
    _, url = server
    rec = Recorder()
    client = make(url, rec, lifetime_s=0.3)
    await client.subscribe(["a"])
    await wait_for(lambda: client.rotations >= 2)
    first, last = min(rec.seqs()), max(rec.seqs())
    assert set(range(first, last + 1)) <= rec.seqs()  # no hole across the rotations
    assert [up for up, _ in rec.states] == [True]  # never reported down
    await client.close()


async def test_subscription_cap_opens_more_connections(server: tuple[Server, str]) -> None:
    _, url = server
    rec = Recorder()
    client = make(url, rec, max_subscriptions=2)
    await client.subscribe(["a", "b", "c", "d", "e"])
    assert len(client.connections) == 3 and sorted(client.channels) == ["a", "b", "c", "d", "e"]
    await wait_for(lambda: {json.loads(f)["ch"] for f, _ in rec.frames if isinstance(f, str)} == set("abcde"))
    await client.unsubscribe(["e"])
    assert "e" not in client.channels
    await client.close()
    assert no_client_tasks()


def no_client_tasks() -> bool:
    return not [t for t in asyncio.all_tasks() if t.get_name().startswith("ws test")]


async def test_refused_subscription_drops_the_socket(server: tuple[Server, str]) -> None:
    srv, url = server
    srv.refuse = True
    rec = Recorder()
    client = make(url, rec, ack_timeout_s=5.0)
    await client.subscribe(["a"])
    await wait_for(lambda: client.connections[0].disconnects >= 1)
    assert "refused: unknown channel" in client.connections[0].last_reason
    assert rec.states == []  # never reported up
    await client.close()
    assert no_client_tasks()


async def test_backoff_grows_while_flapping_and_resets_once_stable(server: tuple[Server, str]) -> None:
    srv, url = server
    srv.close_after_ack = True  # every connection dies right after its subscription
    for stable_s, grows in ((60.0, True), (0.0, False)):
        waits: list[float] = []

        async def sleep(seconds: float, waits: list[float] = waits) -> None:
            waits.append(seconds)
            await asyncio.sleep(0.001)

        client = make(url, Recorder(), backoff_base_s=0.01, backoff_max_s=0.08, stable_s=stable_s,
                      sleep=sleep, rng=random.Random(5))
        await client.subscribe(["a"])
        await wait_for(lambda waits=waits: len(waits) >= 5)
        await client.close()
        base_max = 0.01 * 1.5  # the largest jittered wait at the base delay
        assert (max(waits[:5]) > base_max) is grows, waits
        assert all(w <= 0.08 * 1.5 for w in waits)
        assert client.connections[0].reconnects >= 4
    assert no_client_tasks()


async def test_a_failing_handler_costs_the_socket_not_the_client(server: tuple[Server, str]) -> None:
    _, url = server
    rec = Recorder()
    calls = {"n": 0}

    def on_frame(frame: bytes | str, recv_ns: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("bug in a handler")
        rec.on_frame(frame, recv_ns)

    client = make(url, rec, on_frame=on_frame)
    await client.subscribe(["a"])
    await wait_for(lambda: client.connections[0].reconnects >= 1 and len(rec.frames) > 10)
    assert client.connections[0].reasons.get("handler failed") == 1
    await client.close()
    assert no_client_tasks()


async def test_resubscribe_after_kill_splits_one_channel_requests(server: tuple[Server, str]) -> None:
    """Gate takes one pair per subscribe request: the reconnect path must not batch them."""
    srv, url = server
    rec = Recorder()
    client = make(url, rec, per_request=1)
    await client.subscribe(["a", "b", "c"])
    await wait_for(lambda: len(rec.frames) > 5)
    await srv.kill_all()
    await wait_for(lambda: client.connections[0].reconnects == 1)
    assert srv.subscribes == [["a"], ["b"], ["c"], ["a"], ["b"], ["c"]]
    await client.close()


async def test_requests_wait_for_the_sockets_message_budget(server: tuple[Server, str]) -> None:
    """Binance drops a connection that sends more than 5 messages/s: requests are paced, none lost."""
    srv, url = server
    rec = Recorder()
    client = make(url, rec, per_request=1, send_limit=(2, 20.0), ping_interval_s=60.0)
    started = time.monotonic()
    await client.subscribe([f"c{i}" for i in range(8)])
    await wait_for(lambda: len(srv.subscribes) == 8)
    # 2 at once, then one every 50 ms: 6 waits of 50 ms
    assert client.paced_s >= 0.25 and time.monotonic() - started >= 0.25
    assert srv.subscribes == [[f"c{i}"] for i in range(8)]
    assert client.connections[0].disconnects == 0  # every ack arrived in time
    await client.close()


async def test_connection_attempts_draw_from_a_shared_budget(server: tuple[Server, str]) -> None:
    """Binance allows 300 connection attempts per 5 min per IP: one bucket across the clients."""
    _, url = server
    budget = TokenBucket(1, 10.0)
    first, second = make(url, Recorder(), connect_budget=budget), make(url, Recorder(), connect_budget=budget)
    await first.subscribe(["a"])
    await second.subscribe(["b"])  # the budget refills one attempt per 100 ms
    assert first.paced_s == 0 and second.paced_s >= 0.05
    assert first.connections[0].connects == second.connections[0].connects == 1
    await first.close()
    await second.close()
