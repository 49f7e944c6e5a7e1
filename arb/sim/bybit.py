"""Bybit dialect of the simulator: v5 spot REST, the public and private sockets.

Written from the fact sheet (``exchange-protocols-okx-bybit.md`` §2) and the real payloads in
``shared/exchange-samples/bybit/``, independently of `arb.venues.bybit`. Served here: ``GET
/v5/market/time``, ``/v5/market/instruments-info`` (spot, no pagination; Trading symbols, a halted
one is ``Closed`` and listed only when asked for by ``symbol`` or ``status``), ``/v5/market/orderbook``
(``limit`` 1-1000, default 1; ``u`` of the 200-level topic, ``seq``, ``cts``, ``ts``); the public
socket with ``{"op": "ping"}`` -> ``{"success": true, "ret_msg": "pong", "conn_id", "op": "ping"}``,
subscribe / unsubscribe acks (``ret_msg`` ``"subscribe"``; at most 10 args; an unknown or already
subscribed topic fails the whole request with ``success: false``) and the depth topics of
`arb.sim.bybit_book`. Trades and tickers: `arb.sim.bybit_market`; signed REST: `arb.sim.bybit_private`;
the private socket: `arb.sim.bybit_user` (all over the shared matching engine and ledger, funded
``sim-key`` account). Rate limits and faults are added around the dialect by `arb.sim.server`.

The WebSocket base URL the simulator advertises is the public one (``ws://host:port/v5/public/spot``,
the market-data URL); the private socket is ``/v5/private`` on the same host and port.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from aiohttp import WSMsgType, web

from arb.model import Symbol
from arb.sim.accounts import DEFAULT_ACCOUNTS, funded_ledger
from arb.sim.bybit_book import BybitBooks, depth_topic
from arb.sim.bybit_market import BybitMarketData, check_category
from arb.sim.bybit_private import QUOTE_PRECISION, BybitPrivateApi
from arb.sim.bybit_user import PATH as PRIVATE_PATH
from arb.sim.bybit_user import BybitUserApi
from arb.sim.bybit_wire import (
    CATEGORY,
    MAKER_FEE,
    NAME,
    TAKER_FEE,
    BybitError,
    Code,
    guarded,
    num,
    ok,
    symbol_id,
)
from arb.sim.fanout import Subscribers
from arb.sim.market import MarketModel
from arb.sim.matching import MatchingEngine

PUBLIC_PATH: Final = "/v5/public/spot"
MAX_ARGS: Final = 10  # spot public subscribe requests take at most 10 topics
MAX_BOOK_LIMIT: Final = 1000
MAX_QTY: Final = "1000000"
MAX_AMOUNT: Final = "8000000"
PRICE_LIMIT_X, PRICE_LIMIT_Y = "0.05", "0.05"


def depth50_topic(symbol: Symbol) -> str:
    """The topic the engine subscribes for a symbol's depth (`FaultPlan.gap_topic`)."""
    return depth_topic(50, symbol)


