"""`arb-engine chaos --quick` through the CLI: one table, one verdict per row, every row PASS.

The quick profile runs once (a subprocess, as a user or CI runs it) and each row's verdict is its
own test. Rows that measure a defect not fixed yet are marked xfail(strict=True) naming the defect
(issue 10), so each flips to a failure of the xfail (remove the mark) when its fix lands.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from arb.ops.chaos import HEADERS, NAMES, Row, parse_rows, storm, streams, table
from arb.ops.chaos.common import TRADED, Canary, RowResult, live_engine, simulator
from arb.sim.server import DIALECTS
from arb.venues.registry import VENUE_NAMES

ROWS = list(Row)
# rows that measure a defect not fixed yet: xfail(strict=True) naming it (none today)
DEFECTS: dict[Row, str] = {}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("chaos")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARB_")}
    proc = subprocess.run([sys.executable, "-m", "arb.cli", "chaos", "--quick", "--json", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 2 would be a usage error, other: a crash
    document: dict[str, Any] = json.loads(proc.stdout)
    document["returncode"] = proc.returncode
    document["out"] = out
    return document


def test_the_table_has_every_row_and_the_exit_code_follows_the_verdicts(campaign: dict[str, Any]) -> None:
    rows = campaign["rows"]
    assert campaign["profile"] == "quick" and campaign["seed"] == 1
    assert len(rows) == len(Row)
    for row in rows:
        assert set(row) == {"fault", "trials", "figure", "target", "verdict", "details"}
        assert row["verdict"] in ("PASS", "FAIL") and row["figure"] and row["target"]
        assert row["trials"] > 0, row
    assert rows[-1]["fault"] == "canary secrets" and rows[-1]["trials"] >= len(Row)
    failed = any(r["verdict"] == "FAIL" for r in rows)
    assert campaign["returncode"] == (1 if failed else 0)
    assert any((Path(campaign["out"]) / NAMES[Row.KILL]).rglob("journal.sqlite"))  # the runs left journals


@pytest.mark.parametrize("row", [
    pytest.param(row, marks=pytest.mark.xfail(strict=True, reason=DEFECTS[row])) if row in DEFECTS else row
    for row in ROWS
], ids=[NAMES[row] for row in ROWS])
def test_row_passes(campaign: dict[str, Any], row: Row) -> None:
    result = campaign["rows"][list(Row).index(row)]
    assert result["verdict"] == "PASS", f"{result['figure']}: {result['details']}"


def test_bad_arguments_name_what_is_wrong() -> None:
    proc = subprocess.run([sys.executable, "-m", "arb.cli", "chaos", "--quick", "--only", "kill,nope"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown row 'nope'" in proc.stderr and "kill" in proc.stderr
    assert parse_rows("halt, kill") == [Row.HALT, Row.KILL]


def test_the_table_lines_up() -> None:
    text = table([RowResult("a", 3, "0 dup", "0", True), RowResult("longer fault", 10, "1 dup", "0", False)])
    lines = text.splitlines()
    assert lines[0].split() == list(HEADERS)
    assert lines[2].split()[-1] == "PASS" and lines[3].split()[-1] == "FAIL"
    assert lines[3].index("10") == lines[2].index("3")  # the trials column starts at the same place


async def test_a_storm_is_counted_only_when_its_429_was_served(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The storm row's honesty: a 429 no request took is disarmed and reported as not fired; the
    same storm on an engine that trades is served, and its time is the simulator's."""
    monkeypatch.setattr(storm, "FIRE_S", 0.5)
    canary = Canary()
    async with simulator(TRADED, 3, canary) as sim, live_engine(sim, tmp_path, canary) as engine:
        engine.risk.halt("chaos test: nothing may trade")
        order_429 = storm.Storm(0, "binance", "mexc", storm.Trigger.ORDER)
        details: list[str] = []
        assert storm.unsettled(engine, order_429) == "trading HALTED"
        assert not await storm.fire(sim, engine, order_429, random.Random(1), details)
        assert not sim.faults["binance"].replies and sim.injectors["binance"].counts.canned == 0
        assert len(details) == 1 and "not fired, no POST /api/v3/order" in details[0], details
        engine.risk.resume()
        assert await storm.fire(sim, engine, order_429, random.Random(1), details)
        [(at, route, status)] = sim.injectors["binance"].served
        assert route == "POST /api/v3/order" and status == 429 and order_429.served_at == at


def test_the_stream_rows_cover_every_venue_the_simulator_serves(campaign: dict[str, Any]) -> None:
    """The stream-fault and malformed rows run on every registry venue the simulator serves: each
    venue gets a schedule, and every malformed kind is sent on every venue."""
    assert set(streams.VENUES) == set(DIALECTS) & set(VENUE_NAMES) and len(streams.VENUES) == 5
    stream_row = campaign["rows"][list(Row).index(Row.STREAM)]
    [per_venue] = [d for d in stream_row["details"] if d.startswith("schedules per venue: ")]
    parts = per_venue.removeprefix("schedules per venue: ").split("; ")
    counts = dict(part.split(" (")[0].split() for part in parts)
    assert set(counts) == set(streams.VENUES) and all(int(n) >= 1 for n in counts.values()), per_venue
    assert f"over {len(streams.VENUES)} venues" in stream_row["figure"]
    malformed_row = campaign["rows"][list(Row).index(Row.MALFORMED)]
    assert malformed_row["trials"] == len(streams.VENUES) * len(streams.Malformed)


def test_stream_schedules_take_turns_over_the_venues() -> None:
    """Up to PER_SCHEDULE distinct venues per schedule; every venue has its turn before any its second."""
    for seed in range(20):
        turns = streams.rotation(random.Random(seed))
        picks = [next(turns) for _ in range(10)]
        assert all(len(p) == len(set(p)) == streams.PER_SCHEDULE for p in picks)
        flat = [v for p in picks for v in p]
        for start in range(0, len(flat) - len(streams.VENUES) + 1, len(streams.VENUES)):
            assert set(flat[start:start + len(streams.VENUES)]) == set(streams.VENUES), (seed, picks)
