"""GatePublic against a loopback server replaying the real sample bodies; requests checked."""

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
from arb.venues.gateio import codec
from arb.venues.gateio import constants as c
from arb.venues.gateio.public import GatePublic
from tests.venues.conftest import ReplayServer

ROUTES = {
    c.TIME: "server_time.json", c.CURRENCY_PAIRS: "currency_pairs.json",
    c.ORDER_BOOK: "order_book_snapshot_OMG_USDT.json", c.TRADES: "trades.json", c.TICKERS: "tickers.json",
    c.CANDLES: "candlesticks.json",
}


@pytest.fixture
async def venue(samples_dir: Path, replay_server: ReplayServer
                ) -> AsyncIterator[tuple[GatePublic, list[web.Request], RateLimiter]]:
    routes = {path: samples_dir / "gateio" / name for path, name in ROUTES.items()}
    base, seen = await replay_server(routes, {"X-Gate-RateLimit-Requests-Remain": "150"})
    limiter = RateLimiter(c.VENUE, c.POOLS)
    rest = RestClient(c.VENUE, base, connection=ConnectionConfig(), decode_error=codec.decode_error,
                      error_class=codec.error_class, limiter=limiter)
    public = GatePublic(rest, clock_ns=lambda: 42)
    yield public, seen, limiter
    await public.close()


async def test_market_data_methods(venue: tuple[GatePublic, list[web.Request], RateLimiter]) -> None:
    public, seen, limiter = venue
    omg = Symbol("OMG", "USDT")
    assert await public.server_time() == 1597026383085
    infos = {i.venue_symbol: i for i in await public.symbols()}
    pair = infos["OMG_USDT"]
    assert pair.symbol == omg and pair.status is SymbolStatus.TRADING
    assert pair.tick_size == Decimal("0.001") and pair.step_size == Decimal("0.001")
    assert pair.min_notional == Decimal("1")
    book = await public.orderbook(omg, limit=500)
    assert book.update_id == 59231869 and book.asks[0].price == 7.927
    assert seen[-1].query["limit"] == "100" and seen[-1].query["with_id"] == "true"
    assert seen[-1].query["currency_pair"] == "OMG_USDT"
    trades = await public.recent_trades(omg)
    assert trades[0].trade_id == "1232893232" and trades[0].side is Side.BUY and trades[0].size == 0.15
    ticker = await public.ticker(omg)
    assert ticker.last == 2.46140352 and ticker.ask == 2.477
    kline = (await public.klines(omg, KlineInterval.M1, limit=1))[0]
    assert (kline.open, kline.high, kline.low, kline.close) == (0.0021737, 0.0021922, 0.0021724, 0.0021724)
    assert kline.open_time == 1539852480 * 10**9 and kline.closed
    assert limiter.headroom()["public"] <= 0.75 + 1e-9  # the remaining-requests header lowered the pool
