"""Seeded, scriptable faults for one simulated venue: what its streams, REST and clock get wrong.

A `FaultPlan` is plain mutable data: give one per venue to ``SimExchange(faults={venue: plan})``
and change its fields while the simulator runs (``sim.faults["binance"].stall = True``); every
decision reads the plan at the moment it is made. Counters (``gap``, ``refuse_upgrades``,
``error_5xx``, ``drop_replies``, ``replies``) are consumed as they fire, so a test sees when a
scripted fault has happened. Probabilities draw from one `random.Random` per venue seeded from
the plan's `seed`: the same plan and the same traffic give the same faults.

The `FaultInjector` applies a plan where the simulator already has a seam, so the venue dialects
stay fault-free:

- pushed frames: `frames` / `delay_s`, called by `Subscribers` (fanout) for every push: drop,
  duplicate, reorder, delay, sequence gaps, stalls (sockets and pings stay up, data stops) and
  corrupted frames (`corrupt`: NaN price, negative size, deep JSON, truncated, wrong type).
  Depth is what they are meant for; public trades and Gate's private channels share the fanout,
  so they see the same faults (as on the real venue, where one socket carries them all);
- HTTP: `middleware`, appended to each dialect's application: refused WebSocket upgrades, canned
  replies, 5xx after the request ran (an order is really placed), a dropped reply (the request
  ran, then the connection closes without an answer), a slow reply (the request ran, the answer
  comes after the client gave up), expired listen keys;
- time: `clock_ms` is the clock the server gives the dialect (skew);
- order visibility: `hidden_ms`, read by the matching engine (an order stays "not found" for a
  while after it was created);
- an unpublished notional floor: `hidden_min_notional`, read by the matching engine (orders worth
  less are refused as below the minimum amount, e.g. OKX 51020, though no instrument field says so);
- snapshots: `snapshot_lag`, read by the market model (REST snapshots trail the stream).

Disconnects and halts are actions on the simulator (`SimExchange.disconnect`, `halt`), with
`disconnect_every_s` for a periodic kill.
"""

from __future__ import annotations

import asyncio
import enum
import json
import random
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

import msgspec
from aiohttp import web

from arb.sim.fanout import Frame
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ListenKeyHook = Callable[[str], None]


class Reply(msgspec.Struct, frozen=True):
    """A canned answer for the next REST request (optionally only for one method and/or path)."""

    status: int
    body: str
    headers: Mapping[str, str] = msgspec.field(default_factory=dict)
    method: str | None = None
    path: str | None = None  # e.g. "/api/v3/depth": only a request for exactly this path gets it
    content_type: str = "application/json"

    def wants(self, request: web.Request) -> bool:
        return self.method in (None, request.method) and self.path in (None, request.path)


class Corruption(enum.IntEnum):
    """How `FaultPlan.corrupt` spoils a pushed frame (depth frames: JSON text or MEXC protobuf)."""

    NAN_PRICE = 1  # a bid level priced NaN is added
    NEGATIVE_SIZE = 2  # a bid level with a negative size is added
    DEEP_JSON = 3  # the bids hold an array nested 1,500 deep (MEXC, binary: truncated instead)
    TRUNCATED = 4  # the frame is cut in half
    WRONG_TYPE = 5  # a bid level is an object instead of [price, size]


