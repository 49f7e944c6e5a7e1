"""bench_cluster's 1 vs 2 workers: frames/s processed in total with sharded books (see its docstring)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from _common import table, verdict

from arb.cluster.server import NatsServer

HERE = Path(__file__).resolve().parent
N_SYMBOLS = 100
VENUES = 3
PER_BOOK = int(os.environ.get("ARB_BENCH_FRAMES_PER_BOOK", "1000"))
READY_S = 180.0  # leases settled and every book SYNCED, on a loaded machine
PUSH_S = 300.0
ROUNDS = int(os.environ.get("ARB_BENCH_ROUNDS", "5"))
BOOK_RATE = 10  # frames/s of one busy book on the venues' 100 ms depth streams
# a worker at its ceiling answers NATS late (its loop is busy with frames). Before the WS reader's time
# slice (arb.net.ws.READ_SLICE_S) a tick took 3-7 s there, longer than a 3 s lease's 1.8 s time to live,
# and its leases expired mid-run; with it the tick stays under ~1.3 s and ARB_BENCH_LEASE_S=3 shows 0
# lease changes. The measurement is of the books, so the lease stays long here (a tick every 6 s, not
# every 0.6 s, competes with the frames; its own nats-server: a cluster has one lease period)
LEASE_S = float(os.environ.get("ARB_BENCH_LEASE_S", "30"))
WORKERS = tuple(int(n) for n in os.environ.get("ARB_BENCH_WORKERS", "1,2").split(","))  # "1": one only


def _ask(proc: subprocess.Popen[str], command: str) -> dict[str, Any] | None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    if command != "status":
        return None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"a worker exited: {proc.args}")
    reply: dict[str, Any] = json.loads(line)
    return reply


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ready(statuses: list[dict[str, Any]], workers: int) -> bool:
    return (sum(s["owned"] for s in statuses) == N_SYMBOLS
            and all(s["members"] == workers and s["books"] == VENUES * s["owned"] == s["synced"]
                    for s in statuses))


def _one_run(url: str, ports: str, pusher: subprocess.Popen[str], workers: int, cpus: list[int],
             log: TextIO) -> dict[str, Any]:
    pinned = len(cpus) > 1
    if pinned:  # 1 worker: the pusher on its own CPU; 2: the pusher shares both with the workers
        os.sched_setaffinity(pusher.pid, {cpus[1]} if workers == 1 else set(cpus))
    procs = [subprocess.Popen(
        [sys.executable, str(HERE / "_cluster_worker.py"), "--nats", url, "--worker", f"x{workers}-{i}",
         "--ports", ports, "--symbols", str(N_SYMBOLS), "--frames-per-book", str(PER_BOOK),
         "--lease-s", str(LEASE_S),
         *(["--cpu", str(cpus[i % len(cpus)])] if pinned else [])],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True) for i in range(workers)]
    try:
        began, settled = time.monotonic(), 0
        while settled < 2:  # twice in a row: no rebalance in progress
            if time.monotonic() - began > READY_S:
                raise RuntimeError(f"{workers} workers not ready in {READY_S:.0f} s: "
                                   f"{[_ask(p, 'status') for p in procs]}")
            time.sleep(0.25)
            settled = settled + 1 if _ready([_ask(p, "status") or {} for p in procs], workers) else 0
        setup_s = time.monotonic() - began
        assert pusher.stdin is not None and pusher.stdout is not None
        pusher.stdin.write("prep\n")
        pusher.stdin.flush()
        prepared = json.loads(pusher.stdout.readline())
        for p in procs:
            _ask(p, "mark")
        time.sleep(0.2)  # the marks are read by the workers' loops
        go, pusher_cpu = time.time(), _cpu_s(pusher.pid)
        pusher.stdin.write("go\n")
        pusher.stdin.flush()
        deadline = time.monotonic() + PUSH_S
        while True:
            time.sleep(0.2)
            statuses = [_ask(p, "status") or {} for p in procs]
            if all(s["done_at"] for s in statuses) or time.monotonic() > deadline:
                break
        return {"workers": workers, "statuses": statuses, "go": go, "ended": time.time(), "setup_s": setup_s,
                "pusher_cpu": _cpu_s(pusher.pid) - pusher_cpu,
                "pushed": prepared["frames"], "connections": prepared["connections"]}
    finally:
        for p in procs:
            if p.poll() is None:
                _ask(p, "quit")
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _rates(run: dict[str, Any]) -> tuple[float, int, list[float]]:
    """(total frames/s, frames, per worker frames/s)."""
    statuses, go, now = run["statuses"], run["go"], run["ended"]  # `ended`: for a worker that timed out
    frames = sum(s["done_frames"] or s["frames"] for s in statuses)
    last = max((s["done_at"] or now) for s in statuses) - go
    each = [(s["done_frames"] or s["frames"]) / ((s["done_at"] or now) - go) for s in statuses]
    return frames / last, frames, each


def shard_throughput(tmp: Path) -> str:
    """Run 1 and 2 workers in alternation, ROUNDS times each; the tables (best run of each, and all)."""
    cpus = sorted(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    server = NatsServer(tmp / "nats-shards")
    url = server.start()
    with Path(os.environ.get("ARB_BENCH_LOG") or tmp / "shard-bench.log").open("w") as log:
        pusher = subprocess.Popen([sys.executable, str(HERE / "_shardpush.py"), "--symbols", str(N_SYMBOLS),
                                   "--frames-per-book", str(PER_BOOK)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert pusher.stdout is not None
            ports = pusher.stdout.readline().strip()
            runs = [_one_run(url, ports, pusher, n, cpus, log) for _ in range(ROUNDS) for n in WORKERS]
        finally:
            if pusher.stdin is not None:
                pusher.stdin.write("stop\n")
                pusher.stdin.flush()
            pusher.wait(timeout=30)
            server.stop()
    best = {n: max((r for r in runs if r["workers"] == n), key=lambda r: _rates(r)[0]) for n in WORKERS}
    base = _rates(best[min(WORKERS)])[0]
    rows = []
    for run in best.values():
        rate, frames, each = _rates(run)
        statuses = run["statuses"]
        complete = all(s["done_at"] for s in statuses)
        rows.append([
            f"{run['workers']} worker{'s' if run['workers'] > 1 else ''}",
            " / ".join(str(s["owned"]) for s in statuses),
            f"{frames:,}/{run['pushed']:,}{'' if complete else ' (timed out)'}",
            rate, rate / base, " / ".join(f"{r:,.0f}" for r in each),
            " / ".join(f"{s['done_frames'] / s['cpu']:,.0f}" if s["cpu"] else "-" for s in statuses),
            sum(s["gaps"] + s["decode_errors"] for s in statuses),
            sum(s["lease_changes"] for s in statuses),
            " / ".join(f"{s['lag_max_ms']:,.0f}" for s in statuses),
            " / ".join(f"{s['tick_max_s']:.2f}" for s in statuses),
            f"{sum(s['evaluated'] for s in statuses) / max(1, frames):.2f}",
            f"{run['pusher_cpu']:.1f} / {run['ended'] - run['go']:.1f}",
            ", ".join(f"{_rates(r)[0]:,.0f} ({sum(s['lease_changes'] for s in r['statuses'])})"
                      for r in runs if r["workers"] == run["workers"])])
    where = (f"1 worker on CPU {cpus[0]}, pusher on CPU {cpus[1]}; 2 workers on CPUs {cpus[0]}, {cpus[1]}, "
             "pusher on both") if len(cpus) > 1 else "one CPU: nothing pinned"
    title = (f"1 vs 2 workers, sharded books ({VENUES} venues x {N_SYMBOLS} symbols, {PER_BOOK:,} diffs a "
             f"book, 5+5 of 30 levels each; {where}; lease {LEASE_S:g} s; best of {ROUNDS} alternating runs; "
             f"load average {load:.1f} at start)")
    header = ["run", "symbols per worker", "frames received/pushed", "frames/s total", "x 1 worker",
                  "frames/s per worker", "frames per worker CPU-s", "gaps+bad", "lease changes",
                  "loop lag max ms", "lease round max s",
                  "kernel runs a frame", "pusher CPU-s / wall s", "every run's frames/s (lease changes)"]
    if WORKERS != (1, 2):
        return table(title, header, rows)
    return table(title, header, rows) + "\n\n" + targets(rows, runs)


def targets(rows: list[list[Any]], runs: list[dict[str, Any]]) -> str:
    ratio, ceiling = rows[1][4], rows[0][3]
    paired = sorted(_rates(two)[0] / _rates(one)[0] for one, two in zip(runs[::2], runs[1::2], strict=True))
    per_cpu = {n: [s["done_frames"] / s["cpu"] for r in runs if r["workers"] == n for s in r["statuses"]
                   if s["cpu"]] for n in (1, 2)}
    # what two workers with a core each to themselves would do, from what each did per CPU-second
    normalized = 2 * statistics.median(per_cpu[2]) / statistics.median(per_cpu[1]) if all(per_cpu.values()) \
        else float("nan")
    return table("Targets (1 vs 2 workers)", ["check", "measured", "target", "verdict"], [
        ("2 workers vs 1, frames/s in total (best runs)", f"{ratio:.2f}x", ">= 1.7x",
         verdict(float(ratio) >= 1.7)),
        ("  the same, run by run (2 workers / the 1 run before)", ", ".join(f"{r:.2f}x" for r in paired),
         "-", "-"),
        ("  per CPU-second: 2 x a worker of 2 / a worker alone (medians)", f"{normalized:.2f}x", "-", "-"),
        ("one worker's ceiling (frames/s, a CPU of its own)", f"{ceiling:,.0f}", "-", "-"),
        (f"books one worker sustains at {BOOK_RATE} frames/s a book", f"{ceiling / BOOK_RATE:,.0f} "
         f"(~{ceiling / BOOK_RATE / VENUES:,.0f} symbols x {VENUES} venues)", "-", "-"),
    ])
