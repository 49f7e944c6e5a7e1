"""The simulator's market model: determinism, exact replay of diffs, contiguous ids, arbitrage windows."""

from __future__ import annotations

from decimal import Decimal

from arb._core.book import L2Book
from arb._core.spread import find_opportunity
from arb.model import Symbol
from arb.sim.market import NS, MarketModel, VenueParams

BTC = Symbol("BTC", "USDT")
VENUES = [VenueParams("binance", latency_ms=20), VenueParams("gateio", latency_ms=80),
          VenueParams("mexc", latency_ms=150, noise_bps=6)]


def test_same_seed_same_market() -> None:
    a, b = MarketModel(VENUES, seed=7), MarketModel(VENUES, seed=7)
    for t in range(1, 50):
        assert a.step(t * 100_000_000) == b.step(t * 100_000_000)
    assert a.snapshot("mexc", BTC) == b.snapshot("mexc", BTC)
    assert MarketModel(VENUES, seed=8).snapshot("mexc", BTC) != a.snapshot("mexc", BTC)
    assert "seed=7" in repr(a)


def test_diffs_replayed_on_a_snapshot_reproduce_the_book_and_ids_are_contiguous() -> None:
    market = MarketModel(VENUES, seed=3)
    start_id, bids, asks = market.snapshot("gateio", BTC, limit=10_000)
    copy = {True: dict(bids), False: dict(asks)}
    last = start_id
    seen = []
    market.subscribe("gateio", seen.append)
    for t in range(1, 200):
        market.step(t * 50_000_000)
    for diff in (d for d in seen if d.symbol == BTC):
        assert diff.first_id == last + 1 and diff.last_id >= diff.first_id
        last = diff.last_id
        for is_bid, levels in ((True, diff.bids), (False, diff.asks)):
            for price, qty in levels:
                if qty == 0:
                    copy[is_bid].pop(price, None)
                else:
                    copy[is_bid][price] = qty
        assert max(copy[True]) < min(copy[False])  # never crossed
    now_id, bids, asks = market.snapshot("gateio", BTC, limit=10_000)
    assert now_id == last
    assert copy[True] == dict(bids) and copy[False] == dict(asks)
    assert all(price == price.quantize(Decimal("0.01")) for price in copy[True])


def _book(levels: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> L2Book:
    book = L2Book()
    book.set_snapshot([float(p) for p, _ in levels], [float(q) for _, q in levels],
                      [float(p) for p, _ in asks], [float(q) for _, q in asks])
    return book


def _opportunity(market: MarketModel, symbol: Symbol) -> object:
    books = []
    for venue in market.venues:
        _, bids, asks = market.snapshot(venue, symbol, 50)
        books.append(_book(bids, asks))
    n = len(books)
    return find_opportunity(books, [0.001] * n, [1e9] * n, [1e12] * n, [True] * n, 5.0, 1e9, 1e-5)


def test_windows_open_by_themselves_and_on_demand() -> None:
    market = MarketModel(VENUES, seed=11)
    open_steps = 0
    for t in range(1, 601):  # a simulated minute, 100 ms steps
        market.step(t * 100_000_000)
        open_steps += _opportunity(market, BTC) is not None
    assert 3 <= open_steps <= 300  # windows clearing 5 bps net open, and close again
    calm = [VenueParams("binance", noise_bps=0.0, jump_rate_per_s=0.0),
            VenueParams("gateio", noise_bps=0.0, jump_rate_per_s=0.0)]
    quiet = MarketModel(calm, seed=1)
    quiet.step(NS)
    assert _opportunity(quiet, BTC) is None
    quiet.open_window(BTC, "binance", "gateio", net_bps=10.0, duration_ns=2 * NS)
    quiet.step(2 * NS)
    opp = _opportunity(quiet, BTC)
    assert opp is not None and opp.buy_venue == 0 and opp.sell_venue == 1 and opp.net_bps >= 9.0
    quiet.step(5 * NS)
    assert _opportunity(quiet, BTC) is None  # the window closed again


def test_halted_books_do_not_move() -> None:
    market = MarketModel(VENUES, seed=2)
    market.halt("binance", BTC)
    before = market.snapshot("binance", BTC)
    market.step(NS)
    assert market.snapshot("binance", BTC) == before
