from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from arb.obs.health import HealthServer, LoopLagMonitor


async def test_livez_readyz_metrics_status_on_loopback() -> None:
    state: dict[str, Any] = {"ready": False}
    server = HealthServer(
        "127.0.0.1", 0,
        readiness=lambda: (state["ready"], {"reasons": [] if state["ready"] else ["books not synced"]}),
        metrics=lambda: b"arb_up 1\n",
        status=lambda: {"state": "ACTIVE"},
    )
    port = await server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/livez") as r:
                assert r.status == 200
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 503 and (await r.json())["reasons"] == ["books not synced"]
            state["ready"] = True
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 200 and (await r.json())["ready"] is True
            async with http.get(f"{base}/metrics") as r:
                assert (await r.text()) == "arb_up 1\n"
            async with http.get(f"{base}/status") as r:
                assert (await r.json()) == {"state": "ACTIVE"}
    finally:
        await server.stop()


async def test_loop_lag_monitor_sees_a_blocked_loop() -> None:
    monitor = LoopLagMonitor(interval_s=0.01)
    monitor.start()
    await asyncio.sleep(0.03)
    time.sleep(0.1)  # block the loop on purpose
    await asyncio.sleep(0.03)
    await monitor.stop()
    assert monitor.samples >= 2 and monitor.max_lag_s >= 0.05
