"""The fixture's servers are real: JetStream answers, a killed server stops answering."""

from __future__ import annotations

import re

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
