"""Gate.io private channels of the simulator: ``spot.orders``, ``spot.usertrades``, ``spot.balances``.

Written from the fact sheet (§2.3, §2.8, §2.10), independently of `arb.venues.gateio`. They share
the public ``/ws/v4/`` socket (`arb.sim.gateio` hands their requests here), so a server-side
disconnect and the stream faults reach them too.

- Every subscribe / unsubscribe carries ``auth: {"method": "api_key", "KEY", "SIGN"}`` with SIGN =
  hex(HMAC-SHA512(secret, ``channel=<ch>&event=<ev>&time=<time>``)) over the request's ``time``
  (seconds). A missing or malformed block, an unknown key, a bad SIGN or a ``time`` more than 60 s
  off the venue clock is answered ``error: {"code": 4, "message": "{\\"label\\": ..., \\"message\\":
  ...}\\n"}`` (the REST label, as Gate nests it) and nothing is subscribed.
- ``spot.orders`` / ``spot.usertrades`` take ``["!all"]`` or a list of pairs (an unknown pair or no
  payload: code 2); ``spot.balances`` takes no payload. Subscribing again adds.
- Every matching-engine call of the account pushes, in order: ``spot.orders`` ``put`` (a new order,
  nothing filled); per fill one ``spot.usertrades`` row (``id`` = the trade id, as /spot/my_trades
  prints it) followed by a ``spot.orders`` ``update`` with the cumulative amounts, except after the
  last fill of an order that ends; ``finish`` (``finish_as`` filled / cancelled / ioc / fok) when the
  order ended, a cancel included; then one ``spot.balances`` push with the absolute available /
  freeze of the pair's two assets and their change since the previous push.
Envelopes are the real samples': ``{"time", "time_ms", "channel", "event": "update", "result": [...]}``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from arb.model import Side, Symbol
from arb.sim.accounts import GATE_WINDOW_S, AuthFailure
from arb.sim.fanout import Subscribers
from arb.sim.gateio_private import AUTH_ERRORS, GatePrivateApi, num, pair_name
from arb.sim.matching import Ledger, MatchingEngine, SimFill, SimOrder

ORDERS: Final = "spot.orders"
USER_TRADES: Final = "spot.usertrades"
BALANCES: Final = "spot.balances"
CHANNELS: Final = frozenset({ORDERS, USER_TRADES, BALANCES})
ALL_PAIRS: Final = "!all"
AUTH_FAILED: Final = 4
INVALID_ARGUMENT: Final = 2
FIRST_UID: Final = 10001  # the first account's user id (the REST fee route prints the same)
ZERO: Final = Decimal(0)
AVG_QUANTUM: Final = Decimal("1e-12")
LIVE: Final = frozenset({"NEW", "PARTIALLY_FILLED"})
# Order fields the WebSocket order object does not carry (ws_orders_update.json)
REST_ONLY: Final = ("status", "iceberg", "fill_price", "gt_maker_fee", "gt_taker_fee", "gt_discount")

Error = dict[str, object]


def ws_signature(secret: str, channel: str, event: str, time_s: object) -> str:
    """hex(HMAC-SHA512(secret, ``channel=<channel>&event=<event>&time=<time>``)) (fact sheet §2.8)."""
    payload = f"channel={channel}&event={event}&time={time_s}"
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha512).hexdigest()


def check_ws_auth(req: Mapping[str, Any], accounts: Mapping[str, tuple[str, str]],
                  clock_ms: Callable[[], int]) -> str | AuthFailure:
    """The account of a correctly signed private-channel request, else why it is refused."""
    auth = req.get("auth")
    if not isinstance(auth, dict) or auth.get("method") != "api_key":
        return AuthFailure.PARAMS
    key, sign, stamp = auth.get("KEY"), auth.get("SIGN"), req.get("time")
    if not isinstance(key, str) or not isinstance(sign, str) or not key or not sign:
        return AuthFailure.PARAMS
    if key not in accounts:
        return AuthFailure.KEY
    if not isinstance(stamp, int) or isinstance(stamp, bool):
        return AuthFailure.PARAMS
    secret, account = accounts[key]
    expected = ws_signature(secret, str(req.get("channel")), str(req.get("event")), stamp)
    if not hmac.compare_digest(sign.lower(), expected):
        return AuthFailure.SIGNATURE
    if abs(clock_ms() // 1000 - stamp) > GATE_WINDOW_S:
        return AuthFailure.TIMESTAMP
    return account


def auth_error(failure: AuthFailure) -> Error:
    """Gate's code 4, with the REST label and message nested as a JSON string."""
    _, label, message = AUTH_ERRORS[failure]
    return {"code": AUTH_FAILED, "message": json.dumps({"label": label, "message": message}) + "\n"}


