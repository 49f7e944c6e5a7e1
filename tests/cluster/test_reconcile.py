"""Reconciliation in cluster mode: a dead owner's open orders cancelled by the symbol's new owner, and
the cluster ledger set to the venues' balances.

The proof runs real `arb-engine run --live --cluster` workers against one `arb-engine sim` process
(one simulated account, as `demo --cluster` shares its simulator) and a real nats-server: a worker
is killed with SIGKILL while an order of it is in flight (the simulator holds Binance's order replies
and delays its order pushes: the venue filled the order, the worker never learned it), a resting order
carrying its run tag is cancelled by the survivor, the ledger equals the simulator's balances once the
reconciler ran, and again after the killed worker restarted and reconciled its journal.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

import msgspec
import nats.js.errors
import pytest

from arb.cluster.conn import EVENTS_STREAM, EVENTS_SUBJECT, ClusterSettings, connect, open_buckets
from arb.cluster.ledger import Account
from arb.cluster.orphans import id_salt
from arb.cluster.reconciler import Result, corrected, read_result
from arb.cluster.server import NatsServer
from arb.cluster.state import set_cluster_state
from arb.cluster.worker import ClusterWorker
from arb.config import default_config
from arb.engine.risk import RiskManager, TradingState
from arb.engine.runtag import instance_salt, run_tag
from arb.model import Order, OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.venues.registry import VENUES, make_public
from tests.cluster.shared_sim import SharedSim, ledger_differs
from tests.cluster.workers import ROOT, SYMBOLS, Worker, accounts, holders, wait_for

LEASE_S = 2.0
START_S = 120.0  # a worker process starts its engine against the simulator: slow on a loaded machine
HELD_REPLY_MS = 1500  # Binance's order replies come this late (within the 3 s order timeout)
RESTING_VENUE = "gateio"
IN_FLIGHT = (int(OrderStatus.PENDING_NEW), int(OrderStatus.UNKNOWN), int(OrderStatus.NEW),
             int(OrderStatus.PARTIALLY_FILLED))


# ---------------------------------------------------------------------------- units


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_the_worker_salt_is_read_back_from_every_venues_spelling_of_a_client_id(venue: str) -> None:
    rule = VENUES[venue].client_id
    for name in ("w1", "w2", "host-4242"):
        for seq, leg in ((1, "b0"), (12, "s0"), (999_999, "r12")):
            cid = rule.make(f"{run_tag(17, 1_790_000_000 * 10**9, name)}{seq:06d}{leg}")
            assert id_salt(cid, rule) == instance_salt(name), cid
    plain = rule.make(f"{run_tag(17, 1_790_000_000 * 10**9)}000001b0")  # a run outside a cluster
    assert id_salt(plain, rule) is None, plain
    for foreign in ("my-order-1", "x", rule.prefix + "abc-def-ghi"):
        assert id_salt(foreign, rule) is None


def test_a_correction_trims_holdings_proportionally_never_negative_within_the_funds() -> None:
    account = Account(Decimal("100"), {"w1": Decimal("60"), "w2": Decimal("30")})
    up, diff = corrected(account, Decimal("120"))
    assert (up.funds, up.held, diff) == (Decimal("120"), account.held, Decimal("20"))
    down, diff = corrected(account, Decimal("45"))
    assert diff == Decimal("-55") and down.check()
    assert down.held == {"w1": Decimal("30"), "w2": Decimal("15")}
    odd, _ = corrected(account, Decimal("1") / Decimal("3"))
    assert odd.check() and sum(odd.held.values()) <= odd.funds and all(v > 0 for v in odd.held.values())
    empty, diff = corrected(account, Decimal("0"))
    assert empty.held == {} and diff == Decimal("-100") and empty.check()


async def _state_applied(risk: RiskManager, state: TradingState) -> None:
    for _ in range(200):
        if risk.state is state:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{risk.state.name} ({risk.reason}), expected {state.name}")


async def test_a_cluster_resume_does_not_clear_a_halt_the_engine_made_while_the_cluster_was_halted(
        nats_server: NatsServer, tmp_path: Path) -> None:
    """A worker restarted while the cluster is halted whose journal shows a one-legged position halts
    on its own too: the cluster's RESUME lifts the cluster's HALT only."""
    config = default_config(symbols=["BTC/USDT"], venues=["binance", "mexc"])
    risk = RiskManager(config.risk, tmp_path / "state.json", time.time_ns)
    worker = ClusterWorker(ClusterSettings(nats_server.url, "w1", lease_s=1.0), risk)
    await worker.connect()
    try:
        await set_cluster_state(nats_server.url, TradingState.HALTED, "maintenance")
        await _state_applied(risk, TradingState.HALTED)
        await set_cluster_state(nats_server.url, TradingState.ACTIVE, "")
        await _state_applied(risk, TradingState.ACTIVE)  # the cluster's own HALT: lifted
        await set_cluster_state(nats_server.url, TradingState.HALTED, "maintenance")
        await _state_applied(risk, TradingState.HALTED)
        risk.halt("reconciliation: net position -6.673 SOL (one-legged)")
        await set_cluster_state(nats_server.url, TradingState.ACTIVE, "")
        for _ in range(100):
            if not risk.reason.startswith("cluster: "):
                break
            await asyncio.sleep(0.02)
        assert (risk.state, risk.reason) == (TradingState.HALTED,
                                             "reconciliation: net position -6.673 SOL (one-legged)")
        risk.resume()  # the operator's resume (after closing the position) clears it
        assert risk.state is TradingState.ACTIVE and not risk.also
    finally:
        await worker.stop()


# ---------------------------------------------------------------------------- processes


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "arb.cli", *args], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


async def _published(url: str, subject: str) -> dict[str, object]:
    """The last event published on `subject` (empty when none)."""
    nc = await connect(url, name="observer")
    try:
        msg = await nc.jetstream().get_last_msg(EVENTS_STREAM, subject)
        return dict(msgspec.json.decode(msg.data or b"{}"))
    except nats.js.errors.NotFoundError:
        return {}
    finally:
        await nc.close()


async def _result(url: str) -> Result:
    nc = await connect(url, name="observer")
    try:
        return await read_result((await open_buckets(nc.jetstream())).state)
    finally:
        await nc.close()


def _differs(url: str, sim: SharedSim) -> list[str]:
    ledger = asyncio.run(accounts(url))
    return ledger_differs(ledger, asyncio.run(sim.balances())) if ledger else ["no ledger"]


def _all_held(url: str, by: set[str]) -> bool:
    held = asyncio.run(holders(url))
    return sorted(held) == sorted(SYMBOLS) and set(held.values()) == by


def _in_flight(worker: Worker, venue: str, since_ns: int) -> str | None:
    """A client id of `worker`'s order on `venue` sent after `since_ns` and not final in its journal."""
    rows = worker.query(f"SELECT client_order_id FROM orders WHERE venue = ? AND ts_created > ? AND status "
                        f"IN ({', '.join('?' * len(IN_FLIGHT))}) ORDER BY ts_created DESC LIMIT 1",
                        venue, since_ns, *IN_FLIGHT)
    return str(rows[0][0]) if rows else None


