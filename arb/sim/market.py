"""The simulator's market: one seeded reference price per symbol, one L2 book per venue and symbol.

Each venue's mid follows the shared reference price with its own latency (it sees the reference as
it was `latency_ms` ago) and its own mean-reverting offset (noise, in bps, plus rare jumps that
decay within about a second), so cross-venue arbitrage windows open and close by themselves;
`open_window` forces a known one for tests.

Books live on each venue's tick grid as integers (price in ticks, size in lots of the step), so
every price and size the dialects print is exact. Every change to a book is one venue update id;
`step(now_ns)` re-quotes the books and returns one `BookDiff` per changed book, carrying the id
range it covers (``first_id..last_id``, like the venues' aggregated diffs). `snapshot` returns the
levels with the id they are consistent with.

Venues list symbols under their own names (`SimListing`): a venue may rename an asset, as real
venues do, so a book is keyed by (venue, the venue's own symbol) while its price follows the market's
symbol. Without listings every venue lists every symbol of the universe under the common name (the
default five). `arb.sim.universe` builds the larger, partially overlapping universe. A listing may be
hidden (`set_listed`): its book runs, but the venue's symbol list and tickers leave it out.

Public trades go on `trades` (`arb.sim.tape.TradeTape`): the matching engines print every fill
there, and with `synthetic_trades` a re-quote that moves a book through its old touch (the new
best bid at or above the old best ask, or the new best ask at or below the old best bid) prints
one trade at the old touch, sized by its own seeded generator (so the books evolve exactly as
without them).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

import msgspec
from sortedcontainers import SortedDict

from arb.model import Side, Symbol
from arb.sim.tape import TradeTape

NS = 1_000_000_000
MS = 1_000_000
PAST_STATES = 256  # book states kept per book while snapshots lag (the largest lag served)
HISTORY_PRINTS = 24  # prints making a listing's 24 h volume before the start (hourly)
HOUR_MS = 3_600_000
Level = tuple[Decimal, Decimal]


class SimSymbolSpec(msgspec.Struct, frozen=True):
    """One symbol's rules and starting price on a venue."""

    symbol: Symbol
    price: Decimal
    tick: Decimal
    step: Decimal
    min_qty: Decimal = Decimal(0)
    min_notional: Decimal = Decimal("5")


class VenueParams(msgspec.Struct, frozen=True):
    name: str
    latency_ms: float = 50.0  # how stale this venue's view of the reference is
    noise_bps: float = 4.0  # stationary std-dev of its price offset
    reversion_s: float = 0.5  # how fast the offset returns to zero
    jump_rate_per_s: float = 0.08  # dislocations (a venue briefly off the market) per symbol per second
    jump_bps: float = 40.0  # their typical size
    half_spread_bps: float = 1.0
    depth: int = 60  # levels per side
    taker_fee: float = 0.001


class BookDiff(msgspec.Struct, frozen=True):
    """Changed levels of one book; qty 0 deletes. Ids ``first_id..last_id`` inclusive."""

    venue: str
    symbol: Symbol
    first_id: int
    last_id: int
    bids: list[Level]
    asks: list[Level]
    ts_ns: int


class SimListing(msgspec.Struct, frozen=True):
    """One venue's listing of one market symbol: under `name` (the venue's own spelling of the
    assets), with `volume_quote` of 24 h quote volume traded before the simulator started."""

    symbol: Symbol  # the market's symbol (its reference price)
    name: Symbol  # what the venue calls it
    volume_quote: Decimal = Decimal(0)
    listed: bool = True  # False: the book runs but the venue does not list it (yet)


def default_universe() -> list[SimSymbolSpec]:
    """Several liquid USDT symbols with realistic prices, ticks and steps."""
    d = Decimal
    return [
        SimSymbolSpec(Symbol("BTC", "USDT"), d("65000"), d("0.01"), d("0.00001")),
        SimSymbolSpec(Symbol("ETH", "USDT"), d("3200"), d("0.01"), d("0.0001")),
        SimSymbolSpec(Symbol("SOL", "USDT"), d("150"), d("0.01"), d("0.001")),
        SimSymbolSpec(Symbol("XRP", "USDT"), d("0.6"), d("0.0001"), d("0.1")),
        SimSymbolSpec(Symbol("DOGE", "USDT"), d("0.15"), d("0.00001"), d("1")),
    ]


