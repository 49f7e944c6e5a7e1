"""The simulator's Gate private channels on the wire: the WS auth check (code 4), payload rules, and the
pushes of each matching-engine call (put / update / finish, usertrades rows, absolute balances)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from arb.model import Symbol
from arb.sim.gateio import GateDialect
from arb.sim.server import SimExchange
from arb.venues.gateio import auth

BTC = Symbol("BTC", "USDT")
ORDERS = "/api/v4/spot/orders"
RECEIVE_S = 10.0  # a guard against a hang, not a timing check


def signed(channel: str, event: str, *, key: str = "sim-key", secret: str = "sim-secret",
           ts: int | None = None, payload: list[str] | None = None, request_id: int = 1) -> dict[str, Any]:
    """A private request signed here with hmac (independently of the client's dialect)."""
    stamp = int(time.time()) if ts is None else ts
    sign = hmac.new(secret.encode(), f"channel={channel}&event={event}&time={stamp}".encode(),
                    hashlib.sha512).hexdigest()
    req: dict[str, Any] = {"time": stamp, "id": request_id, "channel": channel, "event": event,
                           "auth": {"method": "api_key", "KEY": key, "SIGN": sign}}
    if payload is not None:
        req["payload"] = payload
    return req


class Rig:
    def __init__(self, sim: SimExchange, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.rest, self.ws_url = sim.urls["gateio"]
        dialect = sim.dialects["gateio"]
        assert isinstance(dialect, GateDialect)
        self.dialect = dialect

    async def order(self, body: dict[str, Any]) -> tuple[int, Any]:
        text = json.dumps({"currency_pair": "BTC_USDT", **body})
        stamp = str(int(time.time()))
        headers = {"KEY": "sim-key", "Timestamp": stamp, "Content-Type": "application/json",
                   "SIGN": auth.sign("sim-secret", "POST", ORDERS, "", text, stamp)}
        async with self.session.post(f"{self.rest}{ORDERS}", data=text.encode(), headers=headers) as resp:
            return resp.status, await resp.json()

    async def cancel(self, order_id: str) -> Any:
        path, query = f"{ORDERS}/{order_id}", "currency_pair=BTC_USDT"
        stamp = str(int(time.time()))
        headers = {"KEY": "sim-key", "Timestamp": stamp,
                   "SIGN": auth.sign("sim-secret", "DELETE", path, query, "", stamp)}
        async with self.session.delete(f"{self.rest}{path}?{query}", headers=headers) as resp:
            return await resp.json()

    def book(self) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        _, bids, asks = self.sim.market.snapshot("gateio", BTC, 3)
        return bids, asks


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    sim = SimExchange(["gateio"], seed=11, step_s=0.05)
    await sim.start()
    await sim.close_driver()  # a still market: prices stay where the test read them
    try:
        async with aiohttp.ClientSession() as session:
            yield Rig(sim, session)
    finally:
        await sim.close()


async def ask(ws: aiohttp.ClientWebSocketResponse, req: dict[str, Any]) -> Any:
    await ws.send_json(req)
    return json.loads((await ws.receive(timeout=RECEIVE_S)).data)


async def pushes(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[Any]:
    return [json.loads((await ws.receive(timeout=RECEIVE_S)).data) for _ in range(count)]


async def subscribe_all(ws: aiohttp.ClientWebSocketResponse) -> None:
    for i, (channel, payload) in enumerate((("spot.orders", ["!all"]), ("spot.usertrades", ["!all"]),
                                            ("spot.balances", None))):
        reply = await ask(ws, signed(channel, "subscribe", payload=payload, request_id=i + 1))
        assert reply["error"] is None and reply["result"] == {"status": "success"}, reply
        assert (reply["id"], reply["channel"], reply["event"]) == (i + 1, channel, "subscribe")


async def test_requests_without_a_valid_auth_block_get_code_4(rig: Rig) -> None:
    now = int(time.time())
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "unknown key": (signed("spot.orders", "subscribe", key="nobody", payload=["!all"]), "INVALID_KEY"),
        "bad secret": (signed("spot.orders", "subscribe", secret="wrong", payload=["!all"]),
                       "INVALID_SIGNATURE"),
        "stale time": (signed("spot.orders", "subscribe", ts=now - 90, payload=["!all"]), "REQUEST_EXPIRED"),
        "future time": (signed("spot.balances", "subscribe", ts=now + 90), "REQUEST_EXPIRED"),
        "no auth": ({"time": now, "id": 9, "channel": "spot.balances", "event": "subscribe"},
                    "MISSING_REQUIRED_HEADER"),
    }
    other = signed("spot.balances", "subscribe")  # signed for another channel
    cases["signed for spot.balances"] = ({**other, "channel": "spot.usertrades", "payload": ["!all"]},
                                         "INVALID_SIGNATURE")
    unsub = signed("spot.orders", "subscribe", payload=["!all"])  # signed for the other event
    cases["signed for subscribe"] = ({**unsub, "event": "unsubscribe"}, "INVALID_SIGNATURE")
    async with rig.session.ws_connect(rig.ws_url) as ws:
        for what, (req, label) in cases.items():
            reply = await ask(ws, req)
            error = reply["error"]
            assert error is not None and error["code"] == 4 and reply["result"] is None, what
            assert json.loads(error["message"])["label"] == label, what
            assert reply["id"] == req["id"] and reply["channel"] == req["channel"], what
        assert rig.dialect.user.subscribes == 0 and rig.dialect.user.refusals == len(cases)
        # nothing was subscribed: an order pushes nothing, the next frame is the pong
        _, asks = rig.book()
        await rig.order({"side": "buy", "amount": "0.001", "price": format(asks[0][0], "f"),
                         "time_in_force": "ioc", "text": "t-none"})
        pong = await ask(ws, {"time": now, "channel": "spot.ping"})
        assert pong["channel"] == "spot.pong"


async def test_payload_rules(rig: Rig) -> None:
    async with rig.session.ws_connect(rig.ws_url) as ws:
        for payload in (None, [], ["NOPE_USDT"], ["BTC_USDT", "NOPE_USDT"]):
            reply = await ask(ws, signed("spot.orders", "subscribe", payload=payload))
            assert reply["error"]["code"] == 2, payload
        reply = await ask(ws, signed("spot.usertrades", "subscribe", payload=["BTC_USDT", "ETH_USDT"]))
        assert reply["error"] is None
        reply = await ask(ws, signed("spot.balances", "subscribe", payload=["ignored"]))
        assert reply["error"] is None and rig.dialect.user.subscribes == 2


async def test_ioc_taking_two_levels_pushes_put_trades_updates_finish_and_balances(rig: Rig) -> None:
    ledger = rig.dialect.ledger
    async with rig.session.ws_connect(rig.ws_url) as ws:
        await subscribe_all(ws)
        _, asks = rig.book()
        qty = asks[0][1] + asks[1][1] / 2
        qty = qty.quantize(Decimal("0.00001"))
        usdt_before = ledger.total("sim", "USDT")
        status, placed = await rig.order({"side": "buy", "amount": format(qty, "f"), "time_in_force": "ioc",
                                          "price": format(asks[1][0], "f"), "text": "t-two"})
        assert status == 201 and placed["finish_as"] == "filled"
        frames = await pushes(ws, 6)
    assert [(f["channel"], f["event"]) for f in frames] == [
        ("spot.orders", "update"), ("spot.usertrades", "update"), ("spot.orders", "update"),
        ("spot.usertrades", "update"), ("spot.orders", "update"), ("spot.balances", "update")]
    assert all(set(f) == {"time", "time_ms", "channel", "event", "result"} for f in frames)
    put, trade1, update, trade2, finish, balances = (f["result"] for f in frames)
    assert [r["event"] for r in (put[0], update[0], finish[0])] == ["put", "update", "finish"]
    assert put[0]["left"] == format(qty.normalize(), "f") and put[0]["filled_amount"] == "0"
    assert put[0]["id"] == placed["id"] and put[0]["text"] == "t-two" and put[0]["finish_as"] == "open"
    assert Decimal(update[0]["filled_amount"]) == asks[0][1] and update[0]["finish_as"] == "open"
    assert Decimal(update[0]["left"]) == qty - asks[0][1]
    assert Decimal(update[0]["fee"]) == Decimal(trade1[0]["fee"])
    assert finish[0]["finish_as"] == "filled" and finish[0]["left"] == "0"
    assert Decimal(finish[0]["fee"]) == Decimal(trade1[0]["fee"]) + Decimal(trade2[0]["fee"])
    assert isinstance(finish[0]["create_time_ms"], str) and "status" not in finish[0]
    fills = [f for f in rig.dialect.matching.fills if f.client_id == "t-two"]
    for row, fill in zip((trade1[0], trade2[0]), fills, strict=True):
        assert (row["id"], row["order_id"], row["text"], row["side"], row["role"]) == (
            fill.trade_id, placed["id"], "t-two", "buy", "taker")
        assert (Decimal(row["amount"]), Decimal(row["price"]), Decimal(row["fee"])) == (
            fill.quantity, fill.price, fill.fee)
    by_asset = {r["currency"]: r for r in balances}
    assert set(by_asset) == {"BTC", "USDT"}
    for asset, row in by_asset.items():
        assert Decimal(row["available"]) == ledger.free("sim", asset)
        assert Decimal(row["freeze"]) == ledger.locked("sim", asset) and row["change_type"] == "order-match"
        assert Decimal(row["total"]) == ledger.total("sim", asset)
    assert Decimal(by_asset["BTC"]["change"]) == qty
    assert Decimal(by_asset["USDT"]["change"]) == ledger.total("sim", "USDT") - usdt_before


async def test_resting_order_then_cancel(rig: Rig) -> None:
    ledger = rig.dialect.ledger
    async with rig.session.ws_connect(rig.ws_url) as ws:
        await subscribe_all(ws)
        bids, _ = rig.book()
        low = (bids[0][0] * Decimal("0.9")).quantize(Decimal("0.01"))
        _, placed = await rig.order({"side": "buy", "amount": "0.01", "price": format(low, "f"),
                                     "text": "t-rest"})
        put, created = await pushes(ws, 2)
        assert put["result"][0]["event"] == "put" and put["result"][0]["left"] == "0.01"
        usdt = next(r for r in created["result"] if r["currency"] == "USDT")
        assert usdt["change_type"] == "order-create" and usdt["change"] == "0"
        assert Decimal(usdt["freeze_change"]) == ledger.locked("sim", "USDT") > 0
        cancelled = await rig.cancel(placed["id"])
        assert cancelled["status"] == "cancelled"
        finish, released = await pushes(ws, 2)
    assert finish["channel"] == "spot.orders" and finish["result"][0]["event"] == "finish"
    assert finish["result"][0]["finish_as"] == "cancelled" and finish["result"][0]["left"] == "0.01"
    usdt = next(r for r in released["result"] if r["currency"] == "USDT")
    assert usdt["change_type"] == "order-cancel" and usdt["freeze"] == "0"
    assert Decimal(usdt["freeze_change"]) < 0 and usdt["change"] == "0"


async def test_pair_subscription_and_unsubscribe(rig: Rig) -> None:
    async with rig.session.ws_connect(rig.ws_url) as ws:
        assert (await ask(ws, signed("spot.orders", "subscribe", payload=["ETH_USDT"])))["error"] is None
        _, asks = rig.book()
        ioc = {"side": "buy", "amount": "0.001", "price": format(asks[0][0], "f"), "time_in_force": "ioc"}
        await rig.order({**ioc, "text": "t-btc-1"})
        pong = await ask(ws, {"time": int(time.time()), "channel": "spot.ping"})
        assert pong["channel"] == "spot.pong"  # no BTC_USDT push came before it
        assert (await ask(ws, signed("spot.orders", "subscribe", payload=["!all"])))["error"] is None
        await rig.order({**ioc, "text": "t-btc-2", "price": format(asks[2][0], "f")})
        put, finish = await pushes(ws, 2)
        assert [put["result"][0]["event"], finish["result"][0]["event"]] == ["put", "finish"]
        assert finish["result"][0]["text"] == "t-btc-2"
        reply = await ask(ws, signed("spot.orders", "unsubscribe", payload=["!all"]))
        assert reply["error"] is None and reply["event"] == "unsubscribe"
        await rig.order({**ioc, "text": "t-btc-3", "price": format(asks[2][0], "f")})
        pong = await ask(ws, {"time": int(time.time()), "channel": "spot.ping"})
        assert pong["channel"] == "spot.pong"


async def test_ioc_without_a_fill_finishes_as_ioc(rig: Rig) -> None:
    async with rig.session.ws_connect(rig.ws_url) as ws:
        await subscribe_all(ws)
        bids, _ = rig.book()
        await rig.order({"side": "sell", "amount": "0.001", "price": format(bids[0][0] * 2, "f"),
                         "time_in_force": "ioc", "text": "t-miss"})
        put, finish, balances = await pushes(ws, 3)
    assert put["result"][0]["event"] == "put" and finish["result"][0]["event"] == "finish"
    assert finish["result"][0]["finish_as"] == "ioc" and finish["result"][0]["left"] == "0.001"
    assert balances["channel"] == "spot.balances"
    assert {r["change"] for r in balances["result"]} == {"0"}
