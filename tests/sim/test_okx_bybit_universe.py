"""OKX and Bybit in the simulator's large universe: each lists its own partial subset in its own
spelling, with its own 24 h volumes in the tickers; five venues overlap partially."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from arb.sim.server import SimExchange
from arb.sim.universe import PAIRS, large_universe

VENUES = ("binance", "gateio", "mexc", "bybit", "okx")


@pytest.fixture
async def sim() -> AsyncIterator[SimExchange]:
    exchange = SimExchange(["okx", "bybit"], universe=large_universe(["okx", "bybit"]))
    await exchange.start()
    await exchange.close_driver()  # a still market: the tickers show the history's volume only
    try:
        yield exchange
    finally:
        await exchange.close()


async def _get(url: str, **params: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def test_five_venues_overlap_partially() -> None:
    listings = large_universe(VENUES).listings
    markets = {item.symbol for items in listings.values() for item in items}
    counts = {sum(1 for items in listings.values() if any(i.symbol == s for i in items)) for s in markets}
    assert counts == {1, 2, 3, 4, 5}
    okx = {str(i.symbol) for i in listings["okx"]}
    bybit = {str(i.symbol) for i in listings["bybit"]}
    assert 25 <= len(okx) < len(markets) and 25 <= len(bybit) < len(markets)
    assert okx != bybit and len(okx & bybit) >= 20  # most overlap, each has its own
    assert "OKB/USDT" in okx - bybit and "MNT/USDT" in bybit - okx


async def test_okx_and_bybit_list_their_subsets_with_their_volumes(sim: SimExchange) -> None:
    table = {(v, p.symbol): m * 1e6 for p in PAIRS for v, m in p.volumes.items()}
    okx_url, bybit_url = sim.urls["okx"][0], sim.urls["bybit"][0]
    insts = (await _get(okx_url + "/api/v5/public/instruments", instType="SPOT"))["data"]
    symbols = (await _get(bybit_url + "/v5/market/instruments-info", category="spot"))["result"]["list"]
    assert {i["instId"] for i in insts} == {p.symbol.replace("/", "-") for p in PAIRS if "okx" in p.volumes}
    listed = {p.symbol.replace("/", "") for p in PAIRS if "bybit" in p.volumes}
    assert {s["symbol"] for s in symbols} == listed
    okx = {r["instId"]: float(r["volCcy24h"])
           for r in (await _get(okx_url + "/api/v5/market/tickers", instType="SPOT"))["data"]}
    bybit = {r["symbol"]: float(r["turnover24h"])
             for r in (await _get(bybit_url + "/v5/market/tickers", category="spot"))["result"]["list"]}
    assert set(okx) == {i["instId"] for i in insts} and set(bybit) == {s["symbol"] for s in symbols}
    for inst, volume in okx.items():
        assert volume == pytest.approx(table[("okx", inst.replace("-", "/"))], rel=0.05), inst
    for name, volume in bybit.items():
        pair = next(p.symbol for p in PAIRS if p.symbol.replace("/", "") == name)
        assert volume == pytest.approx(table[("bybit", pair)], rel=0.05), name
    assert okx["BTC-USDT"] > okx["OKB-USDT"] > okx["ZEC-USDT"]
