"""Binance WebSocket API of the simulator (``/ws-api/v3``): the user data stream.

Written from the fact sheet (§3.4 WebSocket signing, §3.10 user data), independently of the client.
Requests ``{"id", "method", "params"}`` are answered ``{"id", "status", "result" | "error"}``:

- ``userDataStream.subscribe.signature``: HMAC-SHA256 over every param but ``signature``, sorted by
  name and joined ``k=v&...``; unknown key, bad signature, missing or stale timestamp get Binance's
  codes (-2015, -1022, -1102, -1021) from the dialect's error table; ``{"subscriptionId": N}``
  (per connection, from 0). Subscribing the same account twice on one connection returns its
  existing id [sim choice].
- ``userDataStream.unsubscribe`` (one ``subscriptionId`` or all), ``session.subscriptions``,
  ``ping``, ``time``; anything else -> -1020 [sim choice].

Every order change of the matching engine is pushed to the account's subscriptions as
``{"subscriptionId": N, "event": {...}}``: a placement as ``executionReport`` NEW, one TRADE per
fill (``t`` = the fill's trade id, ``n``/``N`` its fee), then EXPIRED / CANCELED for an unfilled
remainder; a cancel as CANCELED (``c`` = the cancel's id, ``C`` = the order's); then one
``outboundAccountPosition`` with the absolute free/locked of the order's two assets.
Replies and pushes share one ordered outbox per socket.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from aiohttp import WSMsgType, web

from arb.model import Symbol
from arb.sim.accounts import CLOCK_AHEAD_MS, AuthFailure, ErrorTable
from arb.sim.fanout import Subscribers
from arb.sim.matching import Ledger, MatchingEngine, SimFill, SimOrder

PATH: Final = "/ws-api/v3"
SUBSCRIBE: Final = "userDataStream.subscribe.signature"
UNSUBSCRIBE: Final = "userDataStream.unsubscribe"
SUBSCRIPTIONS: Final = "session.subscriptions"
DEFAULT_RECV_WINDOW_MS: Final = 5000
MAX_RECV_WINDOW_MS: Final = 60000
ZERO: Final = Decimal(0)
UNSUPPORTED: Final = (400, -1020, "Unsupported operation.")
MALFORMED: Final = (400, -1102, "Mandatory parameter was not sent, was empty/null, or malformed.")


def _text(value: object) -> str:
    """A JSON param as it is signed: ints and strings as written, booleans lowercase."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ws_payload(params: Mapping[str, object]) -> str:
    return "&".join(f"{k}={_text(params[k])}" for k in sorted(params) if k != "signature")


