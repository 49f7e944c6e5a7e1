"""`arb-engine status | history | pnl`: what the running engine or its journal says.

`status` asks the running engine's local endpoint (``/status``) and falls back to the journal when no
engine answers; `history` lists opportunities with their decisions; `pnl` sums the journaled fills
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

from arb.config import Config
from arb.engine.journal import Journal
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
    obs = config.observability
    if obs.metrics_port:
        url = f"http://{obs.metrics_host}:{obs.metrics_port}/status"
        try:
            async with aiohttp.ClientSession() as http, http.get(
                url, timeout=aiohttp.ClientTimeout(total=STATUS_TIMEOUT_S)
            ) as resp:
                return {"source": url, **(await resp.json())}
        except (TimeoutError, aiohttp.ClientError):
            pass
    if not config.journal_path.exists():
        return {"source": "none", "detail": f"no running engine and no journal at {config.journal_path}"}
    counts = await _journal_rows(config.journal_path, (
        "SELECT (SELECT COUNT(*) FROM opportunities) AS opportunities, "
        "(SELECT COUNT(*) FROM orders) AS orders, (SELECT COUNT(*) FROM fills) AS fills, "
        "(SELECT COUNT(*) FROM residuals WHERE closed_ns IS NULL) AS open_residuals"
    ))
    return {"source": str(config.journal_path), **counts[0]}


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
        print(render([asyncio.run(status(config))], fmt))
        return 0
    path = config.journal_path
    if not path.exists():
        print(f"error: no journal at {path}", file=sys.stderr)
        return 2
    rows = asyncio.run(history(path, limit) if kind == "history" else pnl(path))
    print(render(rows, fmt))
    return 0
