"""Market streams wired to a recorder, without sockets (their frame handlers are fuzzed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from arb.errors import DecodeError
from arb.model import AssetBalance, Fill, Order, Symbol, Trade
from arb.venues.base import DepthUpdate
from arb.venues.binance.stream import BinanceStream
from arb.venues.gateio.stream import GateStream
from arb.venues.mexc.stream import MexcStream

BTC = Symbol("BTC", "USDT")


class Recorder:
    """`StreamHandlers` that count what they get."""

    def __init__(self) -> None:
        self.depth = self.trades = self.errors = 0
        self.named: list[Symbol | None] = []

    def on_depth(self, update: DepthUpdate) -> None:
        self.depth += 1

    def on_trade(self, trade: Trade) -> None:
        self.trades += 1

    def on_order(self, order: Order) -> None:
        return None

    def on_fill(self, fill: Fill) -> None:
        return None

    def on_balance(self, venue: str, balance: AssetBalance) -> None:
        return None

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        assert isinstance(error, DecodeError)
        self.errors += 1
        self.named.append(symbol)

    def on_stream_state(self, venue: str, connected: bool, symbols: Sequence[Symbol]) -> None:
        return None


def stream_handlers(venue: str) -> tuple[Any, Recorder]:
    """A venue's market stream routing BTC/USDT depth and trades to a `Recorder` (no socket opened)."""
    recorder = Recorder()
    url = "ws://127.0.0.1:9"
    stream: Any
    if venue == "binance":
        stream = BinanceStream(recorder, ws_url=url)
        stream._routes["btcusdt@depth@100ms"] = BTC
        stream._trade_routes["btcusdt@trade"] = BTC
    elif venue == "gateio":
        stream = GateStream(recorder, ws_url=url)
        stream._pairs["BTC_USDT"] = BTC
        stream._trade_pairs["BTC_USDT"] = BTC
    else:
        stream = MexcStream(recorder, ws_url=url)
        stream._routes["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"] = BTC
        stream._trade_routes["spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"] = BTC
    return stream, recorder
