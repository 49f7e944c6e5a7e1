"""OKX dialect of the simulator: API v5 spot REST and the ``/ws/v5/public`` and ``/ws/v5/private`` sockets.

Written from the fact sheet (§1) and the real payloads in ``shared/exchange-samples/okx``,
independently of `arb.venues.okx`. Served here: ``GET /api/v5/public/time``,
``/public/instruments?instType=SPOT`` (``tickSz``, ``lotSz``, ``minSz``; ``state`` ``suspend`` while
halted), ``/market/books`` and ``/market/books-full`` (``sz`` per side, default 1, max 400 / 5000;
levels ``[px, sz, "0", numOrders]`` and ``seqId``); trades and tickers in `arb.sim.okx_market`, the
signed trade and account routes in `arb.sim.okx_private`, the private socket in `arb.sim.okx_user`.

The public socket answers the text ``ping`` with ``pong``; ``subscribe`` / ``unsubscribe`` get one
ack per arg (``{"id"?, "event", "arg", "connId"}``), a bad request ``60012``, an unknown channel or
instrument ``60018``, the VIP-only tick-by-tick books ``64003`` (nothing of a failed request is
subscribed). A socket without a push or a client message for 30 s is closed with code 4004.

``books``: the first push after subscribing is a snapshot of the whole book (``action``
``snapshot``, ``prevSeqId`` -1, ``seqId`` = the book's update id), then one ``update`` per book
change with the changed levels (size "0" deletes) and ``prevSeqId`` = the previous ``seqId``, the
same numbers on every connection; after `heartbeat_s` without a change an empty update with
``seqId == prevSeqId``. Every push carries the CRC32 ``checksum`` of the top 25 levels of the book
after it (`arb.sim.okx_wire.checksum`), as OKX did until 2026-06-23; with `OkxDialect.checksums` off
every push carries ``0``, as OKX does since (the switch takes effect from the next push).
``books5``: the top five levels, whole, whenever they change.

Minimum order amount: OKX publishes ``minSz`` (base) and no notional floor; error ``51020``
("should meet or exceed the minimum order amount") exists, but whether a hidden floor of a few
USDT applies to spot is unverified (fact sheet §1.1 and §4.2). A simulator that enforced an
unpublished number would teach clients a rule nobody can learn from the API, so by default this
dialect checks only what ``/public/instruments`` prints (``minSz``, ``lotSz``, ``tickSz``) and
never answers 51020 for a priced order. The floor exists only as the opt-in fault
`FaultPlan.hidden_min_notional` (quote amount; e.g. ``--fault okx:hidden_min_notional=5``), which
refuses smaller orders with ``sCode`` 51020 so a test can check that a client survives it. A market
buy whose quote ``sz`` buys less than one lot is still refused with 51020.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from arb.model import Symbol
from arb.sim.accounts import DEFAULT_ACCOUNTS, SIM_PASSPHRASE, funded_ledger
from arb.sim.market import BookDiff, MarketModel, SimBook
from arb.sim.matching import MatchingEngine
from arb.sim.okx_market import TICKERS, TRADES, OkxMarketData, channel_topic
from arb.sim.okx_private import MAX_MARKET_QUOTE, OkxPrivateApi
from arb.sim.okx_user import OkxUserChannels
from arb.sim.okx_wire import (
    IDLE_S,
    SPOT,
    Pushes,
    checksum,
    error,
    inst_id,
    level,
    num,
    ok,
    serve_socket,
    ws_error,
    ws_event,
)

NAME: Final = "okx"
PREFIX: Final = "/api/v5"
PUBLIC_PATH: Final = "/ws/v5/public"
PRIVATE_PATH: Final = "/ws/v5/private"
BOOKS: Final = "books"
BOOKS5: Final = "books5"
VIP_BOOKS: Final = frozenset({"books50-l2-tbt", "books-l2-tbt"})
PUBLIC_CHANNELS: Final = frozenset({BOOKS, BOOKS5, TRADES, TICKERS})
WRONG_CHANNEL: Final = ("Wrong URL or channel:{},instId:{} doesn't exist. Please use the correct URL, "
                        "channel and parameters referring to API document.")
MAX_BOOK: Final = 400
MAX_FULL_BOOK: Final = 5000
TAKER_FEE: Final = Decimal("0.001")  # OKX Lv1 spot: taker 0.10 %, maker 0.08 % (fees printed negative)
MAKER_FEE: Final = Decimal("0.0008")
HEARTBEAT_S: Final = 60.0
LIST_TIME: Final = "1606468572000"
MAX_LIMIT_SZ: Final = "9999999999"


def book_topic(symbol: Symbol) -> str:
    """The `Subscribers` topic of a symbol's ``books`` channel (for `FaultPlan.gap_topic`)."""
    return channel_topic(BOOKS, inst_id(symbol))


