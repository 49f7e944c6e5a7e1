"""Bybit REST orders and account (`PrivateExchangeInterface`) on a signed `RestClient`.

Orders go to ``POST /v5/order/create`` as JSON (``category=spot``), signed over the exact body
text. Placement is asynchronous on Bybit: the answer only acknowledges ``orderId`` and
``orderLinkId``, so `place_order` returns the order as NEW with its exchange id and the outcome
comes from the user stream or a query. A cancel is acknowledged the same way, so `cancel_order`
asks for the order afterwards and returns what the venue then says. Client ids are the
``orderLinkId`` (1-36 of ``[0-9A-Za-z_-]``); an id outside that rule is refused before anything is
sent. Orders are looked up by id on ``/v5/order/realtime`` (open and the recent 500 closed), then on
``/v5/order/history``. Writes are never retried: a timeout, 5xx or an outcome-unknown ``retCode``
raises `OrderOutcomeUnknownError` for the caller to reconcile by orderLinkId. Signing uses venue
time from a `ServerClock` (refreshed from ``/v5/market/time``; ``10002`` invalidates it).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

import msgspec

from arb.config import TRADING_PRESET, RequestConfig
from arb.errors import InvalidOrderError, OrderNotFoundError, TimestampError
from arb.model import (
    AccountInfo,
    AssetBalance,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Symbol,
    TimeInForce,
    TradingFee,
    TransferStatus,
)
from arb.net.contract import Params
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient, decode_write_reply
from arb.venues.base import PrivateExchangeInterface, RestBacked, common_symbol
from arb.venues.bybit import codec, orders
from arb.venues.bybit import constants as c
from arb.venues.bybit.public import call
from arb.venues.clock import ServerClock

CLIENT_ID: Final = re.compile(c.CLIENT_ID_CHARS)
MAX_PAGES: Final = 10  # open orders: 10 pages of 50 cover the 500-order account cap

log = logging.getLogger(__name__)


def check_client_id(client_order_id: str) -> str:
    """`client_order_id` if Bybit takes it as an ``orderLinkId``, else `InvalidOrderError`."""
    if not CLIENT_ID.match(client_order_id):
        raise InvalidOrderError(c.VENUE, f"client order id {client_order_id!r} is not 1-"
                                         f"{c.CLIENT_ID_MAX_LEN} characters of [0-9A-Za-z_-] (orderLinkId)")
    return client_order_id


def order_body(symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal, client_order_id: str,
               price: Decimal | None, time_in_force: TimeInForce) -> dict[str, str]:
    """The create-order request: ``{"category": "spot", "symbol": "BTCUSDT", "side": "Buy",
    "orderType": "Limit", "qty": "0.001", "price": "30000", "timeInForce": "IOC",
    "orderLinkId": "my-ioc-0001"}``. A market buy is sized in base (``marketUnit: baseCoin``);
    a LIMIT_MAKER is a ``PostOnly`` limit. Numbers are printed exactly, never in exponent form."""
    if quantity <= 0:
        raise InvalidOrderError(c.VENUE, f"quantity must be positive, got {quantity}")
    body = {"category": c.CATEGORY, "symbol": c.SPELLING.venue(symbol), "side": c.SIDE_NAMES[side],
            "orderType": "Market" if order_type is OrderType.MARKET else "Limit",
            "qty": format(quantity, "f")}
    if order_type is OrderType.MARKET:
        if side is Side.BUY:
            body["marketUnit"] = c.BASE_COIN
    else:
        if price is None or price <= 0:
            raise InvalidOrderError(c.VENUE, f"a {order_type.name} order needs a positive price, got {price}")
        body["price"] = format(price, "f")
        post_only = order_type is OrderType.LIMIT_MAKER
        body["timeInForce"] = c.POST_ONLY if post_only else c.TIF_NAMES[time_in_force]
    body["orderLinkId"] = check_client_id(client_order_id)
    return body


class BybitPrivate(RestBacked, PrivateExchangeInterface):
    """Signed order and account calls (the RestClient must carry a `BybitSigner`).

    Parameters
    ----------
    server_clock:
        The clock the RestClient signs with (``clock_ms=server_clock.now_ms``); synced from
        ``/v5/market/time`` before signed calls when due. None: the RestClient's own clock is trusted.
    """

    venue = c.VENUE

    def __init__(self, rest: RestClient, *, kind: RequestConfig = TRADING_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns, server_clock: ServerClock | None = None,
                 on_fill: Callable[[Fill], None] | None = None) -> None:
        del on_fill  # accepted for a uniform constructor: Bybit's replies carry no fills (see my_trades)
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns
        self.server_clock = server_clock

    # ------------------------------------------------------------------ plumbing

    async def _server_ms(self) -> int:
        env = await call(self.rest, "GET", c.TIME, kind=self._kind, draws=c.PUBLIC_DRAWS)
        return codec.decode_time(env.result)

    async def _signed(self, method: str, path: str, *, params: Params = (),
                      body: Mapping[str, Any] | None = None, client_order_id: str | None = None,
                      priority: Priority = Priority.NORMAL) -> codec.EnvelopeResp:
        """A signed call at venue time: the `ServerClock` is synced first when due, dropped on a
        rejected timestamp."""
        if self.server_clock is not None:
            await self.server_clock.sync(self._server_ms)
        try:
            return await call(self.rest, method, path, kind=self._kind, draws=c.DRAWS[path], params=params,
                              body=msgspec.json.encode(body) if body is not None else b"", signed=True,
                              priority=priority, client_order_id=client_order_id)
        except TimestampError:
            if self.server_clock is not None:
                self.server_clock.invalidate()
            raise

    @staticmethod
    def _by_id(symbol: Symbol, order_id: str | None, client_order_id: str | None) -> list[tuple[str, str]]:
        if order_id is not None:
            return [("orderId", order_id)]
        if client_order_id is not None:
            return [("orderLinkId", client_order_id)]
        raise InvalidOrderError(c.VENUE, f"{symbol}: name the order by order_id or client_order_id")

    # ------------------------------------------------------------------ orders

    async def place_order(self, symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal,
                          client_order_id: str, price: Decimal | None = None,
                          time_in_force: TimeInForce = TimeInForce.GTC) -> Order:
        body = order_body(symbol, side, order_type, quantity, client_order_id, price, time_in_force)
        env = await self._signed("POST", c.CREATE_ORDER, body=body, client_order_id=client_order_id,
                                 priority=Priority.ORDER)
        ack = self._ack(env, "POST order", client_order_id)
        now = self._clock()
        market = order_type is OrderType.MARKET
        return Order(venue=c.VENUE, symbol=symbol, client_order_id=client_order_id, side=side,
                     type=order_type, quantity=quantity, price=None if market else price,
                     time_in_force=TimeInForce.IOC if market else time_in_force,
                     order_id=ack.orderId, status=OrderStatus.NEW, ts_created=env.time * 1_000_000 or now,
                     ts_updated=now)

    @staticmethod
    def _ack(env: codec.EnvelopeResp, what: str, client_order_id: str | None) -> orders.AckResult:
        """The ack of a write; one that cannot be read leaves the write's fate unknown."""
        return decode_write_reply(c.VENUE, what, client_order_id, lambda: orders.decode_ack(env.result))

    async def cancel_order(self, symbol: Symbol, *, order_id: str | None = None,
                           client_order_id: str | None = None) -> Order:
        """Cancel, then report the order as the venue shows it (the cancel is only acknowledged)."""
        ids = self._by_id(symbol, order_id, client_order_id)
        body = {"category": c.CATEGORY, "symbol": c.SPELLING.venue(symbol), **dict(ids)}
        env = await self._signed("POST", c.CANCEL_ORDER, body=body, client_order_id=client_order_id,
                                 priority=Priority.ORDER)
        ack = self._ack(env, "POST cancel", client_order_id)
        return await self.get_order(symbol, order_id=ack.orderId or order_id,
                                    client_order_id=ack.orderLinkId or client_order_id)

    async def get_order(self, symbol: Symbol, *, order_id: str | None = None,
                        client_order_id: str | None = None) -> Order:
        """One order by id: the open and recent orders first, then the history."""
        params = [("category", c.CATEGORY), ("symbol", c.SPELLING.venue(symbol)),
                  *self._by_id(symbol, order_id, client_order_id)]
        for path in (c.OPEN_ORDERS, c.ORDER_HISTORY):
            env = await self._signed("GET", path, params=params, priority=Priority.ORDER)
            rows = orders.decode_orders(env.result).items
            if rows:
                return orders.to_order(rows[0], symbol)
        raise OrderNotFoundError(c.VENUE, f"{symbol} order {order_id or client_order_id} not found")

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        """Every open spot order (of `symbol`, or of every symbol), following the page cursor."""
        params: list[tuple[str, str]] = [("category", c.CATEGORY), ("openOnly", "0"),
                                         ("limit", str(c.ORDERS_PAGE_MAX))]
        if symbol is not None:
            params.insert(1, ("symbol", c.SPELLING.venue(symbol)))
        out: list[Order] = []
        cursor = ""
        for _ in range(MAX_PAGES):
            page_params = [*params, ("cursor", cursor)] if cursor else params
            page = orders.decode_orders((await self._signed("GET", c.OPEN_ORDERS, params=page_params)).result)
            for m in page.items:
                pair = symbol or common_symbol(c.SPELLING, m.symbol)
                if pair is None:  # a quote asset arb does not know: not a pair arb trades
                    log.warning("%s open order %s on %s skipped: its quote asset is unknown",
                                self.venue, m.orderId, m.symbol)
                    continue
                out.append(orders.to_order(m, pair))
            if not page.nextPageCursor or page.nextPageCursor == cursor or not page.items:
                break
            cursor = page.nextPageCursor
        return out

    # ------------------------------------------------------------------ account

    async def balances(self) -> dict[str, AssetBalance]:
        env = await self._signed("GET", c.WALLET, params=[("accountType", c.ACCOUNT_TYPE)])
        return orders.decode_wallet(env.result)

    async def account_info(self) -> AccountInfo:
        return AccountInfo(self.venue, await self.balances(), ts_event=self._clock())

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Every coin's deposit / withdrawal status (signed ``GET /v5/asset/coin/query-info``): open
        one way when any of its chains is."""
        env = await self._signed("GET", c.COIN_INFO)
        return orders.decode_coins(env.result)

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        """Our latest fills on `symbol` (the last 7 days; at most 100 rows), with their orderLinkId."""
        params = [("category", c.CATEGORY), ("symbol", c.SPELLING.venue(symbol)),
                  ("limit", str(max(1, min(limit, c.EXECUTIONS_MAX))))]
        env = await self._signed("GET", c.EXECUTIONS, params=params)
        return orders.decode_executions(env.result, symbol, self._clock())

    async def trading_fees(self, symbol: Symbol) -> TradingFee:
        env = await self._signed("GET", c.FEE_RATE, params=[("category", c.CATEGORY),
                                                            ("symbol", c.SPELLING.venue(symbol))])
        return orders.decode_fee_rate(env.result, symbol)

    async def close(self) -> None:
        await self.rest.close()
