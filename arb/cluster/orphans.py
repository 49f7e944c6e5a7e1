"""Open orders a dead owner left behind: found and cancelled by the symbol's new owner before it trades.

Every cluster worker's client ids carry its run tag, ``<run>-<start second, base 36><salt>-``, where the
salt is 3 base-36 characters of the worker's name (`arb.engine.runtag.instance_salt`), then the
opportunity's sequence (6 digits) and the leg (``b0``, ``s0``, ``r1``...); each venue spells it with its
`ClientIdRule` (a prefix, characters it refuses dropped). `id_salt` reads the salt back from a venue's
spelling: with the dashes kept it is the last 3 characters of the middle part; without them (OKX)
the 3 characters before the 6-digit sequence that precedes the leg.

When a worker takes a symbol whose previous holder is no longer a live member (it died, or nobody
knows who held it: the cluster restarted), `Takeover` sweeps every venue listing the symbol: its open
orders whose id carries a salt (the cluster's), not a live member's and not an order this worker
tracks, are cancelled (residual-closing orders can rest), then the sweep runs again until one finds
nothing left to cancel and met no error. Until then the worker's gate refuses the symbol. What was
found and done is logged, journaled (a risk event) and published (a cluster event).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from arb.engine.runtag import instance_salt
from arb.errors import DecodeError, ExchangeError
from arb.model import Order, Symbol
from arb.venues.base import PrivateExchangeInterface
from arb.venues.spec import ClientIdRule

log = logging.getLogger(__name__)

SECONDS_CHARS = 6  # the start second in base 36 (6 characters until 2038)
DASHED = re.compile(r"^\d+-([0-9a-z]+)-\d{6,}[a-z]\d*$")
PLAIN = re.compile(rf"^\d+?[0-9a-z]{{{SECONDS_CHARS}}}([0-9a-z]{{3}})\d{{6}}[a-z]\d*$")
RETRY_S = 0.5  # between sweeps of one symbol (a cancel to confirm, a venue that failed), doubling
MAX_RETRY_S = 15.0


class ReconcileEvent(enum.IntEnum):
    """What cluster reconciliation journals (risk events) and publishes."""

    ORPHANS_CANCELLED = 1  # a dead owner's open orders cancelled by the symbol's new owner
    LEDGER_CORRECTED = 2  # the ledger's funds set to the venues' balances


def id_salt(client_order_id: str, rule: ClientIdRule | None) -> str | None:
    """The worker salt in a venue's spelling of an arb client id (None: not a cluster worker's id)."""
    prefix = rule.prefix if rule is not None else ""
    if not client_order_id.startswith(prefix):
        return None
    body = client_order_id[len(prefix):]
    dashed = DASHED.match(body)
    if dashed is not None:
        middle = dashed.group(1)
        return middle[-3:] if len(middle) >= SECONDS_CHARS + 3 else None
    plain = PLAIN.match(body)
    return plain.group(1) if plain is not None else None


class VenueAccess(NamedTuple):
    """What cluster reconciliation needs from the engine (`arb.cluster.wiring` builds it).

    privates: each venue's signed connector (open orders, cancels, balances); rules: each venue's
    client id rule; listed(venue, symbol): the venue trades the symbol; tracked(client id): this
    engine tracks the order; activity(): (trades and orders in flight, order changes so far);
    record(kind, venue, detail): journal a risk event; live: the venues are real accounts (paper
    venues are each worker's own: no shared balance to reconcile).
    """

    privates: Mapping[str, PrivateExchangeInterface]
    rules: Mapping[str, ClientIdRule]
    listed: Callable[[str, Symbol], bool]
    tracked: Callable[[str], bool]
    activity: Callable[[], tuple[int, int]]
    record: Callable[[str, str, str], None]
    live: bool


class Sweep(NamedTuple):
    cancelled: list[Order]
    left: list[str]  # the cluster's orders of live members, or not the cluster's: left alone
    errors: list[str]


async def sweep(symbol: Symbol, access: VenueAccess, spared: set[str]) -> Sweep:
    """One pass over every venue listing `symbol`: cancel the cluster's open orders whose salt is not
    in `spared` (live members other than us) and which this engine does not track."""
    out = Sweep([], [], [])
    for venue, private in sorted(access.privates.items()):
        if not access.listed(venue, symbol):
            continue
        try:
            orders = await private.open_orders(symbol)
        except (ExchangeError, DecodeError) as exc:
            out.errors.append(f"{venue} open orders: {exc}")
            continue
        for order in orders:
            cid = order.client_order_id
            salt = id_salt(cid, access.rules.get(venue))
            if salt is None or salt in spared or access.tracked(cid):
                out.left.append(f"{venue} {cid}")
                continue
            try:
                out.cancelled.append(await private.cancel_order(symbol, client_order_id=cid))
            except (ExchangeError, DecodeError) as exc:  # filled or cancelled meanwhile: the next pass sees
                out.errors.append(f"{venue} cancel {cid}: {exc}")
    return out


class Takeover:
    """The symbols this worker took whose previous owner's open orders are not reconciled yet.

    Parameters
    ----------
    worker:
        This worker's name.
    access:
        The engine's venues.
    members:
        The live members, as the worker last read them.
    report:
        Called with (symbol, cancelled orders, orders left) once a symbol is reconciled and
        something was found (the worker logs, journals and publishes it).
    """

    def __init__(self, worker: str, access: VenueAccess, members: Callable[[], Iterable[str]],
                 report: Callable[[Symbol, list[Order], list[str]], None]) -> None:
        self.worker = worker
        self.access = access
        self._members = members
        self._report = report
        self.pending: set[Symbol] = set()  # refused by the gate until reconciled
        self.last_holders: dict[str, str] = {}  # symbol -> its holder at the worker's previous tick
        self.swept = 0
        self.cancelled = 0
        self._tasks: dict[Symbol, asyncio.Task[None]] = {}

    def acquired(self, symbol: Symbol) -> None:
        """We took `symbol`: reconcile it unless its last holder is a live member (a clean handover)."""
        before = self.last_holders.get(str(symbol))
        members = set(self._members())
        if before is not None and before != self.worker and before in members:
            return
        self.pending.add(symbol)
        if symbol not in self._tasks:
            task = asyncio.get_running_loop().create_task(self._reconcile(symbol), name=f"orphans {symbol}")
            self._tasks[symbol] = task
            task.add_done_callback(lambda _: self._tasks.pop(symbol, None))

    def lost(self, symbol: Symbol) -> None:
        task = self._tasks.pop(symbol, None)
        if task is not None:
            task.cancel()
        self.pending.discard(symbol)

    async def _reconcile(self, symbol: Symbol) -> None:
        cancelled: list[Order] = []
        wait = RETRY_S
        while True:
            spared = {instance_salt(m) for m in self._members() if m != self.worker}
            result = await sweep(symbol, self.access, spared)
            self.swept += 1
            cancelled += result.cancelled
            if not result.cancelled and not result.errors:
                break
            if result.errors:
                log.warning("%s: reconciling %s's open orders: %s (retrying)", self.worker, symbol,
                            "; ".join(result.errors))
            await asyncio.sleep(wait)
            wait = min(2 * wait, MAX_RETRY_S)  # a venue that is away is not asked twice a second
        self.cancelled += len(cancelled)
        self.pending.discard(symbol)
        if cancelled:
            self._report(symbol, cancelled, result.left)
        else:
            log.info("%s: %s taken over: no open order of a departed worker", self.worker, symbol)

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
