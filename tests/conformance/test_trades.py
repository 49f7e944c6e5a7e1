"""Public trades, tickers and klines against the loopback simulator, through the venue clients.

Parametrized over every venue: REST (`make_public`) reads the simulator's trade tape back after a
signed IOC order (`make_private`, sim-key / sim-secret), and each venue's trade stream
(`subscribe_trades`) delivers that order's fills as `Trade` objects with their price, size and the
taker's side. Malformed trade frames are counted, logged once, reported without a symbol (no book
is invalidated) and the stream goes on.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import DecodeError, ExchangeError, InvalidSymbolError
from arb.model import KlineInterval, OrderType, Side, Symbol, TimeInForce, Trade
from arb.sim.accounts import SIM_PASSPHRASE
from arb.sim.market import SimSymbolSpec
from arb.sim.server import SimExchange
from arb.venues.base import BaseWebSocketInterface, PrivateExchangeInterface
from arb.venues.registry import STREAMS, make_private, make_public
from tests.conformance.venues import SIM_VENUES
from tests.conftest import SAMPLES
from tests.sim.user_recorder import UserRecorder, wait_until

BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
DATA = Path(__file__).resolve().parents[1] / "data"
# venues whose simulator serves no candles (none since OKX and Bybit serve theirs)
NO_CANDLES: frozenset[str] = frozenset()
BAD_SYMBOL_CODES: dict[str, int | str] = {"binance": -1121, "mexc": 10007, "gateio": "INVALID_CURRENCY_PAIR",
                                          "okx": 51001, "bybit": 10001}
BYBIT_TRADE: dict[str, object] = {"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1672304486868,
                                  "data": [{"T": 1672304486865, "s": "BTCUSDT", "S": "Buy", "v": "0.001",
                                            "p": "16578.50", "i": "20f43950", "BT": False, "seq": 1}]}


class TradeRecorder(UserRecorder):
    """Public trades and decode errors (with the symbol reported) in arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self.trades: list[Trade] = []
        self.reported: list[tuple[DecodeError, Symbol | None]] = []

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        super().on_decode_error(error, symbol)
        self.reported.append((error, symbol))

    def has(self, price: Decimal, qty: Decimal, side: Side, symbol: Symbol = BTC) -> bool:
        return any((t.symbol, t.price, t.size, t.side) == (symbol, float(price), float(qty), side)
                   for t in self.trades)


