"""The simulator's matching engine and ledger: orders against the simulated books, exact money.

Venue-neutral: dialects translate their wire requests into `place` / `cancel` / `query` and map the
`Reject` kinds to each venue's real error codes. Orders match against the venue's `SimBook` as a
taker (liquidity taken is removed from the book and streamed as a diff); a GTC limit remainder
rests as an open order but is not matched against later market moves (the engine only sends IOC).
Fees are charged in the quote asset on both sides, unless the venue charges a buy in the asset it
receives (`buy_fee_in_base`: Bybit and OKX spot, whose fills report the base coin as the fee
currency of a buy): then a buy's fee is taken from the base credited and only the notional is
reserved in quote. Every fill is also printed on the market's public
trade tape (`arb.sim.tape`). The `Ledger` is the ground truth that reconciliation tests compare
the engine's journal with.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

import msgspec

from arb.model import Side, Symbol
from arb.sim.market import MarketModel

ZERO = Decimal(0)


class RejectKind(enum.Enum):
    UNKNOWN_SYMBOL = "unknown symbol"
    SYMBOL_HALTED = "symbol halted"
    BAD_TICK = "price not on the tick"
    BAD_STEP = "quantity not on the step"
    BELOW_MIN_QTY = "quantity below minimum"
    BELOW_MIN_NOTIONAL = "notional below minimum"
    INSUFFICIENT_BALANCE = "insufficient balance"
    DUPLICATE_CLIENT_ID = "duplicate client order id"
    UNKNOWN_ORDER = "unknown order"


class Reject(Exception):
    def __init__(self, kind: RejectKind, detail: str = "") -> None:
        super().__init__(f"{kind.value}{': ' + detail if detail else ''}")
        self.kind = kind


class SimOrder(msgspec.Struct):
    order_id: int
    client_id: str
    account: str
    symbol: Symbol
    side: Side
    kind: str  # "LIMIT" | "MARKET"
    tif: str  # "GTC" | "IOC" | "FOK"
    quantity: Decimal
    price: Decimal | None
    status: str = "NEW"  # NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED
    filled: Decimal = ZERO
    quote_filled: Decimal = ZERO
    fee: Decimal = ZERO
    fee_asset: str = ""  # the asset `fee` is charged in (one per order: it depends on the side)
    created_ms: int = 0
    updated_ms: int = 0


class SimFill(msgspec.Struct, frozen=True):
    trade_id: int
    order_id: int
    client_id: str
    symbol: Symbol
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    ts_ms: int


class Ledger:
    """Free and locked balance per (account, asset); every movement goes through here."""

    def __init__(self) -> None:
        self._free: dict[tuple[str, str], Decimal] = {}
        self._locked: dict[tuple[str, str], Decimal] = {}

    def deposit(self, account: str, asset: str, amount: Decimal) -> None:
        key = (account, asset)
        self._free[key] = self._free.get(key, ZERO) + amount

    def free(self, account: str, asset: str) -> Decimal:
        return self._free.get((account, asset), ZERO)

    def locked(self, account: str, asset: str) -> Decimal:
        return self._locked.get((account, asset), ZERO)

    def total(self, account: str, asset: str) -> Decimal:
        return self.free(account, asset) + self.locked(account, asset)

    def balances(self, account: str) -> dict[str, tuple[Decimal, Decimal]]:
        assets = {a for (acc, a) in (*self._free, *self._locked) if acc == account}
        return {a: (self.free(account, a), self.locked(account, a)) for a in sorted(assets)}

    def lock(self, account: str, asset: str, amount: Decimal) -> None:
        key = (account, asset)
        if self._free.get(key, ZERO) < amount:
            have = self.free(account, asset)
            raise Reject(RejectKind.INSUFFICIENT_BALANCE, f"{asset} free {have} < {amount}")
        self._free[key] -= amount
        self._locked[key] = self._locked.get(key, ZERO) + amount

    def unlock(self, account: str, asset: str, amount: Decimal) -> None:
        key = (account, asset)
        self._locked[key] -= amount
        self._free[key] = self._free.get(key, ZERO) + amount

    def spend_locked(self, account: str, asset: str, amount: Decimal) -> None:
        self._locked[(account, asset)] -= amount

    def credit(self, account: str, asset: str, amount: Decimal) -> None:
        self.deposit(account, asset, amount)


class MatchingEngine:
    """One venue's order matching over the shared market."""

    def __init__(self, venue: str, market: MarketModel, ledger: Ledger, *, taker_fee: Decimal,
                 clock_ms: Callable[[], int], published_min_notional: bool = True,
                 buy_fee_in_base: bool = False) -> None:
        self.venue = venue
        self.buy_fee_in_base = buy_fee_in_base
        # False for a venue that publishes no minimum notional (OKX): the spec's floor is not checked
        self.published_min_notional = published_min_notional
        self.market = market
        self.ledger = ledger
        self.taker_fee = taker_fee
        self._clock_ms = clock_ms
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self.orders: dict[int, SimOrder] = {}
        self._by_client: dict[tuple[str, str], int] = {}
        self.fills: list[SimFill] = []
        self.listeners: list[Callable[[SimOrder, list[SimFill]], None]] = []
        # a fault: for this many ms after creation an order is unknown to queries (the server sets it)
        self.hidden_ms: Callable[[], float] = _never_hidden
        self.hide_trades: Callable[[], bool] = _no_hidden_trades
        # a fault: an unpublished notional floor (quote) on top of what the venue publishes
        self.hidden_min_notional: Callable[[], Decimal] = _no_hidden_floor
        self.hidden_queries = 0

    def _validate(self, symbol: Symbol, quantity: Decimal, price: Decimal | None) -> None:
        book = self.market.books.get((self.venue, symbol))
        spec = book.spec if book is not None else None
        if spec is None:
            raise Reject(RejectKind.UNKNOWN_SYMBOL, str(symbol))
        if (self.venue, symbol) in self.market.halted:
            raise Reject(RejectKind.SYMBOL_HALTED, str(symbol))
        if quantity % spec.step:
            raise Reject(RejectKind.BAD_STEP, f"{quantity} vs {spec.step}")
        if price is not None and price % spec.tick:
            raise Reject(RejectKind.BAD_TICK, f"{price} vs {spec.tick}")
        if quantity < max(spec.min_qty, spec.step):
            raise Reject(RejectKind.BELOW_MIN_QTY, f"{quantity}")
        reference = price if price is not None else Decimal(repr(self.market.reference[symbol]))
        floor = max(spec.min_notional if self.published_min_notional else ZERO, self.hidden_min_notional())
        if quantity * reference < floor:
            raise Reject(RejectKind.BELOW_MIN_NOTIONAL, f"{quantity * reference}")

    def fee_asset(self, symbol: Symbol, side: Side) -> str:
        """The asset an order's fee is charged in: the base received by a buy where the venue says so."""
        return symbol.base if side is Side.BUY and self.buy_fee_in_base else symbol.quote

    def quote_fee_rate(self, side: Side) -> Decimal:
        """The fee rate a `side` order pays on top of its quote notional (0 when paid in base)."""
        return ZERO if side is Side.SELL or self.buy_fee_in_base else self.taker_fee

    def place(self, account: str, symbol: Symbol, side: Side, kind: str, quantity: Decimal,
              price: Decimal | None, tif: str, client_id: str) -> tuple[SimOrder, list[SimFill]]:
        """Accept and match one order; raises `Reject` (nothing changes) when it breaks a rule."""
        self._validate(symbol, quantity, price if kind == "LIMIT" else None)
        if (account, client_id) in self._by_client:
            raise Reject(RejectKind.DUPLICATE_CLIENT_ID, client_id)
        book = self.market.books[(self.venue, symbol)]
        levels = book.levels(side is Side.SELL)  # a buy takes asks, a sell takes bids
        base, quote = symbol.base, symbol.quote
        limit = price if kind == "LIMIT" else None
        if side is Side.BUY:
            worst = limit if limit is not None else (levels[-1][0] if levels else ZERO)
            reserve_asset, reserve = quote, quantity * worst * (1 + self.quote_fee_rate(side))
        else:
            reserve_asset, reserve = base, quantity
        self.ledger.lock(account, reserve_asset, reserve)
        now = self._clock_ms()
        fee_asset = self.fee_asset(symbol, side)
        order = SimOrder(next(self._ids), client_id, account, symbol, side, kind, tif, quantity, price,
                         fee_asset=fee_asset, created_ms=now, updated_ms=now)
        takes: list[tuple[Decimal, Decimal]] = []
        for level_price, level_qty in levels:
            if limit is not None and (level_price > limit if side is Side.BUY else level_price < limit):
                break
            takes.append((level_price, min(level_qty, quantity - sum(q for _, q in takes))))
            if sum(q for _, q in takes) >= quantity:
                break
        available = sum((q for _, q in takes), ZERO)
        if tif == "FOK" and available < quantity:
            takes = []
        fills = []
        spent = ZERO
        for level_price, qty in takes:
            if qty <= 0:
                continue
            notional = level_price * qty
            charged = qty if fee_asset == base else notional
            fee = (charged * self.taker_fee).quantize(Decimal("1e-12"), rounding=ROUND_DOWN)
            if side is Side.BUY and fee_asset == base:
                self.ledger.spend_locked(account, quote, notional)
                spent += notional
                self.ledger.credit(account, base, qty - fee)
            elif side is Side.BUY:
                self.ledger.spend_locked(account, quote, notional + fee)
                spent += notional + fee
                self.ledger.credit(account, base, qty)
            else:
                self.ledger.spend_locked(account, base, qty)
                self.ledger.credit(account, quote, notional - fee)
            fill = SimFill(next(self._trade_ids), order.order_id, client_id, symbol, side, level_price, qty,
                           fee, fee_asset, now)
            fills.append(fill)
            order.filled += qty
            order.quote_filled += notional
            order.fee += fee
        if fills:
            spec = book.spec
            self.market.consume(self.venue, symbol, side is Side.SELL,
                                [(int(f.price / spec.tick), int(f.quantity / spec.step)) for f in fills])
            # every fill is a public trade of the venue (the taker's side), whoever's order it was
            self.market.trades.print(self.venue, symbol, side, [(f.price, f.quantity) for f in fills], now)
        rests = order.filled < quantity and kind == "LIMIT" and tif == "GTC"
        leftover = (reserve - spent) if side is Side.BUY else (quantity - order.filled)
        if not rests and leftover > 0:
            self.ledger.unlock(account, reserve_asset, leftover)
        if order.filled >= quantity:
            order.status = "FILLED"
        elif rests:
            order.status = "PARTIALLY_FILLED" if order.filled else "NEW"
        else:
            order.status = "EXPIRED" if tif in ("IOC", "FOK") else "CANCELED"
        self.orders[order.order_id] = order
        self._by_client[(account, client_id)] = order.order_id
        self.fills.extend(fills)
        for listener in self.listeners:
            listener(order, fills)
        return order, fills

    def find(self, account: str, *, order_id: int | None = None, client_id: str | None = None) -> SimOrder:
        oid = order_id if order_id is not None else self._by_client.get((account, client_id or ""))
        order = self.orders.get(oid) if oid is not None else None
        if order is None or order.account != account:
            raise Reject(RejectKind.UNKNOWN_ORDER, str(order_id or client_id))
        if self._hidden(order):
            self.hidden_queries += 1
            raise Reject(RejectKind.UNKNOWN_ORDER, str(order_id or client_id))
        return order

    def _hidden(self, order: SimOrder) -> bool:
        hide = self.hidden_ms()
        return hide > 0 and self._clock_ms() - order.created_ms < hide

    def cancel(self, account: str, *, order_id: int | None = None, client_id: str | None = None) -> SimOrder:
        order = self.find(account, order_id=order_id, client_id=client_id)
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise Reject(RejectKind.UNKNOWN_ORDER, f"order {order.order_id} is {order.status}")
        if order.side is Side.BUY:
            assert order.price is not None
            left = (order.quantity - order.filled) * order.price * (1 + self.quote_fee_rate(order.side))
            self.ledger.unlock(account, order.symbol.quote, left)
        else:
            self.ledger.unlock(account, order.symbol.base, order.quantity - order.filled)
        order.status = "CANCELED"
        order.updated_ms = self._clock_ms()
        for listener in self.listeners:
            listener(order, [])
        return order

    def open_orders(self, account: str, symbol: Symbol | None = None) -> list[SimOrder]:
        live = ("NEW", "PARTIALLY_FILLED")
        return [o for o in self.orders.values()
                if o.account == account and o.status in live and (symbol is None or o.symbol == symbol)
                and not self._hidden(o)]

    def account_fills(self, account: str, symbol: Symbol | None = None) -> list[SimFill]:
        """The account's fills, oldest first (optionally of one symbol)."""
        hide = self.hide_trades()
        return [f for f in self.fills
                if self.orders[f.order_id].account == account and (symbol is None or f.symbol == symbol)
                and not (hide and self._hidden(self.orders[f.order_id]))]


def _never_hidden() -> float:
    return 0.0


def _no_hidden_trades() -> bool:
    return False


def _no_hidden_floor() -> Decimal:
    return ZERO
