"""[5] RiskManager: trading state, limits, balance reservations and per-venue circuit breakers.

- Trading state ACTIVE / REDUCING / HALTED. HALTED is persisted (a small JSON file in the data dir)
  and survives restarts; only `resume()` (``arb-engine resume``) clears it. Every change is logged
  and reported to `on_event` (the engine journals it) with its reason and `Source`; `persist` writes
  the file (durably: temp file, fsync, rename, fsync of the directory; the engine does it off the
  loop). `apply_external` takes a state an operator wrote to the file while the engine runs.
- `approve()` checks an opportunity against every limit and, when it passes, reserves the quote it
  spends on the buy venue (fee included) and the base it sells on the sell venue; `release()` gives
  the reservation back when the trade is over (fills settle through `on_balance`/`apply_fill`).
- A venue whose calls fail `max_consecutive_failures` times in a row opens its circuit for
  `circuit_cooldown_s`. `circuit()` / `circuit_open()` are pure queries (the detector's gate asks
  them for every book update). After the cooldown the circuit is HALF_OPEN: the next opportunity
  `approve()` passes reserves the one trial (the circuit reads OPEN to everyone else meanwhile); its
  order's success closes the circuit, its failure reopens it for another cooldown, and an
  opportunity released without a result on that venue gives the trial back.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import os
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec

from arb.config import RiskConfig
from arb.engine.hooks import TradeGate
from arb.engine.reasons import Reason, Refusal, by_text
from arb.model import ZERO, Opportunity, Side

NS = 1_000_000_000
DAY_NS = 86_400 * NS
log = logging.getLogger(__name__)


class TradingState(enum.IntEnum):
    ACTIVE = 1
    REDUCING = 2  # no new opportunities; residuals may still be worked off
    HALTED = 3  # nothing is sent


class Source(enum.IntEnum):
    """Who changed the trading state."""

    ENGINE = 1  # a risk limit, reconciliation, a failed journal, an executor error
    OPERATOR = 2  # `arb-engine halt` / `resume`: the state file changed under a running engine


class RiskEvent(enum.IntEnum):
    """What `on_event` reports (journaled as ``risk_events.kind``, by name)."""

    HALT = 1
    RESUME = 2
    REDUCE = 3
    CIRCUIT_OPEN = 4
    CIRCUIT_TRIAL = 5
    CIRCUIT_CLOSED = 6


class CircuitState(enum.IntEnum):
    CLOSED = 1
    OPEN = 2  # cooling down, or its one trial is in flight
    HALF_OPEN = 3  # cooled down: the next approved opportunity may take the trial


STATE_EVENTS = {TradingState.HALTED: RiskEvent.HALT, TradingState.ACTIVE: RiskEvent.RESUME,
                TradingState.REDUCING: RiskEvent.REDUCE}
STATE_FILE = "trading_state.json"
STATE_REFUSALS = {TradingState.REDUCING: Refusal.STATE_REDUCING, TradingState.HALTED: Refusal.STATE_HALTED}


def state_path(data_dir: str | Path) -> Path:
    """Where the persisted trading state lives inside the engine's data dir."""
    return Path(data_dir) / STATE_FILE


def read_state(path: Path) -> tuple[TradingState, str]:
    """The persisted state; ACTIVE when no file exists, HALTED when it cannot be read."""
    try:
        data = json.loads(path.read_text())
        return TradingState[str(data.get("state", "HALTED"))], str(data.get("reason", ""))
    except FileNotFoundError:
        return TradingState.ACTIVE, ""
    except (OSError, ValueError, KeyError):
        return TradingState.HALTED, f"unreadable state file {path}"


