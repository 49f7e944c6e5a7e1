"""The fee currency of spot fills on OKX and Bybit (fact sheets §1.3 and §2.3): a buy pays in the base
coin it receives, a sell in quote; the ledger, the REST order and fill rows say the same. A resting buy
reserves only its notional and gives all of it back when cancelled; a quote-sized market buy spends at
most its quote amount."""

from __future__ import annotations

from decimal import Decimal

from arb.model import Side
from tests.sim import bybit_support, okx_rig

ACCOUNT = "sim"
RATE = Decimal("0.001")  # both venues' simulated taker rate


async def test_okx_buys_pay_in_base_and_sells_in_quote() -> None:
    async with okx_rig.running() as rig:
        ledger = rig.dialect.ledger
        bid, ask = rig.touch()
        usdt, btc = ledger.free(ACCOUNT, "USDT"), ledger.free(ACCOUNT, "BTC")
        await rig.order(px=format(ask, "f"), sz="0.01", clOrdId="feebuy")
        assert ledger.free(ACCOUNT, "BTC") == btc + Decimal("0.01") * (1 - RATE)
        assert ledger.free(ACCOUNT, "USDT") == usdt - ask * Decimal("0.01")
        _, buy = await rig.call("GET", "/api/v5/trade/order", {"instId": "BTC-USDT", "clOrdId": "feebuy"})
        assert (buy["data"][0]["feeCcy"], buy["data"][0]["fee"]) == ("BTC", "-0.00001")
        usdt, btc = ledger.free(ACCOUNT, "USDT"), ledger.free(ACCOUNT, "BTC")
        await rig.order(side="sell", px=format(bid, "f"), sz="0.01", clOrdId="feesell")
        assert ledger.free(ACCOUNT, "BTC") == btc - Decimal("0.01")
        assert ledger.free(ACCOUNT, "USDT") == usdt + bid * Decimal("0.01") * (1 - RATE)
        _, fills = await rig.call("GET", "/api/v5/trade/fills", {"instId": "BTC-USDT"})
        assert [(f["side"], f["feeCcy"], Decimal(f["fee"])) for f in fills["data"]] == [
            ("sell", "USDT", -bid * Decimal("0.01") * RATE), ("buy", "BTC", -Decimal("0.01") * RATE)]


async def test_okx_reserves_a_buys_notional_only() -> None:
    async with okx_rig.running() as rig:
        ledger = rig.dialect.ledger
        usdt = ledger.free(ACCOUNT, "USDT")
        low = rig.low()
        await rig.order(ordType="limit", px=low, sz="0.01", clOrdId="rest1")
        assert ledger.locked(ACCOUNT, "USDT") == Decimal(low) * Decimal("0.01")
        _, cancel = await rig.call("POST", "/api/v5/trade/cancel-order",
                                   body={"instId": "BTC-USDT", "clOrdId": "rest1"})
        assert cancel["code"] == "0"
        assert (ledger.free(ACCOUNT, "USDT"), ledger.locked(ACCOUNT, "USDT")) == (usdt, Decimal(0))
        await rig.order(ordType="market", sz="100", clOrdId="mkt1")  # a market buy sized in quote
        spent = usdt - ledger.free(ACCOUNT, "USDT")
        assert Decimal(99) < spent <= Decimal(100) and ledger.locked(ACCOUNT, "USDT") == 0


async def test_bybit_buys_pay_in_base_and_sells_in_quote() -> None:
    async with bybit_support.running(seed=41) as bybit:
        ledger = bybit.dialect.ledger
        ask, bid = bybit.touch(Side.BUY), bybit.touch(Side.SELL)
        usdt, btc = ledger.free(ACCOUNT, "USDT"), ledger.free(ACCOUNT, "BTC")
        buy = await bybit.order(price=format(ask, "f"), qty="0.01", timeInForce="IOC", orderLinkId="fee-b")
        assert buy["retCode"] == 0
        assert ledger.free(ACCOUNT, "BTC") == btc + Decimal("0.01") * (1 - RATE)
        assert ledger.free(ACCOUNT, "USDT") == usdt - ask * Decimal("0.01")
        usdt, btc = ledger.free(ACCOUNT, "USDT"), ledger.free(ACCOUNT, "BTC")
        sell = await bybit.order(side="Sell", price=format(bid, "f"), qty="0.01", timeInForce="IOC",
                                 orderLinkId="fee-s")
        assert sell["retCode"] == 0
        assert ledger.free(ACCOUNT, "BTC") == btc - Decimal("0.01")
        assert ledger.free(ACCOUNT, "USDT") == usdt + bid * Decimal("0.01") * (1 - RATE)
        executions = (await bybit.call("GET", "/v5/execution/list", {"category": "spot"}))["result"]["list"]
        assert [(e["side"], e["feeCurrency"], Decimal(e["execFee"])) for e in executions] == [
            ("Sell", "USDT", bid * Decimal("0.01") * RATE), ("Buy", "BTC", Decimal("0.01") * RATE)]
        history = await bybit.call("GET", "/v5/order/history", {"category": "spot"})
        details = {o["orderLinkId"]: o["cumFeeDetail"] for o in history["result"]["list"]}
        assert set(details["fee-b"]) == {"BTC"} and set(details["fee-s"]) == {"USDT"}


async def test_bybit_quote_sized_market_buy_spends_at_most_its_amount() -> None:
    async with bybit_support.running(seed=42) as bybit:
        ledger = bybit.dialect.ledger
        usdt = ledger.free(ACCOUNT, "USDT")
        placed = await bybit.order(orderType="Market", qty="100", marketUnit="quoteCoin")
        assert placed["retCode"] == 0
        spent = usdt - ledger.free(ACCOUNT, "USDT")
        assert Decimal(99) < spent <= Decimal(100) and ledger.locked(ACCOUNT, "USDT") == 0
