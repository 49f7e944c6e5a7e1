"""The simulator's wire payloads have the real venues' shapes (the samples in ../shared/exchange-samples).

Each REST endpoint and WebSocket message the simulator serves is fetched from a running `SimExchange`
and compared with the matching real sample: the same keys and the same JSON type per key, recursively
(list elements are compared with the closest sample element). Values are not compared: the samples
come from other markets and other years. A difference is either fixed in the simulator or
allow-listed below, one entry per path with its reason; an allowance that no longer matches anything
fails the test too, so the lists stay honest. MEXC protobuf pushes are decoded with
``MessageToDict`` here, only to compare them with the samples, which are rendered the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from google.protobuf.json_format import MessageToDict

from arb.model import Symbol
from arb.sim.accounts import SIM_KEY, SIM_SECRET, gate_signature
from arb.sim.server import SimExchange
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

BTC = Symbol("BTC", "USDT")
RESTING_DISCOUNT = "0.9"  # a buy this far under the touch rests (the simulator re-quotes only near it)

# ---------------------------------------------------------------------------------------------- shapes


def json_type(value: object) -> str:
    """The JSON type of a decoded value: null, bool, number, string, list or object."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


@dataclass(frozen=True)
class Allow:
    """Differences a comparison accepts, each keyed by path (``symbols[].filters[].minPrice``).

    missing: a key of the real sample the simulator does not send; extra: a key the simulator sends
    that the sample lacks; types: a key whose JSON type differs. Every value is the reason.
    """

    missing: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, str] = field(default_factory=dict)
    types: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ShapeDiff:
    """Compares a simulator payload with a real one; collects readable differences and used allowances."""

    allow: Allow
    problems: list[str] = field(default_factory=list)
    used: set[tuple[str, str]] = field(default_factory=set)

    def _allowed(self, kind: str, path: str) -> bool:
        table: Mapping[str, str] = getattr(self.allow, kind)
        if path in table:
            self.used.add((kind, path))
            return True
        return False

    def compare(self, real: object, sim: object, path: str = "") -> None:
        self.problems.extend(dict.fromkeys(self._diff(real, sim, path)))

    def _diff(self, real: object, sim: object, path: str) -> list[str]:
        real_t, sim_t = json_type(real), json_type(sim)
        if real_t != sim_t:
            if self._allowed("types", path):
                return []
            return [f"{path or '$'}: real {real_t} ({_short(real)}), sim {sim_t} ({_short(sim)})"]
        if isinstance(real, dict) and isinstance(sim, dict):
            out: list[str] = []
            for key in real.keys() - sim.keys():
                sub = _join(path, key)
                if not self._allowed("missing", sub):
                    out.append(f"{sub}: missing in sim (real {json_type(real[key])} {_short(real[key])})")
            for key in sim.keys() - real.keys():
                sub = _join(path, key)
                if not self._allowed("extra", sub):
                    got = f"{json_type(sim[key])} {_short(sim[key])}"
                    out.append(f"{sub}: not in the real sample (sim {got})")
            for key in real.keys() & sim.keys():
                out += self._diff(real[key], sim[key], _join(path, key))
            return sorted(out)
        if isinstance(real, list) and isinstance(sim, list):
            return self._diff_list(real, sim, path + "[]")
        return []

    def _diff_list(self, real: list[Any], sim: list[Any], path: str) -> list[str]:
        if not real or not sim:
            if not real and not sim:
                return []
            kind = "missing" if real else "extra"
            if self._allowed(kind, path):
                return []
            which = "sim" if real else "real sample"
            return [f"{path}: the {which} list is empty, so its elements cannot be compared"]
        out: list[str] = []
        real_one = list({_signature(r): r for r in real}.values())
        for element in {_signature(s): s for s in sim}.values():
            # the closest real element; allowances it uses are kept only if it is chosen
            best: tuple[list[str], set[tuple[str, str]]] | None = None
            for candidate in real_one:
                trial = ShapeDiff(self.allow)
                diffs = trial._diff(candidate, element, path)
                if best is None or len(diffs) < len(best[0]):
                    best = (diffs, trial.used)
            assert best is not None
            out += best[0]
            self.used |= best[1]
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _short(value: object) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _signature(value: object) -> str:
    """A hashable rendering of a value's shape (types and keys, not values)."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_signature(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(sorted({_signature(v) for v in value})) + "]"
    return json_type(value)


@dataclass(frozen=True)
class Case:
    """One simulator payload against one real sample."""

    name: str  # what was fetched, for the failure message
    sample: str  # path under exchange-samples; a list sample with `element` picks one of its items
    allow: Allow = Allow()
    element: int | None = None
    same: tuple[str, ...] = ()  # top-level keys whose values must equal the sample's (error codes)


def check(samples: Path, cases: list[tuple[Case, object]]) -> None:
    """Compare every payload with its sample; fail with all differences and all unused allowances."""
    failures: list[str] = []
    for case, payload in cases:
        real = json.loads((samples / case.sample).read_text())
        if case.element is not None:
            real = real[case.element]
        diff = ShapeDiff(case.allow)
        diff.compare(real, payload)
        for key in case.same:
            if isinstance(payload, dict) and payload.get(key) != real[key]:
                diff.problems.append(f"{key}: real {real[key]!r}, sim {payload.get(key)!r}")
        stale = [f"allowance never used: {kind} {path!r}"
                 for kind in ("missing", "extra", "types") for path in getattr(case.allow, kind)
                 if (kind, path) not in diff.used]
        if diff.problems or stale:
            failures.append(f"{case.name} vs {case.sample}:\n    " + "\n    ".join(diff.problems + stale))
    assert not failures, "simulator payloads differ from the real samples:\n  " + "\n  ".join(failures)


def test_shape_diff_names_each_difference_by_path() -> None:
    real = {"a": "1", "b": [{"x": 1, "y": None}], "c": True}
    sim = {"a": 1, "b": [{"x": 2, "z": "?"}], "d": {}}
    diff = ShapeDiff(Allow(missing={"c": "not produced"}))
    diff.compare(real, sim)
    assert diff.problems == [
        'a: real string ("1"), sim number (1)',
        "b[].y: missing in sim (real null null)",
        'b[].z: not in the real sample (sim string "?")',
        "d: not in the real sample (sim object {})",
    ]
    assert diff.used == {("missing", "c")}


def test_shape_diff_compares_each_element_with_the_closest_real_one() -> None:
    real = [{"filterType": "A", "min": "1"}, {"filterType": "B", "step": "1", "flag": True}]
    diff = ShapeDiff(Allow())
    diff.compare(real, [{"filterType": "B", "step": "2", "flag": False}, {"filterType": "A", "min": 3}])
    assert diff.problems == ["[].min: real string (\"1\"), sim number (3)"]


# ---------------------------------------------------------------------------------------------- clients


class Rest:
    """Raw calls to one simulated venue: unsigned, HMAC-query signed (Binance, MEXC) or Gate-signed."""

    def __init__(self, venue: str, base: str, session: aiohttp.ClientSession) -> None:
        self.venue = venue
        self.base = base
        self.session = session

    async def call(self, method: str, path: str, params: Mapping[str, str] | None = None, *,
                   signed: bool = False, stamp_ms: int | None = None, body: object = None,
                   secret: str = SIM_SECRET) -> Any:
        params = dict(params or {})
        headers: dict[str, str] = {}
        data = b"" if body is None else json.dumps(body).encode()
        if signed and self.venue == "gateio":
            query = urlencode(params)
            stamp = str(int(time.time()))
            headers = {"KEY": SIM_KEY, "Timestamp": stamp, "Content-Type": "application/json",
                       "SIGN": gate_signature(secret, method, path, query, data, stamp)}
        elif signed:
            params["timestamp"] = str(stamp_ms if stamp_ms is not None else time.time_ns() // 1_000_000)
            query = urlencode(params)
            params["signature"] = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
            headers = {"X-MBX-APIKEY" if self.venue == "binance" else "X-MEXC-APIKEY": SIM_KEY}
        url = f"{self.base}{path}" + (f"?{urlencode(params)}" if params else "")
        async with self.session.request(method, url, data=data or None, headers=headers) as resp:
            return await resp.json()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def start(venue: str, seed: int = 5) -> tuple[SimExchange, str, str]:
    sim = SimExchange([venue], seed=seed, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()  # a still market: orders land where the test priced them
    rest, ws = urls[venue]
    return sim, rest, ws


def touch(sim: SimExchange, venue: str) -> tuple[str, str]:
    """(best ask, a resting buy price well under the touch) as exact decimal strings."""
    _, _, asks = sim.market.snapshot(venue, BTC, 1)
    ask = asks[0][0]
    low = (ask * Decimal(RESTING_DISCOUNT)).quantize(sim.market.specs[BTC].tick)
    return format(ask, "f"), format(low, "f")


# ---------------------------------------------------------------------------------------------- REST


async def binance_rest(sim: SimExchange, rest: Rest) -> list[tuple[Case, object]]:
    ask, low = touch(sim, "binance")
    sym = {"symbol": "BTCUSDT"}
    ioc = {**sym, "side": "BUY", "type": "LIMIT", "timeInForce": "IOC", "quantity": "0.001", "price": ask}
    gtc = {**ioc, "timeInForce": "GTC", "price": low, "newClientOrderId": "shape-rest"}
    full = await rest.call("POST", "/api/v3/order", ioc, signed=True)
    ack = await rest.call("POST", "/api/v3/order", {**ioc, "newOrderRespType": "ACK"}, signed=True)
    resting = await rest.call("POST", "/api/v3/order", gtc, signed=True)
    query = await rest.call("GET", "/api/v3/order", {**sym, "orderId": str(resting["orderId"])}, signed=True)
    open_orders = await rest.call("GET", "/api/v3/openOrders", sym, signed=True)
    cancel = await rest.call("DELETE", "/api/v3/order", {**sym, "origClientOrderId": "shape-rest"},
                             signed=True)
    assert full["status"] == "FILLED" and open_orders and cancel["status"] == "CANCELED"
    stale = time.time_ns() // 1_000_000 - 60_000
    notional = ("the sim lists the NOTIONAL filter, which replaced MIN_NOTIONAL in 2023 (fact sheet §3.2); "
                "the 2021 sample has only MIN_NOTIONAL")
    return [
        (Case("GET /api/v3/time", "binance/server_time.json"), await rest.call("GET", "/api/v3/time")),
        (Case("GET /api/v3/exchangeInfo", "binance/exchange_info.json", Allow(
            missing={"symbols[].filters[].applyToMarket": notional},
            extra={"symbols[].filters[].applyMinToMarket": notional,
                   "symbols[].filters[].applyMaxToMarket": notional,
                   "symbols[].filters[].maxNotional": notional})),
         await rest.call("GET", "/api/v3/exchangeInfo")),
        (Case("GET /api/v3/depth", "binance/depth_snapshot_doc.json"),
         await rest.call("GET", "/api/v3/depth", {**sym, "limit": "5"})),
        (Case("GET /api/v3/depth", "binance/depth_snapshot_NKNUSDT.json"),
         await rest.call("GET", "/api/v3/depth", {**sym, "limit": "5"})),
        (Case("POST /api/v3/order (FULL)", "binance/order_response_full.json"), full),
        (Case("POST /api/v3/order (ACK)", "binance/order_response_ack.json"), ack),
        (Case("GET /api/v3/order", "binance/order_query.json"), query),
        (Case("GET /api/v3/openOrders", "binance/open_orders.json"), open_orders),
        (Case("DELETE /api/v3/order", "binance/order_cancel_response.json"), cancel),
        (Case("GET /api/v3/account", "binance/account.json"),
         await rest.call("GET", "/api/v3/account", signed=True)),
        (Case("GET /api/v3/account/commission", "binance/commission.json"),
         await rest.call("GET", "/api/v3/account/commission", sym, signed=True)),
        (Case("GET /api/v3/depth (bad symbol)", "binance/error_invalid_symbol.json", same=("code",)),
         await rest.call("GET", "/api/v3/depth", {"symbol": "NOPEUSDT"})),
        (Case("GET /api/v3/order (unknown)", "binance/error_order_does_not_exist.json", same=("code",)),
         await rest.call("GET", "/api/v3/order", {**sym, "orderId": "999999"}, signed=True)),
        (Case("DELETE /api/v3/order (unknown)", "binance/error_unknown_order.json", same=("code",)),
         await rest.call("DELETE", "/api/v3/order", {**sym, "orderId": "999999"}, signed=True)),
        (Case("GET /api/v3/account (stale)", "binance/error_timestamp_outside_recv_window.json",
              same=("code",)), await rest.call("GET", "/api/v3/account", signed=True, stamp_ms=stale)),
        (Case("POST /api/v3/order (too big)", "binance/error_insufficient_balance.json", same=("code",)),
         await rest.call("POST", "/api/v3/order", {**ioc, "quantity": "1000"}, signed=True)),
    ]


async def mexc_rest(sim: SimExchange, rest: Rest) -> list[tuple[Case, object]]:
    ask, low = touch(sim, "mexc")
    sym = {"symbol": "BTCUSDT"}
    ioc = {**sym, "side": "BUY", "type": "IMMEDIATE_OR_CANCEL", "quantity": "0.001", "price": ask}
    placed = await rest.call("POST", "/api/v3/order", ioc, signed=True)
    resting = await rest.call("POST", "/api/v3/order", {**ioc, "type": "LIMIT", "price": low,
                                                         "newClientOrderId": "shaperest"}, signed=True)
    query = await rest.call("GET", "/api/v3/order", {**sym, "orderId": resting["orderId"]}, signed=True)
    open_orders = await rest.call("GET", "/api/v3/openOrders", sym, signed=True)
    cancel = await rest.call("DELETE", "/api/v3/order", {**sym, "orderId": resting["orderId"]}, signed=True)
    trades = await rest.call("GET", "/api/v3/myTrades", sym, signed=True)
    assert open_orders and trades and cancel["status"] == "CANCELED"
    stale = time.time_ns() // 1_000_000 - 60_000
    recorder = ("ccxt's recorder stores this number as a string (samples README caveat); the live API and "
                "the doc examples send a JSON number")
    string_id = ("MEXC order ids are strings (fact sheet §0; order_response.json, all_orders.json); this "
                 "doc example prints a number")
    return [
        (Case("GET /api/v3/time", "mexc/server_time.json"), await rest.call("GET", "/api/v3/time")),
        (Case("GET /api/v3/exchangeInfo", "mexc/exchange_info.json"),
         await rest.call("GET", "/api/v3/exchangeInfo")),
        (Case("GET /api/v3/depth", "mexc/depth_snapshot.json", Allow(
            types={"lastUpdateId": recorder, "timestamp": recorder})),
         await rest.call("GET", "/api/v3/depth", {**sym, "limit": "5"})),
        (Case("GET /api/v3/depth", "mexc/depth_snapshot_doc.json", Allow(extra={
            "timestamp": "live responses carry it (fact sheet §1.2, depth_snapshot.json); the doc omits it",
        })),
         await rest.call("GET", "/api/v3/depth", {**sym, "limit": "5"})),
        (Case("POST /api/v3/order", "mexc/order_response.json"), placed),
        (Case("GET /api/v3/order", "mexc/order_query.json", Allow(
            missing={"Qty": "doc typo for origQty (samples README)"},
            extra={"origQty": "the live name of the doc's Qty (samples README)",
                   "icebergQty": "the live order object has it (all_orders.json); the doc example omits it"},
            types={"orderId": string_id})), query),
        (Case("GET /api/v3/openOrders", "mexc/open_orders.json", Allow(types={"[].orderId": string_id})),
         open_orders),
        (Case("DELETE /api/v3/order", "mexc/order_cancel_response.json", Allow(types={"orderId": string_id})),
         cancel),
        (Case("GET /api/v3/account", "mexc/account.json"),
         await rest.call("GET", "/api/v3/account", signed=True)),
        (Case("GET /api/v3/myTrades", "mexc/my_trades.json", Allow(
            types={"[].orderListId": recorder, "[].time": recorder})), trades),
        (Case("GET /api/v3/tradeFee", "mexc/trade_fee.json"),
         await rest.call("GET", "/api/v3/tradeFee", sym, signed=True)),
        (Case("GET /api/v3/depth (bad symbol)", "mexc/error_bad_symbol.json", same=("code",)),
         await rest.call("GET", "/api/v3/depth", {"symbol": "NOPEUSDT"})),
        (Case("POST /api/v3/order (too big)", "mexc/error_insufficient_balance.json", same=("code",)),
         await rest.call("POST", "/api/v3/order", {**ioc, "quantity": "1000"}, signed=True)),
        (Case("POST /api/v3/order (tiny)", "mexc/error_min_notional.json", same=("code",)),
         await rest.call("POST", "/api/v3/order", {**ioc, "quantity": "0.00001"}, signed=True)),
        (Case("GET /api/v3/account (stale)", "mexc/error_timestamp_outside_recv_window.json",
              same=("code",)), await rest.call("GET", "/api/v3/account", signed=True, stamp_ms=stale)),
    ]


async def gate_rest(sim: SimExchange, rest: Rest) -> list[tuple[Case, object]]:
    ask, low = touch(sim, "gateio")
    pair = {"currency_pair": "BTC_USDT"}
    ioc = {**pair, "side": "buy", "type": "limit", "amount": "0.001", "price": ask, "time_in_force": "ioc",
           "text": "t-shape-ioc"}
    orders = "/api/v4/spot/orders"
    full = await rest.call("POST", orders, signed=True, body=ioc)
    ack = await rest.call("POST", orders, signed=True,
                          body={**ioc, "text": "t-shape-ack", "action_mode": "ACK"})
    resting = await rest.call("POST", orders, signed=True,
                              body={**ioc, "text": "t-shape-rest", "price": low, "time_in_force": "gtc"})
    got = await rest.call("GET", f"{orders}/{resting['id']}", pair, signed=True)
    open_orders = await rest.call("GET", "/api/v4/spot/open_orders", signed=True)
    cancel = await rest.call("DELETE", f"{orders}/{resting['id']}", pair, signed=True)
    trades = await rest.call("GET", "/api/v4/spot/my_trades", pair, signed=True)
    assert full["finish_as"] == "filled" and open_orders and trades and cancel["status"] == "cancelled"
    full_order = ("the doc example prints an abbreviated Order; the same Order object from GET/DELETE "
                  "/spot/orders (order_create_response_full.json, fact sheet §2.3) has this field")
    trade_field = ("the current API returns it (fact sheet §2.10 lists the same Trade fields); the v4.75 doc "
                   "example omits it")
    return [
        (Case("GET /spot/time", "gateio/server_time.json"), await rest.call("GET", "/api/v4/spot/time")),
        (Case("GET /spot/currency_pairs", "gateio/currency_pairs.json", Allow(extra=dict.fromkeys(
            ("[].min_base_amount", "[].max_base_amount", "[].max_quote_amount"),
            "the 2021 recording predates these (samples README); currency_pair_doc.json has them"))),
         await rest.call("GET", "/api/v4/spot/currency_pairs")),
        (Case("GET /spot/currency_pairs[0]", "gateio/currency_pair_doc.json"),
         (await rest.call("GET", "/api/v4/spot/currency_pairs"))[0]),
        (Case("GET /spot/order_book?with_id=true", "gateio/order_book_doc.json"),
         await rest.call("GET", "/api/v4/spot/order_book", {**pair, "limit": "5", "with_id": "true"})),
        (Case("POST /spot/orders", "gateio/order_create_response_full.json"), full),
        (Case("POST /spot/orders (ACK)", "gateio/order_create_response_ack.json"), ack),
        (Case("GET /spot/orders/{id}", "gateio/order_create_response_full.json"), got),
        (Case("GET /spot/open_orders", "gateio/open_orders.json", Allow(extra=dict.fromkeys(
            (f"[].orders[].{k}" for k in ("amend_text", "avg_deal_price", "create_time_ms", "fill_price",
                                          "filled_amount", "finish_as", "gt_maker_fee", "gt_taker_fee",
                                          "iceberg", "update_time_ms")), full_order))), open_orders),
        (Case("DELETE /spot/orders/{id}", "gateio/order_cancel_response.json"), cancel),
        (Case("GET /spot/accounts", "gateio/spot_accounts.json"),
         await rest.call("GET", "/api/v4/spot/accounts", signed=True)),
        (Case("GET /spot/my_trades", "gateio/trades.json", Allow(extra=dict.fromkeys(
            ("[].currency_pair", "[].amend_text"), trade_field))), trades),
        (Case("GET /spot/fee", "gateio/fee.json"),
         await rest.call("GET", "/api/v4/spot/fee", pair, signed=True)),
        (Case("GET /wallet/fee", "gateio/fee.json"),
         await rest.call("GET", "/api/v4/wallet/fee", signed=True)),
        (Case("POST /spot/orders (too big)", "gateio/error_balance_not_enough.json", same=("label",)),
         await rest.call("POST", orders, signed=True, body={**ioc, "text": "t-big", "amount": "1000"})),
        (Case("POST /spot/orders (bad text)", "gateio/error_invalid_param.json", same=("label",)),
         await rest.call("POST", orders, signed=True, body={**ioc, "text": "abc"})),
        (Case("GET /spot/accounts (bad secret)", "gateio/error_invalid_signature.json", same=("label",)),
         await rest.call("GET", "/api/v4/spot/accounts", signed=True, secret="wrong")),
    ]


REST_SCENARIOS: Mapping[str, Callable[[SimExchange, Rest], Any]] = MappingProxyType({
    "binance": binance_rest, "mexc": mexc_rest, "gateio": gate_rest,
})


@pytest.mark.parametrize("venue", sorted(REST_SCENARIOS))
async def test_rest_payloads_have_the_real_shapes(venue: str, samples_dir: Path,
                                                  session: aiohttp.ClientSession) -> None:
    sim, base, _ = await start(venue)
    try:
        cases = await REST_SCENARIOS[venue](sim, Rest(venue, base, session))
    finally:
        await sim.close()
    check(samples_dir, cases)


# ---------------------------------------------------------------------------------------------- WebSocket

MAX_STEPS = 200  # market steps to wait for a depth diff that changes both sides of BTC/USDT


async def next_diff(sim: SimExchange, venue: str, ws: aiohttp.ClientWebSocketResponse,
                    both_sides: Callable[[Any], bool], decode: Callable[[aiohttp.WSMessage], Any]
                    ) -> object:
    """Step the (frozen) market by hand until the socket carries a BTC/USDT diff touching both sides."""
    for _ in range(MAX_STEPS):
        if not any(d.venue == venue and d.symbol == BTC for d in sim.market.step(time.time_ns())):
            continue
        frame = decode(await ws.receive(timeout=10))  # a guard against a hang, not a timing check
        if both_sides(frame):
            return frame
    raise AssertionError(f"no two-sided {venue} diff in {MAX_STEPS} steps")


def _text(msg: aiohttp.WSMessage) -> Any:
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


def _mexc_push(msg: aiohttp.WSMessage) -> Any:
    assert msg.type is aiohttp.WSMsgType.BINARY, msg
    return MessageToDict(PushDataV3ApiWrapper.FromString(msg.data))


async def binance_ws(sim: SimExchange, ws_base: str, session: aiohttp.ClientSession
                     ) -> list[tuple[Case, object]]:
    async with session.ws_connect(f"{ws_base}/stream") as ws:
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms"], "id": 1})
        ack = _text(await ws.receive(timeout=10))
        diff = await next_diff(sim, "binance", ws, lambda f: bool(f["data"]["b"] and f["data"]["a"]),
                               _text)
    return [
        (Case("SUBSCRIBE ack", "binance/ws_subscribe_request_response.json", element=1), ack),
        (Case("depth diff", "binance/ws_depth_update_sequence_LRCBTC.json"), [diff]),
        (Case("depth diff (data)", "binance/ws_depth_update.json"), diff["data"]),
    ]


async def mexc_ws(sim: SimExchange, ws_base: str, session: aiohttp.ClientSession
                  ) -> list[tuple[Case, object]]:
    channel = "spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"
    async with session.ws_connect(ws_base) as ws:
        await ws.send_json({"method": "SUBSCRIPTION", "params": [channel]})
        ack = _text(await ws.receive(timeout=10))
        await ws.send_json({"method": "PING"})
        pong = _text(await ws.receive(timeout=10))
        push = await next_diff(sim, "mexc", ws, lambda f: {"bids", "asks"} <= f["publicAggreDepths"].keys(),
                               _mexc_push)
    return [
        (Case("SUBSCRIPTION ack", "mexc/ws_subscribe_ack.json"), ack),
        (Case("PING reply", "mexc/ws_pong.json"), pong),
        (Case("aggre.depth push (decoded)", "mexc/ws_aggre_depth_decoded.json"), push),
    ]


async def gate_ws(sim: SimExchange, ws_base: str, session: aiohttp.ClientSession
                  ) -> list[tuple[Case, object]]:
    async with session.ws_connect(ws_base) as ws:
        await ws.send_json({"time": int(time.time()), "channel": "spot.order_book_update",
                            "event": "subscribe", "payload": ["BTC_USDT", "100ms"]})
        ack = _text(await ws.receive(timeout=10))
        await ws.send_json({"time": int(time.time()), "channel": "spot.ping"})
        pong = _text(await ws.receive(timeout=10))
        update = await next_diff(sim, "gateio", ws, lambda f: bool(f["result"]["b"] and f["result"]["a"]),
                                 _text)
        private = await gate_private_pushes(sim, ws, session)
    current = "current servers add it (ws_obu_subscribe_ack.json, fact sheet §2.8); the sample is older"
    error = 'fact sheet §2.8: every response carries "error" (null on success, as in ws_pong.json)'
    # Known deviations of the WebSocket part of the Gate dialect, which the stream work owns: found
    # here and reported rather than changed, so that this test pins them until they are fixed.
    null_id = "KNOWN DEVIATION: the sim answers id null when the request has none; Gate omits it"
    unowned = "KNOWN DEVIATION: the sim does not send it yet"
    return [
        (Case("subscribe ack", "gateio/ws_subscribe_request_ack.json", Allow(
            extra={"time_ms": current, "conn_id": current, "error": error, "id": null_id}), element=1), ack),
        (Case("subscribe ack", "gateio/ws_obu_subscribe_ack.json", Allow(
            missing={"payload": unowned, "trace_id": unowned}, extra={"error": error, "id": null_id})), ack),
        (Case("spot.pong", "gateio/ws_pong.json", Allow(
            extra={"time_ms": current, "conn_id": current, "id": null_id})), pong),
        (Case("order_book_update", "gateio/ws_order_book_update_doc.json", Allow(missing={
            "result.full": "only on full-book pushes (fact sheet §2.8); the sim sends incremental diffs only",
            "result.l": unowned})), update),
        (Case("order_book_update", "gateio/ws_order_book_update_sequence_NEO_BTC.json", Allow(
            extra={"[].time_ms": current})), [update]),
        (Case("spot.orders push", "gateio/ws_orders_update.json"), private["spot.orders"]),
        (Case("spot.balances push", "gateio/ws_balances_update.json"), private["spot.balances"]),
    ]


async def gate_private_pushes(sim: SimExchange, ws: aiohttp.ClientWebSocketResponse,
                              session: aiohttp.ClientSession) -> dict[str, Any]:
    """Subscribe spot.orders and spot.balances (signed), fill an IOC, and return the first push of each."""
    for channel, payload in (("spot.orders", ["!all"]), ("spot.balances", None)):
        stamp = int(time.time())
        sign = hmac.new(SIM_SECRET.encode(), f"channel={channel}&event=subscribe&time={stamp}".encode(),
                        hashlib.sha512).hexdigest()
        request: dict[str, Any] = {"time": stamp, "id": 7, "channel": channel, "event": "subscribe",
                                   "auth": {"method": "api_key", "KEY": SIM_KEY, "SIGN": sign}}
        if payload is not None:
            request["payload"] = payload
        await ws.send_json(request)
    ask, _ = touch(sim, "gateio")
    rest = Rest("gateio", sim.urls["gateio"][0], session)
    await rest.call("POST", "/api/v4/spot/orders", signed=True, body={
        "currency_pair": "BTC_USDT", "side": "buy", "type": "limit", "amount": "0.001", "price": ask,
        "time_in_force": "ioc", "text": "t-shape-push"})
    first: dict[str, Any] = {}
    for _ in range(MAX_STEPS):  # acks and the order's depth diff come on the same socket
        frame = _text(await ws.receive(timeout=10))
        if frame.get("event") == "update":
            first.setdefault(frame["channel"], frame)
        if {"spot.orders", "spot.balances"} <= first.keys():
            return first
    raise AssertionError(f"no spot.orders and spot.balances pushes (got {sorted(first)})")


WS_SCENARIOS: Mapping[str, Callable[[SimExchange, str, aiohttp.ClientSession], Any]] = MappingProxyType({
    "binance": binance_ws, "mexc": mexc_ws, "gateio": gate_ws,
})


@pytest.mark.parametrize("venue", sorted(WS_SCENARIOS))
async def test_websocket_messages_have_the_real_shapes(venue: str, samples_dir: Path,
                                                       session: aiohttp.ClientSession) -> None:
    sim, _, ws_base = await start(venue)
    try:
        cases = await WS_SCENARIOS[venue](sim, ws_base, session)
    finally:
        await sim.close()
    check(samples_dir, cases)
