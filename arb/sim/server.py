"""SimExchange: the market model stepped in real time, each venue dialect served on 127.0.0.1.

Around every dialect's application the server adds, as aiohttp middlewares appended after
``dialect.app()``: traffic counters (requests, TCP connections), the venue's rate limits
(`arb.sim.limits`) and its fault plan (`arb.sim.faults`). The fault injector also sits in the
dialect's `Subscribers` (stream faults), its clock (skew), its matching engine (hidden orders) and
the market model (lagging snapshots); the dialects themselves know nothing about faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final, Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from arb.model import Symbol
from arb.sim.accounts import DEFAULT_ACCOUNTS
from arb.sim.binance import BinanceDialect
from arb.sim.binance import symbol_stream as binance_stream
from arb.sim.bybit import BybitDialect, depth50_topic
from arb.sim.bybit_book import DEPTHS as BYBIT_DEPTHS
from arb.sim.bybit_book import depth_topic as bybit_depth_topic
from arb.sim.faults import FaultInjector, FaultPlan, is_upgrade
from arb.sim.gateio import GateDialect
from arb.sim.limits import DEFAULT_LIMITS, SimLimiter, SimLimits
from arb.sim.market import MarketModel, SimSymbolSpec, VenueParams
from arb.sim.mexc import DEPTH_EVENT as MEXC_DEPTH_EVENT
from arb.sim.mexc import MexcDialect
from arb.sim.okx import OkxDialect
from arb.sim.okx import book_topic as okx_book_topic
from arb.sim.universe import SimUniverse

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Dialect(Protocol):
    """What every venue dialect offers the server."""

    def app(self) -> web.Application: ...


DialectFactory = Callable[..., Dialect]  # (market, clock_ms, *, accounts) -> dialect
DIALECTS: Final[Mapping[str, DialectFactory]] = MappingProxyType(
    {"binance": BinanceDialect, "gateio": GateDialect, "mexc": MexcDialect, "okx": OkxDialect,
     "bybit": BybitDialect}
)
# WebSocket base per venue (the Binance client appends /stream itself)
WS_PATHS: Final = MappingProxyType({"binance": "", "gateio": "/ws/v4/", "mexc": "/ws",
                                    "okx": "/ws/v5/public", "bybit": "/v5/public/spot"})
# each venue's depth topic for a symbol, as its `Subscribers` name it (for `FaultPlan.gap_topic`)
DEPTH_TOPICS: Final[Mapping[str, Callable[[Symbol], str]]] = MappingProxyType({
    "binance": binance_stream,
    "gateio": lambda s: f"{s.base}_{s.quote}",
    "mexc": lambda s: f"{MEXC_DEPTH_EVENT}@{s.base}{s.quote}",
    "okx": okx_book_topic,
    "bybit": depth50_topic,
})
STEP_S = 0.1  # the venues' aggregated depth streams push every 100 ms
RECENT_REQUESTS = 10_000  # per venue, in `Traffic.recent`


class Traffic:
    """REST requests and TCP connections one simulated venue has seen."""

    def __init__(self) -> None:
        self.requests = 0
        self.upgrades = 0
        self.by_route: dict[str, int] = {}  # "METHOD /canonical/path" -> count
        # the latest requests as (monotonic s, "METHOD /route"), for checks of *when* clients sent
        self.recent: deque[tuple[float, str]] = deque(maxlen=RECENT_REQUESTS)
        self._peers: set[object] = set()

    @property
    def connections(self) -> int:
        """Distinct client connections (by peer address) that sent anything."""
        return len(self._peers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.transport is not None:
            self._peers.add(request.transport.get_extra_info("peername"))
        if is_upgrade(request):
            self.upgrades += 1
        else:
            self.requests += 1
            key = f"{request.method} {route_of(request)}"
            self.by_route[key] = self.by_route.get(key, 0) + 1
            self.recent.append((time.monotonic(), key))
        return await handler(request)


def route_of(request: web.Request) -> str:
    """The endpoint a request hit (``/api/v4/spot/orders/{order_id}``), or its path when unrouted."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def limits_middleware(limiter: SimLimiter) -> Middleware:
    @web.middleware
    async def limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_upgrade(request):
            return await handler(request)
        verdict = limiter.check(request, route_of(request))
        if verdict.refusal is not None:
            return verdict.refusal
        response = await handler(request)
        response.headers.update(verdict.headers)
        if verdict.order_headers and 200 <= response.status < 300:
            response.headers.update(verdict.order_headers)
        return response

    return limit


