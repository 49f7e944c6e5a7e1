"""Restart reconciliation: make the journal agree with the venues before trading again.

On start the engine loads every order the journal does not know to be final (PENDING_NEW written
before a crash, UNKNOWN, NEW, PARTIALLY_FILLED) and resolves each one (concurrently) the way the
executor does: by client order id, then, once the grace window has passed, through the venue's open
orders and recent trades. It collects our recent fills on the symbols involved (also for final
orders whose journaled fills fall short of their filled quantity: the crash came between the two
writes), and records what it learns.

Then it recomputes the net position of every opportunity the last run left behind (and every
opportunity whose orders it just resolved) from the orders' fills: bought minus sold over the legs
and the hedges. Residual rows are only the executor's notes; a crash can come before one is
written, so a missing row proves nothing. A net position that a venue could still trade (not dust
below the venues' minimums) is reported as an open one-legged position.

Trading starts only if every order was resolved and no position is open; otherwise the engine starts
HALTED and the report says why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

import msgspec

from arb.engine.journal import Journal
from arb.engine.orders import OrderTracker
from arb.errors import DecodeError, ExchangeError
from arb.model import Order, OrderStatus, Side, Symbol
from arb.venues.base import PrivateExchangeInterface

DustCheck = Callable[[Symbol, Decimal, Decimal], bool]  # (symbol, base quantity, price) -> below minimums

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
    deadline_ns: int,
    backoff_s: float = 0.2,
    is_dust: DustCheck | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> ReconcileReport:
    """Resolve the journal's open orders against the venues; returns what happened.

    `deadline_ns` (on the tracker's clock) bounds the resolution of each order; `is_dust` tells a
    leftover position that no venue would accept an order for (None: any non-zero net is open).
    """
    report = ReconcileReport()
    links = await journal.order_links()
    touched: set[tuple[str, Symbol]] = set()
    pending: list[Order] = []
    for order in await journal.orders(open_only=True):
        if order.venue not in privates:
            report.errors.append(f"{order.client_order_id}: venue {order.venue} not configured")
            continue
        opportunity_id, leg = links.get(order.client_order_id, (None, ""))
        if order.status is OrderStatus.PENDING_NEW:
            # written before sending: the crash may have come before or after the venue got it
            order = msgspec.structs.replace(order, status=OrderStatus.UNKNOWN)
        # the outcome became unknown when the last run stopped writing about it
        tracker.track(order, opportunity_id=opportunity_id, leg=leg, unknown_since=order.ts_updated)
        touched.add((order.venue, order.symbol))
        pending.append(order)
    finals = await asyncio.gather(*(
        tracker.resolve(order.client_order_id, privates[order.venue], grace_ns=grace_ns,
                        deadline_ns=deadline_ns, backoff_s=backoff_s, sleep=sleep)
        for order in pending))
    for final in finals:
        if final.status.is_terminal:
            report.resolved.append(final.client_order_id)
        else:
            report.unresolved.append(final.client_order_id)
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
        except (ExchangeError, DecodeError) as exc:  # a malformed answer too
            report.errors.append(f"{venue} {symbol}: fills query failed: {exc}")
            continue
        for fill in fills:
            owner = tracker.owner(fill)  # by client id, or by exchange id (some venues' trades carry none)
            if owner is not None and tracker.on_fill(fill):
                journal.record_fill(msgspec.structs.replace(fill, client_order_id=owner))
                report.fills_applied += 1
    await journal.flush()
    report.open_residuals = [row["id"] for row in await journal.open_residuals()]
    report.open_residuals += await _open_positions(journal, tracker, links, report, is_dust)
    log.info("reconciliation: %s", report.summary())
    return report


async def _open_positions(journal: Journal, tracker: OrderTracker,
                          links: Mapping[str, tuple[str | None, str]], report: ReconcileReport,
                          is_dust: DustCheck | None) -> list[str]:
    """Opportunities of the last run (and those just resolved) whose fills leave a net position."""
    runs = await journal.query("SELECT MAX(id) AS id FROM runs WHERE id < ?", (journal.run_id or 0,))
    last_run = runs[0]["id"] if runs and runs[0]["id"] is not None else None
    rows = await journal.query("SELECT id FROM opportunities WHERE run_id = ?", (last_run,))
    recent = {row["id"] for row in rows}
    recent |= {links[cid][0] for cid in report.resolved if links.get(cid, (None, ""))[0]}
    already = {row["opportunity_id"] for row in await journal.open_residuals()}
    net: dict[str, Decimal] = {}
    price: dict[str, Decimal] = {}
    symbol_of: dict[str, Symbol] = {}
    for order in await journal.orders():
        opp = links.get(order.client_order_id, (None, ""))[0]
        if opp is None or opp not in recent or opp in already:
            continue
        current = tracker.get(order.client_order_id) or order
        sign = 1 if current.side is Side.BUY else -1
        net[opp] = net.get(opp, Decimal(0)) + sign * current.filled_qty
        symbol_of[opp] = current.symbol
        if current.filled_qty and current.filled_quote:
            price[opp] = current.filled_quote / current.filled_qty
        elif current.price is not None:
            price.setdefault(opp, current.price)
    out = []
    for opp, left in sorted(net.items()):
        if not left:
            continue
        if is_dust is not None and is_dust(symbol_of[opp], abs(left), price.get(opp, Decimal(0))):
            continue
        out.append(f"{opp}: net position {left:+} {symbol_of[opp].base} (one-legged; from its fills)")
    return out
