"""MEXC dialect of the simulator: spot v3 public REST, JSON control and protobuf depth pushes.

Written from the fact sheet, independently of `arb.venues.mexc`; it shares only the generated wire
schema (`arb.venues.mexc.proto`). Served so far: ``GET /api/v3/time``, ``/api/v3/exchangeInfo``
(MEXC's own field names), ``/api/v3/depth``; WebSocket ``/ws`` with SUBSCRIPTION acks ``{"id",
"code": 0, "msg"}``, ``PING`` -> ``PONG``, and ``spot@public.aggre.depth.v3.api.pb@100ms@SYM``
pushes as binary ``PushDataV3ApiWrapper`` frames. Private channels, limits and faults come later.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

from aiohttp import WSMsgType, web

from arb.model import Symbol
from arb.sim.fanout import Subscribers
from arb.sim.market import BookDiff, Level, MarketModel
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

NAME = "mexc"
DEPTH_EVENT = "spot@public.aggre.depth.v3.api.pb@100ms"
MAX_SUBSCRIPTIONS = 30


def _fmt(levels: list[Level]) -> list[list[str]]:
    return [[format(price, "f"), format(qty, "f")] for price, qty in levels]


def _name(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}"


def _decimals(step: Decimal) -> int:
    return max(0, -int(step.normalize().as_tuple().exponent))


class MexcDialect:
    """One simulated MEXC endpoint over a shared `MarketModel`."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int]) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self._symbols = {_name(s): s for s in market.specs}
        self.subscribers = Subscribers()
        market.subscribe(NAME, self._on_diff)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/ws", self._ws)
        app.on_shutdown.append(self.subscribers.close_all)
        return app

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self._clock_ms()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        rows = []
        for name, symbol in self._symbols.items():
            spec = self.market.specs[symbol]
            online = (NAME, symbol) not in self.market.halted
            rows.append({
                "symbol": name, "status": "1" if online else "2", "baseAsset": symbol.base,
                "baseAssetPrecision": str(_decimals(spec.step)), "quoteAsset": symbol.quote,
                "quotePrecision": str(_decimals(spec.tick)), "quoteAssetPrecision": str(_decimals(spec.tick)),
                "baseSizePrecision": format(spec.min_qty or spec.step, "f"),
                "quoteAmountPrecision": format(spec.min_notional, "f"), "maxQuoteAmount": "5000000",
                "isSpotTradingAllowed": True, "orderTypes": ["LIMIT", "MARKET", "LIMIT_MAKER"],
                "filters": [], "makerCommission": "0", "takerCommission": "0.0005",
            })
        return web.json_response({"timezone": "CST", "serverTime": self._clock_ms(), "rateLimits": [],
                                  "exchangeFilters": [], "symbols": rows})

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = self._symbols.get(request.query.get("symbol", ""))
        if symbol is None:
            return web.json_response({"code": 10007, "msg": "bad symbol"}, status=400)
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return web.json_response({"code": 33333, "msg": "Parameter error"}, status=400)
        update_id, bids, asks = self.market.snapshot(NAME, symbol, min(limit, 5000))
        return web.json_response({"lastUpdateId": update_id, "bids": _fmt(bids), "asks": _fmt(asks),
                                  "timestamp": self._clock_ms()})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        topics = self.subscribers.add(ws)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    method, params, request_id = req["method"], req.get("params", []), req.get("id", 0)
                except (ValueError, KeyError, TypeError):
                    await ws.send_str(json.dumps({"id": 0, "code": 1, "msg": "Invalid JSON"}))
                    continue
                if method == "PING":
                    await ws.send_str(json.dumps({"id": request_id, "code": 0, "msg": "PONG"}))
                elif method in ("SUBSCRIPTION", "UNSUBSCRIPTION"):
                    wanted = [p for p in params if p.startswith(DEPTH_EVENT + "@")
                              and p.rsplit("@", 1)[1] in self._symbols]
                    if len(wanted) != len(params) or len(topics | set(wanted)) > MAX_SUBSCRIPTIONS:
                        await ws.send_str(json.dumps({"id": request_id, "code": 1,
                                                      "msg": "Not Subscribed successfully! [" +
                                                      ",".join(params) + "].  Reason: Blocked! "}))
                        continue
                    if method == "SUBSCRIPTION":
                        topics.update(wanted)
                    else:
                        topics.difference_update(wanted)
                    await ws.send_str(json.dumps({"id": request_id, "code": 0, "msg": ",".join(params)}))
                else:
                    await ws.send_str(json.dumps({"id": request_id, "code": 1, "msg": "Unknown method"}))
        finally:
            self.subscribers.remove(ws)
        return ws

    def _on_diff(self, diff: BookDiff) -> None:
        name = _name(diff.symbol)
        channel = f"{DEPTH_EVENT}@{name}"
        if not self.subscribers.wants(channel):
            return
        wrapper = PushDataV3ApiWrapper(channel=channel, symbol=name, sendTime=self._clock_ms())
        body = wrapper.publicAggreDepths
        body.eventType = DEPTH_EVENT
        body.fromVersion, body.toVersion = str(diff.first_id), str(diff.last_id)
        for price, qty in diff.bids:
            body.bids.add(price=format(price, "f"), quantity=format(qty, "f"))
        for price, qty in diff.asks:
            body.asks.add(price=format(price, "f"), quantity=format(qty, "f"))
        self.subscribers.publish(channel, wrapper.SerializeToString())
