"""Rate limits as each simulated venue enforces them: weights, windows, headers, 429 and the 418 ban.

Written from the fact sheet (sections 1.6, 2.6, 3.6), independently of the client's pools in
``arb.venues.*.constants``:

- Binance: one request-weight budget per IP per window (endpoint weights, depth by ``limit``),
  reported on every response as ``X-MBX-USED-WEIGHT-<interval>``; new orders also count against
  an order budget, reported as ``X-MBX-ORDER-COUNT-<interval>``. Over: 429 ``-1003`` (``-1015`` for
  orders) with ``Retry-After``.
- Gate: every endpoint has its own budget (public and private per endpoint, orders and cancels
  per account), reported as ``X-Gate-RateLimit-Requests-Remain`` / ``-Limit`` /
  ``-Reset-Timestamp``. Over: 429 with label ``TOO_MANY_REQUESTS``. No ban is documented.
- MEXC: every endpoint has its own weight budget per IP; no usage header. Over: 429 with
  ``{"code": 429}`` and ``Retry-After``.
- OKX: every endpoint has its own budget per 2 s (public per IP, private per user; trade endpoints per
  user and instrument, counted here per endpoint), as a weight against one 600-unit budget (a 10
  requests / 2 s endpoint weighs 60); no usage header. Over: 429 ``{"msg": "Too Many Requests",
  "code": "50011"}``. No ban is documented.
- Bybit: 600 requests per 5 s per IP (over: HTTP 403 "access too frequent" and the IP is banned for
  ``ban_s``, 10 minutes); per UID a per-endpoint budget per second (orders 20, queries 50, fee rate
  5: a weighted budget of 100 with weight 100 / limit), reported on private replies as
  ``X-Bapi-Limit`` / ``-Status`` / ``-Reset-Timestamp`` (ms); over: HTTP 200 ``retCode 10006``.

Windows are fixed (they reset at multiples of their length on the limiter's clock, as Binance's
per-minute counters do). A client that sends again while a ``Retry-After`` it was given has not
run out is ignoring it: after ``ban_after`` such requests the IP is banned (HTTP 418 with
``Retry-After``) for ``ban_s``, on the venues that document a ban. Requests refused with 429/418
still count against the budget, as on the venues.
"""

from __future__ import annotations

import enum
import json
import math
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

import msgspec
from aiohttp import web


class Applies(enum.Enum):
    """Which requests a limit counts."""

    ALL = "all"
    PUBLIC = "public"  # no API key
    PRIVATE = "private"  # with an API key
    ORDERS = "orders"  # new orders
    CANCELS = "cancels"


class LimitRule(msgspec.Struct, frozen=True):
    """`capacity` weight (or requests, when not `weighted`) per `window_s`."""

    name: str
    capacity: int
    window_s: float
    applies: Applies = Applies.ALL
    per_endpoint: bool = False  # one budget per endpoint (method + route) instead of one per IP
    weighted: bool = True  # draws the endpoint's weight; else every request counts 1


class SimLimits(msgspec.Struct, frozen=True):
    """One simulated venue's limits; `ban_after` None means the venue never bans."""

    rules: tuple[LimitRule, ...]
    # requests received while a Retry-After given to the IP runs, before the 418 ban; the ones a
    # client already had in flight when the first 429 went out count too, hence the margin
    ban_after: int | None = 10
    ban_s: float = 120.0


UNLIMITED: Final = SimLimits(rules=(), ban_after=None)

