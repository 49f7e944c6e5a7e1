"""OKX dialect, signed part: v5 trade and account REST over the shared matching engine and ledger.

Written from the fact sheet (§1.3-1.7), independently of `arb.venues.okx`. Every route checks the
four ``OK-ACCESS-*`` headers (`authenticate`): a missing header answers 50103-50107, an unknown key
50111, an unreadable timestamp 50112, one more than 30 s off the venue clock 50102, a wrong
passphrase 50105, a wrong signature 50113, all with HTTP 401 and ``{"msg", "code"}``.

Served: ``POST /api/v5/trade/order`` (``ordType`` limit / post_only / ioc / fok / market; a market
buy's ``sz`` is quote unless ``tgtCcy=base_ccy``, a market sell's base unless ``quote_ccy``;
``clOrdId`` 1-32 letters and digits, unique among the account's pending orders (51016), reusable
once the earlier order is final, and then naming the newest), ``POST /trade/cancel-order``, ``GET
/trade/order`` (``ordId`` or ``clOrdId``), ``/trade/orders-pending``, ``/trade/orders-history``
(and ``-archive``), ``/trade/fills`` (and ``-history``), ``/account/balance``, ``/account/trade-fee``,
``/asset/currencies`` (transfer status per chain, `arb.sim.transfers`).
Order operations answer per item (``sCode``/``sMsg``, top ``code`` "1" when it failed); queries
answer top-level codes (51603 for an unknown order).

Fees are charged in the currency received (fact sheet §1.3: a buy pays in base, a sell in quote;
``feeCcy`` / ``fillFeeCcy`` say which), through the shared ledger's `buy_fee_in_base` rule; the
simulator has no maker fills, so the maker-sell rebate case does not arise. Simplification: the
rate limits of the trade endpoints are counted per endpoint rather than per instrument
(`arb.sim.limits`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final, NamedTuple

import msgspec
from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.market import MarketModel
from arb.sim.matching import Ledger, MatchingEngine, Reject, RejectKind, SimFill, SimOrder
from arb.sim.okx_account import balance_json, held_assets
from arb.sim.okx_wire import (
    AUTH_MESSAGES,
    BILL_ID_BASE,
    ORDER_ID_BASE,
    SPOT,
    TRADE_ID_BASE,
    AuthError,
    Row,
    authenticate,
    error,
    gateway_times,
    inst_id,
    num,
    ok,
)
from arb.sim.transfers import okx_currencies

PREFIX: Final = "/api/v5"
CL_ORD_ID: Final = re.compile(r"^[A-Za-z0-9]{1,32}$")
TAG: Final = re.compile(r"^[A-Za-z0-9]{1,16}$")
MAX_LIMIT: Final = 100
MAX_BATCH: Final = 20
PHANTOM_IDS: Final = 10**15  # ordIds of post-only orders cancelled at once start this far up
MAX_MARKET_QUOTE: Final = Decimal("1000000")  # maxMktAmt: a market order's value cap (USD ~ USDT)
ZERO: Final = Decimal(0)
LIVE: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
ORD_TYPES: Final = MappingProxyType({  # ordType -> (matching kind, time in force)
    "limit": ("LIMIT", "GTC"), "post_only": ("LIMIT", "GTC"), "ioc": ("LIMIT", "IOC"),
    "fok": ("LIMIT", "FOK"), "market": ("MARKET", "IOC")})
LIMIT_TYPES: Final = MappingProxyType({"IOC": "ioc", "FOK": "fok"})
STATES: Final = MappingProxyType({"NEW": "live", "PARTIALLY_FILLED": "partially_filled", "FILLED": "filled",
                                  "CANCELED": "canceled", "EXPIRED": "canceled"})
FILL_IMMEDIATELY: Final = MappingProxyType({  # cancelSource and its reason for an order ended at once
    "ioc": ("14", "Order partially filled or canceled because it was an IOC order"),
    "market": ("14", "Order partially filled or canceled because it was an IOC order"),
    "fok": ("13", "Order canceled because it was a FOK order that could not be filled completely"),
    "post_only": ("31", "Order canceled: a post-only order would have taken liquidity"),
})
USER_CANCEL: Final = ("1", "Order canceled by user")
NOT_EXIST: Final = "Order does not exist."
CANCEL_FAILED: Final = "Order cancellation failed as the order has been filled, canceled or does not exist."


REJECTS: Final[Mapping[RejectKind, tuple[str, str]]] = MappingProxyType({  # -> (sCode, sMsg)
    RejectKind.UNKNOWN_SYMBOL: ("51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist."),
    RejectKind.SYMBOL_HALTED: ("50033", "This instrument is blocked. Please try again later."),
    RejectKind.BAD_TICK: ("51150", "The precision of the number of trading or the price exceeds the limit."),
    RejectKind.BAD_STEP: ("51121", "Order quantity must be a multiple of the lot size."),
    RejectKind.BELOW_MIN_QTY: ("51120", "Order quantity is less than the minimum order size."),
    RejectKind.BELOW_MIN_NOTIONAL: ("51020", "Your order should meet or exceed the minimum order amount."),
    RejectKind.INSUFFICIENT_BALANCE: ("51008", "Order failed. Insufficient {ccy} balance in account"),
    RejectKind.DUPLICATE_CLIENT_ID: ("51016", "Client order ID already exists."),
    RejectKind.UNKNOWN_ORDER: ("51603", NOT_EXIST),
})


class Wire(msgspec.Struct):
    """What OKX echoes about an order that the matching engine does not keep."""

    ord_id: str
    cl_ord_id: str
    tag: str
    ord_type: str
    tgt_ccy: str
    sz: Decimal  # as sent: quote for a quote_ccy market order
    cancel: tuple[str, str] = ("", "")  # cancelSource, cancelSourceReason


class Parsed(NamedTuple):
    """An order request that passed the parameter checks."""

    symbol: Symbol
    side: Side
    ord_type: str
    sz: Decimal
    px: Decimal | None
    wire: Wire


class OkxError(Exception):
    """A top-level answer ``{"code", "msg", "data": []}`` (raised inside a handler)."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


