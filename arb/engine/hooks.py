"""Hooks through which something outside the engine (cluster mode, `arb.cluster`) takes part in
its decisions without the engine knowing what it is.

`BookScope`: which symbols' books the engine keeps (streamed, synced from a snapshot, watched for
opportunities). Read when the engine starts and whenever its owner calls
`UniverseKeeper.rescope()` (``engine.universe``): books of symbols now wanted are added (REST
snapshot + diffs, SYNCED before they can trade), books of symbols no longer wanted are dropped and
unsubscribed. Without a scope every configured (or discovered) symbol is kept.

`TradeGate`: asked by `RiskManager.approve` after every local limit passed, before anything is
reserved (a refusal is a member of the gate's own IntEnum, with its words as `text`: the
`arb.engine.reasons.Reason` protocol); told when an opportunity's reservation is released, when a
fill moves balances and when PnL is realised. Every method runs on the hot path: synchronous, no I/O.

`TradeObserver`: told what the journal records (opportunities, order intents and changes, fills) as
it is queued for writing, so what an observer sees is what the journal holds (the journal drops a
duplicate fill; an observer may be told it twice). Synchronous, no I/O: queue it.

`VenueBudgets`: the engine's venues' request budgets (one `RateLimiter` each) as one thing that
outside code steers: the share of each venue's documented limits this process may use, backoffs
another process took (a 429 or 418 on the same account), and a listener told of every backoff
one of our limiters takes. A venue's limiter joins when its connector is made and at once takes
the current share and any backoff still running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

from arb.engine.reasons import Reason
from arb.model import Fill, Opportunity, Order, Symbol
from arb.net.ratelimit import Backoff, BackoffKind, RateLimiter

log = logging.getLogger(__name__)


class TradeGate(Protocol):
    def admit(self, opp: Opportunity, quote: Decimal, base: Decimal) -> Reason | None:
        """Reserve `quote` on the buy venue and `base` on the sell venue for `opp`; None when admitted,
        else why not: a member of one IntEnum of the gate's (the risk manager counts them by member,
        and members of two IntEnums with the same value would be one key)."""
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


class VenueBudgets:
    """Every venue's rate limiter of one engine, steered from outside (cluster mode).

    `on_backoff` (set by the steering code) is called, synchronously, with each 429 / 418 one of our
    limiters took; it must not block (publish from a task)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.limiters: dict[str, RateLimiter] = {}
        self.share = 1.0
        self.on_backoff: Callable[[Backoff], None] | None = None
        self._pending: dict[tuple[str, BackoffKind], float] = {}  # backoffs for venues not joined yet

    def add(self, venue: str, limiter: RateLimiter | None) -> None:
        """The venue's limiter (None: the venue's connector has none) joins the budgets."""
        if limiter is None:
            return
        self.limiters[venue] = limiter
        limiter.set_share(self.share)
        limiter.on_backoff = self._took
        now = self._clock()
        for (name, kind), until in list(self._pending.items()):
            if name == venue:
                del self._pending[(name, kind)]
                limiter.freeze(kind, until - now)

    def _took(self, backoff: Backoff) -> None:
        if self.on_backoff is not None:
            self.on_backoff(backoff)

    def set_share(self, share: float) -> None:
        """Every limiter uses `share` (0 < share <= 1) of its venue's documented limits."""
        if share == self.share:
            return
        log.info("venue request budgets: share %.3f of each venue's limits (was %.3f)", share, self.share)
        self.share = share
        for limiter in self.limiters.values():
            limiter.set_share(share)

    def freeze(self, venue: str, kind: BackoffKind, seconds: float) -> None:
        """Another process took a 429 (or 418) on `venue`: nothing goes there for `seconds`."""
        limiter = self.limiters.get(venue)
        if limiter is not None:
            limiter.freeze(kind, seconds)
        elif seconds > 0:
            key = (venue, kind)
            self._pending[key] = max(self._pending.get(key, 0.0), self._clock() + seconds)

    def stats(self) -> dict[str, dict[str, object]]:
        return {venue: limiter.stats() for venue, limiter in self.limiters.items()}


class BookScope(Protocol):
    def wants(self, symbol: Symbol) -> bool:
        """Keep `symbol`'s books (on every venue listing it); synchronous, no I/O."""
        ...
