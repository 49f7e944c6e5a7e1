"""MEXC dialect of the simulator: spot v3 public REST, JSON control and protobuf depth pushes.

Written from the fact sheet, independently of `arb.venues.mexc`; it shares only the generated wire
schema (`arb.venues.mexc.proto`). Served so far: ``GET /api/v3/time``, ``/api/v3/exchangeInfo``
(MEXC's own field names), ``/api/v3/depth``; WebSocket ``/ws`` with SUBSCRIPTION acks ``{"id",
"code": 0, "msg"}``, ``PING`` -> ``PONG``, and ``spot@public.aggre.depth.v3.api.pb@100ms@SYM``
pushes as binary ``PushDataV3ApiWrapper`` frames. Signed (HMAC query check, MEXC codes):
``/api/v3/order`` (POST/GET/DELETE), ``/api/v3/openOrders``, ``/api/v3/account``,
``/api/v3/myTrades``, ``/api/v3/tradeFee``, ``/api/v3/capital/config/getall`` (transfer status,
`arb.sim.transfers`). Listen keys and the private channels (``/ws?listenKey=``)
live in `arb.sim.mexc_user`; public trades (``/api/v3/trades``, the
``spot@public.aggre.deals.v3.api.pb@100ms@SYM`` channel), 24 h tickers and klines in
`arb.sim.mexc_market`. Rate limits and faults are the server's (`arb.sim.limits`, `arb.sim.faults`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import MappingProxyType

from aiohttp import WSMsgType, web

from arb.model import Side, Symbol
from arb.sim.accounts import DEFAULT_ACCOUNTS, AuthFailure, authenticate, balances_json, funded_ledger
from arb.sim.fanout import Subscribers
from arb.sim.market import BookDiff, Level, MarketModel
from arb.sim.matching import MatchingEngine, Reject, RejectKind, SimOrder
from arb.sim.mexc_market import DEALS_EVENT, MexcMarketData
from arb.sim.mexc_user import MexcUserStreams, rest_trade_id
from arb.sim.transfers import mexc_coins
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

NAME = "mexc"
DEPTH_EVENT = "spot@public.aggre.depth.v3.api.pb@100ms"
MAX_SUBSCRIPTIONS = 30
TAKER_FEE = Decimal("0.0005")
MAKER_FEE = Decimal(0)
MAX_TRADES_LIMIT = 100
TYPE_TIF: Mapping[str, tuple[str, str]] = MappingProxyType({
    "LIMIT": ("LIMIT", "GTC"), "MARKET": ("MARKET", "IOC"), "IMMEDIATE_OR_CANCEL": ("LIMIT", "IOC"),
    "FILL_OR_KILL": ("LIMIT", "FOK"),
})
TIF_TYPES: Mapping[str, str] = MappingProxyType({"IOC": "IMMEDIATE_OR_CANCEL", "FOK": "FILL_OR_KILL"})
REJECT_CODES: Mapping[RejectKind, int] = MappingProxyType({
    RejectKind.UNKNOWN_SYMBOL: 10007, RejectKind.SYMBOL_HALTED: 30016, RejectKind.BAD_TICK: 33333,
    RejectKind.BAD_STEP: 33333, RejectKind.BELOW_MIN_QTY: 30002, RejectKind.BELOW_MIN_NOTIONAL: 30002,
    RejectKind.INSUFFICIENT_BALANCE: 10101, RejectKind.DUPLICATE_CLIENT_ID: 33333,
})
AUTH_ERRORS: Mapping[AuthFailure, tuple[int, int, str]] = MappingProxyType({
    AuthFailure.KEY: (400, 700001, "API-key format invalid."),
    AuthFailure.SIGNATURE: (400, 700002, "Signature for this request is not valid."),
    AuthFailure.PARAMS: (400, 44444, "Mandatory parameter 'timestamp' was not sent."),
    AuthFailure.TIMESTAMP: (400, 700003, "Timestamp for this request is outside of the recvWindow."),
})


def _fmt(levels: list[Level]) -> list[list[str]]:
    return [[format(price, "f"), format(qty, "f")] for price, qty in levels]


def _name(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}"


def _status(order: SimOrder) -> str:
    """MEXC has no EXPIRED: an IOC/FOK remainder reads CANCELED (PARTIALLY_CANCELED if it traded)."""
    if order.status == "EXPIRED":
        return "PARTIALLY_CANCELED" if order.filled else "CANCELED"
    return order.status


def _decimals(step: Decimal) -> int:
    return max(0, -int(step.normalize().as_tuple().exponent))


class MexcDialect:
    """One simulated MEXC endpoint over a shared `MarketModel`."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], *,
                 accounts: Mapping[str, tuple[str, str]] = DEFAULT_ACCOUNTS) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.accounts = dict(accounts)  # api key -> (secret, account)
        self.ledger = funded_ledger(self.accounts)
        self.matching = MatchingEngine(NAME, market, self.ledger, taker_fee=TAKER_FEE, clock_ms=clock_ms)
        self._symbols = {_name(s): s for s in market.names(NAME)}  # listed or not yet
        self.subscribers = Subscribers()
        self._anonymous = itertools.count(1)
        self._unnamed: set[str] = set()  # ids the simulator made up for orders placed without one
        market.subscribe(NAME, self._on_diff)
        self.market_data = MexcMarketData(market, clock_ms, self.subscribers)  # trades, tickers, klines
        # user data stream (listen keys + private channels): arb.sim.mexc_user
        self.user = MexcUserStreams(self._auth, self.matching, self.ledger, clock_ms)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_post("/api/v3/order", self._place)
        app.router.add_get("/api/v3/order", self._query)
        app.router.add_delete("/api/v3/order", self._cancel)
        app.router.add_get("/api/v3/openOrders", self._open_orders)
        app.router.add_get("/api/v3/account", self._account)
        app.router.add_get("/api/v3/myTrades", self._my_trades)
        app.router.add_get("/api/v3/tradeFee", self._trade_fee)
        app.router.add_get("/api/v3/capital/config/getall", self._capital_config)
        app.router.add_get("/api/v1/contract/detail", self._contracts)
        self.market_data.add_routes(app)  # /api/v3/trades, /api/v3/ticker/24hr, /api/v3/klines
        app.router.add_get("/ws", self._ws_entry)
        app.on_shutdown.append(self.subscribers.close_all)
        self.user.add_routes(app)  # user data stream: /api/v3/userDataStream
        return app

    async def _ws_entry(self, request: web.Request) -> web.WebSocketResponse:
        """``/ws?listenKey=K`` is the user data stream (`arb.sim.mexc_user`); plain ``/ws`` is public."""
        if "listenKey" in request.query:
            return await self.user.handle(request)
        return await self._ws(request)

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self._clock_ms()})

    async def _contracts(self, request: web.Request) -> web.Response:
        """The futures contract list (MEXC's futures API envelope): no futures are simulated, so it is
        empty; clients that list every market type (ccxt) read it beside the spot ones."""
        return web.json_response({"success": True, "code": 0, "data": []})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        rows = []
        for name, symbol in self._symbols.items():
            if not self.market.listed(NAME, symbol):
                continue
            spec = self.market.spec(NAME, symbol)
            online = (NAME, symbol) not in self.market.halted
            rows.append({
                "symbol": name, "status": "1" if online else "2", "baseAsset": symbol.base,
                "baseAssetPrecision": str(_decimals(spec.step)), "quoteAsset": symbol.quote,
                "quotePrecision": str(_decimals(spec.tick)), "quoteAssetPrecision": str(_decimals(spec.tick)),
                "baseSizePrecision": format(spec.min_qty or spec.step, "f"),
                "quoteAmountPrecision": format(spec.min_notional, "f"), "maxQuoteAmount": "5000000",
                "baseCommissionPrecision": str(_decimals(spec.step)),
                "quoteCommissionPrecision": str(_decimals(spec.tick)), "quoteOrderQtyMarketAllowed": False,
                "isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "permissions": ["SPOT"],
                "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
                "filters": [], "makerCommission": "0", "takerCommission": "0.0005",
            })
        return web.json_response({"timezone": "CST", "serverTime": self._clock_ms(), "rateLimits": [],
                                  "exchangeFilters": [], "symbols": rows})

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = self._symbols.get(request.query.get("symbol", ""))
        if symbol is None:
            return web.json_response({"code": 10007, "msg": "bad symbol"}, status=400)
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return web.json_response({"code": 33333, "msg": "Parameter error"}, status=400)
        update_id, bids, asks = self.market.snapshot(NAME, symbol, min(limit, 5000))
        return web.json_response({"lastUpdateId": update_id, "bids": _fmt(bids), "asks": _fmt(asks),
                                  "timestamp": self._clock_ms()})

    # ------------------------------------------------------------------ signed endpoints

    async def _auth(self, request: web.Request) -> tuple[str, dict[str, str]] | web.Response:
        return await authenticate(request, self.accounts, "X-MEXC-APIKEY", self._clock_ms, AUTH_ERRORS)

    def _client_id(self, client_id: str) -> str | None:
        """The client id as MEXC prints it: null for an order placed without ``newClientOrderId``."""
        return None if client_id in self._unnamed else client_id

    def _order_json(self, order: SimOrder, cancel: bool = False, cancel_id: str | None = None
                    ) -> dict[str, object]:
        """GET /api/v3/order and openOrders rows; with `cancel`, the DELETE answer (which names the
        order's id ``origClientOrderId`` and the cancel's ``clientOrderId``, like Binance)."""
        kind = order.kind if order.tif == "GTC" else TIF_TYPES[order.tif]
        head: dict[str, object] = {"symbol": _name(order.symbol), "orderId": f"C02__{order.order_id}",
                                   "orderListId": -1, "clientOrderId": self._client_id(order.client_id)}
        if cancel:
            head = {"symbol": head["symbol"], "origClientOrderId": self._client_id(order.client_id),
                    "orderId": head["orderId"], "clientOrderId": cancel_id}
        body: dict[str, object] = {
            **head, "price": format(order.price or Decimal(0), "f"),
            "origQty": format(order.quantity, "f"), "executedQty": format(order.filled, "f"),
            "cummulativeQuoteQty": format(order.quote_filled, "f"), "status": _status(order),
            "timeInForce": "", "type": kind, "side": order.side.name,
        }
        if not cancel:
            body.update({"stopPrice": "", "icebergQty": "", "time": order.created_ms,
                         "updateTime": order.updated_ms, "isWorking": True, "origQuoteOrderQty": "0"})
        return body

    async def _place(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, p = auth
        symbol = self._symbols.get(p.get("symbol", ""))
        if symbol is None:
            return web.json_response({"code": 10007, "msg": "bad symbol"}, status=400)
        try:
            side = Side[p["side"]]
            kind, tif = TYPE_TIF[p["type"]]
            quantity = Decimal(p["quantity"])
            price = Decimal(p["price"]) if "price" in p else None
        except (KeyError, ArithmeticError):
            return web.json_response({"code": 33333, "msg": "Parameter error"}, status=400)
        client_id = p.get("newClientOrderId") or f"sim-unnamed-{next(self._anonymous)}"
        try:
            order, _ = self.matching.place(account, symbol, side, kind, quantity, price, tif, client_id)
        except Reject as rej:
            code = REJECT_CODES.get(rej.kind, 33333)
            if rej.kind is RejectKind.INSUFFICIENT_BALANCE and side is Side.SELL:
                code = 30004  # "insufficient position"
            return web.json_response({"code": code, "msg": str(rej)}, status=400)
        if "newClientOrderId" not in p:
            self._unnamed.add(client_id)
        # MEXC acknowledges without status or fills: clients follow up with GET /api/v3/order
        return web.json_response({"symbol": _name(symbol), "orderId": f"C02__{order.order_id}",
                                  "orderListId": -1, "price": p.get("price", "0"), "origQty": p["quantity"],
                                  "type": p["type"], "side": side.name, "transactTime": order.created_ms})

    async def _lookup(self, request: web.Request, cancel: bool) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, p = auth
        try:
            raw_id = p.get("orderId")
            order_id = int(raw_id.removeprefix("C02__")) if raw_id else None
            order = (self.matching.cancel if cancel else self.matching.find)(
                account, order_id=order_id, client_id=p.get("origClientOrderId"))
        except (Reject, ValueError):
            return web.json_response({"code": -2013 if not cancel else -2011, "msg": "Order does not exist."},
                                     status=400)
        if not cancel:
            return web.json_response(self._order_json(order))
        # the cancel request has an id of its own, made up by the venue when the client sent none
        cancel_id = p.get("newClientOrderId") or f"sim-cancel-{next(self._anonymous)}"
        return web.json_response(self._order_json(order, cancel=True, cancel_id=cancel_id))

    async def _query(self, request: web.Request) -> web.Response:
        return await self._lookup(request, cancel=False)

    async def _cancel(self, request: web.Request) -> web.Response:
        return await self._lookup(request, cancel=True)

    async def _open_orders(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, p = auth
        symbol = self._symbols.get(p.get("symbol", ""))
        return web.json_response([self._order_json(o) for o in self.matching.open_orders(account, symbol)])

    async def _account(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, _ = auth
        balances = balances_json(self.ledger, account)
        return web.json_response({"canTrade": True, "canWithdraw": False, "canDeposit": False,
                                  "updateTime": None, "accountType": "SPOT", "balances": balances,
                                  "permissions": ["SPOT"]})

    async def _my_trades(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, p = auth
        symbol = self._symbols.get(p.get("symbol", ""))
        if symbol is None:
            return web.json_response({"code": 10007, "msg": "bad symbol"}, status=400)
        try:
            limit = min(int(p.get("limit", "100")), MAX_TRADES_LIMIT)
        except ValueError:
            return web.json_response({"code": 33333, "msg": "Parameter error"}, status=400)
        rows = self.matching.account_fills(account, symbol)[-limit:]
        return web.json_response([{
            "symbol": _name(f.symbol), "id": rest_trade_id(f.trade_id), "orderId": f"C02__{f.order_id}",
            "orderListId": -1, "price": format(f.price, "f"), "qty": format(f.quantity, "f"),
            "quoteQty": format(f.price * f.quantity, "f"), "commission": format(f.fee, "f"),
            "commissionAsset": f.fee_asset, "time": f.ts_ms, "isBuyer": f.side is Side.BUY,
            "isMaker": False, "isBestMatch": True, "isSelfTrade": False,
            "clientOrderId": self._client_id(f.client_id)}
            for f in rows])

    async def _capital_config(self, request: web.Request) -> web.Response:
        """Every coin's networks with their deposit / withdrawal status (`arb.sim.transfers`)."""
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        return web.json_response(mexc_coins(self.market, NAME))

    async def _trade_fee(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        _, p = auth
        if p.get("symbol", "") not in self._symbols:
            return web.json_response({"code": 10007, "msg": "bad symbol"}, status=400)
        return web.json_response({"data": {"makerCommission": float(MAKER_FEE),
                                           "takerCommission": float(self.matching.taker_fee)},
                                  "code": 0, "msg": "success", "timestamp": self._clock_ms()})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        topics = self.subscribers.add(ws)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    method, params, request_id = req["method"], req.get("params", []), req.get("id", 0)
                except (ValueError, KeyError, TypeError):
                    await ws.send_str(json.dumps({"id": 0, "code": 1, "msg": "Invalid JSON"}))
                    continue
                if str(method).upper() == "PING":  # ccxt sends "ping": answered too
                    await ws.send_str(json.dumps({"id": request_id, "code": 0, "msg": "PONG"}))
                elif method in ("SUBSCRIPTION", "UNSUBSCRIPTION"):
                    wanted = [p for p in params if p.rsplit("@", 1)[0] in (DEPTH_EVENT, DEALS_EVENT)
                              and p.rsplit("@", 1)[1] in self._symbols]
                    if len(wanted) != len(params) or len(topics | set(wanted)) > MAX_SUBSCRIPTIONS:
                        await ws.send_str(json.dumps({"id": request_id, "code": 1,
                                                      "msg": "Not Subscribed successfully! [" +
                                                      ",".join(params) + "].  Reason: Blocked! "}))
                        continue
                    if method == "SUBSCRIPTION":
                        topics.update(wanted)
                    else:
                        topics.difference_update(wanted)
                    await ws.send_str(json.dumps({"id": request_id, "code": 0, "msg": ",".join(params)}))
                else:
                    await ws.send_str(json.dumps({"id": request_id, "code": 1, "msg": "Unknown method"}))
        finally:
            self.subscribers.remove(ws)
        return ws

    def _on_diff(self, diff: BookDiff) -> None:
        name = _name(diff.symbol)
        channel = f"{DEPTH_EVENT}@{name}"
        if not self.subscribers.wants(channel):
            return
        wrapper = PushDataV3ApiWrapper(channel=channel, symbol=name, sendTime=self._clock_ms())
        body = wrapper.publicAggreDepths
        body.eventType = DEPTH_EVENT
        body.fromVersion, body.toVersion = str(diff.first_id), str(diff.last_id)
        for price, qty in diff.bids:
            body.bids.add(price=format(price, "f"), quantity=format(qty, "f"))
        for price, qty in diff.asks:
            body.asks.add(price=format(price, "f"), quantity=format(qty, "f"))
        self.subscribers.publish(channel, wrapper.SerializeToString())
