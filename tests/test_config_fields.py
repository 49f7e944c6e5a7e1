"""Every config field is read by the program, described in the schema, and the defaults trade.

`CONSUMERS` maps each field (``venues.*`` for all three venues) to code outside `arb/config.py`
that reads it: a field without an entry, or whose consumer is gone, fails here, so an inert knob
cannot come back. Fields nothing read were deleted instead (`journal.batch_ms`,
`venues.*.max_streams_per_connection`, `venues.*.maker_fee`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from arb.cli import main
from arb.config import (
    DEFAULT_PAPER_BALANCES,
    Config,
    RequestConfig,
    config_schema,
    load_config,
    parse_config,
    starter_config,
)

ROOT = Path(__file__).resolve().parents[1]
ARB = ROOT / "arb"

CONSUMERS: dict[str, str] = {
    "symbols": "config.symbol_list",
    "engine.mode": "config.engine.mode",
    "engine.name": "config.engine.name",
    "engine.data_dir": "config.engine.data_dir",
    "engine.log_level": "engine.log_level if engine",
    "engine.log_format": "engine.log_format if engine",
    "engine.use_uvloop": "config.engine.use_uvloop",
    "engine.paper_balances": "config.paper_start_balances",
    "engine.balance_refresh_s": "config.engine.balance_refresh_s",
    "engine.fee_refresh_s": "engine.fee_refresh_s",
    "engine.stale_book_s": "engine.stale_book_s",
    "venues.*.enabled": "config.enabled_venues",
    "venues.*.rest_url": "config.rest_url",
    "venues.*.ws_url": "config.ws_url",
    "venues.*.ws_private_url": "config.ws_private_url",
    "venues.*.taker_fee": "cfg.taker_fee",
    "venues.*.connection.pool_size": "limit=cfg.pool_size",
    "venues.*.connection.pool_size_per_host": "cfg.pool_size_per_host",
    "venues.*.connection.dns_cache_ttl_s": "cfg.dns_cache_ttl_s",
    "venues.*.connection.keepalive_timeout_s": "cfg.keepalive_timeout_s",
    "venues.*.connection.connect_timeout_s": "cfg.connect_timeout_s",
    "venues.*.market_data": "kind=config.market_data",
    "venues.*.trading": "kind=config.trading",
    "risk.min_net_bps": "risk.min_net_bps",
    "risk.max_net_bps": "self.risk.max_net_bps",
    "risk.max_notional_per_order": "risk.max_notional_per_order",
    "risk.max_open_opportunities": "cfg.max_open_opportunities",
    "risk.max_orders_per_s": "cfg.max_orders_per_s",
    "risk.max_daily_loss": "self.config.max_daily_loss",
    "risk.max_unhedged_notional": "self.config.max_unhedged_notional",
    "risk.max_consecutive_failures": "self.config.max_consecutive_failures",
    "risk.circuit_cooldown_s": "self.config.circuit_cooldown_s",
    "risk.max_book_age_ms": "self.risk.max_book_age_ms",
    "risk.max_event_lag_ms": "self.risk.max_event_lag_ms",
    "risk.symbol_cooldown_ms": "self.risk.symbol_cooldown_ms",
    "risk.inventory_min": "cfg.inventory_min",
    "risk.inventory_max": "cfg.inventory_max",
    "executor.slippage_bps": "self.config.slippage_bps",
    "executor.order_timeout_ms": "self.config.order_timeout_ms",
    "executor.residual_deadline_ms": "cfg.residual_deadline_ms",
    "executor.residual_max_bps": "cfg.residual_max_bps",
    "executor.residual_max_attempts": "cfg.residual_max_attempts",
    "executor.unknown_grace_ms": "executor.unknown_grace_ms",
    "executor.unknown_deadline_ms": "config.unknown_deadline_ms",
    "executor.query_backoff_ms": "executor.query_backoff_ms",
    "observability.metrics_host": "obs.metrics_host",
    "observability.metrics_port": "obs.metrics_port",
    "observability.loop_lag_warn_ms": "loop_lag_warn_ms=obs.loop_lag_warn_ms",
    "journal.path": "config.journal_path",
    "journal.sync": "sync=config.journal.sync",
}
# `market_data` and `trading` are handed whole to the REST client: each of their fields is read there
REQUEST_FIELDS = {"timeout_s": "kind.timeout_s", "retries": "kind.retries",
                  "backoff_base_s": "kind.backoff_base_s", "backoff_max_s": "kind.backoff_max_s",
                  "concurrency": "concurrency.concurrency"}


def _struct_of(tp: Any) -> type[msgspec.Struct] | None:
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    for arg in (*typing.get_args(tp), tp):
        if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
            return arg
    return None


def _fields(struct: type[msgspec.Struct], prefix: str = "") -> Iterator[str]:
    """Dotted names of every leaf field; one venue stands for all three; request presets stop."""
    for field in msgspec.structs.fields(struct):
        name = f"{prefix}{field.name}"
        if prefix == "venues.":
            name = "venues.*"
        if name in ("venues.*.market_data", "venues.*.trading"):
            yield name
            continue
        inner = _struct_of(field.type)
        if inner is None:
            yield name
        elif not (prefix == "venues." and field.name != "binance"):
            yield from _fields(inner, f"{name}.")


def _sources() -> str:
    return "\n".join(p.read_text() for p in sorted(ARB.rglob("*.py")) if p != ARB / "config.py")


def test_every_config_field_has_a_consumer_in_the_code() -> None:
    fields = list(_fields(Config))
    assert len(fields) == len(set(fields)) > 40
    missing = [f for f in fields if f not in CONSUMERS]
    assert not missing, f"fields without a consumer in CONSUMERS (wire or delete them): {missing}"
    stale = [f for f in CONSUMERS if f not in fields]
    assert not stale, f"CONSUMERS names fields the config no longer has: {stale}"
    code = _sources()
    unread = {f: c for f, c in CONSUMERS.items() if c not in code}
    assert not unread, f"no code outside arb/config.py reads these fields any more: {unread}"
    unread_requests = {f: c for f, c in REQUEST_FIELDS.items() if c not in code}
    assert not unread_requests, unread_requests
    request_fields = {f.name for f in msgspec.structs.fields(RequestConfig)}
    assert request_fields == set(REQUEST_FIELDS)


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
