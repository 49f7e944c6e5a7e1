"""[5] RiskManager: trading state, limits, balance reservations and per-venue circuit breakers.

- Trading state ACTIVE / REDUCING / HALTED. HALTED is persisted (a small JSON file in the data dir)
  and survives restarts; only `resume()` (``arb-engine resume``) clears it.
- `approve()` checks an opportunity against every limit and, when it passes, reserves the quote it
  spends on the buy venue (fee included) and the base it sells on the sell venue; `release()` gives
  the reservation back when the trade is over (fills settle through `on_balance`/`apply_fill`).
- A venue whose calls fail `max_consecutive_failures` times in a row opens its circuit for
  `circuit_cooldown_s`; then one trial is allowed (half-open) and a success closes it again.
"""

from __future__ import annotations

import enum
import json
import os
from collections import deque
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec

from arb.config import RiskConfig
from arb.model import ZERO, Opportunity, Side

NS = 1_000_000_000
DAY_NS = 86_400 * NS


class TradingState(enum.IntEnum):
    ACTIVE = 1
    REDUCING = 2  # no new opportunities; residuals may still be worked off
    HALTED = 3  # nothing is sent


STATE_FILE = "trading_state.json"


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


def write_state(path: Path, state: TradingState, reason: str, now_ns: int) -> None:
    """Persist the trading state atomically (write a temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"state": state.name, "reason": reason, "ts_ns": now_ns}))
    os.replace(tmp, path)


class Decision(msgspec.Struct, frozen=True):
    approved: bool
    reason: str  # "" when approved


class _Circuit:
    __slots__ = ("failures", "open_until", "trial")

    def __init__(self) -> None:
        self.failures = 0
        self.open_until = 0
        self.trial = False


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
        self._balances: dict[tuple[str, str], Decimal] = {}
        self._reserved: dict[tuple[str, str], Decimal] = {}
        self._available_f: dict[tuple[str, str], float] = {}
        self._reservations: dict[str, Reservation] = {}
        self._circuits: dict[str, _Circuit] = {}
        self._sent: deque[int] = deque()
        self._day_start = clock_ns() - clock_ns() % DAY_NS
        self.realised_pnl = ZERO
        self.unhedged_notional = ZERO
        self.rejections: dict[str, int] = {}
        self._load_state()

    # ------------------------------------------------------------------ trading state

    def _load_state(self) -> None:
        self.state, self.reason = read_state(self._state_path)

    def _save_state(self) -> None:
        write_state(self._state_path, self.state, self.reason, self._clock())

    def halt(self, reason: str) -> None:
        """Stop sending anything; persisted until `resume()`."""
        self.state, self.reason = TradingState.HALTED, reason
        self._save_state()

    def reduce(self, reason: str) -> None:
        if self.state is TradingState.ACTIVE:
            self.state, self.reason = TradingState.REDUCING, reason
            self._save_state()

    def resume(self) -> None:
        self.state, self.reason = TradingState.ACTIVE, ""
        self._save_state()

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
        res = self._reservations.pop(opportunity_id, None)
        if res is None:
            return
        self._reserve(res.buy_venue, res.quote_asset, -res.quote)
        self._reserve(res.sell_venue, res.base_asset, -res.base)

    @property
    def open_opportunities(self) -> int:
        return len(self._reservations)

    # ------------------------------------------------------------------ circuits

    def circuit_open(self, venue: str) -> bool:
        circuit = self._circuits.get(venue)
        if circuit is None or circuit.open_until == 0:
            return False
        if self._clock() >= circuit.open_until and not circuit.trial:
            circuit.trial = True  # half-open: let one attempt through
            return False
        return True

    def record_result(self, venue: str, ok: bool) -> None:
        """Feed every order outcome; consecutive failures open the venue's circuit."""
        circuit = self._circuits.setdefault(venue, _Circuit())
        if ok:
            circuit.failures, circuit.open_until, circuit.trial = 0, 0, False
            return
        circuit.failures += 1
        if circuit.trial or circuit.failures >= self.config.max_consecutive_failures:
            circuit.open_until = self._clock() + int(self.config.circuit_cooldown_s * NS)
            circuit.trial = False

    # ------------------------------------------------------------------ PnL and exposure

    def add_realised_pnl(self, amount: Decimal) -> None:
        now = self._clock()
        if now - self._day_start >= DAY_NS:
            self._day_start, self.realised_pnl = now - now % DAY_NS, ZERO
        self.realised_pnl += amount
        if -self.realised_pnl >= Decimal(str(self.config.max_daily_loss)):
            self.halt(f"daily realised loss {-self.realised_pnl} reached the limit")

    def set_unhedged(self, notional: Decimal) -> None:
        self.unhedged_notional = notional
        if notional > Decimal(str(self.config.max_unhedged_notional)):
            self.halt(f"unhedged notional {notional} above the limit")

    # ------------------------------------------------------------------ approval

    def _reject(self, reason: str) -> Decision:
        self.rejections[reason] = self.rejections.get(reason, 0) + 1
        return Decision(False, reason)

    def approve(self, opp: Opportunity, *, buy_fee: float, quantity: Decimal,
                buy_price: Decimal | None = None) -> Decision:
        """Check `opp` (at the executor's rounded `quantity`) and reserve balances if it passes.

        `buy_price` is the buy leg's IOC limit (worst price plus slippage, rounded to the tick): the
        quote reserved covers it times the quantity plus the fee, the most the leg can spend.
        """
        cfg = self.config
        if self.state is not TradingState.ACTIVE:
            return self._reject(f"state {self.state.name}")
        if self.open_opportunities >= cfg.max_open_opportunities:
            return self._reject("max open opportunities")
        if self.circuit_open(opp.buy_venue) or self.circuit_open(opp.sell_venue):
            return self._reject("circuit open")
        now = self._clock()
        while self._sent and now - self._sent[0] >= NS:
            self._sent.popleft()
        if len(self._sent) + 2 > cfg.max_orders_per_s:
            return self._reject("order rate")
        notional = quantity * Decimal(repr(opp.buy_worst))  # limits: what the kernel sized
        spend = quantity * buy_price if buy_price is not None else notional  # the most it can pay
        if notional > Decimal(str(cfg.max_notional_per_order)):
            return self._reject("max notional per order")
        if self.unhedged_notional + notional > Decimal(str(cfg.max_unhedged_notional)):
            return self._reject("max unhedged notional")
        quote_needed = max(spend, notional) * (1 + Decimal(repr(buy_fee)))
        base, quote = opp.symbol.base, opp.symbol.quote
        if self.available(opp.buy_venue, quote) < quote_needed:
            return self._reject("insufficient quote")
        if self.available(opp.sell_venue, base) < quantity:
            return self._reject("insufficient base")
        low = cfg.inventory_min.get(base)
        if low is not None and self.available(opp.sell_venue, base) - quantity < low:
            return self._reject("inventory below minimum")
        high = cfg.inventory_max.get(base)
        if high is not None and self._balances.get((opp.buy_venue, base), ZERO) + quantity > high:
            return self._reject("inventory above maximum")
        self._reservations[opp.id] = Reservation(
            opp.id, opp.buy_venue, opp.sell_venue, quote, base, quote_needed, quantity, notional
        )
        self._reserve(opp.buy_venue, quote, quote_needed)
        self._reserve(opp.sell_venue, base, quantity)
        self._sent.extend((now, now))
        return Decision(True, "")

    def apply_fill(self, venue: str, side: Side, base: str, quote: str, qty: Decimal,
                   quote_qty: Decimal, fee: Decimal, fee_asset: str) -> None:
        """Move local balances by a fill until the venue's own balance update arrives."""
        sign = 1 if side is Side.BUY else -1
        self._balances[(venue, base)] = self._balances.get((venue, base), ZERO) + sign * qty
        self._balances[(venue, quote)] = self._balances.get((venue, quote), ZERO) - sign * quote_qty
        if fee:
            self._balances[(venue, fee_asset)] = self._balances.get((venue, fee_asset), ZERO) - fee
        for asset in {base, quote, fee_asset}:
            self._refresh(venue, asset)
