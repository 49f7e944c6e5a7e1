"""The simulator's larger universe: per-venue listings with partial overlaps, renamed assets, 24 h
volumes in the tickers, transfer status where the venue publishes it, listing changes while running."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from arb.model import Symbol
from arb.sim.market import default_universe
from arb.sim.server import SimExchange
from arb.sim.universe import PAIRS, large_universe

VENUES = ("binance", "gateio", "mexc", "bybit")


@pytest.fixture
async def sim() -> AsyncIterator[SimExchange]:
    exchange = SimExchange(VENUES, universe=large_universe(VENUES))
    await exchange.start()
    try:
        yield exchange
    finally:
        await exchange.close()


async def _get(url: str, **params: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(url, params=params) as response:
        assert response.status == 200, await response.text()
        return await response.json()


def test_the_default_five_keep_their_prices_ticks_and_steps() -> None:
    specs = {s.symbol: s for s in large_universe(VENUES).specs}
    for spec in default_universe():
        assert specs[spec.symbol] == spec


def test_the_overlaps_are_partial() -> None:
    listings = large_universe(VENUES).listings
    by_count: dict[int, int] = {}
    markets = {item.symbol for items in listings.values() for item in items}
    for symbol in markets:
        n = sum(1 for items in listings.values() if any(i.symbol == symbol for i in items))
        by_count[n] = by_count.get(n, 0) + 1
    assert 30 <= len(markets) <= 60
    assert set(by_count) == {1, 2, 3, 4}  # one venue only, two, three, all four
    quotes = {s.quote for s in markets}
    assert {"USDT", "USDC", "BTC"} <= quotes


async def test_each_dialect_lists_its_own_symbols_in_its_own_spelling(sim: SimExchange) -> None:
    binance = await _get(sim.urls["binance"][0] + "/api/v3/exchangeInfo")
    mexc = await _get(sim.urls["mexc"][0] + "/api/v3/exchangeInfo")
    gate = await _get(sim.urls["gateio"][0] + "/api/v4/spot/currency_pairs")
    bybit = await _get(sim.urls["bybit"][0] + "/v5/market/instruments-info", category="spot")
    names = {
        "binance": {s["symbol"] for s in binance["symbols"]},
        "mexc": {s["symbol"] for s in mexc["symbols"]},
        "gateio": {p["id"] for p in gate},
        "bybit": {i["symbol"] for i in bybit["result"]["list"]},
    }
    expected = {v: sum(1 for p in PAIRS if v in p.volumes) for v in VENUES}
    assert {v: len(n) for v, n in names.items()} == expected
    assert "GMTUSDT" in names["binance"] and "MXUSDT" not in names["binance"]
    # MEXC: StepN's GMT is STEPN, Neo's GAS is GASNEO, its own GMT is another token
    assert {"STEPNUSDT", "GASNEOUSDT", "GMTUSDT"} <= names["mexc"]
    assert "GASUSDT" not in names["mexc"]
    assert "GTC_USDT" in names["gateio"]  # Game.com there
    assert "ETH_BTC" in names["gateio"] and "BTCUSDC" in names["bybit"]


async def test_tickers_carry_each_venues_24h_volume(sim: SimExchange) -> None:
    table = {(v, p.symbol): m * 1e6 for p in PAIRS for v, m in p.volumes.items()}
    binance = {r["symbol"]: float(r["quoteVolume"])
               for r in await _get(sim.urls["binance"][0] + "/api/v3/ticker/24hr")}
    gate = {r["currency_pair"]: float(r["quote_volume"])
            for r in await _get(sim.urls["gateio"][0] + "/api/v4/spot/tickers")}
    mexc = {r["symbol"]: float(r["quoteVolume"])
            for r in await _get(sim.urls["mexc"][0] + "/api/v3/ticker/24hr")}
    assert len(binance) == sum(1 for v, _ in table if v == "binance")
    # the history's volume (a few prints of the running market may add to it)
    assert binance["BTCUSDT"] == pytest.approx(table[("binance", "BTC/USDT")], rel=0.01)
    assert gate["ZEC_USDT"] == pytest.approx(table[("gateio", "ZEC/USDT")], rel=0.05)
    assert mexc["STEPNUSDT"] == pytest.approx(table[("mexc", "GMT/USDT")], rel=0.01)


async def test_gate_publishes_transfer_status_with_one_asset_suspended(sim: SimExchange) -> None:
    rows = {r["currency"]: r for r in await _get(sim.urls["gateio"][0] + "/api/v4/spot/currencies")}
    assert rows["GAS"]["withdraw_disabled"] is True and rows["GAS"]["deposit_disabled"] is False
    assert rows["KAS"]["deposit_disabled"] is True
    assert rows["BTC"]["withdraw_disabled"] is False and rows["BTC"]["deposit_disabled"] is False


async def test_a_listing_can_change_while_running(sim: SimExchange) -> None:
    url = sim.urls["binance"][0] + "/api/v3/exchangeInfo"
    sim.market.set_listed("binance", Symbol("ADA", "USDT"), False)
    assert "ADAUSDT" not in {s["symbol"] for s in (await _get(url))["symbols"]}
    depth = await _get(sim.urls["binance"][0] + "/api/v3/depth", symbol="ADAUSDT", limit="5")
    assert depth["bids"]  # the book keeps running while unlisted
    sim.market.set_listed("binance", Symbol("ADA", "USDT"), True)
    assert "ADAUSDT" in {s["symbol"] for s in (await _get(url))["symbols"]}


def test_a_renamed_listing_follows_the_market_price() -> None:
    universe = large_universe(VENUES)
    sim = SimExchange(VENUES, universe=universe)
    market = sim.market
    stepn = market.mid("mexc", Symbol("STEPN", "USDT"))
    gmt = market.mid("binance", Symbol("GMT", "USDT"))
    token = market.mid("mexc", Symbol("GMT", "USDT"))  # GMT Token: another price
    assert abs(stepn - gmt) / gmt < Decimal("0.01")
    assert abs(token - Decimal("0.05")) / Decimal("0.05") < Decimal("0.01")
    assert market.name_of("mexc", Symbol("GMT", "USDT")) == Symbol("STEPN", "USDT")


def test_the_universe_names_no_venue() -> None:
    from pathlib import Path

    from tests.test_no_venue_names import mentions

    arb = Path(__file__).resolve().parents[2] / "arb"
    found = [(path.name, line) for path in (arb / "universe.py", arb / "engine" / "universe.py",
                                            arb / "ops" / "symbols.py")
             for _, _, line in mentions(path.read_text(encoding="utf-8"))]
    assert found == []
