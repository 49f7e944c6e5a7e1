"""MexcPublic against a loopback server replaying the real sample bodies; requests checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web

from arb.config import ConnectionConfig
from arb.model import KlineInterval, Side, Symbol, SymbolStatus
from arb.net.ratelimit import RateLimiter
from arb.net.rest import RestClient
from arb.venues.mexc import codec
from arb.venues.mexc import constants as c
from arb.venues.mexc.public import MexcPublic
from tests.venues.conftest import ReplayServer

ROUTES = {
    c.TIME: "server_time.json", c.EXCHANGE_INFO: "exchange_info.json", c.DEPTH: "depth_snapshot.json",
    c.TRADES: "trades_doc.json", c.TICKER_24H: "ticker_24hr.json", c.KLINES: "klines.json",
}


@pytest.fixture
async def venue(samples_dir: Path, replay_server: ReplayServer
                ) -> AsyncIterator[tuple[MexcPublic, list[web.Request], RateLimiter]]:
    routes = {path: samples_dir / "mexc" / name for path, name in ROUTES.items()}
    base, seen = await replay_server(routes, {})
    limiter = RateLimiter(c.VENUE, c.POOLS)
    rest = RestClient(c.VENUE, base, connection=ConnectionConfig(), decode_error=codec.decode_error,
                      error_class=codec.error_class, limiter=limiter)
    public = MexcPublic(rest, clock_ns=lambda: 42)
    yield public, seen, limiter
    await public.close()


async def test_market_data_methods(venue: tuple[MexcPublic, list[web.Request], RateLimiter]) -> None:
    public, seen, limiter = venue
    btc = Symbol("BTC", "USDT")
    assert await public.server_time() == 1645539742000
    (ogn,) = await public.symbols()
    assert ogn.symbol == Symbol("OGN", "USDT") and ogn.status is SymbolStatus.TRADING
    assert ogn.tick_size == Decimal("0.0001") and ogn.step_size == Decimal("0.01")
    assert ogn.min_qty == Decimal("0.01") and ogn.min_notional == Decimal("5") and ogn.taker_fee == 0.002
    book = await public.orderbook(btc, limit=1000)
    assert book.update_id == 20453289489 and book.bids[0].price == 45995.47 and book.ts_recv == 42
    assert seen[-1].query["symbol"] == "BTCUSDT"
    trades = await public.recent_trades(btc)
    assert trades[0].trade_id == "1640830579240-0" and trades[0].side is Side.SELL and trades[0].price == 23.0
    ticker = await public.ticker(btc)
    assert ticker.last == 73397.77 and ticker.ask == 73369.84
    kline = (await public.klines(btc, KlineInterval.H1, limit=1))[0]
    assert kline.open == 73260.0 and kline.close == 73414.21 and seen[-1].query["interval"] == "60m"
    assert limiter.headroom()["ip"] < 1.0  # weights were drawn from the IP pool


def test_doc_symbol_with_spot_trading_disabled_is_halted(samples_dir: Path) -> None:
    body = b'{"symbols": [' + (samples_dir / "mexc/exchange_info_symbol_doc.json").read_bytes() + b"]}"
    (info,) = codec.decode_symbols(body)
    assert info.status is SymbolStatus.HALTED and info.tick_size == Decimal("0.001")
