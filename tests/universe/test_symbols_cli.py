"""`arb-engine symbols` against the simulator: the universe per venue, renamed assets, transfer status
(public, and signed with the simulator's keys; without keys it says so), and why the others are
dropped (text and JSON), plus a config's [universe] filters."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import pytest

from arb.cli import main
from arb.sim.server import SimExchange
from arb.sim.universe import PAIRS, RENAMES, large_universe

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
    assert found["transfer_status"] == dict.fromkeys(VENUES, "read") and found["transfer_errors"] == {}
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


ALL = ["binance", "gateio", "mexc", "okx", "bybit"]
SIGNED = {"binance": "FIL withdrawals off", "mexc": "FET deposits off", "okx": "TIA deposits off",
          "bybit": "INJ withdrawals off"}


def _cell(line: str, venue: str) -> str:
    """`venue`'s cell of a table line (up to the next venue's)."""
    rest = line.split(f"{venue}: ", 1)[1]
    return min((rest.split(f"  {v}: ")[0] for v in ALL), key=len)


def test_symbols_reads_the_signed_status_with_the_simulators_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["symbols", "--sim", "--universe", "large", "--venues", *ALL, "--all"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    for venue, text in SIGNED.items():
        symbol = f"{text.split()[0]}/USDT"
        assert f"{text} (transfers suspended)" in _cell(lines[symbol], venue), (venue, lines[symbol])
        others = [v for v in ALL if v != venue and f"{v}: " in lines[symbol]]
        assert others and all("off" not in _cell(lines[symbol], v) for v in others)
    assert "not published without keys" not in out and "unavailable" not in out
    assert "USDT deposits" not in out and "USDT withdrawals" not in out  # one of its chains is closed


async def test_symbols_without_keys_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    for venue in ALL:
        monkeypatch.delenv(f"ARB_{venue.upper()}_API_KEY", raising=False)
    sim = SimExchange(ALL, universe=large_universe(ALL))
    urls = await sim.start()
    config = tmp_path / "arb.toml"
    config.write_text('symbols = "auto"\n' + "".join(
        f'[venues.{v}]\nrest_url = "{urls[v][0]}"\nws_url = "{urls[v][1]}"\n' for v in ALL))
    try:  # the command runs its own event loop: in a thread, beside the simulator's
        code = await asyncio.to_thread(main, ["symbols", "--config", str(config), "--all"])
    finally:
        await sim.close()
    out = capsys.readouterr().out
    assert code == 0
    for venue in SIGNED:
        assert f"  {venue}: transfer status not published without keys (ARB_{venue.upper()}_API_KEY" in out
    assert "gateio: transfer status" not in out  # Gate publishes it without keys
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "FIL withdrawals off" not in lines["FIL/USDT"]  # unknown, not shown open-or-closed as read
    assert "GAS withdrawals off (transfers suspended)" in lines["GAS/USDT"]


def test_symbols_through_ccxt_finds_what_the_native_venues_find(capsys: pytest.CaptureFixture[str]) -> None:
    """`--venues ccxt:okx ccxt:bybit`: ccxt's own classes against the simulator's OKX and Bybit
    dialects pick the same pairs on the same venues as arb's native connectors do."""
    def chosen(*venues: str) -> dict[str, list[str]]:
        assert main(["symbols", "--sim", "--universe", "large", "--venues", *venues, "--json"]) == 0
        found = json.loads(capsys.readouterr().out)
        return {c["symbol"]: c["venues"] for c in found["chosen"]}

    native = chosen("gateio", "okx", "bybit")
    assert len(native) >= 10 and any({"okx", "bybit"} <= set(v) for v in native.values())
    assert chosen("gateio", "ccxt:okx", "ccxt:bybit") == native


def test_symbols_whose_venues_never_answer_is_an_environment_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Offline, `arb-engine symbols` printed "0 pairs" and exited 1, as if the filters had dropped all."""
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])  # closed again: nothing listens there
    config = tmp_path / "arb.toml"
    config.write_text('symbols = "auto"\n'
                      f'[venues.binance]\nrest_url = "http://127.0.0.1:{ports[0]}"\n'
                      f'[venues.mexc]\nrest_url = "http://127.0.0.1:{ports[1]}"\n')
    assert main(["symbols", "--config", str(config)]) == 3
    err = capsys.readouterr().err
    assert "could not read the lists of binance, mexc: no network?" in err and "Traceback" not in err
