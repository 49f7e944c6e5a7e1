"""OkxPublic against a loopback server replaying the real OKX payloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.config import VenueConfig
from arb.errors import RateLimitError
from arb.model import Symbol
from arb.venues.okx import constants as c
from arb.venues.okx.public import OkxPublic
from arb.venues.registry import make_public
from tests.venues.conftest import ReplayServer

BTC = Symbol("BTC", "USDT")


async def test_market_data_through_the_registry(samples_dir: Path, replay_server: ReplayServer) -> None:
    okx = samples_dir / "okx"
    url, seen = await replay_server({
        c.INSTRUMENTS: okx / "rest_instruments_spot_recorded_trimmed.json",
        c.BOOKS: okx / "rest_order_book_docs.json",
        c.TICKER: okx / "rest_ticker_docs.json",
        c.TRADES: okx / "rest_trades_docs.json",
    }, {})
    public = make_public(c.VENUE, VenueConfig(rest_url=url))
    assert isinstance(public, OkxPublic)
    try:
        infos = await public.symbols()
        assert {i.venue_symbol for i in infos} == {"BTC-USDT", "ETH-USDT", "ETH-BTC"}
        book = await public.orderbook(BTC, 1000)
        assert book.update_id == 3235851742 and book.bids[0].price == 41006.3
        assert (await public.ticker(BTC)).last == 9999.99
        trades = await public.recent_trades(BTC, 5)
        assert [t.trade_id for t in trades] == ["242720720", "242720719"]
    finally:
        await public.close()
    queries = {r.path: dict(r.query) for r in seen}
    assert queries[c.INSTRUMENTS] == {"instType": "SPOT"}
    assert queries[c.BOOKS] == {"instId": "BTC-USDT", "sz": "400"}  # capped at the venue's maximum
    assert queries[c.TICKER] == {"instId": "BTC-USDT"}
    assert queries[c.TRADES] == {"instId": "BTC-USDT", "limit": "5"}


async def test_a_rate_limit_inside_a_200_pauses_the_limiter(samples_dir: Path,
                                                            replay_server: ReplayServer) -> None:
    url, _ = await replay_server({c.TIME: samples_dir / "okx/error_50011_rate_limit_nautilus.json"}, {})
    public = make_public(c.VENUE, VenueConfig(rest_url=url))
    assert isinstance(public, OkxPublic) and public.rest.limiter is not None
    try:
        with pytest.raises(RateLimitError) as caught:
            await public.server_time()
        assert caught.value.api_code == 50011 and caught.value.http_status == 200
        assert public.rest.limiter.rate_limited == 1
    finally:
        await public.close()
