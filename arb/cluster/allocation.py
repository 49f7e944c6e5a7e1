"""A worker's local allocation: the share of the ledger it trades from.

The hot path (`take`, `release`, `on_fill`) is synchronous and never touches NATS: an opportunity
is admitted only if this worker's allocation on both legs covers it. Everything that talks to the
ledger (`rebalance`, `settle`, `confirm`) runs in the worker's background loop:

- refill or return toward a target (an equal share of each account's funds per live worker);
- settle fills: what a fill moved is added to the ledger's funds and to our holding;
- confirm after a start or a NATS loss: the local holding is re-read from the ledger (our holding
  may have been reclaimed by the others while we were away) before anything trades again.

Local holdings never exceed what the ledger granted: grants are added after the ledger's write,
returns are taken off before it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable, Sequence
from decimal import Decimal

from arb.cluster.ledger import Ledger
from arb.model import ZERO

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (venue, asset)
HYSTERESIS = Decimal("0.1")  # move toward the target only when off by more than this share of it
LATENCY_SAMPLES = 10_000


class Allocation:
    """Local holdings per (venue, asset), what open opportunities reserved of them, and the fills
    not yet settled into the ledger."""

    def __init__(self) -> None:
        self.held: dict[Key, Decimal] = {}
        self.reserved: dict[Key, Decimal] = {}
        self._by_opportunity: dict[str, list[tuple[Key, Decimal]]] = {}
        self.pending: dict[Key, Decimal] = {}  # fill deltas the ledger has not seen yet
        self.refill_s: deque[float] = deque(maxlen=LATENCY_SAMPLES)  # ledger round trips of refills
        self.refills = 0
        self.returns = 0

    # ------------------------------------------------------------------ hot path (no awaits)

    def available(self, key: Key) -> Decimal:
        return self.held.get(key, ZERO) - self.reserved.get(key, ZERO)

    def take(self, opportunity_id: str, needs: Sequence[tuple[Key, Decimal]]) -> bool:
        """Reserve every need from the local allocation, all or nothing."""
        if any(self.available(key) < amount for key, amount in needs):
            return False
        for key, amount in needs:
            self.reserved[key] = self.reserved.get(key, ZERO) + amount
        self._by_opportunity[opportunity_id] = list(needs)
        return True

    def release(self, opportunity_id: str) -> None:
        for key, amount in self._by_opportunity.pop(opportunity_id, ()):
            self.reserved[key] = self.reserved.get(key, ZERO) - amount

    def on_fill(self, key: Key, delta: Decimal) -> None:
        """A fill moved `delta` of an asset on a venue (negative: spent)."""
        self.held[key] = max(ZERO, self.held.get(key, ZERO) + delta)
        self.pending[key] = self.pending.get(key, ZERO) + delta

    @property
    def open_opportunities(self) -> int:
        return len(self._by_opportunity)

    # ------------------------------------------------------------------ background (the ledger)

    async def settle(self, ledger: Ledger) -> int:
        """Write the pending fill deltas into the ledger; returns how many accounts were settled."""
        done = 0
        for key in [k for k, v in self.pending.items() if v]:
            delta = self.pending[key]
            await ledger.settle(key[0], key[1], delta)
            self.pending[key] -= delta  # fills that came meanwhile stay pending
            done += 1
        return done

    async def rebalance(self, ledger: Ledger, key: Key, target: Decimal) -> Decimal:
        """Move our holding of `key` toward `target`: refill below, return above (never what open
        opportunities reserved). Returns the change."""
        held = self.held.get(key, ZERO)
        gap = target - held
        if abs(gap) <= target * HYSTERESIS and held > ZERO:
            return ZERO
        if gap > ZERO:
            began = time.perf_counter()
            granted = await ledger.reserve(key[0], key[1], gap)
            if granted:
                self.held[key] = self.held.get(key, ZERO) + granted
                self.refill_s.append(time.perf_counter() - began)
                self.refills += 1
            return granted
        spare = min(-gap, self.available(key))
        if spare <= ZERO:
            return ZERO
        self.held[key] = held - spare  # off locally first: we never trade what we are returning
        returned = await ledger.give_back(key[0], key[1], spare)
        self.returns += 1
        return -returned

    async def confirm(self, ledger: Ledger, keys: Iterable[Key]) -> None:
        """Settle what is pending, then take our holdings from the ledger (the truth after a loss)."""
        await self.settle(ledger)
        for key in keys:
            account, _ = await ledger.read(*key)
            ledger_held = account.holding(ledger.worker) if account is not None else ZERO
            local = self.held.get(key, ZERO)
            self.held[key] = max(ZERO, ledger_held + self.pending.get(key, ZERO))
            if self.held[key] != local:
                log.info("%s %s: allocation confirmed at %s (was %s locally)", ledger.worker, key,
                         self.held[key], local)
