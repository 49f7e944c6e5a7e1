"""The recording format of `arb-engine record` / `replay`: a manifest and one append-only file per venue.

A recording is a directory::

    manifest.json    format name and version, venues, symbols, start (and end) time, symbol rules
    <venue>.rec      8-byte magic, then records: kind (u8), ts_recv (i64 ns), length (u32), payload

Record kinds: raw WebSocket data frames exactly as the stream callback got them (text as UTF-8,
binary such as MEXC protobuf as is), REST depth snapshots (the decoded `OrderBook`, msgpack) and
stream state changes (connected or not, for which symbols). Files are flushed several times a
second, so a recorder that is killed leaves a readable prefix: the reader stops at a torn last
record and says so (`RecordReader.truncated`).
"""

from __future__ import annotations

import enum
import heapq
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Final, NamedTuple

import msgspec

from arb.model import OrderBook, Symbol, SymbolInfo

FORMAT: Final = "arb-recording"
VERSION: Final = 1
MAGIC: Final = b"ARBREC\x00\x01"
MANIFEST: Final = "manifest.json"
HEADER: Final = struct.Struct("<BqI")  # kind, ts_recv ns, payload length
FLUSH_EVERY_S: Final = 0.2


class Kind(enum.IntEnum):
    TEXT = 1  # a text WebSocket data frame (UTF-8)
    BINARY = 2  # a binary WebSocket data frame (MEXC protobuf)
    SNAPSHOT = 3  # a REST depth snapshot: msgpack `OrderBook`
    STATE = 4  # a stream connection change: msgpack `StreamState`


class StreamState(msgspec.Struct, array_like=True, frozen=True):
    connected: bool
    symbols: list[Symbol]


class Record(NamedTuple):
    ts_ns: int
    venue: str
    kind: Kind
    payload: bytes


class Manifest(msgspec.Struct, kw_only=True):
    """What `manifest.json` holds."""

    format: str = FORMAT
    version: int = VERSION
    venues: list[str]
    symbols: list[str]
    started_ns: int
    ended_ns: int = 0  # 0 while recording (or when the recorder was killed)
    source: dict[str, str] = {}  # venue -> "rest=... ws=..." it was recorded from
    symbol_info: dict[str, list[SymbolInfo]] = {}  # venue -> rules of the recorded symbols
    counts: dict[str, dict[str, int]] = {}  # venue -> kind name -> records

    def file(self, venue: str) -> str:
        return f"{venue}.rec"


_ENCODER: Final = msgspec.msgpack.Encoder()
_BOOK: Final = msgspec.msgpack.Decoder(OrderBook)
_STATE: Final = msgspec.msgpack.Decoder(StreamState)


def decode_snapshot(payload: bytes) -> OrderBook:
    return _BOOK.decode(payload)


