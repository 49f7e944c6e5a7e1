"""Gate.io dialect, signed part: spot v4 orders and account over the shared matching engine and ledger.

Written from the fact sheet (§2.3-2.7), independently of `arb.venues.gateio`. Every route checks
the APIv4 signature (`accounts.check_gate_headers`) and answers failures with Gate's ``{"label",
"message"}`` bodies and statuses. Served: ``POST /spot/orders`` (limit gtc/ioc/poc/fok, market
ioc/fok; a market buy's ``amount`` is quote; ``text`` must be ``t-`` + up to 28 of ``[0-9A-Za-z_.-]``;
HTTP 201 with the full Order, or the ACK shape with ``action_mode=ACK``), ``GET`` / ``DELETE
/spot/orders/{order_id}`` (``{order_id}`` may be the ``t-`` text while the order is open and for an
hour after it finished), ``GET /spot/orders?status=open|finished``, ``/spot/open_orders`` (grouped
by pair), ``/spot/accounts``, ``/spot/my_trades``, ``/spot/fee`` and ``/wallet/fee``.

Simplifications, as in the other dialects: fees are charged in the quote asset on both sides (the
shared ledger's rule; real Gate charges a buy in the base asset); a post-only (``poc``) order that
would take liquidity is refused with ``POC_FILL_IMMEDIATELY`` rather than created and cancelled;
a halted pair answers ``INVALID_CURRENCY_PAIR``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable, Mapping
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

import msgspec
from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.accounts import AuthFailure, check_gate_headers
from arb.sim.market import MarketModel
from arb.sim.matching import Ledger, MatchingEngine, Reject, RejectKind, SimFill, SimOrder

PREFIX: Final = "/api/v4"
TEXT_RULE: Final = re.compile(r"^t-[0-9A-Za-z_.-]{1,28}$")
TEXT_WINDOW_MS: Final = 3_600_000  # a finished order answers to its text for one hour
NO_TEXT: Final = "apiv4"  # what Gate shows for an order placed over APIv4 without a text
MAX_OPEN_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
ZERO: Final = Decimal(0)
AVG_QUANTUM: Final = Decimal("1e-12")
TIFS: Final = MappingProxyType({"gtc": "GTC", "ioc": "IOC", "fok": "FOK", "poc": "GTC"})
ACCOUNTS: Final = frozenset({"spot", "unified"})
AUTH_ERRORS: Final[Mapping[AuthFailure, tuple[int, str, str]]] = MappingProxyType({
    AuthFailure.PARAMS: (401, "MISSING_REQUIRED_HEADER", "Missing required header: KEY, Timestamp or SIGN"),
    AuthFailure.KEY: (401, "INVALID_KEY", "Invalid key provided"),
    AuthFailure.SIGNATURE: (401, "INVALID_SIGNATURE", "Signature mismatch"),
    AuthFailure.TIMESTAMP: (401, "REQUEST_EXPIRED", "Request timestamp expired"),
})
REJECT_LABELS: Final[Mapping[RejectKind, str]] = MappingProxyType({
    RejectKind.UNKNOWN_SYMBOL: "INVALID_CURRENCY_PAIR",
    RejectKind.SYMBOL_HALTED: "INVALID_CURRENCY_PAIR",
    RejectKind.BAD_TICK: "INVALID_PRECISION",
    RejectKind.BAD_STEP: "INVALID_PRECISION",
    RejectKind.BELOW_MIN_QTY: "AMOUNT_TOO_LITTLE",
    RejectKind.BELOW_MIN_NOTIONAL: "AMOUNT_TOO_LITTLE",
    RejectKind.INSUFFICIENT_BALANCE: "BALANCE_NOT_ENOUGH",
    RejectKind.DUPLICATE_CLIENT_ID: "ORDER_EXISTS",
    RejectKind.UNKNOWN_ORDER: "ORDER_NOT_FOUND",
})


Handler = Callable[[web.Request, str], Awaitable[web.Response]]


class GateError(Exception):
    """An answer ``{"label", "message"}`` with its HTTP status (raised inside a handler)."""

    def __init__(self, status: int, label: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.label = label
        self.message = message

    def response(self) -> web.Response:
        return web.json_response({"label": self.label, "message": self.message}, status=self.status)


class Wire(msgspec.Struct):
    """What Gate echoes that the matching engine does not keep."""

    text: str
    tif: str  # gtc ioc poc fok
    account: str
    amount: Decimal  # as sent: quote for a market buy


def num(value: Decimal) -> str:
    """Gate prints plain decimals without trailing zeros: ``0.001``, ``65000``."""
    return format(value.normalize(), "f") if value else "0"


def pair_name(symbol: Symbol) -> str:
    return f"{symbol.base}_{symbol.quote}"


class GatePrivateApi:
    """The signed routes of one simulated Gate endpoint."""

    def __init__(self, name: str, market: MarketModel, ledger: Ledger, matching: MatchingEngine,
                 accounts: Mapping[str, tuple[str, str]], clock_ms: Callable[[], int],
                 taker_fee: Decimal, maker_fee: Decimal) -> None:
        self.name = name
        self.market = market
        self.ledger = ledger
        self.matching = matching
        self.accounts = accounts
        self._clock_ms = clock_ms
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self._pairs = {pair_name(s): s for s in market.names(self.name)}
        self._wire: dict[int, Wire] = {}
        self._placing: Wire | None = None  # the order being placed (its listeners run before it is kept)
        self._anonymous = itertools.count(1)

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_post(f"{PREFIX}/spot/orders", self._wrap(self._place))
        r.add_get(f"{PREFIX}/spot/orders", self._wrap(self._list))
        r.add_get(f"{PREFIX}/spot/orders/{{order_id}}", self._wrap(self._get))
        r.add_delete(f"{PREFIX}/spot/orders/{{order_id}}", self._wrap(self._cancel))
        r.add_get(f"{PREFIX}/spot/open_orders", self._wrap(self._open_orders))
        r.add_get(f"{PREFIX}/spot/accounts", self._wrap(self._accounts))
        r.add_get(f"{PREFIX}/spot/my_trades", self._wrap(self._my_trades))
        r.add_get(f"{PREFIX}/spot/fee", self._wrap(self._fee))
        r.add_get(f"{PREFIX}/wallet/fee", self._wrap(self._fee))

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Authenticate, run, and turn a raised `GateError` into its response."""

        async def run(request: web.Request) -> web.Response:
            auth = await check_gate_headers(request, self.accounts, self._clock_ms)
            if isinstance(auth, AuthFailure):
                status, label, message = AUTH_ERRORS[auth]
                return web.json_response({"label": label, "message": message}, status=status)
            try:
                return await handler(request, auth)
            except GateError as err:
                return err.response()

        return run

    # ------------------------------------------------------------------ helpers

    def _pair(self, value: str | None, required: bool = True) -> Symbol | None:
        if not value:
            if required:
                raise GateError(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: currency_pair")
            return None
        symbol = self._pairs.get(value)
        if symbol is None:
            raise GateError(400, "INVALID_CURRENCY_PAIR", f"Invalid currency pair {value}")
        return symbol

    def _limit(self, request: web.Request, default: int, maximum: int) -> tuple[int, int]:
        try:
            limit = int(request.query.get("limit", str(default)))
            page = int(request.query.get("page", "1"))
        except ValueError:
            raise GateError(400, "INVALID_PARAM_VALUE", "Invalid parameter `limit` or `page`") from None
        if not 1 <= limit <= maximum or page < 1:
            raise GateError(400, "INVALID_PARAM_VALUE", f"Invalid parameter `limit` with value: {limit}")
        return limit, page

    def wire_of(self, order: SimOrder) -> Wire:
        """What the order was sent with; an order placed around the REST routes gets Gate's defaults."""
        wire = self._wire.get(order.order_id) or self._placing
        if wire is None:
            text = order.client_id if TEXT_RULE.match(order.client_id) else NO_TEXT
            wire = Wire(text, order.tif.lower(), "spot", order.quantity)
        return wire

    def order_json(self, order: SimOrder) -> dict[str, object]:
        wire = self.wire_of(order)
        market_buy = order.kind == "MARKET" and order.side is Side.BUY
        left = wire.amount - (order.quote_filled if market_buy else order.filled)
        if order.status in ("NEW", "PARTIALLY_FILLED"):
            status, finish = "open", "open"
        elif order.status == "FILLED":
            status, finish = "closed", "filled"
        else:
            status, finish = "cancelled", "cancelled" if order.status == "CANCELED" else wire.tif
        avg = (order.quote_filled / order.filled).quantize(AVG_QUANTUM) if order.filled else ZERO
        return {
            "id": str(order.order_id), "text": wire.text, "amend_text": "-",
            "create_time": str(order.created_ms // 1000), "update_time": str(order.updated_ms // 1000),
            "create_time_ms": order.created_ms, "update_time_ms": order.updated_ms, "status": status,
            "currency_pair": pair_name(order.symbol), "type": order.kind.lower(), "account": wire.account,
            "side": order.side.name.lower(), "amount": num(wire.amount), "price": num(order.price or ZERO),
            "time_in_force": wire.tif, "iceberg": "0", "left": num(max(left, ZERO)),
            "filled_amount": num(order.filled), "fill_price": num(order.quote_filled),
            "filled_total": num(order.quote_filled), "avg_deal_price": num(avg), "fee": num(order.fee),
            "fee_currency": order.symbol.quote, "point_fee": "0", "gt_fee": "0", "gt_maker_fee": "0",
            "gt_taker_fee": "0", "gt_discount": False, "rebated_fee": "0",
            "rebated_fee_currency": order.symbol.quote, "finish_as": finish,
        }

    def _market_buy_base(self, symbol: Symbol, funds: Decimal) -> Decimal:
        """How much base a market buy of `funds` quote takes from the book, floored to the step."""
        spec = self.market.spec(self.name, symbol)
        base = ZERO
        for price, qty in self.market.books[(self.name, symbol)].levels(False):
            cost = price * qty * (1 + self.taker_fee)
            if cost >= funds:
                base += funds / (price * (1 + self.taker_fee))
                break
            base += qty
            funds -= cost
        return (base / spec.step).to_integral_value(ROUND_DOWN) * spec.step

    def _find(self, account: str, order_id: str, symbol: Symbol) -> SimOrder:
        try:
            if order_id.startswith("t-"):
                order = self.matching.find(account, client_id=order_id)
                live = order.status in ("NEW", "PARTIALLY_FILLED")
                if not live and self._clock_ms() - order.updated_ms > TEXT_WINDOW_MS:
                    raise Reject(RejectKind.UNKNOWN_ORDER, order_id)
            else:
                order = self.matching.find(account, order_id=int(order_id))
        except (Reject, ValueError):
            raise GateError(404, "ORDER_NOT_FOUND", f"Order with ID {order_id} not found") from None
        if order.symbol != symbol:
            raise GateError(404, "ORDER_NOT_FOUND", f"Order with ID {order_id} not found")
        return order

    # ------------------------------------------------------------------ orders

    async def _place(self, request: web.Request, account: str) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read())
        except msgspec.DecodeError:
            raise GateError(400, "INVALID_REQUEST_BODY", "Invalid request body") from None
        if not isinstance(body, dict):
            raise GateError(400, "INVALID_REQUEST_BODY", "Invalid request body")
        for field in ("currency_pair", "side", "amount"):
            if body.get(field) in (None, ""):
                raise GateError(400, "MISSING_REQUIRED_PARAM", f"Missing required parameter: {field}")
        symbol = self._pair(str(body["currency_pair"]))
        assert symbol is not None
        side_text, kind = str(body["side"]), str(body.get("type", "limit"))
        wire_account = str(body.get("account", "spot"))
        if side_text not in ("buy", "sell") or kind not in ("limit", "market") \
                or wire_account not in ACCOUNTS:
            raise GateError(400, "INVALID_PARAM_VALUE", "Invalid parameter `side`, `type` or `account`")
        side = Side.BUY if side_text == "buy" else Side.SELL
        tif = str(body.get("time_in_force", "gtc" if kind == "limit" else "ioc"))
        if tif not in TIFS or (kind == "market" and tif not in ("ioc", "fok")):
            raise GateError(400, "INVALID_PARAM_VALUE",
                            f"Invalid parameter `time_in_force` with value: {tif}")
        text = body.get("text")
        if text is not None and (not isinstance(text, str) or not TEXT_RULE.match(text)):
            raise GateError(400, "INVALID_PARAM_VALUE", f"Invalid parameter `text` with value: {text}")
        try:
            amount = Decimal(str(body["amount"]))
            price = Decimal(str(body["price"])) if body.get("price") not in (None, "") else None
        except InvalidOperation:
            raise GateError(400, "INVALID_PARAM_VALUE", "Invalid parameter `amount` or `price`") from None
        if amount <= 0 or (price is not None and price <= 0):
            raise GateError(400, "INVALID_PARAM_VALUE", "Invalid parameter `amount` or `price`")
        if kind == "limit" and price is None:
            raise GateError(400, "MISSING_REQUIRED_PARAM", "Missing required parameter: price")
        if kind == "market":
            price = None
        if tif == "poc":
            self._refuse_crossing(symbol, side, price)
        quantity = self._market_buy_base(symbol, amount) if kind == "market" and side is Side.BUY else amount
        if quantity <= 0:
            raise GateError(400, "AMOUNT_TOO_LITTLE", "Order amount too little")
        client_id = text if text is not None else f"{NO_TEXT}-{next(self._anonymous)}"
        wire = Wire(text or NO_TEXT, tif, wire_account, amount)
        self._placing = wire  # the matching engine's listeners (private channels) see it
        try:
            order, _ = self.matching.place(account, symbol, side, kind.upper(), quantity, price, TIFS[tif],
                                           client_id)
        except Reject as rej:
            raise GateError(400, REJECT_LABELS.get(rej.kind, "INVALID_PARAM_VALUE"), str(rej)) from None
        finally:
            self._placing = None
        self._wire[order.order_id] = wire
        if body.get("action_mode") == "ACK":
            return web.json_response({"id": str(order.order_id), "text": wire.text, "amend_text": "-"},
                                     status=201)
        return web.json_response(self.order_json(order), status=201)

    def _refuse_crossing(self, symbol: Symbol, side: Side, price: Decimal | None) -> None:
        _, bids, asks = self.market.snapshot(self.name, symbol, 1)
        opposite = asks if side is Side.BUY else bids
        if price is not None and opposite:
            best = opposite[0][0]
            if (price >= best) if side is Side.BUY else (price <= best):
                raise GateError(400, "POC_FILL_IMMEDIATELY", "Order would match and take liquidity")

    async def _get(self, request: web.Request, account: str) -> web.Response:
        symbol = self._pair(request.query.get("currency_pair"))
        assert symbol is not None
        return web.json_response(self.order_json(self._find(account, request.match_info["order_id"], symbol)))

    async def _cancel(self, request: web.Request, account: str) -> web.Response:
        symbol = self._pair(request.query.get("currency_pair"))
        assert symbol is not None
        order = self._find(account, request.match_info["order_id"], symbol)
        if order.status == "FILLED":
            raise GateError(400, "ORDER_CLOSED", f"Order {order.order_id} is already filled")
        if order.status not in ("NEW", "PARTIALLY_FILLED"):
            raise GateError(400, "ORDER_CANCELLED", f"Order {order.order_id} is already cancelled")
        return web.json_response(self.order_json(self.matching.cancel(account, order_id=order.order_id)))

    def _orders(self, account: str, symbol: Symbol | None, live: bool) -> list[SimOrder]:
        states = ("NEW", "PARTIALLY_FILLED")
        rows = [o for o in self.matching.orders.values()
                if o.account == account and (symbol is None or o.symbol == symbol)
                and (o.status in states) == live]
        return sorted(rows, key=lambda o: o.order_id, reverse=True)

    async def _list(self, request: web.Request, account: str) -> web.Response:
        status = request.query.get("status", "")
        if status not in ("open", "finished"):
            raise GateError(400, "INVALID_PARAM_VALUE", f"Invalid parameter `status` with value: {status}")
        symbol = self._pair(request.query.get("currency_pair"), required=status == "open")
        limit, page = self._limit(request, 100, MAX_OPEN_LIMIT if status == "open" else MAX_LIMIT)
        rows = self._orders(account, symbol, status == "open")[(page - 1) * limit: page * limit]
        return web.json_response([self.order_json(o) for o in rows])

    async def _open_orders(self, request: web.Request, account: str) -> web.Response:
        limit, page = self._limit(request, 100, MAX_OPEN_LIMIT)
        groups: dict[str, list[SimOrder]] = {}
        for order in self._orders(account, None, live=True):
            groups.setdefault(pair_name(order.symbol), []).append(order)
        return web.json_response([
            {"currency_pair": pair, "total": len(orders),
             "orders": [self.order_json(o) for o in orders[(page - 1) * limit: page * limit]]}
            for pair, orders in sorted(groups.items())
        ])

    # ------------------------------------------------------------------ account

    async def _accounts(self, request: web.Request, account: str) -> web.Response:
        wanted = request.query.get("currency")
        return web.json_response([
            {"currency": asset, "available": num(free), "locked": num(locked), "update_id": 1}
            for asset, (free, locked) in self.ledger.balances(account).items()
            if wanted is None or asset == wanted
        ])

    def _trade_json(self, fill: SimFill) -> dict[str, object]:
        wire = self._wire.get(fill.order_id)
        return {
            "id": str(fill.trade_id), "create_time": str(fill.ts_ms // 1000),
            "create_time_ms": f"{fill.ts_ms}.000", "currency_pair": pair_name(fill.symbol),
            "side": fill.side.name.lower(), "role": "taker", "amount": num(fill.quantity),
            "price": num(fill.price), "order_id": str(fill.order_id), "fee": num(fill.fee),
            "fee_currency": fill.fee_asset, "point_fee": "0", "gt_fee": "0", "amend_text": "-",
            "sequence_id": str(fill.trade_id), "text": wire.text if wire is not None else NO_TEXT,
        }

    async def _my_trades(self, request: web.Request, account: str) -> web.Response:
        symbol = self._pair(request.query.get("currency_pair"), required=False)
        limit, page = self._limit(request, 100, MAX_LIMIT)
        order_id = request.query.get("order_id")
        rows = [f for f in reversed(self.matching.account_fills(account, symbol))
                if order_id is None or str(f.order_id) == order_id]
        return web.json_response([self._trade_json(f) for f in rows[(page - 1) * limit: page * limit]])

    async def _fee(self, request: web.Request, account: str) -> web.Response:
        symbol = self._pair(request.query.get("currency_pair"), required=False)
        return web.json_response({
            "user_id": 10001, "taker_fee": num(self.taker_fee), "maker_fee": num(self.maker_fee),
            "gt_discount": False, "gt_taker_fee": "0", "gt_maker_fee": "0", "loan_fee": "0.18",
            "point_type": "1", "currency_pair": pair_name(symbol) if symbol else "", "debit_fee": 3,
        })
