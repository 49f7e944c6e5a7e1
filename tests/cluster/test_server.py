"""The fixture's servers are real: JetStream answers, a killed server stops answering."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arb.cluster.conn import ClusterError, connect, open_buckets
from arb.cluster.server import NatsServer


async def test_a_real_jetstream_server_serves_the_cluster_buckets(nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, name="probe")
    try:
        buckets = await open_buckets(nc.jetstream(), lease_s=2.0)
        revision = await buckets.ledger.put("sim.USDT", b"{}")
        entry = await buckets.ledger.get("sim.USDT")
        assert (entry.revision, entry.value) == (revision, b"{}")
        status = await buckets.leases.status()
        assert status.ttl == pytest.approx(1.2)  # 3/5 of the lease: renewed every 1/5
    finally:
        await nc.close()


async def test_a_killed_server_is_reported_as_unreachable(nats_server: NatsServer) -> None:
    url = nats_server.url
    nats_server.kill()
    with pytest.raises(ClusterError, match=re.escape(f"cannot reach NATS at {url}")):
        await connect(url, name="probe", first_timeout_s=1.0)


PARENT = """
import sys, time
from pathlib import Path
from arb.cluster.server import NatsServer
server = NatsServer(Path(sys.argv[1]))
server.start()
print(server.pid, server.port, flush=True)
time.sleep(600)
"""


def _nats_answers(port: int) -> bool:
    """A nats-server greets every connection with ``INFO {...}``. On a busy machine the freed port
    may already be another process's (CI saw one answer once), so a connection alone proves nothing."""
    with socket.socket() as s:
        s.settimeout(2.0)
        if s.connect_ex(("127.0.0.1", port)) != 0:
            return False
        try:
            return s.recv(4) == b"INFO"
        except OSError:
            return False


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (a dead child its new parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_server_dies_with_a_parent_killed_by_sigkill(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "nats")], stdout=subprocess.PIPE,
                              text=True, env={**os.environ, "PYTHONPATH": str(root)})
    try:
        assert parent.stdout is not None
        pid, port = map(int, parent.stdout.readline().split())  # once the server is ready
        assert _alive(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10  # a liveness bound: the kernel signals it at once
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"nats-server {pid} outlived its parent"
        assert not _nats_answers(port), "its port still answers as a nats-server"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(timeout=10)
        if parent.stdout is not None:
            parent.stdout.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_demo_cluster_killed_with_sigkill_takes_its_nats_server_along(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "out.txt"
    with out.open("wb") as sink:
        argv = [sys.executable, "-m", "arb.cli", "demo", "--cluster", "2", "--duration", "120", "--venues",
                "binance", "mexc", "--data-dir", str(tmp_path / "demo")]
        demo = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONPATH": str(root)})
    try:
        deadline = time.monotonic() + 90  # a liveness bound (a loaded machine starts slowly)
        while "worker w2 joined" not in out.read_text() and time.monotonic() < deadline:
            assert demo.poll() is None, out.read_text()
            time.sleep(0.1)
        assert "worker w2 joined" in out.read_text(), out.read_text()
        log = (tmp_path / "demo" / "nats" / "server.log").read_text()
        pid = int(log.split("]", 1)[0].lstrip("["))  # nats-server prefixes its lines with its pid
        assert _alive(pid)
        demo.send_signal(signal.SIGKILL)
        demo.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid), f"the demo's nats-server {pid} outlived it"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=10)
