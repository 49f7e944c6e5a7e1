"""Secrets: a live run with canary keys leaves them in no log line, metric, journal row, status or error."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from arb.config import default_config
from arb.credentials import Credentials, Secret, load_credentials
from arb.engine.engine import Engine
from arb.errors import AuthenticationError
from arb.ops.status import engine_status
from arb.sim.server import SimExchange
from arb.venues.registry import make_private
from tests.conftest import CANARY_KEY, CANARY_SECRET

VENUES = ["binance", "gateio", "mexc"]


async def test_canary_keys_appear_nowhere(tmp_path: Path) -> None:
    creds = {v: load_credentials(v) for v in VENUES}  # the session's canaries, from the environment
    assert all(c is not None and c.api_key.reveal() == CANARY_KEY for c in creds.values())
    sim = SimExchange(VENUES, seed=2, step_s=0.05, accounts={CANARY_KEY: (CANARY_SECRET, "sim")})
    urls = await sim.start()
    config = default_config(symbols=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
                            venues={v: {"rest_url": u[0], "ws_url": u[1]} for v, u in urls.items()},
                            engine={"data_dir": str(tmp_path), "mode": "live"})
    engine = Engine(config, credentials={v: c for v, c in creds.items() if c is not None})
    try:
        await engine.start()
        for _ in range(400):  # until it has traded (windows open every few seconds)
            if engine.outcomes:
                break
            await asyncio.sleep(0.05)
        assert engine.outcomes, "no trade happened"
        texts = [engine.metrics.render().decode(), json.dumps(engine.summary(), default=str),
                 json.dumps(engine_status(engine), default=str), repr(engine.config), repr(creds)]
        assert "binance" in config.venues
        wrong = make_private("binance", config.venues["binance"],
                             Credentials("binance", Secret(CANARY_KEY), Secret("not-" + CANARY_SECRET)))
        with pytest.raises(AuthenticationError) as refused:
            await wrong.balances()
        await wrong.close()
        texts.append(f"{refused.value!r} {refused.value}")
    finally:
        await engine.stop()
        await sim.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert stored, "the journal was written"
    for secret in (CANARY_KEY, CANARY_SECRET):
        assert secret.encode() not in stored
        assert not [t for t in texts if secret in t]
