"""The shared ledger against a real JetStream server: compare-and-set on revisions means many
workers racing for more than the funds never hold more than the funds, at any revision."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import nats.errors

from arb.cluster.conn import connect, open_buckets
from arb.cluster.ledger import Account, Ledger, decode_account, ledger_key
from arb.cluster.server import NatsServer

FUNDS = Decimal("1000")
WORKERS = 8


async def test_workers_racing_for_more_than_the_funds_never_hold_more_than_the_funds(
        nats_server: NatsServer) -> None:
    clients = [await connect(nats_server.url, name=f"w{i}") for i in range(WORKERS)]
    try:
        buckets = [await open_buckets(nc.jetstream(), lease_s=3.0) for nc in clients]
        ledgers = [Ledger(b.ledger, f"w{i}") for i, b in enumerate(buckets)]
        assert await ledgers[0].seed("sim", "USDT", FUNDS)
        assert not await ledgers[1].seed("sim", "USDT", FUNDS * 2)  # seeded once, by the first
        # every revision, as it is written, seen by a watcher started before the race
        seen: list[tuple[int, Account]] = []
        watcher = await buckets[0].ledger.watch(ledger_key("sim", "USDT"))
        rng = random.Random(7)
        granted = {f"w{i}": Decimal(0) for i in range(WORKERS)}

        async def worker(ledger: Ledger) -> None:
            for _ in range(12):  # 8 workers x 12 x ~25 asked: ~2400, more than twice the funds
                want = Decimal(rng.randint(5, 45))
                granted[ledger.worker] += await ledger.reserve("sim", "USDT", want)
                if rng.random() < 0.3:  # some give part back, so the race goes on past exhaustion
                    back = granted[ledger.worker] // 3  # whole units: sums stay exact
                    granted[ledger.worker] -= await ledger.give_back("sim", "USDT", back)

        await asyncio.gather(*(worker(ledger) for ledger in ledgers))
        final, revision = await ledgers[0].read("sim", "USDT")
        assert final is not None
        while not seen or seen[-1][0] < revision:
            try:
                entry = await watcher.updates(timeout=5.0)
            except nats.errors.TimeoutError:
                break
            if entry is not None:
                seen.append((int(entry.revision or 0), decode_account(entry.value)))
        await watcher.stop()
    finally:
        for nc in clients:
            await nc.close()
    conflicts = sum(ledger.conflicts for ledger in ledgers)
    assert conflicts > 0, "the workers never raced: the test proves nothing"
    assert seen[-1][0] == revision and len(seen) > WORKERS * 12 // 2
    assert all(account.check() for _, account in seen), [a for _, a in seen if not a.check()][:3]
    assert final.funds == FUNDS
    assert sum(final.held.values()) == sum(granted.values()) <= FUNDS
    assert {w: v for w, v in granted.items() if v} == final.held
    assert final.free == FUNDS - sum(granted.values())
    assert any(account.free == 0 for _, account in seen), "the funds never ran out: no contention for them"


async def test_fills_settle_into_the_funds_and_departed_holdings_are_reclaimed(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, name="t")
    try:
        kv = (await open_buckets(nc.jetstream(), lease_s=3.0)).ledger
        a, b = Ledger(kv, "a"), Ledger(kv, "b")
        await a.seed("sim", "BTC", Decimal("2"))
        assert await a.reserve("sim", "BTC", Decimal("1.5")) == Decimal("1.5")
        assert await b.reserve("sim", "BTC", Decimal("1.5")) == Decimal("0.5")  # only what is free
        assert await b.reserve("sim", "BTC", Decimal("1")) == 0
        account = await a.settle("sim", "BTC", Decimal("-0.25"))  # a sold 0.25 BTC
        assert account == Account(Decimal("1.75"), {"a": Decimal("1.25"), "b": Decimal("0.5")})
        account = await b.settle("sim", "BTC", Decimal("0.1"))  # b bought 0.1 BTC
        assert account == Account(Decimal("1.85"), {"a": Decimal("1.25"), "b": Decimal("0.6")})
        assert await b.reclaim("sim", "BTC", {"a"}) == Decimal("1.25")
        final, _ = await a.read("sim", "BTC")
        assert final == Account(Decimal("1.85"), {"b": Decimal("0.6")})
        assert await a.give_back("sim", "BTC", Decimal("1")) == 0  # a holds nothing any more
    finally:
        await nc.close()