class SimExchange:
    """Run the simulated venues until `close()`; `urls` gives each venue's REST and WS base.

    Parameters
    ----------
    limits:
        Per venue rate limits (`arb.sim.limits.SimLimits`); venues not named get their documented
        defaults, `UNLIMITED` turns them off.
    faults:
        Per venue `FaultPlan`; venues not named get an empty plan. ``sim.faults[venue]`` is the
        live plan: change its fields while running.
    limits_clock:
        Seconds clock of the rate-limit windows (tests share a virtual one with their client).
    accounts:
        API key -> (secret, account name) of the funded accounts (default ``sim-key`` / ``sim-secret``).
    universe:
        The symbols (every venue lists all of them; `default_universe()` when None), or a
        `SimUniverse` with per-venue listings, renamed assets and transfer status
        (`arb.sim.universe.large_universe(venues)`).
    """

    def __init__(
        self,
        venues: Iterable[str] = tuple(DIALECTS),
        *,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        universe: Iterable[SimSymbolSpec] | SimUniverse | None = None,
        step_s: float = STEP_S,
        limits: Mapping[str, SimLimits] | None = None,
        faults: Mapping[str, FaultPlan] | None = None,
        limits_clock: Callable[[], float] = time.time,
        accounts: Mapping[str, tuple[str, str]] = DEFAULT_ACCOUNTS,
    ) -> None:
        names = list(venues)
        unknown = [v for v in names if v not in DIALECTS]
        if unknown:
            raise ValueError(f"no simulator dialect for {unknown} (have {sorted(DIALECTS)})")
        if isinstance(universe, SimUniverse):  # per-venue listings (`arb.sim.universe.large_universe`)
            self.market = MarketModel([VenueParams(v) for v in names], universe.specs, seed=seed,
                                      now_ns=time.time_ns(), listings=universe.listings,
                                      transfers=universe.transfers)
        else:
            self.market = MarketModel([VenueParams(v) for v in names], universe, seed=seed,
                                      now_ns=time.time_ns())
        plans = dict(faults or {})
        self.injectors = {v: FaultInjector(v, plans.get(v) or FaultPlan(seed=seed)) for v in names}
        self.faults: Mapping[str, FaultPlan] = MappingProxyType(
            {v: i.plan for v, i in self.injectors.items()})
        chosen = dict(limits or {})
        self.limiters = {v: SimLimiter(v, chosen.get(v, DEFAULT_LIMITS[v]), clock=limits_clock)
                         for v in names}
        self.traffic = {v: Traffic() for v in names}
        self.dialects = {v: DIALECTS[v](self.market, self.injectors[v].clock_ms, accounts=accounts)
                         for v in names}
        for venue, dialect in self.dialects.items():
            injector = self.injectors[venue]
            subscribers = getattr(dialect, "subscribers", None)
            if subscribers is not None:
                subscribers.faults = injector
            user_subscribers = getattr(getattr(dialect, "user", None), "subscribers", None)
            if user_subscribers is not None:  # a user stream on its own fanout
                user_subscribers.faults = injector.user
            injector.is_user_topic = getattr(dialect, "is_user_topic", injector.is_user_topic)
            matching = getattr(dialect, "matching", None)
            if matching is not None:
                matching.hidden_ms = injector.hidden_ms
                matching.hide_trades = injector.hide_trades
                matching.hidden_min_notional = injector.hidden_min_notional
            self.market.snapshot_lag[venue] = injector.snapshot_lag
            injector.told = self.limiters[venue].tell_wait  # a canned 429 counts toward the 418 ban
        self._host, self._port = host, port
        self._step_s = step_s
        self._runners: list[web.AppRunner] = []
        self._driver: asyncio.Task[None] | None = None
        self.urls: dict[str, tuple[str, str]] = {}

    def __repr__(self) -> str:
        return f"SimExchange(seed={self.market.seed}, venues={list(self.dialects)})"

    async def start(self) -> dict[str, tuple[str, str]]:
        for name, dialect in self.dialects.items():
            app = dialect.app()
            app.middlewares.append(self.traffic[name].middleware)
            app.middlewares.append(limits_middleware(self.limiters[name]))
            app.middlewares.append(self.injectors[name].middleware)
            runner = web.AppRunner(app, access_log=None)
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
        last_kill = {v: time.monotonic() for v in self.dialects}
        while True:
            await asyncio.sleep(self._step_s)
            self.market.step(time.time_ns())
            for venue, plan in self.faults.items():
                every = plan.disconnect_every_s
                if every > 0 and time.monotonic() - last_kill[venue] >= every:
                    last_kill[venue] = time.monotonic()
                    await self.disconnect(venue)

    # ------------------------------------------------------------------ actions for tests and the CLI

    def depth_topic(self, venue: str, symbol: Symbol) -> str:
        """The name `venue`'s stream pushes `symbol`'s depth under (for `FaultPlan.gap_topic`)."""
        return DEPTH_TOPICS[venue](symbol)

    def depth_subscriptions(self) -> dict[str, list[str]]:
        """Per venue, the symbols (canonical text) whose depth stream at least one open socket has
        subscribed: what the clients asked this simulator to stream."""
        out: dict[str, list[str]] = {}
        for venue, dialect in self.dialects.items():
            subscribers = getattr(dialect, "subscribers", None)
            topics = set().union(*subscribers.sockets) if subscribers is not None else set()
            out[venue] = sorted(str(item.symbol) for (v, name), item in self.market.listings.items()
                                if v == venue and not topics.isdisjoint(
                                    [bybit_depth_topic(d, name) for d in BYBIT_DEPTHS] if venue == "bybit"
                                    else [DEPTH_TOPICS[venue](name)]))
        return out

    async def disconnect(self, venue: str) -> int:
        """Close every WebSocket of `venue` from the server side; returns how many were open."""
        subscribers = getattr(self.dialects[venue], "subscribers", None)
        if subscribers is None:
            return 0
        count = len(subscribers.sockets)
        await subscribers.close_all()
        self.injectors[venue].counts.disconnects += count
        return count

    def halt(self, venue: str, symbol: Symbol, halted: bool = True) -> None:
        """Halt (or resume) trading and book updates of `symbol` on `venue`."""
        self.market.halt(venue, symbol, halted)

    def expire_listen_key(self, venue: str, key: str) -> None:
        self.injectors[venue].expire_listen_key(key)

    async def close_driver(self) -> None:
        """Stop moving the market (the venues stay up): tests compare books after quiescence."""
        if self._driver is not None:
            self._driver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._driver
            self._driver = None

    def start_driver(self) -> None:
        """Move the market again after `close_driver()` (no-op while it moves)."""
        if self._driver is None:
            self._driver = asyncio.get_running_loop().create_task(self._drive(), name="sim market")

    async def close(self) -> None:
        await self.close_driver()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()


def parse_sim_urls(items: Sequence[str]) -> dict[str, tuple[str, str]]:
    """``venue=http://127.0.0.1:PORT`` (the WS URL follows the simulator's layout) or ``venue=REST,WS``."""
    out = {}
    for item in items:
        venue, sep, urls = item.partition("=")
        if not sep or venue not in WS_PATHS:
            raise ValueError(f"--sim-url {item!r}: expected VENUE=URL with VENUE one of {sorted(WS_PATHS)}")
        rest, _, ws = urls.partition(",")
        if not rest.startswith(("http://", "https://")) or (ws and not ws.startswith(("ws://", "wss://"))):
            raise ValueError(f"--sim-url {item!r}: expected {venue}=http://HOST:PORT (as `arb-engine sim` "
                             "prints it), or REST,WS URLs")
        out[venue] = (rest.rstrip("/"), ws or rest.rstrip("/").replace("http", "ws", 1) + WS_PATHS[venue])
    return out
