"""The OKX dialect's signed REST: the OK-ACCESS-* checks and their codes, and orders that move the ledger
(IOC fills and remainders, client ids, cancels, lists, market and post-only orders, batches)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from arb.sim.accounts import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET
from arb.sim.faults import FaultPlan
from arb.sim.limits import DEFAULT_LIMITS
from tests.sim.okx_rig import BTC, iso, running, sign
from tests.sim.support import VirtualTime

ACCOUNT = "sim"
BALANCE = "/api/v5/account/balance"
ORDER = "/api/v5/trade/order"
INST = {"instId": "BTC-USDT"}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.mark.parametrize(("how", "code"), [
    ({"secret": "wrong"}, "50113"),
    ({"stamp_ms": -31_000}, "50102"),
    ({"stamp_ms": 31_000}, "50102"),
    ({"passphrase": "wrong"}, "50105"),
    ({"key": "nope"}, "50111"),
    ({"headers": {"OK-ACCESS-TIMESTAMP": "1700000000"}}, "50112"),
    ({"headers": {"OK-ACCESS-PASSPHRASE": ""}}, "50104"),
    ({"signed": False}, "50103"),
])
async def test_a_badly_signed_request_gets_okx_s_401(how: dict[str, object], code: str) -> None:
    if "stamp_ms" in how:
        how = {**how, "stamp_ms": now_ms() + int(str(how["stamp_ms"]))}
    async with running() as rig:
        usdt = rig.dialect.ledger.free(ACCOUNT, "USDT")
        body = {**INST, "tdMode": "cash", "side": "buy", "ordType": "limit", "sz": "0.001", "px": rig.low()}
        status, answer = await rig.call("POST", ORDER, body=body, **how)  # type: ignore[arg-type]
        assert (status, answer["code"]) == (401, code)
        assert rig.dialect.matching.orders == {} and rig.dialect.ledger.free(ACCOUNT, "USDT") == usdt


async def test_the_signature_covers_the_query_and_the_body() -> None:
    async with running() as rig:
        status, fine = await rig.call("GET", BALANCE, {"ccy": "BTC,USDT"})
        assert status == 200 and [d["ccy"] for d in fine["data"][0]["details"]] == ["BTC", "USDT"]
        stamp = iso(now_ms())
        headers = {"OK-ACCESS-KEY": SIM_KEY, "OK-ACCESS-PASSPHRASE": SIM_PASSPHRASE,
                   "OK-ACCESS-TIMESTAMP": stamp,
                   "OK-ACCESS-SIGN": sign(SIM_SECRET, f"{stamp}GET{BALANCE}?ccy=BTC")}
        async with rig.session.get(f"{rig.rest}{BALANCE}?ccy=ETH", headers=headers) as resp:
            assert (resp.status, (await resp.json())["code"]) == (401, "50113")
        body = '{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","sz":"0.001","px":"1"}'
        headers["OK-ACCESS-SIGN"] = sign(SIM_SECRET, f"{stamp}POST{ORDER}{body}")
        async with rig.session.post(f"{rig.rest}{ORDER}", data=body.replace("0.001", "0.002"),
                                    headers=headers) as resp:
            assert (resp.status, (await resp.json())["code"]) == (401, "50113")


async def test_an_ioc_buy_fills_moves_the_ledger_and_is_found_by_both_ids() -> None:
    async with running() as rig:
        ledger = rig.dialect.ledger
        _, ask = rig.touch()
        usdt, btc = ledger.free(ACCOUNT, "USDT"), ledger.free(ACCOUNT, "BTC")
        placed = (await rig.order(px=format(ask, "f"), clOrdId="arb1ioc"))["data"][0]
        assert (placed["sCode"], placed["clOrdId"]) == ("0", "arb1ioc") and int(placed["ordId"]) > 2**53
        (fill,) = rig.dialect.matching.fills
        assert fill.fee_asset == "BTC"  # a buy pays its fee in the base received
        assert ledger.free(ACCOUNT, "BTC") == btc + Decimal("0.001") - fill.fee
        assert ledger.free(ACCOUNT, "USDT") == usdt - ask * Decimal("0.001")
        _, by_id = await rig.call("GET", ORDER, {**INST, "ordId": placed["ordId"]})
        _, by_cl = await rig.call("GET", ORDER, {**INST, "clOrdId": "arb1ioc"})
        assert by_id == by_cl
        order = by_id["data"][0]
        assert (order["state"], order["accFillSz"], Decimal(order["avgPx"]), order["ordType"]) == (
            "filled", "0.001", ask, "ioc")
        assert Decimal(order["fee"]) == -fill.fee
        _, fills = await rig.call("GET", "/api/v5/trade/fills", INST)
        assert [(f["ordId"], Decimal(f["fillSz"]), Decimal(f["fee"])) for f in fills["data"]] == [
            (placed["ordId"], Decimal("0.001"), -fill.fee)]
        _, balance = await rig.call("GET", BALANCE, {"ccy": "BTC"})
        assert Decimal(balance["data"][0]["details"][0]["availBal"]) == ledger.free(ACCOUNT, "BTC")


async def test_an_ioc_remainder_is_cancelled_with_the_fills_kept() -> None:
    async with running() as rig:
        _, ask = rig.touch()
        _, asks_ = rig.sim.market.snapshot("okx", BTC, 1)[1:]
        top = asks_[0][1]
        placed = (await rig.order(px=format(ask, "f"), sz=format(top * 2, "f")))["data"][0]
        _, got = await rig.call("GET", ORDER, {**INST, "ordId": placed["ordId"]})
        order = got["data"][0]
        assert (order["state"], Decimal(order["accFillSz"]), order["cancelSource"]) == ("canceled", top, "14")
        assert rig.dialect.ledger.locked(ACCOUNT, "USDT") == 0


async def test_client_ids_are_unique_among_pending_orders_then_reusable() -> None:
    async with running() as rig:
        ledger = rig.dialect.ledger
        usdt = ledger.free(ACCOUNT, "USDT")
        first = (await rig.order(ordType="limit", px=rig.low(), clOrdId="dup1"))["data"][0]
        again = await rig.order(ordType="limit", px=rig.low(), clOrdId="dup1")
        assert (again["code"], again["data"][0]["sCode"]) == ("1", "51016")
        _, pending = await rig.call("GET", "/api/v5/trade/orders-pending", {"instType": "SPOT"})
        assert [o["ordId"] for o in pending["data"]] == [first["ordId"]]
        assert ledger.locked(ACCOUNT, "USDT") > 0
        _, cancelled = await rig.call("POST", "/api/v5/trade/cancel-order", body={**INST, "clOrdId": "dup1"})
        assert (cancelled["code"], cancelled["data"][0]["ordId"]) == ("0", first["ordId"])
        assert (ledger.free(ACCOUNT, "USDT"), ledger.locked(ACCOUNT, "USDT")) == (usdt, 0)
        _, twice = await rig.call("POST", "/api/v5/trade/cancel-order", body={**INST, "clOrdId": "dup1"})
        assert (twice["code"], twice["data"][0]["sCode"]) == ("1", "51400")
        reused = (await rig.order(ordType="limit", px=rig.low(), clOrdId="dup1"))["data"][0]
        _, newest = await rig.call("GET", ORDER, {**INST, "clOrdId": "dup1"})
        assert newest["data"][0]["ordId"] == reused["ordId"] != first["ordId"]
        _, history = await rig.call("GET", "/api/v5/trade/orders-history", {"instType": "SPOT"})
        assert [(o["ordId"], o["state"], o["cancelSource"]) for o in history["data"]] == [
            (first["ordId"], "canceled", "1")]


async def test_market_orders_size_buys_in_quote_and_sells_in_base() -> None:
    async with running() as rig:
        ledger = rig.dialect.ledger
        usdt = ledger.total(ACCOUNT, "USDT")
        buy = (await rig.order(ordType="market", sz="100"))["data"][0]
        spent = usdt - ledger.total(ACCOUNT, "USDT")
        assert buy["sCode"] == "0" and Decimal("99") < spent <= Decimal("100") * Decimal("1.001")
        btc = ledger.total(ACCOUNT, "BTC")
        sell = (await rig.order(ordType="market", side="sell", sz="0.002"))["data"][0]
        assert sell["sCode"] == "0" and ledger.total(ACCOUNT, "BTC") == btc - Decimal("0.002")
        _, got = await rig.call("GET", ORDER, {**INST, "ordId": buy["ordId"]})
        order = got["data"][0]
        assert (order["sz"], order["tgtCcy"], order["px"]) == ("100", "quote_ccy", "")


async def test_a_crossing_post_only_order_is_cancelled_at_once() -> None:
    async with running() as rig:
        _, ask = rig.touch()
        usdt = rig.dialect.ledger.free(ACCOUNT, "USDT")
        placed = (await rig.order(ordType="post_only", px=format(ask, "f"), clOrdId="maker1"))["data"][0]
        _, got = await rig.call("GET", ORDER, {**INST, "clOrdId": "maker1"})
        assert placed["sCode"] == "0" and (got["data"][0]["state"], got["data"][0]["cancelSource"]) == (
            "canceled", "31")
        assert rig.dialect.matching.fills == [] and rig.dialect.ledger.free(ACCOUNT, "USDT") == usdt


async def test_a_batch_answers_per_order() -> None:
    async with running() as rig:
        _, ask = rig.touch()
        good = {**INST, "tdMode": "cash", "side": "buy", "ordType": "ioc", "sz": "0.001",
                "px": format(ask, "f")}
        _, answer = await rig.call("POST", "/api/v5/trade/batch-orders", body=[good, {**good, "sz": "1000"}])
        assert answer["code"] == "2" and [d["sCode"] for d in answer["data"]] == ["0", "51008"]
        _, bad = await rig.call("POST", ORDER, body={**good, "clOrdId": "no-dashes"})
        _, missing = await rig.call("POST", ORDER, body={"instId": "BTC-USDT", "tdMode": "cash"})
        assert (bad["code"], missing["code"]) == ("51000", "50014")


async def test_the_rate_limit_answers_50011_and_a_500_still_places_the_order() -> None:
    clock = VirtualTime(1000.0)
    async with running(limits={"okx": DEFAULT_LIMITS["okx"]}, limits_clock=clock.now,
                       faults={"okx": FaultPlan(seed=1)}) as rig:
        statuses = [(await rig.call("GET", BALANCE))[0] for _ in range(11)]
        status, answer = await rig.call("GET", BALANCE)
        assert statuses == [200] * 10 + [429] and (status, answer) == (429, {"msg": "Too Many Requests",
                                                                             "code": "50011"})
        clock.t += 2.0
        assert (await rig.call("GET", BALANCE))[0] == 200
        rig.sim.faults["okx"].error_5xx = 1
        _, ask = rig.touch()
        status, answer = await rig.call("POST", ORDER, body={
            **INST, "tdMode": "cash", "side": "buy", "ordType": "ioc", "sz": "0.001", "px": format(ask, "f"),
            "clOrdId": "lost1"})
        assert (status, answer["code"]) == (500, "50026")
        _, found = await rig.call("GET", ORDER, {**INST, "clOrdId": "lost1"})
        assert found["data"][0]["state"] == "filled"


def test_the_rig_signs_like_the_fact_sheet_vectors() -> None:
    secret = "22582BD0CFF14C41EDBF1AB98506286D"  # the example secret of OKX's docs (fact sheet §1.4)
    assert sign(secret, "2020-12-08T09:08:57.715ZGET/api/v5/account/balance?ccy=BTC") == \
        "HiZhvSfMtWJA3uUIVXV3a/bSXNPCWvYFXoGCVS8V4zY="
    assert sign(secret, "1538054050GET/users/self/verify") == "+LdIr8lkkvhr5hoA3g9TMC0+uQJ849ftAcocA/ouu4M="
