"""The reasons' enums and their words: every member has its words, the words name one member of
their enum, and they are the words people have always read (summary, `/status`, metrics, README)."""

from __future__ import annotations

import enum

import pytest

from arb.cluster.reasons import GateReason
from arb.engine.reasons import Gate, Refusal, by_text

# the words shown before the reasons became enums: the `arb_gate` labels and `/status` keys keep them
GATE_WORDS = {
    "not synced", "book too old", "venue time lag", "crossed book", "symbol halted", "circuit open",
    "user stream down", "trading REDUCING", "trading HALTED", "engine stopping", "symbol cooldown",
    "too good to be true", "unknown symbol rules", "incompatible steps", "below minimum",
    "book not synced at send", "book moved before send", "journal unavailable",
}
REFUSAL_WORDS = {
    "state REDUCING", "state HALTED", "max open opportunities", "circuit open", "order rate",
    "max notional per order", "max unhedged notional", "insufficient quote", "insufficient base",
    "inventory below minimum", "inventory above maximum",
}
CLUSTER_WORDS = {
    "cluster unreachable", "cluster allocation unconfirmed", "cluster halted",
    "symbol owned by another worker", "cluster allocation too small",
    "previous owner's orders not reconciled", "cluster ledger reconciling",
    "cluster limit: max open opportunities", "cluster limit: max unhedged notional",
    "cluster limit: max daily loss", "cluster limit: a worker's figures are stale",
}


@pytest.mark.parametrize(("kind", "words"), [(Gate, GATE_WORDS), (Refusal, REFUSAL_WORDS),
                                             (GateReason, CLUSTER_WORDS)])
def test_each_member_has_its_own_words(kind: type[Gate | Refusal | GateReason], words: set[str]) -> None:
    texts = [member.text for member in kind]
    assert len(set(texts)) == len(texts)  # the words name one member
    assert set(texts) == words


def test_counts_by_member_are_shown_summed_by_words() -> None:
    """The detector's "circuit open" (a venue left out) and the risk manager's (an opportunity
    refused) are one line, as they were when both were counted by their words."""
    gates = {Gate.CIRCUIT_OPEN: 2, Gate.NOT_SYNCED: 1}
    refusals = {Refusal.CIRCUIT_OPEN: 3, Refusal.ORDER_RATE: 1}
    cluster = {GateReason.NATS_DOWN: 4}
    assert by_text(gates, refusals, cluster) == {"circuit open": 5, "not synced": 1, "order rate": 1,
                                                 "cluster unreachable": 4}
    assert by_text() == {}


def test_members_of_two_enums_with_one_value_are_one_dict_key() -> None:
    """Why each count holds one enum's members (and the cluster's refusals are one enum): IntEnum
    members are ints."""
    assert isinstance(Gate.NOT_SYNCED, enum.IntEnum)
    assert Gate.NOT_SYNCED == GateReason.NATS_DOWN == 1
    assert len({Gate.NOT_SYNCED: 1, GateReason.NATS_DOWN: 1}) == 1
