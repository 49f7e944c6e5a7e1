"""Run every perf/bench_*.py (or the ones named) in a fresh interpreter and print their tables.

    python perf/run.py            # all benchmarks
    python perf/run.py book spread
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in argv]
    failed = 0
    for script in scripts:
        print(f"=== {script.name}", flush=True)
        failed += subprocess.call([sys.executable, str(script)]) != 0
        print(flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