def check_ws_signature(
    params: Mapping[str, Any], accounts: Mapping[str, tuple[str, str]], clock_ms: Callable[[], int],
) -> str | AuthFailure:
    """The account of a correctly signed WS-API request, else why it is refused."""
    key = params.get("apiKey")
    if not isinstance(key, str) or key not in accounts:
        return AuthFailure.KEY
    secret, account = accounts[key]
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        return AuthFailure.PARAMS
    expected = hmac.new(secret.encode(), ws_payload(params).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(signature.lower(), expected):
        return AuthFailure.SIGNATURE
    timestamp, window = params.get("timestamp"), params.get("recvWindow", DEFAULT_RECV_WINDOW_MS)
    if (not isinstance(timestamp, int) or isinstance(timestamp, bool)
            or not isinstance(window, int | float) or not 0 < window <= MAX_RECV_WINDOW_MS):
        return AuthFailure.PARAMS
    now = clock_ms()
    if timestamp >= now + CLOCK_AHEAD_MS or now - timestamp > window:
        return AuthFailure.TIMESTAMP
    return account


def _f(value: Decimal) -> str:
    return format(value, "f")


class BinanceUserApi:
    """The ``/ws-api/v3`` endpoint over one venue's matching engine and ledger."""

    def __init__(self, accounts: Mapping[str, tuple[str, str]], matching: MatchingEngine, ledger: Ledger,
                 clock_ms: Callable[[], int], errors: ErrorTable) -> None:
        self._accounts = accounts
        self._ledger = ledger
        self._clock_ms = clock_ms
        self._errors = errors
        self.subscribers = Subscribers()
        self._routes: dict[str, dict[str, int]] = {}  # account -> {socket topic: subscription id}
        self._serials = itertools.count()
        self._exec_ids = itertools.count(1)
        self._announced: set[int] = set()  # order ids already reported NEW (a later call is a cancel)
        self.subscribes = 0  # accepted subscribe requests (tests count resubscriptions)
        matching.listeners.append(self._on_order)

    async def close(self, app: web.Application | None = None) -> None:
        await self.subscribers.close_all()

    async def drop_connections(self) -> None:
        """Close every WS-API socket from the server side (clients must reconnect and resubscribe)."""
        await self.subscribers.close_all()

    # ------------------------------------------------------------------ requests

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        serial = next(self._serials)
        topics = self.subscribers.add(ws)
        reply_topic = f"reply/{serial}"
        topics.add(reply_topic)
        mine: dict[int, tuple[str, str]] = {}  # subscription id -> (account, topic)
        ids = itertools.count()
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    request_id, method = req.get("id"), req["method"]
                    params = req.get("params") or {}
                    if not isinstance(params, dict):
                        raise TypeError("params must be an object")
                except (ValueError, KeyError, TypeError, AttributeError):
                    self._reply(reply_topic, None, error=MALFORMED)
                    continue
                if method == SUBSCRIBE:
                    self._subscribe(reply_topic, request_id, params, serial, mine, ids, topics)
                elif method == UNSUBSCRIBE:
                    wanted = params.get("subscriptionId")
                    for sub_id in [s for s in mine if wanted is None or s == wanted]:
                        self._unroute(*mine.pop(sub_id), topics)
                    self._reply(reply_topic, request_id, result={})
                elif method == SUBSCRIPTIONS:
                    self._reply(reply_topic, request_id, result=[{"subscriptionId": s} for s in sorted(mine)])
                elif method == "ping":
                    self._reply(reply_topic, request_id, result={})
                elif method == "time":
                    self._reply(reply_topic, request_id, result={"serverTime": self._clock_ms()})
                else:
                    self._reply(reply_topic, request_id, error=UNSUPPORTED)
        finally:
            for account, topic in mine.values():
                self._unroute(account, topic, topics)
            self.subscribers.remove(ws)
        return ws

    def _subscribe(self, reply_topic: str, request_id: object, params: dict[str, Any], serial: int,
                   mine: dict[int, tuple[str, str]], ids: itertools.count[int], topics: set[str]) -> None:
        result = check_ws_signature(params, self._accounts, self._clock_ms)
        if isinstance(result, AuthFailure):
            self._reply(reply_topic, request_id, error=self._errors[result])
            return
        self.subscribes += 1
        existing = next((s for s, (account, _) in mine.items() if account == result), None)
        if existing is None:
            existing = next(ids)
            topic = f"user/{serial}/{existing}"
            mine[existing] = (result, topic)
            # the reply is queued before the route exists: no push can overtake it
            self._reply(reply_topic, request_id, result={"subscriptionId": existing})
            topics.add(topic)
            self._routes.setdefault(result, {})[topic] = existing
            return
        self._reply(reply_topic, request_id, result={"subscriptionId": existing})

    def _unroute(self, account: str, topic: str, topics: set[str]) -> None:
        topics.discard(topic)
        self._routes.get(account, {}).pop(topic, None)

    def _reply(self, topic: str, request_id: object, *, result: object = None,
               error: tuple[int, int, str] | None = None) -> None:
        if error is not None:
            status, code, msg = error
            body: dict[str, object] = {"id": request_id, "status": status,
                                       "error": {"code": code, "msg": msg}}
        else:
            body = {"id": request_id, "status": 200, "result": result}
        self.subscribers.publish(topic, json.dumps(body))

    # ------------------------------------------------------------------ pushes

    def _on_order(self, order: SimOrder, fills: list[SimFill]) -> None:
        placed = order.order_id not in self._announced
        self._announced.add(order.order_id)
        routes = self._routes.get(order.account)
        if not routes:
            return
        events = self.execution_reports(order, fills, placed)
        events.append(self.account_position(order.account, order.symbol))
        for topic, sub_id in routes.items():
            for event in events:
                self.subscribers.publish(topic, json.dumps({"subscriptionId": sub_id, "event": event}))

    def execution_reports(self, order: SimOrder, fills: list[SimFill], placed: bool) -> list[dict[str, Any]]:
        """The reports of one matching-engine call, in the order Binance sends them."""
        now = self._clock_ms()
        name = f"{order.symbol.base}{order.symbol.quote}"

        def report(x: str, status: str, cum: Decimal, cum_quote: Decimal, fill: SimFill | None = None,
                   client: str = order.client_id, orig: str = "") -> dict[str, Any]:
            return {
                "e": "executionReport", "E": now, "s": name, "c": client, "S": order.side.name,
                "o": order.kind, "f": order.tif, "q": _f(order.quantity), "p": _f(order.price or ZERO),
                "P": "0.00000000", "F": "0.00000000", "g": -1, "C": orig, "x": x, "X": status, "r": "NONE",
                "i": order.order_id, "l": _f(fill.quantity if fill else ZERO), "z": _f(cum),
                "L": _f(fill.price if fill else ZERO), "n": _f(fill.fee if fill else ZERO),
                "N": fill.fee_asset if fill else None, "T": fill.ts_ms if fill else order.updated_ms,
                "t": fill.trade_id if fill else -1, "I": next(self._exec_ids),
                "w": status in ("NEW", "PARTIALLY_FILLED"), "m": False, "M": fill is not None,
                "O": order.created_ms, "Z": _f(cum_quote),
                "Y": _f(fill.price * fill.quantity if fill else ZERO), "Q": "0.00000000",
                "W": order.created_ms, "V": "EXPIRE_MAKER",
            }

        if not placed:  # a cancel
            return [report("CANCELED", order.status, order.filled, order.quote_filled,
                           client=f"cancel-{order.order_id}", orig=order.client_id)]
        out = [report("NEW", "NEW", ZERO, ZERO)]
        cum = cum_quote = ZERO
        for fill in fills:
            cum += fill.quantity
            cum_quote += fill.price * fill.quantity
            out.append(report("TRADE", "FILLED" if cum >= order.quantity else "PARTIALLY_FILLED", cum,
                              cum_quote, fill))
        if order.status in ("EXPIRED", "CANCELED"):
            out.append(report(order.status, order.status, cum, cum_quote))
        return out

    def account_position(self, account: str, symbol: Symbol) -> dict[str, Any]:
        now, ledger = self._clock_ms(), self._ledger
        return {"e": "outboundAccountPosition", "E": now, "u": now, "B": [
            {"a": asset, "f": _f(ledger.free(account, asset)), "l": _f(ledger.locked(account, asset))}
            for asset in (symbol.base, symbol.quote)]}
