#!/usr/bin/env bash
# py-spy flame graphs of the benchmarks (native frames included, so Cython shows up).
#   bash perf/profile.sh            # the book benchmark
#   bash perf/profile.sh spread     # another perf/bench_<name>.py
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-book}"
mkdir -p perf/out
py-spy record --native --rate 500 --format flamegraph -o "perf/out/${name}.svg" -- \
    "${PYTHON:-python}" "perf/bench_${name}.py"
echo "flame graph: perf/out/${name}.svg"
