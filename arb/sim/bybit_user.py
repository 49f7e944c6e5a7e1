"""Bybit private WebSocket of the simulator (``/v5/private``): auth, then order / execution / wallet.

Written from the fact sheet (§2.4 WS auth, §2.8, §2.10), independently of the client. Requests are
``{"req_id"?, "op", "args"}``; answers ``{"success", "ret_msg", "op", "conn_id"}`` (``req_id`` echoed
when sent):

- ``auth`` with ``args: [apiKey, expires, signature]``, signature = hex(HMAC-SHA256(secret,
  ``"GET/realtime" + expires``)) and ``expires`` a ms time in the future (a number or a digit
  string). Success: ``ret_msg ""``. Unknown key ``"API key is invalid."``, a wrong signature
  ``"Error sign!"``, an expiry not in the future or malformed args ``"Params Error"``, a second auth
  on the connection ``"Repeat auth"`` (the first stays) [sim choice for the texts but "Params Error"].
- ``subscribe`` / ``unsubscribe`` of ``order`` / ``order.spot``, ``execution`` / ``execution.spot``,
  ``wallet`` (``ret_msg ""``) once authenticated, else ``"Request not authorized"``; a topic and its
  ``.spot`` twin in one request, or an unknown topic, fail the request (nothing subscribed).
- ``ping`` -> ``{"req_id"?, "op": "pong", "args": ["<ms>"], "conn_id"}``. Anything unreadable is
  counted (`malformed`) and answered ``success: false``.

Every matching-engine call of the account pushes, in order, one ``order`` message (the order as it
now is: ``New`` when it rests, the final state of an IOC, ``Cancelled`` after a cancel), one
``execution`` message with all of the call's fills (when any), and one ``wallet`` message with every
coin of the account. Each message is ``{"id", "topic", "creationTime", "data": [...]}``, ``topic`` the
name the socket subscribed. No snapshot is sent on subscribe (as on the venue).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import WSMsgType, web

from arb.sim.bybit_private import BybitPrivateApi
from arb.sim.bybit_wire import CATEGORY
from arb.sim.fanout import Subscribers
from arb.sim.matching import MatchingEngine, SimFill, SimOrder

PATH: Final = "/v5/private"
ORDER: Final = "order"
EXECUTION: Final = "execution"
WALLET: Final = "wallet"
TOPICS: Final = frozenset({ORDER, f"{ORDER}.spot", EXECUTION, f"{EXECUTION}.spot", WALLET})
SIGNED_TEXT: Final = "GET/realtime"
# order fields of the REST object that the pushed order object does not carry (order.spot samples)
REST_ONLY: Final = ("tpslMode", "tpLimitPrice", "slLimitPrice", "slippageToleranceType", "slippageTolerance",
                    "extraFees", "rpiTakerAccess", "rpiMatchedQty")
FIRST_UID: Final = 100401071


def ws_auth_signature(secret: str, expires: int) -> str:
    """hex(HMAC-SHA256(secret, ``"GET/realtime" + expires``)) (fact sheet §2.4)."""
    return hmac.new(secret.encode(), f"{SIGNED_TEXT}{expires}".encode(), hashlib.sha256).hexdigest()


class BybitUserApi:
    """The ``/v5/private`` endpoint over one venue's matching engine and ledger."""

    def __init__(self, accounts: Mapping[str, tuple[str, str]], matching: MatchingEngine,
                 clock_ms: Callable[[], int], private: BybitPrivateApi) -> None:
        self._accounts = accounts
        self._clock_ms = clock_ms
        self._private = private
        self.subscribers = Subscribers()
        names = list(dict.fromkeys(account for _, account in accounts.values()))
        self._uids = {account: FIRST_UID + i for i, account in enumerate(names)}
        self._serials = itertools.count(1)
        self._push_ids = itertools.count(1)
        self.subscribes = 0  # accepted subscribe requests (tests count resubscriptions)
        self.refusals = 0  # failed auth requests
        self.malformed = 0  # unreadable requests
        matching.listeners.append(self._on_order)

    async def close(self, app: web.Application | None = None) -> None:
        await self.subscribers.close_all()

    # ------------------------------------------------------------------ requests

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn_id = f"sim{next(self._serials):06d}-private"
        topics = self.subscribers.add(ws)
        account: str | None = None
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    op = req["op"]
                    args = req.get("args") or []
                    if not isinstance(op, str) or not isinstance(args, list):
                        raise TypeError("op must be a string and args a list")
                except (ValueError, KeyError, TypeError):
                    self.malformed += 1
                    await ws.send_str(json.dumps({"success": False, "ret_msg": "Params Error",
                                                  "conn_id": conn_id}))
                    continue
                base: dict[str, object] = {"req_id": req["req_id"]} if "req_id" in req else {}
                wanted: set[str] = set()
                if op == "ping":
                    await ws.send_str(json.dumps({**base, "op": "pong", "args": [str(self._clock_ms())],
                                                  "conn_id": conn_id}))
                    continue
                if op == "auth":
                    error, granted = self._auth(args, account)
                    account = granted or account
                elif op in ("subscribe", "unsubscribe"):
                    error, wanted = self._topics(args, account)
                else:
                    error = f"error:invalid op {op}"
                await ws.send_str(json.dumps({"success": error is None, "ret_msg": error or "", "op": op,
                                              "conn_id": conn_id, **base}))
                if error is None and op == "subscribe":
                    self.subscribes += 1
                    topics |= wanted
                elif error is None and op == "unsubscribe":
                    topics -= wanted
        finally:
            self.subscribers.remove(ws)
        return ws

    def _auth(self, args: list[Any], current: str | None) -> tuple[str | None, str | None]:
        """(error, account) for an auth request."""
        if current is not None:
            return "Repeat auth", None
        if len(args) != 3 or not all(isinstance(a, str | int) and not isinstance(a, bool) for a in args):
            self.refusals += 1
            return "Params Error", None
        key, expires, signature = str(args[0]), str(args[1]), str(args[2])
        if key not in self._accounts:
            self.refusals += 1
            return "API key is invalid.", None
        if not expires.isdigit() or int(expires) <= self._clock_ms():
            self.refusals += 1
            return "Params Error", None
        secret, account = self._accounts[key]
        if not hmac.compare_digest(signature.lower(), ws_auth_signature(secret, int(expires))):
            self.refusals += 1
            return "Error sign!", None
        return None, account

    def _topics(self, args: list[Any], account: str | None) -> tuple[str | None, set[str]]:
        if account is None:
            return "Request not authorized", set()
        unknown = [a for a in args if a not in TOPICS]
        if unknown or not args:
            return f"error:handler not found,topic:{unknown[0] if unknown else ''}", set()
        names = set(args)
        for topic in (ORDER, EXECUTION):
            if {topic, f"{topic}.spot"} <= names:
                return f"error:{topic} and {topic}.spot cannot be subscribed together", set()
        return None, {self.topic(name, account) for name in names}

    @staticmethod
    def topic(name: str, account: str) -> str:
        return f"{name}|{account}"

    # ------------------------------------------------------------------ pushes

    def _on_order(self, order: SimOrder, fills: list[SimFill]) -> None:
        account, now = order.account, self._clock_ms()
        push_id = f"{self._uids.get(account, FIRST_UID)}-{next(self._push_ids)}"
        if any(self.subscribers.wants(self.topic(n, account)) for n in (ORDER, f"{ORDER}.spot")):
            self._push(ORDER, account, push_id, now, [self.order_row(order)])
        if fills:
            rows = [self.execution_row(fill) for fill in fills]
            self._push(EXECUTION, account, push_id, now, rows)
        if self.subscribers.wants(self.topic(WALLET, account)):
            self._push(WALLET, account, push_id, now, [self._private.wallet_json(account)])

    def _push(self, name: str, account: str, push_id: str, now: int, data: list[dict[str, object]]) -> None:
        names = (name, f"{name}.spot") if name != WALLET else (name,)
        for wire in names:
            topic = self.topic(wire, account)
            if self.subscribers.wants(topic):
                self.subscribers.publish(topic, json.dumps({"id": push_id, "topic": wire, "creationTime": now,
                                                            "data": data}))

    def order_row(self, order: SimOrder) -> dict[str, object]:
        row: dict[str, object] = {"category": CATEGORY, **self._private.order_json(order)}
        for key in REST_ONLY:
            row.pop(key, None)
        row["feeCurrency"] = order.fee_asset if order.fee else ""
        return row

    def execution_row(self, fill: SimFill) -> dict[str, object]:
        row: dict[str, object] = {"category": CATEGORY, **self._private.exec_json(fill), "isLeverage": "0"}
        row.pop("extraFees", None)
        return row
