"""`arb-engine replay`: a recording fed through the engine's own path, deterministic, faster than real time.

Nothing here decodes, syncs or detects: the `Engine` is built as for `run` (paper mode), with two
connectors swapped in through its factories:

- REST: `RecordedPublic` answers `symbols()` from the manifest and `orderbook()` with the next
  snapshot the recording holds for that book, delivered when replay reaches its receive time (the
  engine waits for it exactly as it waits for a venue);
- WebSocket: the real venue stream classes on an offline `WsClient`; each recorded frame is handed
  to `WsClient.feed` with its recorded receive time, so the venue codec, `BookStore`, the detector,
  risk, the executor and the paper venue all run unchanged.

Determinism: the engine's clock is the recorded receive time of the current record, and the event
loop's clock is too (`ReplayLoop`), so resync backoffs and every other timer fire in recorded time.
After each record the loop is settled (a fixed number of yields, then the executions in flight are
awaited), so an opportunity is executed against the books as of the frame that produced it. The same
recording therefore gives the same opportunities, orders and paper fills on every replay, at any
speed. `drop` removes frames from the feed (gap rehearsal): the book layer sees a sequence gap, the
book goes INVALID and resyncs from the recording's next snapshot.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import msgspec

from arb.config import Config, VenueConfig, default_config
from arb.engine.engine import Engine
from arb.engine.executor import Outcome
from arb.engine.journal import Journal
from arb.model import Fill, Kline, KlineInterval, OrderBook, Symbol, SymbolInfo, Ticker, Trade
from arb.net.ws import WsClient
from arb.ops.progress import Progress, rate
from arb.ops.recording import Kind, Record, Recording, UnreadableRecording, decode_snapshot, decode_state
from arb.venues.base import BaseWebSocketInterface, PublicExchangeInterface, StreamHandlers
from arb.venues.registry import STREAMS

SETTLE_YIELDS = 3  # enough for a timer -> future -> task wake-up chain to run before the next record
NS = 1_000_000_000
Drop = Callable[[Record, int], bool]  # (frame record, index of the frame in its venue) -> drop it


# paper balances on every venue when the config names none (a replay trades on paper)
REPLAY_BALANCES = MappingProxyType({
    "USDT": Decimal("250000"), "BTC": Decimal("2"), "ETH": Decimal("40"), "SOL": Decimal("800"),
    "XRP": Decimal("200000"), "DOGE": Decimal("800000"),
})

class ReplayLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock is the recording's (seconds of the current record's receive time)."""

    def __init__(self) -> None:
        super().__init__()
        self.virtual_s = 0.0

    def time(self) -> float:
        return self.virtual_s


class RecordedPublic(PublicExchangeInterface):
    """REST market data of one venue, answered from the recording."""

    def __init__(self, venue: str, info: Sequence[SymbolInfo], player: Replayer) -> None:
        self.venue = venue
        self._info = list(info)
        self._player = player

    async def server_time(self) -> int:
        return self._player.now_ns // 1_000_000

    async def symbols(self) -> list[SymbolInfo]:
        return list(self._info)

    async def orderbook(self, symbol: Symbol, limit: int = 100) -> OrderBook:
        return await self._player.next_snapshot(self.venue, symbol)

    async def recent_trades(self, symbol: Symbol, limit: int = 100) -> list[Trade]:
        return []

    async def ticker(self, symbol: Symbol) -> Ticker:
        raise NotImplementedError("recordings hold depth only")

    async def klines(self, symbol: Symbol, interval: KlineInterval, limit: int = 100) -> list[Kline]:
        return []

    async def close(self) -> None:
        return None


class BookView(NamedTuple):
    """One book at the end of a replay."""

    state: str
    update_id: int
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    gaps: int
    resyncs: int


class ReplayResult(msgspec.Struct, kw_only=True):
    summary: dict[str, Any]
    outcomes: list[Outcome]
    opportunities: list[dict[str, Any]]  # the journal's rows, in detection order
    fills: list[Fill]
    books: dict[tuple[str, Symbol], BookView]
    frames: int
    dropped: int
    snapshots_used: int
    recorded_s: float
    elapsed_s: float
    truncated: bool


