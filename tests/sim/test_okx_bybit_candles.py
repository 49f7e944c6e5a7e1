"""OKX ``/api/v5/market/candles`` and Bybit ``/v5/market/kline`` served over the simulator's trade tape:
the venues' row shapes, newest first, their intervals (OKX days on Hong Kong time unless ``utc``,
weeks from Monday, calendar months), paging parameters and parameter errors."""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from arb.model import Side
from arb.sim.market import MarketModel
from tests.sim import bybit_support
from tests.sim.okx_rig import BTC, running

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UTC8 = 8 * HOUR


def now_ms() -> int:
    return int(datetime.datetime.now(datetime.UTC).timestamp() * 1000)


def print_two(market: MarketModel, venue: str) -> int:
    """Two prints two minutes ago (100 x 1 taker buy, then 110 x 2 taker sell); that minute's open."""
    window = (now_ms() // MINUTE - 2) * MINUTE
    market.trades.print(venue, BTC, Side.BUY, [(Decimal(100), Decimal(1))], window + 1000)
    market.trades.print(venue, BTC, Side.SELL, [(Decimal(110), Decimal(2))], window + 2000)
    return window


def month_open(ms: int, offset: int) -> int:
    """The first instant of the calendar month holding `ms` on a clock `offset` ahead of UTC."""
    at = datetime.datetime.fromtimestamp((ms + offset) / 1000, datetime.UTC)
    first = datetime.datetime(at.year, at.month, 1, tzinfo=datetime.UTC)
    return int(first.timestamp() * 1000) - offset


async def test_okx_candles_are_rows_newest_first_with_paging() -> None:
    async with running() as rig:
        window = print_two(rig.sim.market, "okx")
        candles = "/api/v5/market/candles"
        status, body = await rig.call("GET", candles, {"instId": "BTC-USDT", "limit": "5"}, signed=False)
        assert status == 200 and body["code"] == "0"
        rows = body["data"]
        assert len(rows) == 5 and all(len(r) == 9 and all(isinstance(v, str) for v in r) for r in rows)
        opens = [int(r[0]) for r in rows]
        assert all(a - b == MINUTE for a, b in itertools.pairwise(opens))  # newest first
        assert rows[0][8] == "0" and all(r[8] == "1" for r in rows[1:])  # only the current one is open
        (row,) = [r for r in rows if int(r[0]) == window]
        assert row[1:] == ["100", "110", "100", "110", "3", "320", "320", "1"]
        assert all(r[1:6] == ["110", "110", "110", "110", "0"] for r in rows if int(r[0]) > window)
        # after: older than; before: newer than
        _, older = await rig.call("GET", candles, {"instId": "BTC-USDT", "after": str(window)}, signed=False)
        assert len(older["data"]) == 100 and int(older["data"][0][0]) == window - MINUTE
        _, one = await rig.call("GET", candles, {"instId": "BTC-USDT", "after": str(window + MINUTE),
                                                 "before": str(window - MINUTE)}, signed=False)
        assert [r[0] for r in one["data"]] == [str(window)]
        _, capped = await rig.call("GET", candles, {"instId": "BTC-USDT", "limit": "1000"}, signed=False)
        assert len(capped["data"]) == 300
        for params, code in (({"instId": "BTC-USDT", "bar": "7m"}, "51000"),
                             ({"instId": "BTC-USDT", "limit": "many"}, "51000"),
                             ({"instId": "BTC-USDT", "after": "-5"}, "51000"),
                             ({"instId": "NOPE-USDT"}, "51001"), ({}, "50014")):
            _, refused = await rig.call("GET", candles, params, signed=False)
            assert (refused["code"], refused["data"]) == (code, []), params


async def test_okx_days_and_months_open_on_hong_kong_time_unless_utc() -> None:
    async with running() as rig:
        now = now_ms()
        late = now // DAY * DAY - 4 * HOUR  # 20:00 UTC yesterday: 04:00 today in Hong Kong
        rig.sim.market.trades.print("okx", BTC, Side.BUY, [(Decimal(90), Decimal(1))], late)
        six = 6 * HOUR
        expected = {"1D": (late + UTC8) // DAY * DAY - UTC8, "1Dutc": late // DAY * DAY,
                    "6H": (late + UTC8) // six * six - UTC8, "6Hutc": late // six * six}
        for bar, opens in expected.items():
            _, body = await rig.call("GET", "/api/v5/market/candles",
                                     {"instId": "BTC-USDT", "bar": bar, "limit": "10"}, signed=False)
            traded = [int(r[0]) for r in body["data"] if r[5] != "0"]
            assert traded == [opens], bar
        for bar, offset in (("1M", UTC8), ("1Mutc", 0)):
            _, body = await rig.call("GET", "/api/v5/market/candles",
                                     {"instId": "BTC-USDT", "bar": bar, "limit": "2"}, signed=False)
            newest, previous = (int(r[0]) for r in body["data"])
            assert newest == month_open(now, offset) and previous == month_open(newest - 1, offset), bar
        _, weeks = await rig.call("GET", "/api/v5/market/candles",
                                  {"instId": "BTC-USDT", "bar": "1Wutc", "limit": "1"}, signed=False)
        monday = datetime.datetime.fromtimestamp(int(weeks["data"][0][0]) / 1000, datetime.UTC)
        assert (monday.weekday(), monday.hour, monday.minute) == (0, 0, 0)


async def test_bybit_kline_rows_newest_first_with_start_end_and_intervals() -> None:
    async with bybit_support.running() as bybit:
        window = print_two(bybit.sim.market, "bybit")
        base = {"category": "spot", "symbol": "BTCUSDT"}
        body = await bybit.get("/v5/market/kline", {**base, "interval": "1", "limit": "5"})
        assert body["retCode"] == 0 and body["result"]["symbol"] == "BTCUSDT"
        assert body["result"]["category"] == "spot"
        rows = body["result"]["list"]
        assert len(rows) == 5 and all(len(r) == 7 and all(isinstance(v, str) for v in r) for r in rows)
        opens = [int(r[0]) for r in rows]
        assert all(a - b == MINUTE for a, b in itertools.pairwise(opens))
        (row,) = [r for r in rows if int(r[0]) == window]
        assert row[1:] == ["100", "110", "100", "110", "3", "320"]
        ranged = await bybit.get("/v5/market/kline", {**base, "interval": "1", "start": str(window - MINUTE),
                                                      "end": str(window + MINUTE)})
        assert [int(r[0]) for r in ranged["result"]["list"]] == [window + MINUTE, window, window - MINUTE]
        default = await bybit.get("/v5/market/kline", {**base, "interval": "60"})
        assert len(default["result"]["list"]) == 200
        week = await bybit.get("/v5/market/kline", {**base, "interval": "W", "limit": "1"})
        monday = datetime.datetime.fromtimestamp(int(week["result"]["list"][0][0]) / 1000, datetime.UTC)
        assert (monday.weekday(), monday.hour) == (0, 0)
        month = await bybit.get("/v5/market/kline", {**base, "interval": "M", "limit": "1"})
        assert int(month["result"]["list"][0][0]) == month_open(now_ms(), 0)
        for params in ({**base, "interval": "2"}, {**base}, {**base, "interval": "1", "limit": "1001"},
                       {**base, "interval": "1", "start": "x"}, {"category": "spot", "symbol": "NOPEUSDT",
                                                                 "interval": "1"},
                       {"symbol": "BTCUSDT", "interval": "1"}):
            refused = await bybit.get("/v5/market/kline", params)
            assert refused["retCode"] == 10001, params
