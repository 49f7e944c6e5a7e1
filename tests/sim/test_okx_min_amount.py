"""OKX's minimum order amount: by default only what ``/public/instruments`` publishes (``minSz``)
binds; the unverified hidden notional floor (``51020``) is an opt-in fault a test can provoke."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arb.cli import main
from arb.sim.faults import FaultPlan
from tests.sim.okx_rig import BTC, OkxRig, running

ACCOUNT = "sim"
TINY = "0.00001"  # one lot of BTC: well under 1 USDT at the simulator's ~65,000


def _tiny_buy(rig: OkxRig, ord_type: str = "limit") -> dict[str, str]:
    px = rig.low() if ord_type == "limit" else format(rig.touch()[1], "f")
    return {"side": "buy", "ordType": ord_type, "sz": TINY, "px": px}


async def test_by_default_an_order_of_one_lot_is_accepted_whatever_it_is_worth() -> None:
    async with running() as rig:
        status, listed = await rig.call("GET", "/api/v5/public/instruments",
                                        {"instType": "SPOT", "instId": "BTC-USDT"}, signed=False)
        assert status == 200
        inst = listed["data"][0]
        assert inst["minSz"] == TINY and "minNotional" not in inst and "minOrderAmt" not in inst
        rests = await rig.order(**_tiny_buy(rig))
        assert (rests["code"], rests["data"][0]["sCode"]) == ("0", "0")
        btc = rig.dialect.ledger.free(ACCOUNT, "BTC")
        fills = await rig.order(**_tiny_buy(rig, "ioc"))
        assert (fills["code"], fills["data"][0]["sCode"]) == ("0", "0")
        assert rig.dialect.ledger.free(ACCOUNT, "BTC") > btc  # it traded: no hidden floor by default
        value = Decimal(TINY) * rig.touch()[1]
        assert value < 1


async def test_the_hidden_floor_fault_answers_51020_and_changes_nothing() -> None:
    plan = FaultPlan(hidden_min_notional=Decimal("5"))
    async with running(faults={"okx": plan}) as rig:
        usdt = rig.dialect.ledger.free(ACCOUNT, "USDT")
        refused = await rig.order(**_tiny_buy(rig, "ioc"), clOrdId="tiny1")
        item = refused["data"][0]
        assert (refused["code"], item["sCode"], item["ordId"], item["clOrdId"]) == ("1", "51020", "", "tiny1")
        assert "minimum order amount" in item["sMsg"]
        assert rig.dialect.matching.orders == {} and rig.dialect.ledger.free(ACCOUNT, "USDT") == usdt
        # at the floor's worth the same kind of order goes through
        bid, _ = rig.touch()
        low = Decimal(rig.low())
        step = rig.sim.market.specs[BTC].step
        enough = (Decimal("5") / low).quantize(step) + step
        placed = await rig.order(side="buy", ordType="limit", sz=format(enough, "f"), px=rig.low())
        assert placed["data"][0]["sCode"] == "0" and enough * low >= 5 > Decimal(TINY) * bid
        plan.hidden_min_notional = Decimal(0)  # the plan is live: off again
        again = await rig.order(**_tiny_buy(rig))
        assert again["data"][0]["sCode"] == "0"


def test_a_bad_floor_on_the_command_line_is_refused_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--venues", "okx", "--fault", "okx:hidden_min_notional=lots"]) == 2
    err = capsys.readouterr().err
    assert "hidden_min_notional" in err and "Traceback" not in err