class SimBook:
    """One venue's book for one symbol on its tick grid (ints), with its update id."""

    def __init__(self, spec: SimSymbolSpec, update_id: int) -> None:
        self.spec = spec
        self.update_id = update_id
        self.bids: SortedDict = SortedDict()  # ticks -> lots
        self.asks: SortedDict = SortedDict()

    def price(self, ticks: int) -> Decimal:
        return self.spec.tick * ticks

    def qty(self, lots: int) -> Decimal:
        return self.spec.step * lots

    def levels(self, is_bid: bool, limit: int | None = None, side: SortedDict | None = None) -> list[Level]:
        """Best-first levels of one side (of `side`, a past copy of it, when given)."""
        if side is None:
            side = self.bids if is_bid else self.asks
        keys = reversed(side.keys()) if is_bid else iter(side.keys())
        out: list[Level] = []
        for ticks in keys:
            if limit is not None and len(out) >= limit:
                break
            out.append((self.price(ticks), self.qty(side[ticks])))
        return out

    def set(self, is_bid: bool, ticks: int, lots: int) -> bool:
        """Set a level (0 deletes); True when something changed."""
        side = self.bids if is_bid else self.asks
        if lots <= 0:
            return side.pop(ticks, None) is not None
        if side.get(ticks) == lots:
            return False
        side[ticks] = lots
        return True


