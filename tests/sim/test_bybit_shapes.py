"""The Bybit dialect's replies have the shapes of the real samples (``shared/exchange-samples/bybit``).

Same method as `test_sample_shapes` (whose comparison this reuses): the same keys and JSON types per
key, recursively; values are compared only for error codes. Every difference is either fixed in the
simulator or allowed below with its reason, and an allowance that matches nothing fails the test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from arb.model import Side
from arb.sim.server import DEPTH_TOPICS, DIALECTS, WS_PATHS
from tests.sim.bybit_support import BTC, VENUE, Bybit, running, text_frame, ws_auth
from tests.sim.test_sample_shapes import Allow, Case, check

MAX_STEPS = 200
NEWER = "the newer order-history docs example (rest_order_history_docs.json) has it; this example is older"
FEE_MAP = "cumFeeDetail is a map keyed by the fee coin: the sample's fee was MNT, the sim's buy pays in BTC"
NO_FEE = "an order with no fee yet has an empty cumFeeDetail map; the sample's had a fee in MNT"
RECORDER = "ccxt's fixture format stringifies retCode and time (samples README); the live API sends numbers"
SPOT_NO_L = "spot trades carry no L (tick direction): the sample is the docs' linear example (samples README)"
RPI = "the fact sheet (§2.8) lists RPI for spot publicTrade; the docs example predates it"
EXEC_FEE_COIN = "the fact sheet (§2.10) lists feeCurrency for execution rows; the 2023 recording lacks it"
ORDER_FEE_MAP = "the fact sheet (§2.10) lists cumFeeDetail on order pushes; the 2023 recording predates it"
WALLET_NEWER = "the current wallet push (ws_wallet_push_docs.json) has it; the 2023 recording predates it"


async def rest_cases(bybit: Bybit) -> list[tuple[Case, object]]:
    ask = format(bybit.touch(Side.BUY), "f")
    ioc = await bybit.order(price=ask, timeInForce="IOC", orderLinkId="shape-ioc")
    resting = await bybit.order(price=bybit.resting_price(), orderLinkId="shape-rest")
    realtime = await bybit.call("GET", "/v5/order/realtime", {"category": "spot", "symbol": "BTCUSDT"})
    cancel = await bybit.call("POST", "/v5/order/cancel", body={
        "category": "spot", "symbol": "BTCUSDT", "orderLinkId": "shape-rest"})
    history = await bybit.call("GET", "/v5/order/history", {"category": "spot", "orderLinkId": "shape-rest"})
    executions = await bybit.call("GET", "/v5/execution/list", {"category": "spot", "symbol": "BTCUSDT"})
    assert ioc["retCode"] == resting["retCode"] == cancel["retCode"] == 0
    assert realtime["result"]["list"] and history["result"]["list"] and executions["result"]["list"]
    spot = {"category": "spot", "symbol": "BTCUSDT"}
    fields = ("slippageToleranceType", "slippageTolerance", "extraFees", "rpiTakerAccess", "rpiMatchedQty")
    newer = dict.fromkeys((f"result.list[].{k}" for k in fields), NEWER)
    return [
        (Case("GET /v5/market/time", "bybit/rest_server_time_docs.json"), await bybit.get("/v5/market/time")),
        (Case("GET /v5/market/instruments-info", "bybit/rest_instruments_spot_docs.json"),
         await bybit.get("/v5/market/instruments-info", {"category": "spot"})),
        (Case("GET /v5/market/orderbook", "bybit/rest_orderbook_docs.json"),
         await bybit.get("/v5/market/orderbook", {**spot, "limit": "5"})),
        (Case("GET /v5/market/tickers", "bybit/rest_tickers_spot_docs.json"),
         await bybit.get("/v5/market/tickers", spot)),
        (Case("GET /v5/market/recent-trade", "bybit/rest_recent_trade_spot_docs.json"),
         await bybit.get("/v5/market/recent-trade", {**spot, "limit": "3"})),
        (Case("POST /v5/order/create", "bybit/rest_create_order_response_docs.json"), ioc),
        (Case("POST /v5/order/create", "bybit/rest_create_order_response_ccxt_recorded.json",
              Allow(types={"retCode": RECORDER, "time": RECORDER})), ioc),
        (Case("POST /v5/order/cancel", "bybit/rest_cancel_order_response_docs.json"), cancel),
        (Case("GET /v5/order/realtime", "bybit/rest_open_orders_realtime_docs.json", Allow(
            missing={"result.list[].cumFeeDetail.MNT": NO_FEE}, extra=newer)), realtime),
        (Case("GET /v5/order/history", "bybit/rest_order_history_docs.json", Allow(
            missing={"result.list[].cumFeeDetail.MNT": NO_FEE})), history),
        (Case("GET /v5/order/history (filled)", "bybit/rest_order_history_docs.json", Allow(
            missing={"result.list[].cumFeeDetail.MNT": FEE_MAP},
            extra={"result.list[].cumFeeDetail.BTC": FEE_MAP})),
         await bybit.call("GET", "/v5/order/history", {"category": "spot", "orderLinkId": "shape-ioc"})),
        (Case("GET /v5/execution/list", "bybit/rest_execution_list_docs.json"), executions),
        (Case("GET /v5/account/wallet-balance", "bybit/rest_wallet_balance_docs.json"),
         await bybit.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})),
        (Case("GET /v5/account/fee-rate", "bybit/rest_fee_rate_docs.json"),
         await bybit.call("GET", "/v5/account/fee-rate", spot)),
    ]


async def error_cases(bybit: Bybit) -> list[tuple[Case, object]]:
    ask = bybit.touch(Side.BUY)
    same = ("retCode",)
    await bybit.order(price=format(ask, "f"), timeInForce="IOC", orderLinkId="dup-1")
    return [
        (Case("wrong secret", "bybit/error_10004_sign_issue.json", same=same),
         await bybit.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"}, secret="wrong")),
        (Case("stale timestamp", "bybit/error_10002_timestamp_SYNTH.json", same=same),
         await bybit.call("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"},
                          stamp=time.time_ns() // 1_000_000 - 60_000)),
        (Case("repeated orderLinkId", "bybit/error_110072_duplicate_orderlinkid_SYNTH.json", same=same),
         await bybit.order(price=format(ask, "f"), timeInForce="IOC", orderLinkId="dup-1")),
        (Case("unknown symbol", "bybit/error_170121_invalid_symbol_SYNTH.json", same=same),
         await bybit.order(symbol="NOPEUSDT", price="1")),
        (Case("too big", "bybit/error_170131_insufficient_balance_SYNTH.json", same=same),
         await bybit.order(price=format(ask, "f"), qty="1000")),
        (Case("price off the tick", "bybit/error_170134_price_decimals_SYNTH.json", same=same),
         await bybit.order(price=format(ask, "f") + "0001")),
        (Case("below minOrderAmt", "bybit/error_170140_min_notional_SYNTH.json", same=same),
         await bybit.order(price=format(ask, "f"), qty="0.00001")),
        (Case("cancel unknown", "bybit/error_170213_order_not_exist_SYNTH.json", same=same),
         await bybit.call("POST", "/v5/order/cancel", body={"category": "spot", "symbol": "BTCUSDT",
                                                           "orderId": "1552132392821799999"})),
    ]


async def test_rest_payloads_have_the_real_shapes(samples_dir: Path) -> None:
    async with running() as bybit:
        cases = await rest_cases(bybit) + await error_cases(bybit)
    check(samples_dir, cases)


async def until(ws: aiohttp.ClientWebSocketResponse, bybit: Bybit, wanted: Any) -> dict[str, Any]:
    """Step the still market until the socket carries a frame `wanted` accepts (the frames between go)."""
    for _ in range(MAX_STEPS):
        bybit.sim.market.step(time.time_ns())
        while True:
            try:
                frame = await text_frame_nowait(ws)
            except TimeoutError:
                break
            if wanted(frame):
                found: dict[str, Any] = frame
                return found
    raise AssertionError(f"no wanted frame in {MAX_STEPS} steps")


async def text_frame_nowait(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await ws.receive(timeout=0.05)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def public_cases(bybit: Bybit) -> list[tuple[Case, object]]:
    async with bybit.session.ws_connect(bybit.ws) as ws:
        await ws.send_json({"op": "ping"})
        pong = await text_frame(ws)
        await ws.send_json({"req_id": "10001", "op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
        ack_with_id = await text_frame(ws)
        snapshot = await text_frame(ws)
        await ws.send_json({"op": "subscribe", "args": ["publicTrade.BTCUSDT", "tickers.BTCUSDT"]})
        ack = await text_frame(ws)
        delta = await until(ws, bybit,
                            lambda f: f.get("type") == "delta" and f["data"]["b"] and f["data"]["a"])
        ticker = await until(ws, bybit, lambda f: f.get("topic", "").startswith("tickers."))
        await bybit.order(price=format(bybit.touch(Side.BUY), "f"), timeInForce="IOC")
        trade = await until(ws, bybit, lambda f: f.get("topic", "").startswith("publicTrade."))
    depth = "bybit/ws_orderbook50_spot_snapshot_plus_delta_recorded.json"
    return [
        (Case("public pong", "bybit/ws_pong_public_spot_recorded.json"), pong),
        (Case("public pong", "bybit/ws_ping_pong_docs.json", element=1), pong),
        (Case("subscribe ack (req_id)", "bybit/ws_subscribe_ack_public_spot_docs.json"), ack_with_id),
        (Case("subscribe ack", "bybit/ws_subscribe_ack_public_recorded.json"), ack),
        (Case("depth snapshot", "bybit/ws_orderbook50_snapshot_docs_edited.json"), snapshot),
        (Case("depth snapshot", depth, element=0), snapshot),
        (Case("depth delta", depth, element=1), delta),
        (Case("depth delta", "bybit/ws_orderbook50_delta_docs.json"), delta),
        (Case("depth sequence", "bybit/ws_orderbook50_sequence_with_resets_SYNTH.json"), [snapshot, delta]),
        (Case("tickers push", "bybit/ws_ticker_spot_docs.json"), ticker),
        (Case("publicTrade push", "bybit/ws_public_trade_docs.json",
              Allow(missing={"data[].L": SPOT_NO_L}, extra={"data[].RPI": RPI})), trade),
    ]


async def private_cases(bybit: Bybit) -> list[tuple[Case, object]]:
    async with bybit.session.ws_connect(bybit.private_ws) as ws:
        await ws.send_json({"op": "auth", "args": ws_auth()["args"]})
        auth = await text_frame(ws)
        await ws.send_json({"op": "ping"})
        pong = await text_frame(ws)
        await ws.send_json({"req_id": "test", "op": "ping"})
        pong_with_id = await text_frame(ws)
        await ws.send_json({"op": "subscribe", "args": ["order.spot", "execution.spot", "wallet"]})
        ack = await text_frame(ws)
        await bybit.order(price=format(bybit.touch(Side.BUY), "f"), timeInForce="IOC")
        pushes: dict[str, Any] = {}
        while len(pushes) < 3:
            frame = await text_frame(ws)
            pushes[frame["topic"]] = frame
    recorded_wallet = dict.fromkeys(("data[].accountIMRateByMp", "data[].accountMMRateByMp",
                                     "data[].totalInitialMarginByMp", "data[].totalMaintenanceMarginByMp",
                                     "data[].coin[].spotHedgingQty", "data[].coin[].spotBorrow"),
                                    WALLET_NEWER)
    return [
        (Case("auth ack", "bybit/ws_auth_success_docs.json"), auth),
        (Case("auth ack", "bybit/ws_auth_success_recorded.json"), auth),
        (Case("private pong", "bybit/ws_pong_private_recorded.json"), pong),
        (Case("private pong (req_id)", "bybit/ws_ping_pong_docs.json", element=2), pong_with_id),
        (Case("private subscribe ack", "bybit/ws_subscribe_ack_private_docs.json"), ack),
        (Case("order.spot push", "bybit/ws_order_spot_push_ioc_partial_and_filled_recorded.json",
              Allow(extra={"[].data[].cumFeeDetail": ORDER_FEE_MAP})), [pushes["order.spot"]]),
        (Case("execution.spot push", "bybit/ws_execution_spot_push_recorded.json",
              Allow(extra={"data[].feeCurrency": EXEC_FEE_COIN})), pushes["execution.spot"]),
        (Case("wallet push", "bybit/ws_wallet_push_docs.json"), pushes["wallet"]),
        (Case("wallet push", "bybit/ws_wallet_push_recorded.json", Allow(extra=recorded_wallet)),
         pushes["wallet"]),
    ]


async def test_websocket_messages_have_the_real_shapes(samples_dir: Path) -> None:
    async with running() as bybit:
        cases = await public_cases(bybit) + await private_cases(bybit)
    check(samples_dir, cases)


def test_the_sim_is_registered_under_its_venue_name() -> None:
    assert (DIALECTS[VENUE].__name__, WS_PATHS[VENUE], DEPTH_TOPICS[VENUE](BTC)) == (
        "BybitDialect", "/v5/public/spot", "orderbook.50.BTCUSDT")
