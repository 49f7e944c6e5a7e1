"""ccxt's request pacing as the bridge configures it: the exchange's rate, on the wall clock.

ccxt's own leaky bucket refills only while its loop runs, so a request's cost used to be paid by
the next request however much later it came (every bridged IOC leg in the demo waited ~200 ms for a
read made seconds before). The bridge's clients are credited for idle time; a burst is still paced;
orders never queue behind the reads' debt. MEXC's market list is its spot call only (ccxt's own also
loads the futures contract list, 100 units of pacing: the five seconds `check ccxt:mexc` used to lose
on every new client).
"""

from __future__ import annotations

import asyncio
import time

from arb.config import MARKET_DATA_PRESET, VenueConfig
from arb.venues.ccxt import exchange as ex

DEBT_UNITS = 40  # Binance: 50 ms a unit, so 2 s of pacing
ORDER_DEBT_UNITS = 4  # 200 ms: far longer than an order takes to go out


async def test_a_request_after_idle_time_does_not_pay_an_old_debt_and_a_burst_is_still_paced() -> None:
    client = ex.new_exchange("binance", VenueConfig(driver="ccxt"), MARKET_DATA_PRESET)
    try:
        debt_s = DEBT_UNITS * client.rateLimit / 1000
        await client.throttle(DEBT_UNITS)  # goes at once, leaves the bucket DEBT_UNITS - 1 in debt
        started = time.monotonic()
        await client.throttle(1)  # right after: pays the debt
        assert time.monotonic() - started >= debt_s * 0.9

        await client.throttle(DEBT_UNITS)
        await asyncio.sleep(debt_s * 1.2)  # idle (ccxt's pacing loop has ended) for longer than the debt
        started = time.monotonic()
        await client.throttle(1)
        assert time.monotonic() - started < debt_s / 2
    finally:
        await client.close()


async def test_mexc_markets_come_from_its_spot_call_only() -> None:
    client = ex.new_exchange("mexc", VenueConfig(driver="ccxt"), MARKET_DATA_PRESET)
    called: list[str] = []

    async def spot(params: dict[str, object] | None = None) -> list[dict[str, object]]:
        called.append("spot")
        return []

    async def swap(params: dict[str, object] | None = None) -> list[dict[str, object]]:
        called.append("swap")
        return []

    client.fetch_spot_markets, client.fetch_swap_markets = spot, swap
    try:
        assert await client.fetch_markets() == [] and called == ["spot"]
    finally:
        await client.close()


async def test_an_order_never_queues_behind_the_reads_debt_and_the_reads_after_it_pay_its_cost() -> None:
    """Orders (requests made under `first_in_line`) go out at once whatever the reads left owing:
    an IOC leg placed right after the engine's start-up reads used to wait ~110 ms behind them."""
    client = ex.new_exchange("binance", VenueConfig(driver="ccxt"), MARKET_DATA_PRESET)
    try:
        await client.throttle(ORDER_DEBT_UNITS)  # goes at once, leaves the bucket in debt
        read = asyncio.ensure_future(client.throttle(1))  # a read: waits for the debt
        await asyncio.sleep(0)
        owed = client.throttler.config["tokens"]
        with ex.first_in_line(client):
            await client.throttle(1)  # an order: no wait
        assert not read.done()  # the order overtook the read queued before it
        assert client.throttler.config["tokens"] == owed - 1  # and its cost is owed by the reads
        await read
        assert not client.throttler.first  # the lane is left when the order is out
    finally:
        await client.close()