async def _place_resting(sim: SharedSim, symbol: Symbol, like: str) -> str:
    """A GTC buy far below the market on `RESTING_VENUE` whose client id carries the run tag of the
    order id `like` (as a residual-closing order of that worker's would); returns its client id."""
    public = make_public(RESTING_VENUE, sim.config.enabled_venues[RESTING_VENUE])
    private = sim.private(RESTING_VENUE)
    try:
        info = next(i for i in await public.symbols() if i.symbol == symbol)
        bid = repr((await public.orderbook(symbol, 5)).bids[0].price)
        ticks = (Decimal(bid) * Decimal("0.7") / info.tick_size).to_integral_value(ROUND_FLOOR)
        price = ticks * info.tick_size
        qty = max(info.min_qty, info.step_size)
        while qty * price < info.min_notional * 2:
            qty += info.step_size * max(1, int(qty / info.step_size))
        cid = re.sub(r"\d{6,}[a-z]\d*$", "999999r9", like)
        order = await private.place_order(symbol, Side.BUY, OrderType.LIMIT, qty, cid, price=price,
                                          time_in_force=TimeInForce.GTC)
        assert order.status in (OrderStatus.NEW, OrderStatus.PENDING_NEW), order
        return cid
    finally:
        await public.close()
        await private.close()


async def _order(sim: SharedSim, venue: str, symbol: Symbol, cid: str) -> Order:
    private = sim.private(venue)
    try:
        return await private.get_order(symbol, client_order_id=cid)
    finally:
        await private.close()


