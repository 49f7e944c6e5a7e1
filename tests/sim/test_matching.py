"""Matching engine and ledger: IOC partials, FOK, market orders, rules, exact balances, cancels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arb.model import Side, Symbol
from arb.sim.market import MarketModel, VenueParams
from arb.sim.matching import Ledger, MatchingEngine, Reject, RejectKind

BTC = Symbol("BTC", "USDT")
D = Decimal


def setup() -> tuple[MarketModel, Ledger, MatchingEngine, list[object]]:
    market = MarketModel([VenueParams("binance", noise_bps=0.0, jump_rate_per_s=0.0)], seed=9)
    ledger = Ledger()
    ledger.deposit("acct", "USDT", D("100000"))
    ledger.deposit("acct", "BTC", D("1"))
    engine = MatchingEngine("binance", market, ledger, taker_fee=D("0.001"), clock_ms=lambda: 1000)
    diffs: list[object] = []
    market.subscribe("binance", diffs.append)
    return market, ledger, engine, diffs


def test_ioc_buy_walks_levels_to_its_limit_and_settles_exactly() -> None:
    market, ledger, engine, diffs = setup()
    _, _, asks = market.snapshot("binance", BTC, 3)
    (p1, q1), (p2, q2), (p3, _) = asks
    want = q1 + q2 + D("0.00001") * 3  # more than the first two levels hold
    order, fills = engine.place("acct", BTC, Side.BUY, "LIMIT", want, p2, "IOC", "c1")
    assert order.status == "EXPIRED" and order.filled == q1 + q2  # the rest did not clear the limit
    assert [(f.price, f.quantity) for f in fills] == [(p1, q1), (p2, q2)]
    notional = p1 * q1 + p2 * q2
    assert order.quote_filled == notional and order.fee == sum(f.fee for f in fills)
    assert ledger.free("acct", "BTC") == D("1") + q1 + q2
    assert ledger.free("acct", "USDT") == D("100000") - notional - order.fee
    assert ledger.locked("acct", "USDT") == 0 and ledger.locked("acct", "BTC") == 0
    # the taken liquidity left the book and was streamed as a diff
    _, _, after = market.snapshot("binance", BTC, 1)
    assert after[0][0] == p3 and diffs and diffs[-1].asks[0] == (p1, D(0))  # type: ignore[attr-defined]


def test_fok_is_all_or_nothing_and_market_sell_fills() -> None:
    market, ledger, engine, _ = setup()
    _, _, asks = market.snapshot("binance", BTC, 1)
    best_price, best_qty = asks[0]
    assert best_qty < D("0.5")  # not enough at the best price: FOK must not fill at all
    order, fills = engine.place("acct", BTC, Side.BUY, "LIMIT", D("0.5"), best_price, "FOK", "c1")
    assert order.status == "EXPIRED" and fills == [] and ledger.free("acct", "USDT") == D("100000")
    order, fills = engine.place("acct", BTC, Side.SELL, "MARKET", D("0.01"), None, "IOC", "c2")
    assert order.status == "FILLED" and sum(f.quantity for f in fills) == D("0.01")
    assert ledger.free("acct", "BTC") == D("0.99")


@pytest.mark.parametrize(
    ("qty", "price", "kind"),
    [(D("0.000015"), D("65000.00"), RejectKind.BAD_STEP), (D("0.001"), D("65000.005"), RejectKind.BAD_TICK),
     (D("0.00001"), D("65000.00"), RejectKind.BELOW_MIN_NOTIONAL),
     (D("5"), D("65000.00"), RejectKind.INSUFFICIENT_BALANCE)],
)
def test_rules_reject_and_change_nothing(qty: Decimal, price: Decimal, kind: RejectKind) -> None:
    _, ledger, engine, _ = setup()
    with pytest.raises(Reject) as info:
        engine.place("acct", BTC, Side.BUY, "LIMIT", qty, price, "IOC", "c1")
    assert info.value.kind is kind
    assert ledger.free("acct", "USDT") == D("100000") and engine.orders == {}


def test_duplicate_client_ids_query_cancel_and_halts() -> None:
    market, ledger, engine, _ = setup()
    order, fills = engine.place("acct", BTC, Side.BUY, "LIMIT", D("0.01"), D("1000.00"), "GTC", "rest-1")
    assert order.status == "NEW" and fills == [] and ledger.locked("acct", "USDT") == D("10.01")
    assert engine.open_orders("acct") == [order]
    with pytest.raises(Reject, match="duplicate"):
        engine.place("acct", BTC, Side.BUY, "LIMIT", D("0.01"), D("1000.00"), "GTC", "rest-1")
    assert engine.find("acct", client_id="rest-1") is order
    assert engine.cancel("acct", client_id="rest-1").status == "CANCELED"
    assert ledger.locked("acct", "USDT") == 0 and ledger.free("acct", "USDT") == D("100000")
    with pytest.raises(Reject, match="unknown order"):
        engine.find("acct", client_id="nope")
    market.halt("binance", BTC)
    with pytest.raises(Reject, match="halted"):
        engine.place("acct", BTC, Side.SELL, "MARKET", D("0.01"), None, "IOC", "c9")
