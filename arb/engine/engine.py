"""The wiring: the one place that builds the stages and connects them.

    venue streams -> BookStore (sync) -> Detector (kernel) -> RiskManager -> Executor -> OrderTracker
                                                                               -> Journal

Paper mode fills orders against the local books (`PaperExchange`). Live mode sends them to the
venues through their signed connectors (`arb.venues.registry.make_private`): on start it reads fee
rates and balances from every venue and reconciles the journal's open orders (trading only if that
succeeds, otherwise it starts HALTED); fills come with order replies where the venue sends them
(full order replies) and are fetched from the venue's trade history otherwise; balances are re-read
from the venues whenever no trade is in flight. In both modes local balances move by the tracked
orders' fill deltas, so one path accounts for paper and live fills alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import msgspec

import arb
from arb._core.book import L2Book
from arb.config import Config, VenueConfig
from arb.credentials import Credentials
from arb.engine import report
from arb.engine.books import BookStore, venue_rules
from arb.engine.control import EngineControl
from arb.engine.detector import Detector
from arb.engine.executor import Executor, Outcome, OutcomeStatus
from arb.engine.failpoints import Failpoints
from arb.engine.hooks import VenueBudgets
from arb.engine.journal import Journal
from arb.engine.orders import OrderTracker, TrackedOrder
from arb.engine.paper import PaperExchange
from arb.engine.reasons import Gate
from arb.engine.reconcile import ReconcileReport, reconcile
from arb.engine.risk import RiskManager, TradingState, state_path
from arb.engine.runtag import run_tag
from arb.engine.universe import UniverseKeeper
from arb.engine.upkeep import Upkeep, final_balances, read_taker_fees
from arb.errors import ConfigError, DecodeError, ExchangeError, TradingDisabledError
from arb.model import ZERO, AssetBalance, Fill, Opportunity, Order, Symbol, SymbolInfo, Trade
from arb.obs.metrics import EngineSnapshot, Metrics
from arb.venues.base import (
    BaseWebSocketInterface,
    DepthUpdate,
    PrivateExchangeInterface,
    PublicExchangeInterface,
    StreamHandlers,
)
from arb.venues.clock import ServerClock
from arb.venues.registry import make_private, make_public, make_stream, venue_specs
from arb.venues.spec import VenueSpec

log = logging.getLogger(__name__)

PublicFactory = Callable[[str, VenueConfig], PublicExchangeInterface]
StreamFactory = Callable[[str, StreamHandlers, VenueConfig], BaseWebSocketInterface]
DEFAULT_TAKER_FEE = 0.001
DECISION_SAMPLES = 100_000
OUTCOMES_KEPT = 1_000  # recent outcomes in memory; totals are counted (`Totals`)
SETTLE_NS = 500 * 1_000_000  # a venue's balance reports are trusted this long after its last order ended
MS = 1_000_000
ROUNDS_ON_STOP = 3  # stop() waits for trades in flight, and for those their settling started


class Totals(msgspec.Struct):
    """What every outcome since start added up to (the outcomes themselves are kept bounded)."""

    trades: int = 0
    fills: int = 0
    pnl: Decimal = ZERO
    residuals: int = 0
    residuals_open: int = 0


class _Handlers:
    """The engine side of every venue stream."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def on_depth(self, update: DepthUpdate) -> None:
        self._engine.books.on_depth(update)

    def on_trade(self, trade: Trade) -> None:
        return None

    def on_order(self, order: Order) -> None:
        self._engine.tracker.on_order(order, "stream")

    def on_fill(self, fill: Fill) -> None:
        self._engine.on_venue_fill(fill)

    def on_balance(self, venue: str, balance: AssetBalance) -> None:
        self._engine.on_venue_balance(venue, balance)

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        self._engine.stream_decode_errors += 1
        if symbol is not None:
            self._engine.books.on_decode_error(error.venue, symbol)

    def on_stream_state(self, venue: str, connected: bool, symbols: Any) -> None:
        if symbols:
            self._engine.books.on_stream_state(venue, connected, symbols)
        else:  # the user stream (it carries no symbols)
            self._engine.on_user_stream(venue, connected)


