"""`arb-engine demo`: the simulator on loopback and the engine against it, one command, offline.

The engine trades through its live execution path: market data (snapshots and depth streams) comes
from the simulated venues over real sockets, and orders are real signed requests to the simulator's
funded test account (simulated money). Shows live progress and ends with a summary table and one
line per trade; Ctrl-C ends it early with the same summary of what was done so far.

A venue given as ``ccxt:ID`` is driven through the ccxt bridge (``driver = "ccxt"``): ccxt's own
class for exchange ID, its URLs pointed at the simulator dialect that speaks ID's protocol (as
`arb-engine check ccxt:ID` picks it), under the dialect's name (``ccxt:gate`` trades as ``gateio``).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from arb.config import DEFAULT_DATA_DIR, VenueConfig, default_config
from arb.credentials import Credentials, Secret
from arb.engine.engine import Engine
from arb.engine.executor import Outcome, OutcomeStatus
from arb.engine.preflight import EXIT_CANNOT_TRADE, engine_reasons
from arb.errors import ConfigError
from arb.model import Order
from arb.obs import loop
from arb.sim.accounts import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET
from arb.sim.server import DIALECTS, SimExchange
from arb.sim.universe import SimUniverse
from arb.venues.ccxt import PREFIX as CCXT_PREFIX
from arb.venues.registry import VENUES, venue_spec

PIPED_EVERY_S = 5
TRADE_LINES = 20  # per-trade lines in the summary (the journal has them all)
OUTCOME_WORDS = {  # Outcome.status in a trader's words
    OutcomeStatus.FILLED: "both legs filled", OutcomeStatus.PARTIAL: "legs partly filled",
    OutcomeStatus.NONE: "neither leg filled",
    OutcomeStatus.RESIDUAL_CLOSED: "one leg filled, closed at market",
    OutcomeStatus.HALTED: "halted mid-trade",
}




class DemoVenue(NamedTuple):
    """One venue of the demo: the simulator dialect it trades on (also its name in the engine) and,
    when it is bridged, the ccxt exchange id that drives it."""

    name: str
    exchange: str | None = None

    def config(self, rest: str, ws: str) -> dict[str, str]:
        """The venue's config table, its URLs on the simulator."""
        bridged = {"driver": "ccxt", "exchange": self.exchange} if self.exchange else {}
        return {"rest_url": rest, "ws_url": ws, **bridged}

    def __str__(self) -> str:
        return f"{CCXT_PREFIX}{self.exchange}" if self.exchange else self.name


def _bridged(exchange: str) -> DemoVenue:
    from arb.venues.ccxt.catalogue import native_twin

    venue_spec(exchange, VenueConfig(driver="ccxt", exchange=exchange))  # ConfigError unless drivable
    dialect = native_twin(exchange, VENUES, DIALECTS)
    if dialect is None:
        raise ConfigError("--venues", f"the simulator speaks no dialect of ccxt exchange {exchange!r} "
                          f"(it has {', '.join(DIALECTS)})", f"{CCXT_PREFIX}{exchange}")
    return DemoVenue(dialect, exchange)


def demo_venues(arguments: Sequence[str]) -> list[DemoVenue]:
    """The demo's venues from ``--venues`` (simulated venue names, or ``ccxt:ID``); `ConfigError`
    naming the argument when ccxt cannot drive ID, the simulator speaks no dialect of it, or two
    arguments land on one dialect."""
    venues: dict[str, DemoVenue] = {}
    for argument in dict.fromkeys(arguments):
        if argument.startswith(CCXT_PREFIX):
            venue = _bridged(argument.removeprefix(CCXT_PREFIX))
        else:
            venue = DemoVenue(argument)
        if venue.name in venues:
            raise ConfigError("--venues", f"{venues[venue.name]} and {venue} both trade on the simulated "
                              f"{venue.name}: give one of them", argument)
        venues[venue.name] = venue
    return list(venues.values())


def sim_credentials(venues: list[str]) -> dict[str, Credentials]:
    """The simulator's funded test account on every venue (fake money, not a secret)."""
    return {v: Credentials(v, Secret(SIM_KEY), Secret(SIM_SECRET), Secret(SIM_PASSPHRASE)) for v in venues}


def _progress(engine: Engine, elapsed: float, duration: float, out: TextIO, final: bool = False) -> None:
    """A redrawn progress bar on a terminal; one line every few seconds when piped to a file."""
    tty = out.isatty()
    if not tty and not final and int(elapsed * 4) % (4 * PIPED_EVERY_S):
        return
    s = engine.summary()
    width = 24
    done = int(width * min(elapsed / duration, 1.0))
    line = (
        f"[{'#' * done}{'.' * (width - done)}] {elapsed:5.1f}s  books {s['books_synced']}/{s['books']}"
        f"  evaluated {s['funnel']['evaluated']}  opportunities {s['funnel']['clears_fees']}"
        f"  trades {s['trades']}  pnl {s['pnl']:.4f} USDT"
    )
    out.write(f"\r{line}" if tty else f"{line}\n")
    out.flush()


