"""`arb-engine status | history | pnl`: what the running engine or its journal says.

`status` asks the running engine's local endpoint (``/status``: trading state, connections, balances,
open residuals, limits) and falls back to the journal, the state file and the config when no engine
answers; `history` lists opportunities with their decisions; `pnl` sums the journaled fills
per symbol (quote received minus quote paid minus quote fees). Both export CSV or JSON.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from arb.config import Config
from arb.engine.journal import Journal
from arb.engine.risk import read_state, state_path
from arb.model import Side

STATUS_TIMEOUT_S = 2.0


async def _journal_rows(path: Path, sql: str) -> list[dict[str, Any]]:
    # reads only: no run is recorded and no writer thread starts
    return [dict(row) for row in await Journal(path).query(sql)]


async def history(path: Path, limit: int) -> list[dict[str, Any]]:
    return await _journal_rows(path, (
        "SELECT id, ts_ns, symbol, buy_venue, sell_venue, quantity, net_bps, net_profit, decision, reason "
        f"FROM opportunities ORDER BY ts_ns DESC LIMIT {int(limit)}"
    ))


async def pnl(path: Path) -> list[dict[str, Any]]:
    """Per symbol: fills, bought and sold base, quote flow and fees (quote-denominated fees only)."""
    zero = Decimal(0)
    rows: dict[str, dict[str, Any]] = {}
    for f in await Journal(path).fills():
        row = rows.setdefault(str(f.symbol), {"symbol": str(f.symbol), "fills": 0, "bought": zero,
                                              "sold": zero, "quote_flow": zero, "fees": zero})
        row["fills"] += 1
        sign = 1 if f.side is Side.SELL else -1
        row["sold" if sign > 0 else "bought"] += f.quantity
        row["quote_flow"] += sign * f.quantity * f.price
        if f.fee_asset == f.symbol.quote:
            row["fees"] += f.fee
    for row in rows.values():
        row["pnl"] = row["quote_flow"] - row["fees"]
    return sorted(rows.values(), key=lambda r: str(r["symbol"]))


async def status(config: Config) -> dict[str, Any]:
    """The running engine's ``/status``; else the journal's counts, balances, residuals and the limits."""
    obs = config.observability
    if obs.metrics_port:
        url = f"http://{obs.metrics_host}:{obs.metrics_port}/status"
        try:
            async with aiohttp.ClientSession() as http, http.get(
                url, timeout=aiohttp.ClientTimeout(total=STATUS_TIMEOUT_S)
            ) as resp:
                live = await resp.json()
            # another engine may own that port: only ours (same journal) answers for this data dir
            if Path(str(live.get("journal", ""))).resolve() == config.journal_path.resolve():
                return {"source": url, **live}
        except (TimeoutError, aiohttp.ClientError, ValueError):
            pass
    path = config.journal_path
    if not path.exists():
        return {"source": "none", "detail": f"no running engine and no journal at {path}"}
    counts = await _journal_rows(path, (
        "SELECT (SELECT COUNT(*) FROM opportunities) AS opportunities, "
        "(SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM fills) AS fills"
    ))
    state, reason = read_state(state_path(config.engine.data_dir))
    residuals = await _journal_rows(path, (
        "SELECT opportunity_id AS opportunity, venue, symbol, side, quantity, opened_ns FROM residuals "
        "WHERE closed_ns IS NULL ORDER BY opened_ns"
    ))
    return {
        "source": str(path), **counts[0],
        "trading": {"state": state.name, "reason": reason},
        "connections": "unknown: no engine answered (connections are only known to a running engine)",
        "balances": await _journal_balances(path, config),
        "open_residuals": {"items": [{**r, "side": Side(r["side"]).name} for r in residuals]},
        "limits": msgspec.to_builtins(config.risk),
    }


async def _journal_balances(path: Path, config: Config) -> dict[str, Any]:
    """Venue balances journaled last; for paper runs (none journaled) the start plus the fills."""
    rows = await _journal_rows(path, (
        "SELECT venue, asset, free FROM balances b WHERE ts_ns = "
        "(SELECT MAX(ts_ns) FROM balances WHERE venue = b.venue AND asset = b.asset) ORDER BY venue, asset"
    ))
    if rows:
        out: dict[str, dict[str, str]] = {}
        for row in rows:
            out.setdefault(row["venue"], {})[row["asset"]] = row["free"]
        return out
    start = config.engine.paper_balances
    moved: dict[tuple[str, str], Decimal] = {}
    for f in await Journal(path).fills():
        sign = 1 if f.side is Side.BUY else -1
        deltas = ((f.symbol.base, sign * f.quantity), (f.symbol.quote, -sign * f.quantity * f.price),
                  (f.fee_asset, -f.fee))
        for asset, delta in deltas:
            moved[(f.venue, asset)] = moved.get((f.venue, asset), Decimal(0)) + delta
    label = "paper: configured start + journaled fills" if start else "change from journaled fills"
    derived: dict[str, Any] = {"basis": label}
    for (venue, asset), delta in sorted(moved.items()):
        derived.setdefault(venue, {})[asset] = str(start.get(asset, Decimal(0)) + delta)
    return derived


def render_status(status: dict[str, Any]) -> str:
    """Sections: scalars first, then one block per nested section (small tables for lists of rows)."""
    lines = [f"{k}: {v}" for k, v in status.items() if not isinstance(v, dict)]
    for key, value in status.items():
        if not isinstance(value, dict):
            continue
        lines += ["", f"[{key}]"]
        for sub, item in value.items():
            if isinstance(item, list):
                lines.append(f"  {sub}:" if item else f"  {sub}: none")
                if item:
                    lines += ["    " + line for line in render(item, "table").splitlines()]
            elif isinstance(item, dict):
                lines.append(f"  {sub}: " + ", ".join(f"{k}={v}" for k, v in item.items()))
            else:
                lines.append(f"  {sub}: {item}")
    return "\n".join(lines)


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str)
    if not rows:
        return "(nothing yet)"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue().rstrip("\n")
    keys = list(rows[0])
    widths = [max(len(k), *(len(str(r[k])) for r in rows)) for k in keys]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  ".join(str(r[k]).ljust(w) for k, w in zip(keys, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def main(kind: str, config: Config, fmt: str, limit: int = 50) -> int:
    if kind == "status":
        result = asyncio.run(status(config))
        print(render([result], fmt) if fmt == "json" else render_status(result))
        return 0
    path = config.journal_path
    if not path.exists():
        print(f"error: no journal at {path}", file=sys.stderr)
        return 2
    rows = asyncio.run(history(path, limit) if kind == "history" else pnl(path))
    print(render(rows, fmt))
    return 0
