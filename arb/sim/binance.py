"""Binance dialect of the simulator: public REST and combined depth streams in Binance's wire format.

Written from the protocol fact sheet, independently of the client in `arb.venues.binance` (the
simulator shares the wire schema with the client, not its code). Served so far: ``GET
/api/v3/time``, ``/api/v3/exchangeInfo``, ``/api/v3/depth``; WebSocket ``/stream`` (combined
streams: SUBSCRIBE / UNSUBSCRIBE with ``{"result": null, "id": N}`` acks, ``<sym>@depth@100ms``
diffs with ``U``/``u``). Each diff is encoded once and sent to every subscribed socket. Signed
(HMAC query check, Binance codes): ``/api/v3/order`` (POST/GET/DELETE), ``/api/v3/openOrders``,
``/api/v3/account``, ``/api/v3/myTrades``, ``/api/v3/account/commission`` over the shared matching
engine and ledger, ``/sapi/v1/asset/tradeFee`` (the spot fee ccxt's binance class reads) and
``/sapi/v1/capital/config/getall`` (transfer status, `arb.sim.transfers`).
The user data stream (WebSocket API ``/ws-api/v3``) lives in `arb.sim.binance_user`; public trades
(``/api/v3/trades``, ``<sym>@trade`` streams), 24 h tickers and klines in `arb.sim.binance_market`.
Rate limits and faults are the server's (`arb.sim.limits`, `arb.sim.faults`).
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
from arb.sim.binance_market import TRADE_SUFFIX, BinanceMarketData
from arb.sim.binance_user import BinanceUserApi
from arb.sim.fanout import Subscribers
from arb.sim.market import BookDiff, Level, MarketModel
from arb.sim.matching import MatchingEngine, Reject, RejectKind, SimFill, SimOrder
from arb.sim.transfers import binance_coins

NAME = "binance"
DEPTH_SUFFIX = "@depth@100ms"
MAX_DEPTH_LIMIT = 5000
MAX_TRADES_LIMIT = 1000
TAKER_FEE = Decimal("0.001")
ZERO_D = Decimal(0)
SIM_UID = 10001  # the funded account's user id
ASSET_PRECISION = 8  # Binance prints every asset with 8 decimals
# the venue's advertised limits (fact sheet §3.6); clients pace themselves by them
RATE_LIMITS: tuple[Mapping[str, object], ...] = tuple(MappingProxyType(r) for r in (
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
))
AUTH_ERRORS: Mapping[AuthFailure, tuple[int, int, str]] = MappingProxyType({
    AuthFailure.KEY: (401, -2015, "Invalid API-key, IP, or permissions for action."),
    AuthFailure.SIGNATURE: (400, -1022, "Signature for this request is not valid."),
    AuthFailure.PARAMS: (400, -1102, "Mandatory parameter 'timestamp' was not sent or malformed."),
    AuthFailure.TIMESTAMP: (400, -1021, "Timestamp for this request is outside of the recvWindow."),
})


def _fmt(levels: list[Level]) -> list[list[str]]:
    return [[format(price, "f"), format(qty, "f")] for price, qty in levels]


def _name(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}"


def _error(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


class BinanceDialect:
    """One simulated Binance endpoint (REST + market streams) over a shared `MarketModel`."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], *,
                 accounts: Mapping[str, tuple[str, str]] = DEFAULT_ACCOUNTS) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.accounts = dict(accounts)  # api key -> (secret, account)
        self.ledger = funded_ledger(self.accounts)
        self.matching = MatchingEngine(NAME, market, self.ledger, taker_fee=TAKER_FEE, clock_ms=clock_ms)
        self._symbols = {_name(s): s for s in market.names(NAME)}  # listed or not yet
        self.subscribers = Subscribers()
        self._anonymous = itertools.count(1)  # ids for orders placed without newClientOrderId
        market.subscribe(NAME, self._on_diff)
        # public trades, tickers and klines (REST and <sym>@trade streams): arb.sim.binance_market
        self.market_data = BinanceMarketData(market, clock_ms, self.subscribers)
        # user data stream (WebSocket API, /ws-api/v3): arb.sim.binance_user
        self.user = BinanceUserApi(self.accounts, self.matching, self.ledger, clock_ms, AUTH_ERRORS)

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
        app.router.add_get("/api/v3/account/commission", self._commission)
        app.router.add_get("/sapi/v1/asset/tradeFee", self._trade_fee)  # ccxt's fetchTradingFee
        app.router.add_get("/sapi/v1/capital/config/getall", self._capital_config)
        self.market_data.add_routes(app)  # /api/v3/trades, /api/v3/ticker/24hr, /api/v3/klines
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/ws", self._stream)
        app.router.add_get("/ws/{stream}", self._stream)  # raw stream endpoint (fact sheet §3.8)
        app.on_shutdown.append(self.subscribers.close_all)
        # user data stream (WebSocket API)
        app.router.add_get("/ws-api/v3", self.user.handle)
        app.on_shutdown.append(self.user.close)
        return app

    # ------------------------------------------------------------------ REST

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self._clock_ms()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        symbols = []
        for name, symbol in self._symbols.items():
            if not self.market.listed(NAME, symbol):
                continue
            spec = self.market.spec(NAME, symbol)
            halted = (NAME, symbol) in self.market.halted
            symbols.append({
                "symbol": name, "status": "HALT" if halted else "TRADING", "baseAsset": symbol.base,
                "baseAssetPrecision": ASSET_PRECISION, "quoteAsset": symbol.quote,
                "quotePrecision": ASSET_PRECISION, "quoteAssetPrecision": ASSET_PRECISION,
                "baseCommissionPrecision": ASSET_PRECISION, "quoteCommissionPrecision": ASSET_PRECISION,
                "orderTypes": ["LIMIT", "MARKET"], "icebergAllowed": False, "ocoAllowed": False,
                "quoteOrderQtyMarketAllowed": False, "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False, "permissions": ["SPOT"],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": format(spec.tick, "f"),
                     "maxPrice": "1000000.00000000", "tickSize": format(spec.tick, "f")},
                    {"filterType": "LOT_SIZE", "minQty": format(spec.min_qty or spec.step, "f"),
                     "maxQty": "9000000.00000000", "stepSize": format(spec.step, "f")},
                    {"filterType": "NOTIONAL", "minNotional": format(spec.min_notional, "f"),
                     "applyMinToMarket": True, "maxNotional": "9000000.00000000", "applyMaxToMarket": False,
                     "avgPriceMins": 5},
                ],
            })
        return web.json_response({"timezone": "UTC", "serverTime": self._clock_ms(),
                                  "rateLimits": [dict(r) for r in RATE_LIMITS], "exchangeFilters": [],
                                  "symbols": symbols})

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = self._symbols.get(request.query.get("symbol", ""))
        if symbol is None:
            return _error(400, -1121, "Invalid symbol.")
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return _error(400, -1100, "Illegal characters found in parameter 'limit'.")
        update_id, bids, asks = self.market.snapshot(NAME, symbol, min(limit, MAX_DEPTH_LIMIT))
        return web.json_response({"lastUpdateId": update_id, "bids": _fmt(bids), "asks": _fmt(asks)})

    # ------------------------------------------------------------------ signed endpoints

    async def _auth(self, request: web.Request) -> tuple[str, dict[str, str]] | web.Response:
        return await authenticate(request, self.accounts, "X-MBX-APIKEY", self._clock_ms, AUTH_ERRORS)

    def _order_json(self, order: SimOrder, view: str = "query", fills: list[SimFill] | None = None,
                    cancel_id: str = "") -> dict[str, object]:
        """The order as each endpoint prints it: ``ack`` / ``result`` / ``full`` (POST), ``query``
        (GET, openOrders) or ``cancel`` (DELETE: ``clientOrderId`` names the cancel request)."""
        head: dict[str, object] = {"symbol": _name(order.symbol), "orderId": order.order_id,
                                   "orderListId": -1, "clientOrderId": cancel_id or order.client_id}
        if view == "ack":
            return {**head, "transactTime": order.updated_ms}
        if view == "cancel":
            head = {"symbol": head["symbol"], "origClientOrderId": order.client_id, "orderId": order.order_id,
                    "orderListId": -1, "clientOrderId": cancel_id, "transactTime": order.updated_ms}
        elif view != "query":
            head["transactTime"] = order.updated_ms
        out: dict[str, object] = {
            **head, "price": format(order.price or ZERO_D, "f"), "origQty": format(order.quantity, "f"),
            "executedQty": format(order.filled, "f"), "cummulativeQuoteQty": format(order.quote_filled, "f"),
            "status": order.status, "timeInForce": order.tif, "type": order.kind, "side": order.side.name,
        }
        if view == "query":
            out.update({"stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": order.created_ms,
                        "updateTime": order.updated_ms, "isWorking": True})
        if view != "cancel":
            out["workingTime"] = order.created_ms
        out["origQuoteOrderQty"] = "0.00000000"
        out["selfTradePreventionMode"] = "NONE"
        if view == "full":
            out["fills"] = [{"price": format(f.price, "f"), "qty": format(f.quantity, "f"),
                             "commission": format(f.fee, "f"), "commissionAsset": f.fee_asset,
                             "tradeId": f.trade_id} for f in fills or []]
        return out

    async def _place(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, p = auth
        symbol = self._symbols.get(p.get("symbol", ""))
        if symbol is None:
            return _error(400, -1121, "Invalid symbol.")
        try:
            side = Side[p["side"]]
            kind = p["type"]
            quantity = Decimal(p["quantity"])
            price = Decimal(p["price"]) if "price" in p else None
        except (KeyError, ArithmeticError):
            return _error(400, -1102, "Mandatory parameter was not sent, was empty/null, or malformed.")
        tif = p.get("timeInForce", "GTC")
        client_id = p.get("newClientOrderId") or f"sim-{next(self._anonymous)}"
        try:
            order, fills = self.matching.place(account, symbol, side, kind, quantity, price, tif, client_id)
        except Reject as rej:
            code = {RejectKind.UNKNOWN_SYMBOL: -1121, RejectKind.SYMBOL_HALTED: -1013,
                    RejectKind.INSUFFICIENT_BALANCE: -2010, RejectKind.DUPLICATE_CLIENT_ID: -2010}
            return _error(400, code.get(rej.kind, -1013), str(rej))
        view = p.get("newOrderRespType", "FULL").lower()
        view = view if view in ("ack", "result") else "full"
        return web.json_response(self._order_json(order, view, fills))

    async def _lookup(self, request: web.Request, cancel: bool) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, p = auth
        try:
            order_id = int(p["orderId"]) if "orderId" in p else None
            client = p.get("origClientOrderId")
            order = (self.matching.cancel if cancel else self.matching.find)(
                account, order_id=order_id, client_id=client)
        except Reject:
            return _error(400, -2011 if cancel else -2013,
                          "Unknown order sent." if cancel else "Order does not exist.")
        if not cancel:
            return web.json_response(self._order_json(order))
        cancel_id = p.get("newClientOrderId") or f"sim-cancel-{order.updated_ms}"
        return web.json_response(self._order_json(order, "cancel", cancel_id=cancel_id))

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
        bps = int(TAKER_FEE * 10_000)  # the legacy integer rates are in basis points
        rate, zero = format(TAKER_FEE, ".8f"), format(ZERO_D, ".8f")
        return web.json_response({
            "makerCommission": bps, "takerCommission": bps, "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": rate, "taker": rate, "buyer": zero, "seller": zero},
            "canTrade": True, "canWithdraw": False, "canDeposit": False, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": self._clock_ms(),
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": SIM_UID})

    async def _capital_config(self, request: web.Request) -> web.Response:
        """Every coin's networks with their deposit / withdrawal status (`arb.sim.transfers`)."""
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, _ = auth
        return web.json_response(binance_coins(self.market, NAME, self.ledger, account))

    async def _my_trades(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, p = auth
        symbol = self._symbols.get(p.get("symbol", ""))
        if symbol is None:
            return _error(400, -1121, "Invalid symbol.")
        try:
            limit = min(int(p.get("limit", "500")), MAX_TRADES_LIMIT)
        except ValueError:
            return _error(400, -1100, "Illegal characters found in parameter 'limit'.")
        order_id = p.get("orderId")
        rows = [f for f in self.matching.account_fills(account, symbol)
                if order_id is None or str(f.order_id) == order_id][-limit:]
        return web.json_response([{
            "symbol": _name(f.symbol), "id": f.trade_id, "orderId": f.order_id, "orderListId": -1,
            "price": format(f.price, "f"), "qty": format(f.quantity, "f"),
            "quoteQty": format(f.price * f.quantity, "f"), "commission": format(f.fee, "f"),
            "commissionAsset": f.fee_asset, "time": f.ts_ms, "isBuyer": f.side is Side.BUY,
            "isMaker": False, "isBestMatch": True} for f in rows])

    async def _commission(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        _, p = auth
        symbol = self._symbols.get(p.get("symbol", ""))
        if symbol is None:
            return _error(400, -1121, "Invalid symbol.")
        rate = format(TAKER_FEE, "f")
        zero = {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"}
        return web.json_response({
            "symbol": _name(symbol),
            "standardCommission": {"maker": rate, "taker": rate, "buyer": "0", "seller": "0"},
            "specialCommission": zero, "taxCommission": zero,
            "discount": {"enabledForAccount": False, "enabledForSymbol": False, "discountAsset": "BNB",
                         "discount": "0"}})

    async def _trade_fee(self, request: web.Request) -> web.Response:
        """``GET /sapi/v1/asset/tradeFee`` (USER_DATA): ``[{symbol, makerCommission, takerCommission}]``
        for `symbol`, or every symbol without one."""
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        _, p = auth
        wanted = p.get("symbol")
        if wanted is not None and wanted not in self._symbols:
            return _error(400, -1121, "Invalid symbol.")
        rate = format(TAKER_FEE, "f")
        return web.json_response([{"symbol": name, "makerCommission": rate, "takerCommission": rate}
                                  for name in self._symbols if wanted in (None, name)])

    # ------------------------------------------------------------------ streams

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        streams = self.subscribers.add(ws)
        named = request.match_info.get("stream", "")  # /ws/<stream>: that stream from the start
        if named.endswith((DEPTH_SUFFIX, TRADE_SUFFIX)):
            streams.add(named)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    method, params, request_id = req["method"], req.get("params", []), req.get("id")
                except (ValueError, KeyError, TypeError):
                    invalid = {"error": {"code": 2, "msg": "Invalid request"}, "id": None}
                    await ws.send_str(json.dumps(invalid))
                    continue
                if method == "SUBSCRIBE":
                    streams.update(p for p in params if p.endswith((DEPTH_SUFFIX, TRADE_SUFFIX)))
                elif method == "UNSUBSCRIBE":
                    streams.difference_update(params)
                elif method != "LIST_SUBSCRIPTIONS":
                    await ws.send_str(json.dumps({"error": {"code": 1, "msg": f"Unknown method {method}"},
                                                  "id": request_id}))
                    continue
                result = sorted(streams) if method == "LIST_SUBSCRIPTIONS" else None
                await ws.send_str(json.dumps({"result": result, "id": request_id}))
        finally:
            self.subscribers.remove(ws)
        return ws

    def _on_diff(self, diff: BookDiff) -> None:
        stream = symbol_stream(diff.symbol)
        if not self.subscribers.wants(stream):
            return  # encode only what someone listens to
        frame = json.dumps({"stream": stream, "data": {
            # event time on the venue's own clock (skew included), as a real venue stamps it
            "e": "depthUpdate", "E": self._clock_ms(), "s": f"{diff.symbol.base}{diff.symbol.quote}",
            "U": diff.first_id, "u": diff.last_id, "b": _fmt(diff.bids), "a": _fmt(diff.asks)}})
        self.subscribers.publish(stream, frame)


def symbol_stream(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}".lower() + DEPTH_SUFFIX
