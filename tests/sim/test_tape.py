"""The public trade tape: fills and synthetic prints, bounded history, 24 h windows and candles."""

from __future__ import annotations

from decimal import Decimal

from arb.model import Side, Symbol
from arb.sim.limits import FACTS
from arb.sim.market import NS, MarketModel, VenueParams
from arb.sim.matching import Ledger, MatchingEngine
from arb.sim.tape import DAY_MS, PublicTrade, TradeTape, candles, window_stats

BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
D = Decimal
VENUES = [VenueParams("binance", latency_ms=20), VenueParams("mexc", latency_ms=150, noise_bps=6)]


def _trade(trade_id: int, price: str, qty: str, side: Side, ts_ms: int) -> PublicTrade:
    return PublicTrade("binance", BTC, trade_id, trade_id, D(price), D(qty), side, ts_ms)


def test_tape_numbers_prints_keeps_a_bounded_history_and_pushes_batches() -> None:
    tape = TradeTape(["binance", "gateio"], history=3)
    batches: list[list[PublicTrade]] = []
    tape.subscribe("binance", batches.append)
    first = tape.print("binance", BTC, Side.BUY, [(D("100"), D("1")), (D("101"), D("2"))], 5)
    tape.print("binance", ETH, Side.SELL, [(D("10"), D("3"))], 6)
    tape.print("binance", BTC, Side.SELL, [(D("99"), D("1")), (D("98"), D("1"))], 7)
    tape.print("gateio", BTC, Side.BUY, [(D("1"), D("1"))], 8)
    assert [(t.trade_id, t.venue_seq, t.side) for t in first] == [(1, 1, Side.BUY), (2, 2, Side.BUY)]
    assert [len(b) for b in batches] == [2, 1, 2]  # one batch per event, only this venue's
    kept = tape.recent("binance", BTC)
    assert [(t.trade_id, t.venue_seq, t.price) for t in kept] == [(2, 2, D("101")), (3, 4, D("99")),
                                                                  (4, 5, D("98"))]
    assert [t.trade_id for t in tape.recent("binance", BTC, 2)] == [3, 4]
    assert tape.recent("gateio", BTC)[0].venue_seq == 1 and tape.recent("gateio", ETH) == []
    assert tape.print("binance", BTC, Side.BUY, [], 9) == [] and len(batches) == 3


def test_window_stats_over_a_rolling_day() -> None:
    now = 10 * DAY_MS
    trades = [_trade(1, "90", "1", Side.BUY, now - DAY_MS - 5),  # before the window: its open
              _trade(2, "100", "1", Side.BUY, now - 1000), _trade(3, "110", "2", Side.SELL, now - 500),
              _trade(4, "105", "0.5", Side.BUY, now)]
    stats = window_stats(trades, now, D("1"))
    assert (stats.open, stats.high, stats.low, stats.last, stats.last_qty) == (D("100"), D("110"), D("100"),
                                                                               D("105"), D("0.5"))
    assert stats.volume == D("3.5") and stats.quote_volume == D("100") + D("220") + D("52.5")
    assert (stats.n_trades, stats.first_id, stats.last_id) == (3, 2, 4)
    assert (stats.start_ms, stats.end_ms) == (now - DAY_MS, now)
    quiet = window_stats(trades[:1], now, D("1"))  # nothing inside: flat at the last print
    assert (quiet.open, quiet.last, quiet.volume, quiet.n_trades) == (D("90"), D("90"), 0, 0)
    assert quiet.first_id == quiet.last_id == -1
    assert window_stats([], now, D("7")).last == D("7")  # no print at all: the fallback (the mid)