class Replayer:
    """Feeds one recording through a paper `Engine`.

    Parameters
    ----------
    config:
        Risk, executor and engine settings (symbols and venues come from the recording).
    speed:
        Recorded seconds per wall second; None replays as fast as possible.
    drop:
        Frames for which it returns True are not fed (gap rehearsal).
    """

    def __init__(self, recording: Recording, config: Config, *, speed: float | None = None,
                 drop: Drop | None = None, paper_balances: Mapping[str, Decimal] = REPLAY_BALANCES,
                 progress: Progress | None = None) -> None:
        self.recording = recording
        self.config = config
        self._speed = speed
        self._drop = drop
        self._balances = paper_balances
        self._progress = progress or Progress(enabled=False)
        self.now_ns = recording.manifest.started_ns
        self._loop: ReplayLoop | None = None
        self._waiting: dict[tuple[str, Symbol], list[asyncio.Future[OrderBook]]] = {}
        self._feeds: dict[str, WsClient] = {}
        self._handlers: dict[str, StreamHandlers] = {}
        self.frames = self.dropped = self.snapshots_used = 0
        self.feed_ns: list[int] = []
        self.partial: dict[str, Any] | None = None  # the summary once the engine stopped

    # ------------------------------------------------------------------ connectors for the engine

    def _public(self, name: str, cfg: VenueConfig) -> PublicExchangeInterface:
        return RecordedPublic(name, self.recording.manifest.symbol_info.get(name, []), self)

    def _stream(self, name: str, handlers: StreamHandlers, cfg: VenueConfig) -> BaseWebSocketInterface:
        stream = STREAMS[name](handlers, offline=True)
        ws = getattr(stream, "ws", None)
        if not isinstance(ws, WsClient):
            raise TypeError(f"{name}: its stream does not run on a WsClient; cannot replay it")
        self._feeds[name] = ws
        self._handlers[name] = handlers
        return stream

    async def next_snapshot(self, venue: str, symbol: Symbol) -> OrderBook:
        """Wait for the recording's next snapshot of this book."""
        future: asyncio.Future[OrderBook] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault((venue, symbol), []).append(future)
        return await future

    # ------------------------------------------------------------------ the feed

    def _set_time(self, ts_ns: int) -> None:
        self.now_ns = max(self.now_ns, ts_ns)
        if self._loop is not None:
            self._loop.virtual_s = self.now_ns / NS

    async def _settle(self, engine: Engine) -> None:
        for _ in range(SETTLE_YIELDS):
            await asyncio.sleep(0)
        await engine.drain()

    def _apply(self, record: Record, index: dict[str, int]) -> None:
        kind, venue = record.kind, record.venue
        if kind is Kind.TEXT or kind is Kind.BINARY:
            i = index[venue] = index.get(venue, -1) + 1
            if self._drop is not None and self._drop(record, i):
                self.dropped += 1
                return
            frame: bytes | str = record.payload.decode() if kind is Kind.TEXT else record.payload
            started = time.perf_counter_ns()
            self._feeds[venue].feed(frame, record.ts_ns)
            self.feed_ns.append(time.perf_counter_ns() - started)
            self.frames += 1
        elif kind is Kind.SNAPSHOT:
            book = decode_snapshot(record.payload)
            waiting = self._waiting.pop((venue, book.symbol), [])
            for future in waiting:
                if not future.done():
                    future.set_result(book)
            self.snapshots_used += bool(waiting)
        elif kind is Kind.STATE:
            state = decode_state(record.payload)
            self._handlers[venue].on_stream_state(venue, state.connected, state.symbols)

    async def run(self) -> ReplayResult:
        loop = asyncio.get_running_loop()
        self._loop = loop if isinstance(loop, ReplayLoop) else None
        manifest = self.recording.manifest
        self._set_time(manifest.started_ns)
        engine = Engine(self.config, paper_balances=self._balances, clock_ns=lambda: self.now_ns,
                        public_factory=self._public, stream_factory=self._stream)
        wall0 = time.perf_counter()
        first_ns = manifest.started_ns
        index: dict[str, int] = {}
        try:
            await engine.start()
            await self._settle(engine)
            for record in self.recording.records():
                self._set_time(record.ts_ns)
                self._apply(record, index)
                await self._settle(engine)
                if self._speed is not None:
                    ahead = (record.ts_ns - first_ns) / NS / self._speed - (time.perf_counter() - wall0)
                    if ahead > 0:
                        time.sleep(ahead)  # the loop is settled: nothing else may run before the next record
                if self._progress.due():
                    self._draw(engine)
            books = _books(engine)
        finally:
            await engine.stop()
            self.partial = engine.summary()  # what was done so far, should the run be interrupted
        self._draw(engine, done=True)
        engine.decision_ns.clear()  # live latencies make no sense against recorded times: use feed time
        engine.decision_ns.extend(self.feed_ns)
        journal = Journal(self.config.journal_path)
        rows = await journal.query("SELECT * FROM opportunities ORDER BY rowid")
        return ReplayResult(
            summary=engine.summary(), outcomes=list(engine.outcomes), opportunities=[dict(r) for r in rows],
            fills=await journal.fills(), books=books, frames=self.frames, dropped=self.dropped,
            snapshots_used=self.snapshots_used, recorded_s=(self.now_ns - first_ns) / NS,
            elapsed_s=time.perf_counter() - wall0, truncated=self.recording.truncated,
        )

    def _draw(self, engine: Engine, done: bool = False) -> None:
        elapsed = self._progress.elapsed
        size = self.recording.size or 1
        s = engine.summary()
        recorded = (self.now_ns - self.recording.manifest.started_ns) / NS
        line = (f"replay {100 * self.recording.position / size:5.1f}%  frames {self.frames:,} "
                f"({rate(self.frames, elapsed)}, {recorded / elapsed if elapsed else 0:.1f}x real time)  "
                f"books {s['books_synced']}/{s['books']}  opportunities {s['funnel']['clears_fees']}  "
                f"trades {s['trades']}")
        if done:
            self._progress.done(line)
        else:
            self._progress.update(line)


