"""The engine's `BookScope` hook (what cluster mode's worker drives from its leases), in the engine as
`run` wires it against the simulator: books exist, stream and sync only for the symbols the scope
wants; `rescope()` adds and drops them while running; a failed subscription is taken back and retried."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from arb.config import default_config
from arb.engine.books import SyncState
from arb.engine.engine import Engine
from arb.model import Symbol
from arb.sim.server import SimExchange

VENUES = ["binance", "gateio", "mexc"]
BTC, ETH = Symbol("BTC", "USDT"), Symbol("ETH", "USDT")
BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("20")}
WAIT_S = 30.0


class Scope:
    def __init__(self) -> None:
        self.symbols: set[Symbol] = set()

    def wants(self, symbol: Symbol) -> bool:
        return symbol in self.symbols


async def wait_for(check: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not check():
        assert loop.time() < deadline, f"not within {WAIT_S:.0f} s: {what}"
        await asyncio.sleep(0.05)


def books(engine: Engine, state: SyncState | None = None) -> set[tuple[str, Symbol]]:
    return {(s.venue, s.symbol) for s in engine.books.all() if state is None or s.state is state}


def on_every_venue(*symbols: Symbol) -> set[tuple[str, Symbol]]:
    return {(v, s) for v in VENUES for s in symbols}


async def test_books_follow_the_scope(tmp_path: Path) -> None:
    sim = SimExchange(VENUES, seed=3)
    urls = await sim.start()
    config = default_config(symbols=[str(BTC), str(ETH)],
                            venues={v: {"rest_url": urls[v][0], "ws_url": urls[v][1]} for v in VENUES},
                            engine={"data_dir": str(tmp_path)})
    engine = Engine(config, paper_balances=BALANCES)
    scope = Scope()
    engine.universe.scope = scope
    try:
        await engine.start()  # wanting nothing: no book, nothing streamed
        assert books(engine) == set() and sim.depth_subscriptions() == {v: [] for v in VENUES}

        scope.symbols.add(BTC)
        engine.universe.rescope()
        await wait_for(lambda: books(engine, SyncState.SYNCED) == on_every_venue(BTC), "BTC books synced")
        assert sim.depth_subscriptions() == {v: [str(BTC)] for v in VENUES}

        # one venue's subscription fails once: its new book is taken back, and added again shortly
        stream = engine.streams["mexc"]
        subscribe = stream.subscribe_depth
        failures: list[Sequence[Symbol]] = []

        async def flaky(symbols: Sequence[Symbol]) -> None:
            if not failures:
                failures.append(symbols)
                raise ConnectionError("refused once")
            await subscribe(symbols)

        stream.subscribe_depth = flaky  # type: ignore[method-assign]
        scope.symbols.add(ETH)
        engine.universe.rescope()
        await wait_for(lambda: books(engine, SyncState.SYNCED) == on_every_venue(BTC, ETH),
                       "ETH books synced after the failed subscription was retried")
        assert failures == [[ETH]]
        assert sim.depth_subscriptions() == {v: [str(BTC), str(ETH)] for v in VENUES}

        scope.symbols.discard(BTC)
        engine.universe.rescope()
        await wait_for(lambda: books(engine) == on_every_venue(ETH), "BTC books dropped")
        await wait_for(lambda: sim.depth_subscriptions() == {v: [str(ETH)] for v in VENUES},
                       "BTC no longer streamed")
        assert engine.detector.has(ETH) and not engine.detector.has(BTC)  # the dropped ones: not evaluated
    finally:
        await engine.stop()
        await sim.close()