class FaultPlan(msgspec.Struct, kw_only=True):
    """What goes wrong on one simulated venue (all off by default)."""

    seed: int = 0
    # pushed frames (decided once per push, for every socket subscribed to its topic)
    drop: float = 0.0  # probability a frame is lost
    duplicate: float = 0.0  # probability a frame is sent twice
    reorder: float = 0.0  # probability a frame is held back and sent after the next one of its topic
    delay_ms: float = 0.0  # every frame leaves this much later (order kept)
    gap: int = 0  # the next N frames (of `gap_topic`, or any) are skipped: a sequence gap
    gap_topic: str | None = None
    stall: bool = False  # sockets stay open and answer pings, no data flows
    drop_user_pushes: bool = False  # the account's order / fill / balance pushes are lost (stream stays up)
    user_push_delay_ms: float = 0.0  # ... or arrive this late (venues whose user stream has its own socket)
    corrupt: int = 0  # the next N frames (of `corrupt_topic`, or any) are spoilt as `corruption` says
    corrupt_topic: str | None = None
    corruption: Corruption = Corruption.NAN_PRICE
    disconnect_every_s: float = 0.0  # the server closes every socket this often (0: never)
    # connections and REST
    refuse_upgrades: int = 0  # the next N WebSocket upgrades are refused
    refuse_status: int = 503
    snapshot_lag: int = 0  # REST depth snapshots trail the stream by this many updates
    error_5xx: int = 0  # the next N requests (of `http_methods`) run, then are answered `error_status`
    error_status: int = 500
    drop_replies: int = 0  # the next N requests (of `http_methods`) run, then the connection closes
    slow_replies: int = 0  # the next N requests (of `http_methods`) run, their reply waits `slow_reply_ms`
    slow_reply_ms: float = 0.0  # (past the client's timeout: the venue accepted, the client gave up)
    http_methods: frozenset[str] = frozenset()  # empty: every method
    replies: list[Reply] = msgspec.field(default_factory=list)  # canned answers, first come first served
    # orders and time
    hide_orders_ms: float = 0.0  # order queries say "not found" for this long after creation
    hide_trades: bool = False  # ... and the account's trade history leaves a hidden order's fills out
    # orders worth less than this (quote) are refused as below the minimum order amount although the
    # venue publishes no such floor (OKX 51020, unverified on the real venue; 0: off)
    hidden_min_notional: Decimal = Decimal(0)
    clock_skew_ms: int = 0  # the venue's clock runs this far ahead (negative: behind)


class FaultCounts(msgspec.Struct):
    """What the injector actually did."""

    dropped: int = 0
    duplicated: int = 0
    reordered: int = 0
    delayed: int = 0
    gapped: int = 0
    corrupted: int = 0
    stalled: int = 0
    disconnects: int = 0
    refused_upgrades: int = 0
    expired_key_refusals: int = 0
    canned: int = 0
    errors_5xx: int = 0
    dropped_replies: int = 0
    slow_replies: int = 0
    user_pushes_dropped: int = 0


# a 500 in the venue's own words; 502/504 come from the load balancer as HTML
SERVER_ERRORS: Final[Mapping[str, str]] = MappingProxyType({
    "binance": json.dumps({"code": -1000, "msg": "An unknown error occurred while processing the request."}),
    "gateio": json.dumps({"label": "SERVER_ERROR", "message": "Internal server error"}),
    "mexc": json.dumps({"code": 500, "msg": "Internal error"}),
    "okx": json.dumps({"code": "50026", "msg": "System error. Try again later.", "data": []}),
    "bybit": json.dumps({"retCode": 10016, "retMsg": "Server error.", "result": {}, "retExtInfo": {}}),
})
GATEWAY_PAGE: Final = "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center></body></html>"
GATEWAY_TITLES: Final = MappingProxyType({502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable",
                                          504: "504 Gateway Time-out"})
EXPIRED_KEY: Final[Mapping[str, str]] = MappingProxyType({
    "binance": json.dumps({"code": -1125, "msg": "This listenKey does not exist."}),
    "gateio": json.dumps({"label": "INVALID_KEY", "message": "listen key expired"}),
    "mexc": json.dumps({"code": 730706, "msg": "listenKey expired"}),
    "okx": json.dumps({"code": "60011", "msg": "Please log in"}),  # OKX has no listen keys: login again
    "bybit": json.dumps({"retCode": 10003, "retMsg": "API key is invalid.", "result": {}, "retExtInfo": {}}),
})


SERVED_KEPT: Final = 1000  # canned replies remembered in `FaultInjector.served`


def _no_topic(topic: str) -> bool:
    return False


class UserPushFaults:
    """The fault seam of a venue's own user-stream fanout (Binance WS API, MEXC listen keys):
    only `drop_user_pushes` applies there; depth faults stay on the market fanout."""

    def __init__(self, injector: FaultInjector) -> None:
        self._injector = injector

    def frames(self, topic: str, frame: Frame) -> tuple[Frame, ...]:
        if self._injector.plan.drop_user_pushes:
            self._injector.counts.user_pushes_dropped += 1
            return ()
        return (frame,)

    def delay_s(self) -> float:
        return self._injector.plan.user_push_delay_ms / 1000.0


BIDS_KEY: Final = re.compile(r'"b(?:ids)?"\s*:\s*\[(\s*\])?')
DEEP_LEVELS: Final = 1500
BAD_LEVELS: Final = MappingProxyType({
    Corruption.NAN_PRICE: ('["NaN","1"]', ("NaN", "1")),
    Corruption.NEGATIVE_SIZE: ('["1","-5"]', ("1", "-5")),
    Corruption.DEEP_JSON: ("[" * DEEP_LEVELS + "]" * DEEP_LEVELS, None),
    Corruption.WRONG_TYPE: ('{"price":"1","size":"1"}', None),
})


