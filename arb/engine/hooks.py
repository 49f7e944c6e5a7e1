"""Hooks through which something outside the engine (cluster mode, `arb.cluster`) takes part in
its decisions without the engine knowing what it is.

`TradeGate`: asked by `RiskManager.approve` after every local limit passed, before anything is
reserved; told when an opportunity's reservation is released, when a fill moves balances and when
PnL is realised. Every method runs on the hot path: synchronous, no I/O.

`TradeObserver`: told what the journal records (opportunities, order intents and changes, fills) as
it is queued for writing, so what an observer sees is what the journal holds (the journal drops a
duplicate fill; an observer may be told it twice). Synchronous, no I/O: queue it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from arb.model import Fill, Opportunity, Order


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


class TradeObserver(Protocol):
    def on_opportunity(self, opp: Opportunity, decision: str) -> None:
        """An opportunity is journaled with its decision (before its intents)."""
        ...

    def on_order(self, order: Order, opportunity_id: str | None, leg: str, detail: str) -> None:
        """An order is journaled: its intent (``detail`` "intent", before it is sent), then every change
        (``detail`` says what: "placed", "queried", "fill <id>", "canceled", ...)."""
        ...

    def on_fill(self, fill: Fill) -> None:
        """A fill is journaled (its ``client_order_id`` is the tracked order's)."""
        ...
