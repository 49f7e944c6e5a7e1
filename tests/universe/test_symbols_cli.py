"""`arb-engine symbols` against the simulator: the universe per venue, renamed assets, transfer status,
and why the others are dropped (text and JSON), plus a config's [universe] filters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arb.cli import main
from arb.sim.universe import PAIRS, RENAMES

VENUES = ["binance", "gateio", "mexc"]


def _common(quotes: set[str]) -> set[str]:
    """Pairs of the simulator's table with `quotes` listed on two of VENUES (before transfer filters)."""
    return {p.symbol for p in PAIRS
            if p.symbol.split("/")[1] in quotes and len(set(p.volumes) & set(VENUES)) >= 2}


def test_symbols_prints_volume_renames_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["symbols", "--sim", "--universe", "large", "--venues", *VENUES, "--all"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    for symbol in _common({"USDT"}):
        assert symbol in lines, symbol
    assert "as STEPNUSDT" in lines["GMT/USDT"] and "binance: 12.0M" in lines["GMT/USDT"]
    assert f"as {RENAMES['mexc']['GAS']}USDT" in lines["GAS/USDT"]
    assert "GAS withdrawals off (transfers suspended)" in lines["GAS/USDT"]
    assert "fewer than two venues" in lines["GMTTOKEN/USDT"] and "as GMTUSDT" in lines["GMTTOKEN/USDT"]
    assert "quote not in universe.quotes" in lines["ETH/BTC"]
    assert "fewer than two venues" in lines["KAS/USDT"] and "KAS deposits off" in lines["KAS/USDT"]


def test_symbols_follows_the_configs_filters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "arb.toml"
    config.write_text('symbols = "auto"\n[venues.binance]\n[venues.gateio]\n[venues.mexc]\n'
                      '[universe]\nquotes = ["USDT", "BTC"]\nmin_quote_volume = {USDT = 100000, BTC = 10}\n'
                      'exclude = ["PEPE"]\nmax_symbols = 10\n')
    assert main(["symbols", "--config", str(config), "--sim", "--universe", "large", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    chosen = [p["symbol"] for p in found["chosen"]]
    dropped = {p["symbol"]: p["drop"] for p in found["dropped"]}
    assert len(chosen) == 10 and "PEPE/USDT" not in chosen and dropped["PEPE/USDT"] == "excluded"
    assert dropped["ZEC/USDT"] == "one_venue"  # Gate's 40k is below the minimum: Binance alone
    zec = next(p for p in found["dropped"] if p["symbol"] == "ZEC/USDT")
    assert {i["venue"]: i["drop"] for i in zec["listings"]} == {"binance": "kept", "gateio": "low_volume"}
    assert dropped["ETH/BTC"] == "over_max"  # BTC quoted and above its minimum, but ranked below ten
    volumes = [sorted((i["volume_quote"] for i in p["listings"]), reverse=True)[1] for p in found["chosen"]]
    assert volumes == sorted(volumes, reverse=True)


def test_symbols_names_a_bad_config_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "arb.toml"
    config.write_text('symbols = "auto"\n[universe]\nmin_quote_volume = {EUR = 5}\n')
    assert main(["symbols", "--config", str(config), "--sim"]) == 2
    assert "universe.min_quote_volume.EUR" in capsys.readouterr().err
