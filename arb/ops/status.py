"""What the running engine's ``/status`` answers: its summary plus connections, balances, residuals, limits.

Everything is read from the engine's own objects at request time (nothing is kept for it on the hot
path). `arb-engine status` prints it, or builds the same sections from the journal when no engine
answers (`arb.reports.status`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from arb.engine.engine import Engine
from arb.net.ws import WsClient
from arb.obs.loop import loop_name

NS = 1_000_000_000


def connections(engine: Engine, now_ns: int) -> dict[str, dict[str, Any]]:
    """Per venue: the market-data sockets' counters (they survive reconnects) and the last frame's age."""
    out: dict[str, dict[str, Any]] = {}
    for venue, stream in engine.streams.items():
        ws = getattr(stream, "ws", None)
        if not isinstance(ws, WsClient):
            continue
        stats = ws.connections
        last = max((s.last_frame_ns for s in stats), default=0)
        reasons: dict[str, int] = {}
        for s in stats:
            for reason, n in s.reasons.items():
                reasons[reason] = reasons.get(reason, 0) + n
        out[venue] = {
            "sockets": len(stats), "channels": len(ws.channels),
            "connects": sum(s.connects for s in stats), "reconnects": sum(s.reconnects for s in stats),
            "disconnects": sum(s.disconnects for s in stats), "frames": sum(s.data_frames for s in stats),
            "last_frame_age_s": round((now_ns - last) / NS, 3) if last else None,
            "disconnect_reasons": reasons,
        }
    return out


def balances(engine: Engine) -> dict[str, dict[str, str]]:
    """Per venue and asset: the free balance net of reservations, as the risk manager sees it."""
    assets = set(engine.config.paper_start_balances) if not engine.live else set()
    for _, symbol in engine.symbols:
        assets.update((symbol.base, symbol.quote))
    return {venue: {asset: str(engine.risk.available(venue, asset)) for asset in sorted(assets)}
            for venue in engine.config.enabled_venues}


def engine_status(engine: Engine, clock_ns: Callable[[], int] = time.time_ns) -> dict[str, Any]:
    """The `/status` document."""
    risk = engine.risk
    residuals = [{"opportunity": o.opportunity_id, "status": o.status.word, "residual": str(o.residual)}
                 for o in engine.outcomes if o.residual]
    return {
        "name": engine.config.engine.name,
        **engine.summary(),
        "trading": {"state": risk.state.name, "reason": risk.reason,
                    "open_opportunities": risk.open_opportunities,
                    "realised_pnl_today": str(risk.pnl_today())},
        "connections": connections(engine, clock_ns()),
        "balances": balances(engine),
        "open_residuals": {"unhedged_notional": str(risk.unhedged_notional), "items": residuals},
        "limits": msgspec.to_builtins(engine.config.risk),
        "rate_limits": engine.budgets.stats(),  # per venue: share of its limits, pools, freezes
        "event_loop": {"implementation": loop_name()},  # the HTTP server adds its lag monitor's view
    }
