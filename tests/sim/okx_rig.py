"""Test-side OKX v5 client pieces, written from the fact sheet on their own (not the simulator's helpers):
request signing, the WS login, a local ``books`` book with its checksum, and a running simulator."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp

from arb.model import Symbol
from arb.sim.accounts import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET
from arb.sim.okx import OkxDialect
from arb.sim.server import SimExchange

BTC = Symbol("BTC", "USDT")
RECEIVE_S = 10.0  # a guard against a hang, not a timing check


def iso(ms: int) -> str:
    """``2020-12-08T09:08:57.715Z``: UTC with exactly three millisecond digits."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def sign(secret: str, prehash: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()).decode()


def crc32_signed(bids: list[list[str]], asks: list[list[str]]) -> int:
    """The fact sheet's checksum: best 25 bids and asks interleaved, ``:``-joined, CRC32 as signed int."""
    parts: list[str] = []
    for i in range(25):
        for side in (bids, asks):
            if i < len(side):
                parts.extend(side[i][:2])
    value = zlib.crc32(":".join(parts).encode())
    return value - 2**32 if value >= 2**31 else value


@dataclass
class LocalBook:
    """One instrument's book kept from ``books`` pushes as the fact sheet's §1.9 says."""

    bids: dict[Decimal, list[str]] = field(default_factory=dict)
    asks: dict[Decimal, list[str]] = field(default_factory=dict)
    seq: int | None = None

    def apply(self, action: str, data: Mapping[str, Any]) -> None:
        if action == "snapshot":
            assert data["prevSeqId"] == -1
            self.bids, self.asks = {}, {}
        else:
            assert data["prevSeqId"] == self.seq, f"chain broken: {data['prevSeqId']} after {self.seq}"
        for side, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
            for lv in levels:
                if Decimal(lv[1]) == 0:
                    side.pop(Decimal(lv[0]), None)
                else:
                    side[Decimal(lv[0])] = [lv[0], lv[1]]
        self.seq = data["seqId"]

    def top(self, is_bid: bool, depth: int = 25) -> list[list[str]]:
        side = self.bids if is_bid else self.asks
        return [side[p] for p in sorted(side, reverse=is_bid)[:depth]]

    def checksum(self) -> int:
        return crc32_signed(self.top(True), self.top(False))

    def levels(self, is_bid: bool, depth: int) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(p), Decimal(q)) for p, q in self.top(is_bid, depth)]


class OkxRig:
    """Signed REST calls and sockets against one running simulated OKX."""

    def __init__(self, sim: SimExchange, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.rest, self.ws_public = sim.urls["okx"]
        self.ws_private = self.ws_public.replace("/public", "/private")
        dialect = sim.dialects["okx"]
        assert isinstance(dialect, OkxDialect)
        self.dialect = dialect

    async def call(self, method: str, path: str, params: Mapping[str, str] | None = None, body: object = None,
                   *, signed: bool = True, stamp_ms: int | None = None, secret: str = SIM_SECRET,
                   key: str = SIM_KEY, passphrase: str = SIM_PASSPHRASE,
                   headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
        request_path = path + (f"?{urlencode(params)}" if params else "")
        text = json.dumps(body) if body is not None else ""
        sent: dict[str, str] = {"Content-Type": "application/json"}
        if signed:
            stamp = iso(stamp_ms if stamp_ms is not None else time.time_ns() // 1_000_000)
            sent.update({"OK-ACCESS-KEY": key, "OK-ACCESS-PASSPHRASE": passphrase,
                         "OK-ACCESS-TIMESTAMP": stamp,
                         "OK-ACCESS-SIGN": sign(secret, f"{stamp}{method}{request_path}{text}")})
        sent.update(headers or {})
        async with self.session.request(method, self.rest + request_path, data=text.encode() or None,
                                        headers=sent) as resp:
            return resp.status, await resp.json(content_type=None)

    async def order(self, **fields: str) -> Any:
        body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "ioc", "sz": "0.001",
                **fields}
        status, answer = await self.call("POST", "/api/v5/trade/order", body=body)
        assert status == 200, answer
        return answer

    def touch(self, symbol: Symbol = BTC) -> tuple[Decimal, Decimal]:
        """(best bid, best ask) of the simulated book."""
        _, bids, asks = self.sim.market.snapshot("okx", symbol, 1)
        return bids[0][0], asks[0][0]

    def low(self) -> str:
        """A buy price well under the touch (the order rests)."""
        bid, _ = self.touch()
        return format((bid * Decimal("0.9")).quantize(self.sim.market.specs[BTC].tick), "f")


def login(secret: str = SIM_SECRET, *, key: str = SIM_KEY, passphrase: str = SIM_PASSPHRASE,
          stamp_s: int | None = None) -> dict[str, Any]:
    """The private socket's login request, signed here."""
    stamp = str(int(time.time()) if stamp_s is None else stamp_s)
    return {"op": "login", "args": [{"apiKey": key, "passphrase": passphrase, "timestamp": stamp,
                                     "sign": sign(secret, f"{stamp}GET/users/self/verify")}]}


async def receive_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=RECEIVE_S)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


@asynccontextmanager
async def running(seed: int = 5, *, still: bool = True, **kw: Any) -> AsyncIterator[OkxRig]:
    """A simulated OKX (a still market unless `still` is False) and a client session."""
    sim = SimExchange(["okx"], seed=seed, step_s=kw.pop("step_s", 0.05), **kw)
    await sim.start()
    if still:
        await sim.close_driver()
    try:
        async with aiohttp.ClientSession() as session:
            yield OkxRig(sim, session)
    finally:
        await sim.close()
