"""`arb-engine record`: raw WebSocket frames and REST snapshots of the real connectors, to a directory.

The recorder builds the same venue streams the engine does and taps them where the engine receives
frames (the `WsClient` frame callback, before decoding), so what is written is exactly what the
engine would have decoded, with its local receive time. Its own `BookStore` keeps every book in
sync like the engine's, so the snapshots it fetches for that (at start, after a gap, after a
reconnect) land in the recording in the same order the engine would ask for them. On top of those it
takes a checkpoint snapshot of every book every `snapshot_every_s` and a closing one at the end:
replay uses them to resync after gaps it injects or finds. With the simulator (`--sim`) the market is
frozen before the closing snapshots, so they equal the final state the streams delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from arb.config import VenueConfig
from arb.engine.books import BookFeed, BookStore
from arb.errors import ConfigError
from arb.model import OrderBook, Symbol
from arb.ops.progress import Progress, rate
from arb.ops.recording import MANIFEST, Manifest, RecordingWriter
from arb.venues.base import BaseWebSocketInterface, PublicExchangeInterface
from arb.venues.registry import STREAMS, make_public

log = logging.getLogger(__name__)

QUIESCE_S = 0.3  # after freezing the simulator: frames still in flight arrive
TICK_S = 0.25


class _RecorderFeed(BookFeed):
    """The recorder's `StreamHandlers`: keep the books in sync and record connection changes."""

    def __init__(self, store: BookStore, writer: RecordingWriter, clock_ns: Callable[[], int]) -> None:
        super().__init__(store)
        self._writer = writer
        self._clock = clock_ns

    def on_stream_state(self, venue: str, connected: bool, symbols: Iterable[Symbol]) -> None:
        listed = list(symbols)
        self._writer.state(venue, self._clock(), connected, listed)
        super().on_stream_state(venue, connected, listed)


