"""[7] OrderTracker: every order we sent, its fills, and the resolution of unknown outcomes.

Rules:
- an order's status only moves forward (`OrderStatus` values are ordered; terminal states are final);
- fills are keyed by (venue, symbol, trade id) (some venues number trades per symbol), so the same fill
  seen on the user stream and in a REST query counts once; an order's filled quantity is the larger
  of what its fills add up to and the cumulative quantity the venue last reported;
- a timeout or 5xx on a write makes the order UNKNOWN (never FAILED); `resolve` queries it by
  client order id with backoff until a deadline. "Not found" is taken as "never placed" only once a
  grace window has passed since the outcome became unknown (a venue may not show an order it has just
  accepted) *and* neither the venue's open orders nor its recent trades know the client id. Until
  resolved, an unknown order counts as exposure at its full size (`exposure`);
- a fill for an order already final that adds quantity (an order taken as never placed, a cancel
  that raced a fill) is a *late fill*: the order's status is corrected and the `late_fill` listener is
  told, so the trade's accounting is reopened (re-hedged or HALTed), never just bumped;
- terminal orders are pruned after `keep_ns` (and beyond `max_orders`), so memory stays bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

import msgspec

from arb.errors import DecodeError, ExchangeError, OrderNotFoundError
from arb.model import ZERO, Fill, Order, OrderStatus
from arb.venues.base import PrivateExchangeInterface

log = logging.getLogger(__name__)

OrderListener = Callable[[Order, str], None]
FillKey = tuple[str, str, str]  # (venue, symbol, trade id)
KEEP_NS = 600 * 1_000_000_000  # terminal orders are kept this long for late pushes and fills
MAX_ORDERS = 20_000


class TrackedOrder:
    """An order plus what links it to its opportunity and its fills."""

    __slots__ = ("fill_fee", "fill_ids", "fill_quote", "fill_qty", "leg", "opportunity_id", "order",
                 "unknown_ns")

    def __init__(self, order: Order, opportunity_id: str | None, leg: str) -> None:
        self.order = order
        self.opportunity_id = opportunity_id
        self.leg = leg
        self.unknown_ns: int | None = None  # when the outcome became unknown (the grace window's start)
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
    late_fill:
        Called as ``late_fill(tracked)`` when a fill (or a venue report) adds quantity to an order
        already final.
    keep_ns, max_orders:
        Terminal orders older than `keep_ns` are forgotten, and the oldest terminal ones beyond
        `max_orders` (open and UNKNOWN orders are never dropped).
    """

    def __init__(self, clock_ns: Callable[[], int], listener: OrderListener | None = None, *,
                 late_fill: Callable[[TrackedOrder], None] | None = None,
                 keep_ns: int = KEEP_NS, max_orders: int = MAX_ORDERS) -> None:
        self._clock = clock_ns
        self._listener = listener
        self.late_fill = late_fill
        self._keep_ns = keep_ns
        self._max_orders = max_orders
        self._orders: dict[str, TrackedOrder] = {}
        self._by_oid: dict[tuple[str, str], str] = {}  # (venue, exchange order id) -> client id
        self._fill_keys: set[FillKey] = set()
        self.duplicate_fills = 0
        self.stale_updates = 0
        self.late_fills = 0
        self.pruned = 0
        self._counts: dict[str, list[int]] = {}  # venue -> [orders tracked, fills seen] since start
        # client id -> (when it was declared never placed, re-checks done): asked about again later,
        # since a venue may hide an order (and its trades) longer than any grace window
        self.never_placed: dict[str, tuple[int, int]] = {}
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
        """Per venue: (orders tracked, distinct fills seen) since start, for metrics (pruning keeps them)."""
        return {venue: (n[0], n[1]) for venue, n in self._counts.items()}

    # ------------------------------------------------------------------ updates

    def track(self, order: Order, *, opportunity_id: str | None = None, leg: str = "",
              unknown_since: int | None = None) -> Order:
        """Start tracking an order we are about to send (normally PENDING_NEW).

        An order tracked UNKNOWN (reconciliation) counts its grace window from `unknown_since`
        (default: now)."""
        if order.client_order_id in self._orders:
            raise ValueError(f"client order id {order.client_order_id!r} is already tracked")
        if len(self._orders) >= self._max_orders:
            self.prune()
        tracked = TrackedOrder(order, opportunity_id, leg)
        if order.status is OrderStatus.UNKNOWN:
            tracked.unknown_ns = self._clock() if unknown_since is None else unknown_since
        self._orders[order.client_order_id] = tracked
        self._counts.setdefault(order.venue, [0, 0])[0] += 1
        self._index(order)
        self._notify(order, "track")
        return order

    def prune(self, now_ns: int | None = None) -> int:
        """Forget terminal orders older than `keep_ns`, then the oldest beyond `max_orders`."""
        now = self._clock() if now_ns is None else now_ns
        final = [(t.order.ts_updated, cid) for cid, t in self._orders.items() if t.order.status.is_terminal]
        final.sort()
        excess = len(self._orders) - self._max_orders // 2
        drop = [cid for i, (ts, cid) in enumerate(final) if now - ts >= self._keep_ns or i < excess]
        for cid in drop:
            tracked = self._orders.pop(cid)
            order = tracked.order
            if order.order_id is not None:
                self._by_oid.pop((order.venue, order.order_id), None)
            for trade_id in tracked.fill_ids:
                self._fill_keys.discard((order.venue, str(order.symbol), trade_id))
        self.pruned += len(drop)
        return len(drop)

    def _index(self, order: Order) -> None:
        if order.order_id is not None:
            self._by_oid[(order.venue, order.order_id)] = order.client_order_id

    def on_order(self, update: Order, detail: str = "update") -> Order | None:
        """Merge a venue's view of an order; returns the merged order, or None if untracked."""
        tracked = self._orders.get(update.client_order_id)
        if tracked is None or tracked.order.venue != update.venue:  # another venue's id, not ours
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
        late = status.is_terminal and current.status.is_terminal and filled_qty > current.filled_qty
        if late and status is OrderStatus.REJECTED:
            status = OrderStatus.EXPIRED  # see on_fill: it executed after all
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
            self._index(merged)
            self._notify(merged, f"late {detail}" if late else detail)
            if late:
                self._late(tracked, current)
        return merged

    def _late(self, tracked: TrackedOrder, before: Order) -> None:
        self.late_fills += 1
        order = tracked.order
        log.warning("%s %s: %s filled %s more after it was final (%s): the trade is reopened",
                    order.venue, order.symbol, order.client_order_id,
                    order.filled_qty - before.filled_qty, before.status.name)
        if self.late_fill is not None:
            self.late_fill(tracked)

    def on_fill(self, fill: Fill) -> bool:
        """Apply one fill; returns False for a duplicate or a fill of an order we do not track."""
        key = (fill.venue, str(fill.symbol), fill.trade_id)
        if key in self._fill_keys:
            self.duplicate_fills += 1
            return False
        tracked = self._orders.get(fill.client_order_id or "")
        if tracked is not None and tracked.order.venue != fill.venue:  # another venue's id, not ours
            tracked = None
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
        late = status.is_terminal and filled_qty > current.filled_qty
        if not status.is_terminal:
            status = OrderStatus.FILLED if filled_qty >= current.quantity else OrderStatus.PARTIALLY_FILLED
        elif late and status is OrderStatus.REJECTED:
            # taken as never placed, yet it traded: it was an IOC that executed (statuses only move
            # forward, so the correction is EXPIRED with its filled quantity, not FILLED)
            status = OrderStatus.EXPIRED
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
        self._index(tracked.order)
        self._counts.setdefault(fill.venue, [0, 0])[1] += 1
        self._notify(tracked.order, f"{'late ' if late else ''}fill {fill.trade_id}")
        if late:
            self._late(tracked, current)
        return True

    def mark_unknown(self, client_order_id: str, reason: str) -> Order | None:
        """A write's outcome is unknown (timeout, 5xx, dropped response)."""
        tracked = self._orders.get(client_order_id)
        if tracked is None or tracked.order.status is not OrderStatus.PENDING_NEW:
            return tracked.order if tracked else None
        tracked.unknown_ns = self._clock()
        tracked.order = msgspec.structs.replace(
            tracked.order, status=OrderStatus.UNKNOWN, ts_updated=tracked.unknown_ns
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
        cid = self._by_oid.get((venue, order_id))
        return None if cid is None else self._orders.get(cid)

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
        deadline_ns: int,
        backoff_s: float = 0.2,
        max_backoff_s: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> Order:
        """Ask the venue about an UNKNOWN (or any open) order until it gives a definite answer.

        By client id first. "Not found" counts only once `grace_ns` has passed since the outcome
        became unknown; then the venue's open orders and recent trades are searched for the client id
        (and exchange id) as well, and only when both lists were read and neither knows the order is
        it marked never placed (REJECTED). Transport errors back off and retry until `deadline_ns`
        (on the tracker's clock); an order still unresolved then is returned UNKNOWN.
        """
        tracked = self._orders.get(client_order_id)
        if tracked is None:
            raise KeyError(client_order_id)
        delay = backoff_s
        while True:
            order = tracked.order
            if order.status.is_terminal:
                return order
            since = tracked.unknown_ns if tracked.unknown_ns is not None else order.ts_created
            try:
                seen = await private.get_order(order.symbol, client_order_id=client_order_id)
            except OrderNotFoundError:
                if self._clock() - since >= grace_ns:
                    found = await self._search_history(tracked, private)
                    if found is not None:
                        return found
            except (ExchangeError, DecodeError) as exc:  # a malformed answer too
                log.warning("%s %s: resolving %s failed: %s", order.venue, order.symbol, client_order_id, exc)
            else:
                merged = self.on_order(seen, "resolved by query")
                if merged is not None and merged.status is not OrderStatus.UNKNOWN:
                    return merged
            if self._clock() >= deadline_ns:
                return tracked.order
            await sleep(delay)
            delay = min(delay * 2, max_backoff_s)

    async def _search_history(self, tracked: TrackedOrder, private: PrivateExchangeInterface) -> Order | None:
        """Open orders, then recent trades, for an order its venue says it does not know.

        Returns the order once decided (found open, found traded, or never placed); None when a list
        could not be read (the caller keeps asking).
        """
        order = tracked.order
        cid = order.client_order_id
        try:
            listed = await private.open_orders(order.symbol)
            trades = await private.my_trades(order.symbol)
        except (ExchangeError, DecodeError, NotImplementedError) as exc:
            log.warning("%s %s: history of %s unavailable: %s", order.venue, order.symbol, cid, exc)
            return None
        for seen in listed:
            if seen.client_order_id == cid or (order.order_id and seen.order_id == order.order_id):
                return self.on_order(msgspec.structs.replace(seen, client_order_id=cid), "found open")
        mine = [f for f in trades if f.client_order_id == cid
                or (order.order_id is not None and f.order_id == order.order_id)]
        for fill in mine:
            self.on_fill(msgspec.structs.replace(fill, client_order_id=cid))
        if mine:
            current = tracked.order
            if not current.status.is_terminal:  # an IOC that traded and is gone from the book
                status = OrderStatus.FILLED if current.filled_qty >= current.quantity else OrderStatus.EXPIRED
                return self.on_order(msgspec.structs.replace(current, status=status), "found in trades")
            return current
        self.never_placed[cid] = (self._clock(), 0)
        return self.mark_rejected(cid, "never placed: not found by id, in open orders or in trades")

    async def recheck(self, client_order_id: str, private: PrivateExchangeInterface) -> bool:
        """Ask again about an order declared never placed; True when the venue knows it after all
        (its fills then arrive as a late fill: the `late_fill` listener reopens the trade)."""
        tracked = self._orders.get(client_order_id)
        if tracked is None:
            return False
        order = tracked.order
        try:
            seen = await private.get_order(order.symbol, client_order_id=client_order_id)
        except OrderNotFoundError:
            return False
        self.never_placed.pop(client_order_id, None)
        log.warning("%s %s: %s, taken as never placed, is known to the venue (%s, filled %s)", order.venue,
                    order.symbol, client_order_id, seen.status.name, seen.filled_qty)
        self.on_order(seen, "found after 'never placed'")
        return True


def exposure(order: Order) -> Decimal:
    """Base quantity an order may still execute: all of it while UNKNOWN, the rest while open."""
    if order.status.is_terminal:
        return ZERO
    return order.quantity - order.filled_qty
