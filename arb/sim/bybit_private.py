"""Bybit v5 signed REST of the simulator: orders, executions, wallet and fee rates over the shared engine.

Written from the fact sheet (§2.3-2.5, §2.7), independently of `arb.venues.bybit`. Every route checks
the signature exactly as §2.4 says: headers ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` (ms),
``X-BAPI-SIGN`` = lowercase hex HMAC-SHA256(secret, timestamp + apiKey + recvWindow + X) with X the
query string as sent (GET) or the body text as sent (POST), ``X-BAPI-RECV-WINDOW`` (default 5000);
accepted when ``server_time - recvWindow <= timestamp < server_time + 1000``. An unknown or missing key
answers HTTP 401 ``10003``; a stale or future timestamp ``10002``; a wrong signature ``10004`` with the
origin string (both HTTP 200, as business errors are).

Served (``category=spot`` only, else ``10001``): ``POST /v5/order/create`` (Limit GTC/IOC/FOK/PostOnly,
Market always IOC; a market Buy's ``qty`` is quote unless ``marketUnit=baseCoin``; ``orderLinkId``
<= 36 of ``[0-9A-Za-z_-]``, a repeated one ``110072``; when omitted the venue assigns orderId + 1; the
answer only acknowledges ``{orderId, orderLinkId}``), ``POST /v5/order/cancel`` (``orderId`` wins over
``orderLinkId``; unknown or finished: ``170213``), ``GET /v5/order/realtime`` (open orders; with an id,
that order whatever its state; ``openOnly=1``: finished ones), ``GET /v5/order/history`` (finished,
``orderStatus`` filter, 7-day ``startTime``/``endTime``), ``GET /v5/execution/list``, ``GET
/v5/account/wallet-balance?accountType=UNIFIED``, ``GET /v5/account/fee-rate``, ``GET
/v5/asset/coin/query-info`` (transfer status per chain, `arb.sim.transfers`), ``GET /v5/user/query-api``
and ``GET /v5/account/info`` (a unified trading account: what ccxt's bybit asks before it trades).
Lists are newest
first and page with ``cursor`` / ``nextPageCursor``.

Fees follow the fact sheet's spot rule (§2.3, positive rates): a Buy pays in the base coin
received, a Sell in quote (``feeCurrency``, ``cumFeeDetail``), through the shared ledger's
`buy_fee_in_base`; there are no maker fills, so the rebate flip does not arise. Simplifications: a
PostOnly order that would take liquidity is accepted and ends ``Cancelled`` with
``EC_PostOnlyWillTakeLiquidity`` without touching the book; USD values use the USDT mid of each coin.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import zlib
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any, Final

import msgspec
from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.bybit_wire import (
    CATEGORY,
    MESSAGES,
    NAME,
    REJECT_CODES,
    SIDES,
    WIRE_SIDES,
    BybitError,
    Code,
    Handler,
    error_response,
    exec_id,
    num,
    ok,
    order_id,
    sim_order_id,
    symbol_id,
)
from arb.sim.market import MarketModel
from arb.sim.matching import Ledger, MatchingEngine, Reject, RejectKind, SimFill, SimOrder
from arb.sim.transfers import bybit_coins

KEY: Final = "X-BAPI-API-KEY"
DEFAULT_RECV_WINDOW_MS: Final = 5000
CLOCK_AHEAD_MS: Final = 1000
LINK_RULE: Final = re.compile(r"^[0-9A-Za-z_-]{1,36}$")
AUTO_PREFIX: Final = "~"  # the matching engine's client id of an order placed without orderLinkId
TIFS: Final = frozenset({"GTC", "IOC", "FOK", "PostOnly"})
QUOTE_PRECISION: Final = Decimal("0.00000001")
MAX_ORDERS_PAGE: Final = 50
MAX_EXEC_PAGE: Final = 100
WEEK_MS: Final = 7 * 86_400_000
LIVE: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
ZERO: Final = Decimal(0)
AVG_QUANTUM: Final = Decimal("1e-10")


def bybit_signature(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    """lowercase hex HMAC-SHA256(secret, timestamp + apiKey + recvWindow + payload) (fact sheet §2.4)."""
    text = f"{timestamp}{api_key}{recv_window}{payload}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


async def authenticate(request: web.Request, accounts: Mapping[str, tuple[str, str]],
                       clock_ms: Callable[[], int]) -> str:
    """The account of a correctly signed request; raises the venue's `BybitError` otherwise."""
    key = request.headers.get(KEY, "")
    if key not in accounts:
        raise BybitError(Code.API_KEY, status=401)
    stamp = request.headers.get("X-BAPI-TIMESTAMP", "")
    sign = request.headers.get("X-BAPI-SIGN", "")
    window = request.headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW_MS))
    if not stamp.isdigit() or not window.isdigit() or not sign:
        raise BybitError(Code.PARAMS, "params error: X-BAPI-TIMESTAMP, X-BAPI-SIGN or X-BAPI-RECV-WINDOW")
    now = clock_ms()
    if not now - int(window) <= int(stamp) < now + CLOCK_AHEAD_MS:
        raise BybitError(Code.TIMESTAMP, (
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{stamp}],server_timestamp[{now}],recv_window[{window}]"))
    secret, account = accounts[key]
    if request.method == "GET":
        payload = request.raw_path.partition("?")[2]
    else:
        payload = (await request.read()).decode()
    if not hmac.compare_digest(sign.lower(), bybit_signature(secret, stamp, key, window, payload)):
        raise BybitError(Code.SIGN, f"error sign! origin_string[{stamp}{key}{window}{payload}]")
    return account


class Wire(msgspec.Struct):
    """What an order was sent with that the matching engine does not keep."""

    link: str  # the orderLinkId shown
    qty: Decimal  # as sent (quote for a market order sized in quote)
    tif: str  # GTC IOC FOK PostOnly
    price: Decimal  # as sent (0 for Market)
    market_unit: str  # baseCoin | quoteCoin | "" (limit orders)
    last_price: Decimal  # the mid when it was created
    post_only_refused: bool = False


class BybitPrivateApi:
    """The signed routes of one simulated Bybit endpoint."""

    def __init__(self, market: MarketModel, ledger: Ledger, matching: MatchingEngine,
                 accounts: Mapping[str, tuple[str, str]], clock_ms: Callable[[], int],
                 taker_fee: Decimal, maker_fee: Decimal) -> None:
        self.market = market
        self.ledger = ledger
        self.matching = matching
        self.accounts = accounts
        self._clock_ms = clock_ms
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.symbols = {symbol_id(s): s for s in market.names(NAME)}
        self._wire: dict[int, Wire] = {}
        self._placing: Wire | None = None  # the order being placed (its listeners run before it is kept)
        self._auto = itertools.count(1)
        self.seqs: dict[int, int] = {}  # trade id -> the book's sequence after the fill
        matching.listeners.insert(0, self._on_order)

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post("/v5/order/create", self._signed(self._create))
        r.add_post("/v5/order/cancel", self._signed(self._cancel))
        r.add_get("/v5/order/realtime", self._signed(self._realtime))
        r.add_get("/v5/order/history", self._signed(self._history))
        r.add_get("/v5/execution/list", self._signed(self._executions))
        r.add_get("/v5/account/wallet-balance", self._signed(self._wallet, categorised=False))
        r.add_get("/v5/account/fee-rate", self._signed(self._fee_rate))
        r.add_get("/v5/asset/coin/query-info", self._signed(self._coin_info, categorised=False))
        r.add_get("/v5/user/query-api", self._signed(self._key_info, categorised=False))
        r.add_get("/v5/account/info", self._signed(self._account_info, categorised=False))

    def _signed(self, handler: Callable[[web.Request, str, Mapping[str, Any]], Any],
                categorised: bool = True) -> Handler:
        async def run(request: web.Request) -> web.Response:
            try:
                account = await authenticate(request, self.accounts, self._clock_ms)
                params: Mapping[str, Any] = request.query
                if request.method == "POST":
                    try:
                        params = msgspec.json.decode(await request.read())
                    except msgspec.DecodeError:
                        raise BybitError(Code.PARAMS, "params error: the body is not JSON") from None
                    if not isinstance(params, dict):
                        raise BybitError(Code.PARAMS, "params error: the body is not a JSON object")
                if categorised and params.get("category") != CATEGORY:
                    raise BybitError(Code.PARAMS, "Illegal category")
                response: web.Response = await handler(request, account, params)
                return response
            except BybitError as err:
                return error_response(err, self._clock_ms)

        return run

    def _on_order(self, order: SimOrder, fills: list[SimFill]) -> None:
        seq = self.market.books[(NAME, order.symbol)].update_id
        for fill in fills:
            self.seqs[fill.trade_id] = seq

    # ------------------------------------------------------------------ helpers

    def _symbol(self, params: Mapping[str, Any], required: bool = True) -> Symbol | None:
        name = params.get("symbol")
        if not name:
            if required:
                raise BybitError(Code.PARAMS, "params error: symbol is empty")
            return None
        symbol = self.symbols.get(str(name))
        if symbol is None or (NAME, symbol) in self.market.halted:
            raise BybitError(Code.INVALID_SYMBOL)
        return symbol

    def wire_of(self, order: SimOrder) -> Wire:
        """What the order was sent with; one placed around the REST routes gets the defaults."""
        wire = self._wire.get(order.order_id) or self._placing
        if wire is None:
            link = "" if order.client_id.startswith(AUTO_PREFIX) else order.client_id
            wire = Wire(link, order.quantity, order.tif, order.price or ZERO, "", ZERO)
        return wire

    def link_of(self, order: SimOrder) -> str:
        """The order's ``orderLinkId``: as sent, or the one the venue assigned (orderId + 1)."""
        return self.wire_of(order).link or order_id(order.order_id + 1)

    def find(self, account: str, wire_id: str | None, link: str | None) -> SimOrder:
        """The account's order by ``orderId`` (which wins) or ``orderLinkId``; raises 170213."""
        try:
            if wire_id:
                sim_id = sim_order_id(wire_id)
                if sim_id is None:
                    raise Reject(RejectKind.UNKNOWN_ORDER, wire_id)
                return self.matching.find(account, order_id=sim_id)
            if link:
                try:
                    return self.matching.find(account, client_id=link)
                except Reject:
                    sim_id = sim_order_id(link)  # an assigned link: orderId + 1
                    order = self.matching.find(account, order_id=(sim_id or 0) - 1)
                    if not order.client_id.startswith(AUTO_PREFIX):
                        raise
                    return order
        except Reject:
            pass
        raise BybitError(Code.ORDER_NOT_EXIST)

    def _base_for_quote(self, symbol: Symbol, side: Side, funds: Decimal) -> Decimal:
        """How much base `funds` of quote buys (or sells for) against the book, floored to the step."""
        spec = self.market.spec(NAME, symbol)
        fee = 1 + self.matching.quote_fee_rate(side)  # a buy's fee comes out of the base received
        base = ZERO
        for price, qty in self.market.books[(NAME, symbol)].levels(side is Side.SELL):
            cost = price * qty * fee
            if cost >= funds:
                base += funds / (price * fee)
                break
            base += qty
            funds -= cost
        return (base / spec.step).to_integral_value(ROUND_DOWN) * spec.step

    # ------------------------------------------------------------------ JSON

    def order_json(self, order: SimOrder) -> dict[str, object]:
        """The v5 order object, as ``/v5/order/realtime`` and ``/history`` print it."""
        wire = self.wire_of(order)
        live = order.status in LIVE
        quote_sized = wire.market_unit == "quoteCoin"
        if wire.post_only_refused:
            status, reason = "Cancelled", "EC_PostOnlyWillTakeLiquidity"
        elif order.status == "NEW":
            status, reason = "New", "EC_NoError"
        elif order.status == "PARTIALLY_FILLED":
            status, reason = "PartiallyFilled", "EC_NoError"
        elif order.status == "FILLED":
            status, reason = "Filled", "EC_NoError"
        elif order.status == "CANCELED":
            status, reason = ("PartiallyFilledCanceled" if order.filled else "Cancelled"), "EC_NoError"
        else:  # an IOC / FOK / market remainder
            status = "PartiallyFilledCanceled" if order.filled else "Cancelled"
            reason = "EC_CancelForNoFullFill" if order.filled else "EC_NoImmediateQtyToFill"
        leaves_qty = order.quantity - order.filled if live else ZERO
        if live:
            leaves_value = leaves_qty * (order.price or ZERO)
        else:
            leaves_value = max(wire.qty - order.quote_filled, ZERO) if quote_sized else ZERO
        avg = (order.quote_filled / order.filled).quantize(AVG_QUANTUM).normalize() if order.filled else None
        return {
            "orderId": order_id(order.order_id), "orderLinkId": self.link_of(order), "blockTradeId": "",
            "symbol": symbol_id(order.symbol), "price": num(wire.price), "qty": num(wire.qty),
            "side": SIDES[order.side], "isLeverage": "0", "positionIdx": 0, "orderStatus": status,
            "cancelType": "CancelByUser" if order.status == "CANCELED" else "UNKNOWN", "rejectReason": reason,
            "avgPrice": num(avg) if avg is not None else "", "leavesQty": num(leaves_qty),
            "leavesValue": num(leaves_value), "cumExecQty": num(order.filled),
            "cumExecValue": num(order.quote_filled), "cumExecFee": num(order.fee), "timeInForce": wire.tif,
            "orderType": "Market" if order.kind == "MARKET" else "Limit", "stopOrderType": "", "orderIv": "",
            "triggerPrice": "0", "takeProfit": "0", "stopLoss": "0", "tpTriggerBy": "", "slTriggerBy": "",
            "triggerDirection": 0, "triggerBy": "", "lastPriceOnCreated": num(wire.last_price),
            "reduceOnly": False, "closeOnTrigger": False, "smpType": "None", "smpGroup": 0, "smpOrderId": "",
            "tpslMode": "", "tpLimitPrice": "", "slLimitPrice": "", "placeType": "",
            "slippageToleranceType": "UNKNOWN", "slippageTolerance": "", "createdTime": str(order.created_ms),
            "updatedTime": str(order.updated_ms), "extraFees": "",
            "cumFeeDetail": {order.fee_asset: num(order.fee)} if order.fee else {},
            "rpiTakerAccess": False, "rpiMatchedQty": "0",
        }

    def exec_json(self, fill: SimFill) -> dict[str, object]:
        """One execution, as ``/v5/execution/list`` prints it."""
        order = self.matching.orders[fill.order_id]
        wire = self.wire_of(order)
        mine = [f for f in self.matching.fills if f.order_id == fill.order_id]
        leaves = order.quantity - sum((f.quantity for f in mine if f.trade_id <= fill.trade_id), ZERO)
        if order.status not in LIVE and fill.trade_id == mine[-1].trade_id:
            leaves = ZERO  # the remainder ended with this fill
        return {
            "symbol": symbol_id(fill.symbol), "orderType": "Market" if order.kind == "MARKET" else "Limit",
            "underlyingPrice": "", "orderLinkId": self.link_of(order), "side": SIDES[fill.side],
            "indexPrice": "",
            "orderId": order_id(fill.order_id), "stopOrderType": "", "leavesQty": num(leaves),
            "execTime": str(fill.ts_ms), "feeCurrency": fill.fee_asset, "isMaker": False,
            "execFee": num(fill.fee), "feeRate": num(self.taker_fee), "execId": exec_id(fill.trade_id),
            "tradeIv": "", "blockTradeId": "", "markPrice": "", "execPrice": num(fill.price), "markIv": "",
            "orderQty": num(wire.qty), "orderPrice": num(wire.price),
            "execValue": num(fill.price * fill.quantity),
            "execType": "Trade", "execQty": num(fill.quantity), "closedSize": "", "extraFees": "",
            "seq": self.seqs.get(fill.trade_id, 0),
        }

    def _usd(self, asset: str) -> Decimal:
        if asset == "USDT":
            return Decimal(1)
        symbol = self.symbols.get(f"{asset}USDT")
        return self.market.mid(NAME, symbol) if symbol is not None else ZERO

    def wallet_json(self, account: str, coins: set[str] | None = None) -> dict[str, object]:
        """The UNIFIED account with one ``coin[]`` row per asset (of `coins`, when given)."""
        rows, equity, available = [], ZERO, ZERO
        for asset, (free, locked) in self.ledger.balances(account).items():
            price = self._usd(asset)
            equity += (free + locked) * price
            available += free * price
            if coins is not None and asset not in coins:
                continue
            rows.append({
                "availableToBorrow": "", "bonus": "0", "accruedInterest": "0",
                "availableToWithdraw": num(free),
                "totalOrderIM": "0", "equity": num(free + locked), "totalPositionMM": "0",
                "usdValue": num(((free + locked) * price).quantize(AVG_QUANTUM)), "spotHedgingQty": "0",
                "unrealisedPnl": "0", "collateralSwitch": True, "borrowAmount": "0", "totalPositionIM": "0",
                "walletBalance": num(free + locked), "cumRealisedPnl": "0", "locked": num(locked),
                "marginCollateral": True, "coin": asset, "spotBorrow": "0",
            })
        total, free_usd = num(equity.quantize(AVG_QUANTUM)), num(available.quantize(AVG_QUANTUM))
        return {
            "totalEquity": total, "accountIMRate": "0", "accountIMRateByMp": "0", "totalMarginBalance": total,
            "totalInitialMargin": "0", "totalInitialMarginByMp": "0", "accountType": "UNIFIED",
            "totalAvailableBalance": free_usd, "accountMMRate": "0", "accountMMRateByMp": "0",
            "totalPerpUPL": "0", "totalWalletBalance": total, "accountLTV": "0",
            "totalMaintenanceMargin": "0",
            "totalMaintenanceMarginByMp": "0", "coin": rows,
        }

    # ------------------------------------------------------------------ orders

    async def _create(self, request: web.Request, account: str, body: Mapping[str, Any]) -> web.Response:
        symbol = self._symbol(body)
        assert symbol is not None
        side = WIRE_SIDES.get(str(body.get("side", "")))
        if side is None:
            raise BybitError(Code.INVALID_SIDE)
        kind = body.get("orderType")
        if kind not in ("Limit", "Market"):
            raise BybitError(Code.INVALID_ORDER_TYPE)
        tif = str(body.get("timeInForce") or "GTC")
        if tif not in TIFS:
            raise BybitError(Code.INVALID_TIF)
        if str(body.get("isLeverage", "0")) != "0" or body.get("orderFilter", "Order") != "Order":
            raise BybitError(Code.PARAMS, "params error: only spot orders without leverage are simulated")
        link = body.get("orderLinkId")
        if link is not None and (not isinstance(link, str) or not LINK_RULE.match(link)):
            raise BybitError(Code.PARAMS, "params error: orderLinkId must be 1-36 of [0-9A-Za-z_-]")
        qty, price = self._decimal(body, "qty"), ZERO
        if kind == "Limit":
            if body.get("price") in (None, ""):
                raise BybitError(Code.PARAMS, "params error: price is empty for a Limit order")
            price = self._decimal(body, "price")
        unit = str(body.get("marketUnit") or ("quoteCoin" if side is Side.BUY else "baseCoin"))
        if kind == "Market" and unit not in ("baseCoin", "quoteCoin"):
            raise BybitError(Code.INVALID_VALUE, MESSAGES[Code.INVALID_VALUE] % "marketUnit")
        if link:
            self._refuse_taken_link(account, link)
        quantity, sim_price, sim_tif = qty, price, "IOC" if kind == "Market" else tif
        refused = False
        if kind == "Market":
            unit_quote = unit == "quoteCoin"
            if unit_quote and qty % QUOTE_PRECISION:
                raise BybitError(Code.MARKET_AMOUNT_DECIMALS)
            quantity = self._base_for_quote(symbol, side, qty) if unit_quote else qty
            if quantity <= 0:
                raise BybitError(Code.ORDER_VALUE_TOO_SMALL)
        elif tif == "PostOnly":
            sim_price, refused = self._post_only_price(symbol, side, price)
            sim_tif = "IOC" if refused else "GTC"
        client_id = link or f"{AUTO_PREFIX}{next(self._auto)}"
        wire = Wire(link or "", qty, "IOC" if kind == "Market" else tif, price,
                    unit if kind == "Market" else "", self.market.mid(NAME, symbol), refused)
        self._placing = wire  # the matching engine's listeners (private topics) see it
        try:
            order, _ = self.matching.place(account, symbol, side, kind.upper(), quantity,
                                           sim_price if kind == "Limit" else None, sim_tif, client_id)
        except Reject as rej:
            raise BybitError(REJECT_CODES.get(rej.kind, Code.INVALID_VALUE)) from None
        finally:
            self._placing = None
        self._wire[order.order_id] = wire
        return ok({"orderId": order_id(order.order_id), "orderLinkId": self.link_of(order)}, self._clock_ms)

    @staticmethod
    def _decimal(body: Mapping[str, Any], field: str) -> Decimal:
        raw = body.get(field)
        if raw in (None, ""):
            raise BybitError(Code.PARAMS, f"params error: {field} is empty")
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise BybitError(Code.INVALID_VALUE, MESSAGES[Code.INVALID_VALUE] % field) from None
        if not value.is_finite() or value <= 0:
            raise BybitError(Code.INVALID_VALUE, MESSAGES[Code.INVALID_VALUE] % field)
        return value

    def _refuse_taken_link(self, account: str, link: str) -> None:
        try:
            self.find(account, None, link)
        except BybitError:
            return
        raise BybitError(Code.DUPLICATE_LINK_ID)

    def _post_only_price(self, symbol: Symbol, side: Side, price: Decimal) -> tuple[Decimal, bool]:
        """(the price to rest at, refused): a crossing PostOnly becomes an IOC that cannot trade."""
        _, bids, asks = self.market.snapshot(NAME, symbol, 1)
        tick = self.market.spec(NAME, symbol).tick
        if side is Side.BUY and asks and price >= asks[0][0]:
            return max(asks[0][0] - tick, tick), True
        if side is Side.SELL and bids and price <= bids[0][0]:
            return bids[0][0] + tick, True
        return price, False

    async def _cancel(self, request: web.Request, account: str, body: Mapping[str, Any]) -> web.Response:
        symbol = self._symbol(body)
        wire_id, link = body.get("orderId"), body.get("orderLinkId")
        if not wire_id and not link:
            raise BybitError(Code.PARAMS, "params error: orderId or orderLinkId is required")
        order = self.find(account, str(wire_id) if wire_id else None, str(link) if link else None)
        if order.symbol != symbol or order.status not in LIVE:
            raise BybitError(Code.ORDER_NOT_EXIST)
        self.matching.cancel(account, order_id=order.order_id)
        return ok({"orderId": order_id(order.order_id), "orderLinkId": self.link_of(order)}, self._clock_ms)

    def _page(self, params: Mapping[str, Any], rows: list[dict[str, object]], maximum: int,
              default: int) -> dict[str, object]:
        raw_limit, raw_cursor = str(params.get("limit", default)), str(params.get("cursor") or "0")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= maximum or not raw_cursor.isdigit():
            raise BybitError(Code.PARAMS, f"params error: limit must be 1-{maximum}, cursor as returned")
        start, limit = int(raw_cursor), int(raw_limit)
        more = start + limit < len(rows)
        return {"list": rows[start:start + limit], "nextPageCursor": str(start + limit) if more else "",
                "category": CATEGORY}

    def _by_id(self, account: str, params: Mapping[str, Any], symbol: Symbol | None) -> list[SimOrder] | None:
        wire_id, link = params.get("orderId"), params.get("orderLinkId")
        if not wire_id and not link:
            return None
        try:
            order = self.find(account, wire_id, link)
        except BybitError:
            return []
        return [order] if symbol is None or order.symbol == symbol else []

    def _orders(self, account: str, symbol: Symbol | None) -> list[SimOrder]:
        return sorted((o for o in self.matching.orders.values()
                       if o.account == account and (symbol is None or o.symbol == symbol)
                       and not self._hidden(o)), key=lambda o: o.order_id, reverse=True)

    def _hidden(self, order: SimOrder) -> bool:
        """An order the hidden-orders fault still keeps from queries (as `MatchingEngine.find` does)."""
        hide = self.matching.hidden_ms()
        return hide > 0 and self._clock_ms() - order.created_ms < hide

    async def _realtime(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        symbol = self._symbol(q, required=False)
        chosen = self._by_id(account, q, symbol)
        if chosen is None:
            open_only = q.get("openOnly", "0")
            if open_only not in ("0", "1", "2"):
                raise BybitError(Code.PARAMS, "params error: openOnly must be 0, 1 or 2")
            chosen = [o for o in self._orders(account, symbol) if (o.status in LIVE) == (open_only == "0")]
        return ok(self._page(q, [self.order_json(o) for o in chosen], MAX_ORDERS_PAGE, 20), self._clock_ms)

    def _window(self, q: Mapping[str, Any]) -> tuple[int, int]:
        now = self._clock_ms()
        try:
            end = int(q.get("endTime", now))
            start = int(q.get("startTime", end - WEEK_MS))
        except ValueError:
            raise BybitError(Code.PARAMS, "params error: startTime and endTime are ms") from None
        if not 0 <= end - start <= WEEK_MS:
            raise BybitError(Code.PARAMS, "params error: the time window must be at most 7 days")
        return start, end

    async def _history(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        symbol = self._symbol(q, required=False)
        start, end = self._window(q)
        chosen = self._by_id(account, q, symbol)
        if chosen is None:
            chosen = [o for o in self._orders(account, symbol)
                      if o.status not in LIVE and start <= o.created_ms <= end]
        rows = [self.order_json(o) for o in chosen]
        status = q.get("orderStatus")
        rows = [r for r in rows if status is None or r["orderStatus"] == status]
        return ok(self._page(q, rows, MAX_ORDERS_PAGE, 20), self._clock_ms)

    async def _executions(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        symbol = self._symbol(q, required=False)
        start, end = self._window(q)
        fills = list(reversed(self.matching.account_fills(account, symbol)))
        wanted = self._by_id(account, q, symbol)
        if wanted is not None:
            ids = {o.order_id for o in wanted}
            fills = [f for f in fills if f.order_id in ids]
        rows = [self.exec_json(f) for f in fills if start <= f.ts_ms <= end]
        return ok(self._page(q, rows, MAX_EXEC_PAGE, 50), self._clock_ms)

    # ------------------------------------------------------------------ account

    async def _wallet(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        if q.get("accountType") != "UNIFIED":
            raise BybitError(Code.PARAMS, "accountType only support UNIFIED")
        coins = {c for c in str(q.get("coin", "")).split(",") if c} or None
        return ok({"list": [self.wallet_json(account, coins)]}, self._clock_ms)

    async def _fee_rate(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        symbol = self._symbol(q, required=False)
        chosen = [symbol] if symbol is not None else list(self.symbols.values())
        return ok({"list": [{"symbol": symbol_id(s), "takerFeeRate": num(self.taker_fee),
                             "makerFeeRate": num(self.maker_fee)} for s in chosen]}, self._clock_ms)

    async def _coin_info(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        return ok(bybit_coins(self.market, NAME, str(q.get("coin", ""))), self._clock_ms)

    async def _key_info(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        """The calling key's own record (Bybit docs, user/apikey-info): a master account's read-write
        key for spot trading on a unified trading account (``uta`` 1, ``unified`` 0), no IP binding."""
        key = request.headers.get("X-BAPI-API-KEY", "")
        return ok({"id": str(zlib.crc32(key.encode()) % 10**8), "note": "simulator", "apiKey": key,
                   "readOnly": 0, "secret": "",
                   "permissions": {"Spot": ["SpotTrade"], "Wallet": ["AccountTransfer"]},
                   "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "", "createdAt": "",
                   "unified": 0, "uta": 1, "userID": 1, "inviterID": 0, "vipLevel": "No VIP",
                   "mktMakerLevel": "0", "affiliateID": 0, "rsaPublicKey": "", "isMaster": True},
                  self._clock_ms)

    async def _account_info(self, request: web.Request, account: str, q: Mapping[str, Any]) -> web.Response:
        """The account's margin settings (Bybit docs, account/account-info): a unified trading account
        (``unifiedMarginStatus`` 5: UTA 2.0) in regular margin mode."""
        return ok({"marginMode": "REGULAR_MARGIN", "updatedTime": str(self._clock_ms()),
                   "unifiedMarginStatus": 5, "dcpStatus": "OFF", "timeWindow": 10, "smpGroup": 0,
                   "isMasterTrader": False, "spotHedgingStatus": "OFF"}, self._clock_ms)
