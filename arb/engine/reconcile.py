"""Restart reconciliation: make the journal agree with the venues before trading again.

On start the engine loads every order the journal does not know to be final (PENDING_NEW written
before a crash, UNKNOWN, NEW, PARTIALLY_FILLED), asks each venue about it by client order id,
collects our recent fills on the symbols involved (also for final orders whose journaled fills fall
short of their filled quantity: the crash came between the two writes), and records what it learns.
Trading starts only if every order was resolved and no residual is still open; otherwise the engine
starts HALTED and the report says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

import msgspec

from arb.engine.journal import Journal
from arb.engine.orders import OrderTracker
from arb.errors import ExchangeError
from arb.model import OrderStatus, Side, Symbol
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
    # orders final in the journal whose fills were not all written before the crash
    journaled: dict[str, Decimal] = {}
    for fill in await journal.fills():
        cid = fill.client_order_id or ""
        journaled[cid] = journaled.get(cid, Decimal(0)) + fill.quantity
    for order in await journal.orders():
        if (order.venue in privates and tracker.get(order.client_order_id) is None
                and order.filled_qty > journaled.get(order.client_order_id, Decimal(0))):
            opportunity_id, leg = links.get(order.client_order_id, (None, ""))
            tracker.track(order, opportunity_id=opportunity_id, leg=leg)
            touched.add((order.venue, order.symbol))
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
    # an opportunity interrupted between its legs and its residual handling: the legs' fills differ
    # and no residual was journaled. That exposure is real: trading waits for an operator.
    rows = await journal.query("SELECT opportunity_id FROM residuals")
    with_residual = {row["opportunity_id"] for row in rows}
    interrupted = {links[cid][0] for cid in report.resolved if links.get(cid, (None, ""))[0]}
    if interrupted:
        net: dict[str, Decimal] = {}
        for order in await journal.orders():
            opp = links.get(order.client_order_id, (None, ""))[0]
            if opp is not None and opp in interrupted and opp not in with_residual:
                current = tracker.get(order.client_order_id) or order
                sign = 1 if current.side is Side.BUY else -1
                net[opp] = net.get(opp, Decimal(0)) + sign * current.filled_qty
        for opp, left in sorted(net.items()):
            if left:
                report.open_residuals.append(f"{opp}: legs differ by {left} (no residual journaled)")
    await journal.flush()
    log.info("reconciliation: %s", report.summary())
    return report
