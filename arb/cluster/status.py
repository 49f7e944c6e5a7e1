"""`arb-engine status --cluster URL`: the whole cluster as NATS has it (members, who owns which
symbol, the ledger, the trading state, the last reconciliation of the ledger with the venues, the
event stream)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import msgspec
import nats.errors
import nats.js.errors

from arb.cluster.conn import EVENTS_STREAM, ClusterError, connect, open_buckets
from arb.cluster.leases import LEASE, MEMBER, LeaseRecord, read_prefix
from arb.cluster.ledger import decode_account
from arb.cluster.limits import figures_text, read_figures
from arb.cluster.reconciler import read_result
from arb.cluster.state import read_record


def _text(value: Decimal) -> str:
    return f"{value.normalize():f}"


async def cluster_status(url: str) -> dict[str, Any]:
    """A JSON-ready snapshot of the cluster at `url`."""
    nc = await connect(url, name="arb-status")
    try:
        js = nc.jetstream(timeout=2.0)
        buckets = await open_buckets(js)
        members = {}
        for name, (raw, _) in (await read_prefix(buckets.leases, MEMBER)).items():
            try:
                members[name] = msgspec.json.decode(raw, type=LeaseRecord).since_ns
            except msgspec.DecodeError:
                members[name] = 0
        owners: dict[str, str] = {}
        for symbol, (raw, _) in (await read_prefix(buckets.leases, LEASE)).items():
            try:
                owners[symbol] = msgspec.json.decode(raw, type=LeaseRecord).worker
            except msgspec.DecodeError:
                owners[symbol] = "?"
        ledger = {}
        try:
            keys = await buckets.ledger.keys()
        except nats.js.errors.NoKeysError:
            keys = []
        for key in sorted(keys):
            account = decode_account((await buckets.ledger.get(key)).value)
            ledger[key] = {"funds": _text(account.funds), "free": _text(account.free),
                           "held": {w: _text(v) for w, v in sorted(account.held.items())}}
        figures = {w: figures_text(f) for w, f in sorted((await read_figures(buckets.leases)).items())
                   if w in members}
        state = await read_record(buckets.state)
        result = await read_result(buckets.state)
        events = (await js.stream_info(EVENTS_STREAM)).state.messages
    except (nats.errors.Error, TimeoutError) as exc:
        raise ClusterError(f"cannot read the cluster at {url}: {exc or type(exc).__name__}") from None
    finally:
        await nc.close()
    return {
        "url": url, "state": state.state.name, "reason": state.reason, "members": sorted(members),
        "owners": {m: sorted(s for s, o in owners.items() if o == m) for m in sorted(set(owners.values()))},
        "ledger": ledger, "events": events, "figures": figures,  # each worker's share of the global limits
        "reconciled": {"run": result.gen, "by": result.by, "at_ns": result.quiet_ns,
                       "corrected": {k: v for k, v in sorted(result.diffs.items()) if Decimal(v)}},
    }


def status_text(status: dict[str, Any]) -> str:
    lines = [f"cluster {status['url']}: {status['state']}"
             + (f" ({status['reason']})" if status["reason"] else ""),
             f"  members        {', '.join(status['members']) or 'none'}"]
    for worker, symbols in status["owners"].items():
        lines.append(f"  {worker:<14} owns {', '.join(symbols)}")
    lines.append("  ledger (funds / free / held by worker)")
    for key, account in status["ledger"].items():
        held = ", ".join(f"{w} {v}" for w, v in account["held"].items()) or "-"
        lines.append(f"    {key:<16} {account['funds']:>18} {account['free']:>18}   {held}")
    done = status["reconciled"]
    if done["run"]:
        at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(done["at_ns"] / 1e9))
        moved = ", ".join(f"{k} {v}" for k, v in done["corrected"].items()) or "no difference"
        lines.append(f"  reconciled     run {done['run']} by {done['by']} at {at}: {moved}")
    else:
        lines.append("  reconciled     never (the ledger has not been checked against the venues' balances)")
    for worker, figures in status.get("figures", {}).items():
        lines.append(f"  {worker:<14} open {figures['open_opportunities']}, unhedged "
                     f"{figures['unhedged_notional']}, PnL today {figures['realised_pnl_today']}")
    lines.append(f"  events         {status['events']} in {EVENTS_STREAM}")
    return "\n".join(lines)
