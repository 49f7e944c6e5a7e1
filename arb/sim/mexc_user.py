"""MEXC user data stream of the simulator: listen keys (signed REST) and the private protobuf channels.

Written from the fact sheet (§1.9, §1.10, §1.12), independently of the client; it shares only the
generated wire schema.

- ``POST /api/v3/userDataStream`` -> ``{"listenKey": K}`` (valid `key_ttl_ms`, 60 min unless a
  test shortens it); ``PUT`` with ``listenKey`` extends it by the same; ``DELETE`` ends it;
  ``GET`` -> ``{"listenKey": [...]}``. An unknown or expired key on PUT/DELETE -> 400
  ``{"code": 730706, "msg": "listenKey expired"}`` [sim choice: MEXC's code is not documented].
- WebSocket ``/ws?listenKey=K``: a bad or expired key gets the text frame ``Invalid listen key``,
  then the socket closes; a key that expires (or is `expire`d) while connected closes its sockets.
  ``SUBSCRIPTION`` of ``spot@private.{orders,deals,account}.v3.api.pb`` is acked ``{"id", "code": 0,
  "msg"}``; ``PING`` -> ``PONG``.
- Every matching-engine call of the key's account pushes `PushDataV3ApiWrapper` frames: one
  ``privateDeals`` (306) per fill (trade id as ``/api/v3/myTrades`` prints it), one ``privateOrders``
  (304) with the order's status and cumulative fields, then one ``privateAccount`` (307) per asset
  of the pair with the absolute available/frozen amounts and the change since the last push.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from aiohttp import WSMsgType, web

from arb.model import Side, Symbol
from arb.sim.fanout import Subscribers
from arb.sim.matching import Ledger, MatchingEngine, SimFill, SimOrder
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

PATH: Final = "/api/v3/userDataStream"
ORDERS: Final = "spot@private.orders.v3.api.pb"
DEALS: Final = "spot@private.deals.v3.api.pb"
ACCOUNT: Final = "spot@private.account.v3.api.pb"
CHANNELS: Final = frozenset({ORDERS, DEALS, ACCOUNT})
KEY_TTL_MS: Final = 3_600_000
INVALID_KEY: Final = "Invalid listen key"
EXPIRED: Final = MappingProxyType({"code": 730706, "msg": "listenKey expired"})
EXPIRY_CHECK_S: Final = 0.05
ZERO: Final = Decimal(0)


def rest_trade_id(trade_id: int) -> str:
    """A fill's id as ``GET /api/v3/myTrades`` prints it: 32 hex digits with no visible relation to
    the order or to the user stream's id (sample ``dd44f79dda764c2e927a190ac5e7a1e5``)."""
    return hashlib.sha256(f"mexc-fill-{trade_id}".encode()).hexdigest()[:32]


def stream_trade_id(fill: SimFill) -> str:
    """The same fill's ``tradeId`` on ``spot@private.deals``: the order's number, ``X``, then a fill
    number (sample ``505979017439002624X1`` of order ``C02__505979017439002624115``)."""
    return f"{fill.order_id}X{fill.trade_id}"
# SimOrder (kind, tif) -> privateOrders.orderType (fact sheet §1.8)
ORDER_TYPES: Final = MappingProxyType({("LIMIT", "GTC"): 1, ("LIMIT", "IOC"): 3, ("LIMIT", "FOK"): 4,
                                       ("MARKET", "IOC"): 5, ("MARKET", "GTC"): 5})

Auth = Callable[[web.Request], Awaitable[tuple[str, dict[str, str]] | web.Response]]


def _f(value: Decimal) -> str:
    return format(value, "f")


def _name(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}"


def order_status(order: SimOrder) -> int:
    """1 new, 2 filled, 3 partially filled, 4 canceled, 5 partially canceled (an IOC remainder too)."""
    if order.status == "FILLED":
        return 2
    if order.status in ("CANCELED", "EXPIRED"):
        return 5 if order.filled else 4
    return 3 if order.filled else 1


