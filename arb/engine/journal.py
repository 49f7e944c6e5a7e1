"""[8] Append-only SQLite journal: runs, opportunities, orders, order events, fills, residuals.

The event loop never touches SQLite: every write is queued to one writer thread that owns the
connection (WAL mode) and commits in small batches. `await journal.flush()` waits until everything
queued so far is committed; the executor awaits it after writing an opportunity's leg intents and
before sending anything, so a crash can never lose an order we sent. Reads run on a separate
connection in a worker thread.

A writer that cannot write (disk full, I/O error, read-only or corrupt file) fails the journal for
good: the waiting and every later `flush()` raise `JournalError` at once, later writes are dropped,
`on_failure` is called on the event loop (the engine HALTs) and `close()` still returns. A single
statement the database refuses (a constraint) fails only the next `flush()`. `record_intent` inserts
a new order and refuses (`DuplicateIntentError` on the next flush) a client order id already held.
`run_id` (after `open()`) grows with every run on one file: the engine's client ids carry it.

Decimals are stored as TEXT (exact); times as integer nanoseconds. Schema changes are numbered
migrations in `MIGRATIONS`; `schema_version` records the last one applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, NamedTuple, cast

from arb.engine.hooks import TradeObserver
from arb.errors import DuplicateIntentError, JournalError
from arb.model import Fill, Opportunity, Order, OrderStatus, OrderType, Side, Symbol, TimeInForce

MIGRATIONS: Final[tuple[str, ...]] = (
    # 1: initial schema
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_ns INTEGER NOT NULL,
        stopped_ns INTEGER,
        mode TEXT NOT NULL,
        version TEXT NOT NULL
    );
    CREATE TABLE opportunities (
        id TEXT PRIMARY KEY,
        run_id INTEGER,
        ts_ns INTEGER NOT NULL,
        symbol TEXT NOT NULL,
        buy_venue TEXT NOT NULL,
        sell_venue TEXT NOT NULL,
        quantity REAL NOT NULL,
        buy_vwap REAL NOT NULL,
        sell_vwap REAL NOT NULL,
        buy_worst REAL NOT NULL,
        sell_worst REAL NOT NULL,
        net_bps REAL NOT NULL,
        net_profit REAL NOT NULL,
        decision TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        opportunity_id TEXT,
        leg TEXT NOT NULL DEFAULT '',
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side INTEGER NOT NULL,
        type INTEGER NOT NULL,
        time_in_force INTEGER NOT NULL,
        price TEXT,
        quantity TEXT NOT NULL,
        order_id TEXT,
        status INTEGER NOT NULL,
        filled_qty TEXT NOT NULL,
        filled_quote TEXT NOT NULL,
        fee TEXT NOT NULL,
        fee_asset TEXT NOT NULL,
        paper INTEGER NOT NULL DEFAULT 0,
        ts_created INTEGER NOT NULL,
        ts_updated INTEGER NOT NULL
    );
    CREATE INDEX orders_by_status ON orders(status);
    CREATE TABLE order_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client_order_id TEXT NOT NULL,
        ts_ns INTEGER NOT NULL,
        status INTEGER NOT NULL,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE fills (
        venue TEXT NOT NULL,
        trade_id TEXT NOT NULL,
        client_order_id TEXT,
        order_id TEXT,
        symbol TEXT NOT NULL,
        side INTEGER NOT NULL,
        price TEXT NOT NULL,
        quantity TEXT NOT NULL,
        fee TEXT NOT NULL,
        fee_asset TEXT NOT NULL,
        is_maker INTEGER NOT NULL,
        ts_event INTEGER NOT NULL,
        ts_recv INTEGER NOT NULL,
        paper INTEGER NOT NULL,
        PRIMARY KEY (venue, trade_id)
    );
    CREATE TABLE residuals (
        id TEXT PRIMARY KEY,
        opportunity_id TEXT NOT NULL,
        venue TEXT NOT NULL,
        symbol TEXT NOT NULL,
        side INTEGER NOT NULL,
        quantity TEXT NOT NULL,
        opened_ns INTEGER NOT NULL,
        closed_ns INTEGER,
        resolution TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE balances (
        ts_ns INTEGER NOT NULL,
        venue TEXT NOT NULL,
        asset TEXT NOT NULL,
        free TEXT NOT NULL,
        locked TEXT NOT NULL
    );
    CREATE TABLE risk_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        venue TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    );
    """,
    # 2: a fill is keyed by (venue, symbol, trade id): some venues number trades per symbol
    """
    CREATE TABLE fills_v2 (
        venue TEXT NOT NULL,
        trade_id TEXT NOT NULL,
        client_order_id TEXT,
        order_id TEXT,
        symbol TEXT NOT NULL,
        side INTEGER NOT NULL,
        price TEXT NOT NULL,
        quantity TEXT NOT NULL,
        fee TEXT NOT NULL,
        fee_asset TEXT NOT NULL,
        is_maker INTEGER NOT NULL,
        ts_event INTEGER NOT NULL,
        ts_recv INTEGER NOT NULL,
        paper INTEGER NOT NULL,
        PRIMARY KEY (venue, symbol, trade_id)
    );
    INSERT INTO fills_v2 SELECT venue, trade_id, client_order_id, order_id, symbol, side, price, quantity,
        fee, fee_asset, is_maker, ts_event, ts_recv, paper FROM fills;
    DROP TABLE fills;
    ALTER TABLE fills_v2 RENAME TO fills;
    """,
)