def summary_table(summary: dict[str, Any]) -> str:
    """The end-of-run table, in a trader's words (a one-legged trade: one leg filled, the other not,
    so the engine held an unhedged position until it closed it at market)."""
    one_legged = summary["residuals"]
    rows = [
        ("books synced", f"{summary['books_synced']}/{summary['books']}"),
        ("spreads evaluated", summary["funnel"]["evaluated"]),
        ("opportunities (clear fees)", summary["funnel"]["clears_fees"]),
        ("sized / approved / sent", "{sized} / {approved} / {sent}".format(**summary["funnel"])),
        ("trades, both legs filled", summary["funnel"]["both_filled"]),
        ("trades sent", summary["trades"]),
        ("fills", summary["fills"]),
        (f"realised PnL (USDT, {summary.get('mode', 'paper')})", f"{summary['pnl']:.6f}"),
        ("update -> decision p50 / p99",
         "{p50:.1f} / {p99:.1f} µs".format(**summary["update_to_decision_us"])),
        ("one-legged trades", f"{one_legged['count']} ({one_legged['open']} still open)"),
        ("time one-legged p50 / max", "{p50_ms:.1f} / {max_ms:.1f} ms".format(**one_legged)),
        ("bad messages skipped", summary["decode_errors"]),
        ("trading state", summary["state"]),
        ("journal", summary["journal"]),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"  {k.ljust(width)}  {v}" for k, v in rows)


def _leg(verb: str, order: Order | None) -> str:
    if order is None or not order.filled_qty:
        return f"{verb} nothing" + (f" on {order.venue}" if order is not None else "")
    price = (order.filled_quote / order.filled_qty).quantize(Decimal("1e-8")).normalize()
    return f"{verb} {order.filled_qty.normalize():f} on {order.venue} @ {price:f}"


def history_hint(data_dir: str | Path | None) -> str:
    """How to list the journal's trades: `data_dir` None when the journal is not kept."""
    if data_dir is None:
        return "not kept: pass --data-dir DIR to keep the journal"
    where = "" if Path(data_dir) == Path(DEFAULT_DATA_DIR) else f" --data-dir {data_dir}"
    return f"in the journal: `arb-engine history{where} --limit 1000`"


def trade_lines(outcomes: Sequence[Outcome], limit: int | None = None,
                data_dir: str | Path | None = DEFAULT_DATA_DIR) -> str:
    """One line per trade sent (newest `limit`): both legs, the realised PnL, one-legged time; the
    earlier ones are counted, with the `history` command that lists them from `data_dir`."""
    limit = TRADE_LINES if limit is None else limit
    trades = [o for o in outcomes if o.status is not OutcomeStatus.REJECTED]
    if not trades:
        return "  no trades"
    lines = []
    if len(trades) > limit:
        lines.append(f"  ({len(trades) - limit} earlier trades {history_hint(data_dir)})")
    for o in trades[-limit:]:
        symbol = next((leg.symbol for leg in (o.buy, o.sell) if leg is not None), "?")
        exposure = "" if o.residual_ms is None else (
            f"; one-legged {o.residual_ms:.0f} ms" + (", still open" if o.residual else ", closed"))
        lines.append(f"  {o.opportunity_id}  {symbol}  {_leg('bought', o.buy)}, {_leg('sold', o.sell)}"
                     f"  PnL {o.pnl:+.6f} ({OUTCOME_WORDS.get(o.status, o.status.word)}{exposure})")
    return "\n".join(lines)


async def run_demo(duration: float, venues: Sequence[str | DemoVenue], symbols: Sequence[str], seed: int,
                   data_dir: Path, out: TextIO | None = None, universe: SimUniverse | None = None
                   ) -> dict[str, Any]:
    out = out or sys.stdout  # resolved per call, so a redirected stdout is honoured
    plan = {v.name: v for v in (v if isinstance(v, DemoVenue) else DemoVenue(v) for v in venues)}
    sim = SimExchange(list(plan), seed=seed, universe=universe)
    urls = await sim.start()
    for venue, (rest, ws) in urls.items():
        bridge = f" (driven through ccxt's {plan[venue].exchange})" if plan[venue].exchange else ""
        out.write(f"simulated {venue}: rest={rest} ws={ws}{bridge}\n")
    config = default_config(
        symbols="auto" if list(symbols) == ["auto"] else list(symbols),
        venues={name: venue.config(*urls[name]) for name, venue in plan.items()},
        engine={"data_dir": str(data_dir), "mode": "live"},
    )
    engine = Engine(config, credentials=sim_credentials(list(plan)))
    started = time.monotonic()
    heading = "Summary (live execution path, simulated money on the loopback simulator)"
    cannot: list[str] = []  # why nothing can trade (a --symbols pair no two simulated venues list)
    try:
        await engine.start()
        cannot, _ = engine_reasons(engine)
        started = time.monotonic()
        while not cannot and (elapsed := time.monotonic() - started) < duration:
            _progress(engine, elapsed, duration, out)
            await asyncio.sleep(0.25)
        if not cannot:
            _progress(engine, duration, duration, out, final=True)
        if out.isatty() and not cannot:
            out.write("\n")
    except asyncio.CancelledError:  # Ctrl-C: stop cleanly, then say what was done so far
        heading = (f"Interrupted after {time.monotonic() - started:.1f} s of {duration:g}: "
                   "what was done so far")
        raise
    finally:
        await engine.stop()
        await sim.close()
        if cannot:
            out.write("".join(f"cannot trade: {reason}\n" for reason in cannot)
                      + f"exiting ({EXIT_CANNOT_TRADE})\n")
        else:
            out.write(f"\n{heading}\n{summary_table(engine.summary())}\n\n"
                      f"Trades\n{trade_lines(engine.outcomes, data_dir=data_dir)}\n")
        out.flush()
    return {**engine.summary(), "cannot_trade": cannot}


def main(duration: float, venues: Sequence[str | DemoVenue], symbols: Sequence[str], seed: int,
         data_dir: str | None, use_uvloop: bool = True, universe: SimUniverse | None = None) -> int:
    base = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="arb-demo-"))
    summary = loop.run(run_demo(duration, venues, symbols, seed, base, universe=universe), use_uvloop)
    if summary["cannot_trade"]:
        return EXIT_CANNOT_TRADE
    return 0 if summary["books_synced"] else 1