class BybitDialect:
    """One simulated Bybit endpoint over a shared `MarketModel`."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], *,
                 accounts: Mapping[str, tuple[str, str]] = DEFAULT_ACCOUNTS) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.accounts = dict(accounts)  # api key -> (secret, account)
        self.ledger = funded_ledger(self.accounts)
        self.matching = MatchingEngine(NAME, market, self.ledger, taker_fee=TAKER_FEE, clock_ms=clock_ms,
                                       buy_fee_in_base=True)  # fact sheet §2.3: a spot buy pays in base
        self.private = BybitPrivateApi(market, self.ledger, self.matching, self.accounts, clock_ms,
                                       TAKER_FEE, MAKER_FEE)
        self.subscribers = Subscribers()  # the public socket's fanout
        self.books = BybitBooks(market, clock_ms, self.subscribers)
        self.market_data = BybitMarketData(market, clock_ms, self.subscribers)
        # the private socket, on its own fanout: arb.sim.bybit_user
        self.user = BybitUserApi(self.accounts, self.matching, clock_ms, self.private)
        self.symbols = {symbol_id(s): s for s in market.names(NAME)}  # listed or not yet
        self._serials = itertools.count(1)
        self.malformed = 0  # unreadable public requests

    def app(self) -> web.Application:
        app = web.Application()
        r = app.router
        r.add_get("/v5/market/time", guarded(self._time, self._clock_ms))
        r.add_get("/v5/market/instruments-info", guarded(self._instruments, self._clock_ms))
        r.add_get("/v5/market/orderbook", guarded(self._orderbook, self._clock_ms))
        self.market_data.add_routes(app)
        self.private.add_routes(app)
        r.add_get(PUBLIC_PATH, self._ws)
        r.add_get(PRIVATE_PATH, self.user.handle)
        app.on_shutdown.append(self.subscribers.close_all)
        app.on_shutdown.append(self.user.close)
        return app

    def reset_books(self, symbols: Iterable[Symbol] | None = None, *, restart: bool = False) -> int:
        """Re-send a snapshot on every depth topic of `symbols` (``u`` + 1; a service restart: ``u`` = 1)."""
        return self.books.reset(symbols, restart=restart)

    # ------------------------------------------------------------------ public REST

    async def _time(self, request: web.Request) -> web.Response:
        now = self._clock_ms()
        return ok({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}, self._clock_ms)

    def _instrument(self, symbol: Symbol, symbol_number: int) -> dict[str, object]:
        spec = self.market.spec(NAME, symbol)
        halted = (NAME, symbol) in self.market.halted
        return {
            "symbolId": symbol_number, "symbol": symbol_id(symbol), "baseCoin": symbol.base,
            "quoteCoin": symbol.quote, "innovation": "0", "status": "Closed" if halted else "Trading",
            "marginTrading": "none", "stTag": "0",
            "lotSizeFilter": {
                "basePrecision": num(spec.step), "quotePrecision": num(QUOTE_PRECISION),
                "minOrderQty": num(max(spec.min_qty, spec.step)), "maxOrderQty": MAX_QTY,
                "minOrderAmt": num(spec.min_notional), "maxOrderAmt": MAX_AMOUNT, "maxLimitOrderQty": MAX_QTY,
                "maxMarketOrderQty": MAX_QTY, "postOnlyMaxLimitOrderSize": MAX_AMOUNT},
            "priceFilter": {"tickSize": num(spec.tick)},
            "riskParameters": {"priceLimitRatioX": PRICE_LIMIT_X, "priceLimitRatioY": PRICE_LIMIT_Y},
            "symbolType": "",
        }

    async def _instruments(self, request: web.Request) -> web.Response:
        check_category(request)
        wanted = request.query.get("symbol")
        if wanted is not None and wanted not in self.symbols:
            raise BybitError(Code.PARAMS, "params error: Symbol Is Invalid")
        status = request.query.get("status", "Trading" if wanted is None else None)
        rows = [self._instrument(s, i) for i, s in enumerate(self.symbols.values(), start=1)
                if wanted == symbol_id(s) or (wanted is None and self.market.listed(NAME, s))]
        rows = [row for row in rows if status is None or row["status"] == status]
        return ok({"category": CATEGORY, "list": rows}, self._clock_ms)

    async def _orderbook(self, request: web.Request) -> web.Response:
        check_category(request)
        symbol = self.market_data.symbol(request)
        assert symbol is not None
        raw = request.query.get("limit", "1")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_BOOK_LIMIT:
            raise BybitError(Code.PARAMS, f"params error: limit must be 1-{MAX_BOOK_LIMIT}")
        seq, bids, asks = self.market.snapshot(NAME, symbol, int(raw))
        view = self.books.views[(symbol, 200)]
        return ok({"s": symbol_id(symbol), "a": [[num(p), num(q)] for p, q in asks],
                   "b": [[num(p), num(q)] for p, q in bids], "ts": self._clock_ms(),
                   "u": self.books.rest_u(symbol, seq), "seq": seq, "cts": view.cts}, self._clock_ms)

    # ------------------------------------------------------------------ public socket

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        serial = next(self._serials)
        conn_id = f"sim{serial:06d}-public"
        own = f"conn/{serial}"  # this socket's own outbox topic: snapshots queue behind nothing else
        topics = self.subscribers.add(ws)
        topics.add(own)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    op, args = req["op"], req.get("args") or []
                    if not isinstance(op, str) or not isinstance(args, list):
                        raise TypeError("op must be a string and args a list")
                except (ValueError, KeyError, TypeError):
                    self.malformed += 1
                    await ws.send_str(json.dumps({"success": False, "ret_msg": "Params Error",
                                                  "conn_id": conn_id}))
                    continue
                base: dict[str, Any] = {"req_id": req["req_id"]} if "req_id" in req else {}
                if op == "ping":
                    pong = {"success": True, "ret_msg": "pong", "conn_id": conn_id, **base, "op": "ping"}
                    await ws.send_str(json.dumps(pong))
                    continue
                if op not in ("subscribe", "unsubscribe"):
                    await ws.send_str(json.dumps({"success": False, "ret_msg": f"error:invalid op {op}",
                                                  "conn_id": conn_id, **base, "op": op}))
                    continue
                error = self._check_topics(op, args, topics)
                await ws.send_str(json.dumps({"success": error is None, "ret_msg": error or op,
                                              "conn_id": conn_id, **base, "op": op}))
                if error is not None:
                    continue
                if op == "unsubscribe":
                    topics.difference_update(args)
                    continue
                for topic in args:
                    topics.add(topic)
                    view = self.books.parse(topic)
                    if view is not None:  # the first message of a depth topic is its snapshot
                        self.subscribers.publish(own, self.books.snapshot(view))
        finally:
            self.subscribers.remove(ws)
        return ws

    def _check_topics(self, op: str, args: list[Any], topics: set[str]) -> str | None:
        """Why a subscribe / unsubscribe is refused (None: it is accepted)."""
        if not args or (op == "subscribe" and len(args) > MAX_ARGS):
            return f"args size must be 1-{MAX_ARGS}"
        for topic in args:
            served = isinstance(topic, str) and (
                self.books.parse(topic) is not None or self.market_data.topic_symbol(topic) is not None)
            if not served:
                return f"error:handler not found,topic:{topic}"
            if op == "subscribe" and topic in topics:
                return f"error:already subscribed,topic:{topic}"
        return None

