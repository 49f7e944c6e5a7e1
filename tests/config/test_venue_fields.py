"""`[venues.<name>]`: every field of every venue, changed, changes what the engine does on that venue.

Each probe runs for binance, gateio and mexc (the walk names each venue's fields). The engine is
started against the simulator; REST probes go through the connectors the engine built
(`engine.publics` for market data, `engine.privates` in live mode for the signed client) and read
the simulator's side of the wire: connections it saw, requests, upgrades, faults it injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from arb.demo import sim_credentials
from arb.engine.engine import Engine
from arb.errors import ConfigError, ExchangeError
from arb.model import Side
from arb.sim.server import SimExchange
from arb.venues.binance.constants import ws_api_url
from tests.config.support import (
    ALL_VENUES,
    BTC,
    PARTNER,
    Probe,
    Scene,
    build,
    calm_sim,
    peers,
    scene,
    wait_for,
    window,
)


def pair(venue: str | None) -> tuple[str, str]:
    assert venue is not None
    return venue, PARTNER.get(venue, "binance")


def on(venue: str, **table: Any) -> dict[str, Any]:
    return {"venues": {venue: table}}


# --------------------------------------------------------------------------- where the venue is


async def enabled(tmp: Path, venue: str | None) -> None:
    seen = []
    for tables in ({}, on(pair(venue)[0], enabled=False)):
        async with scene(tmp, tables, venues=ALL_VENUES) as sc:
            seen.append({s.venue for s in sc.engine.books.all()})
    assert seen == [set(ALL_VENUES), set(ALL_VENUES) - {venue}]


async def _elsewhere(tmp: Path, venue: str, field: str, count: Callable[[SimExchange], int],
                     target: Callable[[SimExchange], str], live: bool = False) -> list[int]:
    """What a second simulator of `venue` saw: with the engine on the first one, and with `field`
    pointing at the second one."""
    home, other = await calm_sim(pair(venue)), await calm_sim((venue,))
    seen = []
    try:
        async with scene(tmp, {}, sim=home, live=live):  # synced: every connection is made
            seen.append(count(other))
        async with scene(tmp, on(venue, **{field: target(other)}), sim=home, live=live, wait_synced=False):
            await wait_for(lambda: count(other) > 0, 5)
            seen.append(count(other))
    finally:
        await home.close()
        await other.close()
    return seen


async def rest_url(tmp: Path, venue: str | None) -> None:
    v = pair(venue)[0]
    seen = await _elsewhere(tmp, v, "rest_url", lambda s: s.traffic[v].requests, lambda s: s.urls[v][0])
    assert seen[0] == 0 and seen[1] > 0, seen


async def ws_url(tmp: Path, venue: str | None) -> None:
    v = pair(venue)[0]
    seen = await _elsewhere(tmp, v, "ws_url", lambda s: s.traffic[v].upgrades, lambda s: s.urls[v][1])
    assert seen[0] == 0 and seen[1] > 0, seen


async def ws_private_url(tmp: Path, venue: str | None) -> None:
    """Live: the user stream connects where the field points (Binance's WebSocket API, MEXC's user
    stream). Gate.io's private channels ride ws_url, so the field is refused there, by name."""
    v = pair(venue)[0]
    if v == "gateio":
        home = await calm_sim(pair(v))
        try:
            build(tmp, home.urls, {})  # the default passes
            with pytest.raises(ConfigError, match=r"venues\.gateio\.ws_private_url"):
                build(tmp, home.urls, on(v, ws_private_url=home.urls[v][1]))
        finally:
            await home.close()
        return

    def target(sim: SimExchange) -> str:
        return ws_api_url(sim.urls[v][1]) if v == "binance" else sim.urls[v][1]

    home, other = await calm_sim(pair(v)), await calm_sim((v,))
    seen = []
    try:
        for tables in ({}, on(v, ws_private_url=target(other))):
            config = build(tmp, home.urls, {"engine": {"mode": "live", "balance_refresh_s": 60.0}, **tables})
            engine = Engine(config, credentials=sim_credentials(list(config.enabled_venues)))
            try:
                with contextlib.suppress(ExchangeError, asyncio.TimeoutError):
                    await asyncio.wait_for(engine.start(), 5)  # the other simulator has no such account
                if tables:  # the default run has connected its user stream once started
                    await wait_for(lambda: other.traffic[v].upgrades > 0, 3)
                seen.append(other.traffic[v].upgrades)
            finally:
                await engine.stop()
    finally:
        await home.close()
        await other.close()
    assert seen[0] == 0 and seen[1] > 0, seen