def decode_state(payload: bytes) -> StreamState:
    return _STATE.decode(payload)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Atomically (re)write the manifest."""
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(manifest), indent=2))
    os.replace(tmp, directory / MANIFEST)


class UnreadableRecording(ValueError):
    """A recording that is there but cannot be read: corrupt, not arb's format, or a newer version
    (the CLI's environment error, exit 3; a directory with no recording at all is a usage error)."""


def read_manifest(directory: Path) -> Manifest:
    path = Path(directory) / MANIFEST
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise ValueError(f"no recording in {directory}: it has no {MANIFEST} "
                         "(`arb-engine record --out DIR` writes one)") from None
    except OSError as exc:
        raise UnreadableRecording(f"{path}: not a readable recording manifest ({exc})") from None
    try:
        manifest = msgspec.json.decode(data, type=Manifest, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise UnreadableRecording(f"{path}: not a readable recording manifest ({exc})") from None
    if manifest.format != FORMAT or manifest.version != VERSION:
        raise UnreadableRecording(f"{path}: format {manifest.format} v{manifest.version}, "
                                  f"expected {FORMAT} v{VERSION}")
    return manifest


class RecordingWriter:
    """Appends records to one file per venue; `close` completes the manifest.

    Parameters
    ----------
    directory:
        Created if missing; an existing recording in it is refused.
    manifest:
        Written at once (so a killed recorder leaves a usable directory) and again on `close`.
    """

    def __init__(self, directory: Path, manifest: Manifest,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        if (self.directory / MANIFEST).exists():
            raise FileExistsError(f"{self.directory} already holds a recording")
        self.manifest = manifest
        self._monotonic = monotonic
        self._files: dict[str, IO[bytes]] = {}
        for venue in manifest.venues:
            f = open(self.directory / manifest.file(venue), "wb")  # noqa: SIM115 (closed in close())
            f.write(MAGIC)
            self._files[venue] = f
        self.counts: dict[str, dict[str, int]] = {v: dict.fromkeys((k.name for k in Kind), 0)
                                                   for v in manifest.venues}
        self.bytes = 0
        self._last_flush = monotonic()
        write_manifest(self.directory, manifest)

    def write(self, venue: str, kind: Kind, ts_ns: int, payload: bytes) -> None:
        f = self._files[venue]
        f.write(HEADER.pack(kind, ts_ns, len(payload)))
        f.write(payload)
        self.counts[venue][kind.name] += 1
        self.bytes += HEADER.size + len(payload)
        now = self._monotonic()
        if now - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def frame(self, venue: str, frame: bytes | str, recv_ns: int) -> None:
        """A WebSocket data frame, exactly as the stream callback receives it."""
        if isinstance(frame, str):
            self.write(venue, Kind.TEXT, recv_ns, frame.encode())
        else:
            self.write(venue, Kind.BINARY, recv_ns, bytes(frame))

    def snapshot(self, venue: str, book: OrderBook) -> None:
        self.write(venue, Kind.SNAPSHOT, book.ts_recv, _ENCODER.encode(book))

    def state(self, venue: str, ts_ns: int, connected: bool, symbols: Sequence[Symbol]) -> None:
        self.write(venue, Kind.STATE, ts_ns, _ENCODER.encode(StreamState(connected, list(symbols))))

    def flush(self) -> None:
        for f in self._files.values():
            f.flush()
        self._last_flush = self._monotonic()

    @property
    def frames(self) -> int:
        return sum(c[Kind.TEXT.name] + c[Kind.BINARY.name] for c in self.counts.values())

    def close(self, ended_ns: int) -> Manifest:
        for f in self._files.values():
            f.close()
        self._files.clear()
        self.manifest.ended_ns = ended_ns
        self.manifest.counts = self.counts
        write_manifest(self.directory, self.manifest)
        return self.manifest


KINDS: Final = frozenset(int(k) for k in Kind)


class RecordReader:
    """The records of one venue file in order; stops quietly at a torn last record."""

    def __init__(self, path: Path, venue: str) -> None:
        self.path = path
        self.venue = venue
        self.size = path.stat().st_size
        self.offset = 0
        self.truncated = False

    def __iter__(self) -> Iterator[Record]:
        if self.size < len(MAGIC):
            self.truncated = self.size > 0
            return
        with open(self.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[: len(MAGIC)] != MAGIC:
                raise UnreadableRecording(f"{self.path}: not an arb recording file")
            offset, size, venue = len(MAGIC), self.size, self.venue
            unpack, header = HEADER.unpack_from, HEADER.size
            while offset + header <= size:
                kind, ts_ns, length = unpack(data, offset)
                end = offset + header + length
                if end > size:
                    break
                if kind not in KINDS:
                    raise UnreadableRecording(f"{self.path}: corrupt record at byte {offset} "
                                              f"(unknown kind {kind})")
                payload = data[offset + header:end]
                offset = self.offset = end
                yield Record(ts_ns, venue, Kind(kind), payload)
            self.truncated = offset != size


class Recording:
    """An open recording directory: its manifest and its records merged across venues by time."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        self.readers = [RecordReader(self.directory / self.manifest.file(v), v) for v in self.manifest.venues]

    @property
    def symbols(self) -> list[Symbol]:
        return [Symbol.parse(s) for s in self.manifest.symbols]

    @property
    def size(self) -> int:
        return sum(r.size for r in self.readers)

    @property
    def position(self) -> int:
        return sum(r.offset for r in self.readers)

    @property
    def truncated(self) -> bool:
        return any(r.truncated for r in self.readers)

    def records(self) -> Iterator[Record]:
        """Every record in receive-time order (ties: venue order of the manifest, then file order)."""
        order = {v: i for i, v in enumerate(self.manifest.venues)}
        return heapq.merge(*self.readers, key=lambda r: (r.ts_ns, order[r.venue]))

    def symbol_info(self) -> Mapping[str, list[SymbolInfo]]:
        return self.manifest.symbol_info

    def describe(self) -> dict[str, Any]:
        m = self.manifest
        return {"directory": str(self.directory), "venues": m.venues, "symbols": m.symbols,
                "started_ns": m.started_ns, "ended_ns": m.ended_ns, "counts": m.counts,
                "bytes": self.size, "complete": bool(m.ended_ns)}
