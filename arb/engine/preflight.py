"""Can this run trade anything at all? `run` asks before it settles down, and says why not.

Arbitrage needs, for at least one symbol, two venues that list it, quote to buy with on one of them
and base to sell on another. A run that has none of that would sit silent forever; `run` prints
these reasons and exits with `EXIT_CANNOT_TRADE` unless `--wait` is given.
"""

from __future__ import annotations

from arb.config import Config
from arb.engine.engine import Engine
from arb.model import ZERO
from arb.universe import TRANSFERS_TEXT, Transfers

EXIT_CANNOT_TRADE = 4  # after the CLI's 0 ok, 1 failed, 2 usage, 3 environment


def config_reasons(config: Config) -> list[str]:
    """What the config alone rules out (checked before anything is started)."""
    venues = list(config.enabled_venues)
    if len(venues) < 2:
        which = f"only {venues[0]} is enabled" if venues else "no venue is enabled"
        return [f"{which}: arbitrage needs at least two venues ([venues.NAME] enabled = true)"]
    return []


def engine_reasons(engine: Engine) -> tuple[list[str], list[str]]:
    """After start (symbol rules and balances known): (reasons nothing can trade, per-symbol warnings)."""
    venues = list(engine.config.enabled_venues)
    warnings: list[str] = []
    listed_twice = []
    for symbol in engine.universe.symbols() or engine.config.symbol_list:  # "auto": the universe's
        listed = [v for v in venues if (v, symbol) in engine.symbols]
        if len(listed) < 2:
            where = f"on {', '.join(listed)} only" if listed else "on no enabled venue"
            warnings.append(f"{symbol} is listed (and trading) {where}: not traded")
        else:
            listed_twice.append((symbol, listed))
    universe = engine.universe.current
    if universe is not None and engine.config.universe.exclude_suspended_transfers:
        for venue, known in universe.transfers.items():
            if known in (Transfers.NO_KEYS, Transfers.UNAVAILABLE):
                warnings.append(f"{venue}: {TRANSFERS_TEXT[known]}: its suspended transfers are not excluded")
    if not listed_twice:
        return ["no symbol is listed on two enabled venues", *warnings], warnings
    risk = engine.risk
    funded, unfunded = [], []
    for symbol, listed in listed_twice:
        buyers = {v for v in listed if risk.available(v, symbol.quote) > ZERO}
        sellers = {v for v in listed if risk.available(v, symbol.base) > ZERO}
        if any(b != s for b in buyers for s in sellers):
            funded.append(symbol)
        elif engine.universe.enabled:
            unfunded.append(str(symbol))
        else:
            warnings.append(f"{symbol}: no venue pair has {symbol.quote} to buy on one venue and "
                            f"{symbol.base} to sell on another")
    if unfunded:  # a discovered universe: one line, not one per pair
        warnings.append(f"{len(unfunded)} of {len(listed_twice)} pairs have no base to sell or quote to buy "
                        f"on two venues: {', '.join(unfunded[:8])}{', ...' if len(unfunded) > 8 else ''}")
    if not funded:
        where = "the venues' balances" if engine.live else "engine.paper_balances"
        return [f"nothing to trade with: no symbol has the quote to buy on one venue and the base to sell "
                f"on another ({where})", *warnings], warnings
    return [], warnings
