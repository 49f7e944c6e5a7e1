"""Why the engine let an update or an opportunity go no further: one IntEnum per stage, one table of
the words people read for each.

- `Gate`: the detector's gates (per book update: a venue's book left out, the symbol skipped, an
  opportunity dropped) and the executor's checks before the risk manager (the opportunity cannot
  be sized or sent as the books are now). Counted by `Funnel.gates`.
- `Refusal`: the risk manager's refusals (`RiskManager.approve`). Counted by
  `RiskManager.rejections`.
- A `TradeGate` (cluster mode, `arb.engine.hooks`) refuses with a member of its own IntEnum that
  has a `text` (the `Reason` protocol); the risk manager counts those apart
  (`RiskManager.gate_rejections`).

Counts are keyed by the members (an IntEnum hashes as its int: no string work on the hot path). The
words (`text`) are read only where people see them: the run summary, `/status`, the `arb_gate`
metric's labels, log lines. Members of two different IntEnums with the same value compare equal
(they are ints), so each count holds one enum's members and tests compare members with `is`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Protocol


class Reason(Protocol):
    """A member of an IntEnum of reasons, with the words people read for it."""

    @property
    def text(self) -> str: ...


class Gate(enum.IntEnum):
    """Why an update or an opportunity went no further before the risk manager."""

    # a venue's book left out of the evaluation (per venue, per update)
    NOT_SYNCED = 1
    BOOK_TOO_OLD = 2
    VENUE_TIME_LAG = 3  # the venue's event time lags its book's receive time
    CROSSED_BOOK = 4
    SYMBOL_HALTED = 5  # the venue refused an order: trading on the symbol is disabled there
    CIRCUIT_OPEN = 6  # the venue's circuit breaker (`RiskManager.circuit_open`)
    USER_STREAM_DOWN = 7  # live: fills would not be seen
    # nothing evaluated (per update)
    TRADING_REDUCING = 8
    TRADING_HALTED = 9
    ENGINE_STOPPING = 10
    SYMBOL_COOLDOWN = 11
    # an opportunity dropped (detector, then executor)
    TOO_GOOD_TO_BE_TRUE = 12  # above `max_net_bps`
    UNKNOWN_SYMBOL_RULES = 13
    INCOMPATIBLE_STEPS = 14  # the quantity cannot be a multiple of both venues' steps
    BELOW_MINIMUM = 15  # a leg under its venue's minimum quantity or notional
    BOOK_NOT_SYNCED_AT_SEND = 16
    BOOK_MOVED_BEFORE_SEND = 17  # a book can no longer fill its IOC leg in full
    JOURNAL_UNAVAILABLE = 18  # the intents could not be made durable (an outcome's reason; not counted)

    @property
    def text(self) -> str:
        return GATE_TEXT[self]


GATE_TEXT: Mapping[Gate, str] = {
    Gate.NOT_SYNCED: "not synced",
    Gate.BOOK_TOO_OLD: "book too old",
    Gate.VENUE_TIME_LAG: "venue time lag",
    Gate.CROSSED_BOOK: "crossed book",
    Gate.SYMBOL_HALTED: "symbol halted",
    Gate.CIRCUIT_OPEN: "circuit open",
    Gate.USER_STREAM_DOWN: "user stream down",
    Gate.TRADING_REDUCING: "trading REDUCING",
    Gate.TRADING_HALTED: "trading HALTED",
    Gate.ENGINE_STOPPING: "engine stopping",
    Gate.SYMBOL_COOLDOWN: "symbol cooldown",
    Gate.TOO_GOOD_TO_BE_TRUE: "too good to be true",
    Gate.UNKNOWN_SYMBOL_RULES: "unknown symbol rules",
    Gate.INCOMPATIBLE_STEPS: "incompatible steps",
    Gate.BELOW_MINIMUM: "below minimum",
    Gate.BOOK_NOT_SYNCED_AT_SEND: "book not synced at send",
    Gate.BOOK_MOVED_BEFORE_SEND: "book moved before send",
    Gate.JOURNAL_UNAVAILABLE: "journal unavailable",
}


class Refusal(enum.IntEnum):
    """Why the risk manager refused an opportunity (its own limits; a trade gate's refusals are the
    gate's own reasons)."""

    STATE_REDUCING = 1
    STATE_HALTED = 2
    MAX_OPEN_OPPORTUNITIES = 3
    CIRCUIT_OPEN = 4
    ORDER_RATE = 5
    MAX_NOTIONAL_PER_ORDER = 6
    MAX_UNHEDGED_NOTIONAL = 7
    INSUFFICIENT_QUOTE = 8
    INSUFFICIENT_BASE = 9
    INVENTORY_BELOW_MINIMUM = 10
    INVENTORY_ABOVE_MAXIMUM = 11

    @property
    def text(self) -> str:
        return REFUSAL_TEXT[self]


REFUSAL_TEXT: Mapping[Refusal, str] = {
    Refusal.STATE_REDUCING: "state REDUCING",
    Refusal.STATE_HALTED: "state HALTED",
    Refusal.MAX_OPEN_OPPORTUNITIES: "max open opportunities",
    Refusal.CIRCUIT_OPEN: "circuit open",
    Refusal.ORDER_RATE: "order rate",
    Refusal.MAX_NOTIONAL_PER_ORDER: "max notional per order",
    Refusal.MAX_UNHEDGED_NOTIONAL: "max unhedged notional",
    Refusal.INSUFFICIENT_QUOTE: "insufficient quote",
    Refusal.INSUFFICIENT_BASE: "insufficient base",
    Refusal.INVENTORY_BELOW_MINIMUM: "inventory below minimum",
    Refusal.INVENTORY_ABOVE_MAXIMUM: "inventory above maximum",
}


def by_text(*counts: Mapping[Gate, int] | Mapping[Refusal, int] | Mapping[Reason, int]) -> dict[str, int]:
    """Counts keyed by members, summed by their words (what people read: two reasons with the same
    words, e.g. the detector's and the risk manager's "circuit open", are one line)."""
    out: dict[str, int] = {}
    for count in counts:
        items: Iterable[tuple[Reason, int]] = count.items()
        for reason, n in items:
            out[reason.text] = out.get(reason.text, 0) + n
    return out
