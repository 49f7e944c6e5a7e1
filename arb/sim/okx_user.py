"""OKX private socket of the simulator: ``/ws/v5/private`` login and the ``orders`` / ``fills`` /
``account`` channels, fed by the matching engine and ledger.

Written from the fact sheet (§1.4, §1.8, §1.10), independently of `arb.venues.okx`:

- ``{"op": "login", "args": [{"apiKey", "passphrase", "timestamp" (Unix s), "sign"}]}`` with sign =
  Base64(HMAC-SHA256(secret, ts + "GET" + "/users/self/verify")) answers ``{"event": "login",
  "code": "0", "msg": "", "connId"}``; failures answer ``event: "error"``: an unknown key 60005, an
  unreadable timestamp 60004, one more than 30 s off 60006, a wrong passphrase 60024, a wrong sign
  60007, a malformed login 60009, a second login on the socket 60031. Subscribing before it: 60011.
- ``orders`` (``instType`` SPOT or ANY, required; optional ``instId``): no snapshot; per matching
  event, the order object of `OkxPrivateApi.order_json` plus the per-event fields: ``live`` when
  placed, one push per fill (``fillSz``/``fillPx``/``tradeId``/``fillFee``, ``partially_filled``
  or ``filled`` after the last fill of a filled order), ``canceled`` when it ended otherwise.
  ``avgPx`` is "0" before any fill (REST prints "").
- ``fills`` (optional ``instId``): one push per fill; ``clOrdId`` only when it reads as a positive
  int64, as the fact sheet says.
- ``account`` (optional ``ccy``): an ``eventType: snapshot`` push on subscribing, then an
  ``event_update`` with the order's two currencies after every matching event.

Pushes go through this socket's own fanout (`subscribers`), where the server attaches the fault
seam of user pushes (`FaultPlan.drop_user_pushes`, `user_push_delay_ms`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from arb.model import Symbol
from arb.sim.fanout import Subscribers
from arb.sim.matching import SimFill, SimOrder
from arb.sim.okx_account import balance_json, held_assets
from arb.sim.okx_private import LIVE, OkxPrivateApi
from arb.sim.okx_wire import (
    IDLE_S,
    SPOT,
    TRADE_ID_BASE,
    Pushes,
    Row,
    inst_id,
    login_signature,
    num,
    serve_socket,
    ws_error,
    ws_event,
)

ORDERS: Final = "orders"
FILLS: Final = "fills"
ACCOUNT: Final = "account"
CHANNELS: Final = frozenset({ORDERS, FILLS, ACCOUNT})
ORDER_TYPES: Final = frozenset({SPOT, "ANY"})
WINDOW_S: Final = 30
UID_BASE: Final = 448_743_607_034_327_908
INT64_MAX: Final = 2**63 - 1
# what the ``orders`` channel adds to the REST order object (ws_orders_push_docs.json)
WS_EXTRAS: Final[Row] = {"amendResult": "", "amendSource": "", "code": "0", "msg": "", "reqId": "",
                         "fillPnl": "0", "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "",
                         "fillMarkPx": "", "fillIdxPx": ""}
REST_ONLY: Final = ("cancelSourceReason",)


def _numeric_id(text: str) -> bool:
    return text.isdigit() and 0 < int(text) <= INT64_MAX


class OkxUserChannels:
    """Login and private channels of one simulated OKX over its private REST records."""

    def __init__(self, insts: Mapping[str, Symbol], accounts: Mapping[str, tuple[str, str]], passphrase: str,
                 private: OkxPrivateApi, clock_ms: Callable[[], int]) -> None:
        self._insts = insts
        self._accounts = accounts
        self._passphrase = passphrase
        self._private = private
        self._clock_ms = clock_ms
        self.pushes = Pushes()
        self.idle_s = IDLE_S
        self._sessions: dict[web.WebSocketResponse, str] = {}  # socket -> logged-in account
        names = list(dict.fromkeys(account for _, account in accounts.values()))
        self._uids = {account: str(UID_BASE + i) for i, account in enumerate(names)}
        self._announced: set[int] = set()  # orders already pushed as live
        self.logins = 0
        self.refusals = 0
        private.listeners.append(self._on_order)

    @property
    def subscribers(self) -> Subscribers:
        return self.pushes.subscribers

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        return await serve_socket(request, self.pushes, self.idle_s, self._request, on_close=self._closed)

    def _closed(self, ws: web.WebSocketResponse) -> None:
        self._sessions.pop(ws, None)

    # ------------------------------------------------------------------ requests

    def _login(self, ws: web.WebSocketResponse, args: object) -> tuple[str, str] | None:
        """(code, msg) of a refused login, or None when `ws` is now logged in."""
        if ws in self._sessions:
            return "60031", "The WS login request has been processed already."
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            return "60009", "Login failed."
        login = args[0]
        key, phrase, stamp, sign = (str(login.get(k) or "")
                                    for k in ("apiKey", "passphrase", "timestamp", "sign"))
        if not (key and phrase and stamp and sign):
            return "60009", "Login failed."
        if key not in self._accounts:
            return "60005", "Invalid OK-ACCESS-KEY"
        try:
            at = float(stamp)
        except ValueError:
            return "60004", "Invalid timestamp"
        if abs(self._clock_ms() / 1000 - at) > WINDOW_S:
            return "60006", "Timestamp request expired"
        if phrase != self._passphrase:
            return "60024", "Wrong passphrase"
        secret, account = self._accounts[key]
        if sign != login_signature(secret, stamp):
            return "60007", "Invalid sign"
        self._sessions[ws] = account
        return None

    async def _request(self, ws: web.WebSocketResponse, conn: str, topics: set[str],
                       req: dict[str, Any]) -> None:
        op, args, rid = req.get("op"), req.get("args"), req.get("id")
        if op == "login":
            refused = self._login(ws, args)
            if refused is not None:
                self.refusals += 1
                await ws.send_str(ws_error(*refused, conn, rid))
            else:
                self.logins += 1
                await ws.send_str(ws_event("login", conn, rid, code="0", msg=""))
            return
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args \
                or not all(isinstance(a, dict) for a in args):
            await ws.send_str(ws_error("60012", f"Invalid request: {json.dumps(req)[:200]}", conn, rid))
            return
        account = self._sessions.get(ws)
        if account is None:
            await ws.send_str(ws_error("60011", "Please log in", conn, rid))
            return
        for arg in args:
            problem = self._check_arg(arg)
            if problem is not None:
                await ws.send_str(ws_error(*problem, conn, rid))
                return
        for arg in args:
            topic = self.topic(account, arg)
            await ws.send_str(ws_event(str(op), conn, rid, arg=arg))
            if op == "unsubscribe":
                topics.discard(topic)
                continue
            topics.add(topic)  # nothing awaits until the snapshot is queued behind the ack
            if arg["channel"] == ACCOUNT:
                self.pushes.send_own(topics, conn, self._account_frame(account, arg, "snapshot", None))

    def _check_arg(self, arg: dict[str, Any]) -> tuple[str, str] | None:
        channel, inst = arg.get("channel"), arg.get("instId")
        if channel not in CHANNELS or (inst is not None and inst not in self._insts):
            return "60018", f"Wrong URL or channel:{channel},instId:{inst} doesn't exist."
        if channel == ORDERS and arg.get("instType") not in ORDER_TYPES:
            return "60013", f"Invalid args: instType {arg.get('instType')!r}"
        return None

    @staticmethod
    def topic(account: str, arg: Mapping[str, Any]) -> str:
        return "|".join((str(arg.get("channel")), account, str(arg.get("instType") or ""),
                         str(arg.get("instId") or ""), str(arg.get("ccy") or "")))

    # ------------------------------------------------------------------ pushes

    def _args(self, channel: str, account: str, symbol: Symbol) -> list[dict[str, str]]:
        """The subscription args an event of `symbol` is pushed under, each with the account's uid."""
        inst, uid = inst_id(symbol), self._uids.get(account, str(UID_BASE))
        if channel == ORDERS:
            return [{"channel": ORDERS, "instType": kind, **({"instId": i} if i else {}), "uid": uid}
                    for kind in sorted(ORDER_TYPES) for i in ("", inst)]
        if channel == FILLS:
            return [{"channel": FILLS, **({"instId": i} if i else {}), "uid": uid} for i in ("", inst)]
        return [{"channel": ACCOUNT, **({"ccy": c} if c else {}), "uid": uid}
                for c in ("", symbol.base, symbol.quote)]

    def _push(self, account: str, channel: str, symbol: Symbol, rows: list[Row] | None) -> None:
        """Push `rows` under every subscription of `channel` that covers `symbol` (None: the account's
        balances of the symbol's currencies, as each subscription's ``ccy`` selects them)."""
        for arg in self._args(channel, account, symbol):
            topic = self.topic(account, arg)
            if not self.pushes.wants(topic):
                continue
            if rows is not None:
                self.pushes.publish(topic, json.dumps({"arg": arg, "data": rows}))
                continue
            data = self._account_rows(account, arg, self._clock_ms(), symbol)
            if data:
                self.pushes.publish(topic, json.dumps({"arg": arg, "eventType": "event_update", "curPage": 1,
                                                       "lastPage": True, "data": data}))

    def _on_order(self, order: SimOrder, fills: list[SimFill]) -> None:
        placed = order.order_id not in self._announced
        self._announced.add(order.order_id)
        account, symbol = order.account, order.symbol
        states: list[Row] = []
        if placed:
            states.append(self._order_state(order, [], None, "live"))
            done: list[SimFill] = []
            for i, fill in enumerate(fills):
                done.append(fill)
                last = i == len(fills) - 1
                state = "filled" if last and order.status == "FILLED" else "partially_filled"
                states.append(self._order_state(order, list(done), fill, state))
        if order.status not in LIVE and order.status != "FILLED":
            states.append(self._private.order_json(order) | WS_EXTRAS | self._fill_fields(order, None))
        for row in states:
            self._push(account, ORDERS, symbol, [row])
        for fill in fills:
            self._push(account, FILLS, symbol, [self._fill_row(order, fill)])
        self._push(account, ACCOUNT, symbol, None)

    def _fill_fields(self, order: SimOrder, fill: SimFill | None) -> Row:
        if fill is None:
            return {"fillPx": "", "fillSz": "0", "tradeId": "", "fillTime": "", "fillFee": "0",
                    "fillFeeCcy": "",
                    "execType": "", "fillNotionalUsd": "", "lastPx": "", "notionalUsd": self._notional(order)}
        return {"fillPx": num(fill.price), "fillSz": num(fill.quantity),
                "tradeId": str(TRADE_ID_BASE + fill.trade_id),
                "fillTime": str(fill.ts_ms), "fillFee": num(-fill.fee), "fillFeeCcy": fill.fee_asset,
                "execType": "T", "fillNotionalUsd": num(fill.price * fill.quantity),
                "lastPx": num(fill.price),
                "notionalUsd": self._notional(order)}

    @staticmethod
    def _notional(order: SimOrder) -> str:
        return num(order.quantity * order.price) if order.price is not None else num(order.quote_filled)

    def _order_state(self, order: SimOrder, fills: list[SimFill], fill: SimFill | None, state: str) -> Row:
        """The order as of its first `fills` (the last of which is `fill`), in `state`."""
        row = self._private.order_json(order)
        for key in REST_ONLY:
            row.pop(key, None)
        filled = sum((f.quantity for f in fills), Decimal(0))
        quote = sum((f.price * f.quantity for f in fills), Decimal(0))
        row.update(accFillSz=num(filled), avgPx=num(quote / filled) if filled else "0",
                   fee=num(-sum((f.fee for f in fills), Decimal(0))), state=state, cancelSource="",
                   uTime=str(fill.ts_ms if fill is not None else order.created_ms))
        return row | WS_EXTRAS | self._fill_fields(order, fill)

    def _fill_row(self, order: SimOrder, fill: SimFill) -> Row:
        wire = self._private.wire_of(order)
        return {"instId": inst_id(fill.symbol), "fillSz": num(fill.quantity), "fillPx": num(fill.price),
                "side": fill.side.name.lower(), "ts": str(fill.ts_ms), "ordId": wire.ord_id,
                "clOrdId": wire.cl_ord_id if _numeric_id(wire.cl_ord_id) else "",
                "tradeId": str(TRADE_ID_BASE + fill.trade_id), "execType": "T", "count": "1"}

    def _account_rows(self, account: str, arg: Mapping[str, Any], now: int,
                      symbol: Symbol | None) -> list[Row]:
        ccy = arg.get("ccy")
        if symbol is not None:
            assets = [symbol.base, symbol.quote]
        else:
            assets = held_assets(self._private.ledger, account)
        assets = [a for a in assets if not ccy or a == ccy]
        if not assets:
            return []
        private = self._private
        return [balance_json(private.ledger, private.market, private.name, account, assets, now, pushed=True)]

    def _account_frame(self, account: str, arg: Mapping[str, Any], event: str, symbol: Symbol | None) -> str:
        uid = self._uids.get(account, str(UID_BASE))
        wire_arg = {"channel": ACCOUNT, **({"ccy": arg["ccy"]} if arg.get("ccy") else {}), "uid": uid}
        return json.dumps({"arg": wire_arg, "eventType": event, "curPage": 1, "lastPage": True,
                           "data": self._account_rows(account, arg, self._clock_ms(), symbol)})
