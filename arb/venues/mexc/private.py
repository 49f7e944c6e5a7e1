"""MEXC REST orders and account (`PrivateExchangeInterface`) on a signed `RestClient`.

MEXC acknowledges an order without status or fills, so `place_order` returns it as NEW with the
exchange id; the executor (or the user stream, once wired) learns the outcome by query. IOC and FOK
are order *types* on MEXC (IMMEDIATE_OR_CANCEL, FILL_OR_KILL), not a timeInForce.
Not yet: the user stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from arb.config import TRADING_PRESET, RequestConfig
from arb.errors import TimestampError
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
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient, decode_write_reply
from arb.venues.apiv3 import decode_coins
from arb.venues.base import PrivateExchangeInterface, RestBacked
from arb.venues.clock import ServerClock
from arb.venues.mexc import codec, orders
from arb.venues.mexc import constants as c

MS = 1_000_000
MY_TRADES_MAX = 100
TIME_DRAWS = MappingProxyType({"ip": c.WEIGHTS[c.TIME]})


def _wire_type(order_type: OrderType, tif: TimeInForce) -> str:
    if order_type is OrderType.LIMIT and tif is TimeInForce.IOC:
        return "IMMEDIATE_OR_CANCEL"
    if order_type is OrderType.LIMIT and tif is TimeInForce.FOK:
        return "FILL_OR_KILL"
    return order_type.name


class MexcPrivate(RestBacked, PrivateExchangeInterface):
    """Signed order and account calls (the RestClient must carry a signer)."""

    venue = c.VENUE

    def __init__(self, rest: RestClient, *, kind: RequestConfig = TRADING_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns,
                 server_clock: ServerClock | None = None,
                 on_fill: Callable[[Fill], None] | None = None) -> None:
        del on_fill  # accepted for a uniform constructor: these replies carry no fills (see my_trades)
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns
        self.server_clock = server_clock

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """A signed call at venue time: the `ServerClock` is synced first when due, dropped on a
        rejected timestamp."""
        if self.server_clock is not None:
            await self.server_clock.sync(self._server_ms)
        try:
            return await self.rest.request(method, path, **kwargs)
        except TimestampError:
            if self.server_clock is not None:
                self.server_clock.invalidate()
            raise

    async def _server_ms(self) -> int:
        return codec.decode_time(await self.rest.request("GET", c.TIME, kind=self._kind, draws=TIME_DRAWS))

    def _sym(self, symbol: Symbol) -> str:
        return c.SPELLING.venue(symbol)

    async def place_order(self, symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal,
                          client_order_id: str, price: Decimal | None = None,
                          time_in_force: TimeInForce = TimeInForce.GTC) -> Order:
        params = [("symbol", self._sym(symbol)), ("side", side.name),
                  ("type", _wire_type(order_type, time_in_force)), ("quantity", format(quantity, "f"))]
        if order_type is not OrderType.MARKET:
            params.append(("price", format(price or Decimal(0), "f")))
        params.append(("newClientOrderId", client_order_id))
        body = await self._request("POST", c.ORDER, kind=self._kind, params=params, signed=True,
                                    draws={"uid": 1}, priority=Priority.ORDER,
                                    client_order_id=client_order_id)
        ack = decode_write_reply(self.venue, "POST order", client_order_id, lambda: orders.decode_ack(body))
        now = self._clock()
        return Order(venue=c.VENUE, symbol=symbol, client_order_id=client_order_id, side=side,
                     type=order_type, quantity=quantity, price=price, time_in_force=time_in_force,
                     order_id=ack.orderId, status=OrderStatus.NEW, ts_created=ack.transactTime * MS or now,
                     ts_updated=now)

    async def _by_id(self, method: str, symbol: Symbol, order_id: str | None,
                     client_order_id: str | None) -> Order:
        params = [("symbol", self._sym(symbol))]
        if order_id is not None:
            params.append(("orderId", order_id))
        else:
            params.append(("origClientOrderId", client_order_id or ""))
        body = await self._request(method, c.ORDER, kind=self._kind, params=params, signed=True,
                                    draws={"uid": c.QUERY_ORDER_WEIGHT}, priority=Priority.ORDER,
                                    idempotent=method == "GET", client_order_id=client_order_id)
        if method == "GET":
            return orders.to_order(orders.decode_order(body), symbol, client_order_id)
        return decode_write_reply(self.venue, f"{method} order", client_order_id,
                                  lambda: orders.to_order(orders.decode_order(body), symbol, client_order_id))

    async def cancel_order(self, symbol: Symbol, *, order_id: str | None = None,
                           client_order_id: str | None = None) -> Order:
        return await self._by_id("DELETE", symbol, order_id, client_order_id)

    async def get_order(self, symbol: Symbol, *, order_id: str | None = None,
                        client_order_id: str | None = None) -> Order:
        return await self._by_id("GET", symbol, order_id, client_order_id)

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        if symbol is None:
            raise NotImplementedError("mexc open orders need a symbol")
        body = await self._request("GET", c.OPEN_ORDERS, kind=self._kind, signed=True,
                                    params=[("symbol", self._sym(symbol))],
                                    draws={"uid": c.WEIGHTS[c.OPEN_ORDERS]})
        return [orders.to_order(m, symbol) for m in orders.decode_orders(body)]

    async def balances(self) -> dict[str, AssetBalance]:
        body = await self._request("GET", c.ACCOUNT, kind=self._kind, signed=True,
                                    draws={"uid": c.WEIGHTS[c.ACCOUNT]})
        balances = orders.decode_account(body).balances
        named = ((c.SPELLING.asset(b.asset), b) for b in balances)
        return {asset: AssetBalance(asset, b.free, b.locked) for asset, b in named}

    async def account_info(self) -> AccountInfo:
        return AccountInfo(self.venue, await self.balances(), ts_event=self._clock())

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        """Our latest fills on `symbol` (MEXC keeps a month; at most 100 rows)."""
        params = [("symbol", self._sym(symbol)), ("limit", str(max(1, min(limit, MY_TRADES_MAX))))]
        body = await self._request("GET", c.MY_TRADES, kind=self._kind, signed=True, params=params,
                                   draws={"uid": c.WEIGHTS[c.MY_TRADES]})
        return orders.decode_my_trades(body, symbol, self._clock())

    async def trading_fees(self, symbol: Symbol) -> TradingFee:
        body = await self._request("GET", c.TRADE_FEE, kind=self._kind, signed=True,
                                   params=[("symbol", self._sym(symbol))],
                                   draws={"uid": c.WEIGHTS[c.TRADE_FEE]})
        return orders.decode_trade_fee(body, symbol)

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Every coin's deposit / withdrawal status (signed ``GET {c.CAPITAL_CONFIG}``, weight 10): an
        asset is open one way when any of its networks is."""
        body = await self._request("GET", c.CAPITAL_CONFIG, kind=self._kind, signed=True,
                                   draws={"ip": c.WEIGHTS[c.CAPITAL_CONFIG]})
        return decode_coins(body, c.VENUE, c.SPELLING)

    async def close(self) -> None:
        await self.rest.close()


