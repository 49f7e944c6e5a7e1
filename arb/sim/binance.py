"""Binance dialect of the simulator: public REST and combined depth streams in Binance's wire format.

Written from the protocol fact sheet, independently of the client in `arb.venues.binance` (the
simulator shares the wire schema with the client, not its code). Served so far: ``GET
/api/v3/time``, ``/api/v3/exchangeInfo``, ``/api/v3/depth``; WebSocket ``/stream`` (combined
streams: SUBSCRIBE / UNSUBSCRIBE with ``{"result": null, "id": N}`` acks, ``<sym>@depth@100ms``
diffs with ``U``/``u``). Each diff is encoded once and sent to every subscribed socket.
Private endpoints, trades and the rate-limit and fault behaviour are still to come.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import WSMsgType, web

from arb.model import Symbol
from arb.sim.fanout import Subscribers
from arb.sim.market import BookDiff, Level, MarketModel

NAME = "binance"
DEPTH_SUFFIX = "@depth@100ms"
MAX_DEPTH_LIMIT = 5000


def _fmt(levels: list[Level]) -> list[list[str]]:
    return [[format(price, "f"), format(qty, "f")] for price, qty in levels]


def _error(status: int, code: int, msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


class BinanceDialect:
    """One simulated Binance endpoint (REST + market streams) over a shared `MarketModel`."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int]) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self._symbols = {f"{s.base}{s.quote}": s for s in market.specs}
        self.subscribers = Subscribers()
        market.subscribe(NAME, self._on_diff)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/ws", self._stream)
        app.on_shutdown.append(self.subscribers.close_all)
        return app

    # ------------------------------------------------------------------ REST

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"serverTime": self._clock_ms()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        symbols = []
        for name, symbol in self._symbols.items():
            spec = self.market.specs[symbol]
            halted = (NAME, symbol) in self.market.halted
            symbols.append({
                "symbol": name, "status": "HALT" if halted else "TRADING", "baseAsset": symbol.base,
                "quoteAsset": symbol.quote, "isSpotTradingAllowed": True,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": format(spec.tick, "f"),
                     "maxPrice": "1000000.00000000", "tickSize": format(spec.tick, "f")},
                    {"filterType": "LOT_SIZE", "minQty": format(spec.min_qty or spec.step, "f"),
                     "maxQty": "9000000.00000000", "stepSize": format(spec.step, "f")},
                    {"filterType": "NOTIONAL", "minNotional": format(spec.min_notional, "f"),
                     "applyMinToMarket": True, "maxNotional": "9000000.00000000", "applyMaxToMarket": False,
                     "avgPriceMins": 5},
                ],
            })
        return web.json_response({"timezone": "UTC", "serverTime": self._clock_ms(), "rateLimits": [],
                                  "exchangeFilters": [], "symbols": symbols})

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = self._symbols.get(request.query.get("symbol", ""))
        if symbol is None:
            return _error(400, -1121, "Invalid symbol.")
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            return _error(400, -1100, "Illegal characters found in parameter 'limit'.")
        update_id, bids, asks = self.market.snapshot(NAME, symbol, min(limit, MAX_DEPTH_LIMIT))
        return web.json_response({"lastUpdateId": update_id, "bids": _fmt(bids), "asks": _fmt(asks)})

    # ------------------------------------------------------------------ streams

    async def _stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        streams = self.subscribers.add(ws)
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    req = json.loads(msg.data)
                    method, params, request_id = req["method"], req.get("params", []), req.get("id")
                except (ValueError, KeyError, TypeError):
                    invalid = {"error": {"code": 2, "msg": "Invalid request"}, "id": None}
                    await ws.send_str(json.dumps(invalid))
                    continue
                if method == "SUBSCRIBE":
                    streams.update(p for p in params if p.endswith(DEPTH_SUFFIX))
                elif method == "UNSUBSCRIBE":
                    streams.difference_update(params)
                elif method != "LIST_SUBSCRIPTIONS":
                    await ws.send_str(json.dumps({"error": {"code": 1, "msg": f"Unknown method {method}"},
                                                  "id": request_id}))
                    continue
                result = sorted(streams) if method == "LIST_SUBSCRIPTIONS" else None
                await ws.send_str(json.dumps({"result": result, "id": request_id}))
        finally:
            self.subscribers.remove(ws)
        return ws

    def _on_diff(self, diff: BookDiff) -> None:
        stream = symbol_stream(diff.symbol)
        if not self.subscribers.wants(stream):
            return  # encode only what someone listens to
        frame = json.dumps({"stream": stream, "data": {
            "e": "depthUpdate", "E": diff.ts_ns // 1_000_000, "s": f"{diff.symbol.base}{diff.symbol.quote}",
            "U": diff.first_id, "u": diff.last_id, "b": _fmt(diff.bids), "a": _fmt(diff.asks)}})
        self.subscribers.publish(stream, frame)


def symbol_stream(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}".lower() + DEPTH_SUFFIX
