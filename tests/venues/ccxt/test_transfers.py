"""Transfer status of venues bridged through ccxt: ccxt's ``fetch_currencies`` read by ccxt's own
exchange classes pointed at the simulator, signed where the exchange publishes it to signed requests
only (Binance ``sapi/v1/capital/config/getall``, MEXC, OKX, Bybit), public where it does not (Gate
``/spot/currencies``), with the native venues' any-chain rule; what `discover`, `arb-engine symbols`
and `run` say of it (READ / NO_KEYS / UNAVAILABLE / NOT_PUBLISHED)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from arb.cli import main
from arb.config import VenueConfig, default_config
from arb.credentials import Credentials, Secret
from arb.demo import sim_credentials
from arb.model import Symbol, TransferStatus
from arb.runner import run
from arb.sim.server import SimExchange
from arb.sim.universe import PAIRS, TRANSFERS, large_universe
from arb.universe import Transfers, read_transfers
from arb.venues.base import TransferSource
from arb.venues.ccxt import convert
from arb.venues.ccxt import exchange as ex
from arb.venues.registry import make_private, make_public
from tests.universe.discovery import Found, discover_transfers

# simulator dialect -> the ccxt exchange id that speaks it
BRIDGED = {"binance": "binance", "gateio": "gate", "mexc": "mexc", "okx": "okx", "bybit": "bybit"}
SIGNED = ("binance", "mexc", "okx", "bybit")


def test_an_asset_is_open_when_the_currency_or_any_network_is() -> None:
    currencies: dict[str, Any] = {
        # ccxt's unified flags disagree with a network's: any open one is enough
        "USDT": {"code": "USDT", "deposit": False, "withdraw": True, "networks": {
            "ERC20": {"deposit": True, "withdraw": False}, "TRC20": {"deposit": False, "withdraw": False}}},
        "FIL": {"code": "FIL", "deposit": True, "withdraw": False, "networks": {
            "FIL": {"deposit": True, "withdraw": False}}},
        # nothing on the currency, the networks say no: closed
        "KAS": {"code": "KAS", "deposit": None, "withdraw": None, "networks": {
            "KAS": {"deposit": False, "withdraw": True}}},
        # one way unknown everywhere: counted open (unknown is not suspended)
        "GAS": {"code": "GAS", "deposit": None, "withdraw": False, "networks": {}},
        # unknown both ways: left out (nothing is dropped for it)
        "XYZ": {"code": "XYZ", "deposit": None, "withdraw": None, "networks": {"X": {"deposit": None}}},
        "BAD": "not a currency",
    }
    assert convert.transfer_statuses(currencies) == {
        "USDT": TransferStatus("USDT", True, True), "FIL": TransferStatus("FIL", True, False),
        "KAS": TransferStatus("KAS", False, True), "GAS": TransferStatus("GAS", True, False)}


@pytest.mark.parametrize(("exchange", "source"), [
    ("binance", TransferSource.SIGNED), ("binanceus", TransferSource.SIGNED),  # a subclass of binance
    ("okx", TransferSource.SIGNED), ("gate", TransferSource.PUBLIC), ("kraken", TransferSource.PUBLIC),
    ("upbit", TransferSource.NONE),  # ccxt has no fetchCurrencies for it
])
def test_the_source_is_ccxts_fetch_currencies(exchange: str, source: TransferSource) -> None:
    public = make_public(exchange, VenueConfig(driver="ccxt"))
    assert public.transfer_source is source
    assert ex.transfer_source(ex.exchange_class(exchange)()) is source


@pytest.fixture
async def sim() -> AsyncIterator[SimExchange]:
    exchange = SimExchange(list(BRIDGED), universe=large_universe(list(BRIDGED)))
    await exchange.start()
    try:
        yield exchange
    finally:
        await exchange.close()


def _venues(sim: SimExchange) -> dict[str, dict[str, str]]:
    return {v: {"driver": "ccxt", "exchange": e, "rest_url": sim.urls[v][0], "ws_url": sim.urls[v][1]}
            for v, e in BRIDGED.items()}


@pytest.mark.parametrize("venue", list(BRIDGED))
async def test_each_bridged_venue_reads_the_simulators_status(sim: SimExchange, venue: str) -> None:
    config = default_config(venues=_venues(sim))
    public = make_public(venue, config.venues[venue])
    signed = make_private(venue, config.venues[venue], sim_credentials([venue])[venue])
    try:
        found, known, error = await read_transfers(public, signed)
    finally:
        await public.close()
        await signed.close()
    assert (known, error) == (Transfers.READ, "") and found is not None
    assert public.transfer_source is (TransferSource.SIGNED if venue in SIGNED else TransferSource.PUBLIC)
    suspended = {a: (s.deposit, s.withdraw) for a, s in found.items() if s.suspended}
    assert suspended == TRANSFERS[venue] and suspended  # Binance FIL, Gate GAS + KAS, ...
    assert found["USDT"] == TransferStatus("USDT", True, True)  # one of its chains is closed
    assert len(found) > 30


# discovery over two bridged venues, one signed, one public (every bridged venue lists its tickers
# symbol by symbol under ccxt's pacing: five of them take ~50 s per discovery on this machine)
DISCOVERED = ("binance", "gateio")


async def _discover(sim: SimExchange, keys: dict[str, Credentials]) -> Found:
    return await discover_transfers(_venues(sim), DISCOVERED, keys)


async def test_discover_with_without_and_with_wrong_keys(sim: SimExchange) -> None:
    usdt = {Symbol.parse(p.symbol) for p in PAIRS if p.symbol.endswith("/USDT")}
    expected = {(venue, s) for venue in DISCOVERED for asset in TRANSFERS[venue]
                for s in {Symbol.parse(p.symbol) for p in PAIRS if venue in p.volumes} & usdt
                if asset in (s.base, s.quote)}
    known, dropped, _ = await _discover(sim, sim_credentials(["binance"]))
    assert known == dict.fromkeys(DISCOVERED, Transfers.READ)
    assert dropped == expected and {v for v, _ in dropped} == set(DISCOVERED)
    # no keys: the signed venues' status is unknown (not read as "all open"), Gate's is public
    known, dropped, _ = await _discover(sim, {})
    assert known == {"binance": Transfers.NO_KEYS, "gateio": Transfers.READ}
    assert dropped == {(v, s) for v, s in expected if v == "gateio"}
    # wrong keys: the simulator refuses the signature; said so, the listings kept, no secret shown
    wrong = {"binance": Credentials("binance", Secret("sim-key"), Secret("wrong-secret"))}
    known, dropped, errors = await _discover(sim, wrong)
    assert known == {"binance": Transfers.UNAVAILABLE, "gateio": Transfers.READ}
    assert set(errors) == {"binance"} and "AuthenticationError" in errors["binance"]
    assert dropped == {(v, s) for v, s in expected if v == "gateio"}
    assert "wrong-secret" not in msgspec.json.encode(errors).decode()


async def test_an_exchange_ccxt_gives_no_currencies_for_is_not_published() -> None:
    config = VenueConfig(driver="ccxt", rest_url="http://127.0.0.1:9")  # never asked
    public = make_public("upbit", config)
    signed = make_private("upbit", config, sim_credentials(["upbit"])["upbit"])
    try:
        assert await read_transfers(public, signed) == (None, Transfers.NOT_PUBLISHED, "")
        assert await signed.transfer_status() is None and await public.transfer_status() is None
    finally:
        await public.close()
        await signed.close()


def _bridged_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "arb.toml"
    path.write_text('symbols = "auto"\n' + extra + '[venues.binance]\ndriver = "ccxt"\nexchange = "binance"\n'
                    '[venues.gateio]\ndriver = "ccxt"\nexchange = "gate"\n[venues.mexc]\n')
    return path


def test_symbols_cli_shows_the_bridged_venues_status(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    config = str(_bridged_config(tmp_path))
    assert main(["symbols", "--config", config, "--sim", "--universe", "large", "--all"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    binance_fil = lines["FIL/USDT"].split("binance:")[1].split("gateio:")[0]
    assert "FIL withdrawals off (transfers suspended)" in binance_fil
    assert "GAS withdrawals off (transfers suspended)" in lines["GAS/USDT"].split("gateio:")[1]
    assert "KAS deposits off (transfers suspended)" in lines["KAS/USDT"]
    assert "not published" not in "\n".join(lines.values())
    assert main(["symbols", "--config", config, "--sim", "--universe", "large", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["transfer_status"] == dict.fromkeys(["binance", "gateio", "mexc"], "read")


async def test_run_without_keys_says_the_bridged_signed_status_is_unknown(tmp_path: Path) -> None:
    venues = {"binance": {"driver": "ccxt", "exchange": "binance"},
              "gateio": {"driver": "ccxt", "exchange": "gate"}}
    config = default_config(symbols="auto", engine={"data_dir": str(tmp_path)},
                            observability={"metrics_port": 0}, venues=venues,
                            universe={"quotes": ["USDT"], "max_symbols": 10})
    out = io.StringIO()
    assert await run(config, sim=True, duration=1.0, out=out, universe=large_universe(list(venues))) == 0
    text = out.getvalue()
    assert ("warning: binance: transfer status not published without keys: its suspended transfers "
            "are not excluded") in text, text
    assert "warning: gateio: transfer" not in text  # ccxt's Gate reads it without keys


def test_run_sim_reads_the_bridged_status_with_the_simulators_keys(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO, logger="arb.engine.universe")
    extra = (f'[engine]\ndata_dir = "{tmp_path / "data"}"\n[observability]\nmetrics_port = 0\n'
             '[universe]\nquotes = ["USDT"]\nmax_symbols = 10\n')
    assert main(["run", "--config", str(_bridged_config(tmp_path, extra)), "--sim", "--universe", "large",
                 "--duration", "1.5", "--quiet"]) == 0
    assert "not published without keys" not in capsys.readouterr().out
    status = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("transfer status:"))
    assert status == "transfer status: binance read, gateio read, mexc read"
