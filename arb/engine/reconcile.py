"""Restart reconciliation: make the journal agree with the venues before trading again.

On start the engine loads every order the journal does not know to be final (PENDING_NEW written
before a crash, UNKNOWN, NEW, PARTIALLY_FILLED), asks each venue about it by client order id,
collects our recent fills on the symbols involved, and records what it learns. Trading starts only
if every order was resolved and no residual is still open; otherwise the engine starts HALTED and
the report says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

import msgspec

from arb.engine.journal import Journal
from arb.engine.orders import OrderTracker
from arb.errors import ExchangeError
from arb.model import OrderStatus, Symbol
from arb.venues.base import PrivateExchangeInterface

log = logging.getLogger(__name__)


class ReconcileReport(msgspec.Struct):
    resolved: list[str] = []
    unresolved: list[str] = []
    fills_applied: int = 0
    open_residuals: list[str] = []
    errors: list[str] = []

    @property
    def ok(self) -> bool:
        return not (self.unresolved or self.open_residuals or self.errors)

    def summary(self) -> str:
        return (
            f"resolved {len(self.resolved)} orders, {len(self.unresolved)} unresolved, "
            f"{self.fills_applied} fills applied, {len(self.open_residuals)} open residuals, "
            f"{len(self.errors)} errors"
        )


async def reconcile(
    journal: Journal,
    privates: Mapping[str, PrivateExchangeInterface],
    tracker: OrderTracker,
    *,
    grace_ns: int,
    backoff_s: float = 0.2,
    attempts: int = 5,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ReconcileReport:
    """Resolve the journal's open orders against the venues; returns what happened."""
    report = ReconcileReport()
    links = await journal.order_links()
    touched: set[tuple[str, Symbol]] = set()
    for order in await journal.orders(open_only=True):
        if order.venue not in privates:
            report.errors.append(f"{order.client_order_id}: venue {order.venue} not configured")
            continue
        opportunity_id, leg = links.get(order.client_order_id, (None, ""))
        if order.status is OrderStatus.PENDING_NEW:
            # written before sending: the crash may have come before or after the venue got it
            order = msgspec.structs.replace(order, status=OrderStatus.UNKNOWN)
        tracker.track(order, opportunity_id=opportunity_id, leg=leg)
        touched.add((order.venue, order.symbol))
        final = await tracker.resolve(
            order.client_order_id, privates[order.venue], grace_ns=grace_ns, backoff_s=backoff_s,
            attempts=attempts, sleep=sleep,
        )
        if final.status is OrderStatus.UNKNOWN:
            report.unresolved.append(order.client_order_id)
        else:
            report.resolved.append(order.client_order_id)
    for venue, symbol in sorted(touched, key=lambda t: (t[0], str(t[1]))):
        try:
            fills = await privates[venue].my_trades(symbol)
        except ExchangeError as exc:
            report.errors.append(f"{venue} {symbol}: fills query failed: {exc}")
            continue
        for fill in fills:
            owner = tracker.owner(fill)  # by client id, or by exchange id (Binance trades carry none)
            if owner is not None and tracker.on_fill(fill):
                journal.record_fill(msgspec.structs.replace(fill, client_order_id=owner))
                report.fills_applied += 1
    report.open_residuals = [row["id"] for row in await journal.open_residuals()]
    await journal.flush()
    log.info("reconciliation: %s", report.summary())
    return report