class Recorder:
    """Records `symbols` on `venues` into `directory` until `stop()` or the duration ends.

    Parameters
    ----------
    venues:
        Venue name -> config (URLs may point at a simulator).
    snapshot_every_s:
        Checkpoint snapshot interval per book (0: only the ones the sync needs, plus the closing ones).
    quiesce:
        Awaited before the closing snapshots (``SimExchange.close_driver`` freezes the simulator).
    """

    def __init__(self, directory: str | Path, venues: Mapping[str, VenueConfig], symbols: Sequence[Symbol], *,
                 snapshot_every_s: float = 5.0, quiesce: Callable[[], Awaitable[None]] | None = None,
                 progress: Progress | None = None, clock_ns: Callable[[], int] = time.time_ns,
                 source: Mapping[str, str] | None = None) -> None:
        self.directory = Path(directory)
        self._venues = dict(venues)
        self._symbols = list(symbols)
        self._every = snapshot_every_s
        self._quiesce = quiesce
        self._progress = progress or Progress(enabled=False)
        self._clock = clock_ns
        self._source = dict(source or {})
        self._stop = asyncio.Event()
        self.publics: dict[str, PublicExchangeInterface] = {}
        self.streams: dict[str, BaseWebSocketInterface] = {}
        self.store = BookStore(self._fetch, lambda *_: None, clock_ns=clock_ns)
        self.writer: RecordingWriter | None = None
        self.snapshot_failures = 0

    def stop(self) -> None:
        self._stop.set()

    async def _fetch(self, venue: str, symbol: Symbol, limit: int) -> OrderBook:
        book = await self.publics[venue].orderbook(symbol, limit)
        if self.writer is not None:
            self.writer.snapshot(venue, book)
        return book

    async def _checkpoint(self) -> None:
        """One snapshot of every tracked book (recorded, not applied: the streams keep the books)."""
        for sync in list(self.store.all()):
            try:
                await self._fetch(sync.venue, sync.symbol, sync.rule.snapshot_limit)
            except Exception as exc:  # a failed checkpoint only costs replay a resync point
                self.snapshot_failures += 1
                log.warning("%s %s: checkpoint snapshot failed: %s", sync.venue, sync.symbol, exc)

    async def run(self, duration: float | None) -> Manifest:
        if (self.directory / MANIFEST).exists():
            raise FileExistsError(f"{self.directory} already holds a recording")
        try:
            await self._start()
            await self._loop(duration)
            if self._quiesce is not None:
                await self._quiesce()
                await asyncio.sleep(QUIESCE_S)
            await self._checkpoint()  # the closing snapshots
        finally:
            for stream in self.streams.values():
                await stream.close()
            await self.store.close()
            for public in self.publics.values():
                await public.close()
            if self.writer is not None:
                self.writer.close(self._clock())
                self._draw(done=True)
        assert self.writer is not None
        return self.writer.manifest

    async def _start(self) -> None:
        """Symbol rules, the manifest, then streams subscribed and every book resyncing."""
        started = self._clock()
        info: dict[str, Any] = {}
        wanted = set(self._symbols)
        for name, cfg in self._venues.items():
            self.publics[name] = make_public(name, cfg)
            listed = [i for i in await self.publics[name].symbols() if i.symbol in wanted and i.tradable]
            info[name] = sorted(listed, key=lambda i: i.symbol)
        found = {i.symbol for infos in info.values() for i in infos}
        nowhere = [str(s) for s in self._symbols if s not in found]
        if nowhere:  # nothing would ever be recorded for them: a misspelt pair, not a quiet hour
            raise ConfigError("--symbols", f"{', '.join(nowhere)}: listed (and trading) on none of "
                              f"{', '.join(self._venues)}")
        manifest = Manifest(venues=list(self._venues), symbols=[str(s) for s in self._symbols],
                            started_ns=started, source=self._source, symbol_info=info)
        writer = self.writer = RecordingWriter(self.directory, manifest)
        feed = _RecorderFeed(self.store, writer, self._clock)
        for name, cfg in self._venues.items():
            symbols = [i.symbol for i in info[name]]
            for symbol in symbols:
                self.store.add(name, symbol, start=False)
            ws_url = {"ws_url": cfg.ws_url} if cfg.ws_url else {}
            stream = STREAMS[name](feed, tap=functools.partial(writer.frame, name), **ws_url)
            self.streams[name] = stream
            await stream.subscribe_depth(symbols)
            for symbol in symbols:
                self.store.invalidate(name, symbol, "start")

    async def _loop(self, duration: float | None) -> None:
        began = time.monotonic()
        next_checkpoint = began + self._every if self._every > 0 else float("inf")
        while not self._stop.is_set():
            now = time.monotonic()
            if duration is not None and now - began >= duration:
                break
            if now >= next_checkpoint:
                await self._checkpoint()
                next_checkpoint = time.monotonic() + self._every
            assert self.writer is not None
            self.writer.flush()
            self._draw()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), TICK_S)

    def _draw(self, done: bool = False) -> None:
        writer = self.writer
        if writer is None or not (done or self._progress.due()):
            return
        elapsed = self._progress.elapsed
        synced = sum(s.state == 1 for s in self.store.all())
        snaps = sum(c["SNAPSHOT"] for c in writer.counts.values())
        line = (f"recording {elapsed:6.1f}s  frames {writer.frames:,} ({rate(writer.frames, elapsed)})  "
                f"snapshots {snaps}  books {synced}/{len(list(self.store.all()))}  "
                f"{writer.bytes / 1e6:.1f} MB -> {self.directory}")
        if done:
            self._progress.done(line)
        else:
            self._progress.update(line)


# ---------------------------------------------------------------------------- `arb-engine record`


async def record_main(out: str, venues: Sequence[str], symbols: Sequence[str], *, duration: float | None,
                      sim: bool, sim_urls: Mapping[str, tuple[str, str]], seed: int, snapshot_every_s: float,
                      quiet: bool, venue_configs: Mapping[str, VenueConfig] | None = None) -> Manifest:
    """Start the simulator if asked, record, and stop on SIGINT/SIGTERM or after `duration`."""
    import signal

    from arb.config import default_config
    from arb.sim.server import SimExchange

    simulator = SimExchange(venues, seed=seed) if sim else None
    urls = await simulator.start() if simulator is not None else dict(sim_urls)
    if venue_configs is None:
        tables = {v: ({"rest_url": urls[v][0], "ws_url": urls[v][1]} if v in urls else {}) for v in venues}
        venue_configs = default_config(symbols=list(symbols), venues=tables).enabled_venues
    source = {v: f"rest={c.rest_url or 'default'} ws={c.ws_url or 'default'}"
              for v, c in venue_configs.items()}
    recorder = Recorder(out, venue_configs, [Symbol.parse(s) for s in symbols],
                        snapshot_every_s=snapshot_every_s, progress=Progress(enabled=not quiet),
                        source=source, quiesce=simulator.close_driver if simulator is not None else None)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, recorder.stop)
    try:
        return await recorder.run(duration)
    finally:
        if simulator is not None:
            await simulator.close()