async def taker_fee(tmp: Path, venue: str | None) -> None:
    """Paper: the buy leg on the venue pays the configured rate instead of the venue's schedule."""
    v, partner = pair(venue)
    rates = []
    schedule = None
    for tables in ({}, on(v, taker_fee=0.0002)):
        async with scene(tmp, tables, venues=(v, partner)) as sc:
            trades = await window(sc, v, partner)
            assert trades, "the window was not traded"
            buy = trades[0].buy
            assert buy is not None and buy.side is Side.BUY and buy.filled_qty > 0
            paid_on = buy.filled_quote if buy.fee_asset == buy.symbol.quote else buy.filled_qty
            rates.append(float(buy.fee / paid_on))
            info = sc.engine.symbols[(v, BTC)]
            schedule = info.taker_fee if info.taker_fee is not None else 0.001
    assert rates == [pytest.approx(schedule, rel=1e-6), pytest.approx(0.0002, rel=1e-6)]
    assert schedule != pytest.approx(0.0002)


# --------------------------------------------------------------------------- the connection pool


async def _burst(sc: Scene, venue: str, calls: int) -> int:
    """New connections `calls` concurrent market-data reads open on a fresh pool."""
    public = sc.engine.publics[venue]
    await public.rest.drop_pool()  # the next request opens a new pool
    before = peers(sc.sim, venue)
    await asyncio.gather(*(public.server_time() for _ in range(calls)))
    return peers(sc.sim, venue) - before


async def pool_size(tmp: Path, venue: str | None) -> None:
    v, _ = pair(venue)
    opened = []
    for tables in ({}, on(v, connection={"pool_size": 1})):
        async with scene(tmp, tables, venues=pair(v)) as sc:
            opened.append(await _burst(sc, v, 6))
    assert opened == [6, 1]


async def pool_size_per_host(tmp: Path, venue: str | None) -> None:
    v, _ = pair(venue)
    opened = []
    for tables in ({}, on(v, connection={"pool_size_per_host": 1})):
        async with scene(tmp, tables, venues=pair(v)) as sc:
            opened.append(await _burst(sc, v, 6))
    assert opened == [6, 1]


