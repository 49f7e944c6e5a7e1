"""BinancePublic against a loopback server replaying the real sample bodies; requests checked."""

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
from arb.venues.binance import codec
from arb.venues.binance import constants as c
from arb.venues.binance.public import BinancePublic
from tests.venues.conftest import ReplayServer

ROUTES = {
    c.TIME: "server_time.json", c.EXCHANGE_INFO: "exchange_info.json", c.DEPTH: "depth_snapshot_NKNUSDT.json",
    c.TRADES: "trades.json", c.TICKER_24H: "ticker_24hr.json", c.KLINES: "klines.json",
}


@pytest.fixture
async def venue(samples_dir: Path, replay_server: ReplayServer
                ) -> AsyncIterator[tuple[BinancePublic, list[web.Request], RateLimiter]]:
    routes = {path: samples_dir / "binance" / name for path, name in ROUTES.items()}
    base, seen = await replay_server(routes, {"X-MBX-USED-WEIGHT-1M": "100"})
    limiter = RateLimiter(c.VENUE, c.POOLS)
    rest = RestClient(c.VENUE, base, connection=ConnectionConfig(), decode_error=codec.decode_error,
                      error_class=codec.error_class, limiter=limiter)
    public = BinancePublic(rest, clock_ns=lambda: 42)
    yield public, seen, limiter
    await public.close()


async def test_market_data_methods(venue: tuple[BinancePublic, list[web.Request], RateLimiter]) -> None:
    public, seen, limiter = venue
    nkn = Symbol("NKN", "USDT")
    assert await public.server_time() == 1499827319559
    infos = {i.venue_symbol: i for i in await public.symbols()}
    lrc = infos["LRCBTC"]
    assert lrc.symbol == Symbol("LRC", "BTC") and lrc.status is SymbolStatus.TRADING
    assert lrc.tick_size == Decimal("1E-8") and lrc.step_size == Decimal("1")
    assert lrc.min_qty == Decimal("1.00000000") and lrc.min_notional == Decimal("0.00010000")
    book = await public.orderbook(nkn, limit=1000)
    assert book.update_id == 499869752 and book.ts_recv == 42 and book.bids[0].price == 0.3521
    assert seen[-1].query["symbol"] == "NKNUSDT" and seen[-1].query["limit"] == "1000"
    trades = await public.recent_trades(nkn, limit=5)
    assert trades[0].trade_id == "28457" and trades[0].side is Side.SELL and trades[0].price == 4.000001
    ticker = await public.ticker(nkn)
    assert ticker.last == 4.000002 and ticker.bid == 4.0
    klines = await public.klines(nkn, KlineInterval.H1, limit=1)
    assert klines[0].open == 0.0163479 and klines[0].open_time == 1499040000000 * 10**6
    assert seen[-1].query["interval"] == "1h"
    # every response's used-weight header corrected the pool: 100 of 6000 used
    assert limiter.headroom()["weight"] <= 1 - 100 / 6000 + 1e-9
