"""The operator tools of `arb-engine`: the simulator, record/replay, the dashboard, symbols, chaos."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path

from arb.cli.common import (
    ExitCode,
    UsageError,
    counting_from,
    non_negative_float,
    port_number,
    positive_float,
    sim_universe,
    simulated_venues,
    since_flag,
    symbol_text,
    universe_flag,
    venue_or_ccxt,
)
from arb.cli.common import (
    fail as _fail,
)
from arb.config import (
    load_config,
)
from arb.errors import ConfigError, ExchangeUnavailableError
from arb.model import Symbol
from arb.venues.ccxt import PREFIX as CCXT_PREFIX
from arb.venues.registry import VENUES


def _sim(args: argparse.Namespace) -> int:
    import asyncio

    from arb.model import Symbol
    from arb.sim.faults import FaultPlan, parse_fault
    from arb.sim.limits import UNLIMITED
    from arb.sim.server import SimExchange

    plans = {venue: FaultPlan(seed=args.seed) for venue in args.venues}
    halts: list[tuple[str, Symbol]] = []
    for spec in args.fault:
        try:
            venue, kind, value = parse_fault(spec)
            if venue not in plans:
                raise ValueError(f"fault {spec!r}: {venue} is not simulated (have {', '.join(args.venues)})")
            if kind == "halt":
                halts.append((venue, Symbol.parse(str(value))))
            else:
                setattr(plans[venue], kind, value)
        except ValueError as exc:
            print(f"arb-engine sim: {exc}", file=sys.stderr)
            return 2
    limits = {venue: UNLIMITED for venue in args.venues} if args.no_limits else None

    async def serve() -> None:
        sim = SimExchange(args.venues, seed=args.seed, port=args.port, faults=plans, limits=limits,
                          accounts={args.api_key: (args.api_secret, "sim")},
                          universe=sim_universe(args.universe, args.venues))
        for venue, symbol in halts:
            sim.halt(venue, symbol)
        urls = await sim.start()
        for venue, (rest, ws) in urls.items():
            print(f"{venue} rest={rest} ws={ws}", flush=True)
        try:
            await asyncio.Event().wait()  # until interrupted
        finally:
            await sim.close()

    from arb.obs.loop import run

    with contextlib.suppress(KeyboardInterrupt):
        run(serve(), args.use_uvloop)
    return 0


def _add_sim(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sim", help="run the loopback exchange simulator until interrupted")
    parser.add_argument("--venues", nargs="+", default=simulated_venues(), choices=simulated_venues(),
                        help="simulated venues (default: all)")
    parser.add_argument("--seed", type=int, default=1, help="market seed (same seed, same market)")
    parser.add_argument("--port", type=port_number, default=0, help="first port (0: any free port)")
    parser.add_argument("--fault", action="append", default=[], metavar="VENUE:KIND[=VALUE]",
                        help="inject a fault, repeatable: a FaultPlan field (VENUE:stall, VENUE:drop=0.1, "
                             "VENUE:clock_skew_ms=-3000) or halt=BASE/QUOTE")
    parser.add_argument("--no-limits", action="store_true", help="do not enforce the venues' rate limits")
    universe_flag(parser)
    parser.add_argument("--api-key", default="sim-key", help="the funded account's API key (default sim-key)")
    parser.add_argument("--api-secret", default="sim-secret",
                        help="the funded account's API secret (default sim-secret)")
    parser.set_defaults(handler=_sim)


def venue_tables(arguments: Sequence[str], *, sim: bool) -> dict[str, dict[str, str]]:
    """Config tables of `symbols --venues`: a registry venue's is empty; ``ccxt:ID`` is driven by the
    bridge, named ID (with `sim`: named after the simulator dialect that speaks it, as in `demo`)."""
    from arb.demo import demo_venues

    if sim:
        return {v.name: {"driver": "ccxt", "exchange": v.exchange} if v.exchange else {}
                for v in demo_venues(arguments)}
    tables: dict[str, dict[str, str]] = {}
    for argument in dict.fromkeys(arguments):
        exchange = argument.removeprefix(CCXT_PREFIX)
        tables[exchange] = {"driver": "ccxt", "exchange": exchange} if exchange != argument else {}
    return tables


def _symbols(args: argparse.Namespace) -> int:
    from arb.config import default_config
    from arb.obs.loop import run
    from arb.ops.symbols import show

    if args.config:
        config = load_config(args.config)
    else:
        venues = args.venues or (simulated_venues() if args.sim else list(VENUES))
        config = default_config(symbols="auto", venues=venue_tables(venues, sim=args.sim))
    universe = sim_universe(args.universe, list(config.enabled_venues))
    shown = show(config, dropped=args.all, json=args.json, sim=universe, use_sim=args.sim)
    return run(shown, args.use_uvloop)


def _add_symbols(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("symbols", help="the pairs symbols = \"auto\" trades: per venue 24 h volume, "
                                            "transfer status, and why the others are dropped")
    parser.add_argument("--config", help="config file (its venues and [universe] filters)")
    parser.add_argument("--venues", nargs="+", type=venue_or_ccxt, metavar="VENUE",
                        help=f"without --config: {', '.join(VENUES)} or ccxt:ID (default: the {len(VENUES)})")
    parser.add_argument("--sim", action="store_true", help="against the in-process loopback simulator "
                                                           "(ccxt:ID through the dialect that speaks it)")
    universe_flag(parser)
    parser.add_argument("--all", action="store_true", help="also list the dropped pairs and why")
    parser.add_argument("--json", action="store_true", help="JSON output")
    parser.set_defaults(handler=_symbols)


def _record(args: argparse.Namespace) -> int:

    from arb.obs.loop import run
    from arb.ops.record import record_main
    from arb.sim.server import parse_sim_urls

    try:
        sim_urls = parse_sim_urls(args.sim_url)
    except ValueError as exc:
        raise UsageError(f"--sim-url: {exc}") from None
    config = load_config(args.config) if args.config else None
    venues = list(sim_urls) if sim_urls else list(config.enabled_venues) if config else args.venues
    symbols = config.symbols if config and not args.symbols else args.symbols or ["BTC/USDT", "ETH/USDT"]
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file, not a directory")
    try:
        manifest = run(record_main(
            args.out, venues, symbols, duration=args.duration, sim=args.sim, sim_urls=sim_urls,
            seed=args.seed, snapshot_every_s=args.snapshot_every, quiet=args.quiet,
            venue_configs=config.enabled_venues if config and not (args.sim or sim_urls) else None),
            args.use_uvloop)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    except ExchangeUnavailableError as exc:
        return _fail(ExitCode.ENVIRONMENT, f"cannot reach {exc.venue} ({exc.message}): no network? "
                                           "`arb-engine record --sim` records the loopback simulator")
    frames = sum(c["TEXT"] + c["BINARY"] for c in manifest.counts.values())
    print(f"recorded {frames:,} frames of {', '.join(manifest.symbols)} on {', '.join(manifest.venues)} "
          f"into {args.out}")
    if not frames:
        print("error: no frames arrived: the venues sent no depth updates (unreachable, or the run was "
              "too short?)", file=sys.stderr)
        return ExitCode.FAILED
    return 0


def _add_record(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("record", help="record raw depth frames and snapshots for replay")
    parser.add_argument("--out", required=True, help="new directory for the recording")
    parser.add_argument("--venues", nargs="+", default=list(VENUES), choices=list(VENUES))
    parser.add_argument("--symbols", nargs="+", type=symbol_text, default=None,
                        help="BASE/QUOTE symbols; default BTC/USDT ETH/USDT (or the config's)")
    parser.add_argument("--duration", type=positive_float, default=None,
                        help="seconds (default: until interrupted)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--sim", action="store_true", help="record the in-process loopback simulator")
    source.add_argument("--sim-url", action="append", default=[], metavar="VENUE=URL",
                        help="a running simulator (`arb-engine sim`) per venue; repeatable")
    source.add_argument("--config", help="venues (URLs) and symbols from a config file")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (with --sim)")
    parser.add_argument("--snapshot-every", type=non_negative_float, default=5.0,
                        help="checkpoint snapshots (s, 0: off)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(handler=_record)


def _replay(args: argparse.Namespace) -> int:
    from arb.ops.replay import main as replay_main
    from arb.ops.replay import parse_speed

    try:
        speed = parse_speed(args.speed)
    except ValueError as exc:
        raise UsageError(f"--speed: {exc}") from None
    config = load_config(args.config) if args.config else None
    return replay_main(args.dir, speed=speed, data_dir=args.data_dir, config=config,
                       drop_every=args.drop_every, quiet=args.quiet)


def _add_replay(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("replay", help="feed a recording through the engine (paper, deterministic)")
    parser.add_argument("dir", help="a directory written by `arb-engine record`")
    parser.add_argument("--speed", default="max", help="N times real time, or max (default)")
    parser.add_argument("--config", help="risk/executor settings (symbols, venues: the recording's)")
    parser.add_argument("--data-dir", default=None,
                        help="keep the journal and state here (default: a temporary dir, removed at the end)")
    parser.add_argument("--drop-every", type=counting_from(0), default=0, metavar="N",
                        help="drop every N-th frame per venue (rehearse gaps and resyncs)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(handler=_replay)


def _top(args: argparse.Namespace) -> int:
    import asyncio

    from arb.ops.top import top

    if not 0 < args.interval <= 0.5:
        print(f"error: --interval {args.interval}: expected 0 < seconds <= 0.5", file=sys.stderr)
        return 2
    if args.cluster:
        from arb.cli.cluster import cluster_top

        return cluster_top(args.cluster, args.interval, args.reason, args.since)
    if args.since:
        raise UsageError("--since needs --cluster URL")
    url = args.url
    if args.config:
        try:
            obs = load_config(args.config).observability
        except ConfigError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if not obs.metrics_port:
            print(f"error: {args.config}: observability.metrics_port is 0 (the engine serves no HTTP)",
                  file=sys.stderr)
            return 2
        url = f"http://{obs.metrics_host}:{obs.metrics_port}"
    if not url.startswith(("http://", "https://")):
        print(f"error: --url {url!r}: expected http://HOST:PORT", file=sys.stderr)
        return 2
    return asyncio.run(top(url, interval=args.interval, reason=args.reason))


def _add_top(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("top", help="live dashboard of a running engine, or of a cluster with --cluster "
                                        "(keys: h halt, r resume, q quit)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", default="http://127.0.0.1:9108",
                       help="the engine's HTTP server (default http://127.0.0.1:9108)")
    where.add_argument("--config", help="the engine's config file (its observability host and port)")
    where.add_argument("--cluster", metavar="URL", default=None,
                       help="every worker of the cluster at this NATS server (h and r halt and resume "
                            "the whole cluster)")
    since_flag(parser, "count fills")
    parser.add_argument("--interval", type=float, default=0.25, help="refresh every N seconds (default 0.25)")
    parser.add_argument("--reason", default="halted from arb-engine top",
                        help="halt reason used when none is typed after h")
    parser.set_defaults(handler=_top)


def _chaos(args: argparse.Namespace) -> int:
    from arb.ops.chaos import main as chaos_main

    return chaos_main(quick=args.quick, seed=args.seed, only=args.only, as_json=args.json, out=args.out)


def _add_chaos(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("chaos", help="fault campaign against the simulator: figures and verdicts")
    parser.add_argument("--quick", action="store_true", help="the CI profile (few trials per row)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the faults and the market")
    parser.add_argument("--only", metavar="ROW[,ROW]", default=None,
                        help="rows: kill, reply, leg, stream, storm, malformed, skew, journal, halt, canary")
    parser.add_argument("--json", action="store_true", help="machine-readable result")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="keep each row's journals and logs here (default: a temp dir)")
    parser.set_defaults(handler=_chaos)
