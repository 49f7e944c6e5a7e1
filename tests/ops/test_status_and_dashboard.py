"""`arb-engine status` from a running engine (and from the journal), and the Grafana dashboard's metrics.

One simulated run serves both: its `/metrics` scrape must contain every metric the dashboard's panel
expressions use, and its `/status` must carry connections, balances, residuals, limits and state.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import aiohttp
import pytest

from arb.cli import main
from arb.config import Config, load_config
from arb.demo import sim_credentials
from arb.engine.journal import Journal
from arb.engine.risk import TradingState, state_path, write_state
from arb.model import Fill, Side, Symbol
from arb.obs.metrics import parse_exposition
from arb.reports import render_status, status
from arb.runner import run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "arb.toml"
DASHBOARD = ROOT / "examples" / "grafana-dashboard.json"


class Scrape(NamedTuple):
    metrics: dict[str, Any]
    status: dict[str, Any]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _scrape(config: Config) -> Scrape:
    out = io.StringIO()
    # the live path against the simulator's funded accounts: signed connectors, clocks, user streams
    task = asyncio.create_task(run(config, sim=True, duration=30.0, out=out,
                                   credentials=sim_credentials(list(config.enabled_venues))))
    base = f"http://{config.observability.metrics_host}:{config.observability.metrics_port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                await asyncio.sleep(0.05)
                try:
                    async with http.get(f"{base}/readyz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    continue
            await asyncio.sleep(0.5)  # some decisions after every book is synced
            async with http.get(f"{base}/metrics") as r:
                metrics = parse_exposition(await r.text())
        return Scrape(metrics, await status(config))
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture(scope="module")
def scrape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrape]:
    config = load_config(EXAMPLE, environ={
        "ARB__OBSERVABILITY__METRICS_PORT": str(_free_port()),
        "ARB__ENGINE__DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "ARB__ENGINE__MODE": "live",
    })
    yield asyncio.run(_scrape(config))


def _expressions(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in _expressions(v)]
    if isinstance(node, list):
        return [e for v in node for e in _expressions(v)]
    return []


def test_every_dashboard_metric_is_exported_by_a_running_engine(scrape: Scrape) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = _expressions(dashboard["panels"])
    assert len(exprs) >= 15
    referenced = {name for expr in exprs for name in re.findall(r"\barb_[a-z0-9_]+", expr)}
    exported = {key.split("{")[0] for key in scrape.metrics}
    assert referenced - exported == set()
    assert len(referenced) >= 12  # every family of arb/obs/metrics.py is on a panel
    assert {p["datasource"]["uid"] for p in dashboard["panels"] if "datasource" in p} == {"${DS_PROMETHEUS}"}


def test_status_of_a_running_engine_shows_connections_balances_residuals_limits(scrape: Scrape) -> None:
    s = scrape.status
    assert s["source"].endswith("/status") and s["books_synced"] == s["books"] == 9
    assert set(s["connections"]) == {"binance", "gateio", "mexc"}
    assert all(c["connects"] >= 1 and c["frames"] > 0 and c["channels"] == 3
               for c in s["connections"].values())
    assert Decimal(s["balances"]["mexc"]["USDT"]) > 0 and "BTC" in s["balances"]["binance"]
    assert s["trading"]["state"] == "ACTIVE"
    assert "unhedged_notional" in s["open_residuals"] and isinstance(s["open_residuals"]["items"], list)
    assert s["limits"]["max_notional_per_order"] > 0
    text = render_status(s)
    assert "[connections]" in text and "[limits]" in text and "binance: sockets=1" in text


async def _journal_with_a_residual(path: Path) -> None:
    btc = Symbol("BTC", "USDT")
    journal = Journal(path, paper=True)
    await journal.open(mode="paper", version="t", now_ns=1)
    journal.record_fill(Fill("binance", btc, "t1", Side.BUY, Decimal("100"), Decimal("0.5"), Decimal("0.05"),
                             "USDT"))
    journal.record_residual("o1r", "o1", "binance", btc, Side.SELL, Decimal("0.5"), 5)
    await journal.close()


def test_status_without_an_engine_reads_journal_state_file_and_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_journal_with_a_residual(tmp_path / "journal.sqlite"))
    write_state(state_path(tmp_path), TradingState.HALTED, "residual not closed", 9)
    assert main(["status", "--data-dir", str(tmp_path), "--json"]) == 0
    (s,) = json.loads(capsys.readouterr().out)
    assert s["trading"] == {"state": "HALTED", "reason": "residual not closed"}
    (residual,) = s["open_residuals"]["items"]
    assert residual["opportunity"] == "o1" and residual["side"] == "SELL"
    assert s["balances"]["binance"] == {  # the default paper start + fills, unmoved assets too
        "BTC": "0.6", "USDT": "9949.95", "USDC": "10000", "ETH": "3", "SOL": "50"}
    assert s["limits"]["min_net_bps"] > 0 and "unknown" in s["connections"]
    assert main(["status", "--data-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "[trading]" in text and "state: HALTED" in text and "opportunity" in text


def test_status_after_two_paper_runs_shows_the_last_runs_balances(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each paper run starts from the configured balances again. `status` without an engine added
    every run's fills to one start and listed only the assets that moved (no USDC, no SOL)."""
    config = tmp_path / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT", "ETH/USDT"]\n[engine]\ndata_dir = "{tmp_path / "data"}"\n'
                      "[observability]\nmetrics_port = 0\n")
    for _ in range(2):
        assert main(["run", "--config", str(config), "--sim", "--duration", "4", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status", "--config", str(config), "--json"]) == 0
    (s,) = json.loads(capsys.readouterr().out)
    balances = s.pop("balances")
    assert balances.pop("basis").startswith("paper: configured start + the fills of the last run (run 2)")
    # the truth, another way: the fills of the orders of the last run's opportunities
    with sqlite3.connect(tmp_path / "data" / "journal.sqlite") as db:
        rows = db.execute(
            "SELECT f.venue, f.symbol, f.side, f.price, f.quantity, f.fee, f.fee_asset FROM fills f "
            "JOIN orders o ON o.client_order_id = f.client_order_id "
            "JOIN opportunities p ON p.id = o.opportunity_id "
            "WHERE p.run_id = (SELECT MAX(id) FROM runs)").fetchall()
        venues = {v for (v,) in db.execute("SELECT DISTINCT venue FROM orders")}
    assert rows, "the last run traded nothing: nothing to check"
    start = {"USDT": Decimal(10000), "USDC": Decimal(10000), "BTC": Decimal("0.1"), "ETH": Decimal(3),
             "SOL": Decimal(50)}
    expected = {venue: dict(start) for venue in venues}
    for venue, symbol, side, price, quantity, fee, fee_asset in rows:
        base, quote = symbol.split("/")
        sign = 1 if side == Side.BUY else -1
        expected[venue][base] += sign * Decimal(quantity)
        expected[venue][quote] -= sign * Decimal(quantity) * Decimal(price)
        expected[venue][fee_asset] -= Decimal(fee)
    assert {v: {a: Decimal(x) for a, x in assets.items()} for v, assets in balances.items()} == expected


def test_status_of_a_live_journal_says_when_the_balances_were_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live journal holds the venues' balances as last refreshed or pushed, not after every fill:
    `status` showed them as current."""
    async def write() -> None:
        journal = Journal(tmp_path / "journal.sqlite")
        await journal.open(mode="live", version="t", now_ns=1)
        journal.record_balance(1_764_633_600_000_000_000, "binance", "USDT", Decimal("5"), Decimal(0))
        journal.record_balance(1_764_633_601_500_000_000, "binance", "USDT", Decimal("7"), Decimal(0))
        await journal.close()

    asyncio.run(write())
    config = tmp_path / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT"]\n[engine]\nmode = "live"\ndata_dir = "{tmp_path}"\n'
                      "[observability]\nmetrics_port = 0\n")
    assert main(["status", "--config", str(config), "--json"]) == 0
    (s,) = json.loads(capsys.readouterr().out)
    assert s["balances"] == {"basis": "the venues' balances as last journaled (free; latest "
                                      "2025-12-02T00:00:01.500Z)", "binance": {"USDT": "7"}}
