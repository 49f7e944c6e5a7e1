"""SimExchange: the market model stepped in real time, each venue dialect served on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Final, Protocol

from aiohttp import web

from arb.sim.binance import BinanceDialect
from arb.sim.gateio import GateDialect
from arb.sim.market import MarketModel, SimSymbolSpec, VenueParams
from arb.sim.mexc import MexcDialect


class Dialect(Protocol):
    """What every venue dialect offers the server."""

    def app(self) -> web.Application: ...


DialectFactory = Callable[[MarketModel, Callable[[], int]], Dialect]
DIALECTS: Final[Mapping[str, DialectFactory]] = MappingProxyType(
    {"binance": BinanceDialect, "gateio": GateDialect, "mexc": MexcDialect}
)
# WebSocket base per venue (the Binance client appends /stream itself)
WS_PATHS: Final = MappingProxyType({"binance": "", "gateio": "/ws/v4/", "mexc": "/ws"})
STEP_S = 0.1  # the venues' aggregated depth streams push every 100 ms


class SimExchange:
    """Run the simulated venues until `close()`; `urls` gives each venue's REST and WS base."""

    def __init__(
        self,
        venues: Iterable[str] = tuple(DIALECTS),
        *,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        universe: Iterable[SimSymbolSpec] | None = None,
        step_s: float = STEP_S,
    ) -> None:
        names = list(venues)
        unknown = [v for v in names if v not in DIALECTS]
        if unknown:
            raise ValueError(f"no simulator dialect for {unknown} (have {sorted(DIALECTS)})")
        self.market = MarketModel([VenueParams(v) for v in names], universe, seed=seed,
                                  now_ns=time.time_ns())
        self.dialects = {v: DIALECTS[v](self.market, lambda: time.time_ns() // 1_000_000) for v in names}
        self._host, self._port = host, port
        self._step_s = step_s
        self._runners: list[web.AppRunner] = []
        self._driver: asyncio.Task[None] | None = None
        self.urls: dict[str, tuple[str, str]] = {}

    async def start(self) -> dict[str, tuple[str, str]]:
        for name, dialect in self.dialects.items():
            runner = web.AppRunner(dialect.app(), access_log=None)
            await runner.setup()
            port = self._port + len(self._runners) if self._port else 0  # consecutive ports when fixed
            site = web.TCPSite(runner, self._host, port)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._runners.append(runner)
            ws_path = WS_PATHS[name]
            self.urls[name] = (f"http://{self._host}:{port}", f"ws://{self._host}:{port}{ws_path}")
        self._driver = asyncio.get_running_loop().create_task(self._drive(), name="sim market")
        return self.urls

    async def _drive(self) -> None:
        while True:
            await asyncio.sleep(self._step_s)
            self.market.step(time.time_ns())

    async def close_driver(self) -> None:
        """Stop moving the market (the venues stay up): tests compare books after quiescence."""
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None

    async def close(self) -> None:
        await self.close_driver()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