DEFAULT_LIMITS: Final[Mapping[str, SimLimits]] = MappingProxyType({
    "binance": SimLimits(rules=(
        LimitRule("weight", 6000, 60.0),
        LimitRule("orders", 100, 10.0, Applies.ORDERS, weighted=False),
        LimitRule("orders_day", 200_000, 86_400.0, Applies.ORDERS, weighted=False),
    )),
    "gateio": SimLimits(rules=(
        LimitRule("public", 200, 10.0, Applies.PUBLIC, per_endpoint=True, weighted=False),
        LimitRule("private", 200, 10.0, Applies.PRIVATE, per_endpoint=True, weighted=False),
        LimitRule("orders", 10, 1.0, Applies.ORDERS, weighted=False),
        LimitRule("cancels", 200, 1.0, Applies.CANCELS, weighted=False),
    ), ban_after=None),
    "mexc": SimLimits(rules=(LimitRule("endpoint", 500, 10.0, per_endpoint=True),)),
    "okx": SimLimits(rules=(LimitRule("endpoint", 600, 2.0, per_endpoint=True),), ban_after=None),
    "bybit": SimLimits(rules=(
        LimitRule("ip", 600, 5.0, weighted=False),
        LimitRule("uid", 100, 1.0, Applies.PRIVATE, per_endpoint=True),
    ), ban_after=None, ban_s=600.0),
})

# ---------------------------------------------------------------------------- venue facts


def _binance_weight(method: str, path: str, query: Mapping[str, str]) -> int:
    if path == "/api/v3/depth":
        limit = int(query.get("limit", "100")) if query.get("limit", "100").isdigit() else 100
        return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
    if path == "/api/v3/order":
        return 4 if method == "GET" else 1
    if path == "/api/v3/openOrders":
        return 6 if "symbol" in query else 80
    if path == "/api/v3/ticker/24hr":  # 2 per symbol; 2/40/80 for 1-20/21-100/101+ `symbols`; 80 for all
        if "symbol" in query:
            return 2
        count = query.get("symbols", "").count(",") + 1 if "symbols" in query else 101
        return 2 if count <= 20 else 40 if count <= 100 else 80
    return BINANCE_WEIGHTS.get(path, 1)


def _mexc_weight(method: str, path: str, query: Mapping[str, str]) -> int:
    if path == "/api/v3/order":
        return 2 if method == "GET" else 1
    if path == "/api/v3/ticker/24hr" and "symbol" not in query:
        return 40  # every symbol
    return MEXC_WEIGHTS.get(path, 1)


def _gate_weight(method: str, path: str, query: Mapping[str, str]) -> int:
    return 1


def _okx_weight(method: str, path: str, query: Mapping[str, str]) -> int:
    return 600 // OKX_REQUESTS_PER_2S.get(path, 20)


def _bybit_weight(method: str, path: str, query: Mapping[str, str]) -> int:
    return BYBIT_UID_BUDGET // BYBIT_PER_SECOND.get(path, 50)


BYBIT_UID_BUDGET: Final = 100  # the "uid" rule's capacity: an endpoint's weight is this / its limit per s
BYBIT_PER_SECOND: Final = MappingProxyType({
    "/v5/order/create": 20, "/v5/order/cancel": 20, "/v5/order/amend": 10, "/v5/order/cancel-all": 20,
    "/v5/order/realtime": 50, "/v5/order/history": 50, "/v5/execution/list": 50,
    "/v5/account/wallet-balance": 50, "/v5/account/fee-rate": 5,
    "/v5/asset/coin/query-info": 2,  # ccxt 4.5.90 costs it 25 of a 50/s budget
})
BINANCE_WEIGHTS: Final = MappingProxyType({
    "/api/v3/ping": 1, "/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/trades": 25,
    "/api/v3/klines": 2, "/api/v3/ticker/24hr": 2, "/api/v3/account": 20, "/api/v3/myTrades": 20,
    "/api/v3/account/commission": 20, "/api/v3/allOrders": 20,
    "/sapi/v1/capital/config/getall": 10,  # a SAPI weight: counted in the one budget here
    "/sapi/v1/asset/tradeFee": 1,
})
MEXC_WEIGHTS: Final = MappingProxyType({
    "/api/v3/ping": 1, "/api/v3/time": 1, "/api/v3/exchangeInfo": 10, "/api/v3/depth": 1,
    "/api/v3/trades": 5, "/api/v3/klines": 1, "/api/v3/ticker/24hr": 1, "/api/v3/openOrders": 3,
    "/api/v3/account": 10, "/api/v3/myTrades": 10, "/api/v3/tradeFee": 20,
    "/api/v3/capital/config/getall": 10,
})