class MexcUserStreams:
    """Listen keys and private pushes over one venue's matching engine and ledger."""

    def __init__(self, auth: Auth, matching: MatchingEngine, ledger: Ledger, clock_ms: Callable[[], int],
                 *, key_ttl_ms: int = KEY_TTL_MS) -> None:
        self._auth = auth
        self._ledger = ledger
        self._clock_ms = clock_ms
        self.key_ttl_ms = key_ttl_ms
        self.keys: dict[str, tuple[str, int]] = {}  # listen key -> (account, expires at ms)
        self.subscribers = Subscribers()
        self._sockets: dict[web.WebSocketResponse, tuple[str, set[str]]] = {}  # socket -> (key, topics)
        self._reported: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}  # last pushed free/frozen
        self.extends = 0
        self.subscriptions = 0  # accepted SUBSCRIPTION requests (tests count resubscriptions)
        matching.listeners.append(self._on_order)

    def add_routes(self, app: web.Application) -> None:
        for method in ("POST", "PUT", "DELETE", "GET"):
            app.router.add_route(method, PATH, self._listen_key)
        app.on_shutdown.append(self.close)

    async def close(self, app: web.Application | None = None) -> None:
        await self.subscribers.close_all()

    def valid(self, key: str) -> str | None:
        """The key's account while it is valid."""
        entry = self.keys.get(key)
        return entry[0] if entry is not None and entry[1] > self._clock_ms() else None

    def subscribed(self, key: str) -> bool:
        """Some open socket on `key` has all three private channels."""
        account = self.valid(key)
        wanted = {f"{ch}|{account}" for ch in CHANNELS}
        return account is not None and any(
            k == key and wanted <= topics and not ws.closed for ws, (k, topics) in self._sockets.items())

    def expire(self, key: str) -> None:
        """End `key` now (its sockets close within `EXPIRY_CHECK_S`)."""
        self.keys.pop(key, None)

    # ------------------------------------------------------------------ REST

    async def _listen_key(self, request: web.Request) -> web.Response:
        auth = await self._auth(request)
        if isinstance(auth, web.Response):
            return auth
        account, params = auth
        now = self._clock_ms()
        if request.method == "POST":
            key = os.urandom(32).hex()
            self.keys[key] = (account, now + self.key_ttl_ms)
            return web.json_response({"listenKey": key})
        if request.method == "GET":
            return web.json_response({"listenKey": [k for k in self.keys if self.valid(k) == account]})
        key = params.get("listenKey", "")
        if self.valid(key) != account:
            return web.json_response(dict(EXPIRED), status=400)
        if request.method == "PUT":
            self.keys[key] = (account, now + self.key_ttl_ms)
            self.extends += 1
        else:
            self.expire(key)
        return web.json_response({"listenKey": key})

    # ------------------------------------------------------------------ WebSocket

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """``/ws?listenKey=K`` (the dialect routes sockets with a listen key here)."""
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        key = request.query.get("listenKey", "")
        account = self.valid(key)
        if account is None:
            await ws.send_str(INVALID_KEY)
            await ws.close()
            return ws
        topics = self.subscribers.add(ws)
        reply = f"reply/{id(ws)}"
        topics.add(reply)
        self._sockets[ws] = (key, topics)
        watchdog = asyncio.get_running_loop().create_task(self._expiry(ws, key))
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    method, params, request_id = req["method"], req.get("params", []), req.get("id", 0)
                except (ValueError, KeyError, TypeError):
                    self._reply(reply, {"id": 0, "code": 1, "msg": "Invalid JSON"})
                    continue
                if str(method).upper() == "PING":  # ccxt sends "ping": answered too
                    self._reply(reply, {"id": request_id, "code": 0, "msg": "PONG"})
                elif method in ("SUBSCRIPTION", "UNSUBSCRIPTION") and params and set(params) <= CHANNELS:
                    wanted = {f"{p}|{account}" for p in params}
                    self._reply(reply, {"id": request_id, "code": 0, "msg": ",".join(params)})
                    if method == "SUBSCRIPTION":
                        self.subscriptions += 1
                        topics.update(wanted)
                    else:
                        topics.difference_update(wanted)
                elif method in ("SUBSCRIPTION", "UNSUBSCRIPTION"):
                    self._reply(reply, {"id": request_id, "code": 1, "msg": "Not Subscribed successfully! ["
                                        + ",".join(map(str, params)) + "].  Reason: Blocked! "})
                else:
                    self._reply(reply, {"id": request_id, "code": 1, "msg": "Unknown method"})
        finally:
            watchdog.cancel()
            self._sockets.pop(ws, None)
            self.subscribers.remove(ws)
        return ws

    def _reply(self, topic: str, body: Mapping[str, object]) -> None:
        self.subscribers.publish(topic, json.dumps(body))

    async def _expiry(self, ws: web.WebSocketResponse, key: str) -> None:
        while self.valid(key) is not None:
            await asyncio.sleep(EXPIRY_CHECK_S)
        with contextlib.suppress(Exception):
            await ws.close()

    # ------------------------------------------------------------------ pushes

    def _on_order(self, order: SimOrder, fills: list[SimFill]) -> None:
        account, now = order.account, self._clock_ms()
        name = _name(order.symbol)
        for fill in fills:
            self._push(DEALS, account, self._deal(fill, name, now))
        self._push(ORDERS, account, self._order(order, fills, name, now))
        for asset in (order.symbol.base, order.symbol.quote):
            wrapper = self._account(account, asset, "ENTRUST" if fills else "ENTRUST_PLACE", now)
            if wrapper is not None:
                self._push(ACCOUNT, account, wrapper)

    def _push(self, channel: str, account: str, wrapper: PushDataV3ApiWrapper) -> None:
        topic = f"{channel}|{account}"
        if self.subscribers.wants(topic):
            self.subscribers.publish(topic, wrapper.SerializeToString())

    def _deal(self, fill: SimFill, name: str, now: int) -> PushDataV3ApiWrapper:
        wrapper = PushDataV3ApiWrapper(channel=DEALS, symbol=name, sendTime=now)
        body = wrapper.privateDeals
        body.price, body.quantity = _f(fill.price), _f(fill.quantity)
        body.amount = _f(fill.price * fill.quantity)
        body.tradeType = 1 if fill.side is Side.BUY else 2
        body.isMaker, body.isSelfTrade = False, False
        body.tradeId, body.clientOrderId = stream_trade_id(fill), fill.client_id  # not myTrades' id
        body.orderId = f"C02__{fill.order_id}"
        body.feeAmount, body.feeCurrency, body.time = _f(fill.fee), fill.fee_asset, fill.ts_ms
        return wrapper

    def _order(self, order: SimOrder, fills: list[SimFill], name: str, now: int) -> PushDataV3ApiWrapper:
        wrapper = PushDataV3ApiWrapper(channel=ORDERS, symbol=name, sendTime=now)
        body = wrapper.privateOrders
        body.id, body.clientId = f"C02__{order.order_id}", order.client_id
        price = order.price or ZERO
        body.price, body.quantity, body.amount = _f(price), _f(order.quantity), _f(price * order.quantity)
        body.avgPrice = _f(order.quote_filled / order.filled) if order.filled else "0"
        body.orderType = ORDER_TYPES.get((order.kind, order.tif), 1)
        body.tradeType = 1 if order.side is Side.BUY else 2
        body.isMaker = False
        live = order.status in ("NEW", "PARTIALLY_FILLED")
        body.remainQuantity = _f(order.quantity - order.filled) if live else "0"
        body.remainAmount = _f(price * (order.quantity - order.filled)) if live else "0"
        if fills:
            body.lastDealQuantity = _f(fills[-1].quantity)
        body.cumulativeQuantity, body.cumulativeAmount = _f(order.filled), _f(order.quote_filled)
        body.status, body.createTime = order_status(order), order.created_ms
        return wrapper

    def _account(self, account: str, asset: str, reason: str, now: int) -> PushDataV3ApiWrapper | None:
        free, frozen = self._ledger.free(account, asset), self._ledger.locked(account, asset)
        last_free, last_frozen = self._reported.get((account, asset), (None, None))
        if (free, frozen) == (last_free, last_frozen):
            return None
        self._reported[(account, asset)] = (free, frozen)
        wrapper = PushDataV3ApiWrapper(channel=ACCOUNT, createTime=now, sendTime=now)
        body = wrapper.privateAccount
        body.vcoinName, body.coinId = asset, asset.lower()
        body.balanceAmount, body.frozenAmount = _f(free), _f(frozen)
        body.balanceAmountChange = _f(free - (last_free if last_free is not None else free))
        body.frozenAmountChange = _f(frozen - (last_frozen if last_frozen is not None else frozen))
        body.type, body.time = reason, now
        return wrapper
