"""The Bybit dialect's signed side: auth exactly as the fact sheet says, orders that move the ledger,
private pushes fed by the matching engine, the venue's limits and faults, and `arb-engine sim` serving it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.cli import build_parser
from arb.model import Side
from arb.sim.accounts import SIM_KEY
from arb.sim.bybit_private import bybit_signature
from arb.sim.bybit_user import ws_auth_signature
from arb.sim.faults import FaultPlan
from arb.sim.limits import Applies, LimitRule, SimLimits
from tests.sim.bybit_support import VENUE, running, text_frame, ws_auth

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "sim"
WALLET = ("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "BTC"})


def test_the_sims_signatures_are_the_fact_sheet_vectors() -> None:
    secret, key = "MY_TEST_SECRET_0123456789abcdef0123", "MY_TEST_KEY_XYZ"
    assert bybit_signature(secret, "1658384314791", key, "5000", "category=spot&symbol=BTCUSDT") == (
        "445c9cd10ffa7dcd56e0a9cb9487c66ce2f43dc5d17f4e953101f0bbe3507951")
    body = ('{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001",'
            '"price":"30000","timeInForce":"IOC","orderLinkId":"my-ioc-0001"}')
    assert bybit_signature(secret, "1658385579423", key, "5000", body) == (
        "10f0819bea3dd468d03d92d8adec8380b0564a495d0c0ed08e1b99f6ec82e88b")
    assert ws_auth_signature(secret, 1662350400000) == (
        "1ddb75025288a87d696a8d52fae8cdf0fefaeaec54e5a90a3eb59fb996367171")


@pytest.mark.parametrize(("how", "status", "code"), [
    ({}, 200, 0),
    ({"secret": "wrong"}, 200, 10004),
    ({"stamp": -6_000}, 200, 10002),  # older than the 5 s recv window
    ({"stamp": 1_500}, 200, 10002),  # more than 1 s ahead of the server
    ({"stamp": -4_000}, 200, 0),
    ({"key": "nobody"}, 401, 10003),
])
async def test_signed_requests_are_checked_as_the_venue_does(how: dict[str, Any], status: int,
                                                             code: int) -> None:
    async with running() as bybit:
        if "stamp" in how:
            how = {"stamp": time.time_ns() // 1_000_000 + how["stamp"]}
        got, body, _ = await bybit.signed(*WALLET[:2], WALLET[2], **how)
        assert (got, body["retCode"]) == (status, code), body
        assert (body["result"] != {}) is (code == 0)
        if code == 10004:  # the venue tells the origin string it expected to be signed
            assert body["retMsg"].startswith("error sign! origin_string[") and SIM_KEY in body["retMsg"]


async def test_orders_move_the_ledger_and_answer_by_either_id() -> None:
    async with running(seed=31) as bybit:
        ledger = bybit.dialect.ledger
        usdt, btc = ledger.free(ACCOUNT, "USDT"), ledger.free(ACCOUNT, "BTC")
        ask = bybit.touch(Side.BUY)
        placed = await bybit.order(price=format(ask, "f"), qty="0.002", timeInForce="IOC",
                                   orderLinkId="t-ioc")
        assert placed["retCode"] == 0 and placed["result"]["orderLinkId"] == "t-ioc"
        (fill,) = bybit.dialect.matching.fills
        assert fill.fee_asset == "BTC"  # fact sheet §2.3: a spot buy pays its fee in base
        assert ledger.free(ACCOUNT, "BTC") == btc + Decimal("0.002") - fill.fee
        assert ledger.free(ACCOUNT, "USDT") == usdt - ask * Decimal("0.002")
        by_link = await bybit.call("GET", "/v5/order/realtime", {"category": "spot", "orderLinkId": "t-ioc"})
        by_id = await bybit.call("GET", "/v5/order/realtime",
                                 {"category": "spot", "orderId": placed["result"]["orderId"]})
        (order,) = by_link["result"]["list"]
        assert by_id["result"]["list"] == [order]
        assert (order["orderStatus"], order["cumExecQty"], order["avgPrice"], order["cumExecFee"]) == (
            "Filled", "0.002", format(ask.normalize(), "f"), format(fill.fee.normalize(), "f"))
        (execution,) = (await bybit.call("GET", "/v5/execution/list", {"category": "spot"}))["result"]["list"]
        assert (execution["orderId"], execution["execQty"], execution["execFee"]) == (
            order["orderId"], "0.002", order["cumExecFee"])
        wallet = await bybit.call(*WALLET[:2], WALLET[2])
        (coin,) = wallet["result"]["list"][0]["coin"]
        assert (coin["coin"], Decimal(coin["walletBalance"])) == ("BTC", ledger.total(ACCOUNT, "BTC"))
        duplicate = await bybit.order(price=format(ask, "f"), timeInForce="IOC", orderLinkId="t-ioc")
        assert duplicate["retCode"] == 110072 and len(bybit.dialect.matching.orders) == 1


async def test_a_resting_order_locks_funds_until_cancelled_by_its_assigned_link_id() -> None:
    async with running(seed=32) as bybit:
        ledger = bybit.dialect.ledger
        usdt = ledger.free(ACCOUNT, "USDT")
        placed = (await bybit.order(price=bybit.resting_price()))["result"]
        assert int(placed["orderLinkId"]) == int(placed["orderId"]) + 1  # assigned: orderId + 1
        assert ledger.locked(ACCOUNT, "USDT") > 0
        listed = await bybit.call("GET", "/v5/order/realtime", {"category": "spot"})
        assert [o["orderStatus"] for o in listed["result"]["list"]] == ["New"]
        cancel = await bybit.call("POST", "/v5/order/cancel", body={
            "category": "spot", "symbol": "BTCUSDT", "orderLinkId": placed["orderLinkId"]})
        assert cancel["result"] == placed
        assert (ledger.free(ACCOUNT, "USDT"), ledger.locked(ACCOUNT, "USDT")) == (usdt, Decimal(0))
        again = await bybit.call("POST", "/v5/order/cancel", body={
            "category": "spot", "symbol": "BTCUSDT", "orderId": placed["orderId"]})
        assert again["retCode"] == 170213
        history = await bybit.call("GET", "/v5/order/history", {"category": "spot"})
        assert [(o["orderStatus"], o["cancelType"]) for o in history["result"]["list"]] == [
            ("Cancelled", "CancelByUser")]
        assert (await bybit.call("GET", "/v5/order/realtime", {"category": "spot"}))["result"]["list"] == []


async def test_market_buys_are_sized_in_quote_and_post_only_never_takes() -> None:
    async with running(seed=33) as bybit:
        market = await bybit.order(orderType="Market", qty="100")
        order = (await bybit.call("GET", "/v5/order/realtime", {
            "category": "spot", "orderId": market["result"]["orderId"]}))["result"]["list"][0]
        spent = Decimal(order["cumExecValue"]) + Decimal(order["cumExecFee"])
        assert (order["orderType"], order["timeInForce"], order["qty"], order["price"]) == (
            "Market", "IOC", "100", "0")
        assert Decimal("99") < spent <= Decimal("100")
        assert order["orderStatus"] in ("Filled", "PartiallyFilledCanceled")
        fills = len(bybit.dialect.matching.fills)
        crossing = await bybit.order(price=format(bybit.touch(Side.BUY), "f"), timeInForce="PostOnly")
        refused = (await bybit.call("GET", "/v5/order/realtime", {
            "category": "spot", "orderId": crossing["result"]["orderId"]}))["result"]["list"][0]
        assert (refused["orderStatus"], refused["rejectReason"]) == (
            "Cancelled", "EC_PostOnlyWillTakeLiquidity")
        assert len(bybit.dialect.matching.fills) == fills
        assert bybit.dialect.ledger.locked(ACCOUNT, "USDT") == 0


async def test_private_socket_pushes_order_execution_and_wallet_after_auth() -> None:
    async with running(seed=34) as bybit, bybit.session.ws_connect(bybit.private_ws) as ws:
        await ws.send_json({"op": "subscribe", "args": ["order"]})
        assert (await text_frame(ws))["ret_msg"] == "Request not authorized"
        for bad in (ws_auth(secret="wrong"), ws_auth(expires=time.time_ns() // 1_000_000 - 1),
                    ws_auth(key="nobody")):
            await ws.send_json(bad)
            reply = await text_frame(ws)
            assert reply["success"] is False and reply["req_id"] == "auth-1"
        await ws.send_json(ws_auth())
        assert (await text_frame(ws))["success"] is True
        await ws.send_json({"op": "subscribe", "args": ["order", "order.spot"]})
        assert (await text_frame(ws))["success"] is False  # not both in one request
        await ws.send_json({"op": "subscribe", "args": ["order", "execution", "wallet"]})
        assert (await text_frame(ws))["success"] is True
        ask = bybit.touch(Side.BUY)
        await bybit.order(price=format(ask, "f"), qty="0.003", timeInForce="IOC", orderLinkId="push-1")
        order, execution, wallet = [await text_frame(ws) for _ in range(3)]
        assert [f["topic"] for f in (order, execution, wallet)] == ["order", "execution", "wallet"]
        assert (order["data"][0]["orderLinkId"], order["data"][0]["orderStatus"]) == ("push-1", "Filled")
        assert sum(Decimal(e["execQty"]) for e in execution["data"]) == Decimal("0.003")
        coins = {c["coin"]: c for c in wallet["data"][0]["coin"]}
        ledger = bybit.dialect.ledger
        assert Decimal(coins["BTC"]["walletBalance"]) == ledger.total(ACCOUNT, "BTC")
        assert Decimal(coins["USDT"]["walletBalance"]) == ledger.total(ACCOUNT, "USDT")
        assert bybit.dialect.user.refusals == 3


async def test_the_venues_limits_answer_10006_per_uid_and_403_per_ip() -> None:
    tight = SimLimits(rules=(LimitRule("ip", 6, 60.0, weighted=False),
                             LimitRule("uid", 100, 60.0, Applies.PRIVATE, per_endpoint=True)),
                      ban_after=None, ban_s=600.0)
    async with running(limits={VENUE: tight}) as bybit:
        fee = ("GET", "/v5/account/fee-rate", {"category": "spot"})
        replies = [await bybit.signed(*fee) for _ in range(6)]
        assert [body["retCode"] for _, body, _ in replies] == [0, 0, 0, 0, 0, 10006]
        assert [h["X-Bapi-Limit-Status"] for _, _, h in replies] == ["4", "3", "2", "1", "0", "0"]
        assert {h["X-Bapi-Limit"] for _, _, h in replies} == {"5"}  # fee-rate: 5 per window
        async with bybit.session.get(bybit.rest + "/v5/market/time") as resp:
            assert (resp.status, await resp.text()) == (403, "access too frequent")  # the 7th from this IP
        async with bybit.session.get(bybit.rest + "/v5/market/time") as resp:
            assert resp.status == 403  # banned for ban_s
        assert bybit.sim.limiters[VENUE].bans == 1


async def test_fault_plan_kinds_work_on_the_bybit_dialect() -> None:
    plan = FaultPlan(error_5xx=1, http_methods=frozenset({"POST"}))
    async with running(faults={VENUE: plan}) as bybit:
        status, body, _ = await bybit.signed("POST", "/v5/order/create", body={
            "category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
            "price": format(bybit.touch(Side.BUY), "f"), "timeInForce": "IOC", "orderLinkId": "lost"})
        assert (status, body["retCode"]) == (500, 10016)
        placed = await bybit.call("GET", "/v5/order/realtime", {"category": "spot", "orderLinkId": "lost"})
        assert placed["result"]["list"][0]["orderStatus"] == "Filled"  # it ran: reconcile by orderLinkId
        bybit.sim.faults[VENUE].stall = True
        async with bybit.session.ws_connect(bybit.ws) as ws:
            await ws.send_json({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
            assert (await text_frame(ws))["success"] is True
            await ws.send_json({"op": "ping"})
            # pings are answered; no data flows, not even the snapshot (a ping's pong would follow it)
            assert (await text_frame(ws))["ret_msg"] == "pong"
        assert bybit.sim.injectors[VENUE].counts.stalled >= 1


def cli_offers_bybit() -> bool:
    """Whether `arb-engine sim --venues` accepts bybit (main: the registry's venues the sim serves)."""
    try:
        build_parser().parse_args(["sim", "--venues", VENUE])
    except SystemExit:
        return False
    return True


def test_arb_engine_sim_serves_bybit() -> None:
    if not cli_offers_bybit():
        pytest.skip("`sim --venues` offers the registry's venues: bybit once arb.venues.bybit is registered")
    cmd = [sys.executable, "-m", "arb.cli", "sim", "--venues", "bybit", "--no-limits",
           "--fault", "bybit:clock_skew_ms=-5000", "--fault", "bybit:halt=BTC/USDT"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        venue, rest, ws = proc.stdout.readline().strip().split(" ")
        assert venue == "bybit" and ws.endswith("/v5/public/spot")
        base = rest.removeprefix("rest=")
        with urllib.request.urlopen(base + "/v5/market/time", timeout=10) as resp:
            server_ms = json.loads(resp.read())["time"]
        assert abs(server_ms - (time.time_ns() // 1_000_000 - 5000)) < 2000
        with urllib.request.urlopen(base + "/v5/market/instruments-info?category=spot", timeout=10) as resp:
            listed = {row["symbol"] for row in json.loads(resp.read())["result"]["list"]}
        assert "ETHUSDT" in listed and "BTCUSDT" not in listed  # halted: not Trading
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
