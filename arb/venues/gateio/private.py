"""Gate.io REST orders and account (`PrivateExchangeInterface`) on a signed `RestClient`.

Orders go to ``POST /spot/orders`` as JSON and come back as the full Order (HTTP 201), so
`place_order` returns the venue's state at once (an IOC is final). Query and cancel use the ``t-``
text in place of ``{order_id}``. Client ids: Gate wants ``t-`` + up to 28 of ``[0-9A-Za-z_.-]``;
`wire_text` derives that deterministically from the caller's id (the executor already passes
``t-…``), and the caller's id is what every returned `Order` carries. A market buy is sized in
quote on Gate, so it needs a `price` (the expected worst price) to turn the base quantity into quote.
Signing uses venue time from a `ServerClock` (refreshed from ``/spot/time``; a ``REQUEST_EXPIRED``
invalidates it). Writes are never retried: a timeout or 5xx raises `OrderOutcomeUnknownError`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from decimal import ROUND_DOWN, Decimal
from types import MappingProxyType
from typing import Any, Final

import msgspec

from arb.config import TRADING_PRESET, RequestConfig
from arb.errors import InvalidOrderError, TimestampError
from arb.model import (
    AccountInfo,
    AssetBalance,
    Fill,
    Order,
    OrderType,
    Side,
    Symbol,
    SymbolInfo,
    TimeInForce,
    TradingFee,
)
from arb.net.contract import Params
from arb.net.ratelimit import Priority
from arb.net.rest import RestClient, decode_write_reply
from arb.venues.base import PrivateExchangeInterface, RestBacked
from arb.venues.clock import ServerClock
from arb.venues.gateio import codec, orders
from arb.venues.gateio import constants as c

TEXT_RULE: Final = re.compile(c.CLIENT_ID_CHARS)
BODY_RULE: Final = re.compile(r"^[0-9A-Za-z_.-]+$")
HASH_CHARS: Final = 8
REMEMBERED_IDS: Final = 10_000  # caller ids kept for replies that carry only the wire text
ORDER_DRAWS: Final = MappingProxyType({"orders": 1})
CANCEL_DRAWS: Final = MappingProxyType({"cancels": 1})
PRIVATE_DRAWS: Final = MappingProxyType({"private": 1})
PUBLIC_DRAWS: Final = MappingProxyType({"public": 1})


def wire_text(client_order_id: str) -> str:
    """The ``text`` Gate gets for a caller's client id; deterministic and always valid.

    A valid ``t-…`` id is sent as is; a short id of allowed characters gets the ``t-`` prefix; any
    other id keeps a readable head (bad characters as ``_``) and ends in a hash of the whole id, so
    distinct long ids stay distinct within the 28 bytes.
    """
    if TEXT_RULE.match(client_order_id):
        return client_order_id
    if len(client_order_id) <= c.CLIENT_ID_MAX_BYTES and BODY_RULE.match(client_order_id):
        return c.CLIENT_ID_PREFIX + client_order_id
    digest = hashlib.sha256(client_order_id.encode()).hexdigest()[:HASH_CHARS]
    head = re.sub(r"[^0-9A-Za-z_.-]", "_", client_order_id)[: c.CLIENT_ID_MAX_BYTES - HASH_CHARS - 1]
    return f"{c.CLIENT_ID_PREFIX}{head}.{digest}"


class GatePrivate(RestBacked, PrivateExchangeInterface):
    """Signed order and account calls (the RestClient must carry a `GateSigner`).

    Parameters
    ----------
    server_clock:
        The clock the RestClient signs with (``clock_ms=server_clock.now_ms``); synced from
        ``/spot/time`` before signed calls when due. None: the RestClient's own clock is trusted.
    symbols:
        Tick and step per symbol; prices and quantities are checked against them (never rounded
        here: the executor rounds) and printed on their grid.
    """

    venue = c.VENUE

    def __init__(self, rest: RestClient, *, kind: RequestConfig = TRADING_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns, server_clock: ServerClock | None = None,
                 symbols: Mapping[Symbol, SymbolInfo] | None = None,
                 on_fill: Callable[[Fill], None] | None = None) -> None:
        del on_fill  # accepted for a uniform constructor: these replies carry no fills (see my_trades)
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns
        self.server_clock = server_clock
        self._symbols = symbols or {}
        self._callers: OrderedDict[str, str] = OrderedDict()  # wire text -> caller's id, when they differ

    # ------------------------------------------------------------------ plumbing

    def _pair(self, symbol: Symbol) -> str:
        return c.SPELLING.venue(symbol)

    def _text(self, client_order_id: str) -> str:
        text = wire_text(client_order_id)
        if text != client_order_id:
            self._callers[text] = client_order_id
            self._callers.move_to_end(text)
            while len(self._callers) > REMEMBERED_IDS:
                self._callers.popitem(last=False)
        return text

    def caller_id(self, text: str) -> str:
        """The client id a caller gave for the wire ``text`` (the user stream reports the text)."""
        return self._callers.get(text, text)

    async def _server_ms(self) -> int:
        body = await self.rest.request("GET", c.TIME, kind=self._kind, draws=PUBLIC_DRAWS)
        return codec.decode_time(body)

    async def _signed(self, method: str, path: str, *, params: Params = (), body: bytes = b"",
                      draws: Mapping[str, int] = PRIVATE_DRAWS, priority: Priority = Priority.NORMAL,
                      client_order_id: str | None = None, endpoint: str | None = None) -> bytes:
        if self.server_clock is not None:
            await self.server_clock.sync(self._server_ms)
        try:
            payload: bytes = await self.rest.request(
                method, path, kind=self._kind, params=params, body=body, signed=True, draws=draws,
                priority=priority, client_order_id=client_order_id, endpoint=endpoint)
        except TimestampError:
            if self.server_clock is not None:
                self.server_clock.invalidate()  # measure again before the next signed call
            raise
        return payload

    def _format(self, value: Decimal, grid: Decimal | None, what: str) -> str:
        """`value` printed on its grid; off the grid is refused here rather than by the venue."""
        if grid:
            on_grid = value.quantize(grid, rounding=ROUND_DOWN)
            if on_grid != value:
                raise InvalidOrderError(self.venue, f"{what} {value} is not a multiple of {grid}")
            return format(on_grid, "f")
        return format(value.normalize(), "f") if value else "0"

    # ------------------------------------------------------------------ orders

    def order_body(self, symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal, text: str,
                   price: Decimal | None, time_in_force: TimeInForce) -> dict[str, Any]:
        """The JSON body of ``POST /spot/orders`` (public for tests)."""
        info = self._symbols.get(symbol)
        tick = info.tick_size if info else None
        step = info.step_size if info else None
        body: dict[str, Any] = {"text": text, "currency_pair": self._pair(symbol), "account": "spot",
                                "side": "buy" if side is Side.BUY else "sell"}
        if order_type is OrderType.MARKET:
            if time_in_force not in (TimeInForce.IOC, TimeInForce.FOK):
                time_in_force = TimeInForce.IOC  # market orders are ioc or fok on Gate
            if side is Side.BUY:
                if price is None:
                    raise InvalidOrderError(self.venue, "gate sizes a market buy in quote: pass a price")
                quote = quantity * price
                quote = quote.quantize(tick, rounding=ROUND_DOWN) if tick else quote
                amount = format(quote.normalize(), "f")
            else:
                amount = self._format(quantity, step, "quantity")
            body |= {"type": "market", "amount": amount, "time_in_force": c.TIME_IN_FORCE[time_in_force]}
            return body
        if price is None:
            raise InvalidOrderError(self.venue, "a limit order needs a price")
        tif = c.POST_ONLY if order_type is OrderType.LIMIT_MAKER else c.TIME_IN_FORCE[time_in_force]
        body |= {"type": "limit", "amount": self._format(quantity, step, "quantity"),
                 "price": self._format(price, tick, "price"), "time_in_force": tif}
        return body

    async def place_order(self, symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal,
                          client_order_id: str, price: Decimal | None = None,
                          time_in_force: TimeInForce = TimeInForce.GTC) -> Order:
        text = self._text(client_order_id)
        body = msgspec.json.encode(self.order_body(symbol, side, order_type, quantity, text, price,
                                                   time_in_force))
        reply = await self._signed("POST", c.ORDERS, body=body, draws=ORDER_DRAWS, priority=Priority.ORDER,
                                   client_order_id=client_order_id)
        return decode_write_reply(self.venue, "POST order", client_order_id,
                                  lambda: orders.to_order(orders.decode_order(reply), symbol, client_order_id,
                                                         quantity))

    def _order_path(self, order_id: str | None, client_order_id: str | None) -> str:
        ref = order_id if order_id is not None else (
            self._text(client_order_id) if client_order_id is not None else None)
        if not ref or not BODY_RULE.match(ref):
            raise InvalidOrderError(self.venue, f"no usable order id or client order id ({ref!r})")
        return c.ORDER.format(order_id=ref)

    async def cancel_order(self, symbol: Symbol, *, order_id: str | None = None,
                           client_order_id: str | None = None) -> Order:
        reply = await self._signed("DELETE", self._order_path(order_id, client_order_id),
                                   params=[("currency_pair", self._pair(symbol))], draws=CANCEL_DRAWS,
                                   priority=Priority.ORDER, client_order_id=client_order_id,
                                   endpoint=c.ORDER)
        return decode_write_reply(self.venue, "DELETE order", client_order_id,
                                  lambda: self._order_reply(reply, symbol, client_order_id))

    def _order_reply(self, reply: bytes, symbol: Symbol, client_order_id: str | None) -> Order:
        msg = orders.decode_order(reply)
        return orders.to_order(msg, symbol, client_order_id or self.caller_id(msg.text))

    async def get_order(self, symbol: Symbol, *, order_id: str | None = None,
                        client_order_id: str | None = None) -> Order:
        reply = await self._signed("GET", self._order_path(order_id, client_order_id),
                                   params=[("currency_pair", self._pair(symbol))], priority=Priority.ORDER,
                                   endpoint=c.ORDER)
        return self._order_reply(reply, symbol, client_order_id)

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        """Every open order (all pages); of one pair, or of all pairs when `symbol` is None."""
        out: list[Order] = []
        limit = c.OPEN_ORDERS_PAGE
        for page in range(1, 1_000):
            paging = [("page", str(page)), ("limit", str(limit))]
            if symbol is not None:
                params = [("currency_pair", self._pair(symbol)), ("status", "open"), *paging]
                rows = orders.decode_orders(await self._signed("GET", c.ORDERS, params=params))
                out += [orders.to_order(m, symbol, self.caller_id(m.text)) for m in rows]
                more = len(rows) == limit
            else:
                groups = orders.decode_open_orders(await self._signed("GET", c.OPEN_ORDERS, params=paging))
                for group in groups:
                    pair = c.SPELLING.common(group.currency_pair)
                    out += [orders.to_order(m, pair, self.caller_id(m.text)) for m in group.orders]
                more = any(len(g.orders) == limit for g in groups)
            if not more:
                break
        return out

    # ------------------------------------------------------------------ account

    async def balances(self) -> dict[str, AssetBalance]:
        return orders.decode_accounts(await self._signed("GET", c.ACCOUNTS))

    async def account_info(self) -> AccountInfo:
        return AccountInfo(self.venue, await self.balances(), ts_event=self._clock())

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        """Our latest fills on `symbol` (Gate's default window: the last 7 days), newest first."""
        params = [("currency_pair", self._pair(symbol)), ("limit", str(max(1, min(limit, c.MY_TRADES_MAX))))]
        rows = orders.decode_my_trades(await self._signed("GET", c.MY_TRADES, params=params))
        now = self._clock()
        return [orders.to_fill(m, symbol, now, self.caller_id(m.text) if m.text else None) for m in rows]

    async def trading_fees(self, symbol: Symbol) -> TradingFee:
        reply = await self._signed("GET", c.FEE, params=[("currency_pair", self._pair(symbol))])
        return orders.decode_fee(reply, symbol)

    async def close(self) -> None:
        await self.rest.close()
