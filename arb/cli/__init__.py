"""`arb-engine`: parse arguments, call library functions, print. No logic of its own.

Each subcommand is one `_add_<name>` function that adds its parser and sets `handler`; later
commands (run, demo, sim, status, ...) plug in the same way via `COMMANDS`. `main` sets up logging
and the event loop choice for every command (`--log-level`, `--log-format`, the config's
``engine.*``) and turns the mistakes a user can make into one line and an `ExitCode`, never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import arb
from arb.cli.cluster import (
    add_run_flags,
    cluster_demo,
    cluster_pnl,
    cluster_settings,
    cluster_status,
    set_cluster_state,
    worker_count,
)
from arb.cli.common import (
    EXIT_CODES_HELP,
    ExitCode,
    Handler,
    UsageError,
    counting_from,
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
from arb.cli.tools import _add_chaos, _add_record, _add_replay, _add_sim, _add_symbols, _add_top
from arb.config import DEFAULT_DATA_DIR, Config, config_schema, describe, load_config, starter_config
from arb.credentials import credential_secrets
from arb.engine.control import POLL_S, lock_holder
from arb.engine.risk import Source, TradingState, read_state, state_path, write_state
from arb.errors import ArbError, ConfigError
from arb.obs.logging import configure_logging
from arb.venues.registry import VENUES

# ------------------------------------------------------------------------ argument types


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


def _config_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists: pick another path or pass --force to overwrite it")
    try:
        path.write_text(starter_config(), encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    print(f"wrote {path}: a paper-trading config; check it with `arb-engine config validate {path}`, "
          f"run it with `arb-engine run --config {path}`")
    return 0


def _add_config(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", help="create, validate, show or describe configuration files")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    validate = actions.add_parser("validate", help="check a config file; exit 2 naming the bad field")
    validate.add_argument("file")
    validate.set_defaults(handler=_config_validate)
    show = actions.add_parser("show", help="the effective config after environment overrides")
    show.add_argument("file")
    show.set_defaults(handler=_config_show)
    schema = actions.add_parser("schema", help="print the JSON Schema of the config file")
    schema.set_defaults(handler=_config_schema)
    init = actions.add_parser("init", help="write a commented starter config (paper mode)")
    init.add_argument("path", nargs="?", default="arb.toml", help="where (default ./arb.toml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=_config_init)


def _state_file(args: argparse.Namespace) -> Path:
    data_dir = load_config(args.config).engine.data_dir if args.config else args.data_dir
    return state_path(data_dir)


def _set_state(args: argparse.Namespace, state: TradingState, reason: str) -> int:
    """Write the state file durably; a running engine on that data dir applies it within a poll
    (``engine.control``, 0.2 s) and journals it as an operator's change."""
    try:
        path = _state_file(args)
        was, was_reason = read_state(path)
        write_state(path, state, reason, time.time_ns(), Source.OPERATOR)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the trading state: {exc}", file=sys.stderr)
        return 2
    before = f"was {was.name}{': ' + was_reason if was_reason else ''}"
    print(f"{state.name}{f' ({reason})' if reason else ''} ({before}): {path}")
    holder = lock_holder(path.parent)
    if holder is None:
        print(f"no engine is running on {path.parent}: an engine started there begins {state.name}")
    else:
        print(f"the engine running on {path.parent}{f' (pid {holder})' if holder else ''} applies it within "
              f"{POLL_S:g} s")
    return 0


def _halt(args: argparse.Namespace) -> int:
    if args.cluster:
        return set_cluster_state(args.cluster, TradingState.HALTED, args.reason)
    return _set_state(args, TradingState.HALTED, args.reason)


def _resume(args: argparse.Namespace) -> int:
    if args.cluster:
        return set_cluster_state(args.cluster, TradingState.ACTIVE, "")
    return _set_state(args, TradingState.ACTIVE, "")


