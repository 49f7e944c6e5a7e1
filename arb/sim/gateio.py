"""Gate.io dialect of the simulator: spot v4 REST and the ``/ws/v4/`` WebSocket, public and private.

Written from the fact sheet, independently of `arb.venues.gateio`. Served so far: ``GET
/api/v4/spot/time``, ``/spot/currency_pairs``, ``/spot/order_book`` (``with_id``, at most 100 levels);
WebSocket ``/ws/v4/`` with subscribe / unsubscribe acks, ``spot.ping`` -> ``spot.pong`` and
``spot.order_book_update`` diffs, and the order book V2 channel ``spot.obu`` (``ob.PAIR.LEVEL``: a
``full`` snapshot of the top LEVEL levels first, then the same diffs with ``U``/``u``); the signed order
and account routes of `arb.sim.gateio_private` over the shared matching engine and ledger (funded
``sim-key`` account); on the same socket the signed private channels ``spot.orders`` / ``spot.usertrades`` /
``spot.balances`` of `arb.sim.gateio_user`; public trades (``/spot/trades``, the ``spot.trades``
channel), tickers and candlesticks in `arb.sim.gateio_market`. Rate limits and faults are added around
the dialect by `arb.sim.server`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal

from aiohttp import WSMsgType, web

from arb.model import Symbol
from arb.sim.accounts import DEFAULT_ACCOUNTS, funded_ledger
from arb.sim.fanout import Subscribers
from arb.sim.gateio_market import TRADES_CHANNEL, GateMarketData
from arb.sim.gateio_private import GatePrivateApi
from arb.sim.gateio_user import CHANNELS as PRIVATE_CHANNELS
from arb.sim.gateio_user import GateUserChannels
from arb.sim.market import BookDiff, Level, MarketModel
from arb.sim.matching import MatchingEngine

NAME = "gateio"
PREFIX = "/api/v4"
DEPTH_CHANNEL = "spot.order_book_update"
OBU_CHANNEL = "spot.obu"  # order book V2: one stream name "ob.<PAIR>.<LEVEL>" per subscription
OBU_LEVELS = ("50", "400")
MAX_LIMIT = 100
TAKER_FEE = Decimal("0.002")  # Gate's standard spot rate (0.2 %), a fraction as /spot/fee prints it
MAKER_FEE = Decimal("0.002")
FEE_PERCENT = format((TAKER_FEE * 100).normalize(), "f")  # currency_pairs print the rate in percent
MAX_BASE_AMOUNT = "1000000"
MAX_QUOTE_AMOUNT = "10000000"


def _fmt(levels: list[Level]) -> list[list[str]]:
    return [[format(price, "f"), format(qty, "f")] for price, qty in levels]


def _pair(symbol: Symbol) -> str:
    return f"{symbol.base}_{symbol.quote}"


def _decimals(step: Decimal) -> int:
    """Gate states tick and step as decimal places: 0.01 -> 2."""
    return max(0, -int(step.normalize().as_tuple().exponent))


class GateDialect:
    """One simulated Gate endpoint over a shared `MarketModel`."""

    def __init__(self, market: MarketModel, clock_ms: Callable[[], int], *,
                 accounts: Mapping[str, tuple[str, str]] = DEFAULT_ACCOUNTS) -> None:
        self.market = market
        self._clock_ms = clock_ms
        self.accounts = dict(accounts)  # api key -> (secret, account)
        self.ledger = funded_ledger(self.accounts)
        self.matching = MatchingEngine(NAME, market, self.ledger, taker_fee=TAKER_FEE, clock_ms=clock_ms)
        self.private = GatePrivateApi(NAME, market, self.ledger, self.matching, self.accounts, clock_ms,
                                      TAKER_FEE, MAKER_FEE)
        self._pairs = {_pair(s): s for s in market.names(NAME)}  # listed or not yet
        self.subscribers = Subscribers()
        # private channels on the same socket: arb.sim.gateio_user
        self.user = GateUserChannels(self._pairs, self.accounts, self.matching, self.ledger, clock_ms,
                                     self.subscribers, self.private)
        market.subscribe(NAME, self._on_diff)
        self.market_data = GateMarketData(market, clock_ms, self.subscribers)  # trades, tickers, candles

    @staticmethod
    def is_user_topic(topic: str) -> bool:
        """Private channels share the market fanout; their topics are ``channel|account|pair``."""
        return topic.split("|", 1)[0] in PRIVATE_CHANNELS

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"{PREFIX}/spot/time", self._time)
        app.router.add_get(f"{PREFIX}/spot/currency_pairs", self._pairs_handler)
        app.router.add_get(f"{PREFIX}/spot/order_book", self._order_book)
        app.router.add_get(f"{PREFIX}/spot/currencies", self._currencies)
        app.router.add_get(f"{PREFIX}/margin/currency_pairs", self._margin_pairs)
        app.router.add_get("/ws/v4/", self._ws)
        self.private.add_routes(app)
        self.market_data.add_routes(app)
        app.on_shutdown.append(self.subscribers.close_all)
        return app

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"server_time": self._clock_ms()})

    async def _pairs_handler(self, request: web.Request) -> web.Response:
        rows = []
        for pair, symbol in self._pairs.items():
            if not self.market.listed(NAME, symbol):
                continue
            spec = self.market.spec(NAME, symbol)
            halted = (NAME, symbol) in self.market.halted
            rows.append({
                "id": pair, "base": symbol.base, "quote": symbol.quote, "fee": FEE_PERCENT,
                "min_base_amount": format(spec.min_qty or spec.step, "f"),
                "min_quote_amount": format(spec.min_notional, "f"), "max_base_amount": MAX_BASE_AMOUNT,
                "max_quote_amount": MAX_QUOTE_AMOUNT,
                "amount_precision": _decimals(spec.step), "precision": _decimals(spec.tick),
                "trade_status": "untradable" if halted else "tradable", "sell_start": 0, "buy_start": 0,
            })
        return web.json_response(rows)

    async def _currencies(self, request: web.Request) -> web.Response:
        """Every asset with its transfer status (public, as Gate publishes it): ``{"currency": "GAS",
        "delisted": false, "withdraw_disabled": true, "withdraw_delayed": false, "deposit_disabled":
        false, "trade_disabled": false, "chain": "GAS"}``."""
        rows = []
        for asset in self.market.assets(NAME):
            deposit, withdraw = self.market.transfer(NAME, asset)
            rows.append({"currency": asset, "delisted": False, "withdraw_disabled": not withdraw,
                         "withdraw_delayed": False, "deposit_disabled": not deposit, "trade_disabled": False,
                         "chain": asset})
        return web.json_response(rows)

    async def _margin_pairs(self, request: web.Request) -> web.Response:
        """No pair is margin-tradable here; clients (ccxt) list them beside the spot pairs."""
        return web.json_response([])

    async def _order_book(self, request: web.Request) -> web.Response:
        symbol = self._pairs.get(request.query.get("currency_pair", ""))
        if symbol is None:
            return web.json_response({"label": "INVALID_CURRENCY_PAIR", "message": "Invalid currency pair"},
                                     status=400)
        try:
            limit = min(int(request.query.get("limit", "10")), MAX_LIMIT)
        except ValueError:
            return web.json_response({"label": "INVALID_PARAM_VALUE", "message": "invalid limit"}, status=400)
        update_id, bids, asks = self.market.snapshot(NAME, symbol, limit)
        now = self._clock_ms()
        body: dict[str, object] = {"current": now, "update": now, "asks": _fmt(asks), "bids": _fmt(bids)}
        if request.query.get("with_id") == "true":
            body = {"id": update_id, **body}
        return web.json_response(body)

    def _reply(self, req: dict[str, object], event: str, error: dict[str, object] | None,
               result: object) -> str:
        now = self._clock_ms()
        return json.dumps({"time": now // 1000, "time_ms": now, "id": req.get("id"), "conn_id": "sim",
                           "channel": req.get("channel"), "event": event, "error": error, "result": result})

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
                    channel, event = req["channel"], req.get("event", "")
                except (ValueError, KeyError, TypeError):
                    await ws.send_str(json.dumps({"error": {"code": 1, "message": "invalid body"}}))
                    continue
                if channel == "spot.ping":
                    await ws.send_str(self._reply({"channel": "spot.pong"}, "", None, None))
                    continue
                if channel in PRIVATE_CHANNELS:
                    error, wanted = self.user.request(req)
                    ok = {"status": "success"}
                    await ws.send_str(self._reply(req, event, error, None if error else ok))
                    if error is None and event == "subscribe":
                        topics |= wanted
                    elif error is None:
                        topics -= wanted
                    continue
                if channel == TRADES_CHANNEL:  # arb.sim.gateio_market
                    await ws.send_str(self.market_data.subscription(req, topics, self._reply))
                    continue
                if channel == OBU_CHANNEL:
                    await self._obu(ws, req, topics)
                    continue
                payload = req.get("payload") or []
                pair = payload[0] if payload else ""
                valid = channel == DEPTH_CHANNEL and pair in self._pairs
                if not valid or event not in ("subscribe", "unsubscribe"):
                    invalid = {"code": 2, "message": "invalid argument"}
                    await ws.send_str(self._reply(req, event, invalid, None))
                    continue
                if event == "subscribe":
                    topics.add(pair)
                else:
                    topics.discard(pair)
                await ws.send_str(self._reply(req, event, None, {"status": "success"}))
        finally:
            self.subscribers.remove(ws)
        return ws

    def _obu_stream(self, payload: object) -> tuple[str, Symbol, int] | None:
        """(stream name, symbol, levels) of an ``ob.<PAIR>.<LEVEL>`` payload, None when invalid."""
        names = payload if isinstance(payload, list) else []
        name = names[0] if len(names) == 1 and isinstance(names[0], str) else ""
        prefix, _, rest = name.partition(".")
        pair, _, level = rest.rpartition(".")
        symbol = self._pairs.get(pair)
        if prefix != "ob" or symbol is None or level not in OBU_LEVELS:
            return None
        return name, symbol, int(level)

    async def _obu(self, ws: web.WebSocketResponse, req: dict[str, object], topics: set[str]) -> None:
        """Subscribe / unsubscribe one ``spot.obu`` stream; a subscription starts with a full snapshot
        queued before any diff after it (a second subscribe of the same stream is refused)."""
        event = req.get("event", "")
        stream = self._obu_stream(req.get("payload"))
        topic = f"{OBU_CHANNEL}|{stream[0]}" if stream else ""
        if stream is None or event not in ("subscribe", "unsubscribe") or (
                event == "subscribe" and topic in topics):
            message = f"Alert sub {stream[0]}" if stream and event == "subscribe" else "invalid argument"
            await ws.send_str(self._reply(req, str(event), {"code": 2, "message": message}, None))
            return
        await ws.send_str(self._reply(req, str(event), None, {"status": "success"}))
        if event == "unsubscribe":
            topics.discard(topic)
            return
        name, symbol, levels = stream
        update_id, bids, asks = self.market.snapshot(NAME, symbol, levels)
        topics.add(topic)  # diffs from here on follow the snapshot in this socket's outbox
        now = self._clock_ms()
        self.subscribers.send(ws, json.dumps({
            "time": now // 1000, "time_ms": now, "channel": OBU_CHANNEL, "event": "update",
            "result": {"t": now, "full": True, "s": name, "u": update_id, "b": _fmt(bids), "a": _fmt(asks)}}))

    def _on_diff(self, diff: BookDiff) -> None:
        pair = _pair(diff.symbol)
        now = self._clock_ms()
        for level in OBU_LEVELS:
            name = f"ob.{pair}.{level}"
            if self.subscribers.wants(f"{OBU_CHANNEL}|{name}"):
                self.subscribers.publish(f"{OBU_CHANNEL}|{name}", json.dumps({
                    "time": now // 1000, "time_ms": now, "channel": OBU_CHANNEL, "event": "update",
                    "result": {"t": now, "s": name, "U": diff.first_id, "u": diff.last_id,
                               "b": _fmt(diff.bids), "a": _fmt(diff.asks)}}))
        if not self.subscribers.wants(pair):
            return
        frame = json.dumps({"time": now // 1000, "time_ms": now, "channel": DEPTH_CHANNEL, "event": "update",
                            "result": {"t": now, "e": "depthUpdate", "E": now // 1000,
                                       "s": pair, "U": diff.first_id, "u": diff.last_id,
                                       "b": _fmt(diff.bids), "a": _fmt(diff.asks)}})
        self.subscribers.publish(pair, frame)
