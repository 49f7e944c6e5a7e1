"""Global limits over the cluster, against a real nats-server: open opportunities, unhedged notional
and the day's loss bound the sum over the workers (each one alone is under its limit), and a live
member whose figures are missing fails the gate closed until its heartbeat expires with it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec

from arb.cluster.conn import ClusterSettings
from arb.cluster.leases import MEMBER, LeaseRecord
from arb.cluster.reasons import GateReason
from arb.cluster.server import NatsServer
from arb.cluster.state import set_cluster_state
from arb.cluster.status import cluster_status, status_text
from arb.cluster.worker import ClusterWorker
from arb.config import default_config
from arb.engine.reasons import Reason
from arb.engine.risk import RiskManager, TradingState
from arb.model import Symbol
from tests.cluster.test_gate import BTC, ETH, FUNDS, _confirmed, _opp

Q, PX = Decimal("0.01"), Decimal("100")


def _risk(tmp: Path) -> RiskManager:
    config = default_config(symbols=["BTC/USDT", "ETH/USDT"], venues=["binance", "mexc"], risk={
        "max_open_opportunities": 3, "max_daily_loss": 10.0, "max_notional_per_order": 900.0,
        "max_unhedged_notional": 3000.0})
    risk = RiskManager(config.risk, tmp / "state.json", time.time_ns)
    for venue in ("binance", "mexc"):
        for asset, amount in FUNDS.items():
            risk.set_balance(venue, asset, amount)
    return risk


async def _until(predicate: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {timeout:.0f} s: {what}")


def _approve(w: ClusterWorker, symbol: Symbol, qty: Decimal = Q) -> tuple[str, Reason | None]:
    opp = _opp(symbol, float(qty), float(PX))
    return opp.id, w.risk.approve(opp, buy_fee=0.001, quantity=qty, buy_price=PX).reason


async def test_the_cluster_sum_is_limited_and_a_member_without_figures_fails_closed(
        nats_server: NatsServer, tmp_path: Path) -> None:
    lease_s = 1.0
    workers = [ClusterWorker(ClusterSettings(nats_server.url, f"w{i}", lease_s=lease_s),
                             _risk(tmp_path / f"w{i}")) for i in (1, 2)]
    w1, w2 = workers
    try:
        for w in workers:
            await w.connect()
            w.attach([BTC, ETH], ["binance", "mexc"], w.risk.available)
        await _confirmed(*workers)
        l1, l2 = w1.limits, w2.limits
        assert l1 is not None and l2 is not None
        await _until(lambda: not l1.stale and not l2.stale, "fresh figures")
        s1, s2 = next(iter(w1.owned)), next(iter(w2.owned))
        # open opportunities: w1 holds 2 of the cluster's 3; w2 may open 1, not 2 (alone it could open 3)
        held = [_approve(w1, s1) for _ in range(2)]
        assert [reason for _, reason in held] == [None, None]
        await _until(lambda: l2.peer_open == 2, "w2 sees w1's 2 open")
        first, reason = _approve(w2, s2)
        assert reason is None
        assert _approve(w2, s2)[1] is GateReason.CLUSTER_OPEN_OPPORTUNITIES
        for w, ids in ((w1, [i for i, _ in held]), (w2, [first])):
            for opportunity_id in ids:
                w.risk.release(opportunity_id)
        await _until(lambda: l1.peer_open == l2.peer_open == 0, "released")
        # unhedged notional: 2,500 one-legged on w1 (its limit is 3,000); w2's 600 would make 3,100
        w1.risk.set_unhedged(Decimal(2500))
        await _until(lambda: l2.peer_unhedged == 2500, "w2 sees w1's exposure")
        assert _approve(w2, s2, Decimal(6))[1] is GateReason.CLUSTER_UNHEDGED_NOTIONAL
        status = await cluster_status(nats_server.url)  # `status --cluster` shows each worker's figures
        assert status["figures"]["w1"]["unhedged_notional"] == "2500"
        assert "w1             open 0, unhedged 2500, PnL today 0" in status_text(status)
        opportunity_id, reason = _approve(w2, s2, Decimal(4))  # 400: 2,900 in all, admitted
        assert reason is None
        w2.risk.release(opportunity_id)
        w1.risk.set_unhedged(Decimal(0))
        # the day's loss: 6 on w1 and 5 on w2, each under its 10 (neither engine halts itself),
        # together 11: the cluster HALTs, as one engine does at its own limit
        w1.risk.add_realised_pnl(Decimal(-6))
        w2.risk.add_realised_pnl(Decimal(-5))
        await _until(lambda: all(w.risk.state is TradingState.HALTED for w in workers), "the cluster halted")
        await _until(lambda: l1.peer_pnl == -5 and l2.peer_pnl == -6, "pnl seen by both")
        for w in workers:
            assert w.risk.reason == "cluster: cluster daily realised loss 11 reached the limit 10", w.risk
        assert (await cluster_status(nats_server.url))["state"] == "HALTED"
        # the operator resumes: the gate still refuses while the day's loss stays at the limit, and
        # nobody halts the cluster again for the same loss
        await set_cluster_state(nats_server.url, TradingState.ACTIVE, "looked at it")
        await _until(lambda: all(w.risk.state is TradingState.ACTIVE for w in workers), "resumed")
        assert _approve(w1, s1)[1] is _approve(w2, s2)[1] is GateReason.CLUSTER_DAILY_LOSS
        stays = asyncio.get_running_loop().time() + 5 * lease_s  # 25 ticks
        while asyncio.get_running_loop().time() < stays:
            assert all(w.risk.state is TradingState.ACTIVE for w in workers), [w.risk.reason for w in workers]
            await asyncio.sleep(0.05)
        w1.risk.add_realised_pnl(Decimal(2))  # 9 lost in all: trading again
        await _until(lambda: l2.peer_pnl == -4, "pnl seen")
        opportunity_id, reason = _approve(w2, s2)
        assert reason is None
        w2.risk.release(opportunity_id)
        # a member that publishes no figures (a worker of an older version, or one stuck): fail closed
        assert w1._buckets is not None
        await w1._buckets.leases.put(MEMBER + "w3", msgspec.json.encode(LeaseRecord("w3", time.time_ns())))
        await _until(lambda: "w3" in w1.members, "w3 a member")
        assert _approve(w1, s1)[1] is GateReason.CLUSTER_PEERS_STALE
        # ... until its heartbeat expires (within a lease): its figures go with it
        await _until(lambda: "w3" not in w1.members and not l1.stale, "w3 gone")
        opportunity_id, reason = _approve(w1, s1)
        assert reason is None
        summary = w1.summary()["refused"]
        assert isinstance(summary, dict)
        assert summary["CLUSTER_DAILY_LOSS"] == 1 and summary["CLUSTER_PEERS_STALE"] >= 1
        assert w2.refused[GateReason.CLUSTER_OPEN_OPPORTUNITIES] == 1
        # what `/status` shows: the engine's refusals by their words
        assert w2.risk.rejection_counts()["cluster limit: max open opportunities"] == 1
        assert w1.risk.rejection_counts()["cluster limit: a worker's figures are stale"] >= 1
    finally:
        for w in workers:
            await w.stop()
