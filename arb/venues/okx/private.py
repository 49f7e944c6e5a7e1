"""OKX REST orders and account (`PrivateExchangeInterface`) on a signed `RestClient`.

Orders go to ``POST /api/v5/trade/order`` as JSON (``tdMode`` cash; IOC, FOK and post-only are
``ordType`` values; a market order is sized in base with ``tgtCcy`` base_ccy). The reply only
acknowledges (``sCode`` "0" with the ``ordId``), so `place_order` returns the order NEW and its fate
comes from the ``orders`` channel or a query. A cancel is also only accepted, so `cancel_order`
queries the order after the ack and returns what the venue then says.

Client ids (``clOrdId``) are 1-32 letters and digits: `wire_id` derives a valid one from any caller
id, deterministically (a valid id is sent as is), and every returned `Order` carries the caller's
id. Signing uses venue time from a `ServerClock` (synced from ``/public/time``; a 50102 invalidates
it). Write outcomes are classified by HTTP status and by the code table: a transport failure, a 5xx
or an "outcome unknown" code (50001, 50004, 50013, 50026, 51054, 51149, 51412) raises
`OrderOutcomeUnknownError`; writes are never retried.

Minimum order amount: OKX publishes ``minSz`` but no minimum notional, yet answers ``51020`` ("should
meet or exceed the minimum order amount") [UNVERIFIED floor, fact sheet open question 2]. A 51020 is
a symbol rule learned late: the refusal stays an `InvalidOrderError`, and the symbol's known minimum
(`min_notional`) rises to `FLOOR_RAISE` times the refused order's value, so a smaller limit order is
refused here without a request (the error names the floor and where it came from).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final, TypeVar

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
from arb.venues.base import PrivateExchangeInterface, RestBacked
from arb.venues.clock import ServerClock
from arb.venues.okx import codec, orders
from arb.venues.okx import constants as c
from arb.venues.okx.public import decoded

T = TypeVar("T")
log = logging.getLogger(__name__)
HASH_CHARS: Final = 8
REMEMBERED_IDS: Final = 10_000  # caller ids kept for pushes and rows that carry only the wire id
_NOT_ALNUM: Final = re.compile(r"[^0-9A-Za-z]")


def wire_id(client_order_id: str) -> str:
    """The ``clOrdId`` OKX gets for a caller's client id; deterministic and always valid.

    A valid id (1-32 letters/digits) is sent as is; any other keeps its letters and digits (at most
    24) and ends in 8 hex digits of a hash of the whole id, so distinct ids stay distinct.
    """
    if c.CLIENT_ID_RULE.match(client_order_id):
        return client_order_id
    digest = hashlib.sha256(client_order_id.encode()).hexdigest()[:HASH_CHARS]
    head = _NOT_ALNUM.sub("", client_order_id)[: c.CLIENT_ID_MAX_LENGTH - HASH_CHARS]
    return head + digest


def plain(value: Decimal) -> str:
    """An exact decimal without exponent (the executor already rounded it to tick / step)."""
    return format(value, "f")


class OkxPrivate(RestBacked, PrivateExchangeInterface):
    """Signed order and account calls (the RestClient must carry an `OkxSigner`).

    Parameters
    ----------
    server_clock:
        The clock the RestClient signs with (``clock_ms=server_clock.now_ms``); synced from
        ``/public/time`` before signed calls when due. None: the RestClient's own clock is trusted.
    """

    venue = c.VENUE

    def __init__(self, rest: RestClient, *, kind: RequestConfig = TRADING_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns, server_clock: ServerClock | None = None,
                 on_fill: Callable[[Fill], None] | None = None) -> None:
        del on_fill  # accepted for a uniform constructor: OKX replies carry no fills (see my_trades)
        self.rest = rest
        self._kind = kind
        self._clock = clock_ns
        self.server_clock = server_clock
        self._callers: OrderedDict[str, str] = OrderedDict()  # wire id -> caller's id, when they differ
        self._floors: dict[Symbol, Decimal] = {}  # minimum order value learned from 51020 refusals

    # ------------------------------------------------------------------ plumbing

    def _wire(self, client_order_id: str) -> str:
        wire = wire_id(client_order_id)
        if wire != client_order_id:
            self._callers[wire] = client_order_id
            self._callers.move_to_end(wire)
            while len(self._callers) > REMEMBERED_IDS:
                self._callers.popitem(last=False)
        return wire

    def caller_id(self, wire: str) -> str:
        """The client id a caller gave for the wire ``clOrdId`` (pushes and rows report the wire id)."""
        return self._callers.get(wire, wire)

    async def _server_ms(self) -> int:
        body = await self.rest.request("GET", c.TIME, kind=self._kind, draws=c.DRAWS[c.TIME])
        return decoded(self.rest, body, codec.decode_time)

    async def _signed(self, method: str, path: str, decode: Callable[[bytes], T], *, params: Params = (),
                      body: bytes = b"", draws: Mapping[str, int] | None = None,
                      priority: Priority = Priority.NORMAL, client_order_id: str | None = None) -> T:
        """One signed call at venue time, decoded by `decode` (the envelope's code checked there)."""
        if self.server_clock is not None:
            await self.server_clock.sync(self._server_ms)
        try:
            reply: bytes = await self.rest.request(
                method, path, kind=self._kind, params=params, body=body, signed=True,
                draws=c.DRAWS[path] if draws is None else draws, priority=priority,
                client_order_id=client_order_id)
            return decoded(self.rest, reply, decode)
        except TimestampError:
            if self.server_clock is not None:
                self.server_clock.invalidate()  # measure again before the next signed call
            raise

    def _ref(self, order_id: str | None, client_order_id: str | None) -> tuple[str, str]:
        if order_id:
            return ("ordId", order_id)
        if client_order_id:
            return ("clOrdId", self._wire(client_order_id))
        raise InvalidOrderError(self.venue, "an order id or a client order id is needed")

    # ------------------------------------------------------------------ orders

    def order_body(self, symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal, wire: str,
                   price: Decimal | None, time_in_force: TimeInForce) -> dict[str, str]:
        """The JSON body of ``POST /trade/order`` (public for tests)."""
        body = {"instId": codec.inst_id(symbol), "tdMode": c.TD_MODE, "clOrdId": wire,
                "side": "buy" if side is Side.BUY else "sell"}
        if order_type is OrderType.MARKET:
            return body | {"ordType": c.MARKET, "sz": plain(quantity), "tgtCcy": c.BASE_CCY}
        if price is None:
            raise InvalidOrderError(self.venue, "a limit order needs a price")
        ord_type = c.POST_ONLY if order_type is OrderType.LIMIT_MAKER else c.LIMIT_ORD_TYPES[time_in_force]
        return body | {"ordType": ord_type, "px": plain(price), "sz": plain(quantity)}

    def min_notional(self, symbol: Symbol) -> Decimal:
        """The symbol's minimum order value (quote) learned from 51020 refusals; 0 before any."""
        return self._floors.get(symbol, Decimal(0))

    def _refuse_below_floor(self, symbol: Symbol, value: Decimal | None) -> None:
        floor = self._floors.get(symbol)
        if value is not None and floor is not None and value < floor:
            raise InvalidOrderError(
                self.venue, f"{symbol} order worth {value.normalize():f} {symbol.quote} is under the minimum "
                f"order amount OKX enforces ({floor.normalize():f}, learned from a {c.MIN_AMOUNT_CODE} "
                "refusal); not sent", api_code=c.MIN_AMOUNT_CODE)

    def _learn_floor(self, symbol: Symbol, value: Decimal | None) -> None:
        if value is None:  # a market order sized in base: its value is not known here
            return
        floor = max(self._floors.get(symbol, Decimal(0)), value * c.FLOOR_RAISE)
        self._floors[symbol] = floor
        log.warning("%s %s: %s refused an order worth %s %s (no minimum notional is published); orders "
                    "under %s are now refused before sending", self.venue, symbol, c.MIN_AMOUNT_CODE,
                    value.normalize(), symbol.quote, floor.normalize())

    async def place_order(self, symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal,
                          client_order_id: str, price: Decimal | None = None,
                          time_in_force: TimeInForce = TimeInForce.GTC) -> Order:
        value = quantity * price if price is not None and order_type is not OrderType.MARKET else None
        self._refuse_below_floor(symbol, value)
        wire = self._wire(client_order_id)
        body = msgspec.json.encode(self.order_body(symbol, side, order_type, quantity, wire, price,
                                                   time_in_force))

        def ack(reply: bytes) -> codec.ItemMsg:
            return decode_write_reply(self.venue, "POST order", client_order_id,
                                      lambda: orders.decode_ack(reply, client_order_id))

        try:
            item = await self._signed("POST", c.ORDER, ack, body=body, draws=c.PLACE_DRAWS,
                                      priority=Priority.ORDER, client_order_id=client_order_id)
        except InvalidOrderError as exc:
            if exc.api_code == c.MIN_AMOUNT_CODE:
                self._learn_floor(symbol, value)
            raise
        now = self._clock()
        return Order(venue=self.venue, symbol=symbol, client_order_id=client_order_id, side=side,
                     type=order_type, quantity=quantity, price=price,
                     time_in_force=TimeInForce.IOC if order_type is OrderType.MARKET else time_in_force,
                     order_id=item.ordId or None, ts_created=codec.ms_ns(item.ts) or now, ts_updated=now,
                     status=OrderStatus.NEW)

    async def cancel_order(self, symbol: Symbol, *, order_id: str | None = None,
                           client_order_id: str | None = None) -> Order:
        """Cancel, then query: OKX's ``sCode`` "0" only says the cancel was accepted."""
        key, ref = self._ref(order_id, client_order_id)
        body = msgspec.json.encode({"instId": codec.inst_id(symbol), key: ref})

        def ack(reply: bytes) -> codec.ItemMsg:
            return decode_write_reply(self.venue, "cancel order", client_order_id,
                                      lambda: orders.decode_ack(reply, client_order_id))

        item = await self._signed("POST", c.CANCEL, ack, body=body, priority=Priority.ORDER,
                                  client_order_id=client_order_id)
        return await self.get_order(symbol, order_id=item.ordId or order_id, client_order_id=client_order_id)

    async def get_order(self, symbol: Symbol, *, order_id: str | None = None,
                        client_order_id: str | None = None) -> Order:
        params = [("instId", codec.inst_id(symbol)), self._ref(order_id, client_order_id)]
        rows = await self._signed("GET", c.ORDER, orders.decode_orders, params=params, draws=c.QUERY_DRAWS,
                                  priority=Priority.ORDER)
        if not rows:
            raise OrderNotFoundError(self.venue, f"no order {params[1][1]} on {symbol}")
        return orders.to_order(rows[0], symbol, client_order_id or self.caller_id(rows[0].clOrdId))

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        """Every pending spot order (all pages), of one symbol or of all."""
        base: list[tuple[str, str]] = [("instType", c.INST_TYPE)]
        if symbol is not None:
            base.append(("instId", codec.inst_id(symbol)))
        out: list[Order] = []
        after: str | None = None
        for _ in range(c.PAGES_MAX):
            params = [*base, ("limit", str(c.PAGE_MAX))] + ([("after", after)] if after else [])
            rows = await self._signed("GET", c.ORDERS_PENDING, orders.decode_orders, params=params)
            out += [orders.to_order(m, symbol, self.caller_id(m.clOrdId) if m.clOrdId else None)
                    for m in rows]
            if len(rows) < c.PAGE_MAX:
                break
            after = rows[-1].ordId
        return out

    # ------------------------------------------------------------------ account

    async def balances(self) -> dict[str, AssetBalance]:
        return await self._signed("GET", c.BALANCE, orders.decode_balances)

    async def account_info(self) -> AccountInfo:
        return AccountInfo(self.venue, await self.balances(), ts_event=self._clock())

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Every currency's deposit / withdrawal status (signed ``GET /api/v5/asset/currencies``, 6
        requests/s): open one way when any of its chains is."""
        return await self._signed("GET", c.CURRENCIES, orders.decode_currencies)

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        """Our fills on `symbol` of the last 3 days (``/trade/fills``), newest first, at most 100."""
        params = [("instType", c.INST_TYPE), ("instId", codec.inst_id(symbol)),
                  ("limit", str(max(1, min(limit, c.PAGE_MAX))))]
        rows = await self._signed("GET", c.FILLS, orders.decode_fills, params=params)
        now = self._clock()
        return [orders.to_fill(m, symbol, now, self.caller_id(m.clOrdId) if m.clOrdId else None)
                for m in rows]

    async def trading_fees(self, symbol: Symbol) -> TradingFee:
        params = [("instType", c.INST_TYPE), ("instId", codec.inst_id(symbol))]
        return await self._signed("GET", c.TRADE_FEE, lambda b: orders.decode_fee(b, symbol), params=params)

    async def close(self) -> None:
        await self.rest.close()
