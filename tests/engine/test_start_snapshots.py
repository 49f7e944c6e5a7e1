"""Start-up asks each book's snapshot once: a venue whose stream connects while the engine
subscribes (Gate) began syncing its books on connect, and the start's own resync then threw that
sync away and asked again (one REST snapshot per book wasted); venues whose stream carries its own
snapshot (Bybit) need none."""

from __future__ import annotations

from pathlib import Path

from arb.engine.engine import Engine
from tests.engine.test_engine_live import calm_sim, live_config, sim_credentials, wait_for

VENUES = ["binance", "gateio", "mexc", "bybit"]


async def test_every_book_is_synced_from_one_snapshot_at_most(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=5)
    engine = Engine(live_config(urls, tmp_path), credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == engine.summary()["books"] == 8, timeout=30)
        resyncs = {(s.venue, str(s.symbol)): s.resyncs for s in engine.books.all()}
        assert all(n <= 1 for n in resyncs.values()), resyncs
        assert all(n == 1 for (venue, _), n in resyncs.items() if venue != "bybit"), resyncs
    finally:
        await engine.stop()
        await sim.close()