def write_state(path: Path, state: TradingState, reason: str, now_ns: int,
                source: Source = Source.ENGINE) -> os.stat_result:
    """Persist the trading state atomically and durably: write a temp file and fsync it, rename it
    over the old one, fsync the directory (blocking: run it off the event loop). Returns the
    written file's stat (what a watcher will see for this version)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    data = json.dumps({"state": state.name, "reason": reason, "ts_ns": now_ns, "source": source.name})
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data.encode())
        os.fsync(fd)
        written = os.fstat(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return written


class Decision(msgspec.Struct, frozen=True):
    approved: bool
    reason: Reason | None = None  # a `Refusal`, or the trade gate's own reason; None when approved


APPROVED = Decision(True)


class _Circuit:
    __slots__ = ("failures", "open_until", "trial")

    def __init__(self) -> None:
        self.failures = 0
        self.open_until = 0  # 0: closed
        self.trial = ""  # the opportunity holding the half-open trial ("" none)


class Reservation(msgspec.Struct, frozen=True):
    opportunity_id: str
    buy_venue: str
    sell_venue: str
    quote_asset: str
    base_asset: str
    quote: Decimal
    base: Decimal
    notional: Decimal


class RiskManager:
    """Approves opportunities, tracks balances net of reservations, and holds the trading state.

    Parameters
    ----------
    config:
        The `[risk]` section.
    state_path:
        Where the trading state is persisted (created on first halt).
    clock_ns:
        Injected clock.
    """

    def __init__(self, config: RiskConfig, state_path: Path, clock_ns: Callable[[], int]) -> None:
        self.config = config
        self._state_path = state_path
        self._clock = clock_ns
        self.state = TradingState.ACTIVE
        self.reason = ""
        self.also = ""  # an engine HALT while already HALTED: a RESUME of the first must not clear it
        self._balances: dict[tuple[str, str], Decimal] = {}
        self._reserved: dict[tuple[str, str], Decimal] = {}
        self._available_f: dict[tuple[str, str], float] = {}
        self._reservations: dict[str, Reservation] = {}
        self._circuits: dict[str, _Circuit] = {}
        self._sent: deque[int] = deque()
        self._day_start = clock_ns() - clock_ns() % DAY_NS
        self.realised_pnl = ZERO
        self.unhedged_notional = ZERO
        self.rejections: dict[Refusal, int] = {}
        self.gate_rejections: dict[Reason, int] = {}  # the trade gate's refusals, by its own reasons
        # (event, venue, detail) for every state change and circuit transition (the engine journals them)
        self.on_event: Callable[[RiskEvent, str, str], None] | None = None
        # writes the state file; the engine swaps in one that runs off the event loop
        self.persist: Callable[[TradingState, str, int, Source], object] = functools.partial(
            write_state, state_path)
        self.gate: TradeGate | None = None  # cluster mode: admission from the worker's allocation
        self._load_state()

    # ------------------------------------------------------------------ trading state

    def _load_state(self) -> None:
        self.state, self.reason = read_state(self._state_path)

    def now_ns(self) -> int:
        return self._clock()

    def _emit(self, event: RiskEvent, venue: str, detail: str) -> None:
        if self.on_event is not None:
            self.on_event(event, venue, detail)

    def _change(self, state: TradingState, reason: str, source: Source, *, save: bool = True) -> None:
        if (state, reason) == (self.state, self.reason):
            return
        if state is self.state is TradingState.HALTED and source is Source.ENGINE:
            # the first reason is the root cause (a failed journal, then the trade it failed): kept
            log.warning("trading already HALTED (%s); also: %s", self.reason, reason)
            self.also = self.also or reason
            self._emit(RiskEvent.HALT, "", f"HALTED->HALTED source={source.name} reason={reason}")
            return
        was = self.state
        self.state, self.reason, self.also = state, reason, ""
        level = logging.INFO if state is TradingState.ACTIVE else logging.WARNING
        log.log(level, "trading %s (was %s, by %s)%s", state.name, was.name, source.name.lower(),
                f": {reason}" if reason else "")
        if save:
            self.persist(state, reason, self._clock(), source)
        self._emit(STATE_EVENTS[state], "", f"{was.name}->{state.name} source={source.name} reason={reason}")

    def halt(self, reason: str, source: Source = Source.ENGINE) -> None:
        """Stop sending anything; persisted until `resume()`."""
        self._change(TradingState.HALTED, reason, source)

    def reduce(self, reason: str, source: Source = Source.ENGINE) -> None:
        if self.state is TradingState.ACTIVE:
            self._change(TradingState.REDUCING, reason, source)

    def resume(self, source: Source = Source.ENGINE) -> None:
        self._change(TradingState.ACTIVE, "", source)

    def apply_external(self, state: TradingState, reason: str) -> None:
        """A state an operator wrote to the state file while the engine runs (already persisted)."""
        self._change(state, reason, Source.OPERATOR, save=False)

    # ------------------------------------------------------------------ balances

    def set_balance(self, venue: str, asset: str, free: Decimal) -> None:
        """The venue's free balance (from REST or the user stream); reservations stay on top."""
        self._balances[(venue, asset)] = free
        self._refresh(venue, asset)

    def available(self, venue: str, asset: str) -> Decimal:
        """Free balance minus what approved, unfinished opportunities have reserved."""
        key = (venue, asset)
        return self._balances.get(key, ZERO) - self._reserved.get(key, ZERO)

    def available_float(self, venue: str, asset: str) -> float:
        """`available` as a float, kept up to date on every change (the detector's hot path)."""
        return self._available_f.get((venue, asset), 0.0)

    def _refresh(self, venue: str, asset: str) -> None:
        self._available_f[(venue, asset)] = float(self.available(venue, asset))

    def _reserve(self, venue: str, asset: str, amount: Decimal) -> None:
        key = (venue, asset)
        self._reserved[key] = self._reserved.get(key, ZERO) + amount
        self._refresh(venue, asset)

    def release(self, opportunity_id: str) -> None:
        """Return an opportunity's reservation (its fills have settled or it failed)."""
        for venue, circuit in self._circuits.items():
            if circuit.trial == opportunity_id:  # it ended without an order result on the venue
                circuit.trial = ""
                log.info("%s: circuit trial of %s returned unused", venue, opportunity_id)
        if self.gate is not None:
            self.gate.release(opportunity_id)
        res = self._reservations.pop(opportunity_id, None)
        if res is None:
            return
        self._reserve(res.buy_venue, res.quote_asset, -res.quote)
        self._reserve(res.sell_venue, res.base_asset, -res.base)

    @property
    def open_opportunities(self) -> int:
        return len(self._reservations)

    # ------------------------------------------------------------------ circuits

    def circuit(self, venue: str) -> CircuitState:
        """The venue's circuit now (a pure query: asking changes nothing)."""
        circuit = self._circuits.get(venue)
        if circuit is None or circuit.open_until == 0:
            return CircuitState.CLOSED
        if circuit.trial or self._clock() < circuit.open_until:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def circuit_open(self, venue: str) -> bool:
        """True while nothing may go to `venue` (a half-open circuit lets its trial through)."""
        return self.circuit(venue) is CircuitState.OPEN

    def open_circuits(self) -> dict[str, CircuitState]:
        """Venues whose circuit is not closed (for /readyz and /status)."""
        return {venue: state for venue in self._circuits
                if (state := self.circuit(venue)) is not CircuitState.CLOSED}

    def record_result(self, venue: str, ok: bool) -> None:
        """Feed every order outcome; consecutive failures open the venue's circuit."""
        circuit = self._circuits.setdefault(venue, _Circuit())
        if ok:
            was_open = circuit.open_until != 0
            circuit.failures, circuit.open_until, circuit.trial = 0, 0, ""
            if was_open:
                log.info("%s: circuit closed (an order went through)", venue)
                self._emit(RiskEvent.CIRCUIT_CLOSED, venue, "order succeeded")
            return
        circuit.failures += 1
        if circuit.trial or circuit.failures >= self.config.max_consecutive_failures:
            detail = (f"trial {circuit.trial} failed" if circuit.trial
                      else f"{circuit.failures} consecutive failures")
            circuit.open_until = self._clock() + int(self.config.circuit_cooldown_s * NS)
            circuit.trial = ""
            log.warning("%s: circuit open for %.1f s (%s)", venue, self.config.circuit_cooldown_s, detail)
            self._emit(RiskEvent.CIRCUIT_OPEN, venue, detail)

    def _take_trials(self, opp: Opportunity) -> None:
        for venue in {opp.buy_venue, opp.sell_venue}:
            if self.circuit(venue) is CircuitState.HALF_OPEN:
                self._circuits[venue].trial = opp.id
                log.info("%s: circuit half-open, %s is the trial", venue, opp.id)
                self._emit(RiskEvent.CIRCUIT_TRIAL, venue, f"trial {opp.id}")

    # ------------------------------------------------------------------ PnL and exposure

    def pnl_today(self) -> Decimal:
        """Realised PnL of the current UTC day: a new day starts at zero before its first fill
        (yesterday's loss must not keep counting against today's limit, in /status or the cluster's)."""
        now = self._clock()
        if now - self._day_start >= DAY_NS:
            self._day_start, self.realised_pnl = now - now % DAY_NS, ZERO
        return self.realised_pnl

    def add_realised_pnl(self, amount: Decimal) -> None:
        self.realised_pnl = self.pnl_today() + amount
        if self.gate is not None:
            self.gate.on_pnl(amount)
        if -self.realised_pnl >= Decimal(str(self.config.max_daily_loss)):
            self.halt(f"daily realised loss {-self.realised_pnl} reached the limit")

    def set_unhedged(self, notional: Decimal) -> None:
        self.unhedged_notional = notional
        if notional > Decimal(str(self.config.max_unhedged_notional)):
            self.halt(f"unhedged notional {notional} above the limit")

    # ------------------------------------------------------------------ approval

    def _reject(self, reason: Refusal) -> Decision:
        self.rejections[reason] = self.rejections.get(reason, 0) + 1
        return Decision(False, reason)

    def rejection_counts(self) -> dict[str, int]:
        """Every refusal so far, ours and the trade gate's, by the words people read."""
        return by_text(self.rejections, self.gate_rejections)

    def approve(self, opp: Opportunity, *, buy_fee: float, quantity: Decimal,
                buy_price: Decimal | None = None) -> Decision:
        """Check `opp` (at the executor's rounded `quantity`) and reserve balances if it passes.

        `buy_price` is the buy leg's IOC limit (worst price plus slippage, rounded to the tick): the
        quote reserved covers it times the quantity plus the fee, the most the leg can spend.
        """
        cfg = self.config
        if self.state is not TradingState.ACTIVE:
            return self._reject(STATE_REFUSALS[self.state])
        if self.open_opportunities >= cfg.max_open_opportunities:
            return self._reject(Refusal.MAX_OPEN_OPPORTUNITIES)
        if self.circuit_open(opp.buy_venue) or self.circuit_open(opp.sell_venue):
            return self._reject(Refusal.CIRCUIT_OPEN)
        now = self._clock()
        while self._sent and now - self._sent[0] >= NS:
            self._sent.popleft()
        if len(self._sent) + 2 > cfg.max_orders_per_s:
            return self._reject(Refusal.ORDER_RATE)
        notional = quantity * Decimal(repr(opp.buy_worst))  # limits: what the kernel sized
        spend = quantity * buy_price if buy_price is not None else notional  # the most it can pay
        if notional > Decimal(str(cfg.max_notional_per_order)):
            return self._reject(Refusal.MAX_NOTIONAL_PER_ORDER)
        if self.unhedged_notional + notional > Decimal(str(cfg.max_unhedged_notional)):
            return self._reject(Refusal.MAX_UNHEDGED_NOTIONAL)
        quote_needed = max(spend, notional) * (1 + Decimal(repr(buy_fee)))
        base, quote = opp.symbol.base, opp.symbol.quote
        if self.available(opp.buy_venue, quote) < quote_needed:
            return self._reject(Refusal.INSUFFICIENT_QUOTE)
        if self.available(opp.sell_venue, base) < quantity:
            return self._reject(Refusal.INSUFFICIENT_BASE)
        low = cfg.inventory_min.get(base)
        if low is not None and self.available(opp.sell_venue, base) - quantity < low:
            return self._reject(Refusal.INVENTORY_BELOW_MINIMUM)
        high = cfg.inventory_max.get(base)
        if high is not None and self._balances.get((opp.buy_venue, base), ZERO) + quantity > high:
            return self._reject(Refusal.INVENTORY_ABOVE_MAXIMUM)
        if self.gate is not None and (refused := self.gate.admit(opp, quote_needed, quantity)) is not None:
            self.gate_rejections[refused] = self.gate_rejections.get(refused, 0) + 1
            return Decision(False, refused)
        self._reservations[opp.id] = Reservation(
            opp.id, opp.buy_venue, opp.sell_venue, quote, base, quote_needed, quantity, notional
        )
        self._reserve(opp.buy_venue, quote, quote_needed)
        self._reserve(opp.sell_venue, base, quantity)
        self._sent.extend((now, now))
        self._take_trials(opp)
        return APPROVED

    def apply_fill(self, venue: str, side: Side, base: str, quote: str, qty: Decimal,
                   quote_qty: Decimal, fee: Decimal, fee_asset: str) -> None:
        """Move local balances by a fill until the venue's own balance update arrives."""
        sign = 1 if side is Side.BUY else -1
        self._balances[(venue, base)] = self._balances.get((venue, base), ZERO) + sign * qty
        self._balances[(venue, quote)] = self._balances.get((venue, quote), ZERO) - sign * quote_qty
        if fee:
            self._balances[(venue, fee_asset)] = self._balances.get((venue, fee_asset), ZERO) - fee
        if self.gate is not None:
            self.gate.on_balance_change(venue, base, sign * qty)
            self.gate.on_balance_change(venue, quote, -sign * quote_qty)
            if fee:
                self.gate.on_balance_change(venue, fee_asset, -fee)
        for asset in {base, quote, fee_asset}:
            self._refresh(venue, asset)
