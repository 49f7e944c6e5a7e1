"""`arb-engine run`: load the config, (optionally) start the simulator, run the engine until stopped.

Paper mode by default. Live trading needs `--live` (or ``engine.mode = "live"``) *and* every enabled
venue's keys in the environment (``ARB_<VENUE>_API_KEY`` / ``_API_SECRET``); with `--sim` the
simulator's funded test account (``sim-key`` / ``sim-secret``) stands in for keys not set. Paper mode
uses keys only to read account data (the transfer status some venues publish only to signed
requests): the simulator's with `--sim`, else any in the environment. When the
venues cannot be reached (no internet here) the engine keeps retrying with backoff and says so on
every attempt.

While it runs, a terminal shows the live view (`arb.ops.view`: books, spreads, trades, balances,
state, connections; 4 Hz from a timer, never from the hot path), piped output a progress line every
few seconds, `--quiet` neither. A run that cannot trade anything (fewer than two venues, no symbol
listed on two of them, empty balances) says why and exits `EXIT_CANNOT_TRADE` (4) unless `--wait`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

import msgspec

from arb.config import Config, load_config
from arb.credentials import Credentials, load_credentials
from arb.demo import sim_credentials, summary_table, trade_lines
from arb.engine.engine import Engine
from arb.engine.preflight import EXIT_CANNOT_TRADE, config_reasons, engine_reasons
from arb.errors import ArbError, AuthenticationError, ConfigError, JournalError
from arb.obs import loop as event_loop
from arb.obs.health import HealthServer
from arb.obs.loop import loop_name
from arb.ops.status import engine_status
from arb.ops.view import ViewMode, choose_mode, engine_controls, show
from arb.sim.server import SimExchange, parse_sim_urls
from arb.sim.universe import SimUniverse, large_universe
from arb.venues.registry import venue_specs

if TYPE_CHECKING:  # cluster mode imports NATS: only when `--cluster` is given
    from arb.cluster.conn import ClusterSettings
    from arb.cluster.worker import ClusterWorker

log = logging.getLogger(__name__)

RETRY_START_S = 1.0
RETRY_MAX_S = 30.0


def _with_sim_urls(config: Config, urls: Mapping[str, tuple[str, str]], *, only: bool = False) -> Config:
    """Point venues at a simulator; with `only`, venues without a URL are disabled (never the real
    venue by accident)."""
    venues = dict(config.venues)
    for name, current in config.enabled_venues.items():
        if name in urls:
            rest, ws = urls[name]
            venues[name] = msgspec.structs.replace(current, rest_url=rest, ws_url=ws)
        elif only:
            venues[name] = msgspec.structs.replace(current, enabled=False)
    return msgspec.structs.replace(config, venues=venues)


def _status(engine: Engine, simulator: SimExchange | None) -> dict[str, Any]:
    """`/status`: the engine's, plus (`--sim`) the depth streams its simulator serves."""
    status = engine_status(engine)
    if simulator is not None:
        status["simulator"] = {"depth_streams": simulator.depth_subscriptions()}
    return status


def _cannot_trade(out: TextIO, reasons: list[str], wait: bool) -> bool:
    """Say why nothing can trade; True when the run should stop (no `--wait`)."""
    for reason in reasons:
        out.write(f"cannot trade: {reason}\n")
    out.write("waiting anyway (--wait)\n" if wait else
              f"exiting ({EXIT_CANNOT_TRADE}); pass --wait to run anyway\n")
    out.flush()
    return not wait


EXIT_ENVIRONMENT = 3  # the CLI's codes (arb.cli.common.ExitCode), which this layer may not import
EXIT_INTERRUPTED = 130


