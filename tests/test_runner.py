"""`run --sim` serves /livez, /readyz and /metrics from the running engine."""

from __future__ import annotations

import asyncio
import io
import socket
from pathlib import Path

import aiohttp

from arb.config import load_config
from arb.obs.metrics import parse_exposition
from arb.runner import run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "arb.toml"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_health_and_metrics_during_a_simulated_run(tmp_path: Path) -> None:
    port = _free_port()
    config = load_config(EXAMPLE, environ={
        "ARB__OBSERVABILITY__METRICS_PORT": str(port), "ARB__ENGINE__DATA_DIR": str(tmp_path),
    })
    out = io.StringIO()
    task = asyncio.create_task(run(config, sim=True, duration=3.0, out=out))
    base = f"http://127.0.0.1:{port}"
    ready = False
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            await asyncio.sleep(0.05)
            try:
                async with http.get(f"{base}/livez") as r:
                    assert r.status == 200
                async with http.get(f"{base}/readyz") as r:
                    if r.status == 200:
                        ready = True
                        break
            except aiohttp.ClientConnectionError:
                continue
        assert ready, out.getvalue()
        async with http.get(f"{base}/metrics") as r:
            samples = parse_exposition(await r.text())
        async with http.get(f"{base}/status") as r:
            status = await r.json()
    assert samples['arb_opportunity_funnel_total{stage="evaluated"}'] > 0
    assert samples["arb_trading_state"] == 1.0
    assert samples["arb_frame_to_decision_seconds_count"] > 0
    assert any(k.startswith('arb_book_state{symbol="BTC/USDT",venue="mexc"}') for k in samples)
    assert status["books_synced"] == status["books"] == 9
    assert await task == 0
    assert "health: http://127.0.0.1:" in out.getvalue()
