"""Binance REST orders and account (`PrivateExchangeInterface`) on a signed `RestClient`.

Orders are placed with ``newOrderRespType=FULL``, so the response carries the fills; they are
handed to `on_fill` (the engine's order tracker) as they arrive. Writes are never retried: a
timeout or 5xx raises `OrderOutcomeUnknownError` with the client order id (see `arb.net.rest`).
Not yet: account_info beyond balances.
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
from arb.venues.binance import codec, orders
from arb.venues.binance import constants as c
from arb.venues.clock import ServerClock

ORDER_DRAWS = MappingProxyType({"weight": 1, "orders": 1, "orders_day": 1})
MY_TRADES_MAX = 1000
TIME_DRAWS = MappingProxyType({"weight": c.WEIGHTS[c.TIME]})


class BinancePrivate(RestBacked, PrivateExchangeInterface):
    """Signed order and account calls (the RestClient must carry a signer)."""

    venue = c.VENUE

    def __init__(self, rest: RestClient, *, kind: RequestConfig = TRADING_PRESET,
                 on_fill: Callable[[Fill], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 server_clock: ServerClock | None = None) -> None:
        self.rest = rest
        self._kind = kind
        self._on_fill = on_fill
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
        params = [("symbol", self._sym(symbol)), ("side", side.name), ("type", order_type.name),
                  ("quantity", format(quantity, "f"))]
        if order_type is not OrderType.MARKET:
            params += [("timeInForce", time_in_force.name), ("price", format(price or Decimal(0), "f"))]
        params += [("newClientOrderId", client_order_id), ("newOrderRespType", "FULL")]
        body = await self._request("POST", c.ORDER, kind=self._kind, params=params, signed=True,
                                    draws=ORDER_DRAWS, priority=Priority.ORDER,
                                    client_order_id=client_order_id)
        msg, order = decode_write_reply(self.venue, "POST order", client_order_id,
                                        lambda: self._order_reply(body, symbol))
        if self._on_fill is not None:
            for fill in orders.to_fills(msg, symbol, self._clock()):
                self._on_fill(fill)
        return order

    @staticmethod
    def _order_reply(body: bytes, symbol: Symbol) -> tuple[orders.OrderResp, Order]:
        msg = orders.decode_order(body)
        return msg, orders.to_order(msg, symbol)

    async def _by_id(self, method: str, symbol: Symbol, order_id: str | None,
                     client_order_id: str | None, weight: int) -> Order:
        params = [("symbol", self._sym(symbol))]
        if order_id is not None:
            params.append(("orderId", order_id))
        else:
            params.append(("origClientOrderId", client_order_id or ""))
        body = await self._request(method, c.ORDER, kind=self._kind, params=params, signed=True,
                                    draws={"weight": weight}, priority=Priority.ORDER,
                                    idempotent=method == "GET", client_order_id=client_order_id)
        if method == "GET":
            return orders.to_order(orders.decode_order(body), symbol)
        return decode_write_reply(self.venue, f"{method} order", client_order_id,
                                  lambda: orders.to_order(orders.decode_order(body), symbol))

    async def cancel_order(self, symbol: Symbol, *, order_id: str | None = None,
                           client_order_id: str | None = None) -> Order:
        return await self._by_id("DELETE", symbol, order_id, client_order_id, 1)

    async def get_order(self, symbol: Symbol, *, order_id: str | None = None,
                        client_order_id: str | None = None) -> Order:
        return await self._by_id("GET", symbol, order_id, client_order_id, c.QUERY_ORDER_WEIGHT)

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        if symbol is None:
            raise NotImplementedError("binance open orders across all symbols: pass a symbol")
        body = await self._request("GET", c.OPEN_ORDERS, kind=self._kind, signed=True,
                                    params=[("symbol", self._sym(symbol))], draws={"weight": 6})
        return [orders.to_order(m, symbol) for m in orders.decode_orders(body)]

    async def balances(self) -> dict[str, AssetBalance]:
        body = await self._request("GET", c.ACCOUNT, kind=self._kind, signed=True,
                                    draws={"weight": c.WEIGHTS[c.ACCOUNT]})
        balances = orders.decode_account(body).balances
        named = ((c.SPELLING.asset(b.asset), b) for b in balances)
        return {asset: AssetBalance(asset, b.free, b.locked) for asset, b in named}

    async def account_info(self) -> AccountInfo:
        return AccountInfo(self.venue, await self.balances(), ts_event=self._clock())

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        """Our latest fills on `symbol`. Binance rows carry no client order id: callers match on
        ``order_id``."""
        params = [("symbol", self._sym(symbol)), ("limit", str(max(1, min(limit, MY_TRADES_MAX))))]
        body = await self._request("GET", c.MY_TRADES, kind=self._kind, signed=True, params=params,
                                   draws={"weight": c.WEIGHTS[c.MY_TRADES]})
        return orders.decode_my_trades(body, symbol, self._clock())

    async def trading_fees(self, symbol: Symbol) -> TradingFee:
        body = await self._request("GET", c.COMMISSION, kind=self._kind, signed=True,
                                   params=[("symbol", self._sym(symbol))],
                                   draws={"weight": c.WEIGHTS[c.COMMISSION]})
        return orders.decode_commission(body, symbol)

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Every coin's deposit / withdrawal status (signed ``GET {c.CAPITAL_CONFIG}``, weight 10): an
        asset is open one way when any of its networks is."""
        body = await self._request("GET", c.CAPITAL_CONFIG, kind=self._kind, signed=True,
                                   draws={"weight": c.WEIGHTS[c.CAPITAL_CONFIG]})
        return decode_coins(body, c.VENUE, c.SPELLING)

    async def close(self) -> None:
        await self.rest.close()
