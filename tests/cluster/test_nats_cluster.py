"""A 3-node NATS cluster (replicas = 3) with the node a worker is connected to killed: the worker
fails closed, reconnects to another node (learnt from the cluster), confirms its allocation and
opens trades again; nothing it published is lost from the event stream."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import nats.errors

from arb.cluster.conn import EVENTS_STREAM, ClusterError, ClusterSettings, connect
from arb.cluster.events import EventKind
from arb.cluster.server import NatsServer
from arb.cluster.worker import ClusterWorker, WorkerState
from arb.config import default_config
from arb.engine.risk import RiskManager
from arb.model import Symbol

BTC = Symbol("BTC", "USDT")


async def _until(predicate: object, timeout: float, what: str) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - began
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


async def test_a_worker_survives_the_loss_of_its_nats_node(nats_cluster: list[NatsServer],
                                                          tmp_path: Path) -> None:
    first = nats_cluster[0]
    config = default_config(symbols=["BTC/USDT"], venues=["binance", "mexc"])
    risk = RiskManager(config.risk, tmp_path / "state.json", time.time_ns)
    for venue in ("binance", "mexc"):
        risk.set_balance(venue, "USDT", Decimal(1000))
        risk.set_balance(venue, "BTC", Decimal(1))
    worker = ClusterWorker(ClusterSettings(first.url, "w1", lease_s=2.0, replicas=3), risk)
    for _ in range(40):  # the NATS cluster elects its JetStream leader first
        try:
            await worker.connect()
            break
        except ClusterError:  # not ready yet: JetStream answers "unavailable" until it has a leader
            await asyncio.sleep(0.5)
    else:
        raise AssertionError("the 3-node cluster never served JetStream")
    try:
        worker.attach([BTC], ["binance", "mexc"], risk.available)
        await _until(lambda: worker.state is WorkerState.TRADING, 20, "trading on the 3-node cluster")
        assert worker.events is not None
        for i in range(50):
            worker.events.emit(EventKind.FILL, {"n": i})
        await _until(lambda: worker.events is not None and worker.events.published >= 50, 10, "events out")
        first.kill()  # the node this worker talks to
        await _until(lambda: worker.state is WorkerState.FAILED_CLOSED, 10, "failed closed")
        for i in range(50, 100):  # published while away: queued, not lost
            worker.events.emit(EventKind.FILL, {"n": i})
        took = await _until(lambda: worker.state is WorkerState.TRADING, 30, "back on another node")
        await _until(lambda: worker.events is not None and worker.events.queued == 0, 15, "queue drained")
        published = worker.events.published
    finally:
        await worker.stop()
    nc = await connect(nats_cluster[1].url, name="observer")
    try:
        info = await nc.jetstream().stream_info(EVENTS_STREAM)
        assert info.config.num_replicas == 3
        for _ in range(6):  # the two nodes left may still be moving the stream's leadership: retry
            try:
                fills = await nc.jetstream().subscribe(f"arb.events.w1.{EventKind.FILL.name.lower()}",
                                                      ordered_consumer=True)
                break
            except nats.errors.TimeoutError:
                await asyncio.sleep(1.0)
        else:
            raise AssertionError("no consumer on the events stream after the node's loss")
        seen = set()
        while True:
            try:
                msg = await fills.next_msg(timeout=2.0)
            except TimeoutError:
                break
            seen.add(msg.data)
        numbers = sorted(int(d.split(b'"n":')[1].rstrip(b"}")) for d in seen)
    finally:
        await nc.close()
    assert numbers == list(range(100)), numbers[:10]  # every event, once, across the node's loss
    assert published >= 100
    print(f"back to trading {took:.2f} s after its NATS node was killed")