def _add_state_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, handler, text in (
        ("halt", _halt, "stop all trading, a running engine too (within 0.2 s); persisted until "
                        "`arb-engine resume`"),
        ("resume", _resume, "clear a HALT and allow trading again (a running engine too)"),
    ):
        parser = sub.add_parser(name, help=text)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--config", help="config file whose engine.data_dir holds the state")
        where.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                           help=f"engine data dir (default {DEFAULT_DATA_DIR})")
        where.add_argument("--cluster", metavar="URL", default=None,
                           help="every worker of the cluster at this NATS server (within 1 s)")
        if name == "halt":
            parser.add_argument("--reason", default="operator halt", help="recorded with the state")
        parser.set_defaults(handler=handler)


def _run(args: argparse.Namespace) -> int:
    from arb.runner import main as run_main

    return run_main(args.config, live=args.live, sim=args.sim, duration=args.duration, seed=args.seed,
                    sim_urls=args.sim_url, use_uvloop=args.use_uvloop, quiet=args.quiet, wait=args.wait,
                    universe=args.universe, cluster=cluster_settings(args))


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("run", help="run the engine from a config file (paper unless --live)")
    parser.add_argument("--config", required=True, help="TOML config file")
    parser.add_argument("--live", action="store_true", help="real orders (keys from the environment)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--sim", action="store_true", help="start the loopback simulator and use it")
    target.add_argument("--sim-url", action="append", default=[], metavar="VENUE=URL",
                        help="a running simulator (`arb-engine sim`) per venue; repeatable; "
                             "venues not named are left out")
    parser.add_argument("--duration", type=positive_float, default=None, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (with --sim)")
    parser.add_argument("--quiet", action="store_true",
                        help="no live view and no progress lines (daemons; logs still go to stderr)")
    parser.add_argument("--wait", action="store_true",
                        help="keep running when nothing can be traded (else say why and exit 4)")
    universe_flag(parser)
    add_run_flags(parser)
    parser.set_defaults(handler=_run)


def _check(args: argparse.Namespace) -> int:
    from arb.check import main as check_main

    if args.sim_url is not None and not args.sim_url.startswith(("http://", "https://")):
        raise UsageError(f"--sim-url {args.sim_url!r}: expected http://HOST:PORT (as `arb-engine sim` "
                         "prints it)")

    return check_main(args.venue, args.live, args.json, sim_url=args.sim_url, use_uvloop=args.use_uvloop)


def _venues(args: argparse.Namespace) -> int:
    from arb.venues.ccxt.catalogue import rows, table

    listed = rows(VENUES)
    print(json.dumps(listed, indent=2) if args.json else table(listed))
    return ExitCode.OK


def _add_venues(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("venues", help="every venue arb can drive: native and through ccxt")
    parser.add_argument("--json", action="store_true", help="machine-readable list")
    parser.set_defaults(handler=_venues)


def _add_check(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("check", help="run the conformance checks for a venue (simulator or --live)")
    parser.add_argument("venue", type=venue_or_ccxt, metavar="VENUE",
                        help=f"{', '.join(VENUES)}, or ccxt:ID for a ccxt exchange through the bridge")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--live", action="store_true", help="the real venue (keys from the environment)")
    target.add_argument("--sim-url", metavar="URL", default=None,
                        help="a running simulator's base URL for this venue (default: start one in-process)")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.set_defaults(handler=_check)


def _report(args: argparse.Namespace) -> int:
    if getattr(args, "cluster", None):
        if args.command == "pnl":
            fmt = "json" if args.json else "csv" if args.csv else "table"
            return cluster_pnl(args.cluster, args.since, fmt)
        return cluster_status(args.cluster, args.json)
    if getattr(args, "since", None):
        raise UsageError("--since needs --cluster URL (a journal's pnl covers every fill it holds)")
    from arb.config import default_config
    from arb.reports import main as report_main

    config = load_config(args.config) if args.config else default_config(engine={"data_dir": args.data_dir})
    fmt = "json" if args.json else "csv" if getattr(args, "csv", False) else "table"
    return report_main(args.command, config, fmt, getattr(args, "limit", 50), getattr(args, "by", "symbol"),
                       use_uvloop=args.use_uvloop)


def _add_reports(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, text in (("status", "the running engine's state, else what its journal holds"),
                       ("history", "recent trades and opportunities: ISO times, exact decimals, PnL each"),
                       ("pnl", "realised PnL by day, symbol and venue from the journaled fills")):
        parser = sub.add_parser(name, help=text)
        where = parser.add_mutually_exclusive_group()
        where.add_argument("--config", help="config file (its journal and metrics port)")
        where.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                           help=f"engine data dir (default {DEFAULT_DATA_DIR})")
        if name == "status":
            where.add_argument("--cluster", metavar="URL", default=None,
                               help="the whole cluster at this NATS server: members, shards, ledger, state")
        if name == "pnl":
            where.add_argument("--cluster", metavar="URL", default=None,
                               help="every worker of the cluster at this NATS server, from its event "
                                    "stream: per worker, venue pair and symbol, and the total")
            since_flag(parser, "fills")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="JSON output")
        if name != "status":
            output.add_argument("--csv", action="store_true", help="CSV output")
        if name == "history":
            parser.add_argument("--limit", type=counting_from(1), default=50,
                                help="newest N rows (default 50)")
        if name == "pnl":
            parser.add_argument("--by", choices=["symbol", "day", "venue"], default="symbol",
                                help="group by symbol (default), UTC day and symbol, or venue and symbol")
        parser.set_defaults(handler=_report)


def demo_venue_text(text: str) -> str:
    """A ``demo --venues`` entry: a simulated venue, or ``ccxt:ID`` (resolved when the demo starts)."""
    if text in simulated_venues() or (text.startswith("ccxt:") and len(text) > len("ccxt:")):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: expected one of {', '.join(simulated_venues())}, or ccxt:ID (a ccxt exchange id)")


def _demo(args: argparse.Namespace) -> int:
    from arb.demo import demo_venues
    from arb.demo import main as demo_main

    venues = demo_venues(args.venues)  # ConfigError (exit 2) naming a ccxt:ID that cannot be simulated
    if len(venues) < 2:
        raise UsageError("--venues: cross-venue arbitrage needs at least two venues, got "
                         f"{[str(v) for v in venues]}")
    if args.data_dir is not None and Path(args.data_dir).exists() and not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir} is a file, not a directory")
    if "auto" in args.symbols and len(args.symbols) > 1:
        raise UsageError("--symbols: auto (every pair two venues list) or BASE/QUOTE symbols, not both")
    universe = sim_universe(args.universe, [v.name for v in venues])
    if args.cluster is not None:
        if any(v.exchange for v in venues):
            raise UsageError("--cluster: the cluster demo runs arb's own connectors; drop the ccxt: venues")
        return cluster_demo(args.cluster, args.duration, [v.name for v in venues], args.symbols, args.seed,
                            args.data_dir, use_uvloop=args.use_uvloop, universe=universe)
    return demo_main(args.duration, venues, args.symbols, args.seed, args.data_dir,
                     use_uvloop=args.use_uvloop, universe=universe)


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo", help="trade on simulated money, offline: loopback venues + the engine's live order path",
        description=f"Starts simulated venues ({', '.join(VENUES[v].display for v in simulated_venues())}) "
                    "on 127.0.0.1 and runs the engine against them in live mode: real signed IOC orders "
                    "to the simulator's funded test accounts (simulated money, nothing leaves this "
                    "machine). Ends with a summary: trades with their PnL, one-legged trades and how they "
                    "were closed.")
    parser.add_argument("--duration", type=positive_float, default=15.0, help="seconds to run (default 15)")
    parser.add_argument("--venues", nargs="+", default=simulated_venues(), type=demo_venue_text,
                        metavar="VENUE", help=f"at least two of {', '.join(simulated_venues())} (default: "
                        "all); ccxt:ID drives one through ccxt's own class for exchange ID instead of "
                        "arb's connector (`arb-engine venues` lists the ids)")
    parser.add_argument("--symbols", nargs="+", type=symbol_text,
                        default=["BTC/USDT", "ETH/USDT", "SOL/USDT"],
                        help="BASE/QUOTE symbols (default BTC/USDT ETH/USDT SOL/USDT), or auto: every "
                             "pair two simulated venues list")
    universe_flag(parser)
    parser.add_argument("--seed", type=int, default=1, help="market seed (same seed, same market)")
    parser.add_argument("--data-dir", default=None, help="journal and state (default: a temp dir)")
    parser.add_argument("--cluster", type=worker_count, default=None, metavar="N",
                        help="cluster mode: a local nats-server and N workers (2-8) sharing the one "
                             "simulated account (needs the dev install's nats-server)")
    parser.set_defaults(handler=_demo)


COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_config,
    _add_state_commands,
    _add_sim,
    _add_demo,
    _add_run,
    _add_check,
    _add_venues,
    _add_symbols,
    _add_reports,
    _add_record,
    _add_replay,
    _add_top,
    _add_chaos,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arb-engine", description="Cross-exchange spot arbitrage engine (paper by default).",
        epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"arb-engine {arb.__version__}")
    _add_common(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    for command in _leaf_parsers(sub):  # `arb-engine run --log-format json` works as well
        _add_common(command, argparse.SUPPRESS)
    return parser


def _add_common(parser: argparse.ArgumentParser, default: str | None) -> None:
    """The flags every command takes; on a subcommand their default is SUPPRESS, so a value given
    before the command is kept unless the command's own flag overrides it."""
    if "--log-level" not in parser._option_string_actions:
        parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default=default,
                            type=str.upper,  # `--log-level debug` as well
                            help="log level (default: the config's engine.log_level, else INFO)")
    if "--log-format" not in parser._option_string_actions:
        parser.add_argument("--log-format", choices=["console", "json"], default=default,
                            help="log lines for people or one JSON object per line for log shippers "
                                 "(default: the config's engine.log_format, else console)")


def _leaf_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> list[argparse.ArgumentParser]:
    out = []
    for parser in dict.fromkeys(sub.choices.values()):
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        out += [leaf for action in nested for leaf in _leaf_parsers(action)] if nested else [parser]
    return out


