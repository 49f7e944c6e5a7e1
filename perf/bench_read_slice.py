"""A/B of the WebSocket reader's time slice (issue #14): bench_e2e's socket half, with and without it.

`WsClient._read` yields to the event loop once `READ_SLICE_S` has passed since it last did (so a
socket that always has frames buffered cannot hold the loop's timers, a cluster worker's NATS round
trips, or the other sockets). The cost is one clock read a frame and a loop turn every slice. This
runs bench_e2e's socket half (3 venues x 20 symbols pushed over loopback to the real connectors and
engine, the engine pinned to one CPU) alternately with the slice (`on`) and without it (`off`:
READ_SLICE_S set to a value never reached, the reader as it was), each run in a fresh process,
``ARB_BENCH_ROUNDS`` rounds (default 5); one thing differs between the rows. ``ARB_BENCH_SLICE_S``
tries another slice for `on`.

    python perf/bench_read_slice.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # this checkout's arb

from _common import table  # noqa: E402

ROUNDS = int(os.environ.get("ARB_BENCH_ROUNDS", "5"))
SLICE = os.environ.get("ARB_BENCH_SLICE_S", "the default")
VARIANTS = ("on", "off")


def one(variant: str) -> None:
    """Child process: one socket-half run; prints its figures as one JSON line."""
    import arb.net.ws as ws

    if variant == "off":
        ws.READ_SLICE_S = float("inf")  # type: ignore[misc]  # never yields: the reader without the slice
    elif os.environ.get("ARB_BENCH_SLICE_S"):  # try another slice than the default
        ws.READ_SLICE_S = float(os.environ["ARB_BENCH_SLICE_S"])  # type: ignore[misc]
    from _e2e_socket import measure

    print(json.dumps(measure()), flush=True)


def main() -> None:
    runs: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    for _ in range(ROUNDS):
        for variant in VARIANTS:
            out = subprocess.run([sys.executable, __file__, "--one", variant], capture_output=True, text=True,
                                 check=True).stdout
            runs[variant].append(json.loads(out.strip().splitlines()[-1]))
    rows = []
    base = statistics.median(r["frames"] / r["cpu"] for r in runs["off"])
    for variant in VARIANTS:
        rs = runs[variant]
        per_cpu = [r["frames"] / r["cpu"] for r in rs]
        rows.append([f"slice {variant}", statistics.median(r["frames"] / r["elapsed"] for r in rs),
                     statistics.median(per_cpu), statistics.median(per_cpu) / base,
                     statistics.median(r["p99"] for r in rs),
                     ", ".join(f"{x:,.0f}" for x in per_cpu)])
    print(table(f"WsClient read slice on/off: bench_e2e socket half, {ROUNDS} alternating rounds, medians "
                f"slice {SLICE}; (load average {os.getloadavg()[0]:.1f} at the end)",
                ["reader", "frames/s (wall)", "frames per engine CPU-s", "x off", "p99 µs",
                 "every run's frames per CPU-s"], rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2])
    else:
        main()
