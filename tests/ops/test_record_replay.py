"""Record from the loopback simulator, replay through the engine: determinism, gaps, resync, CLI.

One recording (a few seconds, two symbols on three venues, two forced arbitrage windows) serves the
module. The truth is the simulator's own book after the recorder froze the market: the recorder's
books, and every replay's books, must end equal to it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from arb.cli import main
from arb.config import default_config
from arb.model import Symbol
from arb.ops.record import Recorder
from arb.ops.recording import Kind, Recording
from arb.ops.replay import ReplayResult, run_replay
from arb.sim.market import default_universe
from arb.sim.server import SimExchange

ROOT = Path(__file__).resolve().parents[2]
BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
VENUES = ["binance", "gateio", "mexc"]
Levels = list[tuple[float, float]]


class Recorded(NamedTuple):
    directory: Path
    truth: dict[tuple[str, Symbol], tuple[int, Levels, Levels]]  # the simulator's final books
    recorder_books: dict[tuple[str, Symbol], tuple[str, int]]


async def _record(directory: Path) -> Recorded:
    sim = SimExchange(VENUES, seed=11, universe=default_universe()[:2], step_s=0.05)
    urls = await sim.start()
    config = default_config(symbols=["BTC/USDT", "ETH/USDT"],
                            venues={v: {"rest_url": r, "ws_url": w} for v, (r, w) in urls.items()})
    recorder = Recorder(directory, config.enabled_venues, [BTC, ETH], snapshot_every_s=0.4,
                        quiesce=sim.close_driver)

    async def windows() -> None:
        await asyncio.sleep(0.8)
        sim.market.open_window(BTC, "binance", "mexc", net_bps=12.0, duration_ns=300_000_000)
        await asyncio.sleep(0.7)
        sim.market.open_window(ETH, "gateio", "binance", net_bps=12.0, duration_ns=300_000_000)

    opener = asyncio.create_task(windows())
    try:
        await recorder.run(duration=2.5)
        await opener
        truth = {}
        for venue in VENUES:
            for symbol in (BTC, ETH):
                update_id, bids, asks = sim.market.snapshot(venue, symbol, 1000)
                truth[(venue, symbol)] = (update_id, [(float(p), float(q)) for p, q in bids],
                                          [(float(p), float(q)) for p, q in asks])
    finally:
        await sim.close()
    books = {(s.venue, s.symbol): (s.state.name, s.book.update_id) for s in recorder.store.all()}
    return Recorded(directory, truth, books)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    yield asyncio.run(_record(tmp_path_factory.mktemp("recording") / "rec"))


def _replay(recorded: Recorded, tmp_path: Path, name: str, **kwargs: object) -> ReplayResult:
    return run_replay(recorded.directory, tmp_path / name, **kwargs)  # type: ignore[arg-type]


def _assert_books_equal_truth(result: ReplayResult, recorded: Recorded) -> None:
    assert set(result.books) == set(recorded.truth)
    for key, (update_id, bids, asks) in recorded.truth.items():
        book = result.books[key]
        assert (key, book.state, book.update_id) == (key, "SYNCED", update_id)
        assert book.bids == bids and book.asks == asks, key


def test_the_recording_holds_raw_frames_snapshots_and_a_consistent_end(recorded: Recorded) -> None:
    recording = Recording(recorded.directory)
    counts = recording.manifest.counts
    assert recording.manifest.ended_ns > recording.manifest.started_ns
    assert counts["binance"]["TEXT"] > 10 and counts["gateio"]["TEXT"] > 10
    assert counts["mexc"]["BINARY"] > 10 and counts["mexc"]["TEXT"] == 0  # protobuf bytes, as received
    assert all(c["SNAPSHOT"] >= 2 * 3 for c in counts.values())  # start, checkpoints, closing
    assert {v: [str(i.symbol) for i in infos] for v, infos in recording.manifest.symbol_info.items()} == {
        v: ["BTC/USDT", "ETH/USDT"] for v in VENUES}
    first_mexc = next(r for r in recording.records() if r.venue == "mexc" and r.kind is Kind.BINARY)
    assert b"spot@public.aggre.depth.v3.api.pb" in first_mexc.payload
    # the live recorder's books ended exactly on the simulator's final state
    assert recorded.recorder_books == {k: ("SYNCED", v[0]) for k, v in recorded.truth.items()}


def test_replay_is_deterministic_and_trades_the_recorded_windows(recorded: Recorded, tmp_path: Path) -> None:
    first = _replay(recorded, tmp_path, "a")
    second = _replay(recorded, tmp_path, "b")
    assert first.opportunities, "the forced windows must show up as opportunities"
    assert first.fills and first.summary["trades"] >= 1
    assert first.opportunities == second.opportunities
    assert first.fills == second.fills
    assert first.outcomes == second.outcomes
    assert first.summary["funnel"] == second.summary["funnel"]
    assert {o["symbol"] for o in first.opportunities} >= {"BTC/USDT"}
    counts = Recording(recorded.directory).manifest.counts.values()
    assert first.frames == sum(c["TEXT"] + c["BINARY"] for c in counts)
    _assert_books_equal_truth(first, recorded)
    assert all(book.gaps == 0 for book in first.books.values())


def test_paced_replay_gives_the_same_decisions(recorded: Recorded, tmp_path: Path) -> None:
    fast = _replay(recorded, tmp_path, "max")
    paced = _replay(recorded, tmp_path, "paced", speed=20.0)
    assert paced.opportunities == fast.opportunities and paced.fills == fast.fills


def test_dropped_frames_are_gaps_and_books_resync_from_recorded_snapshots(
    recorded: Recorded, tmp_path: Path
) -> None:
    drops = {("binance", 6), ("binance", 13), ("gateio", 9), ("mexc", 11), ("mexc", 12)}
    result = _replay(recorded, tmp_path, "gaps", drop=lambda record, i: (record.venue, i) in drops)
    assert result.dropped == len(drops)
    for venue in VENUES:  # every venue with a dropped frame saw a sequence gap: INVALID, then resync
        gapped = [book for (v, _), book in result.books.items() if v == venue and book.gaps]
        assert gapped, venue
        assert all(book.resyncs >= 2 for book in gapped)
    assert result.snapshots_used > len(result.books)  # the extra resyncs used recorded snapshots
    _assert_books_equal_truth(result, recorded)  # and every book came back to the simulator's state


def test_cli_replay_prints_the_demo_summary(recorded: Recorded, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(recorded.directory), "--quiet", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "replayed" in out and "x real time" in out
    assert "books synced                  6/6" in out and "opportunities (clear fees)" in out
    assert (tmp_path / "journal.sqlite").exists()
    assert main(["replay", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert main(["replay", str(recorded.directory), "--speed", "-1"]) == 2


def test_cli_replay_without_data_dir_leaves_no_temporary_dir(
        recorded: Recorded, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each replay's journal went to a fresh /tmp/arb-replay-* that was never removed: dozens piled
    up. The summary is printed, then the temporary journal goes (and says so)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    assert main(["replay", str(recorded.directory), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "books synced                  6/6" in out
    assert "journal                       removed (pass --data-dir DIR to keep it)" in out
    assert list(scratch.iterdir()) == []
    assert main(["replay", str(tmp_path / "nothing"), "--quiet"]) == 2  # the failure path too
    assert list(scratch.iterdir()) == []


def test_cli_record_from_the_simulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    assert main(["record", "--out", str(out), "--sim", "--duration", "1", "--symbols", "BTC/USDT",
                 "--venues", "binance", "mexc", "--quiet"]) == 0
    assert "recorded" in capsys.readouterr().out
    manifest = Recording(out).manifest
    assert manifest.venues == ["binance", "mexc"] and manifest.symbols == ["BTC/USDT"]
    assert manifest.counts["mexc"]["BINARY"] > 0
    assert main(["record", "--out", str(out), "--sim", "--duration", "1", "--quiet"]) == 2  # exists


def test_a_killed_recorder_leaves_a_replayable_prefix(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "arb.cli", "record", "--out", str(out), "--sim",
                             "--symbols", "BTC/USDT", "--snapshot-every", "0.3", "--quiet"],
                            cwd=ROOT, env=env)
    try:
        for _ in range(200):  # until a few frames are on disk
            if (out / "mexc.rec").exists() and (out / "mexc.rec").stat().st_size > 2000:
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    recording = Recording(out)
    assert recording.manifest.ended_ns == 0  # never closed
    result = run_replay(out, tmp_path / "data")
    assert result.frames > 0 and result.summary["books_synced"] >= 1
