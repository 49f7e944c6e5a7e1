"""The symbol universe's inputs on OKX and Bybit: asset aliases and bulk tickers, on the real samples
(replayed over loopback) and against the simulator (one request for every symbol, equal to `ticker`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arb.config import VenueConfig
from arb.model import Symbol
from arb.sim.server import SimExchange
from arb.venues.bybit import codec as bybit
from arb.venues.bybit import constants as bybit_c
from arb.venues.okx import codec as okx
from arb.venues.okx import constants as okx_c
from arb.venues.okx import orders as okx_orders
from arb.venues.registry import VENUES, make_public
from tests.venues.conftest import ReplayServer

BTC = Symbol("BTC", "USDT")


def test_okx_aliases_convert_at_the_package_edge() -> None:
    assert VENUES["okx"].aliases == {"AE": "AET"}  # ccxt's okx commonCurrencies: AE is Aeternity
    aeternity = Symbol("AET", "USDT")
    assert okx.parse_inst("AE-USDT") == aeternity and okx.inst_id(aeternity) == "AE-USDT"
    assert okx.inst_id(BTC) == "BTC-USDT" and okx.parse_inst("BTC-USDT") == BTC
    assert okx.venue_asset("AE") == "AE?"  # the common AE is not OKX's AE: never its instrument
    body = json.dumps({"code": "0", "msg": "", "data": [{"details": [
        {"ccy": "AE", "availBal": "3", "frozenBal": "1"}]}]}).encode()
    assert {b.asset: (b.free, b.locked) for b in okx_orders.decode_balances(body).values()} == {
        "AET": (3, 1)}
    instruments = json.dumps({"code": "0", "msg": "", "data": [{
        "instType": "SPOT", "instId": "AE-USDT", "baseCcy": "AE", "quoteCcy": "USDT", "state": "live",
        "tickSz": "0.001", "lotSz": "0.01", "minSz": "1", "maxLmtSz": "100000"}]}).encode()
    (info,) = okx.decode_symbols(instruments)
    assert info.symbol == Symbol("AET", "USDT") and info.venue_symbol == "AE-USDT"


def test_bybit_spells_every_symbol_through_its_alias_table() -> None:
    assert VENUES["bybit"].aliases == {}  # none known: ccxt keeps no Bybit-specific renames
    assert bybit_c.SPELLING.venue(BTC) == "BTCUSDT"
    assert bybit_c.SPELLING.common("ETHUSDC") == Symbol("ETH", "USDC")


def test_okx_tickers_on_the_samples(samples_dir: Path) -> None:
    pushed = json.loads((samples_dir / "okx/ws_tickers_push_recorded.json").read_text())["data"]
    body = json.dumps({"code": "0", "msg": "", "data": pushed}).encode()  # the REST list holds the same rows
    (ticker,) = okx.decode_tickers(body)
    assert (ticker.symbol, ticker.last, ticker.bid, ticker.ask) == (BTC, 30236.0, 30228.6, 30228.7)
    assert (ticker.volume_base, ticker.volume_quote) == (17602.13085371, 525802090.62716611)
    assert ticker.ts_event == 1652459224956 * 1_000_000
    # the documented reply is a SWAP row: not a spot pair, skipped
    assert okx.decode_tickers((samples_dir / "okx/rest_ticker_docs.json").read_bytes()) == []


def test_bybit_tickers_on_the_sample(samples_dir: Path) -> None:
    raw = json.loads((samples_dir / "bybit/rest_tickers_spot_docs.json").read_text())
    (ticker,) = bybit.decode_tickers(json.dumps(raw["result"]).encode(), raw["time"])
    assert (ticker.symbol, ticker.last, ticker.bid, ticker.ask) == (BTC, 20533.13, 20517.96, 20527.77)
    assert (ticker.volume_base, ticker.volume_quote) == (11801.27771, 243765620.65899866)


async def test_bulk_tickers_are_one_request_through_the_registry(
        samples_dir: Path, replay_server: ReplayServer) -> None:
    url, seen = await replay_server({
        okx_c.TICKERS: samples_dir / "okx/rest_ticker_docs.json",
        bybit_c.TICKERS: samples_dir / "bybit/rest_tickers_spot_docs.json"}, {})
    for venue in ("okx", "bybit"):
        public = make_public(venue, VenueConfig(rest_url=url))
        try:
            tickers = await public.tickers()
        finally:
            await public.close()
        assert [t.symbol for t in tickers] == ([] if venue == "okx" else [BTC])
    assert [(r.path, dict(r.query)) for r in seen] == [
        (okx_c.TICKERS, {"instType": "SPOT"}), (bybit_c.TICKERS, {"category": "spot"})]


@pytest.mark.parametrize("venue", ["okx", "bybit"])
async def test_bulk_tickers_match_the_simulator(venue: str) -> None:
    sim = SimExchange([venue], seed=3, step_s=60.0)  # no re-quote between the two reads
    urls = await sim.start()
    public = make_public(venue, VenueConfig(rest_url=urls[venue][0]))
    try:
        every = {t.symbol: t for t in await public.tickers()}
        listed = {i.symbol for i in await public.symbols() if i.tradable}
        assert set(every) == listed and BTC in every
        one = await public.ticker(BTC)
        bulk = every[BTC]
        assert (bulk.bid, bulk.ask, bulk.volume_quote) == (one.bid, one.ask, one.volume_quote)
    finally:
        await public.close()
        await sim.close()