OKX_REQUESTS_PER_2S: Final = MappingProxyType({  # fact sheet §1.2, §1.3
    "/api/v5/public/time": 10, "/api/v5/public/instruments": 20, "/api/v5/market/books": 40,
    "/api/v5/market/books-full": 10, "/api/v5/market/ticker": 20, "/api/v5/market/tickers": 20,
    "/api/v5/market/trades": 100, "/api/v5/market/candles": 40, "/api/v5/trade/order": 60,
    "/api/v5/trade/cancel-order": 60,
    "/api/v5/trade/orders-pending": 60, "/api/v5/trade/orders-history": 40,
    "/api/v5/trade/orders-history-archive": 20, "/api/v5/trade/fills": 60, "/api/v5/trade/fills-history": 10,
    "/api/v5/account/balance": 10, "/api/v5/account/trade-fee": 5,
    "/api/v5/asset/currencies": 12,  # 6 requests per second per user
})


class VenueFacts(msgspec.Struct, frozen=True):
    """What the limiter needs to know about a venue's requests and replies."""

    key_header: str  # an API key marks a private request
    order_paths: frozenset[str]  # POST here is a new order, DELETE a cancel
    weight: Callable[[str, str, Mapping[str, str]], int]
    style: str  # "binance" | "gate" | "mexc" | "okx" | "bybit": which headers and bodies


FACTS: Final[Mapping[str, VenueFacts]] = MappingProxyType({
    "binance": VenueFacts("X-MBX-APIKEY", frozenset({"/api/v3/order"}), _binance_weight, "binance"),
    "gateio": VenueFacts("KEY", frozenset({"/api/v4/spot/orders", "/api/v4/spot/batch_orders"}),
                         _gate_weight, "gate"),
    "mexc": VenueFacts("X-MEXC-APIKEY", frozenset({"/api/v3/order"}), _mexc_weight, "mexc"),
    "okx": VenueFacts("OK-ACCESS-KEY", frozenset({"/api/v5/trade/order"}), _okx_weight, "okx"),
    "bybit": VenueFacts("X-BAPI-API-KEY", frozenset({"/v5/order/create"}), _bybit_weight, "bybit"),
})


def interval_tag(window_s: float) -> str:
    """Binance's header interval: 60 s -> ``1M``, 10 s -> ``10S``, 86400 s -> ``1D``."""
    for unit, seconds in (("D", 86_400), ("H", 3600), ("M", 60)):
        if window_s >= seconds and window_s % seconds == 0:
            return f"{int(window_s // seconds)}{unit}"
    return f"{max(int(window_s), 1)}S"


# ---------------------------------------------------------------------------- the limiter


class Verdict(NamedTuple):
    """The outcome of counting one request: a refusal to send, or headers to add to the reply."""

    refusal: web.Response | None
    headers: dict[str, str]
    order_headers: dict[str, str]  # only on successful new orders (Binance)


