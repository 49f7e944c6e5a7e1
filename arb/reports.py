"""`arb-engine status | history | pnl`: what the running engine or its journal says.

`status` asks the running engine's local endpoint (``/status``: trading state, connections, balances,
open residuals, limits) and falls back to the journal, the state file and the config when no engine
answers; `history` lists opportunities with their decisions; `pnl` sums the journaled fills
per symbol (quote received minus quote paid minus quote fees). Both export CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import aiohttp
import msgspec

from arb.config import Config
from arb.engine.journal import Journal
from arb.engine.risk import read_state, state_path
from arb.model import Fill, Side
from arb.obs import loop

STATUS_TIMEOUT_S = 2.0
NS = 1_000_000_000
ZERO = Decimal(0)


async def _journal_rows(path: Path, sql: str) -> list[dict[str, Any]]:
    # reads only: no run is recorded and no writer thread starts
    return [dict(row) for row in await Journal(path).query(sql)]


def iso_time(ts_ns: int | None) -> str:
    """UTC ISO 8601 with milliseconds (``2026-12-02T05:56:13.607Z``); empty for no time."""
    if not ts_ns:
        return ""
    moment = datetime.fromtimestamp(ts_ns / NS, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def exact(value: float | Decimal | None) -> str:
    """A number as its shortest exact decimal text (a journaled float as it was written)."""
    if value is None:
        return ""
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return f"{number.normalize():f}" if number else "0"


FLOAT_DIGITS: Final = 12


def figure(value: float | None) -> str:
    """A journaled float (a size or an estimate the kernel computed in binary floating point) to 12
    significant digits: 1539 steps of 0.00001 are 0.015390000000000001 in binary, the order 0.01539."""
    if value is None:
        return ""
    return exact(Decimal(f"{float(value):.{FLOAT_DIGITS}g}"))


def _fee_in_quote(fill: Fill) -> Decimal:
    """The fill's fee in its symbol's quote (a base-asset fee valued at the fill's price; other
    assets, such as a venue token, are not counted)."""
    if fill.fee_asset == fill.symbol.quote:
        return fill.fee
    if fill.fee_asset == fill.symbol.base:
        return fill.fee * fill.price
    return ZERO


class Flow:
    """Running totals of fills: base bought and sold, quote received minus paid, fees in quote."""

    __slots__ = ("bought", "fees", "fills", "quote_flow", "sold")

    def __init__(self) -> None:
        self.fills = 0
        self.bought = self.sold = self.quote_flow = self.fees = ZERO

    def add(self, fill: Fill) -> None:
        self.fills += 1
        if fill.side is Side.SELL:
            self.sold += fill.quantity
            self.quote_flow += fill.quantity * fill.price
        else:
            self.bought += fill.quantity
            self.quote_flow -= fill.quantity * fill.price
        self.fees += _fee_in_quote(fill)

    @property
    def pnl(self) -> Decimal:
        return self.quote_flow - self.fees

    def row(self) -> dict[str, Any]:
        return {"fills": self.fills, "bought": exact(self.bought), "sold": exact(self.sold),
                "quote_flow": exact(self.quote_flow), "fees": exact(self.fees), "pnl": exact(self.pnl)}


async def history(path: Path, limit: int) -> list[dict[str, Any]]:
    """The newest `limit` opportunities, oldest first: ISO time, exact numbers, what was decided and,
    for trades, what their fills realised (quote received minus paid minus fees, all legs including
    the close of a one-legged trade; `open_base` is base still held from it)."""
    journal = Journal(path)
    rows = await journal.query(
        "SELECT id, ts_ns, symbol, buy_venue, sell_venue, quantity, net_bps, net_profit, decision, reason "
        "FROM opportunities ORDER BY ts_ns DESC LIMIT ?", (int(limit),))
    owners = {r["client_order_id"]: r["opportunity_id"]
              for r in await journal.query("SELECT client_order_id, opportunity_id FROM orders")}
    flows: dict[str, Flow] = {}
    for fill in await journal.fills():
        owner = owners.get(fill.client_order_id or "")
        if owner is not None:
            flows.setdefault(owner, Flow()).add(fill)
    out = []
    for r in reversed(rows):
        flow = flows.get(r["id"])
        out.append({
            "time": iso_time(r["ts_ns"]), "id": r["id"], "symbol": r["symbol"], "buy_venue": r["buy_venue"],
            "sell_venue": r["sell_venue"], "quantity": figure(r["quantity"]),
            "net_bps": exact(round(r["net_bps"], 4)),
            "expected_profit": figure(r["net_profit"]), "decision": r["decision"],
            "reason": r["reason"] or "",
            "fills": flow.fills if flow else 0,
            "realised_pnl": exact(flow.pnl) if flow else "",
            "open_base": exact(flow.bought - flow.sold) if flow and flow.bought != flow.sold else "",
        })
    return out


PNL_GROUPS: Final = ("symbol", "day", "venue")
VENUE_PNL_NOTE: Final = (
    "(per venue: its own leg of each trade, quote received minus paid minus fees; the base it bought or\n"
    " sold is not valued, so a venue's figure is not a profit: the venues' sum is the realised PnL)")


async def pnl(path: Path, by: str = "symbol") -> list[dict[str, Any]]:
    """Realised PnL from the journaled fills grouped `by` symbol, UTC day (``day``: per day and
    symbol) or venue (one side of each trade: a venue's own quote flow; the venues sum to the
    total). Fees in the quote asset, or in the base asset valued at the fill price."""
    if by not in PNL_GROUPS:
        raise ValueError(f"pnl by {by!r}: expected one of {', '.join(PNL_GROUPS)}")
    groups: dict[tuple[str, ...], Flow] = {}
    for f in await Journal(path).fills():
        day = iso_time(f.ts_event or f.ts_recv)[:10]
        key = ((str(f.symbol),) if by == "symbol" else (day, str(f.symbol)) if by == "day"
               else (f.venue, str(f.symbol)))
        groups.setdefault(key, Flow()).add(f)
    names = {"symbol": ("symbol",), "day": ("day", "symbol"), "venue": ("venue", "symbol")}[by]
    return [{**dict(zip(names, key, strict=True)), **flow.row()} for key, flow in sorted(groups.items())]


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
        "SELECT venue, asset, free, ts_ns FROM balances b WHERE ts_ns = "
        "(SELECT MAX(ts_ns) FROM balances WHERE venue = b.venue AND asset = b.asset) ORDER BY venue, asset"
    ))
    if rows:  # what the venues last reported (a refresh or a push): fills after it are not in it
        last = iso_time(max(row["ts_ns"] for row in rows))
        out: dict[str, Any] = {"basis": f"the venues' balances as last journaled (free; latest {last})"}
        for row in rows:
            out.setdefault(row["venue"], {})[row["asset"]] = row["free"]
        return out
    start = config.paper_start_balances if config.engine.mode == "paper" else {}
    runs = await _journal_rows(path, "SELECT id, started_ns FROM runs ORDER BY id DESC LIMIT 1")
    # a paper run starts from the configured balances again: only the last run's fills moved them
    since = runs[0]["started_ns"] if start and runs else 0
    moved: dict[tuple[str, str], Decimal] = {}
    for f in await Journal(path).fills():
        if f.ts_recv and f.ts_recv < since:  # no receive time: counted
            continue
        sign = 1 if f.side is Side.BUY else -1
        deltas = ((f.symbol.base, sign * f.quantity), (f.symbol.quote, -sign * f.quantity * f.price),
                  (f.fee_asset, -f.fee))
        for asset, delta in deltas:
            moved[(f.venue, asset)] = moved.get((f.venue, asset), Decimal(0)) + delta
    if start:
        traded = {r["venue"] for r in await _journal_rows(path, "SELECT DISTINCT venue FROM orders")}
        for venue in traded | {venue for venue, _ in moved}:
            for asset in start:
                moved.setdefault((venue, asset), ZERO)
    label = (f"paper: configured start + the fills of the last run (run {runs[0]['id']})" if start and runs
             else "change from journaled fills")
    derived: dict[str, Any] = {"basis": label}
    for (venue, asset), delta in sorted(moved.items()):
        derived.setdefault(venue, {})[asset] = exact(start.get(asset, ZERO) + delta)
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


def main(kind: str, config: Config, fmt: str, limit: int = 50, by: str = "symbol",
         use_uvloop: bool = True) -> int:
    path = config.journal_path
    try:
        if kind == "status":
            result = loop.run(status(config), use_uvloop)
            if result["source"] == "none":  # nothing to show: most likely the wrong --data-dir / --config
                print(f"error: {result['detail']} (another --data-dir or --config?)", file=sys.stderr)
                return 2
            print(render([result], fmt) if fmt == "json" else render_status(result))
            return 0
        if not path.exists():
            print(f"error: no journal at {path}", file=sys.stderr)
            return 2
        rows = loop.run(history(path, limit) if kind == "history" else pnl(path, by), use_uvloop)
    except sqlite3.DatabaseError as exc:
        print(f"error: {path} is not a readable arb journal ({exc}); move it aside (the engine starts "
              "a new one) or point --data-dir / journal.path at the right file", file=sys.stderr)
        return 3
    print(render(rows, fmt))
    if kind == "pnl" and by == "venue" and fmt == "table" and rows:
        print(VENUE_PNL_NOTE)
    return 0