def _books(engine: Engine) -> dict[tuple[str, Symbol], BookView]:
    out = {}
    for sync in engine.books.all():
        out[(sync.venue, sync.symbol)] = BookView(
            sync.state.name, sync.book.update_id, sync.book.top(True, 1 << 20), sync.book.top(False, 1 << 20),
            sync.gaps, sync.resyncs)
    return out


def replay_config(recording: Recording, data_dir: str | Path, base: Config | None = None) -> Config:
    """`base` (or the defaults) with the recording's symbols and venues and a journal in `data_dir`."""
    manifest = recording.manifest
    if base is None:
        return default_config(symbols=manifest.symbols, venues=manifest.venues,
                              engine={"data_dir": str(data_dir), "mode": "paper"})
    venues = default_config(venues=manifest.venues).venues
    return msgspec.structs.replace(
        base, symbols=list(manifest.symbols), venues=venues,
        engine=msgspec.structs.replace(base.engine, data_dir=str(data_dir), mode="paper"),
        journal=msgspec.structs.replace(base.journal, path=None),
    )


def run_replay(directory: str | Path, data_dir: str | Path, *, config: Config | None = None,
               speed: float | None = None, drop: Drop | None = None,
               progress: Progress | None = None) -> ReplayResult:
    """Replay `directory` on a `ReplayLoop` (recorded time) and return what the engine did."""
    return play(replayer(directory, data_dir, config=config, speed=speed, drop=drop, progress=progress))


def replayer(directory: str | Path, data_dir: str | Path, *, config: Config | None = None,
             speed: float | None = None, drop: Drop | None = None,
             progress: Progress | None = None) -> Replayer:
    """A `Replayer` of `directory` with the engine's journal in `data_dir` (not started)."""
    recording = Recording(directory)
    cfg = replay_config(recording, data_dir, config)
    balances = cfg.engine.paper_balances or REPLAY_BALANCES
    return Replayer(recording, cfg, speed=speed, drop=drop, paper_balances=balances, progress=progress)


def play(player: Replayer) -> ReplayResult:
    """Run `player` on a `ReplayLoop` (recorded time; never uvloop: the recording is the clock)."""
    with asyncio.Runner(loop_factory=ReplayLoop) as runner:
        return runner.run(player.run())


def every_nth(n: int) -> Drop:
    """Drop every `n`-th frame of each venue (``--drop-every``)."""
    return lambda record, i: (i + 1) % n == 0


def parse_speed(text: str) -> float | None:
    """``max`` (as fast as possible) or a positive factor of real time."""
    if text == "max":
        return None
    speed = float(text)
    if not speed > 0:
        raise ValueError(f"speed must be positive or 'max', got {text}")
    return speed


def main(directory: str, *, speed: float | None, data_dir: str | None, config: Config | None,
         drop_every: int, quiet: bool) -> int:
    """`arb-engine replay`: replay, then print the demo's summary table. Without `data_dir` the
    journal lives in a temporary directory that is removed once the summary is printed (every
    replay would otherwise leave one behind); `--data-dir` keeps it."""
    import shutil
    import sys
    import tempfile

    from arb.demo import summary_table, trade_lines

    temporary = not data_dir
    base = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="arb-replay-"))
    kept = str(base / "journal.sqlite") if not temporary else "removed (pass --data-dir DIR to keep it)"
    player: Replayer | None = None
    try:
        try:
            player = replayer(directory, base, config=config, speed=speed,
                              drop=every_nth(drop_every) if drop_every > 0 else None,
                              progress=Progress(enabled=not quiet))
            result = play(player)
        except KeyboardInterrupt:
            frames = player.frames if player is not None else 0
            print(f"\nInterrupted after {frames:,} frames of {directory}: what was done so far")
            if player is not None and player.partial is not None:
                print(summary_table({**player.partial, "journal": kept}))
            raise
        except UnreadableRecording as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 3
        except (OSError, ValueError) as exc:
            print(f"error: {exc}" if str(directory) in str(exc) else f"error: {directory}: {exc}",
                  file=sys.stderr)
            return 2
    finally:
        if temporary:
            shutil.rmtree(base, ignore_errors=True)
    torn = ", ".join(str(r.path) for r in player.recording.readers if r.truncated) or "the recording"
    print(f"replayed {result.frames:,} frames ({result.dropped:,} dropped) of {directory}: "
          f"{result.recorded_s:.1f} s recorded in {result.elapsed_s:.2f} s "
          f"({result.recorded_s / result.elapsed_s if result.elapsed_s else 0:.1f}x real time)"
          + (f"; {torn} ends in a torn record (recorder killed? the rest of that file is not replayed)"
             if result.truncated else ""))
    print("\nSummary (paper replay; update -> decision is the replay's feed time per frame)\n"
          + summary_table({**result.summary, "journal": kept}))
    print(f"\nTrades\n{trade_lines(result.outcomes, data_dir=None if temporary else base)}")
    return 0 if result.frames else 1
