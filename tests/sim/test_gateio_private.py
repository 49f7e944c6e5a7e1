"""The simulator's signed Gate endpoints on the wire: the APIv4 signature check and Gate's answers."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from arb.model import Side, Symbol
from arb.sim.accounts import gate_signature
from arb.sim.gateio import GateDialect
from arb.sim.server import SimExchange
from arb.venues.gateio import auth

BTC = Symbol("BTC", "USDT")
ORDERS = "/api/v4/spot/orders"


class Gate:
    """Raw signed calls to one simulated Gate endpoint."""

    def __init__(self, base: str, session: aiohttp.ClientSession, sim: SimExchange) -> None:
        self.base = base
        self.session = session
        self.sim = sim
        dialect = sim.dialects["gateio"]
        assert isinstance(dialect, GateDialect)
        self.dialect = dialect

    def headers(self, method: str, path: str, query: str, body: str, *, key: str = "sim-key",
                secret: str = "sim-secret", ts: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if ts is None else ts)
        return {"KEY": key, "Timestamp": stamp, "SIGN": auth.sign(secret, method, path, query, body, stamp),
                "Content-Type": "application/json"}

    async def call(self, method: str, path: str, query: str = "", body: Any = None,
                   headers: dict[str, str] | None = None, **sign: Any) -> tuple[int, Any]:
        text = "" if body is None else json.dumps(body)
        hdrs = headers if headers is not None else self.headers(method, path, query, text, **sign)
        url = f"{self.base}{path}" + (f"?{query}" if query else "")
        async with self.session.request(method, url, data=text.encode() or None, headers=hdrs) as resp:
            return resp.status, await resp.json()

    def best(self, side: Side) -> tuple[Decimal, Decimal]:
        _, bids, asks = self.sim.market.snapshot("gateio", BTC, 1)
        return (asks if side is Side.BUY else bids)[0]


@pytest.fixture
async def gate() -> AsyncIterator[Gate]:
    sim = SimExchange(["gateio"], seed=11, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()  # a still market: prices stay where the test read them
    async with aiohttp.ClientSession() as session:
        yield Gate(urls["gateio"][0], session, sim)
    await sim.close()


def test_sim_signature_matches_the_fact_sheet_vectors() -> None:
    query = "contract=BTC_USD&status=finished&limit=50"
    assert gate_signature("secret", "GET", "/api/v4/futures/orders", query, b"", "1541993715") == (
        "55f84ea195d6fe57ce62464daaa7c3c02fa9d1dde954e4c898289c9a2407a3d6fb3faf24deff16790d726b66ac9f7452"
        "6668b13bd01029199cc4fcc522418b8a")
    body = b'{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'
    assert gate_signature("secret", "POST", "/api/v4/futures/orders", "", body, "1541993715") == (
        "eae42da914a590ddf727473aff25fc87d50b64783941061f47a3fdb92742541fc4c2c14017581b4199a1418d54471c2"
        "69c03a38d788d802e2c306c37636389f0")


async def test_a_correct_signature_is_accepted(gate: Gate) -> None:
    status, rows = await gate.call("GET", "/api/v4/spot/accounts", "currency=BTC")
    assert status == 200 and rows == [{"currency": "BTC", "available": "10", "locked": "0", "update_id": 1}]


@pytest.mark.parametrize(("how", "label"), [
    ("unknown key", "INVALID_KEY"),
    ("wrong secret", "INVALID_SIGNATURE"),
    ("signed other query", "INVALID_SIGNATURE"),
    ("signed other body", "INVALID_SIGNATURE"),
    ("stale timestamp", "REQUEST_EXPIRED"),
    ("future timestamp", "REQUEST_EXPIRED"),
    ("malformed timestamp", "REQUEST_EXPIRED"),
    ("no SIGN header", "MISSING_REQUIRED_HEADER"),
])
async def test_each_bad_request_gets_gates_label(gate: Gate, how: str, label: str) -> None:
    body = {"currency_pair": "BTC_USDT", "side": "buy", "amount": "0.001", "price": "1", "text": "t-x"}
    text = json.dumps(body)
    now = int(time.time())
    headers = {
        "unknown key": gate.headers("POST", ORDERS, "", text, key="nobody"),
        "wrong secret": gate.headers("POST", ORDERS, "", text, secret="wrong"),
        "signed other query": gate.headers("POST", ORDERS, "a=1", text),
        "signed other body": gate.headers("POST", ORDERS, "", text.replace("0.001", "0.002")),
        "stale timestamp": gate.headers("POST", ORDERS, "", text, ts=now - 61 - 5),
        "future timestamp": gate.headers("POST", ORDERS, "", text, ts=now + 61 + 5),
    }.get(how)
    if how == "malformed timestamp":
        headers = gate.headers("POST", ORDERS, "", text) | {"Timestamp": "soon"}
    if how == "no SIGN header":
        headers = {k: v for k, v in gate.headers("POST", ORDERS, "", text).items() if k != "SIGN"}
    status, reply = await gate.call("POST", ORDERS, body=body, headers=headers)
    assert (status, reply["label"]) == (401, label) and reply["message"]
    assert not gate.dialect.matching.orders  # nothing was placed


async def test_limit_ioc_fills_and_replies_in_gates_order_shape(gate: Gate) -> None:
    price, qty = gate.best(Side.BUY)
    amount = min(qty, Decimal("0.01"))
    status, order = await gate.call("POST", ORDERS, body={
        "text": "t-ioc1", "currency_pair": "BTC_USDT", "type": "limit", "account": "spot", "side": "buy",
        "amount": str(amount), "price": str(price), "time_in_force": "ioc"})
    assert status == 201
    assert {"id", "text", "create_time_ms", "update_time_ms", "left", "filled_total", "fill_price",
            "avg_deal_price", "fee_currency", "finish_as"} <= set(order)
    assert (order["status"], order["finish_as"], order["text"]) == ("closed", "filled", "t-ioc1")
    assert Decimal(order["filled_amount"]) == amount and Decimal(order["left"]) == 0
    assert Decimal(order["filled_total"]) == amount * price == Decimal(order["fill_price"])
    assert Decimal(order["fee"]) == (amount * price * Decimal("0.002")).quantize(Decimal("1e-12"))
    status, trades = await gate.call("GET", "/api/v4/spot/my_trades", "currency_pair=BTC_USDT")
    assert status == 200 and [t["order_id"] for t in trades] == [order["id"]]
    assert trades[0]["text"] == "t-ioc1" and trades[0]["role"] == "taker"


async def test_order_lifecycle_by_text_and_by_id(gate: Gate) -> None:
    bid, _ = gate.best(Side.SELL)
    low = (bid * Decimal("0.9")).quantize(Decimal("0.01"))
    body = {"text": "t-rest1", "currency_pair": "BTC_USDT", "side": "buy", "amount": "0.001",
            "price": str(low)}
    status, placed = await gate.call("POST", ORDERS, body=body)
    assert status == 201 and (placed["status"], placed["finish_as"]) == ("open", "open")
    assert gate.dialect.ledger.locked("sim", "USDT") > 0
    status, again = await gate.call("POST", ORDERS, body=body)
    assert (status, again["label"]) == (400, "ORDER_EXISTS")
    for ref in ("t-rest1", placed["id"]):
        status, seen = await gate.call("GET", f"{ORDERS}/{ref}", "currency_pair=BTC_USDT")
        assert status == 200 and seen["id"] == placed["id"]
    status, groups = await gate.call("GET", "/api/v4/spot/open_orders")
    assert [(g["currency_pair"], g["total"], [o["text"] for o in g["orders"]]) for g in groups] == [
        ("BTC_USDT", 1, ["t-rest1"])]
    status, listed = await gate.call("GET", ORDERS, "currency_pair=BTC_USDT&status=open")
    assert [o["id"] for o in listed] == [placed["id"]]
    status, wrong_pair = await gate.call("GET", f"{ORDERS}/t-rest1", "currency_pair=ETH_USDT")
    assert (status, wrong_pair["label"]) == (404, "ORDER_NOT_FOUND")
    status, cancelled = await gate.call("DELETE", f"{ORDERS}/t-rest1", "currency_pair=BTC_USDT")
    assert (cancelled["status"], cancelled["finish_as"]) == ("cancelled", "cancelled")
    assert gate.dialect.ledger.locked("sim", "USDT") == 0
    status, twice = await gate.call("DELETE", f"{ORDERS}/t-rest1", "currency_pair=BTC_USDT")
    assert (status, twice["label"]) == (400, "ORDER_CANCELLED")
    status, finished = await gate.call("GET", ORDERS, "currency_pair=BTC_USDT&status=finished")
    assert [o["text"] for o in finished] == ["t-rest1"]


@pytest.mark.parametrize(("change", "status", "label"), [
    ({"text": "abc"}, 400, "INVALID_PARAM_VALUE"),  # the real sample: no t- prefix
    ({"text": "t-" + "x" * 29}, 400, "INVALID_PARAM_VALUE"),  # 28 bytes after the prefix at most
    ({"text": "t-a b"}, 400, "INVALID_PARAM_VALUE"),
    ({"currency_pair": "NOPE_USDT"}, 400, "INVALID_CURRENCY_PAIR"),
    ({"currency_pair": None}, 400, "MISSING_REQUIRED_PARAM"),
    ({"price": None}, 400, "MISSING_REQUIRED_PARAM"),
    ({"side": "long"}, 400, "INVALID_PARAM_VALUE"),
    ({"time_in_force": "day"}, 400, "INVALID_PARAM_VALUE"),
    ({"type": "market", "time_in_force": "gtc"}, 400, "INVALID_PARAM_VALUE"),
    ({"amount": "100"}, 400, "BALANCE_NOT_ENOUGH"),
    ({"amount": "0.0000001"}, 400, "INVALID_PRECISION"),
    ({"price": "1.001"}, 400, "INVALID_PRECISION"),
    ({"amount": "0.00001", "price": "1"}, 400, "AMOUNT_TOO_LITTLE"),
])
async def test_bad_orders_get_gates_labels(gate: Gate, change: dict[str, Any], status: int,
                                           label: str) -> None:
    price, _ = gate.best(Side.BUY)
    body = {"text": "t-bad", "currency_pair": "BTC_USDT", "side": "buy", "amount": "0.001",
            "price": str(price), "time_in_force": "ioc"} | change
    body = {k: v for k, v in body.items() if v is not None}
    got_status, reply = await gate.call("POST", ORDERS, body=body)
    assert (got_status, reply["label"]) == (status, label)


async def test_post_only_fok_market_and_ack(gate: Gate) -> None:
    ask, ask_qty = gate.best(Side.BUY)
    status, poc = await gate.call("POST", ORDERS, body={
        "text": "t-poc", "currency_pair": "BTC_USDT", "side": "buy", "amount": "0.001", "price": str(ask),
        "time_in_force": "poc"})
    assert (status, poc["label"]) == (400, "POC_FILL_IMMEDIATELY")
    status, fok = await gate.call("POST", ORDERS, body={
        "text": "t-fok", "currency_pair": "BTC_USDT", "side": "buy", "amount": "5", "price": str(ask),
        "time_in_force": "fok"})
    assert status == 201
    assert (fok["status"], fok["finish_as"], fok["filled_amount"]) == ("cancelled", "fok", "0")
    funds = (ask * min(ask_qty, Decimal("0.01"))).quantize(Decimal("0.01"))
    usdt_before = gate.dialect.ledger.free("sim", "USDT")
    status, market = await gate.call("POST", ORDERS, body={
        "text": "t-mkt", "currency_pair": "BTC_USDT", "type": "market", "side": "buy", "amount": str(funds),
        "time_in_force": "ioc", "action_mode": "ACK"})
    assert status == 201 and set(market) == {"id", "text", "amend_text"}
    status, seen = await gate.call("GET", f"{ORDERS}/t-mkt", "currency_pair=BTC_USDT")
    assert seen["type"] == "market" and seen["amount"] == format(funds.normalize(), "f")
    spent = usdt_before - gate.dialect.ledger.free("sim", "USDT")
    assert Decimal(seen["filled_amount"]) > 0 and 0 < spent <= funds  # a market buy spends quote funds


async def test_fee_and_unknown_orders(gate: Gate) -> None:
    for path in ("/api/v4/spot/fee", "/api/v4/wallet/fee"):
        status, fee = await gate.call("GET", path, "currency_pair=BTC_USDT")
        assert status == 200 and (fee["taker_fee"], fee["maker_fee"]) == ("0.002", "0.002")
    status, missing = await gate.call("GET", f"{ORDERS}/12345", "currency_pair=BTC_USDT")
    assert (status, missing["label"]) == (404, "ORDER_NOT_FOUND")
    status, no_pair = await gate.call("GET", f"{ORDERS}/12345")
    assert (status, no_pair["label"]) == (400, "MISSING_REQUIRED_PARAM")
