"""Every config field changes what the program does, is described in the schema, and the defaults trade.

The walk below discovers every leaf field of `Config` by introspection (each venue's table on its
own) and insists each has a behavioural probe in `tests/config/`: a probe builds the program's real
objects from a config once with the default and once with a changed value and asserts the
difference the field is documented to make. A field added without a probe fails here, by name, so
an inert knob cannot come back. Fields found to do nothing were deleted (`journal.batch_ms`,
`venues.*.max_streams_per_connection`, `venues.*.maker_fee`, `venues.*.{market_data,trading}.concurrency`)
or wired (`venues.*.connection.connect_timeout_s`); `venues.gateio.ws_private_url` is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import DEFAULT_PAPER_BALANCES, config_schema, load_config, parse_config, starter_config
from arb.credentials import registry_names
from tests.config import (
    test_ccxt_fields,
    test_cli_fields,
    test_engine_fields,
    test_executor_fields,
    test_risk_fields,
    test_universe_fields,
    test_venue_fields,
)
from tests.config.support import leaf_fields, pattern

ROOT = Path(__file__).resolve().parents[1]
PROBES = {**test_engine_fields.PROBES, **test_cli_fields.PROBES, **test_venue_fields.PROBES,
          **test_risk_fields.PROBES, **test_executor_fields.PROBES, **test_universe_fields.PROBES,
          **test_ccxt_fields.PROBES}


def test_every_config_field_has_a_behavioural_probe() -> None:
    fields = list(leaf_fields())
    assert len(fields) == len(set(fields)) > 60
    assert {f.split(".")[1] for f in fields if f.startswith("venues.")} == set(registry_names())
    missing = [f for f in fields if pattern(f) not in PROBES]
    assert not missing, f"config fields without a probe in tests/config/ (probe or delete them): {missing}"
    stale = sorted(set(PROBES) - {pattern(f) for f in fields})
    assert not stale, f"probes of fields the config no longer has: {stale}"


def test_every_schema_property_has_a_description(capsys: pytest.CaptureFixture[str]) -> None:
    schema = config_schema()
    undescribed = [f"{name}.{prop}" for name, definition in schema["$defs"].items()
                   for prop, spec in definition.get("properties", {}).items() if not spec.get("description")]
    assert not undescribed, undescribed
    count = sum(len(d.get("properties", {})) for d in schema["$defs"].values())
    assert count > 50
    assert main(["config", "schema"]) == 0
    assert '"description": "symbols to trade' in capsys.readouterr().out


def test_config_init_writes_a_commented_config_that_validates(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "arb.toml"
    assert main(["config", "init", str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    text = path.read_text()
    assert text == starter_config() and text.count("#") > 20
    assert "ARB_<VENUE>_API_PASSPHRASE" in text  # a venue that issues one refuses to start without it
    assert main(["config", "validate", str(path)]) == 0
    assert "mode=paper" in capsys.readouterr().out
    assert load_config(path, environ={}).engine.mode == "paper"
    assert main(["config", "init", str(path)]) == 2  # never overwrites by accident
    assert "--force" in capsys.readouterr().err
    assert main(["config", "init", str(path), "--force"]) == 0
    tomllib.loads(path.read_text())


def test_only_symbols_means_paper_with_the_documented_balances(tmp_path: Path) -> None:
    config = parse_config({"symbols": ["BTC/USDT"]})
    assert config.engine.mode == "paper" and config.paper_start_balances == DEFAULT_PAPER_BALANCES
    readme = (ROOT / "README.md").read_text()
    documented = ", ".join(f"{amount.normalize():f} {asset}"
                           for asset, amount in DEFAULT_PAPER_BALANCES.items())
    assert documented in readme.replace("**", "")
    # and it trades: `run` on such a file against the simulator
    (tmp_path / "arb.toml").write_text('symbols = ["BTC/USDT", "ETH/USDT"]\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ARB__OBSERVABILITY__METRICS_PORT": "0"}
    done = subprocess.run([sys.executable, "-m", "arb.cli", "run", "--config", "arb.toml", "--sim",
                           "--duration", "8"], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "running in paper mode" in done.stdout
    sent = next(line for line in done.stdout.splitlines() if line.strip().startswith("trades sent"))
    assert int(sent.split()[-1]) > 0, done.stdout
    assert " PnL " in done.stdout  # a line per trade
