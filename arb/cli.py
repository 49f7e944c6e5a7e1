"""`arb-engine`: parse arguments, call library functions, print. No logic of its own.

Each subcommand is one `_add_<name>` function that adds its parser and sets `handler`; later
commands (run, demo, sim, status, ...) plug in the same way via `COMMANDS`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import arb
from arb.config import config_schema, describe, load_config
from arb.engine.risk import TradingState, read_state, state_path, write_state
from arb.errors import ConfigError

Handler = Callable[[argparse.Namespace], int]


def _config_validate(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    venues = ", ".join(config.enabled_venues)
    print(f"ok: {args.file}: mode={config.engine.mode} venues=[{venues}] symbols={config.symbols}")
    return 0


def _config_schema(args: argparse.Namespace) -> int:
    print(json.dumps(config_schema(), indent=2, sort_keys=True))
    return 0


def _config_show(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(describe(config), indent=2, default=str))
    return 0


def _add_config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", help="validate, show or describe configuration files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    validate = actions.add_parser("validate", help="check a config file; exit 2 naming the bad field")
    validate.add_argument("file")
    validate.set_defaults(handler=_config_validate)
    show = actions.add_parser("show", help="the effective config after environment overrides")
    show.add_argument("file")
    show.set_defaults(handler=_config_show)
    schema = actions.add_parser("schema", help="print the JSON Schema of the config file")
    schema.set_defaults(handler=_config_schema)


def _state_file(args: argparse.Namespace) -> Path:
    data_dir = load_config(args.config).engine.data_dir if args.config else args.data_dir
    return state_path(data_dir)


def _halt(args: argparse.Namespace) -> int:
    path = _state_file(args)
    write_state(path, TradingState.HALTED, args.reason, time.time_ns())
    print(f"HALTED ({args.reason}): {path}")
    return 0


def _resume(args: argparse.Namespace) -> int:
    path = _state_file(args)
    state, reason = read_state(path)
    write_state(path, TradingState.ACTIVE, "", time.time_ns())
    print(f"ACTIVE (was {state.name}{': ' + reason if reason else ''}): {path}")
    return 0


def _add_state_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, handler, text in (
        ("halt", _halt, "stop all trading; persisted until `arb-engine resume`"),
        ("resume", _resume, "clear a HALT and allow trading again"),
    ):
        parser = sub.add_parser(name, help=text)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--config", help="config file whose engine.data_dir holds the state")
        where.add_argument("--data-dir", default="./arb-data", help="engine data dir (default ./arb-data)")
        if name == "halt":
            parser.add_argument("--reason", default="operator halt", help="recorded with the state")
        parser.set_defaults(handler=handler)


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
                          accounts={args.api_key: (args.api_secret, "sim")})
        for venue, symbol in halts:
            sim.halt(venue, symbol)
        urls = await sim.start()
        for venue, (rest, ws) in urls.items():
            print(f"{venue} rest={rest} ws={ws}", flush=True)
        try:
            await asyncio.Event().wait()  # until interrupted
        finally:
            await sim.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


def _add_sim(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("sim", help="run the loopback exchange simulator until interrupted")
    parser.add_argument("--venues", nargs="+", default=["binance", "gateio", "mexc"],
                        choices=["binance", "gateio", "mexc"], help="simulated venues")
    parser.add_argument("--seed", type=int, default=1, help="market seed (same seed, same market)")
    parser.add_argument("--port", type=int, default=0, help="first port (0: any free port)")
    parser.add_argument("--fault", action="append", default=[], metavar="VENUE:KIND[=VALUE]",
                        help="inject a fault, repeatable: a FaultPlan field (binance:stall, mexc:drop=0.1, "
                             "gateio:clock_skew_ms=-3000) or halt=BASE/QUOTE")
    parser.add_argument("--no-limits", action="store_true", help="do not enforce the venues' rate limits")
    parser.add_argument("--api-key", default="sim-key", help="the funded account's API key (default sim-key)")
    parser.add_argument("--api-secret", default="sim-secret",
                        help="the funded account's API secret (default sim-secret)")
    parser.set_defaults(handler=_sim)


def _run(args: argparse.Namespace) -> int:
    from arb.runner import main as run_main

    return run_main(args.config, live=args.live, sim=args.sim, duration=args.duration, seed=args.seed,
                    sim_urls=args.sim_url)


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", help="run the engine from a config file (paper unless --live)")
    parser.add_argument("--config", required=True, help="TOML config file")
    parser.add_argument("--live", action="store_true", help="real orders (keys from the environment)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--sim", action="store_true", help="start the loopback simulator and use it")
    target.add_argument("--sim-url", action="append", default=[], metavar="VENUE=URL",
                        help="a running simulator (`arb-engine sim`) per venue; repeatable; "
                             "venues not named are left out")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (with --sim)")
    parser.set_defaults(handler=_run)


def _check(args: argparse.Namespace) -> int:
    from arb.check import main as check_main

    return check_main(args.venue, args.live, args.json, sim_url=args.sim_url)


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("check", help="run the conformance checks for a venue (simulator or --live)")
    parser.add_argument("venue", choices=["binance", "gateio", "mexc"])
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--live", action="store_true", help="the real venue (keys from the environment)")
    target.add_argument("--sim-url", metavar="URL", default=None,
                        help="a running simulator's base URL for this venue (default: start one in-process)")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.set_defaults(handler=_check)


def _report(args: argparse.Namespace) -> int:
    from arb.config import default_config
    from arb.reports import main as report_main

    try:
        config = load_config(args.config) if args.config else default_config(
            engine={"data_dir": args.data_dir})
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    fmt = "json" if args.json else "csv" if getattr(args, "csv", False) else "table"
    return report_main(args.command, config, fmt, getattr(args, "limit", 50))


def _add_reports(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in (("status", "the running engine's state, else what its journal holds"),
                       ("history", "recent opportunities and what was decided"),
                       ("pnl", "realised PnL per symbol from the journaled fills")):
        parser = sub.add_parser(name, help=text)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--config", help="config file (its journal and metrics port)")
        where.add_argument("--data-dir", default="./arb-data", help="engine data dir (default ./arb-data)")
        parser.add_argument("--json", action="store_true", help="JSON output")
        if name != "status":
            parser.add_argument("--csv", action="store_true", help="CSV output")
        if name == "history":
            parser.add_argument("--limit", type=int, default=50)
        parser.set_defaults(handler=_report)


def _demo(args: argparse.Namespace) -> int:
    from arb.demo import main as demo_main

    return demo_main(args.duration, args.venues, args.symbols, args.seed, args.data_dir)


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("demo", help="run the simulator on loopback and the engine against it (paper)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds to run (default 15)")
    parser.add_argument("--venues", nargs="+", default=["binance", "gateio", "mexc"],
                        choices=["binance", "gateio", "mexc"])
    parser.add_argument("--symbols", nargs="+", default=["BTC/USDT", "ETH/USDT", "SOL/USDT"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", default=None, help="journal and state (default: a temp dir)")
    parser.set_defaults(handler=_demo)


def _record(args: argparse.Namespace) -> int:
    import asyncio

    from arb.ops.record import record_main
    from arb.sim.server import parse_sim_urls

    try:
        sim_urls = parse_sim_urls(args.sim_url)
        config = load_config(args.config) if args.config else None
    except (ValueError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    venues = list(sim_urls) if sim_urls else list(config.enabled_venues) if config else args.venues
    symbols = config.symbols if config and not args.symbols else args.symbols or ["BTC/USDT", "ETH/USDT"]
    try:
        manifest = asyncio.run(record_main(
            args.out, venues, symbols, duration=args.duration, sim=args.sim, sim_urls=sim_urls,
            seed=args.seed, snapshot_every_s=args.snapshot_every, quiet=args.quiet,
            venue_configs=config.enabled_venues if config and not (args.sim or sim_urls) else None))
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frames = sum(c["TEXT"] + c["BINARY"] for c in manifest.counts.values())
    print(f"recorded {frames:,} frames of {', '.join(manifest.symbols)} on {', '.join(manifest.venues)} "
          f"into {args.out}")
    return 0 if frames else 1


def _add_record(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("record", help="record raw depth frames and snapshots for replay")
    parser.add_argument("--out", required=True, help="new directory for the recording")
    parser.add_argument("--venues", nargs="+", default=["binance", "gateio", "mexc"],
                        choices=["binance", "gateio", "mexc"])
    parser.add_argument("--symbols", nargs="+", default=None,
                        help="default BTC/USDT ETH/USDT (or the config's)")
    parser.add_argument("--duration", type=float, default=None, help="seconds (default: until interrupted)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--sim", action="store_true", help="record the in-process loopback simulator")
    source.add_argument("--sim-url", action="append", default=[], metavar="VENUE=URL",
                        help="a running simulator (`arb-engine sim`) per venue; repeatable")
    source.add_argument("--config", help="venues (URLs) and symbols from a config file")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (with --sim)")
    parser.add_argument("--snapshot-every", type=float, default=5.0, help="checkpoint snapshots (s, 0: off)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(handler=_record)


def _replay(args: argparse.Namespace) -> int:
    from arb.ops.replay import main as replay_main
    from arb.ops.replay import parse_speed

    try:
        speed = parse_speed(args.speed)
        config = load_config(args.config) if args.config else None
    except (ValueError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return replay_main(args.dir, speed=speed, data_dir=args.data_dir, config=config,
                       drop_every=args.drop_every, quiet=args.quiet)


def _add_replay(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("replay", help="feed a recording through the engine (paper, deterministic)")
    parser.add_argument("dir", help="a directory written by `arb-engine record`")
    parser.add_argument("--speed", default="max", help="N times real time, or max (default)")
    parser.add_argument("--config", help="risk/executor settings (symbols, venues: the recording's)")
    parser.add_argument("--data-dir", default=None, help="journal and state (default: a temp dir)")
    parser.add_argument("--drop-every", type=int, default=0, metavar="N",
                        help="drop every N-th frame per venue (rehearse gaps and resyncs)")
    parser.add_argument("--quiet", action="store_true", help="no progress line")
    parser.set_defaults(handler=_replay)


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


COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_config,
    _add_state_commands,
    _add_sim,
    _add_demo,
    _add_run,
    _add_check,
    _add_reports,
    _add_record,
    _add_replay,
    _add_chaos,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arb-engine", description="Cross-exchange spot arbitrage engine (paper by default)."
    )
    parser.add_argument("--version", action="version", version=f"arb-engine {arb.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
