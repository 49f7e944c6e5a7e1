"""`arb-engine run --sim` in paper mode with ``symbols = "auto"``: the simulator's keys are passed, so
the signed venues' transfer status is read and their suspended listings are excluded; a run without
keys says, per signed venue, that their suspended transfers cannot be excluded."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import default_config
from arb.runner import run
from arb.sim.universe import large_universe

VENUES = ["binance", "gateio", "mexc", "okx", "bybit"]
SIGNED = ["binance", "mexc", "okx", "bybit"]


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "arb.toml"
    path.write_text(f'symbols = "auto"\n[engine]\ndata_dir = "{tmp_path / "data"}"\n'
                    "[observability]\nmetrics_port = 0\n[universe]\nquotes = [\"USDT\"]\nmax_symbols = 40\n"
                    + "".join(f"[venues.{v}]\n" for v in VENUES))
    return path


def test_run_sim_reads_the_signed_status_with_the_simulators_keys(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO, logger="arb.engine.universe")
    assert main(["run", "--config", str(_config_file(tmp_path)), "--sim", "--universe", "large",
                 "--duration", "1.5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "running in paper mode" in out and "not published without keys" not in out
    status = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("transfer status:"))
    assert status == "transfer status: " + ", ".join(f"{v} read" for v in VENUES)
    universe = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("symbol universe:"))
    assert "on binance, gateio, mexc, okx, bybit" in universe


async def test_run_without_keys_says_the_signed_status_is_unknown(tmp_path: Path) -> None:
    config = default_config(symbols="auto", engine={"data_dir": str(tmp_path)},
                            observability={"metrics_port": 0}, venues={v: {} for v in VENUES},
                            universe={"quotes": ["USDT"], "max_symbols": 40})
    out = io.StringIO()
    assert await run(config, sim=True, duration=1.0, out=out, universe=large_universe(VENUES)) == 0
    text = out.getvalue()
    for venue in SIGNED:
        assert (f"warning: {venue}: transfer status not published without keys: its suspended transfers "
                "are not excluded") in text, text
    assert "warning: gateio: transfer" not in text  # Gate publishes it without keys
