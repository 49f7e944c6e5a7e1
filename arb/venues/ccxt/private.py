"""Orders and account of any ccxt exchange (`PrivateExchangeInterface`).

Orders go through ``create_order`` (limit, IOC/FOK via ``timeInForce``, post-only for LIMIT_MAKER)
with the caller's client id as ccxt's unified ``clientOrderId`` (each exchange class spells it its
own way on the wire: Binance ``newClientOrderId``, Gate ``text`` with its ``t-`` prefix, KuCoin
``clientOid``...). Some exchanges report the id as they spelled it (Gate adds ``t-``): the caller's
id is what every returned `Order` carries. Queries and cancels by client id use the exchange id the
order was answered with, else ccxt's ``fetchOrder`` with ``clientOrderId`` (then the order's id for
the cancel). Writes are never retried: anything that leaves the outcome open raises
`OrderOutcomeUnknownError` (see `convert.error`), so the executor resolves it by client id.
Writes never queue behind the reads' rate-limit debt (`exchange.first_in_line`): an IOC leg goes
out when it is placed, its cost paid by the reads after it.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from arb.config import TRADING_PRESET, RequestConfig
from arb.errors import (
    AuthenticationError,
    DecodeError,
    ExchangeError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
)
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
from arb.venues.base import MALFORMED, PrivateExchangeInterface, TransferSource
from arb.venues.ccxt import convert
from arb.venues.ccxt.exchange import first_in_line, transfer_source
from arb.venues.ccxt.public import CcxtConnector

REMEMBERED: Final = 10_000  # orders whose ids and symbols are kept for queries, cancels and pushes
log = logging.getLogger(__name__)


class CcxtPrivate(CcxtConnector, PrivateExchangeInterface):
    """Signed orders and account calls on a ccxt client that carries the venue's keys."""

    def __init__(self, venue: str, client: Any, *, kind: RequestConfig = TRADING_PRESET,
                 clock_ns: Callable[[], int] = time.time_ns,
                 on_fill: Callable[[Fill], None] | None = None) -> None:
        del on_fill  # ccxt's order answers carry no reliable fills: they come from my_trades / the stream
        super().__init__(venue, client, kind, clock_ns)
        self._orders: OrderedDict[str, tuple[str | None, Symbol]] = OrderedDict()  # cid -> (id, symbol)
        self._owners: dict[str, str] = {}  # exchange order id -> caller's client id
        self._callers: dict[str, str] = {}  # client id as the exchange reports it -> caller's
        self._open: dict[str, Symbol] = {}  # caller ids placed and not known final (polled user streams)

    # ------------------------------------------------------------------ client ids

    def _remember(self, cid: str, order: Order, reported: Any) -> None:
        self._orders[cid] = (order.order_id, order.symbol)
        self._orders.move_to_end(cid)
        if order.order_id is not None:
            self._owners[order.order_id] = cid
        if isinstance(reported, str) and reported and reported != cid:
            self._callers[reported] = cid
        if order.status.is_terminal:
            self._open.pop(cid, None)
        else:
            self._open[cid] = order.symbol
        while len(self._orders) > REMEMBERED:
            old, (old_id, _) = self._orders.popitem(last=False)
            self._owners.pop(old_id or "", None)
            self._open.pop(old, None)
        if len(self._callers) > REMEMBERED:
            self._callers.pop(next(iter(self._callers)))

    def caller_id(self, raw: dict[str, Any]) -> str | None:
        """The caller's client id of a ccxt order or trade (by the id it reports, else its order id)."""
        reported = raw.get("clientOrderId")
        if isinstance(reported, str) and reported:
            return self._callers.get(reported, reported)
        owner = raw.get("order") if "order" in raw else raw.get("id")
        return self._owners.get(str(owner)) if owner is not None else None

    def open_client_ids(self) -> dict[str, Symbol]:
        """Orders placed here and not yet seen final (what a polled user stream asks about)."""
        return dict(self._open)

    def to_order(self, symbol: Symbol, raw: dict[str, Any], cid: str | None = None,
                 quantity: Decimal | None = None) -> Order:
        """A ccxt order as arb's, remembered under the caller's client id."""
        caller = cid or self.caller_id(raw) or str(raw.get("clientOrderId") or raw.get("id") or "")
        order = convert.order(self.venue, symbol, raw, caller, self._clock(), quantity)
        self._remember(caller, order, raw.get("clientOrderId"))
        return order

    # ------------------------------------------------------------------ orders

    async def place_order(self, symbol: Symbol, side: Side, order_type: OrderType, quantity: Decimal,
                          client_order_id: str, price: Decimal | None = None,
                          time_in_force: TimeInForce = TimeInForce.GTC) -> Order:
        market = await self.market(symbol)  # a failure here is before any write: a definite error
        params: dict[str, Any] = {"clientOrderId": client_order_id}
        if order_type is OrderType.LIMIT_MAKER:
            params["postOnly"] = True
        elif time_in_force is not TimeInForce.GTC:
            params["timeInForce"] = time_in_force.name
        kind = "market" if order_type is OrderType.MARKET else "limit"
        try:
            with first_in_line(self.client):
                raw = await self.client.create_order(
                    market["symbol"], kind, "buy" if side is Side.BUY else "sell", float(quantity),
                    float(price) if price is not None else None, params)
        except Exception as exc:
            raise convert.error(self.venue, exc, write=True, client_order_id=client_order_id) from None
        try:
            order = self.to_order(symbol, raw, client_order_id, quantity)
        except MALFORMED as exc:  # placed or not: the answer cannot say
            raise OrderOutcomeUnknownError(self.venue, f"unreadable order answer: {exc}",
                                           client_order_id=client_order_id) from None
        if order.price is None and price is not None:
            order.price = price
        return order

    async def _fetch(self, symbol: Symbol, order_id: str | None, client_order_id: str | None) -> Order:
        market = await self.market(symbol)
        known = self._orders.get(client_order_id or "", (None, symbol))[0]
        ref = order_id or known
        params: dict[str, Any] = {} if ref else {"clientOrderId": client_order_id}
        if ref is None and client_order_id is None:
            raise OrderNotFoundError(self.venue, "no order id or client order id given")
        try:
            raw = await self.read(self.client.fetch_order, ref, market["symbol"], params)
        except (InvalidOrderError, ExchangeError) as exc:
            if ref is None and type(exc) in (InvalidOrderError, ExchangeError):  # the query was refused
                return await self._search(symbol, client_order_id or "")
            raise
        return self.to_order(symbol, raw, client_order_id)

    async def _search(self, symbol: Symbol, client_order_id: str) -> Order:
        """An order by client id among the open and recent orders (exchanges that cannot query by it)."""
        market = await self.market(symbol)
        calls = [self.client.fetch_open_orders]
        if self.client.has.get("fetchClosedOrders"):
            calls.append(self.client.fetch_closed_orders)
        for call in calls:
            for raw in await self.read(call, market["symbol"]):
                if self.caller_id(raw) == client_order_id:
                    return self.to_order(symbol, raw, client_order_id)
        raise OrderNotFoundError(self.venue, f"no order with client id {client_order_id!r}")

    async def get_order(self, symbol: Symbol, *, order_id: str | None = None,
                        client_order_id: str | None = None) -> Order:
        return await self._fetch(symbol, order_id, client_order_id)

    async def cancel_order(self, symbol: Symbol, *, order_id: str | None = None,
                           client_order_id: str | None = None) -> Order:
        ref = order_id or self._orders.get(client_order_id or "", (None, symbol))[0]
        if ref is None:  # learn the exchange's id first (a read: safe to retry)
            ref = (await self._fetch(symbol, None, client_order_id)).order_id
        market = await self.market(symbol)
        try:
            with first_in_line(self.client):
                raw = await self.client.cancel_order(ref, market["symbol"])
        except Exception as exc:
            raise convert.error(self.venue, exc, write=True, client_order_id=client_order_id) from None
        try:
            order = self.to_order(symbol, {**raw, "id": raw.get("id") or ref}, client_order_id)
        except MALFORMED as exc:
            raise OrderOutcomeUnknownError(self.venue, f"unreadable cancel answer: {exc}",
                                           client_order_id=client_order_id) from None
        if not order.status.is_terminal:  # many exchanges answer a cancel with the id alone
            order = await self._fetch(symbol, order.order_id, client_order_id)
        return order

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        if symbol is None:
            rows = await self.read(self.client.fetch_open_orders)
            markets = await self.markets()
            return [self.to_order(convert.symbol_of(markets[r["symbol"]]), r) for r in rows
                    if r.get("symbol") in markets]
        market = await self.market(symbol)
        return [self.to_order(symbol, r) for r in await self.read(self.client.fetch_open_orders,
                                                                   market["symbol"])]

    # ------------------------------------------------------------------ account

    async def balances(self) -> dict[str, AssetBalance]:
        return convert.balances(await self.read(self.client.fetch_balance))

    async def account_info(self) -> AccountInfo:
        return AccountInfo(self.venue, await self.balances(), ts_event=self._clock())

    async def transfer_status(self) -> dict[str, TransferStatus] | None:
        """Read here (signed) where ccxt publishes it to signed requests only (the public
        connector's `transfer_source` is SIGNED: Binance's ``sapi/v1/capital/config/getall``...)."""
        if transfer_source(self.client) is not TransferSource.SIGNED:
            return None
        return await self.currencies()

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        market = await self.market(symbol)
        rows = await self.read(self.client.fetch_my_trades, market["symbol"], None, limit)
        now = self._clock()
        return [convert.fill(self.venue, symbol, r, self.caller_id(r), now) for r in rows]

    async def trading_fees(self, symbol: Symbol) -> TradingFee:
        """The account's rates where the exchange tells them, else its published schedule."""
        market = await self.market(symbol)
        if self.client.has.get("fetchTradingFee"):
            try:
                raw = await self.read(self.client.fetch_trading_fee, market["symbol"])
                return TradingFee(self.venue, symbol, float(raw["maker"]), float(raw["taker"]))
            except AuthenticationError:
                raise
            except (ExchangeError, DecodeError, *MALFORMED) as exc:
                log.warning("%s %s: account fee rates unavailable (%s); using the published schedule",
                            self.venue, symbol, exc)
        return TradingFee(self.venue, symbol, float(market.get("maker") or 0.0),
                          float(market.get("taker") or 0.0))
