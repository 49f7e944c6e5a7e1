"""The reconciler's protocol against a real nats-server: it corrects the ledger only when every
member's report is quiet under its pause before and after the balance read, gives up (ledger
untouched) when a member never gets quiet or moved during the read, and trims holdings above the
corrected funds. w1 runs the reconciler as its worker would (its report written every tick); w2 is a
member whose reports the test writes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from decimal import Decimal

import msgspec

from arb.cluster.conn import connect, open_buckets
from arb.cluster.ledger import Ledger
from arb.cluster.reconciler import PAUSE_KEY, QUIET, QUIET_WAIT_LEASES, QuietReport, Reconciler, read_result
from arb.cluster.server import NatsServer
from arb.model import AssetBalance

LEASE_S = 1.0
VENUE, ASSET = "sim", "USDT"


async def _pause(kv: object) -> str:
    try:
        entry = await kv.get(PAUSE_KEY)  # type: ignore[attr-defined]
    except Exception:
        return ""
    return (entry.value or b"").decode()


async def test_the_ledger_is_corrected_only_when_every_member_stayed_quiet_through_the_read(
        nats_server: NatsServer) -> None:
    nc = await connect(nats_server.url, name="test")
    try:
        buckets = await open_buckets(nc.jetstream(), lease_s=LEASE_S)
        ledger = Ledger(buckets.ledger, "w1")
        assert await ledger.seed(VENUE, ASSET, Decimal("100"))
        await ledger.reserve(VENUE, ASSET, Decimal("60"))
        await Ledger(buckets.ledger, "w2").reserve(VENUE, ASSET, Decimal("40"))
        reads = 0

        async def balances() -> Mapping[str, Mapping[str, AssetBalance]]:
            nonlocal reads
            reads += 1
            return {VENUE: {ASSET: AssetBalance(ASSET, Decimal("90"), Decimal("5"))}}

        reconciler = Reconciler("w1", buckets.leases, buckets.state, ledger, lambda: ["w1", "w2"], LEASE_S,
                                balances, lambda: [(VENUE, ASSET)])

        async def w1_ticks() -> None:  # w1's worker loop: its report every tick
            while True:
                await reconciler.tick(0, 0, 0, 0)
                await asyncio.sleep(LEASE_S / 5)

        async def w2_reports(report: Callable[[int, str], QuietReport]) -> None:
            seq = 0
            while True:
                seq += 1
                raw = msgspec.json.encode(report(seq, await _pause(buckets.leases)))
                await buckets.leases.put(QUIET + "w2", raw)
                await asyncio.sleep(LEASE_S / 5)

        async def funds() -> Decimal:
            account, _ = await ledger.read(VENUE, ASSET)
            assert account is not None
            return account.funds

        ticks = asyncio.get_running_loop().create_task(w1_ticks())
        w2: asyncio.Task[None] | None = None

        async def w2_as(report: Callable[[int, str], QuietReport]) -> None:
            nonlocal w2
            if w2 is not None:
                w2.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await w2
            w2 = asyncio.get_running_loop().create_task(w2_reports(report))

        try:
            # w2 keeps a trade in flight: the run waits, gives up, leaves the ledger as it was
            await w2_as(lambda seq, pause: QuietReport("w2", seq, 1, 0, 0, 7, pause))
            began = time.monotonic()
            assert not await reconciler.run()
            assert time.monotonic() - began >= QUIET_WAIT_LEASES * LEASE_S * 0.9
            assert reads == 0 and await funds() == Decimal("100")
            assert await _pause(buckets.leases) == ""  # the pause is lifted
            # w2 is quiet but trades on during the read (its order-change counter moves): gives up
            await w2_as(lambda seq, pause: QuietReport("w2", seq, 0, 0, 0, seq, pause))
            assert not await reconciler.run()
            assert reads == 1 and await funds() == Decimal("100")
            # quiet throughout: funds = free + locked, holdings trimmed proportionally
            await w2_as(lambda seq, pause: QuietReport("w2", seq, 0, 0, 0, 7, pause))
            assert await reconciler.run()
            account, _ = await ledger.read(VENUE, ASSET)
            assert account is not None and account.check()
            assert account.funds == Decimal("95")
            assert account.held == {"w1": Decimal("57"), "w2": Decimal("38")}
            result = await read_result(buckets.state)
            assert (result.gen, result.by, result.diffs) == (1, "w1", {f"{VENUE}.{ASSET}": "-5"})
            assert (reconciler.runs, reconciler.gave_up) == (1, 2)
            assert result.members == ["w1", "w2"]
            # a worker away meanwhile (NATS lost): its fills before the run are in the ledger now
            away = Reconciler("w3", buckets.leases, buckets.state, Ledger(buckets.ledger, "w3"),
                              lambda: ["w1", "w2", "w3"], LEASE_S, None, lambda: [(VENUE, ASSET)])
            key = (VENUE, ASSET)
            pending = {key: Decimal("5")}
            assert await away.counted(pending, {key: result.quiet_ns - 1}) == [key]
            assert await away.counted(pending, {key: result.quiet_ns + 1}) == []  # after the read: settle
            assert await reconciler.counted(pending, {key: 0}) == []  # w1 was in the run
        finally:
            for task in (ticks, w2):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await reconciler.stop()
    finally:
        await nc.close()
