"""`arb-engine demo --cluster 2`: a real nats-server, the simulator and two workers trading one
simulated account; it ends with one cluster summary whose ledger equals the simulator's balances."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.cli import main
from tests.cluster.workers import SYMBOLS


def test_demo_cluster_two_workers_share_one_account(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--cluster", "2", "--duration", "8", "--venues", "binance", "mexc", "gateio",
                 "--symbols", *SYMBOLS, "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "worker w1 joined" in out and "worker w2 joined" in out
    summary = out[out.index("Cluster summary (2 workers, one simulated account)"):]
    rows = {line.split()[0]: line for line in summary.splitlines()[2:4]}
    owned = [s for w in ("w1", "w2") for s in SYMBOLS if s in rows[w]]
    assert sorted(owned) == sorted(SYMBOLS)  # the shards cover the universe, each symbol once
    assert "members        none" in summary  # both left cleanly
    assert "ledger = the simulator's balances on every account" in summary, summary
    total = next(line for line in summary.splitlines() if line.strip().startswith("total"))
    assert int(total.split()[1]) > 0, "no trade in 8 s: the ledger check proves nothing"


def test_demo_cluster_needs_two_workers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--cluster", "1"])
    assert exit_info.value.code == 2
    assert "2 to 8 workers, got 1" in capsys.readouterr().err