def test_candles_bucket_prints_and_stay_flat_without_them() -> None:
    minute = 60_000
    now = 1000 * minute + 30_000
    trades = [_trade(1, "100", "1", Side.BUY, 997 * minute + 1),
              _trade(2, "102", "1", Side.SELL, 997 * minute + 9),
              _trade(3, "101", "2", Side.BUY, 999 * minute)]
    rows = candles(trades, minute, now, 5, D("50"))
    assert [c.open_ms for c in rows] == [m * minute for m in range(996, 1001)]
    assert [(c.open, c.high, c.low, c.close) for c in rows] == [
        (D("50"),) * 4, (D("100"), D("102"), D("100"), D("102")), (D("102"),) * 4, (D("101"),) * 4,
        (D("101"),) * 4]
    assert [c.n_trades for c in rows] == [0, 2, 0, 1, 0] and rows[1].volume == D("2")
    assert rows[1].taker_buy_volume == D("1") and rows[1].taker_buy_quote == D("100")
    assert [c.closed for c in rows] == [True, True, True, True, False]
    later = candles(trades, minute, now, 2, D("50"), start_ms=997 * minute + 5)
    assert [c.open_ms for c in later] == [997 * minute, 998 * minute]
    assert [c.open_ms for c in candles(trades, minute, now, 2, D("50"), end_ms=998 * minute)] == [
        997 * minute, 998 * minute]
    assert candles(trades, minute, now, 3, D("50"), start_ms=now + minute) == []  # nothing in the future
    week = candles([], 7 * DAY_MS, 20 * DAY_MS, 1, D("1"))[0]
    assert (week.open_ms // DAY_MS - 4) % 7 == 0  # weekly candles open on Mondays (1970-01-05 was one)


def test_synthetic_prints_are_seeded_and_leave_the_books_as_they_were() -> None:
    with_prints, without = MarketModel(VENUES, seed=4), MarketModel(VENUES, seed=4, synthetic_trades=False)
    again = MarketModel(VENUES, seed=4)
    for t in range(1, 120):
        assert with_prints.step(t * NS // 10) == without.step(t * NS // 10)
        again.step(t * NS // 10)
    prints = with_prints.trades.recent("mexc", BTC)
    assert prints and without.trades.recent("mexc", BTC) == []
    assert prints == again.trades.recent("mexc", BTC)
    spec = with_prints.specs[BTC]
    for trade in prints:
        assert trade.price % spec.tick == 0 and trade.qty % spec.step == 0 and trade.qty > 0


def test_a_print_is_at_the_old_touch_the_book_moved_through() -> None:
    market = MarketModel([VenueParams("binance", noise_bps=0.0, jump_rate_per_s=0.0)], seed=2, now_ns=0)
    _, _, asks = market.snapshot("binance", BTC, 1)
    seen: list[list[PublicTrade]] = []
    market.trades.subscribe("binance", seen.append)
    market.set_reference_price(BTC, float(asks[0][0]) * 1.01)  # the market jumps 1 % up
    market.step(NS)
    assert [(t.side, t.price) for batch in seen for t in batch if t.symbol == BTC] == [(Side.BUY, asks[0][0])]
    assert market.mid("binance", BTC) > asks[0][0]


def test_every_fill_is_a_public_trade_with_the_takers_side() -> None:
    market = MarketModel([VenueParams("binance")], seed=9, synthetic_trades=False)
    ledger = Ledger()
    ledger.deposit("acct", "BTC", D("1"))
    engine = MatchingEngine("binance", market, ledger, taker_fee=D("0.001"), clock_ms=lambda: 1234)
    _, bids, _ = market.snapshot("binance", BTC, 2)
    (p1, q1), (p2, _) = bids
    _, fills = engine.place("acct", BTC, Side.SELL, "LIMIT", q1 + D("0.00001"), p2, "IOC", "s1")
    prints = market.trades.recent("binance", BTC)
    assert [(t.price, t.qty, t.side, t.ts_ms) for t in prints] == [
        (f.price, f.quantity, Side.SELL, 1234) for f in fills] == [(p1, q1, Side.SELL, 1234),
                                                                   (p2, D("0.00001"), Side.SELL, 1234)]


def test_new_public_paths_are_charged_their_weights() -> None:
    binance, mexc = FACTS["binance"].weight, FACTS["mexc"].weight
    assert binance("GET", "/api/v3/trades", {}) == 25 and binance("GET", "/api/v3/klines", {}) == 2
    assert binance("GET", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"}) == 2
    assert binance("GET", "/api/v3/ticker/24hr", {"symbols": '["BTCUSDT","ETHUSDT"]'}) == 2
    assert binance("GET", "/api/v3/ticker/24hr", {"symbols": ",".join(['"X"'] * 50)}) == 40
    assert binance("GET", "/api/v3/ticker/24hr", {}) == 80
    assert mexc("GET", "/api/v3/trades", {}) == 5 and mexc("GET", "/api/v3/klines", {}) == 1
    assert mexc("GET", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"}) == 1
    assert mexc("GET", "/api/v3/ticker/24hr", {}) == 40
