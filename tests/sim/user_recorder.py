"""A `StreamHandlers` that records user-stream events, and a condition waiter (no timed assertions)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from arb.errors import DecodeError
from arb.model import AssetBalance, Fill, Order, Symbol, Trade
from arb.venues.base import DepthUpdate

WAIT_S = 20.0  # generous: conditions normally hold within milliseconds


class UserRecorder:
    """Every order, fill, balance, decode error and state change, in arrival order."""

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.fills: list[Fill] = []
        self.balances: dict[str, AssetBalance] = {}
        self.balance_events = 0
        self.errors: list[DecodeError] = []
        self.states: list[bool] = []

    def on_depth(self, update: DepthUpdate) -> None:
        return None

    def on_trade(self, trade: Trade) -> None:
        return None

    def on_order(self, order: Order) -> None:
        self.orders.append(order)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)

    def on_balance(self, venue: str, balance: AssetBalance) -> None:
        self.balance_events += 1
        self.balances[balance.asset] = balance

    def on_decode_error(self, error: DecodeError, symbol: Symbol | None) -> None:
        self.errors.append(error)

    def on_stream_state(self, venue: str, connected: bool, symbols: Sequence[Symbol]) -> None:
        self.states.append(connected)

    def last_order(self, client_order_id: str) -> Order | None:
        return next((o for o in reversed(self.orders) if o.client_order_id == client_order_id), None)

    def fills_of(self, client_order_id: str) -> list[Fill]:
        return [f for f in self.fills if f.client_order_id == client_order_id]


async def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout_s` (a generous bound)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        await asyncio.sleep(0.01)
