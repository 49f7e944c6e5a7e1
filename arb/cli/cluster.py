"""The `--cluster` flags: `run --cluster URL [--worker NAME] [--lease-s S]`, `halt|resume --cluster URL`.

NATS (nats-py, the `cluster` extra) is imported only when a command is given `--cluster`; without it
nothing changes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from arb.cli.common import UsageError
from arb.engine.risk import TradingState
from arb.errors import ConfigError
from arb.sim.universe import SimUniverse

if TYPE_CHECKING:
    from arb.cluster.conn import ClusterSettings

MAX_DEMO_WORKERS = 8
FLAG_OF = {"cluster.url": "--cluster", "cluster.worker": "--worker", "cluster.lease_s": "--lease-s",
           "cluster.replicas": "--replicas"}


def default_worker() -> str:
    """``<host>-<pid>``, spelled as a worker name must be."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "worker"
    return f"{host}-{os.getpid()}"


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("cluster mode (NATS JetStream; README: Cluster)")
    group.add_argument("--cluster", metavar="URL", default=None,
                       help="join the cluster at this NATS server (nats://host:4222): a shard of the "
                            "symbols, an allocation of the shared funds, one trading state")
    group.add_argument("--worker", metavar="NAME", default=None,
                       help="this worker's name, unique in the cluster (default <host>-<pid>)")
    group.add_argument("--lease-s", type=float, default=3.0, metavar="S",
                       help="symbol lease and heartbeat period: a dead worker's symbols move within it "
                            "(default 3, 1-600)")
    group.add_argument("--replicas", type=int, default=1, metavar="N",
                       help="JetStream replicas of the cluster's buckets and stream: 1, or 3 on a 3-node "
                            "NATS (default 1)")


def _nats_missing() -> UsageError:
    return UsageError("--cluster needs nats-py: pip install 'arb[cluster]' (included in '.[dev]')")


def cluster_settings(args: argparse.Namespace) -> ClusterSettings | None:
    """The run's cluster settings from its flags (None without `--cluster`), validated."""
    if args.cluster is None:
        for flag in ("worker",):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag} needs --cluster URL")
        return None
    try:
        from arb.cluster.conn import ClusterSettings
    except ImportError:
        raise _nats_missing() from None
    settings = ClusterSettings(args.cluster, args.worker or default_worker(), args.lease_s, args.replicas)
    try:
        return settings.check()
    except ConfigError as exc:
        raise UsageError(f"{FLAG_OF.get(exc.field, exc.field)} {exc.value!r}: {exc.detail}") from None


def set_cluster_state(url: str, state: TradingState, reason: str) -> int:
    """`halt --cluster` / `resume --cluster`: write and broadcast the cluster's state."""
    try:
        from arb.cluster.conn import ClusterSettings
        from arb.cluster.state import set_cluster_state as write
    except ImportError:
        raise _nats_missing() from None
    try:
        ClusterSettings(url, "cli").check()
    except ConfigError as exc:
        raise UsageError(f"--cluster {exc.value!r}: {exc.detail}") from None
    before, after = asyncio.run(write(url, state, reason))
    was = f"was {before.state.name}{': ' + before.reason if before.reason else ''}"
    print(f"cluster {after.state.name}{f' ({reason})' if reason else ''} ({was}): {url}; every worker "
          "applies it at once (a worker away from NATS on its return)")
    return 0


def cluster_status(url: str, as_json: bool) -> int:
    """`status --cluster`: members, who owns which symbol, the ledger, the state."""
    try:
        from arb.cluster.conn import ClusterSettings
        from arb.cluster.status import cluster_status as read
        from arb.cluster.status import status_text
    except ImportError:
        raise _nats_missing() from None
    try:
        ClusterSettings(url, "cli").check()
    except ConfigError as exc:
        raise UsageError(f"--cluster {exc.value!r}: {exc.detail}") from None
    status = asyncio.run(read(url))
    print(json.dumps(status, indent=2) if as_json else status_text(status))
    return 0


def _check_url(url: str) -> None:
    from arb.cluster.conn import ClusterSettings

    try:
        ClusterSettings(url, "cli").check()
    except ConfigError as exc:
        raise UsageError(f"--cluster {exc.value!r}: {exc.detail}") from None


def _since_ns(parse: Callable[[str, int], int], since: str | None) -> int:
    """`--since` as epoch nanoseconds (0: from the stream's start); a bad value is the user's mistake."""
    try:
        return parse(since, time.time_ns()) if since else 0
    except ValueError as exc:
        raise UsageError(f"--since {exc}") from None


def cluster_pnl(url: str, since: str | None, fmt: str) -> int:
    """`pnl --cluster`: realised PnL of every worker from the event stream."""
    try:
        from arb.cluster.feed import cluster_pnl as read
        from arb.cluster.feed import parse_since, pnl_sections
    except ImportError:
        raise _nats_missing() from None
    from arb.reports import iso_time, render

    _check_url(url)
    since_ns = _since_ns(parse_since, since)
    report = asyncio.run(read(url, since_ns))
    if fmt == "json":
        print(json.dumps(report, indent=2))
        return 0
    if fmt == "csv":
        rows = [{"group": title.split(" ")[1], "key": next(iter(row.values())), **dict(list(row.items())[1:])}
                for title, table in pnl_sections(report) for row in table]
        print(render(rows, "csv"))
        return 0
    since_text = f" since {iso_time(since_ns)}" if since_ns else ""
    print(f"realised PnL of the cluster at {url}{since_text} (from its event stream)")
    for title, table in pnl_sections(report):
        print(f"\n{title}\n{render(table, 'table')}")
    if report["unreadable"]:
        print(f"warning: {report['unreadable']} fill events could not be read (another arb version?): "
              "not counted")
    for worker, missing in sorted(report["missing"].items()):
        print(f"warning: {missing} fill events of {worker} are missing from the stream (dropped while "
              "NATS was away too long): its journal's `arb-engine pnl` is the complete figure")
    return 0


def cluster_top(url: str, interval: float, reason: str, since: str | None) -> int:
    """`top --cluster`: the dashboard of every worker (keys halt and resume the whole cluster)."""
    try:
        from arb.cluster.feed import parse_since
        from arb.cluster.top import top_cluster
    except ImportError:
        raise _nats_missing() from None
    _check_url(url)
    since_ns = _since_ns(parse_since, since)
    return asyncio.run(top_cluster(url, interval=interval, reason=reason, since_ns=since_ns))


def worker_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of workers, got {text!r}") from None
    if not 2 <= value <= MAX_DEMO_WORKERS:
        raise argparse.ArgumentTypeError(f"2 to {MAX_DEMO_WORKERS} workers, got {value}")
    return value


def cluster_demo(workers: int, duration: float, venues: list[str], symbols: list[str], seed: int,
                 data_dir: str | None, *, use_uvloop: bool, universe: SimUniverse | None) -> int:
    """`demo --cluster N`."""
    try:
        from arb.cluster.demo import main
        from arb.cluster.server import server_binary
    except ImportError:
        raise _nats_missing() from None
    server_binary()  # no binary: say so before anything starts
    base = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="arb-cluster-demo-"))
    return main(workers, duration, venues, symbols, seed, base, use_uvloop=use_uvloop, universe=universe)
