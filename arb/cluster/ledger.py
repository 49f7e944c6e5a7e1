"""One ledger for the money every worker shares.

One KV key per (venue, asset), ``<venue>.<asset>``, holding `Account`: the funds on that venue
and what each worker holds of them. Every change reads the key, computes the new value and
writes it with ``update(key, value, last=revision)``: a write based on a stale read is refused by
JetStream and retried on the fresh value, so two workers can never both take the same funds.
The invariant ``sum(held) <= funds`` holds at every revision (`Account.check`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal

import msgspec
import nats.js.errors
from nats.js.kv import KeyValue

from arb.cluster.conn import ClusterError
from arb.model import ZERO

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 200  # compare-and-set retries before the ledger is reported contended


class Account(msgspec.Struct, frozen=True):
    """Funds of one asset on one venue and each worker's holding of them."""

    funds: Decimal
    held: dict[str, Decimal] = {}

    @property
    def free(self) -> Decimal:
        return self.funds - sum(self.held.values(), ZERO)

    def holding(self, worker: str) -> Decimal:
        return self.held.get(worker, ZERO)

    def with_holding(self, worker: str, amount: Decimal) -> Account:
        held = dict(self.held)
        if amount > ZERO:
            held[worker] = amount
        else:
            held.pop(worker, None)
        return Account(self.funds, held)

    def check(self) -> bool:
        """No holding negative and the holdings within the funds."""
        return all(v >= ZERO for v in self.held.values()) and self.free >= ZERO


def ledger_key(venue: str, asset: str) -> str:
    return f"{venue}.{asset}"


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Account)


def decode_account(raw: bytes | None) -> Account:
    try:
        return _DECODER.decode(raw or b"")
    except msgspec.DecodeError as exc:
        raise ClusterError(f"ledger entry unreadable: {exc}") from None


class Ledger:
    """Compare-and-set operations on the ledger bucket (each one a few round trips to NATS).

    Parameters
    ----------
    kv:
        The ``arb_ledger`` bucket.
    worker:
        Who holds what this object takes.
    """

    def __init__(self, kv: KeyValue, worker: str) -> None:
        self.kv = kv
        self.worker = worker
        self.conflicts = 0  # writes refused because another worker wrote first (then retried)

    async def read(self, venue: str, asset: str) -> tuple[Account | None, int]:
        """The account and its revision (None, 0 when it was never seeded)."""
        try:
            entry = await self.kv.get(ledger_key(venue, asset))
        except nats.js.errors.KeyNotFoundError:
            return None, 0
        return decode_account(entry.value), int(entry.revision or 0)

    async def seed(self, venue: str, asset: str, funds: Decimal) -> bool:
        """Create the account with `funds` if nobody has; True when this call created it."""
        try:
            await self.kv.create(ledger_key(venue, asset), _ENCODER.encode(Account(funds)))
        except nats.js.errors.KeyWrongLastSequenceError:
            return False
        return True

    async def change(self, venue: str, asset: str, fn: Callable[[Account], tuple[Account, Decimal]], *,
                     enforce: bool = True) -> tuple[Account, Decimal]:
        """Apply `fn` (account -> new account, result) by compare-and-set, retrying on conflicts.
        `fn` must be pure: it may run several times. With `enforce`, a change that would break the
        invariant is refused (`ClusterError`); settlements record what happened whatever it is."""
        key = ledger_key(venue, asset)
        for _ in range(MAX_ATTEMPTS):
            account, revision = await self.read(venue, asset)
            if account is None:
                raise ClusterError(f"ledger has no account {key}")
            new, result = fn(account)
            if new == account:
                return account, result
            if enforce and not new.check():
                raise ClusterError(f"ledger {key}: refused a change that breaks its invariant: {new}")
            try:
                await self.kv.update(key, _ENCODER.encode(new), last=revision)
            except nats.js.errors.KeyWrongLastSequenceError:
                self.conflicts += 1
                continue
            return new, result
        raise ClusterError(f"ledger {key}: still contended after {MAX_ATTEMPTS} attempts")

    async def reserve(self, venue: str, asset: str, want: Decimal) -> Decimal:
        """Take up to `want` of the free funds into this worker's holding; returns what was granted."""
        me = self.worker

        def take(account: Account) -> tuple[Account, Decimal]:
            granted = max(ZERO, min(want, account.free))
            return account.with_holding(me, account.holding(me) + granted), granted

        return (await self.change(venue, asset, take))[1]

    async def give_back(self, venue: str, asset: str, amount: Decimal) -> Decimal:
        """Return up to `amount` of this worker's holding to the free funds; returns what was returned."""
        me = self.worker

        def give(account: Account) -> tuple[Account, Decimal]:
            returned = max(ZERO, min(amount, account.holding(me)))
            return account.with_holding(me, account.holding(me) - returned), returned

        return (await self.change(venue, asset, give))[1]

    async def settle(self, venue: str, asset: str, delta: Decimal) -> Account:
        """A fill moved `delta` of this asset in this worker's hands: the funds and the holding move
        together (a spend larger than the holding takes the rest from the funds only)."""
        me = self.worker

        def apply(account: Account) -> tuple[Account, Decimal]:
            held = max(ZERO, account.holding(me) + delta)
            return Account(account.funds + delta, account.with_holding(me, held).held), delta

        account = (await self.change(venue, asset, apply, enforce=False))[0]
        if not account.check():  # spent past its holding (held back while this worker was away)
            log.warning("ledger %s: holdings exceed the funds after a settlement by %s: %s",
                        ledger_key(venue, asset), me, account)
        return account

    async def reclaim(self, venue: str, asset: str, gone: set[str]) -> Decimal:
        """Free what workers no longer in the cluster held; returns the amount freed."""

        def drop(account: Account) -> tuple[Account, Decimal]:
            freed = sum((v for w, v in account.held.items() if w in gone), ZERO)
            if not freed:
                return account, ZERO
            return Account(account.funds, {w: v for w, v in account.held.items() if w not in gone}), freed

        return (await self.change(venue, asset, drop))[1]

    async def accounts(self) -> dict[str, Account]:
        """Every account (``venue.asset`` -> account), for status and audits."""
        try:
            keys = await self.kv.keys()
        except nats.js.errors.NoKeysError:
            return {}
        out = {}
        for key in keys:
            try:
                out[key] = decode_account((await self.kv.get(key)).value)
            except nats.js.errors.KeyNotFoundError:
                continue
        return out