def test_a_worker_killed_mid_trade_its_orders_reconciled_and_the_ledger_equals_the_venues(
        nats_server: NatsServer, tmp_path: Path) -> None:
    url = nats_server.url
    sim = SharedSim(tmp_path, faults=[
        "binance:http_methods=POST", "binance:slow_replies=1000000", f"binance:slow_reply_ms={HELD_REPLY_MS}",
        f"binance:user_push_delay_ms={HELD_REPLY_MS}"])
    started: list[Worker] = []

    def worker(name: str) -> Worker:
        started.append(Worker(tmp_path, url, name, lease_s=LEASE_S, duration=600, sim_urls=sim.sim_urls))
        return started[-1]

    try:
        w1 = worker("w1")
        wait_for(lambda: _all_held(url, {"w1"}), START_S, "w1 owns every symbol")
        w2 = worker("w2")
        wait_for(lambda: _all_held(url, {"w1", "w2"}), START_S, "both workers own a shard")
        wait_for(lambda: all(w.orders_since(0) for w in (w1, w2)), START_S, "both workers trade")
        # a resting order of w1 (its run tag) on a symbol it owns, on a venue listing it
        owned = sorted(s for s, w in asyncio.run(holders(url)).items() if w == "w1")
        symbol = Symbol.parse(owned[0])
        wait_for(lambda: w1.query("SELECT 1 FROM orders WHERE venue = ?", RESTING_VENUE), START_S,
                 f"w1 traded on {RESTING_VENUE}")
        like = str(w1.query("SELECT client_order_id FROM orders WHERE venue = ?", RESTING_VENUE)[0][0])
        resting = asyncio.run(_place_resting(sim, symbol, like))
        assert id_salt(resting, VENUES[RESTING_VENUE].client_id) == instance_salt("w1")
        before = asyncio.run(_result(url))
        # kill w1 while its Binance order is in flight (the simulator holds the reply)
        mark = time.time_ns()
        wait_for(lambda: _in_flight(w1, "binance", mark) is not None, START_S,
                 "w1 has a Binance order in flight", poll=0.05)
        w1.kill9()
        killed_at = time.time_ns()
        cid = _in_flight(w1, "binance", mark)
        assert cid is not None, "the order was final in w1's journal when it died: not mid-trade"
        took = wait_for(lambda: _all_held(url, {"w2"}), 3 * LEASE_S, "w2 owns every symbol", poll=0.05)
        assert took <= LEASE_S + 1, f"failover took {took:.2f} s"
        # the survivor cancelled w1's resting order, journaled and logged it
        wait_for(lambda: asyncio.run(_order(sim, RESTING_VENUE, symbol, resting)).status
                 is OrderStatus.CANCELED, 30, "w1's resting order cancelled")
        wait_for(lambda: any(venue == RESTING_VENUE and resting in str(detail) for venue, detail in w2.query(
            "SELECT venue, detail FROM risk_events WHERE kind = 'ORPHANS_CANCELLED'")), 30, "w2 journaled it")
        assert "open orders of departed workers" in w2.output
        event = asyncio.run(_published(url, f"{EVENTS_SUBJECT}.w2.reconcile"))
        assert event.get("what") == "ORPHANS_CANCELLED" and resting in str(event), event
        # the reconciler ran after the departure, then (trading halted) the ledger equals the venues
        wait_for(lambda: asyncio.run(_result(url)).quiet_ns > killed_at, 60, "the ledger reconciled")
        after = asyncio.run(_result(url))
        assert after.gen > before.gen and after.by == "w2"
        shown = _cli("status", "--cluster", url)
        assert re.search(r"reconciled     run \d+ by w2 at ", shown.stdout), shown.stdout + shown.stderr
        # the order w1 died waiting for filled on the venue: its fills never reached the ledger until now
        text, sent = w1.query("SELECT symbol, ts_created FROM orders WHERE client_order_id = ?", cid)[0]
        traded = Symbol.parse(str(text))
        lost = asyncio.run(_order(sim, "binance", traded, cid))
        if lost.filled_qty and killed_at - int(str(sent)) < HELD_REPLY_MS * 1_000_000:  # w1 had no news of it
            assert Decimal(after.diffs[f"binance.{traded.base}"]) != 0, (lost, after.diffs)
        print(f"failover {took:.2f} s; reconciliation after the kill: {after.diffs}")
        assert _cli("halt", "--cluster", url, "--reason", "check").returncode == 0
        wait_for(lambda: not _differs(url, sim), 60, "ledger == simulator balances after the kill")
        # w1 restarts: its journal's in-flight order is resolved, the ledger reconciled before it trades
        w1 = worker("w1")
        wait_for(lambda: "ledger reconciled with the venues since this worker asked" in w1.output, START_S,
                 "restarted w1 waited for a reconciliation", poll=0.5)
        found = re.search(r"reconciliation: resolved (\d+) orders.* (\d+) open residuals", w1.output)
        assert found is not None and int(found.group(1)) >= 1, w1.output[-3000:]
        assert w1.query("SELECT status FROM orders WHERE client_order_id = ?", cid)[0][0] not in IN_FLIGHT
        assert not _differs(url, sim), _differs(url, sim)
        resumed = time.time_ns()
        assert _cli("resume", "--cluster", url).returncode == 0
        wait_for(lambda: w2.orders_since(resumed) > 0, 60, "trading again")
        if int(found.group(2)):  # w1's journal shows a one-legged position left by its death: the
            # cluster's RESUME lifts only the cluster's HALT, not the one its start's reconciliation made
            wait_for(lambda: "HALTED (was HALTED, by operator): reconciliation" in w1.output, 30,
                     "w1 kept its own HALT")
            assert w1.orders_since(resumed) == 0
    finally:
        codes = [w.stop() for w in started]
        sim_ok = sim.proc.poll() is None
        differs = _differs(url, sim) if sim_ok else ["simulator gone"]
        sim.stop()
    # every worker left cleanly: no holding left, the ledger is the venues' balances
    assert codes[1:] == [0] * (len(codes) - 1), [w.output[-2000:] for w in started]
    assert not differs, differs
    assert all(not a.held for a in asyncio.run(accounts(url)).values())
