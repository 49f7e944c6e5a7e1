"""Safety on the live path, with the engine wired as `run` wires it against the simulator.

- A venue's circuit opens after its orders fail, /readyz says so, and after the cooldown the next
  opportunity is its half-open trial: the trade goes through and the circuit closes (the detector's
  gate asking about the circuit on every book update must not spend the trial).
- One venue, one rate budget: a 429 with Retry-After on the market-data client pauses the signed
  client too (the simulator bans an IP that sends inside a Retry-After: it must not).
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from arb.engine.engine import Engine
from arb.engine.executor import OutcomeStatus
from arb.engine.journal import Journal
from arb.engine.risk import CircuitState
from arb.model import OrderStatus, OrderType, Side, Symbol, TimeInForce
from arb.obs.health import HealthServer
from arb.sim.faults import Reply
from arb.sim.limits import LimitRule, SimLimits
from tests.engine.test_engine_live import VENUES, calm_sim, live_config, sim_credentials, wait_for
from tests.engine.test_live_faults import assert_consistent

BTC = Symbol("BTC", "USDT")
# a plain refusal (a "trading disabled" one would also halt the symbol on that venue)
REFUSED = '{"code":30004,"msg":"Insufficient position"}'


async def _readyz(port: int) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as r:
        return r.status, await r.json()


async def _risk_events(path: Path) -> list[tuple[str, str, str]]:
    journal = Journal(path / "journal.sqlite")
    await journal.open(mode="live", version="t", now_ns=1)
    try:
        rows = await journal.query("SELECT kind, venue, detail FROM risk_events ORDER BY id")
    finally:
        await journal.close()
    return [(r[0], r[1], r[2]) for r in rows]


async def test_a_failing_venue_opens_its_circuit_and_the_trial_after_the_cooldown_closes_it(
        tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=31)
    config = live_config(urls, tmp_path)
    config = msgspec.structs.replace(config, risk=msgspec.structs.replace(
        config.risk, max_consecutive_failures=3, circuit_cooldown_s=1.0))
    engine = Engine(config, credentials=sim_credentials(VENUES))
    health = HealthServer("127.0.0.1", 0, readiness=engine.readiness, metrics=engine.metrics.render)
    try:
        await engine.start()
        port = await health.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4)
        assert (await _readyz(port))[0] == 200
        # each window's sell leg and its residual's first try on mexc are refused (the residual is
        # then sold on binance): the third refusal opens the circuit, the fourth (its residual's
        # try, which does not ask the circuit) reopens it
        sim.faults["mexc"].replies.extend(Reply(400, REFUSED, method="POST") for _ in range(4))
        for _ in range(4):
            done = len(engine.outcomes)
            sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
            await wait_for(lambda done=done: len(engine.outcomes) > done and not engine._tasks,  # type: ignore[misc]
                           timeout=20)
            if engine.risk.circuit("mexc") is not CircuitState.CLOSED:
                break
        assert not sim.faults["mexc"].replies  # every refusal was spent on an order
        assert engine.risk.state.name == "ACTIVE", engine.risk.reason  # residuals were closed
        # open now (or already cooled down to half-open, on a slow machine): /readyz names it
        status, body = await _readyz(port)
        assert engine.risk.circuit("mexc") is not CircuitState.CLOSED
        assert status == 503 and any(r.startswith("circuits: mexc") for r in body["reasons"]), body
        await wait_for(lambda: engine.risk.circuit("mexc") is CircuitState.HALF_OPEN, timeout=5)
        before = len(engine.outcomes)
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: any(o.status is OutcomeStatus.FILLED for o in list(engine.outcomes)[before:])
                       and not engine._tasks, timeout=20)
        trial = next(o for o in list(engine.outcomes)[before:] if o.status is OutcomeStatus.FILLED)
        assert trial.sell is not None and trial.sell.status is OrderStatus.FILLED
        assert trial.sell.venue == "mexc"
        assert engine.risk.circuit("mexc") is CircuitState.CLOSED
        status, body = await _readyz(port)
        assert not any(r.startswith("circuits") for r in body["reasons"]), body
    finally:
        await health.stop()
        await engine.stop()
        await sim.close()
    await assert_consistent(sim, engine, tmp_path)  # journal == the simulator's ledger
    kinds = [(kind, venue) for kind, venue, _ in await _risk_events(tmp_path) if venue == "mexc"]
    assert kinds[0] == ("CIRCUIT_OPEN", "mexc") and kinds[-1] == ("CIRCUIT_CLOSED", "mexc"), kinds
    assert ("CIRCUIT_TRIAL", "mexc") in kinds


async def test_a_429_on_the_market_data_client_pauses_the_signed_client_too(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=7)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    limiter = sim.limiters["binance"]
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4 and all(engine.user_streams.values())
                       and not engine._checks)  # quiet: the user streams' catch-up reads are done
        # a tight budget from now on (3 s windows; the client's pools think 6000 a minute), and
        # the first request sent inside a Retry-After bans the IP
        limiter.limits = SimLimits(rules=(LimitRule("weight", 100, 3.0),), ban_after=1, ban_s=30.0)
        public, private = engine.publics["binance"], engine.privates["binance"]

        async def snapshots() -> None:
            for _ in range(3):  # depth 1000 weighs 50: the third one is over
                await public.orderbook(BTC, 1000)

        reads = asyncio.create_task(snapshots())
        rest: Any = public.rest  # type: ignore[attr-defined]
        await wait_for(lambda: rest.limiter.rate_limited >= 1, timeout=10)  # a client has the 429
        assert limiter.throttled == 1 and rest.metrics.rate_limited == 1  # and it was this one
        told_until = limiter._told_until["127.0.0.1"]
        info = engine.symbols[("binance", BTC)]
        book = engine.books.book("binance", BTC)
        bid = book.best_bid()
        assert bid is not None
        low = (Decimal(repr(bid[0])) / 2 // info.tick_size) * info.tick_size  # rests nowhere: IOC expires
        # an order on the signed client (the incident: POST /api/v3/order 1.3 s into a 22 s wait)
        placed = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), "rl-probe",
                                           low, TimeInForce.IOC)
        reads.cancel()  # the snapshots wait for the slowed pools to refill: not what is tested
        with contextlib.suppress(asyncio.CancelledError):
            await reads
        exposition = engine.metrics.render().decode()
    finally:
        await engine.stop()
        await sim.close()
    assert placed.client_order_id == "rl-probe" and not placed.filled_qty
    throttled_at = next(t for t, _, status in limiter.log if status == 429)
    inside = [(round(t - throttled_at, 3), route, status) for t, route, status in limiter.log
              if throttled_at < t < told_until]
    assert not inside, inside  # no client of the venue sent anything during Retry-After
    assert limiter.bans == 0 and limiter.banned_replies == 0
    sent = [t for t, route, _ in limiter.log if route == "POST /api/v3/order"]
    assert len(sent) == 1 and sent[0] >= told_until
    assert engine.publics["binance"].rest.limiter is engine.privates["binance"].rest.limiter  # type: ignore[attr-defined]
    headroom = [line for line in exposition.splitlines()
                if line.startswith('arb_ratelimit_headroom_ratio{pool="weight",venue="binance"}')]
    assert len(headroom) == 1, headroom  # one budget, one series
