"""What the engine reports: metrics callbacks, the summary (demo, `status`) and the live view's snapshot.

Read from the stages' own state, a few times a second at most (a scrape, a timer, an HTTP request),
never from the hot path.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from arb.engine.executor import OutcomeStatus
from arb.engine.reasons import by_text
from arb.model import ZERO
from arb.net.rest import RestMetrics
from arb.venues.base import PrivateExchangeInterface, PublicExchangeInterface

if TYPE_CHECKING:
    from arb.engine.engine import Engine


def book_metrics(engine: Engine) -> list[tuple[str, str, int, float]]:
    now = time.time_ns()
    return [(s.venue, str(s.symbol), int(s.state), (now - s.book.ts_ns) / 1e9 if s.book.ts_ns else 0.0)
            for s in engine.books.all()]

def venue_counters(engine: Engine) -> list[tuple[str, str, float]]:
    out = []
    for sync in engine.books.all():
        out.append((sync.venue, "book_gaps", float(sync.gaps)))
        out.append((sync.venue, "book_resyncs", float(sync.resyncs)))
        out.append((sync.venue, "book_decode_errors", float(sync.decode_errors)))
    counts = engine.tracker.counts()
    for venue in engine.config.enabled_venues:
        orders, fills = counts.get(venue, (0, 0))
        out.append((venue, "orders", float(orders)))
        out.append((venue, "fills", float(fills)))
    for venue, metrics in rest_metrics(engine):
        out.append((venue, "rest_rate_limited", float(metrics.rate_limited)))  # 429s
        out.append((venue, "rest_banned", float(metrics.banned)))  # 418s
        out.append((venue, "rest_retries", float(metrics.retries)))
    for venue, stream in engine.streams.items():
        if stream.connections:
            out.append((venue, "ws_reconnects", float(sum(c.reconnects for c in stream.connections))))
    totals: dict[tuple[str, str], float] = {}
    for venue, name, value in out:
        totals[(venue, name)] = totals.get((venue, name), 0.0) + value
    return [(venue, name, value) for (venue, name), value in totals.items()]

def _connectors(engine: Engine) -> list[tuple[str, PublicExchangeInterface | PrivateExchangeInterface]]:
    """Every venue's connectors (market data and, live, the signed one)."""
    return [*engine.publics.items(), *engine.privates.items()]


def rest_metrics(engine: Engine) -> list[tuple[str, RestMetrics]]:
    """Every venue's REST clients' counters (connectors without REST have none)."""
    return [(venue, metrics) for venue, connector in _connectors(engine)
            if (metrics := connector.rest_metrics) is not None]

def venue_gauges(engine: Engine) -> list[tuple[str, str, dict[str, str], float]]:
    out: list[tuple[str, str, dict[str, str], float]] = []
    shown: set[int] = set()  # a venue's clients share one limiter: report it once
    for venue, connector in _connectors(engine):
        limiter = connector.limiter
        if limiter is None or id(limiter) in shown:
            continue
        shown.add(id(limiter))
        for pool, free in limiter.headroom().items():
            out.append(("ratelimit_headroom_ratio", "Fraction of a rate-limit pool available now",
                        {"venue": venue, "pool": pool}, free))
        out.append(("ratelimit_share_ratio", "Share of the venue's documented limits this process uses "
                    "(cluster mode: 1 / workers)", {"venue": venue}, limiter.share))
        out.append(("ratelimit_remote_backoffs", "Freezes applied for a 429/418 another worker took",
                    {"venue": venue}, float(limiter.remote_backoffs)))
    for venue, private in engine.privates.items():
        clock = private.server_clock
        if clock is not None:
            out.append(("clock_offset_seconds", "Venue clock minus local clock",
                        {"venue": venue}, clock.offset_ms / 1000))
    return out

def gate_counts(engine: Engine) -> dict[str, int]:
    """Everything that stopped an update or an opportunity, by the words people read: the detector's
    and the executor's gates and the risk manager's refusals (the `arb_gate` metric, the summary)."""
    risk = engine.risk
    return by_text(engine.detector.funnel.gates, risk.rejections, risk.gate_rejections)