async def dns_cache_ttl_s(tmp: Path, venue: str | None) -> None:
    """With the REST URL on ``localhost``: one lookup serves a later new connection for 300 s by
    default; with 0 every new connection looks the name up again."""
    v, _ = pair(venue)
    home = await calm_sim(pair(v))
    local = "http://localhost:" + home.urls[v][0].rsplit(":", 1)[1]
    loop = asyncio.get_running_loop()
    original = loop.getaddrinfo
    lookups: list[str] = []
    port = int(local.rsplit(":", 1)[1])

    async def counted(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "localhost" and port in (*args[:1], kwargs.get("port")):
            lookups.append(host)
        return await original(host, *args, **kwargs)

    counts = []
    try:
        for ttl in ({}, {"dns_cache_ttl_s": 0}):
            async with scene(tmp, on(v, rest_url=local, connection=ttl), sim=home) as sc:
                public = sc.engine.publics[v]
                await public.rest.drop_pool()
                loop.getaddrinfo = counted  # type: ignore[method-assign]
                try:
                    await public.server_time()  # one connection, one lookup
                    await asyncio.gather(public.server_time(), public.server_time())  # one more connection
                finally:
                    loop.getaddrinfo = original  # type: ignore[method-assign]
                counts.append(len(lookups))
                lookups.clear()
    finally:
        await home.close()
    assert counts == [1, 2]


async def keepalive_timeout_s(tmp: Path, venue: str | None) -> None:
    v, _ = pair(venue)
    opened = []
    for tables in ({}, on(v, connection={"keepalive_timeout_s": 0.1})):
        async with scene(tmp, tables, venues=pair(v)) as sc:
            public = sc.engine.publics[v]
            await public.rest.drop_pool()
            before = peers(sc.sim, v)
            await public.server_time()
            await asyncio.sleep(0.5)  # idle past 0.1 s, well within 30 s
            await public.server_time()
            opened.append(peers(sc.sim, v) - before)
    assert opened == [1, 2]


async def connect_timeout_s(tmp: Path, venue: str | None) -> None:
    """A pool of one connection held 0.8 s by a slow reply: a second read waits for it within the
    default 5 s; with 0.2 s it gives up getting a connection (no retries in this scene)."""
    v, _ = pair(venue)
    scene_tables = {"pool_size": 1}
    results: list[list[Any]] = []
    for extra in ({}, {"connect_timeout_s": 0.2}):
        tables = on(v, connection={**scene_tables, **extra}, market_data={"retries": 0})
        async with scene(tmp, tables, venues=pair(v)) as sc:
            public = sc.engine.publics[v]
            await public.rest.drop_pool()
            plan = sc.sim.faults[v]
            plan.http_methods, plan.slow_reply_ms, plan.slow_replies = frozenset({"GET"}), 800.0, 1
            results.append(list(await asyncio.gather(public.server_time(), public.server_time(),
                                                     return_exceptions=True)))
    kinds = [[isinstance(r, int) for r in run] for run in results]
    assert kinds == [[True, True], [True, False]], results
    assert isinstance(results[1][1], ExchangeError)


# --------------------------------------------------------------------------- requests (market_data, trading)


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        result = await call()
    except ExchangeError as exc:
        result = exc
    return result, time.monotonic() - started


async def _request_probe(tmp: Path, venue: str | None, section: str, scene_kind: dict[str, Any],
                         changed: dict[str, Any], arm: Callable[[Any], None],
                         retry_gap: bool = False) -> list[tuple[Any, float]]:
    """One read of the section's kind (market data: the public connector's server time; trading:
    the signed connector's balances, live) with `arm` applied to the venue's fault plan first; each
    run's (result, seconds it took), or with `retry_gap` (result, seconds between the simulator's
    receiving the first attempt and the retry)."""
    v, _ = pair(venue)
    live = section == "trading"

    async def run(path: Path, extra: dict[str, Any]) -> tuple[Any, float]:
        async with scene(path, on(v, **{section: {**scene_kind, **extra}}), venues=pair(v), live=live) as sc:
            if live:  # the start-up's catch-up reads are over: the fault is the probe's
                await quiet(sc.sim, v)
            arm(sc.sim.faults[v])
            connector: Any = sc.engine.privates[v] if live else sc.engine.publics[v]
            armed = time.monotonic()
            result, took = await _timed(connector.balances if live else connector.server_time)
            if not retry_gap:
                return result, took
            # the wait before the retry as the simulator saw it: from the first attempt's arrival to
            # the retry's (no client start-up, signing or connection set-up in it)
            arrivals = [t for t, _ in sc.sim.traffic[v].recent if t >= armed]
            assert len(arrivals) >= 2, (v, arrivals)
            return result, arrivals[1] - arrivals[0]

    return list(await asyncio.gather(run(tmp / "default", {}), run(tmp / "changed", changed)))


async def quiet(sim: SimExchange, venue: str, for_s: float = 0.3) -> None:
    """Wait until `venue` has seen no request for `for_s` seconds (at most 5 s)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        before = sim.traffic[venue].requests
        await asyncio.sleep(for_s)
        if sim.traffic[venue].requests == before:
            return


def slow(ms: float) -> Callable[[Any], None]:
    def arm(plan: Any) -> None:
        plan.http_methods, plan.slow_reply_ms, plan.slow_replies = frozenset({"GET"}), ms, 1
    return arm


def one_5xx(plan: Any) -> None:
    plan.http_methods, plan.error_status, plan.error_5xx = frozenset({"GET"}), 503, 1


def timeout_probe(section: str, changed_s: float, slow_ms: float) -> Probe:
    async def probe(tmp: Path, venue: str | None) -> None:
        runs = await _request_probe(tmp, venue, section, {"retries": 0}, {"timeout_s": changed_s},
                                    slow(slow_ms))
        assert [isinstance(r, ExchangeError) for r, _ in runs] == [False, True], runs
    return probe


def retries_probe(section: str, changed: int) -> Probe:
    """A 503 on the first read: retried by default on market data (3), not on trading (0)."""
    async def probe(tmp: Path, venue: str | None) -> None:
        runs = await _request_probe(tmp, venue, section, {}, {"retries": changed}, one_5xx)
        failed = [isinstance(r, ExchangeError) for r, _ in runs]
        assert failed == ([False, True] if section == "market_data" else [True, False]), runs
    return probe


def backoff_base_probe(section: str) -> Probe:
    """One 503, one retry: the wait before it is base x [0.5, 1.5): at most 0.3 s by default (0.2 s
    market data, 0.05 s trading), at least 0.6 s from a 1.2 s base."""
    async def probe(tmp: Path, venue: str | None) -> None:
        runs = await _request_probe(tmp, venue, section, {"retries": 1}, {"backoff_base_s": 1.2}, one_5xx,
                                    retry_gap=True)
        assert not any(isinstance(r, ExchangeError) for r, _ in runs), runs
        # the waits: default <= 0.3 s, changed >= 0.6 s (a loaded machine only adds to both)
        assert runs[1][1] >= 0.6 and runs[0][1] < runs[1][1] - 0.15, runs
    return probe


def backoff_max_probe(section: str) -> Probe:
    """One 503, one retry from a 1 s base: the default cap (5 s market data, 1 s trading) lets it
    wait at least 0.5 s; a 0.05 s cap retries at once."""
    async def probe(tmp: Path, venue: str | None) -> None:
        runs = await _request_probe(tmp, venue, section, {"retries": 1, "backoff_base_s": 1.0},
                                    {"backoff_max_s": 0.05}, one_5xx, retry_gap=True)
        assert not any(isinstance(r, ExchangeError) for r, _ in runs), runs
        # the waits: default >= 0.5 s, changed <= 0.05 s (a loaded machine only adds to both)
        assert runs[0][1] >= 0.5 and runs[1][1] < runs[0][1] - 0.2, runs
    return probe


PROBES: dict[str, Probe] = {
    "venues.*.enabled": enabled,
    "venues.*.rest_url": rest_url,
    "venues.*.ws_url": ws_url,
    "venues.*.ws_private_url": ws_private_url,
    "venues.*.taker_fee": taker_fee,
    "venues.*.connection.pool_size": pool_size,
    "venues.*.connection.pool_size_per_host": pool_size_per_host,
    "venues.*.connection.dns_cache_ttl_s": dns_cache_ttl_s,
    "venues.*.connection.keepalive_timeout_s": keepalive_timeout_s,
    "venues.*.connection.connect_timeout_s": connect_timeout_s,
    "venues.*.market_data.timeout_s": timeout_probe("market_data", 1.0, 2000.0),
    "venues.*.market_data.retries": retries_probe("market_data", 0),
    "venues.*.market_data.backoff_base_s": backoff_base_probe("market_data"),
    "venues.*.market_data.backoff_max_s": backoff_max_probe("market_data"),
    "venues.*.trading.timeout_s": timeout_probe("trading", 1.0, 2000.0),
    "venues.*.trading.retries": retries_probe("trading", 2),
    "venues.*.trading.backoff_base_s": backoff_base_probe("trading"),
    "venues.*.trading.backoff_max_s": backoff_max_probe("trading"),
}


# probes that patch the event loop run one venue at a time
ONE_AT_A_TIME = frozenset({"venues.*.connection.dns_cache_ttl_s"})


@pytest.mark.parametrize("field", sorted(PROBES))
async def test_venue_field_changes_behaviour(field: str, tmp_path: Path) -> None:
    """The field's probe on every venue (at once: each has its own simulator and engine)."""
    probe = PROBES[field]
    dirs = {v: tmp_path / v for v in ALL_VENUES}
    if field in ONE_AT_A_TIME:
        results: list[BaseException | None] = []
        for v in ALL_VENUES:
            try:
                results.append(await probe(dirs[v], v))
            except Exception as exc:
                results.append(exc)
    else:
        results = list(await asyncio.gather(*(probe(dirs[v], v) for v in ALL_VENUES), return_exceptions=True))
    failed = {v: r for v, r in zip(ALL_VENUES, results, strict=True) if isinstance(r, BaseException)}
    for venue, error in failed.items():
        print(f"venues.{venue}.{field.split('.', 2)[2]}: {type(error).__name__}: {error}")
    assert not failed, f"{field} made no documented difference on {sorted(failed)} (details above)"

