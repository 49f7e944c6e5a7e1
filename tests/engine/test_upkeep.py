"""The engine's periodic chores through an engine wired as `run` wires it (issue 11, item 1).

- the stale-book watchdog resyncs the books of a stream that stalled (sockets up, no data);
- a symbol the venue halted is gated after the refusal that says so, and traded again once the
  venue's rules list it as trading;
- live taker fees are re-read and a changed rate reaches the detector's kernel.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from arb.config import default_config
from arb.engine.engine import Engine
from arb.engine.reasons import Gate
from arb.model import Symbol
from arb.sim.faults import Reply
from arb.sim.server import SimExchange
from tests.engine.test_engine_live import calm_sim, live_config, sim_credentials, wait_for

BTC = Symbol("BTC", "USDT")
VENUES = ["binance", "mexc"]


async def test_a_stalled_stream_s_books_are_resynced_by_the_watchdog(tmp_path: Path) -> None:
    sim = SimExchange(VENUES, seed=71, step_s=0.05)  # a moving market: books change all the time
    urls = await sim.start()
    config = default_config(
        symbols=["BTC/USDT", "ETH/USDT"],
        venues={v: {"rest_url": u[0], "ws_url": u[1]} for v, u in urls.items()},
        engine={"data_dir": str(tmp_path), "stale_book_s": 1.0},
    )
    engine = Engine(config, paper_balances={"USDT": Decimal("10000"), "BTC": Decimal("1"),
                                            "ETH": Decimal("10")})
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4, timeout=30)
        before = {(s.venue, str(s.symbol)): s.resyncs for s in engine.books.all()}
        sim.faults["binance"].stall = True  # pings answered, no data
        await wait_for(lambda: engine.upkeep.stale_resyncs >= 2, timeout=10)
        after = {(s.venue, str(s.symbol)): s.resyncs for s in engine.books.all()}
        assert all(after[k] > before[k] for k in after if k[0] == "binance")
        assert all(after[k] == before[k] for k in after if k[0] == "mexc")  # its stream kept flowing
    finally:
        await engine.stop()
        await sim.close()


async def test_a_halted_symbol_is_gated_then_traded_again(tmp_path: Path) -> None:
    """mexc refuses the sell with its 'trading suspended' code and its rules list BTC/USDT halted:
    the symbol is gated on mexc (no order goes there) until the rules say it trades again."""
    sim, urls = await calm_sim(VENUES, seed=72)
    engine = Engine(_with_engine(live_config(urls, tmp_path), stale_book_s=2.0),
                    credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        await wait_for(lambda: engine.summary()["books_synced"] == 4 and engine.readiness()[0], timeout=30)
        sim.faults["mexc"].replies.append(Reply(400, '{"code":30016,"msg":"trading is suspended"}',
                                                method="POST"))
        sim.market.open_window(BTC, "binance", "mexc", net_bps=25.0, duration_ns=800_000_000)
        await wait_for(lambda: ("mexc", BTC) in engine.upkeep.halted, timeout=20)
        sim.halt("mexc", BTC)  # what the venue's rules now say
        await wait_for(lambda: engine.detector.funnel.gates.get(Gate.SYMBOL_HALTED, 0) > 0, timeout=10)
        await wait_for(lambda: not engine._tasks, timeout=20)
        sells = [o for o in _orders(sim, "mexc")]
        assert not sells  # the refused sell never reached the book; nothing was sent to mexc since
        sim.halt("mexc", BTC, False)  # trading again: the rules say so within stale_book_s
        await wait_for(lambda: ("mexc", BTC) not in engine.upkeep.halted, timeout=10)
        assert ("mexc", BTC) not in engine.detector._halted
    finally:
        await engine.stop()
        await sim.close()


def _orders(sim: SimExchange, venue: str) -> list[Any]:
    return list(sim.dialects[venue].matching.orders.values())  # type: ignore[attr-defined]


def _with_engine(config: Any, **fields: Any) -> Any:
    return msgspec.structs.replace(config, engine=msgspec.structs.replace(config.engine, **fields))


async def test_a_changed_taker_fee_reaches_the_kernel(tmp_path: Path) -> None:
    sim, urls = await calm_sim(VENUES, seed=73)
    engine = Engine(_with_engine(live_config(urls, tmp_path), fee_refresh_s=0.3),
                    credentials=sim_credentials(VENUES))
    try:
        await engine.start()
        matching: Any = sim.dialects["mexc"].matching  # type: ignore[attr-defined]
        assert engine.fees[("mexc", BTC)] == float(matching.taker_fee)
        matching.taker_fee = Decimal("0.0035")  # the account moved to another fee tier
        await wait_for(lambda: engine.fees[("mexc", BTC)] == 0.0035, timeout=10)
        market = engine.detector._markets[BTC]
        assert market.fees[market.index["mexc"]] == 0.0035
    finally:
        await engine.stop()
        await sim.close()