class GateUserChannels:
    """Private-channel requests and pushes over one venue's matching engine and ledger."""

    def __init__(self, pairs: Mapping[str, Symbol], accounts: Mapping[str, tuple[str, str]],
                 matching: MatchingEngine, ledger: Ledger, clock_ms: Callable[[], int],
                 subscribers: Subscribers, private: GatePrivateApi) -> None:
        self._pairs = pairs
        self._accounts = accounts
        self._ledger = ledger
        self._clock_ms = clock_ms
        self._subscribers = subscribers
        self._private = private
        names = list(dict.fromkeys(account for _, account in accounts.values()))
        self._uids = {account: FIRST_UID + i for i, account in enumerate(names)}
        self._announced: set[int] = set()  # orders already pushed as ``put`` (a later call ends them)
        self._reported: dict[tuple[str, str], tuple[Decimal, Decimal]] = {  # (total, freeze) last pushed
            (account, asset): (free + locked, locked)
            for account in names for asset, (free, locked) in ledger.balances(account).items()}
        self.subscribes = 0  # accepted subscribe requests (tests count resubscriptions)
        self.refusals = 0
        matching.listeners.append(self._on_order)

    # ------------------------------------------------------------------ requests

    def request(self, req: Mapping[str, Any]) -> tuple[Error | None, set[str]]:
        """(error, topics) for a subscribe / unsubscribe of a private channel; the caller acks it and
        then adds (or removes) the topics on the socket, so the ack precedes every push."""
        channel, event = req.get("channel"), req.get("event")
        if channel not in CHANNELS or event not in ("subscribe", "unsubscribe"):
            return {"code": INVALID_ARGUMENT, "message": f"invalid event {event!r}"}, set()
        account = check_ws_auth(req, self._accounts, self._clock_ms)
        if isinstance(account, AuthFailure):
            self.refusals += 1
            return auth_error(account), set()
        if channel == BALANCES:
            topics = {self.topic(BALANCES, account)}
        else:
            payload = req.get("payload")
            if not isinstance(payload, list) or not payload:
                return {"code": INVALID_ARGUMENT, "message": f"{channel} needs a payload"}, set()
            names = list(self._pairs) if ALL_PAIRS in payload else payload
            unknown = [p for p in names if p not in self._pairs]
            if unknown:
                return {"code": INVALID_ARGUMENT, "message": f"unknown currency pair {unknown[0]}"}, set()
            topics = {self.topic(channel, account, pair) for pair in names}
        if event == "subscribe":
            self.subscribes += 1
        return None, topics

    @staticmethod
    def topic(channel: str, account: str, pair: str = "") -> str:
        return f"{channel}|{account}|{pair}"

    # ------------------------------------------------------------------ pushes

    def _on_order(self, order: SimOrder, fills: list[SimFill]) -> None:
        placed = order.order_id not in self._announced
        self._announced.add(order.order_id)
        account, now = order.account, self._clock_ms()
        pair = pair_name(order.symbol)
        orders_topic, trades_topic = self.topic(ORDERS, account, pair), self.topic(USER_TRADES, account, pair)
        ended = order.status not in LIVE
        if self._subscribers.wants(orders_topic) or self._subscribers.wants(trades_topic):
            if placed:
                self._push(orders_topic, ORDERS, [self._order_row(order, "put", now, [])])
                for i, fill in enumerate(fills):
                    self._push(trades_topic, USER_TRADES, [self._trade_row(order, fill)])
                    if not (ended and i == len(fills) - 1):
                        row = self._order_row(order, "update", now, fills[:i + 1])
                        self._push(orders_topic, ORDERS, [row])
            if ended:
                self._push(orders_topic, ORDERS, [self._order_row(order, "finish", now, None)])
        change = "order-create" if placed and not fills else "order-match" if fills else "order-cancel"
        rows = [self._balance_row(account, asset, change, now)
                for asset in (order.symbol.base, order.symbol.quote)]
        self._push(self.topic(BALANCES, account), BALANCES, rows)

    def _push(self, topic: str, channel: str, rows: list[dict[str, object]]) -> None:
        if not self._subscribers.wants(topic):
            return
        now = self._clock_ms()
        self._subscribers.publish(topic, json.dumps({"time": now // 1000, "time_ms": now, "channel": channel,
                                                     "event": "update", "result": rows}))

    def _order_row(self, order: SimOrder, event: str, now: int,
                   fills: list[SimFill] | None) -> dict[str, object]:
        """The order as of `fills` (its first fills; None: its current state) with the WS extras."""
        row = self._private.order_json(order)
        for key in REST_ONLY:
            row.pop(key, None)
        updated = order.updated_ms
        if fills is not None:  # an earlier state than the order's current one
            wire = self._private.wire_of(order)
            filled = sum((f.quantity for f in fills), ZERO)
            quote = sum((f.price * f.quantity for f in fills), ZERO)
            market_buy = order.kind == "MARKET" and order.side is Side.BUY
            avg = (quote / filled).quantize(AVG_QUANTUM) if filled else ZERO
            row.update(left=num(max(wire.amount - (quote if market_buy else filled), ZERO)),
                       filled_amount=num(filled), filled_total=num(quote), avg_deal_price=num(avg),
                       fee=num(sum((f.fee for f in fills), ZERO)), finish_as="open")
            updated = order.created_ms if not fills else now
        row.update(update_time=str(updated // 1000), create_time_ms=str(order.created_ms),
                   update_time_ms=str(updated), user=self._uids.get(order.account, FIRST_UID), event=event,
                   stp_id=0, stp_act="-", biz_info="-")
        return row

    def _trade_row(self, order: SimOrder, fill: SimFill) -> dict[str, object]:
        return {
            "id": fill.trade_id, "user_id": self._uids.get(order.account, FIRST_UID),
            "order_id": str(fill.order_id), "currency_pair": pair_name(fill.symbol),
            "create_time": fill.ts_ms // 1000, "create_time_ms": f"{fill.ts_ms}.000",
            "side": fill.side.name.lower(), "amount": num(fill.quantity), "role": "taker",
            "price": num(fill.price), "fee": num(fill.fee), "fee_currency": fill.fee_asset, "point_fee": "0",
            "gt_fee": "0", "text": self._private.wire_of(order).text, "amend_text": "-", "biz_info": "-",
        }

    def _balance_row(self, account: str, asset: str, change_type: str, now: int) -> dict[str, object]:
        free, freeze = self._ledger.free(account, asset), self._ledger.locked(account, asset)
        total = free + freeze
        last_total, last_freeze = self._reported.get((account, asset), (ZERO, ZERO))
        self._reported[(account, asset)] = (total, freeze)
        return {
            "timestamp": str(now // 1000), "timestamp_ms": str(now),
            "user": str(self._uids.get(account, FIRST_UID)), "currency": asset,
            "change": num(total - last_total), "total": num(total), "available": num(free),
            "freeze": num(freeze), "freeze_change": num(freeze - last_freeze), "change_type": change_type,
        }
