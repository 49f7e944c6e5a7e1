"""Paper trading: a `PrivateExchangeInterface` that fills orders against the local books.

Fills are simulated at the moment the order "arrives" (after a configurable per-venue latency)
by walking the live local book of that venue up to the order's limit price, with the venue's taker
fee, partial fills when depth is short, and paper balances that move with every fill. Paper orders
do not consume the real book (the next update from the venue restores it); that optimism is bounded
by trading IOC only at prices the book showed. Fills are flagged `paper=True` and journaled like
live ones.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

import msgspec

from arb._core.book import L2Book
from arb.errors import InsufficientBalanceError, InvalidOrderError, OrderNotFoundError
from arb.model import (
    ZERO,
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
)
from arb.venues.base import PrivateExchangeInterface

FillListener = Callable[[Fill], None]


class PaperExchange(PrivateExchangeInterface):
    """One venue's simulated account.

    Parameters
    ----------
    venue:
        Venue name.
    book:
        ``book(symbol) -> L2Book | None``: the live local book to fill against.
    balances:
        Starting paper balances per asset.
    taker_fee:
        Fee rate charged on every fill, in the quote asset.
    latency_s:
        Simulated time between sending and the venue matching the order.
    """

    def __init__(
        self,
        venue: str,
        book: Callable[[Symbol], L2Book | None],
        balances: dict[str, Decimal],
        *,
        taker_fee: float,
        latency_s: float = 0.0,
        clock_ns: Callable[[], int],
        on_fill: FillListener | None = None,
        run_tag: str = "",
    ) -> None:
        self.venue = venue
        self._tag = run_tag  # ids unique across runs sharing one journal (the journal's run counter)
        self._book = book
        self._balances = dict(balances)
        self._fee = Decimal(repr(taker_fee))
        self._latency = latency_s
        self._clock = clock_ns
        self._on_fill = on_fill
        self._orders: dict[str, Order] = {}
        self._fills: list[Fill] = []
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)

    async def place_order(
        self,
        symbol: Symbol,
        side: Side,
        order_type: OrderType,
        quantity: Decimal,
        client_order_id: str,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
    ) -> Order:
        if client_order_id in self._orders:
            raise InvalidOrderError(self.venue, f"duplicate client order id {client_order_id}",
                                    api_code="DUPLICATE_CLIENT_ID")
        if quantity <= ZERO or (order_type is not OrderType.MARKET and (price is None or price <= ZERO)):
            raise InvalidOrderError(self.venue, "quantity and limit price must be positive", api_code="PARAM")
        if self._latency:
            await asyncio.sleep(self._latency)
        now = self._clock()
        order = Order(
            venue=self.venue, symbol=symbol, client_order_id=client_order_id, side=side,
            type=order_type, quantity=quantity, price=price, time_in_force=time_in_force,
            order_id=f"paper-{self._tag}{next(self._ids)}", status=OrderStatus.NEW, ts_created=now,
            ts_updated=now,
        )
        self._check_funds(order)
        order = self._match(order)
        self._orders[client_order_id] = order
        return order

    def _check_funds(self, order: Order) -> None:
        base, quote = order.symbol.base, order.symbol.quote
        if order.side is Side.SELL and self._balances.get(base, ZERO) < order.quantity:
            raise InsufficientBalanceError(self.venue, f"paper {base} balance too low", api_code="BALANCE")
        if order.side is Side.BUY and order.price is not None:
            need = order.quantity * order.price * (1 + self._fee)
            if self._balances.get(quote, ZERO) < need:
                raise InsufficientBalanceError(
                    self.venue, f"paper {quote} balance too low", api_code="BALANCE"
                )

    def _match(self, order: Order) -> Order:
        book = self._book(order.symbol)
        levels = book.top(order.side is Side.SELL, 1 << 20) if book is not None else []
        remaining = order.quantity
        filled = quote = fee_total = ZERO
        for price_f, size_f in levels:
            if remaining <= ZERO:
                break
            price = Decimal(repr(price_f))
            if order.price is not None and (
                price > order.price if order.side is Side.BUY else price < order.price
            ):
                break
            # partial takes stay on the order quantity's precision (the symbol's step)
            take = min(remaining, Decimal(repr(size_f)).quantize(order.quantity, rounding=ROUND_DOWN))
            if take <= ZERO:
                break
            fee = take * price * self._fee
            self._settle(order, take, price, fee)
            remaining -= take
            filled += take
            quote += take * price
            fee_total += fee
        if filled >= order.quantity:
            status = OrderStatus.FILLED
        elif order.time_in_force is TimeInForce.GTC and order.type is OrderType.LIMIT:
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
        else:
            status = OrderStatus.CANCELED  # IOC/FOK/market remainder
        return msgspec.structs.replace(
            order, status=status, filled_qty=filled, filled_quote=quote, fee=fee_total,
            fee_asset=order.symbol.quote, ts_updated=self._clock(),
        )

    def _settle(self, order: Order, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        base, quote = order.symbol.base, order.symbol.quote
        sign = 1 if order.side is Side.BUY else -1
        self._balances[base] = self._balances.get(base, ZERO) + sign * qty
        self._balances[quote] = self._balances.get(quote, ZERO) - sign * qty * price - fee
        now = self._clock()
        fill = Fill(
            venue=self.venue, symbol=order.symbol, trade_id=f"paper-{self._tag}t{next(self._trade_ids)}",
            side=order.side, price=price, quantity=qty, fee=fee, fee_asset=quote,
            order_id=order.order_id, client_order_id=order.client_order_id, ts_event=now, ts_recv=now,
            paper=True,
        )
        self._fills.append(fill)
        if self._on_fill is not None:
            self._on_fill(fill)

    def _find(self, order_id: str | None, client_order_id: str | None) -> Order:
        if client_order_id is not None and client_order_id in self._orders:
            return self._orders[client_order_id]
        for order in self._orders.values():
            if order_id is not None and order.order_id == order_id:
                return order
        raise OrderNotFoundError(self.venue, "paper order not found", api_code="NOT_FOUND")

    async def cancel_order(
        self, symbol: Symbol, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        order = self._find(order_id, client_order_id)
        if not order.status.is_terminal:
            order = msgspec.structs.replace(order, status=OrderStatus.CANCELED, ts_updated=self._clock())
            self._orders[order.client_order_id] = order
        return order

    async def get_order(
        self, symbol: Symbol, *, order_id: str | None = None, client_order_id: str | None = None
    ) -> Order:
        return self._find(order_id, client_order_id)

    async def open_orders(self, symbol: Symbol | None = None) -> list[Order]:
        return [o for o in self._orders.values()
                if not o.status.is_terminal and (symbol is None or o.symbol == symbol)]

    async def my_trades(self, symbol: Symbol, limit: int = 100) -> list[Fill]:
        return [f for f in self._fills if f.symbol == symbol][-limit:]

    async def balances(self) -> dict[str, AssetBalance]:
        return {asset: AssetBalance(asset, free) for asset, free in self._balances.items()}

    async def trading_fees(self, symbol: Symbol) -> TradingFee:
        return TradingFee(self.venue, symbol, maker=float(self._fee), taker=float(self._fee))

    async def account_info(self) -> AccountInfo:
        return AccountInfo(self.venue, await self.balances(), can_trade=True, ts_event=self._clock())

    async def close(self) -> None:
        return None
