"""What the config probes share: the field walk, the probe registry type, and scenes.

A *scene* is the program wired as `run` wires it: the loopback simulator (calm: only forced windows
trade) and an `Engine` built from a config whose venues point at it, started and synced. A probe
builds one scene with the default value and one with a changed value and asserts the difference the
field is documented to make.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from arb.config import Config, default_config
from arb.credentials import registry_names
from arb.demo import sim_credentials
from arb.engine.engine import Engine
from arb.engine.executor import Outcome, OutcomeStatus
from arb.model import Symbol
from arb.sim.faults import FaultPlan
from arb.sim.server import DIALECTS, SimExchange

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
# a probe gets a fresh directory, and the venue it probes (None outside `venues.*`)
Probe = Callable[[Path, "str | None"], Awaitable[None]]
PARTNER = {"binance": "gateio", "gateio": "binance", "mexc": "binance"}  # the second venue of a scene
# (a venue not listed here pairs with binance)
_serial = itertools.count()


# --------------------------------------------------------------------------- the walk


def _unannotated(tp: Any) -> Any:
    return typing.get_args(tp)[0] if typing.get_origin(tp) is typing.Annotated else tp


def _struct_of(tp: Any) -> type[msgspec.Struct] | None:
    """The Struct a field holds (through ``Annotated`` and ``X | None``), else None."""
    if typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    for arg in (tp, *typing.get_args(tp)):
        if isinstance(arg, type) and issubclass(arg, msgspec.Struct):
            return arg
    return None


def leaf_fields(struct: type[msgspec.Struct] = Config, prefix: str = "") -> Iterator[str]:
    """Dotted name of every leaf field reachable from `struct` (each venue's table walked on its own)."""
    for field in msgspec.structs.fields(struct):
        name = f"{prefix}{field.name}"
        inner = _struct_of(field.type)
        if typing.get_origin(_unannotated(field.type)) is dict and inner is not None:
            for venue in registry_names():  # the venues section: one table per registry venue
                yield from leaf_fields(inner, f"{name}.{venue}.")
        elif inner is None:
            yield name
        else:
            yield from leaf_fields(inner, f"{name}.")


def pattern(field: str) -> str:
    """``venues.gateio.trading.retries`` -> ``venues.*.trading.retries`` (one probe serves every venue)."""
    parts = field.split(".")
    if len(parts) > 2 and parts[0] == "venues":
        parts[1] = "*"
    return ".".join(parts)


def venue_of(field: str) -> str | None:
    parts = field.split(".")
    return parts[1] if parts[0] == "venues" and len(parts) > 2 else None


# --------------------------------------------------------------------------- configs


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it, tables merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def data_dir(tmp: Path) -> str:
    path = tmp / f"data-{next(_serial)}"
    return str(path)


def build(tmp: Path, urls: Mapping[str, tuple[str, str]], tables: Mapping[str, Any],
          symbols: tuple[str, ...] = ("BTC/USDT",)) -> Config:
    """A config whose venues point at the simulator, `tables` (TOML-like sections) laid over it."""
    venues = {v: {"rest_url": rest, "ws_url": ws} for v, (rest, ws) in urls.items()}
    raw = merge({"venues": venues, "engine": {"data_dir": data_dir(tmp)}}, tables)
    return default_config(symbols=list(symbols), **raw)


# --------------------------------------------------------------------------- scenes


async def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    """True as soon as `condition()` holds; False when `timeout` seconds passed without it."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def calm_sim(venues: tuple[str, ...], faults: Mapping[str, FaultPlan] | None = None) -> SimExchange:
    sim = SimExchange(list(venues), seed=7, step_s=0.05, faults=faults)
    await sim.start()
    for params in list(sim.market.venues.values()):  # no noise, no jumps: only forced windows trade
        sim.market.venues[params.name] = type(params)(params.name, noise_bps=0.0, jump_rate_per_s=0.0)
    return sim


class Scene(NamedTuple):
    sim: SimExchange
    engine: Engine


def synced(engine: Engine) -> bool:
    books = list(engine.books.all())
    return bool(books) and all(engine.books.is_synced(s.venue, s.symbol) for s in books) and (
        not engine.live or engine.readiness()[0])


@asynccontextmanager
async def scene(tmp: Path, tables: Mapping[str, Any] | None = None, *,
                venues: tuple[str, ...] = ("binance", "gateio"), symbols: tuple[str, ...] = ("BTC/USDT",),
                live: bool = False, sim: SimExchange | None = None, wait_synced: bool = True,
                config: Config | None = None, keys: bool | None = None) -> AsyncIterator[Scene]:
    """The engine built from `tables` over the defaults, started against a calm simulator; `keys`:
    give it the simulator's keys (default: when live; paper mode reads signed account data with them)."""
    own = sim is None
    exchange = sim if sim is not None else await calm_sim(venues)
    extra = merge({"engine": {"mode": "live", "balance_refresh_s": 60.0}} if live else {}, tables or {})
    cfg = config if config is not None else build(tmp, exchange.urls, extra, symbols)
    keyed = live if keys is None else keys
    engine = Engine(cfg, credentials=sim_credentials(list(cfg.enabled_venues)) if keyed else None)
    try:
        await engine.start()
        if wait_synced:
            assert await wait_for(lambda: synced(engine), 20), "the scene's books never synced"
        yield Scene(exchange, engine)
    finally:
        await engine.stop()
        if own:
            await exchange.close()


def traded(engine: Engine) -> list[Outcome]:
    return [o for o in engine.outcomes if o.status is not OutcomeStatus.REJECTED]


async def window(sc: Scene, buy: str, sell: str, *, net_bps: float = 20.0, duration_s: float = 0.6,
                 symbol: Symbol = BTC, settle_s: float | None = None) -> list[Outcome]:
    """Open a forced window (buy on `buy`, sell on `sell`); wait for a trade (or `settle_s`), then
    for the executions in flight; returns the trades."""
    sc.sim.market.open_window(symbol, buy, sell, net_bps=net_bps, duration_ns=int(duration_s * 1e9))
    if settle_s is None:
        await wait_for(lambda: bool(traded(sc.engine)), 10)
    else:
        await asyncio.sleep(settle_s)
    await asyncio.wait_for(sc.engine.drain(), 20)
    return traded(sc.engine)


def peers(sim: SimExchange, venue: str) -> int:
    """Distinct client connections `venue`'s simulator has seen."""
    return sim.traffic[venue].connections


ALL_VENUES = tuple(v for v in registry_names() if v in DIALECTS)  # the simulator serves them