def corrupt_frame(frame: Frame, how: Corruption) -> Frame:
    """`frame` spoilt as `how` says; the channel (and the pair) it names stay readable."""
    if how is Corruption.TRUNCATED:
        return frame[: len(frame) // 2]
    json_level, proto_level = BAD_LEVELS[how]
    if isinstance(frame, str):
        def insert(match: re.Match[str]) -> str:
            head = match.group(0)
            if match.group(1) is not None:  # an empty list
                return head[: head.index("[") + 1] + json_level + "]"
            return head + json_level + ","

        return BIDS_KEY.sub(insert, frame, count=1)
    if proto_level is None:  # protobuf has no nesting or wrong types to give: cut it instead
        return frame[: len(frame) // 2]
    wrapper = PushDataV3ApiWrapper()
    wrapper.ParseFromString(bytes(frame))
    kind = wrapper.WhichOneof("body")
    if kind not in ("publicAggreDepths", "publicLimitDepths"):
        return frame[: len(frame) // 2]
    level = getattr(wrapper, kind).bids.add()
    level.price, level.quantity = proto_level
    return bytes(wrapper.SerializeToString())


def is_upgrade(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


class FaultInjector:
    """Applies one venue's `FaultPlan` at the simulator's seams (see the module docstring)."""

    def __init__(self, venue: str, plan: FaultPlan) -> None:
        self.venue = venue
        self.plan = plan
        self.counts = FaultCounts()
        self._rng = random.Random(plan.seed)
        self._held: dict[str, Frame] = {}
        self._key_hooks: list[ListenKeyHook] = []
        # told(ip, seconds) when a canned 429 carries Retry-After (the server wires the venue's limiter)
        self.told: Callable[[str, float], None] | None = None
        # every canned reply served: (monotonic s when it was answered, "METHOD /path", status)
        self.served: deque[tuple[float, str, int]] = deque(maxlen=SERVED_KEPT)
        self.expired_keys: set[str] = set()
        # which fanout topics carry the account's pushes (venues whose private channels share it)
        self.is_user_topic: Callable[[str], bool] = _no_topic
        self.user = UserPushFaults(self)

    def __repr__(self) -> str:
        return f"FaultInjector({self.venue}, seed={self.plan.seed})"

    # ------------------------------------------------------------------ frames (fanout)

    def frames(self, topic: str, frame: Frame) -> tuple[Frame, ...]:
        """The frames to push in place of `frame` on `topic` (none, it, it twice, or it + a late one)."""
        plan, counts = self.plan, self.counts
        if plan.drop_user_pushes and self.is_user_topic(topic):
            counts.user_pushes_dropped += 1
            return ()
        if plan.stall:
            counts.stalled += 1
            return ()
        if plan.gap > 0 and (plan.gap_topic is None or plan.gap_topic == topic):
            plan.gap -= 1
            counts.gapped += 1
            return ()
        if plan.corrupt > 0 and (plan.corrupt_topic is None or plan.corrupt_topic == topic):
            plan.corrupt -= 1
            counts.corrupted += 1
            frame = corrupt_frame(frame, plan.corruption)
        rng = self._rng
        if plan.drop and rng.random() < plan.drop:
            counts.dropped += 1
            return ()
        out: tuple[Frame, ...] = (frame,)
        if plan.duplicate and rng.random() < plan.duplicate:
            counts.duplicated += 1
            out = (frame, frame)
        held = self._held.pop(topic, None)
        if held is not None:
            return (*out, held)  # the held-back frame arrives after its successor
        if plan.reorder and rng.random() < plan.reorder:
            counts.reordered += 1
            self._held[topic] = frame
            return out[1:]
        return out

    def delay_s(self) -> float:
        delay = self.plan.delay_ms
        if delay > 0:
            self.counts.delayed += 1
        return delay / 1000.0

    # ------------------------------------------------------------------ time and visibility

    def clock_ms(self) -> int:
        """The venue's clock: wall time plus the plan's skew."""
        return time.time_ns() // 1_000_000 + self.plan.clock_skew_ms

    def hidden_ms(self) -> float:
        return self.plan.hide_orders_ms

    def hide_trades(self) -> bool:
        return self.plan.hide_trades

    def hidden_min_notional(self) -> Decimal:
        return self.plan.hidden_min_notional

    def snapshot_lag(self) -> int:
        return self.plan.snapshot_lag

    # ------------------------------------------------------------------ listen keys

    def on_listen_key_expired(self, hook: ListenKeyHook) -> None:
        """Call `hook(key)` whenever a listen key is expired (dialects with user streams register)."""
        self._key_hooks.append(hook)

    def expire_listen_key(self, key: str) -> None:
        """Expire `key` now: hooks run, and WebSocket upgrades carrying ``listenKey=key`` are refused."""
        self.expired_keys.add(key)
        for hook in self._key_hooks:
            hook(key)

    # ------------------------------------------------------------------ HTTP

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        plan, counts = self.plan, self.counts
        if is_upgrade(request):
            key = request.query.get("listenKey")
            if key is not None and key in self.expired_keys:
                counts.expired_key_refusals += 1
                return web.Response(status=400, text=EXPIRED_KEY[self.venue], content_type="application/json")
            if plan.refuse_upgrades > 0:
                plan.refuse_upgrades -= 1
                counts.refused_upgrades += 1
                return self._server_error(plan.refuse_status)
            return await handler(request)
        if plan.replies and plan.replies[0].wants(request):
            reply = plan.replies.pop(0)
            counts.canned += 1
            self.served.append((time.monotonic(), f"{request.method} {request.path}", reply.status))
            retry_after = reply.headers.get("Retry-After")
            if reply.status == 429 and retry_after and self.told is not None:
                self.told(request.remote or "?", float(retry_after))
            return web.Response(status=reply.status, text=reply.body, headers=dict(reply.headers),
                                content_type=reply.content_type)
        selected = not plan.http_methods or request.method in plan.http_methods
        if selected and plan.error_5xx > 0:
            plan.error_5xx -= 1
            counts.errors_5xx += 1
            await handler(request)  # it happened; the client will not know
            return self._server_error(plan.error_status)
        if selected and plan.drop_replies > 0:
            plan.drop_replies -= 1
            counts.dropped_replies += 1
            await handler(request)
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if selected and plan.slow_replies > 0:
            plan.slow_replies -= 1
            counts.slow_replies += 1
            response = await handler(request)
            await asyncio.sleep(plan.slow_reply_ms / 1000.0)
            return response
        return await handler(request)

    def _server_error(self, status: int) -> web.Response:
        title = GATEWAY_TITLES.get(status)
        if title is None:
            return web.Response(status=status, text=SERVER_ERRORS[self.venue],
                                content_type="application/json")
        return web.Response(status=status, text=GATEWAY_PAGE.format(title), content_type="text/html")


# ---------------------------------------------------------------------------- command line


def parse_fault(spec: str) -> tuple[str, str, object]:
    """``"binance:stall"`` -> ``("binance", "stall", True)``, ``"mexc:drop=0.1"`` -> ``(.., 0.1)``.

    The kind is a `FaultPlan` field (``halt`` takes a symbol such as ``BTC/USDT`` instead;
    ``http_methods`` a comma-separated list: ``binance:http_methods=POST,DELETE``); the value is
    converted to the field's type. Raises ValueError naming what was wrong.
    """
    venue, sep, rest = spec.partition(":")
    if not sep or not venue or not rest:
        raise ValueError(f"fault {spec!r}: expected venue:kind[=value]")
    kind, has_value, raw = rest.partition("=")
    if kind == "halt":
        if not raw:
            raise ValueError(f"fault {spec!r}: halt needs a symbol (halt=BTC/USDT)")
        return venue, kind, raw
    if kind == "http_methods":
        methods = frozenset(m.strip().upper() for m in raw.split(",") if m.strip())
        if not methods or not all(m.isalpha() for m in methods):
            raise ValueError(f"fault {spec!r}: http_methods needs HTTP methods (http_methods=POST,DELETE)")
        return venue, kind, methods
    fields = {f.name: f.type for f in msgspec.structs.fields(FaultPlan)}
    if kind not in fields or kind == "replies":
        known = sorted(k for k in fields if k != "replies")
        raise ValueError(f"fault {spec!r}: unknown kind {kind!r} (known: halt, {', '.join(known)})")
    if not has_value:
        if fields[kind] is not bool:
            raise ValueError(f"fault {spec!r}: {kind} needs a value")
        return venue, kind, True
    try:
        value = msgspec.convert(raw, fields[kind], strict=False)
    except msgspec.ValidationError as exc:
        raise ValueError(f"fault {spec!r}: {exc}") from None
    return venue, kind, value