def _setup(args: argparse.Namespace) -> None:
    """Logging (to stderr, every credential in the environment redacted) and the event loop choice,
    from the flags over the command's config file (when it names one that loads)."""
    config: Config | None = None
    path = getattr(args, "config", None)
    if path:
        with contextlib.suppress(ConfigError):  # the handler reports a bad config itself
            config = load_config(path)
    engine = config.engine if config is not None else None
    secrets = credential_secrets()
    configure_logging(args.log_level or (engine.log_level if engine else "INFO"),
                      args.log_format or (engine.log_format if engine else "console"), secrets=secrets)
    args.use_uvloop = engine.use_uvloop if engine else True


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return ExitCode.USAGE
    _setup(args)
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C)", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `arb-engine history | head`: the reader has all it wanted
        with contextlib.suppress(OSError):  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK
    except (ConfigError, UsageError) as exc:
        return _fail(ExitCode.USAGE, str(exc))
    except sqlite3.DatabaseError as exc:
        return _fail(ExitCode.ENVIRONMENT, f"the journal is not a readable SQLite database ({exc}); "
                                           "move it aside to start a new one")
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _fail(ExitCode.ENVIRONMENT, f"a port is already in use ({exc.strerror or exc}): another "
                                               "arb-engine running? pick another port in the config or flag")
        return _fail(ExitCode.ENVIRONMENT, str(exc))
    except ArbError as exc:
        return _fail(ExitCode.ENVIRONMENT, f"{type(exc).__name__}: {exc}")


__all__ = ["EXIT_CODES_HELP", "ExitCode", "UsageError", "build_parser", "main", "simulated_venues"]
