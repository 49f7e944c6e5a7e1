"""[7] OrderTracker: every order we sent, its fills, and the resolution of unknown outcomes.

Rules:
- an order's status only moves forward (`OrderStatus` values are ordered; terminal states are final);
- fills are keyed by (venue, trade id), so the same fill seen on the user stream and in a REST
  query counts once; an order's filled quantity is the larger of what its fills add up to and the
  cumulative quantity the venue last reported;
- a timeout or 5xx on a write makes the order UNKNOWN (never FAILED); `resolve` queries it by
  client order id with backoff, treating "not found" as final only after a grace window (a venue may
  not show an order it has just accepted). Until resolved, an unknown order counts as exposure at
  its full size.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

import msgspec

from arb.errors import ExchangeError, OrderNotFoundError
from arb.model import ZERO, Fill, Order, OrderStatus
from arb.venues.base import PrivateExchangeInterface

log = logging.getLogger(__name__)

OrderListener = Callable[[Order, str], None]


class TrackedOrder:
    """An order plus what links it to its opportunity and its fills."""

    __slots__ = ("fill_fee", "fill_ids", "fill_quote", "fill_qty", "leg", "opportunity_id", "order")

    def __init__(self, order: Order, opportunity_id: str | None, leg: str) -> None:
        self.order = order
        self.opportunity_id = opportunity_id
        self.leg = leg
        self.fill_ids: set[str] = set()
        self.fill_qty = ZERO
        self.fill_quote = ZERO
        self.fill_fee = ZERO


class OrderTracker:
    """Holds every order by client order id; merges venue updates and fills monotonically.

    Parameters
    ----------
    clock_ns:
        Injected clock (ns) stamped on updates.
    listener:
        Called as ``listener(order, detail)`` after every change (the engine journals and reacts).
    """

    def __init__(self, clock_ns: Callable[[], int], listener: OrderListener | None = None) -> None:
        self._clock = clock_ns
        self._listener = listener
        self._orders: dict[str, TrackedOrder] = {}
        self._fill_keys: set[tuple[str, str]] = set()
        self.duplicate_fills = 0
        self.stale_updates = 0
        self._final: dict[str, asyncio.Event] = {}  # client id -> set when the order turns final

    # ------------------------------------------------------------------ queries

    def get(self, client_order_id: str) -> Order | None:
        tracked = self._orders.get(client_order_id)
        return tracked.order if tracked else None

    def tracked(self, client_order_id: str) -> TrackedOrder | None:
        return self._orders.get(client_order_id)

    def open_orders(self) -> list[Order]:
        """Orders not yet in a terminal state (UNKNOWN included)."""
        return [t.order for t in self._orders.values() if not t.order.status.is_terminal]

    def unknown_orders(self) -> list[Order]:
        return [t.order for t in self._orders.values() if t.order.status is OrderStatus.UNKNOWN]

    def for_opportunity(self, opportunity_id: str) -> list[TrackedOrder]:
        return [t for t in self._orders.values() if t.opportunity_id == opportunity_id]

    def owner(self, fill: Fill) -> str | None:
        """The client order id of the tracked order a fill belongs to (by client id, else order id)."""
        if fill.client_order_id and fill.client_order_id in self._orders:
            return fill.client_order_id
        tracked = self._by_order_id(fill.venue, fill.order_id)
        return tracked.order.client_order_id if tracked else None

    def __len__(self) -> int:
        return len(self._orders)

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per venue: (orders tracked, distinct fills seen) since start, for metrics."""
        out: dict[str, tuple[int, int]] = {}
        for t in self._orders.values():
            orders, fills = out.get(t.order.venue, (0, 0))
            out[t.order.venue] = (orders + 1, fills + len(t.fill_ids))
        return out

    # ------------------------------------------------------------------ updates

    def track(self, order: Order, *, opportunity_id: str | None = None, leg: str = "") -> Order:
        """Start tracking an order we are about to send (normally PENDING_NEW)."""
        if order.client_order_id in self._orders:
            raise ValueError(f"client order id {order.client_order_id!r} is already tracked")
        self._orders[order.client_order_id] = TrackedOrder(order, opportunity_id, leg)
        self._notify(order, "track")
        return order

    def on_order(self, update: Order, detail: str = "update") -> Order | None:
        """Merge a venue's view of an order; returns the merged order, or None if untracked."""
        tracked = self._orders.get(update.client_order_id)
        if tracked is None:
            return None
        current = tracked.order
        status = current.status
        if not status.is_terminal and update.status >= status:
            status = update.status
        elif update.status < status:
            self.stale_updates += 1
        filled_qty = max(current.filled_qty, update.filled_qty, tracked.fill_qty)
        filled_quote = max(current.filled_quote, update.filled_quote, tracked.fill_quote)
        if filled_qty > ZERO and status < OrderStatus.PARTIALLY_FILLED:
            status = OrderStatus.FILLED if filled_qty >= current.quantity else OrderStatus.PARTIALLY_FILLED
        merged = msgspec.structs.replace(
            current,
            order_id=current.order_id or update.order_id,
            status=status,
            filled_qty=filled_qty,
            filled_quote=filled_quote,
            fee=max(current.fee, update.fee, tracked.fill_fee),
            fee_asset=current.fee_asset or update.fee_asset,
            ts_updated=self._clock(),
        )
        if merged != current:
            tracked.order = merged
            self._notify(merged, detail)
        return merged

    def on_fill(self, fill: Fill) -> bool:
        """Apply one fill; returns False for a duplicate or a fill of an order we do not track."""
        key = (fill.venue, fill.trade_id)
        if key in self._fill_keys:
            self.duplicate_fills += 1
            return False
        tracked = self._orders.get(fill.client_order_id or "")
        if tracked is None:
            tracked = self._by_order_id(fill.venue, fill.order_id)
        if tracked is None:
            return False
        self._fill_keys.add(key)
        tracked.fill_ids.add(fill.trade_id)
        tracked.fill_qty += fill.quantity
        tracked.fill_quote += fill.quantity * fill.price
        current = tracked.order
        if fill.fee_asset == current.fee_asset or not current.fee_asset:
            tracked.fill_fee += fill.fee
        filled_qty = max(current.filled_qty, tracked.fill_qty)
        status = current.status
        if not status.is_terminal:  # a terminal status is final; late fills only add quantity
            status = OrderStatus.FILLED if filled_qty >= current.quantity else OrderStatus.PARTIALLY_FILLED
        tracked.order = msgspec.structs.replace(
            current,
            order_id=current.order_id or fill.order_id,
            status=status,
            filled_qty=filled_qty,
            filled_quote=max(current.filled_quote, tracked.fill_quote),
            fee=max(current.fee, tracked.fill_fee),
            fee_asset=current.fee_asset or fill.fee_asset,
            ts_updated=self._clock(),
        )
        self._notify(tracked.order, f"fill {fill.trade_id}")
        return True

    def mark_unknown(self, client_order_id: str, reason: str) -> Order | None:
        """A write's outcome is unknown (timeout, 5xx, dropped response)."""
        tracked = self._orders.get(client_order_id)
        if tracked is None or tracked.order.status is not OrderStatus.PENDING_NEW:
            return tracked.order if tracked else None
        tracked.order = msgspec.structs.replace(
            tracked.order, status=OrderStatus.UNKNOWN, ts_updated=self._clock()
        )
        self._notify(tracked.order, f"unknown: {reason}")
        return tracked.order

    def mark_rejected(self, client_order_id: str, reason: str) -> Order | None:
        """The venue definitely refused the order (a 4xx with a known error)."""
        tracked = self._orders.get(client_order_id)
        if tracked is None or tracked.order.status.is_terminal:
            return tracked.order if tracked else None
        tracked.order = msgspec.structs.replace(
            tracked.order, status=OrderStatus.REJECTED, ts_updated=self._clock()
        )
        self._notify(tracked.order, f"rejected: {reason}")
        return tracked.order

    def _by_order_id(self, venue: str, order_id: str | None) -> TrackedOrder | None:
        if order_id is None:
            return None
        for tracked in self._orders.values():
            if tracked.order.venue == venue and tracked.order.order_id == order_id:
                return tracked
        return None

    def _notify(self, order: Order, detail: str) -> None:
        if order.status.is_terminal:
            event = self._final.get(order.client_order_id)
            if event is not None:
                event.set()
        if self._listener is not None:
            self._listener(order, detail)

    async def wait_final(self, client_order_id: str, sleep: Callable[[float], Awaitable[None]],
                         seconds: float) -> None:
        """Wait `seconds` (the caller's query backoff, on its `sleep`), or less if the order turns
        final first (a user-stream push, a concurrent reply): the poll loop then needs no query."""
        order = self.get(client_order_id)
        if order is not None and order.status.is_terminal:
            return
        event = self._final.setdefault(client_order_id, asyncio.Event())
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(sleep(seconds))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, sleeper):
                task.cancel()
            self._final.pop(client_order_id, None)

    # ------------------------------------------------------------------ unknown outcomes

    async def resolve(
        self,
        client_order_id: str,
        private: PrivateExchangeInterface,
        *,
        grace_ns: int,
        backoff_s: float = 0.2,
        max_backoff_s: float = 2.0,
        attempts: int = 20,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Order:
        """Query an UNKNOWN (or any open) order by client id until the venue gives a definite answer.

        "Not found" is final only once `grace_ns` has passed since the order was created: then the
        order never reached the venue and is marked REJECTED. Transport errors back off and retry.
        """
        tracked = self._orders.get(client_order_id)
        if tracked is None:
            raise KeyError(client_order_id)
        delay = backoff_s
        for _ in range(attempts):
            order = tracked.order
            try:
                seen = await private.get_order(order.symbol, client_order_id=client_order_id)
            except OrderNotFoundError:
                if self._clock() - order.ts_created >= grace_ns:
                    return self.mark_rejected(client_order_id, "not found after grace window") or order
            except ExchangeError as exc:
                log.warning("%s %s: resolving %s failed: %s", order.venue, order.symbol, client_order_id, exc)
            else:
                merged = self.on_order(seen, "resolved by query")
                if merged is not None and merged.status is not OrderStatus.UNKNOWN:
                    return merged
            await sleep(delay)
            delay = min(delay * 2, max_backoff_s)
        return tracked.order


def exposure(order: Order) -> Decimal:
    """Base quantity an order may still execute: all of it while UNKNOWN, the rest while open."""
    if order.status.is_terminal:
        return ZERO
    return order.quantity - order.filled_qty
