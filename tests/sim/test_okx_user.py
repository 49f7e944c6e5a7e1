"""The OKX private socket: login checks and their codes, and the ``orders`` / ``fills`` / ``account``
pushes each matching-engine call makes (live -> filled, cancels, balances equal to the ledger), and
the `arb-engine sim` command serving OKX with faults."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.sim.okx_rig import OkxRig, login, receive_json, running

ROOT = Path(__file__).resolve().parents[2]
MAX_FRAMES = 200  # a bound on every read loop


async def logged_in(rig: OkxRig, ws: aiohttp.ClientWebSocketResponse, *channels: dict[str, str]) -> list[Any]:
    """Log in, subscribe `channels`, and return the acks (and the account snapshot if asked)."""
    await ws.send_json(login())
    assert (await receive_json(ws))["event"] == "login"
    await ws.send_json({"id": "s1", "op": "subscribe", "args": list(channels)})
    wanted = len(channels) + any(c["channel"] == "account" for c in channels)
    return [await receive_json(ws) for _ in range(wanted)]


async def pushes(ws: aiohttp.ClientWebSocketResponse, until: int) -> list[Any]:
    out = []
    for _ in range(MAX_FRAMES):
        if len(out) >= until:
            break
        out.append(await receive_json(ws))
    return out


# each request is built when its test runs: a login signed at collection time would be stale by then
@pytest.mark.parametrize(("request_", "code"), [
    (lambda: login("wrong"), "60007"),
    (lambda: login(stamp_s=int(time.time()) - 60), "60006"),
    (lambda: login(passphrase="wrong"), "60024"),
    (lambda: login(key="nope"), "60005"),
    (lambda: {"op": "login", "args": [{"apiKey": "sim-key"}]}, "60009"),
    (lambda: {"op": "subscribe", "args": [{"channel": "orders", "instType": "SPOT"}]}, "60011"),
])
async def test_a_refused_login_or_an_anonymous_subscribe_gets_okx_s_code(
        request_: Callable[[], dict[str, Any]], code: str) -> None:
    async with running() as rig, rig.session.ws_connect(rig.ws_private) as ws:
        await ws.send_json(request_())
        answer = await receive_json(ws)
        assert (answer["event"], answer["code"]) == ("error", code)
        await ws.send_json(login())
        assert (await receive_json(ws))["code"] == "0"
        await ws.send_json(login())
        assert (await receive_json(ws))["code"] == "60031"


async def test_an_ioc_fill_pushes_the_order_its_fill_and_the_balances() -> None:
    async with running() as rig, rig.session.ws_connect(rig.ws_private) as ws:
        acks = await logged_in(rig, ws, {"channel": "orders", "instType": "SPOT"}, {"channel": "fills"},
                               {"channel": "account", "ccy": "BTC"})
        assert [a.get("event", a.get("eventType")) for a in acks] == ["subscribe"] * 3 + ["snapshot"]
        assert Decimal(acks[3]["data"][0]["details"][0]["cashBal"]) == rig.dialect.ledger.total("sim", "BTC")
        _, ask = rig.touch()
        placed = (await rig.order(px=format(ask, "f"), clOrdId="777"))["data"][0]
        live, filled, fill, account = await pushes(ws, 4)
        (engine_fill,) = rig.dialect.matching.fills
        channels = [f["arg"]["channel"] for f in (live, filled, fill, account)]
        assert channels == ["orders", "orders", "fills", "account"]
        first = live["data"][0]
        assert (first["state"], first["accFillSz"], first["avgPx"]) == ("live", "0", "0")
        order = filled["data"][0]
        assert (order["state"], order["ordId"], order["clOrdId"], order["fillSz"]) == (
            "filled", placed["ordId"], "777", "0.001")
        assert Decimal(order["fillPx"]) == ask
        assert Decimal(order["fillFee"]) == -engine_fill.fee and order["execType"] == "T"
        assert (fill["data"][0]["tradeId"], fill["data"][0]["clOrdId"]) == (order["tradeId"], "777")
        assert account["eventType"] == "event_update"
        (btc,) = account["data"][0]["details"]
        assert (btc["ccy"], Decimal(btc["availBal"])) == ("BTC", rig.dialect.ledger.free("sim", "BTC"))


async def test_a_cancel_and_an_unfilled_ioc_push_canceled() -> None:
    async with running() as rig, rig.session.ws_connect(rig.ws_private) as ws:
        await logged_in(rig, ws, {"channel": "orders", "instType": "ANY", "instId": "BTC-USDT"})
        resting = (await rig.order(ordType="limit", px=rig.low(), clOrdId="rest1"))["data"][0]
        await rig.call("POST", "/api/v5/trade/cancel-order", body={"instId": "BTC-USDT", "clOrdId": "rest1"})
        await rig.order(px=rig.low(), clOrdId="miss1")  # an IOC far under the touch fills nothing
        frames = await pushes(ws, 4)
        states = [(f["data"][0]["clOrdId"], f["data"][0]["state"], f["data"][0]["cancelSource"])
                  for f in frames]
        assert states == [("rest1", "live", ""), ("rest1", "canceled", "1"), ("miss1", "live", ""),
                          ("miss1", "canceled", "14")]
        assert frames[1]["data"][0]["ordId"] == resting["ordId"]
        assert frames[0]["arg"] == {"channel": "orders", "instType": "ANY", "instId": "BTC-USDT",
                                    "uid": frames[0]["arg"]["uid"]}


async def test_dropped_user_pushes_leave_the_rest_api_right() -> None:
    async with running() as rig, rig.session.ws_connect(rig.ws_private) as ws:
        await logged_in(rig, ws, {"channel": "orders", "instType": "SPOT"})
        rig.sim.faults["okx"].drop_user_pushes = True
        _, ask = rig.touch()
        placed = (await rig.order(px=format(ask, "f")))["data"][0]
        rig.sim.faults["okx"].drop_user_pushes = False
        await rig.order(ordType="limit", px=rig.low(), clOrdId="after1")
        first = await receive_json(ws)  # the dropped order's pushes never come
        assert first["data"][0]["clOrdId"] == "after1"
        assert rig.sim.injectors["okx"].counts.user_pushes_dropped == 2
        query = {"instId": "BTC-USDT", "ordId": placed["ordId"]}
        _, got = await rig.call("GET", "/api/v5/trade/order", query)
        assert got["data"][0]["state"] == "filled"


def test_the_sim_command_serves_okx_with_a_skewed_clock_and_a_halted_symbol() -> None:
    cmd = [sys.executable, "-m", "arb.cli", "sim", "--venues", "okx", "--no-limits",
           "--fault", "okx:clock_skew_ms=-5000", "--fault", "okx:halt=BTC/USDT"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        venue, rest, ws = proc.stdout.readline().strip().split(" ")
        base = rest.removeprefix("rest=")
        assert venue == "okx" and ws.endswith("/ws/v5/public")
        with urllib.request.urlopen(base + "/api/v5/public/time", timeout=10) as resp:
            server_ms = int(json.loads(resp.read())["data"][0]["ts"])
        assert abs(server_ms - (time.time_ns() // 1_000_000 - 5000)) < 2000
        with urllib.request.urlopen(base + "/api/v5/public/instruments?instType=SPOT", timeout=10) as resp:
            state = {i["instId"]: i["state"] for i in json.loads(resp.read())["data"]}
        assert state["BTC-USDT"] == "suspend" and state["ETH-USDT"] == "live"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
