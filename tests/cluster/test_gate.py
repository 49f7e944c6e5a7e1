"""The worker as the engine's risk gate, against a real nats-server: two workers on one account
each trade from their share of the ledger (one worker cannot spend the other's), nothing is
admitted before the allocation is confirmed, on a symbol another worker owns, or while the
cluster is halted."""

from __future__ import annotations

import asyncio
import itertools
import time
from decimal import Decimal
from pathlib import Path

from arb.cluster.conn import ClusterSettings
from arb.cluster.reasons import GateReason
from arb.cluster.server import NatsServer
from arb.cluster.state import set_cluster_state
from arb.cluster.worker import ClusterWorker, WorkerState
from arb.config import default_config
from arb.engine.risk import RiskManager, TradingState
from arb.model import Opportunity, Symbol

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
FUNDS = {"USDT": Decimal("1000"), "BTC": Decimal("10"), "ETH": Decimal("10")}
_ids = itertools.count(1)


def _risk(tmp: Path) -> RiskManager:
    config = default_config(symbols=["BTC/USDT", "ETH/USDT"], venues=["binance", "mexc"],
                            risk={"max_notional_per_order": 900.0, "max_unhedged_notional": 5000.0})
    risk = RiskManager(config.risk, tmp / "state.json", time.time_ns)
    for venue in ("binance", "mexc"):
        for asset, amount in FUNDS.items():
            risk.set_balance(venue, asset, amount)
    return risk


def _opp(symbol: Symbol, quantity: float, price: float) -> Opportunity:
    return Opportunity(f"o{next(_ids)}", symbol, "binance", "mexc", quantity, price, price * 1.01, price,
                       price * 1.01, 1.0, 0.5, 100.0, 50.0)


async def _confirmed(*workers: ClusterWorker) -> None:
    for _ in range(100):
        if all(w.state is WorkerState.TRADING and w.members == sorted(x.worker for x in workers)
               and len(set().union(*(x.owned for x in workers))) == 2 for w in workers):
            return
        await asyncio.sleep(0.05)
    raise AssertionError([w.summary() for w in workers])


async def test_two_workers_share_the_funds_and_each_only_trades_its_share(
        nats_server: NatsServer, tmp_path: Path) -> None:
    settings = [ClusterSettings(nats_server.url, f"w{i}", lease_s=1.0) for i in (1, 2)]
    risks = [_risk(tmp_path / f"w{i}") for i in (1, 2)]
    workers = [ClusterWorker(s, r) for s, r in zip(settings, risks, strict=True)]
    try:
        for w in workers:
            await w.connect()
        opp = _opp(BTC, 0.001, 100.0)
        assert not risks[0].approve(opp, buy_fee=0.001, quantity=Decimal("0.001")).approved
        assert workers[0].refused == {GateReason.UNCONFIRMED: 1}  # connected, allocation not confirmed yet
        for w in workers:
            w.attach([BTC, ETH], ["binance", "mexc"], w.risk.available)
        await _confirmed(*workers)
        # each symbol is owned by one of them; each holds half of every account
        assert workers[0].owned.isdisjoint(workers[1].owned)
        for _ in range(40):  # the allocations settle toward an equal share within a few ticks
            if all(w.allocation.held.get(("binance", "USDT")) == Decimal(500) for w in workers):
                break
            await asyncio.sleep(0.05)
        assert [w.allocation.held[("binance", "USDT")] for w in workers] == [Decimal(500)] * 2
        q, px = Decimal("4.5"), Decimal("100")
        for w in workers:
            symbol = next(iter(w.owned))
            for other in {BTC, ETH} - w.owned:  # a symbol of the other worker: not ours to trade
                refused = w.risk.approve(_opp(other, 0.01, 100.0), buy_fee=0.001, quantity=Decimal("0.01"))
                assert refused.reason is GateReason.NOT_OWNED
            first = _opp(symbol, 4.5, 100.0)  # 450 USDT + fee: inside this worker's 500
            assert w.risk.approve(first, buy_fee=0.001, quantity=q, buy_price=px).approved
            # the account still has ~550 USDT free, but this worker's share has ~50 left: refused
            decision = w.risk.approve(_opp(symbol, 4.5, 100.0), buy_fee=0.001, quantity=q, buy_price=px)
            assert decision.reason is GateReason.NO_ALLOCATION
            assert w.risk.rejection_counts()["cluster allocation too small"] == 1  # what /status shows
            w.risk.release(first.id)
        # halted from the outside: both refuse at once, and resume reopens
        await set_cluster_state(nats_server.url, TradingState.HALTED, "test")
        for _ in range(20):
            if all(w.risk.state is TradingState.HALTED for w in workers):
                break
            await asyncio.sleep(0.05)
        assert [w.risk.reason for w in workers] == ["cluster: test"] * 2
        await set_cluster_state(nats_server.url, TradingState.ACTIVE, "")
        for _ in range(20):
            if all(w.risk.state is TradingState.ACTIVE for w in workers):
                break
            await asyncio.sleep(0.05)
        assert [w.risk.state for w in workers] == [TradingState.ACTIVE] * 2
    finally:
        for w in workers:
            await w.stop()
