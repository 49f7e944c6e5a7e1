"""What every `arb-engine` command shares: exit codes, argument types, the simulator's venue choices."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from enum import IntEnum

from arb.errors import ArbError
from arb.model import Symbol
from arb.sim.server import DIALECTS
from arb.sim.universe import SimUniverse, large_universe
from arb.venues.ccxt import PREFIX as CCXT_PREFIX
from arb.venues.registry import VENUES

Handler = Callable[[argparse.Namespace], int]


def simulated_venues() -> list[str]:
    """The registry's venues the loopback simulator serves (`sim`, `demo`; `check` and `record` take
    every registry venue)."""
    return [name for name in VENUES if name in DIALECTS]


def universe_flag(parser: argparse.ArgumentParser) -> None:
    """``--universe``: the simulator's symbols (the default five everywhere, or `large_universe`)."""
    parser.add_argument("--universe", choices=("default", "large"), default="default",
                        help="simulated symbols: the default five on every venue, or ~50 pairs with "
                             "partial overlaps, renamed assets and transfer status (large)")


def sim_universe(choice: str, venues: Sequence[str]) -> SimUniverse | None:
    return large_universe(venues) if choice == "large" else None


class ExitCode(IntEnum):
    """What `arb-engine` returns (listed in `--help` and the README)."""

    OK = 0
    FAILED = 1  # the command ran and its result is a failure (a check failed, nothing recorded/synced)
    USAGE = 2  # a bad flag, config file or config value: the message names it
    ENVIRONMENT = 3  # the machine or network said no: port in use, venue unreachable, unreadable file
    CANNOT_TRADE = 4  # run: nothing can be traded (one venue, no common symbol, no balances); --wait runs
    INTERRUPTED = 130  # Ctrl-C (SIGINT): what was done so far is printed first


EXIT_CODES_HELP = """exit codes:
  0    success
  1    the command ran and failed (a check failed, nothing synced or recorded)
  2    usage or configuration error (the message names the flag, file or field)
  3    environment error (port in use, venue unreachable, unreadable journal or recording)
  4    run, demo: nothing can be traded (one venue, no symbol on two venues, no balances); run --wait
       runs anyway
  130  interrupted with Ctrl-C (what was done so far is printed first; sim and record, which run
       until Ctrl-C, end normally with 0)

logging: --log-level and --log-format (before or after the command: arb-engine run --log-format json
...) override engine.log_level / engine.log_format of the command's --config."""


class UsageError(ArbError):
    """A user's mistake outside the config file (a flag, a path): exit 2 with this message."""


def since_flag(parser: argparse.ArgumentParser, what: str) -> None:
    """``--since WHEN`` of the cluster views (`pnl`, `top`): `what` is counted from then."""
    parser.add_argument("--since", metavar="WHEN", default=None,
                        help=f"with --cluster: {what} since 30m, 2h, 1d ago or an ISO time (UTC); "
                             "default: all the event stream holds")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def counting_from(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number >= `minimum`."""
    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value
    return count


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535 (0: any free port), got {value}")
    return value


def venue_or_ccxt(text: str) -> str:
    """A registry venue, or ``ccxt:ID`` (checked when the command runs: a bad id exits 2 naming it)."""
    if text in VENUES or (text.startswith(CCXT_PREFIX) and len(text) > len(CCXT_PREFIX)):
        return text
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(VENUES)} or ccxt:ID "
                                     "(`arb-engine venues` lists the ccxt ids)")


def symbol_text(text: str) -> str:
    if text == "auto":
        return text
    try:
        Symbol.parse(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not BASE/QUOTE, e.g. BTC/USDT") from None
    return text


def fail(code: ExitCode, message: str) -> int:
    """One line on stderr naming the problem; the exit code."""
    print(f"arb-engine: error: {message}", file=sys.stderr)
    return code
