"""Raw Bybit v5 calls against the simulator for the ``test_bybit_*`` tests.

The signing here is written from the fact sheet (§2.4) on its own, with `hmac` directly: it shares no
code with the simulator's check (`arb.sim.bybit_private`) nor with the client (`arb.venues.bybit`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp

from arb.model import Side, Symbol
from arb.sim.accounts import SIM_KEY, SIM_SECRET
from arb.sim.bybit import BybitDialect
from arb.sim.server import SimExchange

BTC = Symbol("BTC", "USDT")
VENUE = "bybit"
RECV_WINDOW = "5000"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rest_sign(secret: str, stamp: str, key: str, window: str, payload: str) -> str:
    return hmac.new(secret.encode(), (stamp + key + window + payload).encode(), hashlib.sha256).hexdigest()


def ws_auth(secret: str = SIM_SECRET, key: str = SIM_KEY, expires: int | None = None) -> dict[str, Any]:
    expires = now_ms() + 10_000 if expires is None else expires
    sign = hmac.new(secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
    return {"req_id": "auth-1", "op": "auth", "args": [key, expires, sign]}


class Bybit:
    """Signed and unsigned calls to one running simulated Bybit."""

    def __init__(self, sim: SimExchange, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.rest, self.ws = sim.urls[VENUE]
        self.private_ws = self.ws.replace("/v5/public/spot", "/v5/private")
        dialect = sim.dialects[VENUE]
        assert isinstance(dialect, BybitDialect)
        self.dialect = dialect

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        query = urlencode(params or {})
        async with self.session.get(self.rest + path + (f"?{query}" if query else "")) as resp:
            return await resp.json()

    async def signed(self, method: str, path: str, params: Mapping[str, str] | None = None,
                     body: Mapping[str, Any] | None = None, *, secret: str = SIM_SECRET, key: str = SIM_KEY,
                     stamp: int | None = None) -> tuple[int, Any, Mapping[str, str]]:
        query = urlencode(params or {})
        text = "" if body is None else json.dumps(body)
        ts = str(now_ms() if stamp is None else stamp)
        headers = {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": RECV_WINDOW,
                   "X-BAPI-SIGN": rest_sign(secret, ts, key, RECV_WINDOW, query if method == "GET" else text),
                   "Content-Type": "application/json"}
        url = self.rest + path + (f"?{query}" if query else "")
        async with self.session.request(method, url, data=text.encode() or None, headers=headers) as resp:
            return resp.status, await resp.json(), resp.headers

    async def call(self, method: str, path: str, params: Mapping[str, str] | None = None,
                   body: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        """A signed call's JSON body."""
        _, payload, _ = await self.signed(method, path, params, body, **kw)
        return payload

    async def order(self, **fields: Any) -> Any:
        body = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
                **fields}
        return await self.call("POST", "/v5/order/create", body=body)

    def touch(self, side: Side) -> Decimal:
        _, bids, asks = self.sim.market.snapshot(VENUE, BTC, 1)
        return (asks if side is Side.BUY else bids)[0][0]

    def resting_price(self) -> str:
        tick = self.sim.market.specs[BTC].tick
        return format((self.touch(Side.BUY) * Decimal("0.9")).quantize(tick), "f")


@asynccontextmanager
async def running(seed: int = 7, **kw: Any) -> AsyncIterator[Bybit]:
    """A still simulated Bybit (the market moves only when a test steps it) and a session."""
    sim = SimExchange([VENUE], seed=seed, step_s=0.05, **kw)
    await sim.start()
    await sim.close_driver()
    try:
        async with aiohttp.ClientSession() as session:
            yield Bybit(sim, session)
    finally:
        await sim.close()


async def text_frame(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=10)  # a guard against a hang, not a timing check
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)