class Rig:
    """A still simulator for one venue (prints come only from orders), its REST clients and a stream."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.sim = SimExchange([venue], seed=11, step_s=0.05)
        self.closers: list[Any] = []

    async def start(self) -> Rig:
        urls = await self.sim.start()
        await self.sim.close_driver()  # a still market: orders land where the test priced them
        self.rest_url, self.ws_url = urls[self.venue]
        self.public = make_public(self.venue, VenueConfig(rest_url=self.rest_url))
        creds = Credentials(self.venue, Secret("sim-key"), Secret("sim-secret"), Secret(SIM_PASSPHRASE))
        self.private: PrivateExchangeInterface = make_private(self.venue, VenueConfig(rest_url=self.rest_url),
                                                              creds)
        self.closers += [self.public, self.private]
        return self

    def stream(self, handlers: TradeRecorder) -> BaseWebSocketInterface:
        stream = STREAMS[self.venue](handlers, ws_url=self.ws_url, heartbeat_s=None)
        self.closers.append(stream)
        return stream

    def touch(self, is_bid: bool, levels: int = 1) -> list[tuple[Decimal, Decimal]]:
        _, bids, asks = self.sim.market.snapshot(self.venue, BTC, levels)
        return bids if is_bid else asks

    async def ioc(self, side: Side, qty: Decimal, price: Decimal, client_id: str) -> None:
        order = await self.private.place_order(BTC, side, OrderType.LIMIT, qty, client_id, price,
                                               TimeInForce.IOC)
        assert order.order_id

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer.close()
        await self.sim.close()


@pytest.fixture(params=SIM_VENUES)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    rig = Rig(request.param)
    try:
        yield await rig.start()
    finally:
        await rig.close()


async def test_rest_trades_ticker_and_klines_read_the_simulators_tape(rig: Rig) -> None:
    (ask, ask_qty), = rig.touch(False)
    qty = min(ask_qty, Decimal("0.01"))
    await rig.ioc(Side.BUY, qty, ask, "tape-b0")
    tape = rig.sim.market.trades.recent(rig.venue, BTC, 20)
    trades = await rig.public.recent_trades(BTC, 20)
    assert sorted((t.price, t.size, t.side, t.ts_event) for t in trades) == sorted(
        (float(t.price), float(t.qty), t.side, t.ts_ms * 1_000_000) for t in tape)
    assert any((t.price, t.size, t.side) == (float(ask), float(qty), Side.BUY) for t in trades)
    (bid, _), = rig.touch(True)
    (new_ask, _), = rig.touch(False)
    ticker = await rig.public.ticker(BTC)
    assert (ticker.last, ticker.bid, ticker.ask) == (float(ask), float(bid), float(new_ask))
    assert ticker.volume_base >= float(qty) and ticker.volume_quote >= float(qty * ask)
    nope = Symbol("NOPE", "USDT")
    calls = [rig.public.recent_trades(nope), rig.public.ticker(nope)]
    if rig.venue in NO_CANDLES:  # a clean error; this fails the day the simulator serves candles
        with pytest.raises(ExchangeError) as missing:
            await rig.public.klines(BTC, KlineInterval.M1, 5)
        assert missing.value.http_status == 404
    else:
        klines = await rig.public.klines(BTC, KlineInterval.M1, 5)
        assert len(klines) == 5 and klines[-1].close == float(ask)  # the last print closes the latest candle
        assert [k.open_time for k in klines] == sorted(k.open_time for k in klines)
        assert all(b.open_time - a.open_time == 60 * 10**9 for a, b in itertools.pairwise(klines))
        assert sum(k.volume for k in klines) >= float(qty)
        calls.append(rig.public.klines(nope, KlineInterval.M1))
    for call in calls:
        with pytest.raises(InvalidSymbolError) as info:
            await call
        assert info.value.api_code == BAD_SYMBOL_CODES[rig.venue]


async def test_the_trade_stream_delivers_an_ioc_orders_fills(rig: Rig) -> None:
    feed = TradeRecorder()
    stream = rig.stream(feed)
    await stream.subscribe_trades([BTC, ETH])
    (ask, ask_qty), = rig.touch(False)
    buy = min(ask_qty, Decimal("0.01"))
    await rig.ioc(Side.BUY, buy, ask, "stream-b0")
    await wait_until(lambda: feed.has(ask, buy, Side.BUY), f"{rig.venue} stream: the buy's print")
    (p1, q1), (p2, _) = rig.touch(True, 2)
    sell = q1 + Decimal("0.00001")  # walks into the second bid level: two prints
    await rig.ioc(Side.SELL, sell, p2, "stream-s0")
    await wait_until(lambda: feed.has(p1, q1, Side.SELL) and feed.has(p2, Decimal("0.00001"), Side.SELL),
                     f"{rig.venue} stream: the sell's two prints")
    assert len(feed.trades) == 3 and feed.errors == []  # a still market: no synthetic prints
    assert all(t.venue == rig.venue and t.ts_recv >= t.ts_event > 0 for t in feed.trades)
    assert len({t.trade_id for t in feed.trades}) == 3


def _bad_frames(venue: str) -> list[bytes | str]:
    """A malformed trade frame under a subscribed name, per venue (twice: logged once)."""
    if venue == "binance":
        bad: bytes | str = '{"stream": "btcusdt@trade", "data": {"e": "trade", "t": 1, "p": "x"}}'
    elif venue == "gateio":
        bad = ('{"time": 1, "channel": "spot.trades", "event": "update", "result": '
               '{"id": 1, "currency_pair": "BTC_USDT", "side": "sideways", "amount": "1", "price": "2"}}')
    elif venue == "bybit":
        bad = ('{"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1, "data": '
               '[{"T": 1, "s": "BTCUSDT", "S": "sideways", "v": "1", "p": "2", "i": "x"}]}')
    elif venue == "okx":
        bad = ('{"arg": {"channel": "trades", "instId": "BTC-USDT"}, "data": [{"instId": "BTC-USDT", '
               '"tradeId": "1", "px": "2", "sz": "1", "side": "sideways", "ts": "1"}]}')
    else:
        bad = bytes.fromhex(json.loads((DATA / "mexc/ws_deals_frames.json").read_text())["deals_bad_side"])
    return [bad, bad]


def _unrouted_frames(venue: str) -> list[bytes | str]:
    """Well-formed trade frames under names nobody subscribed (exact routing: never a substring match)."""
    if venue == "binance":
        frame = json.loads((DATA / "binance/ws_trade_btcusdt.json").read_text())
        return [json.dumps({**frame, "stream": name}) for name in ("btcusdt@trade@x", "xbtcusdt@trade")]
    if venue == "gateio":
        frame = json.loads((DATA / "gateio/ws_trades_btc_usdt.json").read_text())
        frame["result"]["currency_pair"] = "BTC_USDTX"
        return [json.dumps(frame)]
    if venue == "bybit":
        names = ("publicTrade.BTCUSDTX", "publicTrade.")
        return [json.dumps({**BYBIT_TRADE, "topic": name}) for name in names]
    if venue == "okx":
        frame = json.loads((SAMPLES / "okx/ws_trades_push_recorded.json").read_text())
        frame["arg"]["instId"] = "BTC-USDTX"
        return [json.dumps(frame)]
    raw = bytes.fromhex(json.loads((DATA / "mexc/ws_deals_frames.json").read_text())["deals_two"])
    channel = b"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"
    return [raw.replace(channel, channel[:-4] + b"USDC")]


async def test_malformed_trade_frames_are_counted_logged_once_and_the_stream_goes_on(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    feed = TradeRecorder()
    stream = rig.stream(feed)
    await stream.subscribe_trades([BTC])
    with caplog.at_level(logging.WARNING):
        for frame in _bad_frames(rig.venue) + _unrouted_frames(rig.venue):
            stream.ws.feed(frame, 1)
    assert stream.decode_errors == 2  # type: ignore[attr-defined]
    assert [symbol for _, symbol in feed.reported] == [None, None]  # a trade frame invalidates no book
    assert all(err.venue == rig.venue for err, _ in feed.reported)
    assert len([r for r in caplog.records if "undecodable frame" in r.getMessage()]) == 1
    assert feed.trades == []  # the unrouted ones were ignored
    (ask, ask_qty), = rig.touch(False)
    qty = min(ask_qty, Decimal("0.01"))
    await rig.ioc(Side.BUY, qty, ask, "after-bad")
    await wait_until(lambda: feed.has(ask, qty, Side.BUY), f"{rig.venue} stream after bad frames")


async def test_trades_and_depth_share_the_connections(rig: Rig) -> None:
    feed = TradeRecorder()
    stream = rig.stream(feed)
    await stream.subscribe_depth([BTC, ETH])
    await stream.subscribe_trades([BTC, ETH])
    ws = stream.ws  # type: ignore[attr-defined]
    assert len(ws.channels) == 4 and len(ws.connections) == 1


async def test_mexc_depth_and_deals_count_together_under_the_30_per_connection_cap() -> None:
    """20 symbols' depth and deals: 40 channels over two sockets (the simulator refuses a 31st)."""
    universe = [SimSymbolSpec(Symbol(f"X{i:02d}", "USDT"), Decimal("10"), Decimal("0.01"), Decimal("0.1"))
                for i in range(20)]
    sim = SimExchange(["mexc"], seed=3, step_s=0.05, universe=universe)
    rest_url, ws_url = (await sim.start())["mexc"]
    await sim.close_driver()
    feed = TradeRecorder()
    stream = STREAMS["mexc"](feed, ws_url=ws_url, heartbeat_s=None)
    creds = Credentials("mexc", Secret("sim-key"), Secret("sim-secret"))
    private = make_private("mexc", VenueConfig(rest_url=rest_url), creds)
    try:
        symbols = [spec.symbol for spec in universe]
        await stream.subscribe_depth(symbols)
        await stream.subscribe_trades(symbols)
        ws = stream.ws  # type: ignore[attr-defined]
        assert len(ws.channels) == 40 and len(ws.connections) == 2
        assert sorted(len(s) for s in sim.dialects["mexc"].subscribers.sockets) == [10, 30]  # type: ignore[attr-defined]
        last = symbols[-1]
        _, _, asks = sim.market.snapshot("mexc", last, 1)
        await private.place_order(last, Side.BUY, OrderType.LIMIT, Decimal("1"), "cap-b0", asks[0][0],
                                  TimeInForce.IOC)
        await wait_until(lambda: feed.has(asks[0][0], Decimal("1"), Side.BUY, last), "the last one's print")
        assert feed.errors == []
    finally:
        await private.close()
        await stream.close()
        await sim.close()
