"""[6] Executor: both legs at once as IOC limits; the only place prices become exact decimals.

For one approved opportunity:
1. round the kernel's quantity down to the coarser of the two steps and the worst prices (plus the
   slippage allowance) outward to each venue's tick, with `Decimal`; check min qty and min notional
   on both legs before either is sent; ask the risk manager (which reserves balances);
2. derive deterministic client order ids from (opportunity id, leg, attempt), track both orders and
   journal the opportunity and both intents, waiting for the commit, *before* anything is sent;
3. send both legs concurrently; a timeout, a 5xx or an "execution status unknown" code makes a leg
   UNKNOWN and it is resolved by client id, then by the venue's open orders and recent trades; a leg
   the venue answered without a final state (a bare acknowledgement) is queried until final, and the
   fills of a leg whose replies carried none are fetched from the venue's trade history;
4. while a leg is unresolved it counts as exposure at its full size and nothing is hedged: the
   position is not known. A leg still unresolved at `unknown_deadline_ms` HALTs trading with the
   possible position range in the reason;
5. once every leg is final, the opportunity's net position (its fills, all orders included) is a
   residual with a deadline and a budget: it is closed by IOC orders on whichever venue's book is
   cheaper (completing the short leg or unwinding the long one) within `residual_max_bps` of the
   opportunity's prices; if that fails, trading HALTs. A late fill (an order already final that
   traded after all) reopens the opportunity: its net position is recomputed and closed the same way.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import msgspec

from arb._core.book import L2Book
from arb.config import ExecutorConfig
from arb.engine.detector import Funnel
from arb.engine.failpoints import Failpoints
from arb.engine.journal import Journal
from arb.engine.orders import OrderTracker, exposure
from arb.engine.reasons import Gate, Reason
from arb.engine.risk import RiskManager
from arb.errors import DecodeError, ExchangeError, OrderOutcomeUnknownError
from arb.model import ZERO, Opportunity, Order, OrderStatus, OrderType, Side, Symbol, SymbolInfo, TimeInForce
from arb.venues.base import PrivateExchangeInterface
from arb.venues.spec import ClientIdRule

log = logging.getLogger(__name__)

MS = 1_000_000
BPS = Decimal("0.0001")
RECENT = 1_000  # opportunities kept for late fills (bounded)
JOURNAL_WAIT_S = 1.0  # a hedge waits at most this long for its intent to be durable
ROUNDS = 4  # hedging rounds per opportunity (an unresolved hedge or a late fill adds one)


def round_down(value: Decimal, step: Decimal) -> Decimal:
    return ((value / step).to_integral_value(ROUND_FLOOR) * step).quantize(step)


def round_up(value: Decimal, step: Decimal) -> Decimal:
    return ((value / step).to_integral_value(ROUND_CEILING) * step).quantize(step)


PLAIN_IDS = ClientIdRule()  # venues without a rule of their own (test doubles) take ids as they are


class OutcomeStatus(enum.IntEnum):
    """How one opportunity ended (`word` is its spelling in the status API and the journal's views)."""

    REJECTED = 0  # never sent (a gate, a risk limit, a dead journal)
    NONE = 1  # sent, neither leg filled
    FILLED = 2  # both legs filled equally
    PARTIAL = 3  # legs filled unequally, nothing left to hedge (dust)
    RESIDUAL_CLOSED = 4  # one-legged, then flattened
    HALTED = 5  # one-legged or unresolved: trading HALTED with the position in the reason

    @property
    def word(self) -> str:
        return self.name.lower().replace("_", "-")


class Outcome(msgspec.Struct):
    """What happened to one opportunity."""

    opportunity_id: str
    status: OutcomeStatus
    reason: Reason | None = None  # REJECTED: a `Gate`, a `Refusal` or the trade gate's reason
    buy: Order | None = None
    sell: Order | None = None
    residual: Decimal = ZERO
    pnl: Decimal = ZERO
    residual_ms: float | None = None  # how long one-legged exposure stayed open (None: there was none)


class Executor:
    """Sends both legs of approved opportunities and sees every order to a final state."""

    def __init__(
        self,
        config: ExecutorConfig,
        *,
        privates: Mapping[str, PrivateExchangeInterface],
        symbols: Mapping[tuple[str, Symbol], SymbolInfo],
        taker_fee: Callable[[str, Symbol], float],
        book: Callable[[str, Symbol], L2Book | None],
        tracker: OrderTracker,
        risk: RiskManager,
        funnel: Funnel,
        clock_ns: Callable[[], int],
        journal: Journal | None = None,
        client_ids: Mapping[str, ClientIdRule] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        failpoints: Failpoints | None = None,
        on_refused: Callable[[str, Symbol, ExchangeError], None] | None = None,
        halted: Callable[[str, Symbol], bool] | None = None,
    ) -> None:
        self.config = config
        self._failpoints = failpoints or Failpoints()
        self._on_refused = on_refused  # a venue refused an order (the engine gates halted symbols)
        self._halted = halted  # (venue, symbol) the venue stopped trading: no hedge goes there
        self._privates = privates
        self._symbols = symbols
        self._fee = taker_fee
        self._book = book
        self.tracker = tracker
        self.risk = risk
        self.funnel = funnel
        self._clock = clock_ns
        self._journal = journal
        self._client_ids = dict(client_ids or {})  # venue -> its spec's rule (prefix, alphabet, length)
        self._sleep = sleep
        self._active: dict[str, bool] = {}  # opportunity id -> a late fill arrived while settling
        self._recent: dict[str, Opportunity] = {}  # the last RECENT opportunities (late fills)
        self._exposure: dict[str, Decimal] = {}  # opportunity id -> its unhedged notional

    # ------------------------------------------------------------------ entry point

    async def execute(self, opp: Opportunity) -> Outcome:
        buy_info = self._symbols.get((opp.buy_venue, opp.symbol))
        sell_info = self._symbols.get((opp.sell_venue, opp.symbol))
        if buy_info is None or sell_info is None:
            return self._rejected(opp, Gate.UNKNOWN_SYMBOL_RULES)
        step = max(buy_info.step_size, sell_info.step_size)
        qty = round_down(Decimal(repr(opp.quantity)), step)
        if qty % min(buy_info.step_size, sell_info.step_size):
            return self._rejected(opp, Gate.INCOMPATIBLE_STEPS)
        slip = Decimal(repr(self.config.slippage_bps)) * BPS
        buy_px = round_up(Decimal(repr(opp.buy_worst)) * (1 + slip), buy_info.tick_size)
        sell_px = round_down(Decimal(repr(opp.sell_worst)) * (1 - slip), sell_info.tick_size)
        if not (_meets_minimums(buy_info, qty, buy_px) and _meets_minimums(sell_info, qty, sell_px)):
            return self._rejected(opp, Gate.BELOW_MINIMUM)
        moved = self._moved(opp, qty, buy_px, sell_px)
        if moved is not None:
            return self._rejected(opp, moved)
        self.funnel.hit("sized")
        decision = self.risk.approve(opp, buy_fee=self._fee(opp.buy_venue, opp.symbol), quantity=qty,
                                     buy_price=buy_px)
        if not decision.approved:  # counted by the risk manager
            return Outcome(opp.id, OutcomeStatus.REJECTED, decision.reason)
        self.funnel.hit("approved")
        try:
            return await self._trade(opp, qty, buy_px, sell_px)
        finally:
            self.risk.release(opp.id)

    def _rejected(self, opp: Opportunity, reason: Gate) -> Outcome:
        """Counted (funnel gates; the risk manager counts its refusals), never journaled one by one:
        a HALTed or limit-blocked engine would write a row per symbol cooldown forever."""
        self.funnel.gate(reason)
        return Outcome(opp.id, OutcomeStatus.REJECTED, reason)

    # ------------------------------------------------------------------ the two legs

    def client_id(self, venue: str, base_id: str) -> str:
        """The venue's spelling of an engine id (its `ClientIdRule`: prefix, alphabet, length)."""
        return self._client_ids.get(venue, PLAIN_IDS).make(base_id)

    def _new_order(self, opp: Opportunity, venue: str, side: Side, qty: Decimal, price: Decimal,
                   tag: str) -> Order:
        now = self._clock()
        return Order(
            venue=venue, symbol=opp.symbol, client_order_id=self.client_id(venue, f"{opp.id}{tag}"),
            side=side, type=OrderType.LIMIT, quantity=qty, price=price,
            time_in_force=TimeInForce.IOC, ts_created=now, ts_updated=now,
        )

    async def _trade(self, opp: Opportunity, qty: Decimal, buy_px: Decimal, sell_px: Decimal) -> Outcome:
        buy = self._new_order(opp, opp.buy_venue, Side.BUY, qty, buy_px, "b0")
        sell = self._new_order(opp, opp.sell_venue, Side.SELL, qty, sell_px, "s0")
        self.tracker.track(buy, opportunity_id=opp.id, leg="buy")
        self.tracker.track(sell, opportunity_id=opp.id, leg="sell")
        self._recent[opp.id] = opp
        while len(self._recent) > RECENT:
            self._recent.pop(next(iter(self._recent)))
        if self._journal is not None:
            self._journal.record_opportunity(opp, "approved")
            # inserted, never merged: a client id the journal already holds fails the flush below
            self._journal.record_intent(buy, opportunity_id=opp.id, leg="buy")
            self._journal.record_intent(sell, opportunity_id=opp.id, leg="sell")
            try:
                await self._journal.flush()  # nothing is sent before the intents are durable
            except Exception as exc:  # a dead journal: send nothing (the engine HALTs on it)
                log.error("%s: intents not durable, nothing sent: %s", opp.id, exc)
                for order in (buy, sell):
                    self.tracker.mark_rejected(order.client_order_id, "journal unavailable")
                self.risk.halt(f"journal refused the intents of {opp.id}, nothing sent: {exc}")
                return Outcome(opp.id, OutcomeStatus.REJECTED, Gate.JOURNAL_UNAVAILABLE)
        self._failpoints.hit("executor.intent")
        self.funnel.hit("sent")
        self._active[opp.id] = False
        try:
            buy_done, sell_done = await asyncio.gather(self._send(buy), self._send(sell))
            self._failpoints.hit("executor.filled")
            return await self._settle(opp, buy_done, sell_done)
        finally:
            self._active.pop(opp.id, None)

    async def _settle(self, opp: Opportunity, buy_done: Order, sell_done: Order) -> Outcome:
        """Resolve unknown legs, then flatten the opportunity's net position (or HALT)."""
        outcome = Outcome(opp.id, OutcomeStatus.PARTIAL, buy=buy_done, sell=sell_done)
        opened: int | None = None
        rounds = 0
        while True:
            rounds += 1
            self._active[opp.id] = False  # a late fill from here on sets it again
            if not await self._resolve_all(opp):
                outcome.status = OutcomeStatus.HALTED
                break
            net = self.net_position(opp.id)
            if not net:
                break
            if rounds > ROUNDS:  # the position keeps moving (late fills): stop and say so
                low, high = self.position_range(opp.id)
                self.risk.halt(f"{opp.id}: position still changing after {ROUNDS} rounds "
                               f"({_num(low)}..{_num(high)} {opp.symbol.base})")
                outcome.status = OutcomeStatus.HALTED
                break
            if opened is None:
                opened = self._clock()
                legs = {t.leg: t.order for t in self.tracker.for_opportunity(opp.id)}
                bought = legs["buy"].filled_qty if "buy" in legs else ZERO
                sold = legs["sell"].filled_qty if "sell" in legs else ZERO
                log.warning("%s %s: one-legged position opened by %s: %s %s (bought %s on %s, sold %s on %s)",
                            opp.buy_venue if net > 0 else opp.sell_venue, opp.symbol, opp.id, _num(net),
                            opp.symbol.base, bought, opp.buy_venue, sold, opp.sell_venue)
            left, unresolved = await self._close_residual(opp, net)
            if unresolved:
                continue  # the next round resolves the hedge before anything else is sent
            if left:
                outcome.status = OutcomeStatus.HALTED
                break
            if not self._active.get(opp.id):
                break  # closed (or dust) and no late fill meanwhile
        outcome.buy = self.tracker.get(buy_done.client_order_id) or buy_done
        outcome.sell = self.tracker.get(sell_done.client_order_id) or sell_done
        bought, sold = outcome.buy.filled_qty, outcome.sell.filled_qty
        if outcome.status is not OutcomeStatus.HALTED:
            if opened is not None:
                outcome.status = OutcomeStatus.RESIDUAL_CLOSED
            else:
                outcome.status = ((OutcomeStatus.FILLED if bought else OutcomeStatus.NONE) if bought == sold
                                  else OutcomeStatus.PARTIAL)
            if bought == sold and bought > ZERO:
                self.funnel.hit("both_filled")
        if opened is not None:
            outcome.residual_ms = (self._clock() - opened) / MS
            if outcome.status is not OutcomeStatus.HALTED:
                log.info("%s %s: one-legged position of %s closed in %.1f ms", opp.buy_venue
                         if bought >= sold else opp.sell_venue, opp.symbol, opp.id, outcome.residual_ms)
        outcome.residual = self.net_position(opp.id) if outcome.status is OutcomeStatus.HALTED else ZERO
        if outcome.status is not OutcomeStatus.HALTED:
            self._set_exposure(opp.id, ZERO)  # resolved and flat (or dust): nothing of it is unhedged
        outcome.pnl = self._realised(opp)
        self.risk.add_realised_pnl(outcome.pnl)
        return outcome

    def net_position(self, opportunity_id: str) -> Decimal:
        """Base bought minus base sold over every order of the opportunity (legs and hedges)."""
        net = ZERO
        for tracked in self.tracker.for_opportunity(opportunity_id):
            order = tracked.order
            net += order.filled_qty if order.side is Side.BUY else -order.filled_qty
        return net

    def position_range(self, opportunity_id: str) -> tuple[Decimal, Decimal]:
        """The net position if every unresolved order filled nothing / everything it still may."""
        low = high = self.net_position(opportunity_id)
        for tracked in self.tracker.for_opportunity(opportunity_id):
            more = exposure(tracked.order)
            if tracked.order.side is Side.BUY:
                high += more
            else:
                low -= more
        return low, high

    async def _resolve_all(self, opp: Opportunity) -> bool:
        """Wait for every order of the opportunity to be final; False (and HALT) at the deadline."""
        pending = [t.order for t in self.tracker.for_opportunity(opp.id) if not t.order.status.is_terminal]
        if not pending:
            return True
        low, high = self.position_range(opp.id)
        ref = Decimal(repr(opp.buy_vwap))
        self._set_exposure(opp.id, max(abs(low), abs(high)) * ref)
        deadline = self._clock() + self.config.unknown_deadline_ms * MS
        for order in pending:
            await self._finalise(order, deadline)
        pending = [t.order for t in self.tracker.for_opportunity(opp.id) if not t.order.status.is_terminal]
        if not pending:
            return True
        low, high = self.position_range(opp.id)
        ids = ", ".join(f"{o.venue} {o.client_order_id} {o.status.name}" for o in pending)
        self.risk.halt(f"{opp.id}: orders unresolved after {self.config.unknown_deadline_ms} ms ({ids}); "
                       f"{opp.symbol.base} position between {_num(low)} and {_num(high)}")
        return False

    def _set_exposure(self, opportunity_id: str, notional: Decimal) -> None:
        """This opportunity's share of the unhedged notional (the risk manager holds the total)."""
        before = self._exposure.pop(opportunity_id, ZERO)
        if notional:
            self._exposure[opportunity_id] = notional
        self.risk.set_unhedged(max(ZERO, self.risk.unhedged_notional - before + notional))

    def on_late_fill(self, opportunity_id: str) -> bool:
        """An order of `opportunity_id` traded after it was final. True when the opportunity is
        still being settled (it will see the new position); False: the caller must `reopen` it."""
        if opportunity_id in self._active:
            self._active[opportunity_id] = True
            return True
        return False

    async def reopen(self, opportunity_id: str) -> Outcome | None:
        """Settle an opportunity again after a late fill (its legs are final; hedge the new net)."""
        opp = self._recent.get(opportunity_id)
        if opp is None:
            self.risk.halt(f"late fill on {opportunity_id}, no longer in memory: position unknown")
            return None
        legs = {t.leg: t.order for t in self.tracker.for_opportunity(opportunity_id)}
        buy, sell = legs.get("buy"), legs.get("sell")
        if buy is None or sell is None:
            self.risk.halt(f"late fill on {opportunity_id}: its legs are no longer tracked")
            return None
        self._active[opportunity_id] = False
        try:
            return await self._settle(opp, buy, sell)
        finally:
            self._active.pop(opportunity_id, None)

    async def _send(self, order: Order) -> Order:
        """Place one order and follow it to a final state; an order whose outcome is unknown is
        returned UNKNOWN at once (`_resolve_all` counts its exposure, then resolves it). Never raises
        for venue errors."""
        private = self._privates[order.venue]
        cid = order.client_order_id
        try:
            answer = await private.place_order(
                order.symbol, order.side, order.type, order.quantity, cid, order.price, order.time_in_force
            )
        except (OrderOutcomeUnknownError, DecodeError) as exc:  # an unreadable reply: it may have traded
            log.warning("%s %s: order %s outcome unknown: %s", order.venue, order.symbol, cid, exc)
            self.tracker.mark_unknown(cid, str(exc))
            self.risk.record_result(order.venue, False)
            return self.tracker.get(cid) or order  # resolved by the caller, its exposure counted first
        except ExchangeError as exc:
            log.warning("%s %s: order %s rejected: %s", order.venue, order.symbol, cid, exc)
            self.tracker.mark_rejected(cid, f"{type(exc).__name__} {exc.api_code}")
            self.risk.record_result(order.venue, False)
            if self._on_refused is not None:
                self._on_refused(order.venue, order.symbol, exc)
            return self.tracker.get(cid) or order
        else:
            self._failpoints.hit("executor.sent")
            self.tracker.on_order(answer, "placed")
            self.risk.record_result(order.venue, True)
        return await self._finalise(order, self._clock() + self.config.unknown_deadline_ms * MS)

    async def _finalise(self, order: Order, deadline_ns: int) -> Order:
        """Query until the order is final (IOC: immediately on most venues); cancel if it lingers.

        An UNKNOWN order is resolved first (until `deadline_ns`); one still unknown is returned as is.
        """
        cid = order.client_order_id
        private = self._privates[order.venue]
        current = self.tracker.get(cid) or order
        if current.status is OrderStatus.UNKNOWN:
            current = await self.tracker.resolve(
                cid, private, grace_ns=self.config.unknown_grace_ms * MS, deadline_ns=deadline_ns,
                backoff_s=self.config.query_backoff_ms / 1000, sleep=self._sleep,
            )
            if current.status is OrderStatus.UNKNOWN:
                return current
        timeout = min(deadline_ns, self._clock() + self.config.order_timeout_ms * MS)
        while not current.status.is_terminal and self._clock() < timeout:
            await self.tracker.wait_final(cid, self._sleep, self.config.query_backoff_ms / 1000)
            current = self.tracker.get(cid) or current
            if current.status.is_terminal:
                break  # a push (user stream) finished it: no query needed
            try:
                current = self.tracker.on_order(
                    await private.get_order(order.symbol, client_order_id=cid), "queried"
                ) or current
            except (ExchangeError, DecodeError) as exc:  # a malformed answer too
                log.warning("%s %s: query of %s failed: %s", order.venue, order.symbol, cid, exc)
        if not current.status.is_terminal:
            try:
                current = self.tracker.on_order(
                    await private.cancel_order(order.symbol, client_order_id=cid), "canceled"
                ) or current
            except (ExchangeError, DecodeError) as exc:  # a malformed answer too
                log.warning("%s %s: cancel of %s failed: %s", order.venue, order.symbol, cid, exc)
        if not current.status.is_terminal and self._clock() < deadline_ns:
            # the cancel's answer was lost or refused: ask until the deadline (an open order may
            # still trade; it is exposure until the venue says it is done)
            current = await self.tracker.resolve(
                cid, private, grace_ns=self.config.unknown_grace_ms * MS, deadline_ns=deadline_ns,
                backoff_s=self.config.query_backoff_ms / 1000, sleep=self._sleep,
            )
        await self._backfill(current)
        return self.tracker.get(cid) or current

    async def _backfill(self, order: Order) -> None:
        """Fetch the fills of an order whose replies carried none from the venue's history."""
        tracked = self.tracker.tracked(order.client_order_id)
        if tracked is None or not order.status.is_terminal or order.filled_qty <= tracked.fill_qty:
            return
        try:
            fills = await self._privates[order.venue].my_trades(order.symbol)
        except (ExchangeError, DecodeError, NotImplementedError) as exc:
            log.warning("%s %s: fills of %s unavailable: %s", order.venue, order.symbol,
                        order.client_order_id, exc)
            return
        for fill in fills:
            owner = self.tracker.owner(fill)
            if owner is not None and self.tracker.on_fill(fill) and self._journal is not None:
                self._journal.record_fill(msgspec.structs.replace(fill, client_order_id=owner))

    # ------------------------------------------------------------------ residuals

    async def _close_residual(self, opp: Opportunity, residual: Decimal) -> tuple[Decimal, bool]:
        """Flatten `residual` base (positive: we hold extra base) or HALT.

        Returns (what is left, a hedge ended unresolved): on an unresolved hedge it returns at once;
        the caller resolves it and recomputes the position before anything else is sent.
        """
        cfg = self.config
        rid = f"{opp.id}r"
        opened = self._clock()
        deadline = opened + cfg.residual_deadline_ms * MS
        side = Side.SELL if residual > 0 else Side.BUY
        ref = Decimal(repr(opp.buy_vwap if side is Side.SELL else opp.sell_vwap))
        budget = Decimal(repr(cfg.residual_max_bps)) * BPS
        left = abs(residual)
        if self._journal is not None:
            self._journal.record_residual(rid, opp.id, opp.buy_venue if residual > 0 else opp.sell_venue,
                                          opp.symbol, side, left, opened)
        self._set_exposure(opp.id, left * ref)
        attempt = sum(1 for t in self.tracker.for_opportunity(opp.id) if t.leg == "residual")
        tries = 0
        while left > ZERO and tries < cfg.residual_max_attempts and self._clock() < deadline:
            attempt += 1
            tries += 1
            # a venue that refused twice in this opportunity (halted symbol, rules) is skipped
            refusals = [t.order.venue for t in self.tracker.for_opportunity(opp.id)
                        if t.order.status is OrderStatus.REJECTED]
            refused = {v for v in refusals if refusals.count(v) >= 2}
            if self._halted is not None:
                refused |= {v for v in (opp.buy_venue, opp.sell_venue) if self._halted(v, opp.symbol)}
            venue = self._cheapest(opp, side, refused)
            info = self._symbols[(venue, opp.symbol)]
            qty = round_down(left, info.step_size)
            if side is Side.SELL:
                price = round_down(ref * (1 - budget), info.tick_size)
            else:
                price = round_up(ref * (1 + budget), info.tick_size)
            if qty <= ZERO or not _meets_minimums(info, qty, price):
                break  # dust below the venue's minimum: cannot be traded away
            order = self._new_order(opp, venue, side, qty, price, f"r{attempt}")
            self.tracker.track(order, opportunity_id=opp.id, leg="residual")
            if self._journal is not None:
                self._journal.record_intent(order, opportunity_id=opp.id, leg="residual")
                try:  # bounded: a dead journal must not keep the hedge from going out
                    await asyncio.wait_for(self._journal.flush(), JOURNAL_WAIT_S)
                except Exception as exc:
                    log.error("%s: hedge %s sent without a durable intent: %s", opp.id,
                              order.client_order_id, type(exc).__name__)
            done = await self._send(order)
            if not done.status.is_terminal:
                return left, True
            left -= done.filled_qty
        now = self._clock()
        if left > ZERO and not self._is_dust(opp, left, ref):
            self._set_exposure(opp.id, left * ref)
            self.risk.halt(f"residual {left} {opp.symbol.base} of {opp.id} not closed")
            return left, False
        self._set_exposure(opp.id, ZERO)  # closed, or dust below every venue's minimum
        if self._journal is not None:
            self._journal.close_residual(rid, now, "closed" if left == ZERO else f"dust {left}")
        return ZERO, False

    def _is_dust(self, opp: Opportunity, left: Decimal, ref: Decimal) -> bool:
        infos = [self._symbols[(v, opp.symbol)] for v in (opp.buy_venue, opp.sell_venue)]
        return all(not _meets_minimums(info, round_down(left, info.step_size), ref) for info in infos)

    def _moved(self, opp: Opportunity, qty: Decimal, buy_px: Decimal, sell_px: Decimal) -> Gate | None:
        """Why the books as they are now cannot fill both IOC legs in full (None if they can).

        The detector saw the books when one venue's update landed; venues re-quote at the same
        instants, and by the time this task runs the other venue's update of that instant may have
        taken the liquidity away. Sending then leaves one leg unfilled and the trade one-legged.
        """
        need = float(qty)
        for venue, is_bid, limit in ((opp.buy_venue, False, buy_px), (opp.sell_venue, True, sell_px)):
            book = self._book(venue, opp.symbol)
            if book is None:
                return Gate.BOOK_NOT_SYNCED_AT_SEND
            if book.depth_for(is_bid, float(limit)) < need:
                return Gate.BOOK_MOVED_BEFORE_SEND
        return None

    def _cheapest(self, opp: Opportunity, side: Side, refused: set[str] | None = None) -> str:
        """The venue (of the two legs, minus those that refused) whose book is better for this side now."""
        venues = [v for v in (opp.buy_venue, opp.sell_venue) if v not in (refused or ())]
        venues = venues or [opp.buy_venue, opp.sell_venue]
        best_venue, best_price = venues[0] if len(venues) == 1 else (
            opp.sell_venue if side is Side.SELL else opp.buy_venue), None
        for venue in venues:
            book = self._book(venue, opp.symbol)
            top = None if book is None else (book.best_bid() if side is Side.SELL else book.best_ask())
            if top is None:
                continue
            if best_price is None or (top[0] > best_price if side is Side.SELL else top[0] < best_price):
                best_venue, best_price = venue, top[0]
        return best_venue

    def _realised(self, opp: Opportunity) -> Decimal:
        """Quote received minus paid minus fees over the opportunity's orders, in quote.

        A fee charged in the quote asset is subtracted as is; one charged in the base asset (some
        venues take a spot buy's fee from the coin bought) is valued at the order's own average fill
        price. Base still held (an open residual) is valued at the buy price, so inventory that was
        not sold is not booked as a loss.
        """
        pnl = position = ZERO
        for tracked in self.tracker.for_opportunity(opp.id):
            order = tracked.order
            sign = 1 if order.side is Side.SELL else -1
            pnl += sign * order.filled_quote
            position -= sign * order.filled_qty
            if order.fee_asset == order.symbol.quote:
                pnl -= order.fee
            elif order.fee_asset == order.symbol.base and order.filled_qty:
                pnl -= order.fee * order.filled_quote / order.filled_qty
        return pnl + position * Decimal(repr(opp.buy_vwap))


def _num(value: Decimal) -> str:
    """A quantity as a trader reads it (no exponent, no trailing zeros)."""
    return format(value.normalize(), "f") if value else "0"


def _meets_minimums(info: SymbolInfo, qty: Decimal, price: Decimal) -> bool:
    return qty > ZERO and qty >= info.min_qty and qty * price >= info.min_notional
