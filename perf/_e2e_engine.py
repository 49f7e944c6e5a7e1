"""bench_e2e's arb pipeline as `run` wires it, in process and without sockets.

A paper `Engine` is started as `arb-engine run` starts it (journal, risk, detector, upkeep); its
public REST comes from a static stand-in serving the benchmark's snapshots, and its venue streams are
stand-ins that only keep the `StreamHandlers` the engine hands a venue stream. Frames then go through
exactly what `BinanceStream._on_frame` does per frame (envelope decode, route lookup, depth decode with
the receive time) into those handlers: `BookStore.on_depth` -> sequence checks -> `L2Book` ->
`Engine._on_book_update` -> `Detector.on_book_update` (trading, venue, freshness and lag gates, balances
into the kernel, `SpreadKernel.evaluate`) -> the frame-to-decision sample and histogram.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from _common import best_ns_interleaved
from _e2e_socket import StaticPublic

from arb.config import VenueConfig, default_config
from arb.engine.engine import Engine
from arb.model import OrderBook, OrderBookLevel, Symbol
from arb.venues.base import BaseWebSocketInterface, StreamHandlers
from arb.venues.binance import codec

Levels = list[list[str]]
SNAPSHOT_ID = 1000  # the frames start at SNAPSHOT_ID + 1


class _SnapshotPublic(StaticPublic):
    """REST stand-in: one symbol, and the benchmark's book as the snapshot the frames continue."""

    def __init__(self, venue: str, symbol: Symbol, books: dict[str, tuple[Levels, Levels]]) -> None:
        super().__init__(venue)
        self._symbols = [symbol]
        self._books = books

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        bids, asks = self._books[self.venue]
        return OrderBook(self.venue, symbol, [OrderBookLevel(float(p), float(q)) for p, q in bids],
                         [OrderBookLevel(float(p), float(q)) for p, q in asks], SNAPSHOT_ID, 0,
                         time.time_ns())


class _HandlersOnly(BaseWebSocketInterface):
    """The engine's stream slot without a socket: keeps the handlers a venue stream would call."""

    def __init__(self, venue: str, handlers: StreamHandlers) -> None:
        self.venue = venue
        self.handlers = handlers

    async def start(self) -> None:
        return None

    async def subscribe_depth(self, symbols: Sequence[Symbol]) -> None:
        return None

    async def subscribe_trades(self, symbols: Sequence[Symbol]) -> None:
        return None

    async def subscribe_user(self) -> None:
        return None

    async def resubscribe_depth(self, symbol: Symbol) -> None:
        return None

    async def close(self) -> None:
        return None


async def _engine_us(symbol: Symbol, books: dict[str, tuple[Levels, Levels]], frames: list[bytes],
                     fee: float, others: Sequence[Callable[[], int]],
                     repeats: int) -> tuple[list[float], float]:
    venues = list(books)
    streams: dict[str, _HandlersOnly] = {}

    def public(name: str, cfg: VenueConfig) -> StaticPublic:
        return _SnapshotPublic(name, symbol, books)

    def stream(name: str, handlers: StreamHandlers, cfg: VenueConfig) -> BaseWebSocketInterface:
        streams[name] = _HandlersOnly(name, handlers)
        return streams[name]

    with tempfile.TemporaryDirectory(prefix="arb-bench-") as data_dir:
        config = default_config(
            symbols=[f"{symbol.base}/{symbol.quote}"], venues={v: {"taker_fee": fee} for v in venues},
            engine={"data_dir": data_dir},
            # the gates run on every frame; the limits only keep a benchmark's old books usable
            risk={"max_book_age_ms": 10**9, "max_event_lag_ms": 10**9, "symbol_cooldown_ms": 0},
        )
        balances = {"USDT": Decimal("1000000"), symbol.base: Decimal("1000")}
        engine = Engine(config, paper_balances=balances, public_factory=public, stream_factory=stream)
        await engine.start()
        try:
            for _ in range(1000):
                if all(engine.books.is_synced(v, symbol) for v in venues):
                    break
                await asyncio.sleep(0.01)
            else:
                raise RuntimeError("the engine's books did not sync from the static snapshots")
            on_depth = streams["binance"].handlers.on_depth
            routes = {"btcusdt@depth@100ms": symbol}
            book = engine.books.book("binance", symbol)
            funnel = engine.detector.funnel.stages
            decode_stream, decode_depth, clock = codec.decode_stream, codec.decode_depth, time.time_ns

            def run() -> int:
                book.update_id = SNAPSHOT_ID  # each repeat continues the snapshot again
                for frame in frames:
                    recv_ns = clock()
                    envelope = decode_stream(frame)
                    on_depth(decode_depth(envelope.data, routes[envelope.stream], recv_ns))
                return len(frames)

            gates = engine.detector.funnel.gates
            before, closed = funnel["evaluated"], sum(gates.values())
            times = [ns / 1e3 for ns in best_ns_interleaved([run, *others], repeats)]
            evaluated = (funnel["evaluated"] - before) / (repeats * len(frames))
            if sum(gates.values()) != closed:  # every venue must reach the kernel on every frame
                raise RuntimeError(f"a gate closed during the benchmark: {gates}")
        finally:
            await engine.stop()
    return times, evaluated


def engine_pipeline(symbol: Symbol, books: dict[str, tuple[Levels, Levels]], frames: list[bytes],
                    fee: float, others: Sequence[Callable[[], int]] = (),
                    repeats: int = 9) -> tuple[list[float], float]:
    """µs per frame of the engine and of each of `others` (the baselines), timed in interleaved rounds
    (best of `repeats`), and the kernel evaluations per engine frame (1.0 when every frame reached it).

    Raises if any gate closed during the timed runs: then the kernel would have seen fewer venues."""
    return asyncio.run(_engine_us(symbol, books, frames, fee, others, repeats))