async def run(config: Config, *, sim: bool, duration: float | None, seed: int = 1,
              out: TextIO | None = None, credentials: dict[str, Credentials] | None = None,
              quiet: bool = True, wait: bool = False, universe: SimUniverse | None = None,
              cluster: ClusterSettings | None = None) -> int:
    out = out or sys.stdout  # resolved per call, so a redirected stdout is honoured
    reasons = config_reasons(config)
    if reasons and _cannot_trade(out, reasons, wait):
        return EXIT_CANNOT_TRADE
    simulator = None
    if sim:
        simulator = SimExchange(list(config.enabled_venues), seed=seed, universe=universe)
        urls = await simulator.start()
        config = _with_sim_urls(config, urls)
        for venue, (rest, ws) in urls.items():
            out.write(f"simulated {venue}: rest={rest} ws={ws}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []  # SIGTERM: a clean stop (0); SIGINT: Ctrl-C (130, as documented)

    def stop_on(sig: signal.Signals) -> None:
        received.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop_on, sig)
    delay = RETRY_START_S
    began = time.monotonic()
    engine: Engine | None = None
    health: HealthServer | None = None
    view: asyncio.Task[None] | None = None
    view_stop = asyncio.Event()
    worker: ClusterWorker | None = None
    try:
        while not stop.is_set():
            engine = Engine(config, credentials=credentials, instance=cluster.worker if cluster else "")
            if cluster is not None:
                from arb.cluster import wiring
                from arb.cluster.conn import ClusterError

                try:
                    worker = await wiring.join(cluster, engine)
                except ClusterError as exc:  # before the engine started: nothing traded
                    out.write(f"cannot join the cluster: {exc}\n")
                    await engine.stop()
                    engine = None
                    return 2
            try:
                await engine.start()
                if worker is not None:
                    wiring.attach(worker, engine)
                    out.write(f"cluster worker {worker.worker} joined {worker.settings.url}: trading opens "
                              "once its allocation is confirmed\n")
                break
            except AuthenticationError as exc:  # a refused key does not heal by waiting
                out.write(f"cannot start: {type(exc).__name__}: {exc}\n")
                await engine.stop()
                engine = None
                return 2
            except (sqlite3.DatabaseError, JournalError) as exc:  # nor does a damaged journal
                print(f"error: {config.journal_path} is not a readable arb journal ({exc}); move it aside "
                      "(a new one is started) or set journal.path", file=sys.stderr)
                with contextlib.suppress(Exception):
                    await engine.stop()
                engine = None
                return 3
            except ArbError as exc:
                out.write(f"cannot start against the venues ({exc}); retrying in {delay:.0f} s\n")
                out.flush()
                await engine.stop()
                engine = None
                if worker is not None:
                    await worker.stop()
                    worker = None
                if duration is not None and time.monotonic() - began + delay > duration:
                    out.write("giving up: the run's duration is over\n")
                    return EXIT_ENVIRONMENT  # the venues never let it start
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_S)
        if engine is not None:
            reasons, warnings = engine_reasons(engine)
            if reasons and _cannot_trade(out, reasons, wait):
                await engine.stop()
                engine = None  # nothing ran: no summary table of zeros
                return EXIT_CANNOT_TRADE
            for warning in [] if reasons else warnings:
                out.write(f"warning: {warning}\n")
            out.write(f"running in {config.engine.mode} mode on {', '.join(config.enabled_venues)}; "
                      f"event loop {loop_name()}; journal {config.journal_path}\n")
            log.info("engine %s started: %s mode, venues %s, symbols %s, event loop %s", config.engine.name,
                     config.engine.mode,
                     ", ".join(config.enabled_venues),
                     ", ".join(map(str, engine.universe.symbols() or config.symbol_list)), loop_name())
            obs = config.observability
            if obs.metrics_port:
                health = HealthServer(obs.metrics_host, obs.metrics_port, readiness=engine.readiness,
                                      metrics=engine.metrics.render,
                                      status=functools.partial(_status, engine, simulator),
                                      loop_lag_warn_ms=obs.loop_lag_warn_ms)
                port = await health.start()
                out.write(f"health: http://{obs.metrics_host}:{port}/readyz  metrics: /metrics\n")
                halt, resume = engine_controls(engine)
                health.serve_view(engine.view_snapshot, halt=halt, resume=resume)
            out.flush()
            mode = choose_mode(out, quiet)
            if mode is not ViewMode.OFF:
                view = asyncio.get_running_loop().create_task(
                    show(engine.view_snapshot, out, mode, title=f"arb {config.engine.mode}", stop=view_stop),
                    name="live view")
            started = time.monotonic()
            while not stop.is_set() and (duration is None or time.monotonic() - started < duration):
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        if view is not None:
            view_stop.set()
            with contextlib.suppress(Exception):
                await view
        if health is not None:
            await health.stop()
        if engine is not None:
            await engine.stop()
        if worker is not None:  # after the engine: its last fills settle, then the allocation goes back
            await worker.stop()
            out.write(f"\nCluster\n{worker.summary_text()}\n")
        if engine is not None:
            trades = trade_lines(engine.outcomes, data_dir=config.engine.data_dir)
            out.write(f"\nSummary\n{summary_table(engine.summary())}\n\nTrades\n{trades}\n")
        if simulator is not None:
            await simulator.close()
    if signal.SIGINT in received:
        print("\ninterrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def main(config_path: str, *, live: bool, sim: bool, duration: float | None, seed: int,
         sim_urls: Sequence[str] = (), use_uvloop: bool | None = None, quiet: bool = False,
         wait: bool = False, universe: str = "default", cluster: ClusterSettings | None = None) -> int:
    """`arb-engine run`; `sim_urls` (``VENUE=URL``) point venues at a running `arb-engine sim`;
    `universe` ``"large"``: the in-process simulator (`sim`) lists `large_universe`."""
    try:
        config = load_config(config_path)
        urls = parse_sim_urls(sim_urls)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if urls:
        config = _with_sim_urls(config, urls, only=True)
        sim_accounts = True
    else:
        sim_accounts = sim
    venues = list(config.enabled_venues)
    specs = venue_specs(config.enabled_venues)  # a ccxt venue's fields are ccxt's (a passphrase...)
    try:
        found = {v: c for v in venues if (c := load_credentials(v, fields=specs[v].credentials)) is not None}
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    # paper mode uses keys for read-only account data (signed transfer status): the simulator's own
    # on a simulator, else those in the environment (none: that status is "not published without keys")
    credentials = sim_credentials(venues) if sim_accounts else found
    if live or config.engine.mode == "live":
        if not live:
            print("error: engine.mode is \"live\" in the config: confirm with --live", file=sys.stderr)
            return 2
        credentials = {**sim_credentials(venues), **found} if sim_accounts else found
        missing = [v for v in venues if v not in credentials]
        if missing:
            print(f"error: live trading needs ARB_<VENUE>_API_KEY/_API_SECRET for {missing}", file=sys.stderr)
            return 2
        config = msgspec.structs.replace(
            config, engine=msgspec.structs.replace(config.engine, mode="live"))
    uvloop = config.engine.use_uvloop if use_uvloop is None else use_uvloop
    try:
        listings = large_universe(list(config.enabled_venues)) if universe == "large" else None
        return event_loop.run(run(config, sim=sim, duration=duration, seed=seed, credentials=credentials,
                                  quiet=quiet, wait=wait, universe=listings, cluster=cluster), uvloop)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
