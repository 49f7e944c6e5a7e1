from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
import pytest

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
                text = await r.text()
                assert text.startswith("arb_up 1\n") and "arb_event_loop_lag_seconds " in text
            async with http.get(f"{base}/status") as r:
                body = await r.json()
                assert body["state"] == "ACTIVE" and body["event_loop"]["implementation"] == "asyncio"
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


async def test_a_blocked_loop_makes_readyz_fail_and_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    server = HealthServer("127.0.0.1", 0, readiness=lambda: (True, {"reasons": []}),
                          metrics=lambda: b"", status=dict, loop_lag_warn_ms=20.0)
    port = await server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/readyz") as r:
                assert r.status == 200
            while server.loop_lag.samples < 1:
                await asyncio.sleep(0.02)
            with caplog.at_level(logging.WARNING, logger="arb.obs.health"):
                time.sleep(0.25)  # block the loop on purpose: the monitor's next wake-up is late
                samples = server.loop_lag.samples
                while server.loop_lag.samples == samples:
                    await asyncio.sleep(0.01)
                async with http.get(f"{base}/readyz") as r:
                    body = await r.json()
                    assert r.status == 503 and "event loop lag" in body["reasons"][0]
                async with http.get(f"{base}/metrics") as r:
                    assert "arb_event_loop_lag_warnings_total 0" not in await r.text()
                async with http.get(f"{base}/status") as r:
                    seen = (await r.json())["event_loop"]
            assert seen["max_lag_ms"] >= 100 and seen["lag_warnings"] >= 1 and seen["warn_ms"] == 20.0
            assert any("event loop lag" in rec.getMessage() for rec in caplog.records)
    finally:
        await server.stop()