_ORDER_COLUMNS: Final = (
    "client_order_id, opportunity_id, leg, venue, symbol, side, type, time_in_force, price, quantity, "
    "order_id, status, filled_qty, filled_quote, fee, fee_asset, paper, ts_created, ts_updated"
)
_UPSERT_ORDER: Final = (
    f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 19)}) "
    "ON CONFLICT(client_order_id) DO UPDATE SET order_id=COALESCE(excluded.order_id, orders.order_id), "
    "opportunity_id=COALESCE(orders.opportunity_id, excluded.opportunity_id), "
    "leg=CASE WHEN orders.leg = '' THEN excluded.leg ELSE orders.leg END, "
    "status=MAX(orders.status, excluded.status), filled_qty=excluded.filled_qty, "
    "filled_quote=excluded.filled_quote, fee=excluded.fee, fee_asset=excluded.fee_asset, "
    "ts_updated=excluded.ts_updated"
)
_INSERT_INTENT: Final = f"INSERT INTO orders ({_ORDER_COLUMNS}) VALUES ({', '.join('?' * 19)})"
_INSERT_EVENT: Final = "INSERT INTO order_events (client_order_id, ts_ns, status, detail) VALUES (?, ?, ?, ?)"
_FILL_COLUMNS: Final = (
    "venue, trade_id, client_order_id, order_id, symbol, side, price, quantity, fee, fee_asset, "
    "is_maker, ts_event, ts_recv, paper"
)

_Statement = tuple[str, Sequence[Any]]
_STOP: Final = object()
log = logging.getLogger(__name__)
# SQLite primary result codes that mean the file cannot be written any more (not one bad statement)
_FATAL_CODES: Final = frozenset({
    3,  # SQLITE_PERM
    8,  # SQLITE_READONLY
    10,  # SQLITE_IOERR
    11,  # SQLITE_CORRUPT
    13,  # SQLITE_FULL
    14,  # SQLITE_CANTOPEN
    26,  # SQLITE_NOTADB
})


class _Intent(NamedTuple):
    """A new order: inserted with its first event, or refused whole if its client id exists."""

    client_order_id: str
    order_row: tuple[Any, ...]
    event_row: tuple[Any, ...]