class SimLimiter:
    """Counts one venue's requests in fixed windows and decides 200 / 429 / 418.

    Parameters
    ----------
    venue:
        Simulated venue name (its `FACTS` pick weights, headers and error bodies).
    limits:
        Its budgets (`DEFAULT_LIMITS[venue]` on the simulator unless told otherwise).
    clock:
        Seconds (wall clock by default; tests inject the virtual time their client uses too).
    """

    def __init__(self, venue: str, limits: SimLimits, *, clock: Callable[[], float] = time.time) -> None:
        self.venue = venue
        self.limits = limits
        self.facts = FACTS[venue]
        self._clock = clock
        self._used: dict[tuple[str, str, str], tuple[float, int]] = {}  # (rule, ip, endpoint) -> window, used
        self._told_until: dict[str, float] = {}  # ip (+ endpoint) -> end of the last Retry-After given
        self._ignored: dict[str, int] = {}  # ip -> requests sent while told to wait
        self.banned_until: dict[str, float] = {}
        self.requests = 0  # every REST request received (refused ones too)
        self.throttled = 0  # answered 429
        self.bans = 0  # bans imposed
        self.banned_replies = 0  # answered 418
        self.log: list[tuple[float, str, int]] = []  # (time, "METHOD route", status) per request

    def tell_wait(self, ip: str, seconds: float) -> None:
        """A 429 with ``Retry-After: seconds`` went to `ip` from elsewhere (a canned fault reply): the
        requests `ip` sends before it runs out count toward the ban as if this limiter had sent it."""
        self._told_until[ip] = max(self._told_until.get(ip, 0.0), self._clock() + seconds)

    def used(self, rule: str, ip: str = "127.0.0.1", endpoint: str = "") -> int:
        """Weight used in the current window of one budget."""
        window, used = self._used.get((rule, ip, endpoint), (0.0, 0))
        spec = next(r for r in self.limits.rules if r.name == rule)
        return used if window == self._window(spec, self._clock()) else 0

    @staticmethod
    def _window(rule: LimitRule, now: float) -> float:
        return math.floor(now / rule.window_s) * rule.window_s

    def _applies(self, rule: LimitRule, method: str, path: str, private: bool) -> bool:
        kind = rule.applies
        if kind is Applies.ALL:
            return True
        if kind is Applies.PUBLIC or kind is Applies.PRIVATE:
            return private is (kind is Applies.PRIVATE)
        if kind is Applies.ORDERS:
            return method == "POST" and path in self.facts.order_paths
        return method == "DELETE" and (path in self.facts.order_paths or any(
            path.startswith(p + "/") for p in self.facts.order_paths))

    def check(self, request: web.Request, route: str) -> Verdict:
        """Count `request` (route = its endpoint's canonical path) and decide."""
        now = self._clock()
        ip = request.remote or "?"
        method, path = request.method, request.path
        self.requests += 1
        banned = self.banned_until.get(ip, 0.0)
        if now < banned:
            return self._refuse(now, method, route, self._ban_reply(banned - now, banned))
        private = self.facts.key_header in request.headers
        weight = self.facts.weight(method, path, request.query)
        over: LimitRule | None = None
        retry_after = 0.0
        headers: dict[str, str] = {}
        order_headers: dict[str, str] = {}
        gate_remain: tuple[int, int, float] | None = None
        for rule in self.limits.rules:
            if not self._applies(rule, method, path, private):
                continue
            endpoint = f"{method} {route}" if rule.per_endpoint else ""
            key = (rule.name, ip, endpoint)
            window = self._window(rule, now)
            start, used = self._used.get(key, (window, 0))
            if start != window:
                used = 0
            used += weight if rule.weighted else 1
            self._used[key] = (window, used)
            reset = window + rule.window_s
            if used > rule.capacity and over is None:
                over, retry_after = rule, reset - now
            remain = max(rule.capacity - used, 0)
            if gate_remain is None or remain < gate_remain[0]:
                gate_remain = (remain, rule.capacity, reset if remain == 0 else now)
            if self.facts.style == "binance":
                tag = interval_tag(rule.window_s)
                if rule.applies is Applies.ORDERS:
                    order_headers[f"X-MBX-ORDER-COUNT-{tag}"] = str(used)
                else:
                    headers[f"X-MBX-USED-WEIGHT-{tag}"] = str(used)
            elif self.facts.style == "bybit" and rule.per_endpoint:
                reset_ms = int((reset if remain < weight else now) * 1000)
                headers.update({"X-Bapi-Limit": str(rule.capacity // weight),
                                "X-Bapi-Limit-Status": str(remain // weight),
                                "X-Bapi-Limit-Reset-Timestamp": str(reset_ms)})
        if self.facts.style == "gate" and gate_remain is not None:
            remain, limit, reset_at = gate_remain
            headers.update({"X-Gate-RateLimit-Requests-Remain": str(remain),
                            "X-Gate-RateLimit-Limit": str(limit),
                            "X-Gate-RateLimit-Reset-Timestamp": str(int(reset_at))})
        told = max(self._told_until.get(ip, 0.0), self._told_until.get(f"{ip} {method} {route}", 0.0))
        if now < told and self.limits.ban_after is not None:
            ignored = self._ignored[ip] = self._ignored.get(ip, 0) + 1
            if ignored >= self.limits.ban_after:
                self.bans += 1
                self._ignored[ip] = 0
                until = self.banned_until[ip] = now + self.limits.ban_s
                return self._refuse(now, method, route, self._ban_reply(self.limits.ban_s, until))
        if over is None:
            self.log.append((now, f"{method} {route}", 0))
            return Verdict(None, headers, order_headers)
        wait = max(math.ceil(retry_after), 1)
        if self.facts.style == "bybit" and not over.per_endpoint:  # the IP limit: banned at once
            self.bans += 1
            self.banned_until[ip] = now + self.limits.ban_s
        told_key = f"{ip} {method} {route}" if over.per_endpoint else ip
        self._told_until[told_key] = max(self._told_until.get(told_key, 0.0), now + wait)
        self.throttled += 1
        reply = self._throttle_reply(over, wait)
        reply.headers.update(headers)
        self.log.append((now, f"{method} {route}", reply.status))
        return Verdict(reply, headers, {})

    def _refuse(self, now: float, method: str, route: str, reply: web.Response) -> Verdict:
        self.banned_replies += 1
        self.log.append((now, f"{method} {route}", reply.status))
        return Verdict(reply, {}, {})

    def _throttle_reply(self, rule: LimitRule, wait: int) -> web.Response:
        style = self.facts.style
        headers = {"Retry-After": str(wait)}
        if style == "binance":
            if rule.applies is Applies.ORDERS:
                body: dict[str, object] = {"code": -1015, "msg": (
                    f"Too many new orders; current limit is {rule.capacity} orders per "
                    f"{_interval_words(rule.window_s)}.")}
            else:
                body = {"code": -1003, "msg": (
                    f"Too much request weight used; current limit is {rule.capacity} request weight per "
                    f"{_interval_words(rule.window_s)}. Please use WebSocket Streams for live updates to "
                    "avoid polling the API.")}
        elif style == "gate":
            body = {"label": "TOO_MANY_REQUESTS", "message": "Request Rate Limit Exceeded (003)"}
        elif style == "okx":
            body = {"msg": "Too Many Requests", "code": "50011"}
        elif style == "bybit":
            return _bybit_refusal(rule.per_endpoint, self._clock())
        else:
            body = {"code": 429, "msg": "Too Many Requests"}
        return web.Response(status=429, text=json.dumps(body), content_type="application/json",
                            headers=headers)

    def _ban_reply(self, remaining: float, until: float) -> web.Response:
        headers = {"Retry-After": str(max(math.ceil(remaining), 1))}
        if self.facts.style == "binance":
            body: dict[str, object] = {"code": -1003, "msg": (
                f"Way too much request weight used; IP banned until {int(until * 1000)}. Please use the "
                "websocket for live updates to avoid bans.")}
        elif self.facts.style == "gate":
            body = {"label": "TOO_MANY_REQUESTS", "message": "Request Rate Limit Exceeded (003)"}
        elif self.facts.style == "bybit":
            return _bybit_refusal(False, self._clock())
        else:
            body = {"code": 429, "msg": f"IP banned until {int(until * 1000)}"}
        return web.Response(status=418, text=json.dumps(body), content_type="application/json",
                            headers=headers)


def _interval_words(window_s: float) -> str:
    tag = interval_tag(window_s)
    words = {"S": "SECOND", "M": "MINUTE", "H": "HOUR", "D": "DAY"}
    return f"{tag[:-1]} {words[tag[-1]]}"


def _bybit_refusal(uid: bool, now: float) -> web.Response:
    """Bybit's UID limit (HTTP 200, ``retCode 10006``) or IP limit (HTTP 403) answer."""
    if uid:
        body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {},
                "time": int(now * 1000)}
        return web.Response(status=200, text=json.dumps(body), content_type="application/json")
    return web.Response(status=403, text="access too frequent", content_type="text/plain")
