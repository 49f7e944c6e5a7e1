"""Market and user streams wired to a recorder, without sockets (their frame handlers are fuzzed).

Each registry venue has a builder here; a venue without one fails the stream fuzz by name. The
handlers run inside an event loop as they do live (a gap or a bad frame may start a resubscription
task): the resubscription itself, the only part that would touch a socket, is counted instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import DecodeError
from arb.model import AssetBalance, Fill, Order, Symbol, Trade
from arb.venues.base import DepthUpdate
from arb.venues.binance.stream import BinanceStream
from arb.venues.binance.user import BinanceUserStream
from arb.venues.bybit.stream import BybitStream
from arb.venues.bybit.user import BybitUserStream
from arb.venues.gateio.stream import GateStream
from arb.venues.gateio.user import GateUserStream
from arb.venues.mexc.stream import MexcStream
from arb.venues.mexc.user import MexcUserStream
from arb.venues.okx.books import BookMode
from arb.venues.okx.stream import OkxStream
from arb.venues.okx.user import OkxUserStream
from arb.venues.registry import make_rest

BTC = Symbol("BTC", "USDT")
URL = "ws://127.0.0.1:9"


class Recorder:
    """`StreamHandlers` that count what they get, and the loop the handlers run in."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.depth = self.trades = self.orders = self.fills = self.balances = self.errors = 0
        self.resubscribed = 0
        self.named: list[Symbol | None] = []

    def call(self, handler: Callable[..., None], *args: Any) -> None:
        """Run a frame handler inside the loop, then let the tasks it started run."""

        async def run() -> None:
            handler(*args)
            await asyncio.sleep(0)

        self.loop.run_until_complete(run())

    async def resubscribe(self, symbol: Symbol) -> None:
        self.resubscribed += 1

    def on_depth(self, update: DepthUpdate) -> None:
        self.depth += 1

    def on_trade(self, trade: Trade) -> None:
        self.trades += 1

    def on_order(self, order: Order) -> None:
        self.orders += 1

    def on_fill(self, fill: Fill) -> None:
        self.fills += 1

    def on_balance(self, venue: str, balance: AssetBalance) -> None:
        self.balances += 1

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        assert isinstance(error, DecodeError)
        self.errors += 1
        self.named.append(symbol)

    def on_stream_state(self, venue: str, connected: bool, symbols: Sequence[Symbol]) -> None:
        return None


def _binance(recorder: Recorder) -> Any:
    stream = BinanceStream(recorder, ws_url=URL)
    stream._routes["btcusdt@depth@100ms"] = BTC
    stream._trade_routes["btcusdt@trade"] = BTC
    return stream


def _gateio(recorder: Recorder) -> Any:
    stream = GateStream(recorder, ws_url=URL)
    stream._pairs["BTC_USDT"] = BTC
    stream._trade_pairs["BTC_USDT"] = BTC
    return stream


def _mexc(recorder: Recorder) -> Any:
    stream = MexcStream(recorder, ws_url=URL)
    stream._routes["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"] = BTC
    stream._trade_routes["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"] = BTC
    return stream


def _okx(recorder: Recorder) -> Any:
    stream = OkxStream(recorder, ws_url=URL)
    stream._routes["BTC-USDT"] = stream._symbols["BTC-USDT"] = BTC
    stream._trade_routes["BTC-USDT"] = BTC
    return stream


def _bybit(recorder: Recorder) -> Any:
    stream = BybitStream(recorder, ws_url=URL)
    stream._books[stream.book_topic(BTC)] = stream._books["orderbook.50.BTCUSDT"] = BTC  # the samples' topic
    stream._trades[stream.trade_topic(BTC)] = BTC
    stream._symbols["BTCUSDT"] = BTC
    return stream


MARKET: dict[str, Callable[[Recorder], Any]] = {
    "binance": _binance, "gateio": _gateio, "mexc": _mexc, "okx": _okx, "bybit": _bybit}


def whole(stream: Any) -> bool:
    """A stream's own book state is self-consistent (OKX: each side's keys are finite prices, and
    exactly its levels', sorted; a FAST book keeps no strings at all)."""
    if isinstance(stream, OkxStream):
        return all(all(math.isfinite(k) for k in side.keys) and side.keys == sorted(side.levels)
                   and (state.mode is BookMode.EXACT or not side.levels)
                   for state in stream._books.values() for side in (state.bids, state.asks))
    return True


def _credentials(venue: str) -> Credentials:
    return Credentials(venue, Secret("fuzz-key"), Secret("fuzz-secret"), Secret("fuzz-pass"))


USER: dict[str, Callable[[Recorder], Any]] = {
    "binance": lambda r: BinanceUserStream(r, _credentials("binance"), url=URL, symbols={"BTCUSDT": BTC}),
    "gateio": lambda r: GateUserStream(r, _credentials("gateio"), url=URL, symbols={"BTC_USDT": BTC}),
    "mexc": lambda r: MexcUserStream(
        r, make_rest("mexc", VenueConfig(rest_url="http://127.0.0.1:9"), _credentials("mexc")), url=URL,
        symbols={"BTCUSDT": BTC}),
    "okx": lambda r: OkxUserStream(r, _credentials("okx"), url=URL, symbols={"BTC-USDT": BTC}),
    "bybit": lambda r: BybitUserStream(r, _credentials("bybit"), url=URL, symbols={"BTCUSDT": BTC}),
}


@contextlib.contextmanager
def _wired(venue: str, builders: dict[str, Callable[[Recorder], Any]],
           what: str) -> Iterator[tuple[Any, Recorder]]:
    if venue not in builders:
        raise AssertionError(f"{venue}: no {what} to fuzz (add one to tests/fuzz/streams.py)")
    loop = asyncio.new_event_loop()
    recorder = Recorder(loop)
    try:
        stream = builders[venue](recorder)
        if hasattr(stream, "resubscribe_depth"):  # the one step that would touch a socket
            stream.resubscribe_depth = recorder.resubscribe
        yield stream, recorder
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()

        async def settle() -> None:
            await asyncio.gather(*pending, return_exceptions=True)

        loop.run_until_complete(settle())
        loop.close()


def stream_handlers(venue: str) -> contextlib.AbstractContextManager[tuple[Any, Recorder]]:
    """A venue's market stream routing BTC/USDT depth and trades to a `Recorder` (no socket opened)."""
    return _wired(venue, MARKET, "market stream")


def user_handlers(venue: str) -> contextlib.AbstractContextManager[tuple[Any, Recorder]]:
    """A venue's user stream (orders, fills, balances) handing its pushes to a `Recorder`."""
    return _wired(venue, USER, "user stream")
