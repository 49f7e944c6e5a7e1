"""`arb-engine chaos`: drive the engine against the simulator's faults and print what it measured.

Each row breaks one thing (a SIGKILL, a lost reply, a rejected leg, a stream fault, a 429 storm, a
malformed frame, a skewed clock, a dead journal writer, a HALT from another process) many times,
seeded and bounded in time, and compares what the engine did with the simulator's ledger. A row
that cannot meet its target says FAIL and why; the exit code is 1 if any row failed. Every engine
runs with random canary keys and the last row reports every place they were looked for.
"""

from __future__ import annotations

import asyncio
import enum
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Final, TextIO

from arb.ops.chaos.common import Canary, RowResult, scanning_logs


class Row(enum.IntEnum):
    KILL = 0
    REPLY = 1
    LEG = 2
    STREAM = 3
    STORM = 4
    MALFORMED = 5
    SKEW = 6
    JOURNAL = 7
    HALT = 8
    CANARY = 9


NAMES: Final[Mapping[Row, str]] = MappingProxyType({
    Row.KILL: "kill", Row.REPLY: "reply", Row.LEG: "leg", Row.STREAM: "stream", Row.STORM: "storm",
    Row.MALFORMED: "malformed", Row.SKEW: "skew", Row.JOURNAL: "journal", Row.HALT: "halt",
    Row.CANARY: "canary",
})

# trials per row and profile (the full profile's counts are the targets)
PROFILES: Final[Mapping[str, Mapping[Row, int]]] = MappingProxyType({
    "quick": MappingProxyType({Row.KILL: 4, Row.REPLY: 8, Row.LEG: 3, Row.STREAM: 6, Row.STORM: 2,
                               Row.MALFORMED: 1, Row.SKEW: 2, Row.JOURNAL: 1, Row.HALT: 2}),
    "full": MappingProxyType({Row.KILL: 100, Row.REPLY: 304, Row.LEG: 300, Row.STREAM: 1002, Row.STORM: 24,
                              Row.MALFORMED: 1, Row.SKEW: 20, Row.JOURNAL: 20, Row.HALT: 20}),
})
ROW_TIMEOUT_S: Final[Mapping[str, float]] = MappingProxyType({"quick": 120.0, "full": 3600.0})

RowFn = Callable[[int, int, Path, Canary], Awaitable[RowResult]]


def row_functions() -> dict[Row, RowFn]:
    from arb.ops.chaos import control, kills, storm, streams, trades

    return {Row.KILL: kills.sigkill, Row.REPLY: trades.reply_faults, Row.LEG: trades.one_leg,
            Row.STREAM: streams.stream_faults, Row.STORM: storm.storm, Row.MALFORMED: streams.malformed,
            Row.SKEW: control.clock_skew, Row.JOURNAL: control.journal_failure, Row.HALT: control.halt}


def parse_rows(spec: str | None) -> list[Row]:
    """``"kill,halt"`` -> the rows; raises ValueError naming an unknown row."""
    if not spec:
        return list(Row)
    by_name = {name: row for row, name in NAMES.items()}
    rows = []
    for name in (part.strip() for part in spec.split(",") if part.strip()):
        if name not in by_name:
            raise ValueError(f"--only: unknown row {name!r} (rows: {', '.join(NAMES.values())})")
        rows.append(by_name[name])
    return rows


async def run_rows(rows: Sequence[Row], profile: str, seed: int, out: Path,
                   progress: TextIO | None = None) -> list[RowResult]:
    counts = PROFILES[profile]
    canary = Canary()
    functions = row_functions()
    results: list[RowResult] = []
    with scanning_logs(canary):
        for row in rows:
            if row is Row.CANARY:
                continue
            name = NAMES[row]
            folder = out / name
            folder.mkdir(parents=True, exist_ok=True)
            began = time.monotonic()
            if progress is not None:
                progress.write(f"chaos: {name} ({counts[row]} trials)...\n")
                progress.flush()
            try:
                result = await asyncio.wait_for(functions[row](counts[row], seed, folder, canary),
                                                ROW_TIMEOUT_S[profile])
            except TimeoutError:
                result = RowResult(name, 0, "timed out", "bounded", False,
                                   [f"the row did not finish in {ROW_TIMEOUT_S[profile]:.0f} s"])
            except Exception as exc:  # a broken row is a FAIL with its reason, never a traceback
                text = "".join(traceback.format_exception(exc))
                canary.scan(f"{name} exception", text)
                result = RowResult(name, 0, f"error: {type(exc).__name__}: {exc}", "runs", False,
                                   text.splitlines()[-6:])
            result.details.append(f"{time.monotonic() - began:.1f} s")
            canary.scan(f"{name} result", json.dumps(result.as_dict()))
            results.append(result)
    if Row.CANARY in rows:
        canary.scan_tree(out)
        results.append(RowResult(
            "canary secrets", canary.scanned, f"{len(canary.hits)} occurrences in {canary.scanned} places",
            "0 in logs, journal, /metrics, /status, exceptions", not canary.hits, canary.hits[:20]))
    return results


HEADERS: Final = ("fault", "trials", "figure", "target", "verdict")


def table(results: Sequence[RowResult]) -> str:
    rows = [(r.fault, str(r.trials), r.figure, r.target, "PASS" if r.passed else "FAIL") for r in results]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*HEADERS), line.format(*("-" * w for w in widths))]
    out.extend(line.format(*r) for r in rows)
    return "\n".join(out)


def main(*, quick: bool, seed: int, only: str | None, as_json: bool, out: str | None) -> int:
    """`arb-engine chaos`: 0 when every row passed, 1 otherwise, 2 on bad arguments."""
    try:
        rows = parse_rows(only)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    profile = "quick" if quick else "full"
    try:
        if out is not None:
            folder = Path(out)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                print(f"error: --out {out}: {exc.strerror}", file=sys.stderr)
                return 2
            results = asyncio.run(run_rows(rows, profile, seed, folder, progress=sys.stderr))
        else:
            with tempfile.TemporaryDirectory(prefix="arb-chaos-") as tmp:
                results = asyncio.run(run_rows(rows, profile, seed, Path(tmp), progress=sys.stderr))
    except KeyboardInterrupt:
        print("chaos: interrupted", file=sys.stderr)
        return 130
    if as_json:
        document = {"profile": profile, "seed": seed, "rows": [r.as_dict() for r in results]}
        print(json.dumps(document, indent=2))
    else:
        print(table(results))
        for r in results:
            if not r.passed:
                print(f"\n{r.fault}: " + "; ".join(r.details[:8]))
    return 0 if all(r.passed for r in results) else 1
