"""Binance dialect of the simulator: public REST and combined depth streams in Binance's wire format.

Written from the protocol fact sheet, independently of the client in `arb.venues.binance` (the
simulator shares the wire schema with the client, not its code). Served so far: ``GET
/api/v3/time``, ``/api/v3/exchangeInfo``, ``/api/v3/depth``; WebSocket ``/stream`` (combined
streams: SUBSCRIBE / UNSUBSCRIBE with ``{"result": null, "id": N}`` acks, ``<sym>@depth@100ms``
diffs with ``U``/``u``). Each diff is encoded once and sent to every subscribed socket.
Private endpoints, trades and the rate-limit and fault behaviour are still to come.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from aiohttp import WSMsgType, web

from arb.model import Symbol
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
        self._sockets: dict[web.WebSocketResponse, set[str]] = {}
        self._outbox: dict[web.WebSocketResponse, asyncio.Queue[str]] = {}
        market.subscribe(NAME, self._on_diff)
        self.frames_sent = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/ws", self._stream)
        app.on_shutdown.append(self._close_sockets)
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
        streams: set[str] = set()
        self._sockets[ws] = streams
        outbox: asyncio.Queue[str] = asyncio.Queue()
        self._outbox[ws] = outbox
        sender = asyncio.get_running_loop().create_task(self._sender(ws, outbox))
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
            self._sockets.pop(ws, None)
            self._outbox.pop(ws, None)
            sender.cancel()
        return ws

    @staticmethod
    async def _sender(ws: web.WebSocketResponse, outbox: asyncio.Queue[str]) -> None:
        """Diffs are produced synchronously by the market; one sender per socket keeps their order."""
        while True:
            frame = await outbox.get()
            if ws.closed:
                return
            await ws.send_str(frame)

    def _on_diff(self, diff: BookDiff) -> None:
        stream = f"{diff.symbol.base}{diff.symbol.quote}".lower() + DEPTH_SUFFIX
        targets = [ws for ws, streams in self._sockets.items() if stream in streams and not ws.closed]
        if not targets:
            return
        frame = json.dumps({"stream": stream, "data": {
            "e": "depthUpdate", "E": diff.ts_ns // 1_000_000, "s": stream.split("@")[0].upper(),
            "U": diff.first_id, "u": diff.last_id, "b": _fmt(diff.bids), "a": _fmt(diff.asks)}})
        for ws in targets:
            self.frames_sent += 1
            self._outbox[ws].put_nowait(frame)

    async def _close_sockets(self, app: web.Application) -> None:
        for ws in list(self._sockets):
            await ws.close()


def symbol_stream(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}".lower() + DEPTH_SUFFIX