class Engine:
    """Builds every stage from a `Config` and runs them in one event loop.

    Parameters
    ----------
    config:
        The validated configuration (venue URLs may point at a simulator).
    paper_balances:
        Starting balance per asset on every venue (paper mode).
    credentials:
        API keys per venue (live: every enabled venue needs them; paper: read-only use; never logged).
    public_factory, stream_factory:
        Build each venue's REST market data and stream (the registry's connectors by default;
        `arb-engine replay` passes recorded ones).
    specs:
        The venues' specs, whose book and client-id rules the engine follows (default: the registry's
        spec of each configured venue, a ccxt-driven one's built from ccxt's description).
    """

    def __init__(self, config: Config, *, paper_balances: Mapping[str, Decimal] | None = None,
                 credentials: Mapping[str, Credentials] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns, public_factory: PublicFactory = make_public,
                 stream_factory: StreamFactory | None = None,
                 specs: Mapping[str, VenueSpec] | None = None, instance: str = "") -> None:
        self.config = config
        self._instance = instance  # this process's name among several trading one account (ids)
        self.specs = dict(specs) if specs is not None else venue_specs(config.venues)
        self.live = config.engine.mode == "live"
        self._make_public = public_factory
        self._make_stream = stream_factory or self._venue_stream
        self._clock = clock_ns
        self._paper_balances = dict(paper_balances or config.paper_start_balances)
        self._credentials = dict(credentials or {})
        if self.live:
            for venue in config.enabled_venues:
                if venue not in self._credentials:
                    raise ConfigError(f"venues.{venue}", "credentials",
                                      "live mode needs this venue's API keys")
        self.journal = Journal(config.journal_path, sync=config.journal.sync, paper=not self.live)
        self.risk = RiskManager(config.risk, state_path(config.engine.data_dir), clock_ns)
        # data dir lock (a second engine fails here), halt/resume from other processes, risk events
        # journaled, a failed journal writer HALTs at once
        self.control = EngineControl(config.engine.data_dir, self.risk, self.journal,
                                     state_path(config.engine.data_dir))
        self.tracker = OrderTracker(clock_ns, self._on_order_change, late_fill=self._on_late_fill)
        self.books = BookStore(self._fetch_snapshot, self._on_book_update, clock_ns=clock_ns,
                               rules=venue_rules(self.specs))
        self.detector = Detector(
            config.risk, clock_ns, is_synced=self.books.is_synced, available=self.risk.available_float,
            blocked=self._venue_gate, on_opportunity=self._on_opportunity,
            run_tag="0-",  # replaced by the journal's run counter on start: ids never repeat across runs
            trading=self._trading_gate, clock_offset_ns=self._clock_offset_ns,
        )
        self.publics: dict[str, PublicExchangeInterface] = {}
        self.budgets = VenueBudgets()  # the venues' rate limiters, steered from outside (cluster mode)
        self.streams: dict[str, BaseWebSocketInterface] = {}
        self.papers: dict[str, PaperExchange] = {}
        self.privates: dict[str, PrivateExchangeInterface] = {}  # orders go here (paper: PaperExchange)
        self.signed: dict[str, PrivateExchangeInterface] = {}  # the venues' signed connectors (keys given)
        self.fees: dict[tuple[str, Symbol], float] = {}
        self.reconciliation: ReconcileReport | None = None
        self._applied: dict[str, tuple[Decimal, Decimal, Decimal]] = {}  # cid -> fill totals in balances
        self._refresher: asyncio.Task[None] | None = None
        self._accounting = True  # balances follow order fills (off while reconciling)
        self.user_streams: dict[str, bool] = {}  # live: venue -> its user stream is up
        self._checks: set[asyncio.Task[None]] = set()
        self.symbols: dict[tuple[str, Symbol], SymbolInfo] = {}
        self.outcomes: deque[Outcome] = deque(maxlen=OUTCOMES_KEPT)
        self.totals = Totals()
        self._lifetimes: deque[float] = deque(maxlen=DECISION_SAMPLES)
        self._activity: dict[str, int] = {}  # venue -> changes to its orders (balance snapshots race them)
        self._journaled_balances: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        self._last_final: dict[str, int] = {}  # venue -> when an order of it last changed
        self.stream_decode_errors = 0  # frames a venue codec could not decode
        self.decision_ns: deque[int] = deque(maxlen=DECISION_SAMPLES)  # recent, for percentiles
        self.metrics = Metrics(EngineSnapshot(
            funnel=lambda: self.detector.funnel.stages, gates=lambda: report.gate_counts(self),
            trading_state=lambda: int(self.risk.state), realised_pnl=lambda: float(self.risk.pnl_today()),
            unhedged_notional=lambda: float(self.risk.unhedged_notional),
            books=lambda: report.book_metrics(self), venue_counters=lambda: report.venue_counters(self),
            venue_gauges=lambda: report.venue_gauges(self),
        ))
        self.journal.on_commit = self.metrics.journal_write.observe  # thread-safe
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False  # stop() began: no new trade, those in flight finish
        self._executor: Executor | None = None
        self._handlers = _Handlers(self)
        self.upkeep = Upkeep(self)
        self.universe = UniverseKeeper(self, lambda v: self._taker_fee(v, config.enabled_venues[v]))
        self._venue_clocks: dict[str, ServerClock] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.journal.open(mode=self.config.engine.mode, version=arb.__version__, now_ns=self._clock())
        self.control.start()
        self.detector.set_run_tag(run_tag(self.journal.run_id or 0, self._clock(), self._instance))
        venues = self.config.enabled_venues
        wanted = set(self.config.symbol_list)
        for name, venue_cfg in venues.items():
            self.publics[name] = self._make_public(name, venue_cfg)
            if keys := self._credentials.get(name):  # its signed connector (paper: read-only account data)
                self.signed[name] = make_private(  # paper sends it no order: no reply fills to take
                    name, venue_cfg, keys, on_fill=self.on_venue_fill if self.live else None,
                    limiter=self.publics[name].limiter)  # one budget per venue
            self.budgets.add(name, self.publics[name].limiter)
            await self._measure_clock(name)
            for info in [] if self.universe.enabled else await self.publics[name].symbols():
                if info.symbol in wanted and info.tradable:
                    self.symbols[(name, info.symbol)] = info
        if self.universe.enabled:  # symbols = "auto": every pair two venues list, filtered
            self.symbols.update(await self.universe.discover())
        if self.live:
            await self._start_live()
        else:
            self._start_paper()
        fees = self.fees
        self._executor = Executor(
            self.config.executor, privates=self.privates, symbols=self.symbols,
            taker_fee=lambda v, s: fees[(v, s)], book=lambda v, s: self._book_or_none(v, s),
            tracker=self.tracker, risk=self.risk, funnel=self.detector.funnel, clock_ns=self._clock,
            journal=self.journal, failpoints=Failpoints.from_env(), on_refused=self._on_refused,
            halted=lambda venue, symbol: (venue, symbol) in self.upkeep.halted,
            client_ids={name: spec.client_id for name, spec in self.specs.items()},
        )
        for symbol in self.universe.symbols() or self.config.symbol_list:
            listed = [v for v in venues if (v, symbol) in self.symbols]
            if len(listed) < 2:
                log.warning("%s is listed on %s only: not traded", symbol, listed)
                continue
            if not self.universe.wanted(symbol):  # outside the book scope (cluster: another's shard)
                continue
            for venue in listed:
                self.books.add(venue, symbol, start=False)
            step = max(float(self.symbols[(v, symbol)].step_size) for v in listed)
            self.detector.add_symbol(symbol, {v: self.books.book(v, symbol) for v in listed},
                                     {v: fees[(v, symbol)] for v in listed}, step)
        for name, venue_cfg in venues.items():
            symbols = [s for (v, s) in self.symbols if v == name and self._tracked(v, s)]
            stream = self._make_stream(name, self._handlers, venue_cfg)
            self.streams[name] = stream
            await stream.subscribe_depth(symbols)
            for symbol in symbols:
                self.books.start(name, symbol)
            if self.live:  # the account's order / fill / balance pushes
                self.user_streams[name] = False
                await stream.subscribe_user()
        if self.live:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_balances(),
                                                                     name="balance refresh")
        self.upkeep.start()
        self.universe.start()

    def _venue_stream(self, name: str, handlers: StreamHandlers, cfg: VenueConfig) -> BaseWebSocketInterface:
        if not self.live:
            return make_stream(name, handlers, cfg)
        return make_stream(name, handlers, cfg, credentials=self._credentials[name],
                           private=self.privates[name])

    def _start_paper(self) -> None:
        for name, cfg in self.config.enabled_venues.items():
            fee = self._taker_fee(name, cfg)
            self.fees.update({(v, s): fee for (v, s) in self.symbols if v == name})
            self.papers[name] = PaperExchange(
                name, functools.partial(self._book_or_none, name), self._paper_balances,
                taker_fee=fee, clock_ns=self._clock, on_fill=self._on_paper_fill,
                run_tag=run_tag(self.journal.run_id or 0, self._clock(), self._instance),
            )
            self.privates[name] = self.papers[name]
            for asset, amount in self._paper_balances.items():
                self.risk.set_balance(name, asset, amount)

    async def _start_live(self) -> None:
        """Signed connectors, fee rates and balances from the venues, then reconciliation."""
        self.privates.update(self.signed)
        await read_taker_fees(self.fees, list(self.symbols), self.config.enabled_venues, self.signed)
        self._accounting = False  # what reconciliation learns is already in the venues' balances
        executor = self.config.executor
        self.reconciliation = await reconcile(
            self.journal, self.privates, self.tracker, grace_ns=executor.unknown_grace_ms * MS,
            deadline_ns=self._clock() + executor.unknown_deadline_ms * MS,
            backoff_s=executor.query_backoff_ms / 1000, is_dust=self._is_dust,
        )
        self._accounting = True
        for name, private in self.privates.items():
            for asset, balance in (await private.balances()).items():
                self.risk.set_balance(name, asset, balance.free)
                self._journal_balance(name, asset, balance.free, balance.locked, self._clock())
        report = self.reconciliation
        if not report.ok:
            details = "; ".join([*report.open_residuals, *report.errors,
                                 *(f"{cid} unresolved" for cid in report.unresolved)])
            self.risk.halt(f"reconciliation: {report.summary()}: {details}")

    async def _refresh_balances(self) -> None:
        """The venues' balances are the truth: re-read them whenever no trade is in flight."""
        while True:
            await asyncio.sleep(self.config.engine.balance_refresh_s)
            if not self._tasks:
                await self.refresh_balances()

    def _venue_quiet(self, venue: str) -> bool:
        """No order of `venue` is in flight and none changed within the settle window: a balance
        report from it cannot be older than what the engine applied locally."""
        if any(o.venue == venue for o in self.tracker.open_orders()):
            return False
        return self._clock() - self._last_final.get(venue, 0) >= SETTLE_NS

    async def refresh_balances(self) -> None:
        """Re-read every venue's balances. A snapshot is applied only if nothing happened on that
        venue while it was requested (an older snapshot never overwrites newer knowledge)."""
        for name, private in self.privates.items():
            if not self._venue_quiet(name):
                continue
            before = self._activity.get(name, 0)
            try:
                balances = await private.balances()
            except (ExchangeError, DecodeError) as exc:  # a malformed answer too
                log.warning("%s: balance refresh failed: %s", name, exc)
                continue
            if self._activity.get(name, 0) != before or not self._venue_quiet(name):
                continue  # an order moved meanwhile: its fills are applied locally; next time
            now = self._clock()
            for asset, balance in balances.items():
                self.risk.set_balance(name, asset, balance.free)
                self._journal_balance(name, asset, balance.free, balance.locked, now)

    def _journal_balance(self, venue: str, asset: str, free: Decimal, locked: Decimal, now: int) -> None:
        """Journal a venue balance when it changed since the last one journaled."""
        key = (venue, asset)
        if self._journaled_balances.get(key) != (free, locked):
            self._journaled_balances[key] = (free, locked)
            self.journal.record_balance(now, venue, asset, free, locked)

    def in_flight(self) -> list[asyncio.Task[None]]:
        """The executions running now (a trade's legs, hedges and unwinds read their books)."""
        return list(self._tasks)

    async def drain(self) -> None:
        """Wait for the executions in flight (replay settles each frame's consequences with it)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def stop(self) -> None:
        self._stopping = True  # books keep updating until the streams close: nothing new is traded
        await self.upkeep.stop()
        await self.universe.stop()
        for check in list(self._checks):
            check.cancel()
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        for _ in range(ROUNDS_ON_STOP):  # a trade settling may start another (a late fill's reopen)
            for task in list(self._tasks):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(task, timeout=5)
            if not self._tasks:
                break
        if self.live and not self._tasks:  # the journal's last balances include the last fills
            settled = max(self._last_final.values(), default=0) + SETTLE_NS
            await final_balances(self.refresh_balances, settled - self._clock())
        for stream in self.streams.values():
            await stream.close()
        await self.books.close()
        for public in self.publics.values():
            await public.close()
        for private in self.signed.values():
            await private.close()
        await self.control.stop()
        await self.journal.close(now_ns=self._clock())
        self.control.release()

    # ------------------------------------------------------------------ stage callbacks

    def _tracked(self, venue: str, symbol: Symbol) -> bool:
        try:
            self.books.sync(venue, symbol)
        except KeyError:
            return False
        return True

    def _book_or_none(self, venue: str, symbol: Symbol) -> L2Book | None:
        return self.books.book(venue, symbol) if self.books.is_synced(venue, symbol) else None

    async def _fetch_snapshot(self, venue: str, symbol: Symbol, limit: int) -> Any:
        return await self.publics[venue].orderbook(symbol, limit)

    def _on_book_update(self, venue: str, symbol: Symbol, book: L2Book, ts_event: int) -> None:
        self.detector.on_book_update(venue, symbol, ts_event)
        if book.ts_ns:
            elapsed = time.time_ns() - book.ts_ns  # frame receive -> decision
            self.decision_ns.append(elapsed)
            self.metrics.frame_to_decision.observe(elapsed / 1e9)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready when every book is SYNCED and trading is not HALTED (for /readyz)."""
        return report.readiness(self)

    def _on_opportunity(self, opp: Opportunity) -> None:
        task = asyncio.get_running_loop().create_task(self._execute(opp))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, opp: Opportunity) -> None:
        assert self._executor is not None
        try:
            self._record(await self._executor.execute(opp))
        except Exception:  # an executor bug must not stop the engine: halt and say why
            log.exception("%s: execution failed", opp.id)
            self.risk.halt(f"executor error on {opp.id}")

    def _record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.status is not OutcomeStatus.REJECTED:
            totals = self.totals
            totals.trades += 1
            legs = (outcome.buy, outcome.sell)
            totals.fills += sum(1 for leg in legs if leg is not None and leg.filled_qty)
            totals.pnl += outcome.pnl
            totals.residuals_open += 1 if outcome.residual else 0
        if outcome.residual_ms is not None:
            self.totals.residuals += 1
            self._lifetimes.append(outcome.residual_ms)
            self.metrics.residual_lifetime.observe(outcome.residual_ms / 1000)

    def _on_late_fill(self, tracked: TrackedOrder) -> None:
        """An order already final traded after all: its opportunity's position is settled again."""
        opp = tracked.opportunity_id
        if opp is None or self._executor is None:
            self.risk.halt(f"late fill on {tracked.order.venue} {tracked.order.client_order_id}, "
                           "which belongs to no opportunity")
            return
        if self._executor.on_late_fill(opp):
            return  # still being settled: the executor sees the new position
        task = asyncio.get_running_loop().create_task(self._reopen(opp), name=f"reopen {opp}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reopen(self, opportunity_id: str) -> None:
        assert self._executor is not None
        try:
            outcome = await self._executor.reopen(opportunity_id)
        except Exception:
            log.exception("%s: settling a late fill failed", opportunity_id)
            self.risk.halt(f"executor error settling a late fill on {opportunity_id}")
            return
        if outcome is not None:
            log.warning("%s: late fill settled: %s", opportunity_id, outcome.status.word)
            self.totals.pnl += outcome.pnl

    @property
    def decode_errors(self) -> int:
        """Malformed input, counted: frames no codec could decode plus decoded updates a book refused
        (NaN, inf, non-positive prices, negative sizes, reversed ids)."""
        unreadable = sum(stream.malformed_control for stream in self.streams.values())  # control frames
        return self.stream_decode_errors + self.books.malformed_updates + unreadable

    @property
    def clock_ns(self) -> Callable[[], int]:
        return self._clock

    def _on_refused(self, venue: str, symbol: Symbol, error: ExchangeError) -> None:
        if isinstance(error, TradingDisabledError):
            self.upkeep.symbol_halted(venue, symbol)

    def _trading_gate(self) -> Gate | None:
        if (state := self.risk.state) is not TradingState.ACTIVE:  # per book update: identity checks only
            return Gate.TRADING_HALTED if state is TradingState.HALTED else Gate.TRADING_REDUCING
        return Gate.ENGINE_STOPPING if self._stopping else None

    def _venue_gate(self, venue: str) -> Gate | None:
        if self.risk.circuit_open(venue):
            return Gate.CIRCUIT_OPEN
        if self.live and not self.user_streams.get(venue, False):
            return Gate.USER_STREAM_DOWN
        return None

    async def _measure_clock(self, venue: str) -> None:
        """The venue's clock offset from its public time endpoint (the signed connector keeps its own,
        live): event times are compared on one clock by the detector's time-lag gate."""
        clock = ServerClock()  # wall clock: frames are stamped with it on receipt
        try:
            await clock.sync(self.publics[venue].server_time)
        except (ExchangeError, DecodeError, NotImplementedError) as exc:
            log.warning("%s: venue clock not measured (%s): event times taken as ours", venue, exc)
            return
        self._venue_clocks[venue] = clock

    def _clock_offset_ns(self, venue: str) -> int:
        private = self.privates.get(venue)
        clock = (private.server_clock if private is not None else None) or self._venue_clocks.get(venue)
        return int(clock.offset_ms * MS) if clock is not None else 0

    def _is_dust(self, symbol: Symbol, quantity: Decimal, price: Decimal) -> bool:
        """Below every listing venue's minimums: no order could trade it away."""
        for (_, listed), info in self.symbols.items():
            if listed == symbol:
                qty = (quantity / info.step_size).to_integral_value(ROUND_FLOOR) * info.step_size
                if qty > ZERO and qty >= info.min_qty and qty * price >= info.min_notional:
                    return False
        return True

    def _on_order_change(self, order: Order, detail: str) -> None:
        if detail != "track":  # a new order's row is the executor's intent (inserted, never merged)
            self.journal.record_order(order, detail=detail)
        self._activity[order.venue] = self._activity.get(order.venue, 0) + 1
        self._last_final[order.venue] = self._clock()
        # balances move by what the order filled since we last looked (fills and order updates
        # merge monotonically in the tracker, so a fill seen twice moves nothing)
        done = self._applied.get(order.client_order_id, (ZERO, ZERO, ZERO))
        qty, quote, fee = order.filled_qty - done[0], order.filled_quote - done[1], order.fee - done[2]
        if qty or quote or fee:
            self._applied[order.client_order_id] = (order.filled_qty, order.filled_quote, order.fee)
            if not self._accounting:
                return
            self.risk.apply_fill(order.venue, order.side, order.symbol.base, order.symbol.quote, qty, quote,
                                 fee, order.fee_asset or order.symbol.quote)

    def _on_paper_fill(self, fill: Fill) -> None:
        if self.tracker.on_fill(fill):
            self.journal.record_fill(fill)

    def on_venue_balance(self, venue: str, balance: AssetBalance) -> None:
        """A venue's balance push is the truth, unless an order of that venue is in flight or just
        ended (its fills are being applied locally and would count twice, or the push predates
        them); the idle refresh catches up then."""
        if self._venue_quiet(venue):
            self.risk.set_balance(venue, balance.asset, balance.free)
            self._journal_balance(venue, balance.asset, balance.free, balance.locked, self._clock())

    def on_user_stream(self, venue: str, connected: bool) -> None:
        """Events sent while a user stream was down are lost: on its return, ask by REST."""
        was_down = not self.user_streams.get(venue, False)
        self.user_streams[venue] = connected
        if connected and was_down and venue in self.privates:
            task = asyncio.get_running_loop().create_task(self._catch_up(venue), name=f"catch up {venue}")
            self._checks.add(task)
            task.add_done_callback(self._checks.discard)

    async def _catch_up(self, venue: str) -> None:
        private = self.privates[venue]
        for order in [o for o in self.tracker.open_orders() if o.venue == venue]:
            try:
                self.tracker.on_order(
                    await private.get_order(order.symbol, client_order_id=order.client_order_id), "caught up")
            except (ExchangeError, DecodeError) as exc:  # a malformed answer too
                log.warning("%s: catching up %s failed: %s", venue, order.client_order_id, exc)
        await self.refresh_balances()

    def on_venue_fill(self, fill: Fill) -> None:
        """A fill reported by a venue (order reply, stream or trade history): applied and journaled once."""
        owner = self.tracker.owner(fill)
        if owner is not None and self.tracker.on_fill(fill):
            self.journal.record_fill(msgspec.structs.replace(fill, client_order_id=owner))

    def _taker_fee(self, venue: str, cfg: VenueConfig) -> float:
        if cfg.taker_fee is not None:
            return cfg.taker_fee
        fees = [i.taker_fee for (v, _), i in self.symbols.items() if v == venue and i.taker_fee is not None]
        return max(fees) if fees else DEFAULT_TAKER_FEE

    @property
    def activity(self) -> tuple[int, int]:
        """(executions and orders in flight, order changes so far): a cluster's quiet test reads it."""
        return len(self._tasks) + len(self.tracker.open_orders()), sum(self._activity.values())

    # ------------------------------------------------------------------ reporting (arb.engine.report)

    def summary(self) -> dict[str, Any]:
        """What happened, for the demo's table and `status`."""
        return report.summary(self)

    def view_snapshot(self, recent: int = 12) -> dict[str, Any]:
        """What the live view and `/view` show (JSON-ready)."""
        return report.view_snapshot(self, recent)
