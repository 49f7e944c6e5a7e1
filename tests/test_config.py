from __future__ import annotations

import logging
from pathlib import Path

import pytest

from arb.config import (
    MARKET_DATA_PRESET,
    TRADING_PRESET,
    config_schema,
    default_config,
    describe,
    load_config,
    parse_config,
)
from arb.credentials import Secret, load_credentials
from arb.errors import ConfigError
from arb.model import Symbol
from arb.venues.registry import VENUES

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "arb.toml"
CANARY_KEY = "canary-key-7f3a"
CANARY_SECRET = "canary-secret-9b1e"


def test_example_loads_with_documented_defaults() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.symbol_list == (Symbol("BTC", "USDT"), Symbol("ETH", "USDT"), Symbol("SOL", "USDT"))
    assert list(config.enabled_venues) == ["binance", "gateio", "mexc"]
    assert config.engine.mode == "paper"
    assert config.enabled_venues["gateio"].trading == TRADING_PRESET
    assert config.enabled_venues["mexc"].market_data == MARKET_DATA_PRESET
    assert config.journal_path == Path("./arb-data/journal.sqlite")


def test_minimal_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('symbols = ["BTC/USDT"]\n')
    config = load_config(path, environ={})
    assert list(config.enabled_venues) == list(VENUES) and config.risk.min_net_bps == 5.0


@pytest.mark.parametrize(
    ("raw", "field", "shown"),
    [
        ({"symbols": ["BTC/USDT"], "risk": {"min_net_bps": -1}}, "risk.min_net_bps", "-1"),
        ({"symbols": ["BTC/USDT"], "risk": {"min_net_bps": "five"}}, "risk.min_net_bps", "five"),
        ({"symbols": ["BTC/USDT"], "risk": {"min_net_bps": 300}}, "risk.max_net_bps", "200"),
        ({"symbols": ["BTC/USDT"], "engine": {"mode": "yolo"}}, "engine.mode", "yolo"),
        ({"symbols": ["BTC/USDT"], "engine": {"api_key": "x"}}, "engine.api_key", None),
        ({"symbols": ["BTC/USDT"], "venues": {"kraken": {}}}, "venues.kraken", None),
        ({"symbols": ["BTC/USDT"], "venues": {"binance": {}}}, "venues", "binance"),
        ({"symbols": ["BTC/USDT"], "venues": {"binance": {"taker_fee": 0.5}, "mexc": {}}},
         "venues.binance.taker_fee", "0.5"),
        ({"symbols": ["BTC/USDT"], "venues": {"binance": {"connection": {"pool_size": 0}}, "mexc": {}}},
         "venues.binance.connection.pool_size", "0"),
        ({"symbols": ["BTCUSDT"]}, "symbols[0]", "BTCUSDT"),
        ({"symbols": ["BTC/USDT", "btc/usdt"]}, "symbols[1]", "btc/usdt"),
        ({"symbols": []}, "symbols", None),
        ({}, "symbols", None),
        ({"symbols": "BTC/USDT"}, "symbols", "BTC/USDT"),
        # limits that contradict each other: ordinary one-legged trades at once would HALT
        ({"symbols": ["BTC/USDT"], "risk": {"max_unhedged_notional": 2000}}, "risk.max_unhedged_notional",
         "2000"),
        # "not found" must not be final while the order's own write may still be in flight
        ({"symbols": ["BTC/USDT"], "executor": {"unknown_grace_ms": 2000}}, "executor.unknown_grace_ms",
         "2000"),
        ({"symbols": ["BTC/USDT"], "executor": {"unknown_grace_ms": 5000, "unknown_deadline_ms": 5000}},
         "executor.unknown_deadline_ms", "5000"),
    ],
)
def test_bad_input_names_the_field(raw: dict[str, object], field: str, shown: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, {})
    assert info.value.field == field
    assert f"`{field}`" in str(info.value)
    if shown is not None:
        assert shown in str(info.value)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text('symbols = ["BTC/USDT"\n[risk\n')
    with pytest.raises(ConfigError, match=r"not valid TOML.*line"):
        load_config(bad, environ={})


def test_environment_overrides_are_typed_and_nested() -> None:
    env = {
        "ARB__RISK__MIN_NET_BPS": "7.5",
        "ARB__VENUES__BINANCE__TAKER_FEE": "0.0008",
        "ARB__VENUES__MEXC__ENABLED": "false",
        "ARB__ENGINE__NAME": "desk-1",
        "arb__executor__slippage_bps": "3",
        "UNRELATED": "1",
    }
    config = parse_config({"symbols": ["BTC/USDT"]}, env)
    assert config.risk.min_net_bps == 7.5
    assert config.enabled_venues["binance"].taker_fee == 0.0008
    assert "mexc" not in config.enabled_venues
    assert config.engine.name == "desk-1"
    assert config.executor.slippage_bps == 3.0


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"ARB__RISK__NOPE": "1"}, "risk.nope"),
        ({"ARB__RISK__MIN_NET_BPS": "abc"}, "risk.min_net_bps"),
        ({"ARB__NOSECTION__X": "1"}, "nosection"),
        ({"ARB__RISK____X": "1"}, "ARB__RISK____X"),
    ],
)
def test_bad_override_names_the_field_and_variable(env: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"symbols": ["BTC/USDT"]}, env)
    assert info.value.field == field


def test_credentials_only_from_environment_and_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    env = {"ARB_BINANCE_API_KEY": CANARY_KEY, "ARB_BINANCE_API_SECRET": CANARY_SECRET}
    creds = load_credentials("binance", env)
    assert creds is not None
    assert creds.api_key.reveal() == CANARY_KEY and creds.api_secret.reveal() == CANARY_SECRET
    assert load_credentials("gateio", env) is None
    assert load_credentials("binance", {"ARB_BINANCE_API_KEY": CANARY_KEY}) is None
    config = parse_config({"symbols": ["BTC/USDT"]}, env)
    shown = " ".join([repr(creds), str(creds), repr(config), repr(Secret(CANARY_SECRET)),
                      str(describe(config, env)), caplog.text])
    assert CANARY_KEY not in shown and CANARY_SECRET not in shown
    assert describe(config, env)["credentials"]["binance"].startswith("present")


def test_default_config_and_schema() -> None:
    config = default_config(symbols=["SOL/USDT"], venues=["gateio", "mexc"])
    assert list(config.enabled_venues) == ["gateio", "mexc"]
    schema = config_schema()
    assert "Config" in str(schema["$ref"]) and "RiskConfig" in schema["$defs"]