def _is_fatal(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:  # raised by the sqlite3 module itself (closed connection, ...)
        return not isinstance(exc, sqlite3.IntegrityError)
    return (code & 0xFF) in _FATAL_CODES


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _order_row(order: Order, opportunity_id: str | None, leg: str, paper: bool) -> tuple[Any, ...]:
    return (
        order.client_order_id, opportunity_id, leg, order.venue, str(order.symbol), int(order.side),
        int(order.type), int(order.time_in_force), _dec(order.price), _dec(order.quantity),
        order.order_id, int(order.status), _dec(order.filled_qty), _dec(order.filled_quote),
        _dec(order.fee), order.fee_asset, int(paper), order.ts_created, order.ts_updated,
    )


def _row_order(row: sqlite3.Row) -> Order:
    return Order(
        venue=row["venue"], symbol=Symbol.parse(row["symbol"]), client_order_id=row["client_order_id"],
        side=Side(row["side"]), type=OrderType(row["type"]), quantity=Decimal(row["quantity"]),
        price=None if row["price"] is None else Decimal(row["price"]),
        time_in_force=TimeInForce(row["time_in_force"]), order_id=row["order_id"],
        status=OrderStatus(row["status"]), filled_qty=Decimal(row["filled_qty"]),
        filled_quote=Decimal(row["filled_quote"]), fee=Decimal(row["fee"]), fee_asset=row["fee_asset"],
        ts_created=row["ts_created"], ts_updated=row["ts_updated"],
    )


def _row_fill(row: sqlite3.Row) -> Fill:
    return Fill(
        venue=row["venue"], symbol=Symbol.parse(row["symbol"]), trade_id=row["trade_id"],
        side=Side(row["side"]), price=Decimal(row["price"]), quantity=Decimal(row["quantity"]),
        fee=Decimal(row["fee"]), fee_asset=row["fee_asset"], order_id=row["order_id"],
        client_order_id=row["client_order_id"], is_maker=bool(row["is_maker"]),
        ts_event=row["ts_event"], ts_recv=row["ts_recv"], paper=bool(row["paper"]),
    )


def _connect(path: str, sync: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if sync == 'full' else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending numbered migrations; return the schema version."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    current = row[0] or 0
    for number, script in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        conn.execute("BEGIN")
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute("COMMIT")
        current = number
    return int(current)


class Journal:
    """The engine's durable record. Writes are queued (never block the loop); `flush()` commits.

    Parameters
    ----------
    path:
        SQLite file (created with its directory if missing).
    sync:
        ``"normal"`` (survives a process crash; the default) or ``"full"`` (also a power cut).
    paper:
        Marks every order and fill written by this run as paper.
    """

    def __init__(self, path: str | Path, *, sync: str = "normal", paper: bool = False) -> None:
        self.path = Path(path)
        self.sync = sync
        self.paper = paper
        self.run_id: int | None = None
        self.writes = 0
        self.commits = 0
        self.dropped = 0  # writes refused because the writer had failed
        # called from the writer thread with each transaction's seconds (BEGIN..COMMIT)
        self.on_commit: Callable[[float], None] | None = None
        # called on the event loop, once, when the writer fails for good
        self.on_failure: Callable[[JournalError], None] | None = None
        self.observer: TradeObserver | None = None  # told each record once queued (cluster events)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: JournalError | None = None
        self._failed: JournalError | None = None
        self._notified = False
        self._failing = threading.Lock()  # orders "failed + drained" against "checked + queued"

    @property
    def failed(self) -> JournalError | None:
        """Why the writer stopped for good (None while it works)."""
        return self._failed

    # ------------------------------------------------------------------ lifecycle

    async def open(self, *, mode: str, version: str, now_ns: int) -> None:
        """Create/migrate the database, start the writer thread and record this run."""
        self._loop = asyncio.get_running_loop()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = await asyncio.to_thread(self._open_writer)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(str(self.path), f"cannot open: {exc}") from None
        self._thread = threading.Thread(target=self._writer, args=(conn,), name="arb-journal", daemon=True)
        self._thread.start()
        self.run_id = await self._read(
            lambda c: c.execute(
                "INSERT INTO runs (started_ns, mode, version) VALUES (?, ?, ?)", (now_ns, mode, version)
            ).lastrowid
        )

    def _open_writer(self) -> sqlite3.Connection:
        conn = _connect(str(self.path), self.sync)
        migrate(conn)
        return conn

    async def close(self, *, now_ns: int | None = None) -> None:
        """Commit everything queued, record the run's end and stop the writer (returns even when
        the writer has failed: what could not be written is lost, and was reported then)."""
        if self._thread is None:
            return
        if now_ns is not None and self.run_id is not None:
            self._put(("UPDATE runs SET stopped_ns=? WHERE id=?", (now_ns, self.run_id)))
        try:
            await self.flush()
        except JournalError as exc:
            if self._failed is None:
                log.warning("journal %s: last writes refused on close: %s", self.path, exc)
        self._queue.put(_STOP)  # a failed writer has already returned: nobody reads this
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    # ------------------------------------------------------------------ writer thread

    def _writer(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                item = self._queue.get()
                batch = [item]
                while True:  # drain what is already queued into one transaction
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                try:
                    stop = self._apply(conn, batch)
                except (sqlite3.Error, OSError) as exc:  # the file cannot be written: fail for good
                    self._fail(conn, exc, batch)
                    return
                if stop:
                    return
        finally:
            conn.close()

    def _apply(self, conn: sqlite3.Connection, batch: list[object]) -> bool:
        waiters: list[asyncio.Future[None]] = []
        stop = False
        started = time.perf_counter()
        conn.execute("BEGIN")
        for item in batch:
            if item is _STOP:
                stop = True
            elif isinstance(item, asyncio.Future):
                waiters.append(item)
            elif isinstance(item, _Intent):
                try:
                    conn.execute(_INSERT_INTENT, item.order_row)
                except sqlite3.IntegrityError:  # the id is taken: refuse, never merge
                    self._error = DuplicateIntentError(str(self.path), item.client_order_id)
                    continue
                conn.execute(_INSERT_EVENT, item.event_row)
                self.writes += 2
            else:
                sql, params = cast(_Statement, item)
                try:
                    conn.execute(sql, params)
                    self.writes += 1
                except sqlite3.Error as exc:  # one bad statement must not lose the others
                    if _is_fatal(exc):
                        raise
                    self._error = JournalError(str(self.path), f"write refused: {exc}")
        conn.execute("COMMIT")
        self.commits += 1
        if self.on_commit is not None:
            self.on_commit(time.perf_counter() - started)
        if waiters:
            error, self._error = self._error, None
            for fut in waiters:
                self._resolve(fut, error)
        return stop

    def _fail(self, conn: sqlite3.Connection, exc: BaseException, batch: list[object]) -> None:
        """The writer thread's last act: record why, answer every waiter, tell the engine."""
        error = JournalError(str(self.path), f"writer failed: {type(exc).__name__}: {exc}")
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()
        with self._failing:
            self._failed = error
            pending = list(batch)
            while True:
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
        lost = sum(1 for item in pending if not isinstance(item, asyncio.Future) and item is not _STOP)
        self.dropped += lost
        log.error("%s (%d queued writes lost)", error, lost)
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._notify, error)  # before any waiter wakes up
        for item in pending:
            if isinstance(item, asyncio.Future):
                self._resolve(item, error)

    def _notify(self, error: JournalError) -> None:
        """Tell `on_failure`, once, on the event loop (from the writer, or from the first flush
        that sees the failure before the writer's call arrived)."""
        if self._notified:
            return
        self._notified = True
        if self.on_failure is not None:
            self.on_failure(error)

    @staticmethod
    def _resolve(fut: asyncio.Future[None], error: BaseException | None) -> None:
        loop = fut.get_loop()

        def done() -> None:
            if fut.done():
                return
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(None)

        loop.call_soon_threadsafe(done)

    def _put(self, statement: _Statement | _Intent) -> None:
        if self._thread is None:
            raise RuntimeError("journal is not open")
        if self._failed is not None:  # reported once when it failed; flush() raises
            self.dropped += 1
            return
        self._queue.put(statement)

    async def flush(self) -> None:
        """Wait until every write queued so far is committed.

        Raises `JournalError` at once when the writer has failed, and when a write queued since the
        last flush was refused (`DuplicateIntentError` for a reused client order id).
        """
        if self._thread is None:
            raise RuntimeError("journal is not open")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._failing:
            failed = self._failed
            if failed is None:
                self._queue.put(fut)
        if failed is not None:
            self._notify(failed)  # the engine hears of it before this caller does
            raise failed
        await fut

    # ------------------------------------------------------------------ writes (non-blocking)

    def record_opportunity(self, opp: Opportunity, decision: str, reason: str = "") -> None:
        self._put((
            "INSERT OR REPLACE INTO opportunities (id, run_id, ts_ns, symbol, buy_venue, sell_venue, "
            "quantity, buy_vwap, sell_vwap, buy_worst, sell_worst, net_bps, net_profit, decision, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                opp.id, self.run_id, opp.ts_detected, str(opp.symbol), opp.buy_venue, opp.sell_venue,
                opp.quantity, opp.buy_vwap, opp.sell_vwap, opp.buy_worst, opp.sell_worst, opp.net_bps,
                opp.net_profit, decision, reason,
            ),
        ))
        if self.observer is not None:
            self.observer.on_opportunity(opp, decision)

    def record_order(self, order: Order, *, opportunity_id: str | None = None, leg: str = "",
                     detail: str = "") -> None:
        """Insert or advance an order (status never moves backwards) and log the event."""
        self._put((_UPSERT_ORDER, _order_row(order, opportunity_id, leg, self.paper)))
        self._put((_INSERT_EVENT, (order.client_order_id, order.ts_updated, int(order.status), detail)))
        if self.observer is not None:
            self.observer.on_order(order, opportunity_id, leg, detail)

    def record_intent(self, order: Order, *, opportunity_id: str | None = None, leg: str = "",
                      detail: str = "intent") -> None:
        """Insert a new order. A client order id the journal already holds is refused, never merged:
        nothing of the intent is written and the next `flush()` raises `DuplicateIntentError`."""
        self._put(_Intent(
            order.client_order_id, _order_row(order, opportunity_id, leg, self.paper),
            (order.client_order_id, order.ts_updated, int(order.status), detail),
        ))
        if self.observer is not None:
            self.observer.on_order(order, opportunity_id, leg, detail)

    def record_fill(self, fill: Fill) -> None:
        """Record a fill once: a duplicate (venue, trade_id) is ignored."""
        self._put((
            f"INSERT OR IGNORE INTO fills ({_FILL_COLUMNS}) VALUES ({', '.join('?' * 14)})",
            (
                fill.venue, fill.trade_id, fill.client_order_id, fill.order_id, str(fill.symbol),
                int(fill.side), _dec(fill.price), _dec(fill.quantity), _dec(fill.fee), fill.fee_asset,
                int(fill.is_maker), fill.ts_event, fill.ts_recv, int(fill.paper or self.paper),
            ),
        ))
        if self.observer is not None:
            self.observer.on_fill(fill)

    def record_residual(self, residual_id: str, opportunity_id: str, venue: str, symbol: Symbol,
                        side: Side, quantity: Decimal, opened_ns: int) -> None:
        self._put((
            "INSERT OR REPLACE INTO residuals (id, opportunity_id, venue, symbol, side, quantity, opened_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (residual_id, opportunity_id, venue, str(symbol), int(side), _dec(quantity), opened_ns),
        ))

    def close_residual(self, residual_id: str, closed_ns: int, resolution: str) -> None:
        self._put((
            "UPDATE residuals SET closed_ns=?, resolution=? WHERE id=?", (closed_ns, resolution, residual_id)
        ))

    def record_balance(self, ts_ns: int, venue: str, asset: str, free: Decimal, locked: Decimal) -> None:
        self._put((
            "INSERT INTO balances (ts_ns, venue, asset, free, locked) VALUES (?, ?, ?, ?, ?)",
            (ts_ns, venue, asset, _dec(free), _dec(locked)),
        ))

    def record_risk_event(self, ts_ns: int, kind: str, venue: str = "", detail: str = "") -> None:
        self._put((
            "INSERT INTO risk_events (ts_ns, kind, venue, detail) VALUES (?, ?, ?, ?)",
            (ts_ns, kind, venue, detail),
        ))

    # ------------------------------------------------------------------ reads (worker thread)

    async def _read(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        def run() -> Any:
            conn = _connect(str(self.path), self.sync)
            try:
                return fn(conn)
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    async def orders(self, *, open_only: bool = False) -> list[Order]:
        """Orders in the journal; `open_only` keeps those not yet in a terminal state."""
        sql = "SELECT * FROM orders"
        if open_only:
            sql += f" WHERE status < {int(OrderStatus.FILLED)}"
        rows = await self._read(lambda c: c.execute(sql + " ORDER BY ts_created").fetchall())
        return [_row_order(r) for r in rows]

    async def order_links(self) -> dict[str, tuple[str | None, str]]:
        """client_order_id -> (opportunity_id, leg)."""
        rows = await self._read(
            lambda c: c.execute("SELECT client_order_id, opportunity_id, leg FROM orders").fetchall()
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    async def fills(self) -> list[Fill]:
        rows = await self._read(lambda c: c.execute("SELECT * FROM fills ORDER BY ts_event").fetchall())
        return [_row_fill(r) for r in rows]

    async def open_residuals(self) -> list[sqlite3.Row]:
        rows: list[sqlite3.Row] = await self._read(
            lambda c: c.execute("SELECT * FROM residuals WHERE closed_ns IS NULL").fetchall()
        )
        return rows

    async def query(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """A read-only query for reports (`history`, `pnl`, `status`)."""
        args = tuple(params)
        rows: list[sqlite3.Row] = await self._read(lambda c: c.execute(sql, args).fetchall())
        return rows
