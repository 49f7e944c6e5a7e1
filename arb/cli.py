"""`arb-engine`: parse arguments, call library functions, print. No logic of its own.

Each subcommand is one `_add_<name>` function that adds its parser and sets `handler`; later
commands (run, demo, sim, status, ...) plug in the same way via `COMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

import arb
from arb.config import config_schema, describe, load_config
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


COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_config,
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
