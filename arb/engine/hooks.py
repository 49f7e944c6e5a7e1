"""Hooks through which something outside the engine (cluster mode, `arb.cluster`) takes part in
its decisions without the engine knowing what it is.

`BookScope`: which symbols' books the engine keeps (streamed, synced from a snapshot, watched for
opportunities). Read when the engine starts and whenever its owner calls
`UniverseKeeper.rescope()` (``engine.universe``): books of symbols now wanted are added (REST
snapshot + diffs, SYNCED before they can trade), books of symbols no longer wanted are dropped and
unsubscribed. Without a scope every configured (or discovered) symbol is kept.

`TradeGate`: asked by `RiskManager.approve` after every local limit passed, before anything is
reserved; told when an opportunity's reservation is released, when a fill moves balances and when
PnL is realised. Every method runs on the hot path: synchronous, no I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from arb.model import Opportunity, Symbol


class TradeGate(Protocol):
    def admit(self, opp: Opportunity, quote: Decimal, base: Decimal) -> str:
        """Reserve `quote` on the buy venue and `base` on the sell venue for `opp`; "" when admitted,
        else why not (the rejection's reason)."""
        ...

    def release(self, opportunity_id: str) -> None:
        """The opportunity's reservation is over (admitted or not: unknown ids are ignored)."""
        ...

    def on_balance_change(self, venue: str, asset: str, delta: Decimal) -> None:
        """A fill moved `delta` of `asset` on `venue` (negative: spent)."""
        ...

    def on_pnl(self, amount: Decimal) -> None:
        """A trade realised `amount` of PnL (quote currency)."""
        ...


class BookScope(Protocol):
    def wants(self, symbol: Symbol) -> bool:
        """Keep `symbol`'s books (on every venue listing it); synchronous, no I/O."""
        ...