class OkxDialect:
    """One simulated OKX endpoint over a shared `MarketModel`."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], *,
                 accounts: Mapping[str, tuple[str, str]] = DEFAULT_ACCOUNTS,
                 passphrase: str = SIM_PASSPHRASE) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.accounts = dict(accounts)  # api key -> (secret, account)
        self.ledger = funded_ledger(self.accounts)
        self.matching = MatchingEngine(NAME, market, self.ledger, taker_fee=TAKER_FEE, clock_ms=clock_ms,
                                       published_min_notional=False, buy_fee_in_base=True)
        self.private = OkxPrivateApi(NAME, market, self.ledger, self.matching, self.accounts, passphrase,
                                     clock_ms, TAKER_FEE, MAKER_FEE)
        self._insts = {inst_id(s): s for s in market.names(NAME)}  # listed or not yet
        self.pushes = Pushes()
        self.subscribers = self.pushes.subscribers  # the server's fault seam and disconnects
        self.user = OkxUserChannels(self._insts, self.accounts, passphrase, self.private, clock_ms)
        self.market_data = OkxMarketData(market, clock_ms, self._insts, self.pushes.publish,
                                         self.pushes.wants)
        self.idle_s = IDLE_S
        self.heartbeat_s = HEARTBEAT_S
        self.checksums = True  # False: every books push carries checksum 0 (OKX since 2026-06-23)
        self._last_change: dict[Symbol, float] = {}  # monotonic time of each book's last change
        self._top5: dict[Symbol, str] = {}
        market.subscribe(NAME, self._on_diff)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"{PREFIX}/public/time", self._time)
        app.router.add_get(f"{PREFIX}/public/instruments", self._instruments)
        app.router.add_get(f"{PREFIX}/market/books", self._books)
        app.router.add_get(f"{PREFIX}/market/books-full", self._books)
        app.router.add_get(PUBLIC_PATH, self._ws)
        app.router.add_get(PRIVATE_PATH, self.user.serve)
        self.private.add_routes(app)
        self.market_data.add_routes(app, PREFIX)
        app.cleanup_ctx.append(self._heartbeats)
        app.on_shutdown.append(self.subscribers.close_all)
        app.on_shutdown.append(self.user.subscribers.close_all)
        return app

    # ------------------------------------------------------------------ REST

    async def _time(self, request: web.Request) -> web.Response:
        return ok([{"ts": str(self._clock_ms())}])

    async def _instruments(self, request: web.Request) -> web.Response:
        kind = request.query.get("instType", "")
        if not kind:
            return error("50014", "Parameter instType can not be empty.")
        wanted = request.query.get("instId")
        if kind != SPOT:  # spot pairs only
            return ok([])
        rows: list[dict[str, object]] = []
        cap = num(MAX_MARKET_QUOTE)
        for inst, symbol in self._insts.items():
            if (wanted and inst != wanted) or (not wanted and not self.market.listed(NAME, symbol)):
                continue
            spec = self.market.spec(NAME, symbol)
            halted = (NAME, symbol) in self.market.halted
            rows.append({
                "alias": "", "auctionEndTime": "", "baseCcy": symbol.base, "category": "1", "ctMult": "",
                "ctType": "", "ctVal": "", "ctValCcy": "", "contTdSwTime": "", "expTime": "",
                "futureSettlement": False, "groupId": "1", "instFamily": "", "instId": inst, "instType": SPOT,
                "lever": "", "listTime": LIST_TIME, "lotSz": num(spec.step), "maxIcebergSz": MAX_LIMIT_SZ,
                "maxLmtAmt": cap, "maxLmtSz": MAX_LIMIT_SZ, "maxMktAmt": cap, "maxMktSz": cap,
                "maxStopSz": cap, "maxTriggerSz": MAX_LIMIT_SZ, "maxTwapSz": MAX_LIMIT_SZ,
                "minSz": num(max(spec.min_qty, spec.step)),
                "optType": "", "openType": "", "preMktSwTime": "", "quoteCcy": symbol.quote,
                "tradeQuoteCcyList": [symbol.quote],
                "settleCcy": "", "state": "suspend" if halted else "live", "ruleType": "normal", "stk": "",
                "tickSz": num(spec.tick), "uly": "", "instIdCode": 1_000_000_000 + len(rows),
                "instCategory": "1", "upcChg": [],
            })
        if wanted and not rows:
            return error("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist.")
        return ok(rows)

    async def _books(self, request: web.Request) -> web.Response:
        symbol = self.market_data.symbol(request)
        if isinstance(symbol, web.Response):
            return symbol
        full = request.path.endswith("-full")
        raw = request.query.get("sz", "1")
        if not raw.isdigit() or int(raw) < 1:
            return error("51000", "Parameter sz error")
        depth = min(int(raw), MAX_FULL_BOOK if full else MAX_BOOK)
        update_id, bids, asks = self.market.snapshot(NAME, symbol, depth)
        return ok([{"asks": [level(p, q) for p, q in asks], "bids": [level(p, q) for p, q in bids],
                    "ts": str(self._clock_ms()), "seqId": update_id}])

    # ------------------------------------------------------------------ public socket

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        return await serve_socket(request, self.pushes, self.idle_s, self._request)

    async def _request(self, ws: web.WebSocketResponse, conn: str, topics: set[str],
                       req: dict[str, Any]) -> None:
        op, args, rid = req.get("op"), req.get("args"), req.get("id")
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args \
                or not all(isinstance(a, dict) for a in args):
            await ws.send_str(ws_error("60012", f"Invalid request: {json.dumps(req)[:200]}", conn, rid))
            return
        for arg in args:
            channel, inst = arg.get("channel"), arg.get("instId")
            if channel in VIP_BOOKS:
                await ws.send_str(ws_error("64003", "Your trading fee tier doesn't meet the requirement to "
                                                    f"access this channel:{channel}", conn, rid))
                return
            if channel not in PUBLIC_CHANNELS or inst not in self._insts:
                await ws.send_str(ws_error("60018", WRONG_CHANNEL.format(channel, inst), conn, rid))
                return
        for arg in args:
            channel, symbol = str(arg["channel"]), self._insts[str(arg["instId"])]
            topic = channel_topic(channel, str(arg["instId"]))
            await ws.send_str(ws_event(str(op), conn, rid, arg=arg))
            if op == "unsubscribe":
                topics.discard(topic)
                continue
            # from here to the snapshot's queueing nothing awaits: no update can come in between
            topics.add(topic)
            if channel == BOOKS:
                self.pushes.send_own(topics, conn, self._snapshot(symbol))
            elif channel == BOOKS5:
                self.pushes.send_own(topics, conn, self._books5(symbol))
            elif channel == TICKERS:
                self.pushes.send_own(topics, conn, self.market_data.ticker_frame(symbol))

    # ------------------------------------------------------------------ books

    def _book(self, symbol: Symbol) -> SimBook:
        return self.market.books[(NAME, symbol)]

    def _checksum(self, symbol: Symbol) -> int:
        book = self._book(symbol)
        bids = [level(p, q) for p, q in book.levels(True, 25)]
        asks = [level(p, q) for p, q in book.levels(False, 25)]
        return checksum(bids, asks)

    def _frame(self, symbol: Symbol, action: str, bids: list[list[str]], asks: list[list[str]],
               prev: int, seq: int) -> str:
        inst = inst_id(symbol)
        return json.dumps({"arg": {"channel": BOOKS, "instId": inst}, "action": action, "data": [{
            "asks": asks, "bids": bids, "ts": str(self._clock_ms()),
            "checksum": self._checksum(symbol) if self.checksums else 0,
            "prevSeqId": prev, "seqId": seq}]})

    def _snapshot(self, symbol: Symbol) -> str:
        book = self._book(symbol)
        return self._frame(symbol, "snapshot", [level(p, q) for p, q in book.levels(True, MAX_BOOK)],
                           [level(p, q) for p, q in book.levels(False, MAX_BOOK)], -1, book.update_id)

    def _books5(self, symbol: Symbol) -> str:
        book, inst = self._book(symbol), inst_id(symbol)
        return json.dumps({"arg": {"channel": BOOKS5, "instId": inst}, "data": [{
            "asks": [level(p, q) for p, q in book.levels(False, 5)],
            "bids": [level(p, q) for p, q in book.levels(True, 5)], "instId": inst,
            "ts": str(self._clock_ms()), "seqId": book.update_id}]})

    def _on_diff(self, diff: BookDiff) -> None:
        symbol = diff.symbol
        self._last_change[symbol] = time.monotonic()
        topic = book_topic(symbol)
        if self.pushes.wants(topic):
            self.pushes.publish(topic, self._frame(
                symbol, "update", [level(p, q) for p, q in diff.bids], [level(p, q) for p, q in diff.asks],
                diff.first_id - 1, diff.last_id))
        top5 = channel_topic(BOOKS5, inst_id(symbol))
        if self.pushes.wants(top5):
            book = self._book(symbol)
            top = repr((book.levels(True, 5), book.levels(False, 5)))
            if self._top5.get(symbol) != top:
                self._top5[symbol] = top
                self.pushes.publish(top5, self._books5(symbol))
        self.market_data.on_book(symbol)

    async def _heartbeats(self, app: web.Application) -> AsyncIterator[None]:
        """Every second: an empty ``books`` update for each book unchanged for `heartbeat_s`."""
        task = asyncio.get_running_loop().create_task(self._beat(), name="okx books heartbeat")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.heartbeat_s))
            now = time.monotonic()
            for symbol in self._insts.values():
                last = self._last_change.setdefault(symbol, now)
                topic = book_topic(symbol)
                if now - last >= self.heartbeat_s and self.pushes.wants(topic):
                    self._last_change[symbol] = now
                    seq = self._book(symbol).update_id
                    self.pushes.publish(topic, self._frame(symbol, "update", [], [], seq, seq))