Handler = Callable[[web.Request, str], Awaitable[web.Response]]
OrderListener = Callable[[SimOrder, list[SimFill]], None]


class OkxPrivateApi:
    """The signed routes of one simulated OKX endpoint, and the order records its channels share."""

    def __init__(self, name: str, market: MarketModel, ledger: Ledger, matching: MatchingEngine,
                 accounts: Mapping[str, tuple[str, str]], passphrase: str, clock_ms: Callable[[], int],
                 taker_fee: Decimal, maker_fee: Decimal) -> None:
        self.name = name
        self.market = market
        self.ledger = ledger
        self.matching = matching
        self.accounts = accounts
        self.passphrase = passphrase
        self._clock_ms = clock_ms
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self._insts = {inst_id(s): s for s in market.names(self.name)}
        self._wire: dict[int, Wire] = {}
        self._placing: Wire | None = None  # the order being placed (listeners run before it is kept)
        self._by_ord_id: dict[str, int] = {}
        self._by_cl_ord_id: dict[tuple[str, str], int] = {}  # (account, clOrdId) -> newest order
        self._reuse = itertools.count(1)
        self._anonymous = itertools.count(1)
        self.fills_of: dict[int, list[SimFill]] = {}
        self.phantoms: dict[int, SimOrder] = {}  # post-only orders cancelled at once (never matched)
        self._phantom_ids = itertools.count(1)
        # the user channels listen here: after a post-only order is refused, as the engine's listeners
        self.listeners: list[OrderListener] = []
        matching.listeners.append(self._on_order)

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post(f"{PREFIX}/trade/order", self._wrap(self._place))
        r.add_post(f"{PREFIX}/trade/batch-orders", self._wrap(self._batch))
        r.add_post(f"{PREFIX}/trade/cancel-order", self._wrap(self._cancel))
        r.add_get(f"{PREFIX}/trade/order", self._wrap(self._get))
        r.add_get(f"{PREFIX}/trade/orders-pending", self._wrap(self._pending))
        r.add_get(f"{PREFIX}/trade/orders-history", self._wrap(self._history))
        r.add_get(f"{PREFIX}/trade/orders-history-archive", self._wrap(self._history))
        r.add_get(f"{PREFIX}/trade/fills", self._wrap(self._fills))
        r.add_get(f"{PREFIX}/trade/fills-history", self._wrap(self._fills))
        r.add_get(f"{PREFIX}/account/balance", self._wrap(self._balance))
        r.add_get(f"{PREFIX}/account/trade-fee", self._wrap(self._fee))
        r.add_get(f"{PREFIX}/asset/currencies", self._wrap(self._currencies))

    async def _currencies(self, request: web.Request, account: str) -> web.Response:
        wanted = {ccy for ccy in request.query.get("ccy", "").split(",") if ccy}
        return ok(okx_currencies(self.market, self.name, wanted))

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            account = await authenticate(request, self.accounts, self.passphrase, self._clock_ms)
            if isinstance(account, AuthError):
                return web.json_response({"msg": AUTH_MESSAGES[account], "code": str(account.value)},
                                         status=401)
            try:
                return await handler(request, account)
            except OkxError as err:
                return error(err.code, err.msg)

        return run

    # ------------------------------------------------------------------ records

    def _on_order(self, order: SimOrder, fills: list[SimFill]) -> None:
        if fills:
            self.fills_of.setdefault(order.order_id, []).extend(fills)
        for listener in self.listeners:
            listener(order, fills)

    def wire_of(self, order: SimOrder) -> Wire:
        """What the order was sent with; an order placed around the REST routes gets OKX's defaults."""
        wire = self._wire.get(order.order_id) or self._placing
        if wire is None:
            cl = order.client_id if CL_ORD_ID.match(order.client_id) else ""
            ord_type = "market" if order.kind == "MARKET" else LIMIT_TYPES.get(order.tif, "limit")
            wire = Wire(str(ORDER_ID_BASE + order.order_id), cl, "", ord_type,
                        "base_ccy" if order.kind == "MARKET" else "", order.quantity)
            self._wire[order.order_id] = wire
        return wire

    def order_json(self, order: SimOrder) -> Row:
        """The order object REST queries and the ``orders`` channel share (fact sheet §1.3)."""
        wire = self.wire_of(order)
        fills = self.fills_of.get(order.order_id, [])
        last = fills[-1] if fills else None
        cancelled = order.status in ("CANCELED", "EXPIRED")
        source, reason = wire.cancel if cancelled else ("", "")
        if cancelled and not source:
            source, reason = FILL_IMMEDIATELY.get(wire.ord_type, USER_CANCEL)
        base, quote = order.symbol.base, order.symbol.quote
        return {
            "accFillSz": num(order.filled), "algoClOrdId": "", "algoId": "", "attachAlgoClOrdId": "",
            "attachAlgoOrds": [], "avgPx": num(order.quote_filled / order.filled) if order.filled else "",
            "cTime": str(order.created_ms), "cancelSource": source, "cancelSourceReason": reason,
            "category": "normal", "ccy": "", "clOrdId": wire.cl_ord_id, "fee": num(-order.fee),
            "feeCcy": order.fee_asset, "fillPx": num(last.price) if last else "",
            "fillSz": num(last.quantity) if last else "0",
            "fillTime": str(last.ts_ms) if last else "", "instId": inst_id(order.symbol), "instType": SPOT,
            "isTpLimit": "false", "lever": "", "linkedAlgoOrd": {"algoId": ""}, "ordId": wire.ord_id,
            "ordType": wire.ord_type, "pnl": "0", "posSide": "net",
            "px": num(order.price) if order.price is not None and wire.ord_type != "market" else "",
            "pxType": "", "pxUsd": "", "pxVol": "", "quickMgnType": "", "rebate": "0",
            "rebateCcy": base if order.side is Side.BUY else quote, "reduceOnly": "false",
            "side": order.side.name.lower(), "slOrdPx": "", "slTriggerPx": "", "slTriggerPxType": "",
            "source": "", "state": STATES[order.status], "stpId": "", "stpMode": "", "sz": num(wire.sz),
            "tag": wire.tag, "tdMode": "cash", "tgtCcy": wire.tgt_ccy, "tpOrdPx": "", "tpTriggerPx": "",
            "tpTriggerPxType": "", "tradeId": str(TRADE_ID_BASE + last.trade_id) if last else "",
            "tradeQuoteCcy": quote, "uTime": str(order.updated_ms),
        }

    def fill_json(self, fill: SimFill) -> Row:
        order = self.matching.orders[fill.order_id]
        wire = self.wire_of(order)
        return {
            "side": fill.side.name.lower(), "fillSz": num(fill.quantity), "fillPx": num(fill.price),
            "fillPxVol": "", "fillFwdPx": "", "fee": num(-fill.fee), "fillPnl": "0", "ordId": wire.ord_id,
            "feeRate": num(-self.taker_fee), "instType": SPOT, "fillPxUsd": "",
            "instId": inst_id(fill.symbol),
            "clOrdId": wire.cl_ord_id, "posSide": "net", "billId": str(BILL_ID_BASE + fill.trade_id),
            "subType": "1" if fill.side is Side.BUY else "2", "fillMarkVol": "", "tag": wire.tag,
            "fillTime": str(fill.ts_ms), "execType": "T", "fillIdxPx": "",
            "tradeId": str(TRADE_ID_BASE + fill.trade_id), "fillMarkPx": "", "feeCcy": fill.fee_asset,
            "ts": str(fill.ts_ms), "tradeQuoteCcy": fill.symbol.quote,
        }

    # ------------------------------------------------------------------ helpers

    def _symbol(self, inst: object) -> Symbol:
        if not inst:
            raise OkxError("50014", "Parameter instId can not be empty.")
        symbol = self._insts.get(str(inst))
        if symbol is None:
            raise OkxError("51001", REJECTS[RejectKind.UNKNOWN_SYMBOL][1])
        return symbol

    def _find(self, account: str, symbol: Symbol, ord_id: str, cl_ord_id: str) -> SimOrder:
        """The order named by ``ordId`` (it wins) or ``clOrdId`` (the newest), else `Reject`."""
        if ord_id:
            internal = self._by_ord_id.get(ord_id)
            if internal is None and ord_id.isdigit():  # placed around the REST routes
                internal = int(ord_id) - ORDER_ID_BASE
        else:
            internal = self._by_cl_ord_id.get((account, cl_ord_id))
        if internal is None:
            raise Reject(RejectKind.UNKNOWN_ORDER, ord_id or cl_ord_id)
        phantom = self.phantoms.get(internal)
        order = phantom if phantom is not None and phantom.account == account else \
            self.matching.find(account, order_id=internal)
        if order.symbol != symbol:
            raise Reject(RejectKind.UNKNOWN_ORDER, ord_id or cl_ord_id)
        return order

    def _limit(self, request: web.Request) -> int:
        raw = request.query.get("limit", str(MAX_LIMIT))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise OkxError("51000", "Parameter limit error")
        return int(raw)

    @staticmethod
    def _page(rows: list[tuple[int, Row]], request: web.Request, limit: int) -> list[Row]:
        """Newest first; ``after`` (older than) and ``before`` (newer than) are id cursors."""
        q = request.query
        after = int(q["after"]) if q.get("after", "").isdigit() else None
        before = int(q["before"]) if q.get("before", "").isdigit() else None
        rows = sorted(rows, key=lambda r: r[0], reverse=True)
        picked = [row for key, row in rows
                  if (after is None or key < after) and (before is None or key > before)]
        return picked[:limit]

    async def _json(self, request: web.Request) -> object:
        try:
            return msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            raise OkxError("50002", "JSON syntax error") from None

    async def _body(self, request: web.Request) -> dict[str, Any]:
        body = await self._json(request)
        if not isinstance(body, dict):
            raise OkxError("50002", "JSON syntax error")
        return body

    # ------------------------------------------------------------------ orders

    def _parse(self, body: dict[str, Any]) -> Parsed:
        """One order request checked field by field (a bad one raises the top-level 50014 / 51000)."""
        symbol = self._symbol(body.get("instId"))
        for field in ("tdMode", "side", "ordType", "sz"):
            if body.get(field) in (None, ""):
                raise OkxError("50014", f"Parameter {field} can not be empty.")
        cl_ord_id, tag = str(body.get("clOrdId") or ""), str(body.get("tag") or "")
        side_text, ord_type, tgt = str(body["side"]), str(body["ordType"]), str(body.get("tgtCcy") or "")
        bad = [name for name, good in (
            ("tdMode", body["tdMode"] == "cash"), ("side", side_text in ("buy", "sell")),
            ("ordType", ord_type in ORD_TYPES), ("tgtCcy", tgt in ("", "base_ccy", "quote_ccy")),
            ("clOrdId", not cl_ord_id or CL_ORD_ID.match(cl_ord_id)), ("tag", not tag or TAG.match(tag)))
            if not good]
        try:
            sz = Decimal(str(body["sz"]))
            priced = body.get("px") not in (None, "") and ord_type != "market"
            px = Decimal(str(body["px"])) if priced else None
        except InvalidOperation:
            bad.append("sz or px")
            sz, px = ZERO, None
        if not bad and (not sz.is_finite() or sz <= 0):
            bad.append("sz")
        if not bad and ord_type != "market" and (px is None or not px.is_finite() or px <= 0):
            bad.append("px")
        if bad:
            raise OkxError("51000", f"Parameter {bad[0]} error")
        side = Side.BUY if side_text == "buy" else Side.SELL
        # the target currency only sizes market orders
        tgt = (tgt or ("quote_ccy" if side is Side.BUY else "base_ccy")) if ord_type == "market" else ""
        return Parsed(symbol, side, ord_type, sz, px, Wire("", cl_ord_id, tag, ord_type, tgt, sz))

    def _submit(self, account: str, order: Parsed) -> Row:
        """Place one parsed order; its result item (``sCode`` "0" when placed)."""
        wire, symbol, side = order.wire, order.symbol, order.side
        cl_ord_id = wire.cl_ord_id
        earlier = self._by_cl_ord_id.get((account, cl_ord_id)) if cl_ord_id else None
        if earlier is not None and earlier in self.matching.orders and \
                self.matching.orders[earlier].status in LIVE:
            return self._result(wire, *REJECTS[RejectKind.DUPLICATE_CLIENT_ID])
        quantity = order.sz
        if order.ord_type == "market" and wire.tgt_ccy == "quote_ccy":
            if order.sz > MAX_MARKET_QUOTE:
                return self._result(wire, "51201", "Value of per market order cannot exceed 1,000,000 USDT")
            quantity = self._base_for_quote(symbol, side, order.sz)
            if quantity <= 0:
                return self._result(wire, *REJECTS[RejectKind.BELOW_MIN_NOTIONAL])
        client_id = cl_ord_id if cl_ord_id and earlier is None else \
            f"{cl_ord_id or 'okx'}.{next(self._reuse if cl_ord_id else self._anonymous)}"
        if order.ord_type == "post_only" and order.px is not None and self._crosses(symbol, side, order.px):
            self._refuse_post_only(account, symbol, side, quantity, order.px, client_id, wire)
            return self._result(wire, "0", "Order placed")
        kind, tif = ORD_TYPES[order.ord_type]
        wire.ord_id = str(ORDER_ID_BASE + self._next_order_id())
        self._placing = wire
        try:
            placed, _ = self.matching.place(account, symbol, side, kind, quantity, order.px, tif, client_id)
        except Reject as rej:
            wire.ord_id = ""
            code, msg = REJECTS.get(rej.kind, ("51000", str(rej)))
            ccy = symbol.quote if side is Side.BUY else symbol.base
            sub = "1000" if rej.kind is RejectKind.INSUFFICIENT_BALANCE else ""
            return self._result(wire, code, msg.format(ccy=ccy), sub)
        finally:
            self._placing = None
        self._keep(placed.order_id, wire, account)
        return self._result(wire, "0", "Order placed")

    def _result(self, wire: Wire, code: str, msg: str, sub_code: str = "") -> Row:
        return {"clOrdId": wire.cl_ord_id, "ordId": wire.ord_id, "tag": wire.tag, "ts": str(self._clock_ms()),
                "sCode": code, "sMsg": msg, "subCode": sub_code}

    def _answer(self, items: list[Row], in_ms: int) -> web.Response:
        """Top ``code`` "0" when every item succeeded, "1" when all failed, "2" when some did."""
        failed = sum(1 for item in items if item["sCode"] != "0")
        code, msg = ("0", "") if not failed else ("1", "All operations failed") if failed == len(items) \
            else ("2", "Bulk operation partially succeeded.")
        return web.json_response({"code": code, "msg": msg, "data": items,
                                  **gateway_times(in_ms, self._clock_ms())})

    async def _place(self, request: web.Request, account: str) -> web.Response:
        in_ms = self._clock_ms()
        order = self._parse(await self._body(request))
        return self._answer([self._submit(account, order)], in_ms)

    async def _batch(self, request: web.Request, account: str) -> web.Response:
        in_ms = self._clock_ms()
        body = await self._json(request)
        if not isinstance(body, list) or not body or not all(isinstance(b, dict) for b in body):
            raise OkxError("50002", "JSON syntax error")
        if len(body) > MAX_BATCH:
            raise OkxError("51000", "Parameter batch orders error: at most 20 orders")
        orders = [self._parse(b) for b in body]
        return self._answer([self._submit(account, o) for o in orders], in_ms)

    def _next_order_id(self) -> int:
        """The id the matching engine gives the next order (ordIds are printed before it returns)."""
        return max(self.matching.orders, default=0) + 1

    def _keep(self, internal: int, wire: Wire, account: str) -> None:
        self._wire[internal] = wire
        self._by_ord_id[wire.ord_id] = internal
        if wire.cl_ord_id:
            self._by_cl_ord_id[(account, wire.cl_ord_id)] = internal

    def _crosses(self, symbol: Symbol, side: Side, px: Decimal) -> bool:
        _, bids, asks = self.market.snapshot(self.name, symbol, 1)
        opposite = asks if side is Side.BUY else bids
        return bool(opposite) and (px >= opposite[0][0] if side is Side.BUY else px <= opposite[0][0])

    def _refuse_post_only(self, account: str, symbol: Symbol, side: Side, quantity: Decimal, px: Decimal,
                          client_id: str, wire: Wire) -> None:
        """A post-only order that would take: accepted, then cancelled at once (cancelSource 31)."""
        now = self._clock_ms()
        internal = -next(self._phantom_ids)
        wire.ord_id = str(ORDER_ID_BASE + PHANTOM_IDS - internal)
        order = SimOrder(internal, client_id, account, symbol, side, "LIMIT", "GTC", quantity, px,
                         status="CANCELED", created_ms=now, updated_ms=now)
        self.phantoms[internal] = order
        self._keep(internal, wire, account)
        for listener in self.listeners:
            listener(order, [])

    def _base_for_quote(self, symbol: Symbol, side: Side, funds: Decimal) -> Decimal:
        """How much base `funds` quote buys (or sells for) against the book, floored to the step."""
        spec = self.market.spec(self.name, symbol)
        base = ZERO
        for price, qty in self.market.books[(self.name, symbol)].levels(side is Side.SELL):
            if price * qty >= funds:
                base += funds / price
                break
            base += qty
            funds -= price * qty
        return (base / spec.step).to_integral_value(ROUND_DOWN) * spec.step

    async def _cancel(self, request: web.Request, account: str) -> web.Response:
        in_ms = self._clock_ms()
        body = await self._body(request)
        symbol = self._symbol(body.get("instId"))
        ord_id, cl_ord_id = str(body.get("ordId") or ""), str(body.get("clOrdId") or "")
        if not ord_id and not cl_ord_id:
            raise OkxError("51003", "Either client order ID or order ID is required.")
        try:
            order = self._find(account, symbol, ord_id, cl_ord_id)
            if order.status not in LIVE or order.order_id in self.phantoms:
                raise Reject(RejectKind.UNKNOWN_ORDER, ord_id or cl_ord_id)
            self.wire_of(order).cancel = USER_CANCEL
            self.matching.cancel(account, order_id=order.order_id)
        except Reject:
            return web.json_response({"code": "1", "msg": "", "data": [{
                "clOrdId": cl_ord_id, "ordId": ord_id, "ts": str(self._clock_ms()), "sCode": "51400",
                "sMsg": CANCEL_FAILED}], **gateway_times(in_ms, self._clock_ms())})
        wire = self.wire_of(order)
        return web.json_response({"code": "0", "msg": "", "data": [{
            "clOrdId": wire.cl_ord_id, "ordId": wire.ord_id, "ts": str(self._clock_ms()), "sCode": "0",
            "sMsg": ""}], **gateway_times(in_ms, self._clock_ms())})

    async def _get(self, request: web.Request, account: str) -> web.Response:
        q = request.query
        symbol = self._symbol(q.get("instId"))
        ord_id, cl_ord_id = q.get("ordId", ""), q.get("clOrdId", "")
        if not ord_id and not cl_ord_id:
            raise OkxError("51003", "Either client order ID or order ID is required.")
        try:
            order = self._find(account, symbol, ord_id, cl_ord_id)
        except Reject:
            raise OkxError("51603", NOT_EXIST) from None
        return ok([self.order_json(order)])

    def _listed(self, request: web.Request, orders: list[SimOrder]) -> list[tuple[int, Row]]:
        q = request.query
        inst, ord_type, state = q.get("instId"), q.get("ordType"), q.get("state")
        symbol = self._symbol(inst) if inst else None
        rows = []
        for order in orders:
            row = self.order_json(order)
            if (symbol is None or order.symbol == symbol) and (not ord_type or row["ordType"] == ord_type) \
                    and (not state or row["state"] == state):
                rows.append((int(str(row["ordId"])), row))
        return rows

    async def _pending(self, request: web.Request, account: str) -> web.Response:
        kind = request.query.get("instType")
        if kind and kind not in (SPOT, "ANY"):
            return ok([])
        limit = self._limit(request)
        return ok(self._page(self._listed(request, self.matching.open_orders(account)), request, limit))

    async def _history(self, request: web.Request, account: str) -> web.Response:
        kind = request.query.get("instType", "")
        if not kind:
            raise OkxError("50014", "Parameter instType can not be empty.")
        limit = self._limit(request)
        if kind != SPOT:
            return ok([])
        now, hide = self._clock_ms(), self.matching.hidden_ms()
        ended = [o for o in [*self.matching.orders.values(), *self.phantoms.values()]
                 if o.account == account and o.status not in LIVE and not now - o.created_ms < hide]
        return ok(self._page(self._listed(request, ended), request, limit))

    async def _fills(self, request: web.Request, account: str) -> web.Response:
        q = request.query
        if request.path.endswith("-history") and not q.get("instType"):
            raise OkxError("50014", "Parameter instType can not be empty.")
        if q.get("instType") not in (None, SPOT):
            return ok([])
        limit = self._limit(request)
        symbol = self._symbol(q["instId"]) if q.get("instId") else None
        ord_id = q.get("ordId")
        try:
            begin, end = int(q.get("begin", "0")), int(q.get("end", str(2**62)))
        except ValueError:
            raise OkxError("51000", "Parameter begin or end error") from None
        rows = [(BILL_ID_BASE + f.trade_id, self.fill_json(f))
                for f in self.matching.account_fills(account, symbol)
                if begin <= f.ts_ms <= end]
        rows = [(key, row) for key, row in rows if not ord_id or row["ordId"] == ord_id]
        return ok(self._page(rows, request, limit))

    # ------------------------------------------------------------------ account

    def balance_json(self, account: str, assets: list[str], now: int) -> Row:
        return balance_json(self.ledger, self.market, self.name, account, assets, now)

    async def _balance(self, request: web.Request, account: str) -> web.Response:
        wanted = [c for c in request.query.get("ccy", "").split(",") if c]
        if len(wanted) > 20:
            raise OkxError("51000", "Parameter ccy error")
        assets = [a for a in held_assets(self.ledger, account) if not wanted or a in wanted]
        return ok([self.balance_json(account, assets, self._clock_ms())])

    async def _fee(self, request: web.Request, account: str) -> web.Response:
        q = request.query
        if not q.get("instType"):
            raise OkxError("50014", "Parameter instType can not be empty.")
        if q.get("instId"):
            self._symbol(q["instId"])
        maker, taker = num(-self.maker_fee), num(-self.taker_fee)
        return ok([{
            "category": "1", "delivery": "", "exercise": "",
            "feeGroup": [{"elpMaker": maker, "groupId": "1", "maker": maker, "taker": taker}],
            "fiat": [], "instType": q["instType"], "level": "Lv1", "maker": maker, "makerU": "",
            "makerUSDC": "",
            "ruleType": "normal", "taker": taker, "takerU": "", "takerUSDC": "", "ts": str(self._clock_ms()),
        }])