def summary(engine: Engine) -> dict[str, Any]:
    """What happened, for the demo's table and `status`."""
    decisions = sorted(engine.decision_ns)

    def pct(p: float) -> float:
        return decisions[min(len(decisions) - 1, int(p * len(decisions)))] / 1000 if decisions else 0.0

    totals = engine.totals
    lifetimes = sorted(engine._lifetimes)
    return {
        "books_synced": sum(s.state == 1 for s in engine.books.all()),
        "books": len(list(engine.books.all())),
        "funnel": dict(engine.detector.funnel.stages),
        "gates": gate_counts(engine),
        "rejections": engine.risk.rejection_counts(),
        "trades": totals.trades,
        "fills": totals.fills,
        "pnl": totals.pnl,
        "decode_errors": engine.decode_errors,
        "state": engine.risk.state.name,
        "mode": engine.config.engine.mode,
        "update_to_decision_us": {"p50": pct(0.5), "p99": pct(0.99)},
        "residuals": {"count": totals.residuals, "open": totals.residuals_open,
                      "p50_ms": lifetimes[len(lifetimes) // 2] if lifetimes else 0.0,
                      "max_ms": lifetimes[-1] if lifetimes else 0.0},
        "journal": str(engine.config.journal_path),
    }

def view_snapshot(engine: Engine, recent: int = 12) -> dict[str, Any]:
    """What the live view and `/view` show, read from the stages' own state (JSON-ready).

    Called a few times a second from a timer or an HTTP request, never from the hot path.
    """
    now = time.time_ns()
    books: dict[str, dict[str, int]] = {v: {"synced": 0, "total": 0, "resyncs": 0, "gaps": 0}
                                        for v in engine.config.enabled_venues}
    for s in engine.books.all():
        row = books.setdefault(s.venue, {"synced": 0, "total": 0, "resyncs": 0, "gaps": 0})
        row["total"] += 1
        row["synced"] += int(s.state == 1)
        row["resyncs"] += s.resyncs
        row["gaps"] += s.gaps
    connections: dict[str, dict[str, Any]] = {}
    risk_now = engine._clock()
    for venue in engine.config.enabled_venues:
        stream = engine.streams.get(venue)
        stats = stream.connections if stream is not None else []
        last = max((c.last_frame_ns for c in stats), default=0)
        # read, not `risk.circuit_open()`: asking that after the cooldown hands out the half-open trial
        circuit = engine.risk._circuits.get(venue)
        connections[venue] = {
            "sockets": len(stats), "reconnects": sum(c.reconnects for c in stats),
            "last_frame_age_s": round((now - last) / 1e9, 3) if last else None,
            "user_stream": engine.user_streams.get(venue),
            "circuit_open": circuit is not None and circuit.open_until > risk_now,
        }
    assets = sorted({a for _, sym in engine.symbols for a in (sym.base, sym.quote)})
    trades = []
    for o in [o for o in engine.outcomes if o.status is not OutcomeStatus.REJECTED][-recent:]:
        leg = o.buy or o.sell
        trades.append({
            "id": o.opportunity_id, "status": o.status.word, "symbol": str(leg.symbol) if leg else "",
            "buy": o.buy.venue if o.buy else "", "sell": o.sell.venue if o.sell else "",
            "qty": str(max([leg.filled_qty for leg in (o.buy, o.sell) if leg is not None], default=ZERO)),
            "pnl": str(o.pnl), "residual": str(o.residual),
        })
    return {
        "ts_ns": now, "mode": engine.config.engine.mode,
        "state": engine.risk.state.name, "reason": engine.risk.reason,
        "books": books,
        "spreads": [{"symbol": str(x.symbol), "buy": x.buy_venue, "sell": x.sell_venue,
                     "net_bps": round(x.net_bps, 2)} for x in engine.detector.spreads()],
        "min_net_bps": engine.config.risk.min_net_bps,
        "funnel": dict(engine.detector.funnel.stages),
        "trades": trades,
        "trade_count": engine.totals.trades,
        "pnl": str(engine.totals.pnl),
        "pnl_today": str(engine.risk.pnl_today()),
        "open_opportunities": engine.risk.open_opportunities,
        "unhedged_notional": str(engine.risk.unhedged_notional),
        "balances": {v: {a: str(engine.risk.available(v, a)) for a in assets}
                     for v in engine.config.enabled_venues},
        "connections": connections,
    }


def readiness(engine: Engine) -> tuple[bool, dict[str, Any]]:
    """Ready when every book is SYNCED and trading is not HALTED (for /readyz)."""
    reasons = []
    unsynced = [f"{s.venue} {s.symbol}" for s in engine.books.all() if s.state != 1]
    if unsynced:
        reasons.append(f"books not synced: {', '.join(unsynced[:10])}")
    if engine.risk.state.name == "HALTED":
        reasons.append(f"halted: {engine.risk.reason}")
    if engine.live and engine.reconciliation is None:
        reasons.append("reconciliation not done")
    circuits = engine.risk.open_circuits()
    if circuits:
        reasons.append("circuits: " + ", ".join(f"{v} {c.name}" for v, c in circuits.items()))
    down = [v for v, up in engine.user_streams.items() if not up]
    if down:
        reasons.append(f"user streams down: {', '.join(down)}")
    return not reasons, {"reasons": reasons}
