"""What a worker's journal records, published as cluster events (the engine's `TradeObserver`).

`wiring.join` sets a `JournalTap` as the engine journal's observer, so the events are the journal's
own records (a worker's `arb-engine pnl` and `pnl --cluster` read the same fills):

- ORDER: an order's intent (``event`` "intent", journaled before it is sent), the venue's answer
  when the order is not final yet ("placed"), its final state ("final") and, when a late fill
  changes an order already final, the change ("late"); each with the order as it stands;
- FILL: every fill journaled, with its opportunity, leg and venue pair (buy venue, sell venue).

Everything runs on the hot path: no I/O, `EventPublisher.emit` queues. The links from orders to
opportunities and venue pairs are kept for the last `KEEP` of each (bounded memory).
"""

from __future__ import annotations

from typing import Any

from arb.cluster.events import EventKind, EventPublisher
from arb.model import Fill, Opportunity, Order

KEEP = 20_000


def _trim(table: dict[str, Any], keep: int) -> None:
    while len(table) > keep:
        table.pop(next(iter(table)))


class JournalTap:
    """Parameters
    ----------
    events:
        The worker's publisher.
    keep:
        Opportunities and orders whose links are remembered (the newest).
    """

    def __init__(self, events: EventPublisher, keep: int = KEEP) -> None:
        self._events = events
        self._keep = keep
        self._pairs: dict[str, tuple[str, str]] = {}  # opportunity id -> (buy venue, sell venue)
        self._links: dict[str, tuple[str, str]] = {}  # client order id -> (opportunity id, leg)
        self._final: dict[str, tuple[int, object]] = {}  # client order id -> (status, filled) published

    def on_opportunity(self, opp: Opportunity, decision: str) -> None:
        self._pairs[opp.id] = (opp.buy_venue, opp.sell_venue)
        _trim(self._pairs, self._keep)

    def _link(self, client_order_id: str | None) -> dict[str, str]:
        opportunity, leg = self._links.get(client_order_id or "", ("", ""))
        buy, sell = self._pairs.get(opportunity, ("", ""))
        return {"opportunity": opportunity, "leg": leg, "buy": buy, "sell": sell}

    def on_order(self, order: Order, opportunity_id: str | None, leg: str, detail: str) -> None:
        cid = order.client_order_id
        if opportunity_id:
            self._links[cid] = (opportunity_id, leg)
            _trim(self._links, self._keep)
        if detail == "intent":
            event = "intent"
        elif order.status.is_terminal:
            seen = self._final.get(cid)
            if seen == (int(order.status), order.filled_qty):
                return
            event = "final" if seen is None else "late"
            self._final[cid] = (int(order.status), order.filled_qty)
            _trim(self._final, self._keep)
        elif detail == "placed":
            event = "placed"
        else:
            return
        self._events.emit(EventKind.ORDER, {"event": event, "order": order, **self._link(cid)})

    def on_fill(self, fill: Fill) -> None:
        self._events.emit(EventKind.FILL, {"fill": fill, **self._link(fill.client_order_id)})
