"""The OKX dialect's replies have the shapes of the real samples (``shared/exchange-samples/okx``).

As `test_sample_shapes` does for the other venues: every REST answer and WebSocket message is fetched
from a running simulator and compared with its sample key by key and JSON type by JSON type; error
answers must also carry the sample's ``code`` (or ``sCode``). Differences are allow-listed with their
reason; an allowance that matches nothing fails too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.sim.okx_rig import OkxRig, login, receive_json, running
from tests.sim.test_sample_shapes import Allow, Case, check

SWAP_DOC = "the docs example is a SWAP instrument; these are its derivative-only fields"
NOT_SPOT = "margin / derivatives only: a plain spot order does not carry it (rest_order_details_docs.json)"
DOCS_ONLY = "the fact sheet lists it for the channel; the 2022 recording predates it"
NO_DATA = "auth and rate-limit errors carry no data (the recorded bodies); the synthesized sample adds []"
CODE = ("code",)
NUMERIC_CODE = "that capture printed the code as a number; the fact sheet: OKX sends codes as strings"


def first(answer: Any) -> Any:
    return answer["data"][0]


async def rest_cases(rig: OkxRig) -> list[tuple[Case, object]]:
    _, ask = rig.touch()
    call = rig.call
    inst = {"instId": "BTC-USDT"}
    placed = await rig.order(px=format(ask, "f"), clOrdId="shapeioc1")
    resting = await rig.order(ordType="limit", px=rig.low(), clOrdId="shaperest1")
    rest_id = first(resting)["ordId"]
    _, query = await call("GET", "/api/v5/trade/order", {**inst, "ordId": first(placed)["ordId"]})
    _, pending = await call("GET", "/api/v5/trade/orders-pending", {"instType": "SPOT"})
    _, cancel = await call("POST", "/api/v5/trade/cancel-order", body={**inst, "ordId": rest_id})
    _, fills = await call("GET", "/api/v5/trade/fills", inst)
    _, balance = await call("GET", "/api/v5/account/balance")
    _, fee = await call("GET", "/api/v5/account/trade-fee", {"instType": "SPOT", **inst})
    _, big = await call("POST", "/api/v5/trade/order", body={
        **inst, "tdMode": "cash", "side": "buy", "ordType": "ioc", "sz": "1000", "px": format(ask, "f"),
        "clOrdId": "shapebig1"})
    _, odd = await call("POST", "/api/v5/trade/order", body={
        **inst, "tdMode": "cash", "side": "buy", "ordType": "ioc", "sz": "0.0010001", "px": format(ask, "f")})
    _, market_cap = await call("POST", "/api/v5/trade/order", body={
        **inst, "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "2000000"})
    _, unknown = await call("GET", "/api/v5/trade/order", {**inst, "ordId": "1"})
    _, cancel_unknown = await call("POST", "/api/v5/trade/cancel-order", body={**inst, "ordId": rest_id})
    _, bad_inst = await call("GET", "/api/v5/market/books", {"instId": "NOPE-USDT"}, signed=False)
    status_sig, bad_sign = await call("GET", "/api/v5/account/balance", secret="wrong")
    status_key, bad_key = await call("GET", "/api/v5/account/balance", key="nope")
    minute_ago = time.time_ns() // 1_000_000 - 60_000
    status_old, stale = await call("GET", "/api/v5/account/balance", stamp_ms=minute_ago)
    assert (status_sig, status_key, status_old) == (401, 401, 401)
    assert first(placed)["sCode"] == "0" and first(cancel)["sCode"] == "0" and pending["data"]
    public = [(await call("GET", path, params, signed=False))[1] for path, params in (
        ("/api/v5/public/time", {}), ("/api/v5/public/instruments", {"instType": "SPOT"}),
        ("/api/v5/market/books", {**inst, "sz": "5"}), ("/api/v5/market/trades", inst),
        ("/api/v5/market/ticker", inst))]
    time_, instruments, books, trades, ticker = public
    old_instrument = "the 2022 recording predates it (rest_instruments_spot_docs.json has it)"
    return [
        (Case("GET /public/instruments", "okx/rest_instruments_spot_docs.json", Allow(missing={
            "data[].upcChg[]": "no tick or size change is scheduled in the simulator: the list is empty"})),
         instruments),
        (Case("GET /public/instruments", "okx/rest_instruments_spot_recorded_trimmed.json", Allow(
            extra=dict.fromkeys((f"data[].{k}" for k in (
                "auctionEndTime", "contTdSwTime", "futureSettlement", "groupId", "instFamily", "maxLmtAmt",
                "maxMktAmt", "openType", "preMktSwTime", "tradeQuoteCcyList", "ruleType", "instIdCode",
                "instCategory", "upcChg")), old_instrument))), instruments),
        (Case("GET /market/books", "okx/rest_order_book_docs.json"), books),
        (Case("GET /market/trades", "okx/rest_trades_docs.json"), trades),
        (Case("GET /market/ticker", "okx/rest_ticker_docs.json"), ticker),
        (Case("POST /trade/order", "okx/rest_place_order_response_docs.json"), placed),
        (Case("POST /trade/order", "okx/rest_place_order_response_ccxt_recorded.json", Allow(
            extra={"data[].subCode": "the docs example and the fact sheet (§1.3) list it"})), placed),
        (Case("GET /trade/order", "okx/rest_order_details_docs.json"), query),
        (Case("GET /trade/orders-pending", "okx/rest_orders_pending_docs.json"), pending),
        (Case("POST /trade/cancel-order", "okx/rest_cancel_order_response_docs.json"), cancel),
        (Case("GET /trade/fills", "okx/rest_fills_docs.json"), fills),
        (Case("GET /account/balance", "okx/rest_balance_docs.json"), balance),
        (Case("GET /account/trade-fee", "okx/rest_fee_rates_docs.json"), fee),
        (Case("GET /trade/order (unknown)", "okx/error_51603_order_not_exist_SYNTH.json", same=CODE),
         unknown),
        (Case("GET /market/books (unknown)", "okx/error_51001_bad_instrument_SYNTH.json", same=CODE),
         bad_inst),
        (Case("POST /trade/order (too big)", "okx/error_51008_insufficient_balance_SYNTH.json", same=CODE),
         big),
        (Case("POST /trade/order (lot size)", "okx/error_51121_lot_size_SYNTH.json", same=CODE), odd),
        (Case("POST /trade/order (market cap)", "okx/error_51201_order_rejected_issue.json", Allow(
            extra={"data[].ts": "the fact sheet (§1.3) and the other order answers carry it",
                   "data[].subCode": "the fact sheet (§1.3) lists it", "inTime": "fact sheet §1.1",
                   "outTime": "fact sheet §1.1"},
            types={"data[].ordId": "that issue quoted null; the docs print an empty string for none"}),
            same=CODE), market_cap),
        (Case("POST /trade/cancel-order (unknown)", "okx/error_51400_cancel_unknown_SYNTH.json", same=CODE),
         cancel_unknown),
        (Case("GET /account/balance (bad sign)", "okx/error_50113_invalid_sign_issue.json", Allow(
            types={"code": NUMERIC_CODE})), bad_sign),
        (Case("GET /account/balance (bad key)", "okx/error_50111_invalid_key_nautilus.json", same=CODE),
         bad_key),
        (Case("GET /account/balance (stale)", "okx/error_50102_timestamp_expired_SYNTH.json", Allow(
            missing={"data": NO_DATA}), same=CODE), stale),
        (Case("GET /public/time vs a one-field envelope", "okx/rest_trades_docs.json", Allow(
            missing={f"data[].{k}": "the time answer holds only ts" for k in (
                "instId", "side", "sz", "source", "px", "tradeId")})), time_),
    ]


async def ws_cases(rig: OkxRig) -> list[tuple[Case, object]]:
    session = rig.session
    _, ask = rig.touch()
    async with session.ws_connect(rig.ws_public) as public, session.ws_connect(rig.ws_private) as private:
        await public.send_json({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
        ack = await receive_json(public)
        snapshot = await receive_json(public)
        await public.send_json({"id": "7", "op": "subscribe",
                                "args": [{"channel": "books", "instId": "NOPE"}]})
        refused = await receive_json(public)
        await public.send_json({"op": "subscribe", "args": [
            {"channel": "trades", "instId": "BTC-USDT"}, {"channel": "tickers", "instId": "BTC-USDT"},
            {"channel": "books5", "instId": "BTC-USDT"}]})
        await private.send_json(login(passphrase="wrong"))
        failed = await receive_json(private)
        await private.send_json(login())
        logged = await receive_json(private)
        await private.send_json({"op": "subscribe", "args": [
            {"channel": "orders", "instType": "SPOT"}, {"channel": "fills"}, {"channel": "account"}]})
        pushes: dict[str, Any] = {}
        while "account" not in pushes:  # acks first, then the account snapshot
            frame = await receive_json(private)
            if "data" in frame:
                pushes.setdefault(frame["arg"]["channel"], frame)
        await rig.order(px=format(ask, "f"), clOrdId="12345")
        while not {"orders", "fills", "account-update"} <= pushes.keys():
            frame = await receive_json(private)
            if frame.get("eventType") == "event_update":
                pushes.setdefault("account-update", frame)
            elif "data" in frame:
                pushes.setdefault(frame["arg"]["channel"], frame)
        while not {"trades", "tickers", "books5", "update"} <= pushes.keys():
            frame = await receive_json(public)
            channel = frame.get("arg", {}).get("channel")
            if channel == "books" and frame.get("action") == "update" and frame["data"][0]["bids"] \
                    and frame["data"][0]["asks"]:
                pushes.setdefault("update", frame)
            elif channel in ("trades", "tickers", "books5") and "data" in frame:
                pushes.setdefault(channel, frame)
    trade_extras = dict.fromkeys(("data[].count", "data[].source", "data[].seqId"), DOCS_ONLY)
    all_insts = Allow(missing={"arg.instId": "subscribed without instId (optional, fact sheet §1.10): the "
                                             "arg pushed is the subscription's"})
    newer = "the current docs example has it (ws_orders_push_docs.json); the 2023 recording predates it"
    return [
        (Case("books subscribe ack", "okx/ws_subscribe_ack_recorded.json", Allow(
            extra={"connId": "current servers add it (ws_login_success_docs.json, fact sheet §1.8)"})), ack),
        (Case("books snapshot", "okx/ws_books_docs_snapshot_and_update.json", element=0), snapshot),
        (Case("books update", "okx/ws_books_docs_snapshot_and_update.json", element=1), pushes["update"]),
        (Case("subscribe error", "okx/ws_subscribe_error_60012_docs.json"), refused),
        (Case("trades push", "okx/ws_trades_push_recorded.json", Allow(extra=trade_extras)),
         pushes["trades"]),
        (Case("tickers push", "okx/ws_tickers_push_recorded.json"), pushes["tickers"]),
        (Case("books5 push", "okx/ws_books5_push_docs.json"), pushes["books5"]),
        (Case("login refused", "okx/ws_login_failure_60009_docs.json"), failed),
        (Case("login", "okx/ws_login_success_docs.json"), logged),
        (Case("orders push", "okx/ws_orders_push_docs.json", all_insts), pushes["orders"]),
        (Case("orders push", "okx/ws_orders_push_market_sell_lifecycle_recorded.json", Allow(
            extra=dict.fromkeys((f"data[].{k}" for k in ("attachAlgoOrds", "fillIdxPx", "isTpLimit", "lastPx",
                                                         "linkedAlgoOrd", "tradeQuoteCcy")), newer)),
              element=1), pushes["orders"]),
        (Case("fills push", "okx/ws_fills_push_docs.json", all_insts), pushes["fills"]),
        (Case("account snapshot", "okx/ws_account_push_docs.json"), pushes["account"]),
        (Case("account update", "okx/ws_account_push_docs.json"), pushes["account-update"]),
    ]


async def test_rest_answers_have_the_real_shapes(samples_dir: Path) -> None:
    async with running() as rig:
        cases = await rest_cases(rig)
    check(samples_dir, cases)


async def test_websocket_messages_have_the_real_shapes(samples_dir: Path) -> None:
    async with running(still=False) as rig:
        cases = await ws_cases(rig)
    check(samples_dir, cases)
