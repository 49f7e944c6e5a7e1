#!/usr/bin/env bash
# py-spy flame graphs (native frames included, so Cython shows up).
#   bash perf/profile.sh                 # the book benchmark
#   bash perf/profile.sh spread          # another perf/bench_<name>.py
#   bash perf/profile.sh replay [DIR]    # `arb-engine replay` of a recording (made from the simulator
#                                        # into perf/out/recording when DIR is not given)
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:-book}"
py="${PYTHON:-python}"
if ! command -v py-spy >/dev/null 2>&1; then
    echo "py-spy is not installed (pip install py-spy, or pip install -e '.[dev]'): no profile taken"
    exit 0
fi
mkdir -p perf/out
if [ "$name" = "replay" ]; then
    rec="${2:-perf/out/recording}"
    if [ ! -f "$rec/manifest.json" ]; then
        echo "recording 20 s of the simulator (3 venues, 5 symbols) into $rec"
        "$py" -m arb.cli record --out "$rec" --sim --duration 20 --snapshot-every 2 --quiet \
            --symbols BTC/USDT ETH/USDT SOL/USDT XRP/USDT DOGE/USDT
    fi
    py-spy record --native --rate 500 --format flamegraph -o perf/out/replay.svg -- \
        "$py" -m arb.cli replay "$rec" --speed max --quiet
    echo "flame graph: perf/out/replay.svg"
    exit 0
fi
py-spy record --native --rate 500 --format flamegraph -o "perf/out/${name}.svg" -- \
    "$py" "perf/bench_${name}.py"
echo "flame graph: perf/out/${name}.svg"
