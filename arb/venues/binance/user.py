"""Binance user data over the WebSocket API (``userDataStream.subscribe.signature``) on a `WsClient`.

The listenKey streams were retired (fact sheet §3.10): one WS-API connection carries the account's
events after a signed subscribe request. The request is built anew with a fresh timestamp by the
dialect on every (re)connect, so the `WsClient` reconnect path re-authenticates by itself; the reply
``{"id", "status": 200, "result": {"subscriptionId": N}}`` is the ack, an error reply (bad key,
signature or timestamp) fails the connection attempt and the client retries with backoff.
Pushes ``{"subscriptionId": N, "event": {...}}`` are routed by the event's exact ``e``:
``executionReport`` -> `on_fill` (``x == TRADE``) then `on_order`; ``outboundAccountPosition`` ->
`on_balance` per asset; ``eventStreamTerminated`` -> reconnect (and so resubscribe). The signed
request is never logged; the dialect's repr masks the key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, MutableMapping, Sequence
from decimal import Decimal
from typing import Any, Final

import msgspec

from arb.credentials import Credentials
from arb.errors import DecodeError
from arb.model import Order, Symbol
from arb.net.ws import WsClient
from arb.venues.base import StreamHandlers, UserPushes
from arb.venues.binance import auth, orders
from arb.venues.binance import constants as c

log = logging.getLogger(__name__)

STREAM_TERMINATED: Final = "eventStreamTerminated"
PING_ID: Final = "ping"
# WsClient options the user stream sets itself (a quiet account is not a dead connection)
OWN_OPTIONS: Final = frozenset({"data_idle_s", "ping_interval_s", "max_subscriptions"})


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class BinanceUserDialect:
    """The WS-API subscribe request (signed anew each time), its ack, and the ``ping`` method."""

    def __init__(self, api_key: str, api_secret: str, clock_ms: Callable[[], int],
                 recv_window_ms: int = c.RECV_WINDOW_MS) -> None:
        self._key = api_key
        self._secret = api_secret
        self._clock_ms = clock_ms
        self._recv_window = recv_window_ms
        self._pending: set[int] = set()
        self.subscription_id: int | None = None
        self.last_error: tuple[int, str] | None = None  # (code, msg) of the last refused subscribe

    def __repr__(self) -> str:
        return "BinanceUserDialect(****)"

    def signed_params(self) -> dict[str, Any]:
        """apiKey, timestamp, recvWindow and the signature over them (sorted, ``k=v&...``)."""
        params: dict[str, Any] = {"apiKey": self._key, "timestamp": self._clock_ms(),
                                  "recvWindow": self._recv_window}
        params["signature"] = auth.sign_ws(self._secret, {k: str(v) for k, v in params.items()})
        return params

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        self._pending.add(request_id)
        return json.dumps({"id": request_id, "method": c.USER_SUBSCRIBE, "params": self.signed_params()})

    def unsubscribe(self, channels: Sequence[str], request_id: int) -> str | None:
        if self.subscription_id is None:
            return None
        return json.dumps({"id": request_id, "method": c.USER_UNSUBSCRIBE,
                           "params": {"subscriptionId": self.subscription_id}})

    def ack(self, frame: str) -> int | None:
        try:
            reply = orders.decode_ws_api_response(frame)
        except DecodeError:
            return None
        if not isinstance(reply.id, int) or reply.id not in self._pending:
            return None  # a ping reply, or a late answer to an attempt already given up
        self._pending.discard(reply.id)
        if reply.error is not None or reply.status != 200 or bytes(reply.result) == b"null":
            code, msg = (reply.error.code, reply.error.msg) if reply.error else (reply.status, "no result")
            self.last_error = (code, msg)
            raise ValueError(f"user stream subscribe refused: {code} {msg}")
        try:
            self.subscription_id = orders.decode_subscribed(reply.result)
        except DecodeError as err:
            raise ValueError(str(err)) from None
        self.last_error = None
        return reply.id

    def is_control(self, frame: bytes | str) -> bool:
        # pushes start with their subscription id; replies with their request id
        return not (isinstance(frame, str) and frame.startswith('{"subscriptionId"'))

    def ping(self) -> str:
        return json.dumps({"id": PING_ID, "method": c.WS_API_PING})


class BinanceUserStream(UserPushes):
    """One account's order, fill and balance events, handed to the engine's `StreamHandlers`.

    Parameters
    ----------
    handlers:
        Gets `on_order`, `on_fill`, `on_balance`, `on_decode_error` and `on_stream_state` (with no
        symbols: the user stream carries no books).
    credentials:
        The account's HMAC key and secret.
    url:
        The WebSocket API endpoint (`constants.ws_api_url` of the market WS base).
    clock_ms:
        Venue time for the signature's timestamp (a `ServerClock.now_ms`); wall clock by default.
    symbols:
        Venue spelling -> `Symbol` for the symbols in use; others are split on known quote assets.
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, credentials: Credentials, *, url: str = c.WS_API_URL,
                 clock_ms: Callable[[], int] | None = None, recv_window_ms: int = c.RECV_WINDOW_MS,
                 symbols: MutableMapping[str, Symbol] | None = None, **ws_options: Any) -> None:
        self._handlers = handlers
        self._symbols: MutableMapping[str, Symbol] = symbols if symbols is not None else {}
        self.dialect = BinanceUserDialect(credentials.api_key.reveal(), credentials.api_secret.reveal(),
                                          clock_ms or _wall_ms, recv_window_ms)
        options = {k: v for k, v in ws_options.items() if k not in OWN_OPTIONS}
        self.ws = WsClient(f"{c.VENUE}-user", url, dialect=self.dialect, on_frame=self._on_frame,
                           on_state=self._on_state, max_subscriptions=1,
                           ping_interval_s=c.WS_API_PING_INTERVAL_S, data_idle_s=math.inf,
                           lifetime_s=c.CONNECTION_LIFETIME_S - 1800, **options)
        self._fees: dict[str, Decimal] = {}  # order id -> commission seen so far (live orders only)
        self._tasks: set[asyncio.Task[None]] = set()
        self.decode_errors = 0
        self.ignored_events = 0
        self._logged_error = False

    async def start(self) -> None:
        """Connect and subscribe (a refused subscribe is retried by the reconnect path)."""
        await self.ws.subscribe([c.USER_CHANNEL])

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.ws.close()

    def symbol_of(self, venue_symbol: str) -> Symbol:
        symbol = self._symbols.get(venue_symbol)
        if symbol is None:
            symbol = self._symbols[venue_symbol] = c.SPELLING.common(venue_symbol)
        return symbol

    # ------------------------------------------------------------------ frames

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        try:
            kind, event = orders.decode_user_event(frame)
            if kind == orders.EXECUTION_REPORT:
                order, fill = orders.decode_execution(event, self.symbol_of, recv_ns)
                if fill is not None:
                    self._handlers.on_fill(fill)
                self._handlers.on_order(self._with_fees(order, fill is not None))
            elif kind == orders.ACCOUNT_POSITION:
                for balance in orders.decode_account_position(event):
                    self._handlers.on_balance(c.VENUE, balance)
            elif kind == STREAM_TERMINATED:
                log.warning("%s: user event stream terminated by the venue; resubscribing", c.VENUE)
                self._spawn(self.ws.reconnect("event stream terminated"))
            else:
                self.ignored_events += 1  # balanceUpdate (deltas), listStatus, externalLockUpdate
        except DecodeError as err:
            self._undecodable(c.VENUE, err)

    def _with_fees(self, order: Order, traded: bool) -> Order:
        """The order with the commission of every fill seen so far (reports carry only the last)."""
        key = order.order_id or order.client_order_id
        total = self._fees.get(key, Decimal(0)) + (order.fee if traded else Decimal(0))
        if order.status.is_terminal:
            self._fees.pop(key, None)
        else:
            self._fees[key] = total
        return msgspec.structs.replace(order, fee=total)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        self._handlers.on_stream_state(c.VENUE, connected, [])

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