class MarketModel:
    """The seeded market shared by every venue dialect.

    Parameters
    ----------
    universe:
        The market's symbols (`default_universe()` by default).
    venues:
        Per-venue behaviour.
    listings:
        Per venue, what it lists and under which names; a venue not named lists every symbol of
        the universe under its common name.
    transfers:
        Per venue and asset (the venue's own name): (deposits open, withdrawals open); assets not
        named are open both ways.
    seed:
        Everything random derives from it: same seed, same market.
    """

    def __init__(
        self,
        venues: Iterable[VenueParams],
        universe: Iterable[SimSymbolSpec] | None = None,
        *,
        seed: int = 1,
        volatility_bps_per_s: float = 3.0,
        now_ns: int = 0,
        synthetic_trades: bool = True,
        listings: Mapping[str, Iterable[SimListing]] | None = None,
        transfers: Mapping[str, Mapping[str, tuple[bool, bool]]] | None = None,
    ) -> None:
        self.seed = seed
        self._rng = random.Random(seed)
        self._trade_rng = random.Random(f"{seed}/trades") if synthetic_trades else None
        self._publish_rng = random.Random(f"{seed}/publish")  # the order venues publish each step in
        self.venues = {v.name: v for v in venues}
        self.specs = {s.symbol: s for s in (universe if universe is not None else default_universe())}
        self._vol = volatility_bps_per_s * 1e-4
        self._now = now_ns
        self.reference = {s: float(spec.price) for s, spec in self.specs.items()}
        self._history: dict[Symbol, deque[tuple[int, float]]] = {
            s: deque([(now_ns, p)], maxlen=4096) for s, p in self.reference.items()
        }
        chosen = dict(listings or {})
        self.listings: dict[tuple[str, Symbol], SimListing] = {}  # (venue, its name) -> listing
        for v in self.venues:
            for item in chosen.get(v, [SimListing(s, s) for s in self.specs]):
                if item.symbol not in self.specs:
                    raise ValueError(f"{v} lists {item.name}, which is not in the universe")
                self.listings[(v, item.name)] = item
        self.transfers = {v: dict(t) for v, t in (transfers or {}).items()}
        self._offset = {key: 0.0 for key in self.listings}
        self._forced: dict[tuple[str, Symbol], tuple[float, int]] = {}
        self.books = {
            key: SimBook(self.specs[item.symbol], self._rng.randrange(10**9, 10**10))
            for key, item in self.listings.items()
        }
        self._listeners: dict[str, list[Callable[[BookDiff], None]]] = {v: [] for v in self.venues}
        self.trades = TradeTape(self.venues)
        self._print_history(now_ns)
        self.halted: set[tuple[str, Symbol]] = set()
        # venue -> how many updates its REST snapshots trail the stream (a fault; 0 = none)
        self.snapshot_lag: dict[str, Callable[[], int]] = {}
        self._past: dict[tuple[str, Symbol], deque[tuple[int, SortedDict, SortedDict]]] = {}
        for key in self.books:
            self._requote(key, initial=True)

    def __repr__(self) -> str:
        return f"MarketModel(seed={self.seed}, venues={list(self.venues)}, symbols={len(self.specs)})"

    # ------------------------------------------------------------------ listings

    def names(self, venue: str) -> list[Symbol]:
        """Every symbol `venue` has a book for, by its own names (listed or not yet)."""
        return [name for (v, name) in self.listings if v == venue]

    def listed(self, venue: str, name: Symbol) -> bool:
        """Whether `venue` shows `name` in its symbol list and tickers."""
        item = self.listings.get((venue, name))
        return item is not None and item.listed

    def set_listed(self, venue: str, name: Symbol, listed: bool = True) -> None:
        """List (or delist) one of `venue`'s symbols while running (its book keeps running)."""
        self.listings[(venue, name)] = msgspec.structs.replace(self.listings[(venue, name)], listed=listed)

    def spec(self, venue: str, name: Symbol) -> SimSymbolSpec:
        """The rules of `venue`'s symbol `name` (KeyError when it has no such book)."""
        return self.books[(venue, name)].spec

    def name_of(self, venue: str, symbol: Symbol) -> Symbol:
        """What `venue` calls the market's `symbol` (KeyError when it does not list it)."""
        for (v, name), item in self.listings.items():
            if v == venue and item.symbol == symbol:
                return name
        raise KeyError((venue, symbol))

    def transfer(self, venue: str, asset: str) -> tuple[bool, bool]:
        """(deposits open, withdrawals open) of `venue`'s asset (its own name)."""
        return self.transfers.get(venue, {}).get(asset, (True, True))

    def assets(self, venue: str) -> list[str]:
        """Every asset `venue` has (its own names), sorted."""
        return sorted({a for (v, n) in self.listings if v == venue for a in (n.base, n.quote)}
                      | set(self.transfers.get(venue, {})))

    def _print_history(self, now_ns: int) -> None:
        """Each listing's 24 h volume before the start, as hourly prints at its starting price."""
        now_ms = now_ns // MS
        for (venue, name), item in self.listings.items():
            if item.volume_quote <= 0:
                continue
            spec = self.specs[item.symbol]
            qty = (item.volume_quote / HISTORY_PRINTS / spec.price).quantize(spec.step) or spec.step
            for hour in range(HISTORY_PRINTS, 0, -1):
                side = Side.BUY if hour % 2 else Side.SELL
                ts_ms = now_ms - hour * HOUR_MS + HOUR_MS // 2  # inside the 24 h window for 30 min
                self.trades.print(venue, name, side, [(spec.price, qty)], ts_ms)

    # ------------------------------------------------------------------ API for dialects and tests

    def subscribe(self, venue: str, listener: Callable[[BookDiff], None]) -> None:
        self._listeners[venue].append(listener)

    def snapshot(self, venue: str, symbol: Symbol, limit: int = 100) -> tuple[int, list[Level], list[Level]]:
        """The book's levels and the id they are consistent with (older ones under a snapshot lag)."""
        book = self.books[(venue, symbol)]
        lag = self._lag(venue)
        past = self._past.get((venue, symbol))
        if lag > 0 and past:
            update_id, bids, asks = past[max(len(past) - 1 - lag, 0)]
            return update_id, book.levels(True, limit, bids), book.levels(False, limit, asks)
        return book.update_id, book.levels(True, limit), book.levels(False, limit)

    def mid(self, venue: str, symbol: Symbol) -> Decimal:
        """The book's mid on its tick grid (the reference price when a side is empty)."""
        book = self.books[(venue, symbol)]
        if not book.bids or not book.asks:
            return Decimal(repr(self.reference[book.spec.symbol])).quantize(book.spec.tick)
        return book.price((book.bids.peekitem(-1)[0] + book.asks.peekitem(0)[0]) // 2)

    def _lag(self, venue: str) -> int:
        lag_of = self.snapshot_lag.get(venue)
        return min(lag_of(), PAST_STATES - 1) if lag_of is not None else 0

    def _remember(self, key: tuple[str, Symbol]) -> None:
        """Keep the book's state after each update while its venue's snapshots lag (else forget)."""
        if self._lag(key[0]) <= 0:
            self._past.pop(key, None)
            return
        book = self.books[key]
        past = self._past.get(key)
        if past is None:
            past = self._past[key] = deque(maxlen=PAST_STATES)
        past.append((book.update_id, book.bids.copy(), book.asks.copy()))

    def set_reference_price(self, symbol: Symbol, price: float) -> None:
        self.reference[symbol] = price
        self._history[symbol].append((self._now, price))

    def open_window(self, symbol: Symbol, buy_venue: str, sell_venue: str, net_bps: float,
                    duration_ns: int) -> None:
        """Make `sell_venue`'s bids beat `buy_venue`'s asks by `net_bps` after both taker fees
        (`symbol` is the market's: each venue's own name for it is looked up)."""
        buy, sell = self.venues[buy_venue], self.venues[sell_venue]
        edge = (net_bps * 1e-4 + buy.taker_fee + sell.taker_fee
                + (buy.half_spread_bps + sell.half_spread_bps) * 1e-4) * 1e4 * 1.05
        until = self._now + duration_ns
        self._forced[(buy_venue, self.name_of(buy_venue, symbol))] = (-edge / 2, until)
        self._forced[(sell_venue, self.name_of(sell_venue, symbol))] = (edge / 2, until)

    def halt(self, venue: str, symbol: Symbol, halted: bool = True) -> None:
        if halted:
            self.halted.add((venue, symbol))
        else:
            self.halted.discard((venue, symbol))

    def consume(
        self, venue: str, symbol: Symbol, is_bid: bool, takes: list[tuple[int, int]]
    ) -> BookDiff | None:
        """Remove `(ticks, lots)` of liquidity taken by an order and emit the resulting diff."""
        book = self.books[(venue, symbol)]
        side = book.bids if is_bid else book.asks
        changed: list[Level] = []
        for ticks, lots in takes:
            left = side.get(ticks, 0) - lots
            if book.set(is_bid, ticks, max(left, 0)):
                changed.append((book.price(ticks), book.qty(max(left, 0))))
        if not changed:
            return None
        first = book.update_id + 1
        book.update_id += len(changed)
        diff = BookDiff(venue, symbol, first, book.update_id, changed if is_bid else [],
                        [] if is_bid else changed, self._now)
        self._remember((venue, symbol))
        for listener in self._listeners[venue]:
            listener(diff)
        return diff

    # ------------------------------------------------------------------ time

    def step(self, now_ns: int) -> list[BookDiff]:
        """Advance the market to `now_ns` and re-quote every book; returns (and emits) the diffs."""
        dt = max(now_ns - self._now, 0) / NS
        self._now = now_ns
        rng = self._rng
        for symbol, price in self.reference.items():
            price *= math.exp(self._vol * math.sqrt(dt) * rng.gauss(0.0, 1.0))
            self.reference[symbol] = price
            self._history[symbol].append((now_ns, price))
        for (venue, symbol), offset in self._offset.items():
            params = self.venues[venue]
            keep = math.exp(-dt / params.reversion_s)
            shock = params.noise_bps * math.sqrt(max(1.0 - keep * keep, 0.0))
            offset = offset * keep + shock * rng.gauss(0.0, 1.0)
            if rng.random() < 1.0 - math.exp(-params.jump_rate_per_s * dt):
                offset += params.jump_bps * rng.choice((-1.0, 1.0)) * rng.uniform(0.6, 1.4)
            self._offset[(venue, symbol)] = offset
        changed = []
        for key in self.books:
            if key in self.halted:
                continue
            book = self.books[key]
            touch = (book.bids.peekitem(-1)[0] if book.bids else None,
                     book.asks.peekitem(0)[0] if book.asks else None)
            diff = self._requote(key)
            if diff is not None:
                self._remember(key)
                changed.append((key, diff, touch))
        # Real venues publish independently: a fixed order would always leave the last venue's
        # quote in flight when the others' arrive (its own generator: the books do not change).
        self._publish_rng.shuffle(changed)
        for key, diff, touch in changed:
            for listener in self._listeners[key[0]]:
                listener(diff)
            self._print_through(key, *touch)
        return [diff for _, diff, _ in changed]

    def _print_through(self, key: tuple[str, Symbol], old_bid: int | None, old_ask: int | None) -> None:
        """A synthetic print at the old touch when the re-quote moved the book through it."""
        rng = self._trade_rng
        book = self.books[key]
        if rng is None or not book.bids or not book.asks:
            return
        bid, ask = book.bids.peekitem(-1)[0], book.asks.peekitem(0)[0]
        if old_ask is not None and bid >= old_ask:
            side, ticks = Side.BUY, old_ask
        elif old_bid is not None and ask <= old_bid:
            side, ticks = Side.SELL, old_bid
        else:
            return
        price = book.price(ticks)
        most = max(1, int(2000 / (float(price) * float(book.spec.step))))  # up to ~2000 quote
        qty = book.qty(rng.randint(1, most))
        self.trades.print(key[0], key[1], side, [(price, qty)], self._now // MS)

    def _seen_reference(self, symbol: Symbol, latency_ns: int) -> float:
        """The reference price as it was `latency_ns` ago."""
        target = self._now - latency_ns
        seen = self._history[symbol][0][1]
        for t, price in self._history[symbol]:
            if t > target:
                break
            seen = price
        return seen

    def _requote(self, key: tuple[str, Symbol], initial: bool = False) -> BookDiff | None:
        venue, symbol = key
        params = self.venues[venue]
        book = self.books[key]
        spec = book.spec
        offset = self._offset[key]
        forced = self._forced.get(key)
        if forced is not None:
            if self._now < forced[1]:
                offset = forced[0]
            else:
                del self._forced[key]
        mid = self._seen_reference(spec.symbol, int(params.latency_ms * MS)) * (1 + offset * 1e-4)
        tick = float(spec.tick)
        half = max(mid * params.half_spread_bps * 1e-4, tick)
        best_bid = math.floor((mid - half) / tick)
        best_ask = max(math.ceil((mid + half) / tick), best_bid + 1)
        rng = self._rng
        base_lots = max(1, int(2000 / (mid * float(spec.step))))  # ~2000 quote per level near the top
        changes: dict[tuple[bool, int], int] = {}
        for is_bid, best, sign in ((True, best_bid, -1), (False, best_ask, 1)):
            side = book.bids if is_bid else book.asks
            wanted = {best + sign * k for k in range(params.depth)}
            for ticks in list(side.keys()):
                if ticks not in wanted:
                    changes[(is_bid, ticks)] = 0
            for k in range(params.depth):
                ticks = best + sign * k
                if ticks <= 0:
                    continue
                if initial or ticks not in side or (k < 10 and rng.random() < 0.3):
                    lots = int(base_lots * (1 + k / 4) * rng.uniform(0.5, 1.5)) + 1
                    changes[(is_bid, ticks)] = lots
        changed_bids: list[Level] = []
        changed_asks: list[Level] = []
        # deletions first, so the book is never crossed in between
        for (is_bid, ticks), lots in sorted(changes.items(), key=lambda item: item[1] != 0):
            if book.set(is_bid, ticks, lots):
                (changed_bids if is_bid else changed_asks).append((book.price(ticks), book.qty(lots)))
        count = len(changed_bids) + len(changed_asks)
        if count == 0:
            return None
        first = book.update_id + 1
        book.update_id += count
        return BookDiff(venue, symbol, first, book.update_id, changed_bids, changed_asks, self._now)
