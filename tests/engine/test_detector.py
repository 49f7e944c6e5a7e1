from __future__ import annotations

from decimal import Decimal

import pytest

from arb._core.book import L2Book
from arb.config import RiskConfig
from arb.engine.detector import MS, Detector
from arb.engine.reasons import Gate
from arb.model import Opportunity, Symbol

SYM = Symbol("BTC", "USDT")
NOW = 10_000 * MS


def book(bid: float, ask: float, size: float = 1.0, ts: int = NOW) -> L2Book:
    b = L2Book()
    b.set_snapshot([bid, bid - 1], [size, size], [ask, ask + 1], [size, size])
    b.ts_ns = ts
    return b


class Harness:
    def __init__(self, **risk: object) -> None:
        self.now = NOW
        self.synced = {"binance": True, "gateio": True, "mexc": True}
        self.blocked: dict[str, Gate] = {}
        self.balance = Decimal("1000")
        self.found: list[Opportunity] = []
        cfg = RiskConfig(**{"min_net_bps": 5.0, "symbol_cooldown_ms": 0, **risk})  # type: ignore[arg-type]
        self.detector = Detector(
            cfg, lambda: self.now, is_synced=lambda v, s: self.synced[v],
            available=lambda v, a: self.balance, blocked=self.blocked.get,
            on_opportunity=self.found.append, run_tag="t1-",
        )
        self.books = {"binance": book(99.0, 100.0), "gateio": book(101.0, 102.0), "mexc": book(99.5, 100.5)}
        self.detector.add_symbol(SYM, self.books, {v: 0.001 for v in self.books}, qty_step=0.01)


def test_emits_the_cross_venue_opportunity_with_venue_names() -> None:
    h = Harness()
    opp = h.detector.on_book_update("gateio", SYM)
    assert opp is not None and h.found == [opp]
    assert (opp.buy_venue, opp.sell_venue) == ("binance", "gateio")
    assert opp.quantity == pytest.approx(1.0) and opp.id == "t1-000001"
    assert opp.net_profit == pytest.approx(101.0 * 0.999 - 100.0 * 1.001)
    assert h.detector.funnel.stages["evaluated"] == 1 and h.detector.funnel.stages["clears_fees"] == 1


@pytest.mark.parametrize(
    ("breaker", "reason"),
    [
        (lambda h: h.synced.__setitem__("gateio", False), Gate.NOT_SYNCED),
        (lambda h: setattr(h.books["gateio"], "ts_ns", NOW - 5_000 * MS), Gate.BOOK_TOO_OLD),
        (lambda h: h.books["gateio"].apply(True, 103.0, 1.0), Gate.CROSSED_BOOK),
        (lambda h: h.blocked.__setitem__("gateio", Gate.CIRCUIT_OPEN), Gate.CIRCUIT_OPEN),
        (lambda h: h.detector.set_halted("gateio", SYM, True), Gate.SYMBOL_HALTED),
    ],
)
def test_each_gate_removes_the_venue_and_is_counted(breaker, reason) -> None:  # type: ignore[no-untyped-def]
    h = Harness()
    breaker(h)
    opp = h.detector.on_book_update("binance", SYM)
    assert opp is None or "gateio" not in (opp.buy_venue, opp.sell_venue)
    assert set(h.detector.funnel.gates) == {reason}


def test_venue_time_lag_gate() -> None:
    h = Harness(max_event_lag_ms=100)
    assert h.detector.on_book_update("gateio", SYM, ts_event=NOW - 500 * MS) is None
    assert h.detector.funnel.gates == {Gate.VENUE_TIME_LAG: 1}


def test_too_good_to_be_true_and_cooldown() -> None:
    h = Harness(max_net_bps=50.0)
    h.books["gateio"].set_snapshot([110.0], [1.0], [111.0], [1.0])  # ~9% edge: suspicious
    assert h.detector.on_book_update("gateio", SYM) is None
    assert h.detector.funnel.gates == {Gate.TOO_GOOD_TO_BE_TRUE: 1}
    h2 = Harness(symbol_cooldown_ms=250)
    assert h2.detector.on_book_update("gateio", SYM) is not None
    assert h2.detector.on_book_update("gateio", SYM) is None
    assert h2.detector.funnel.gates == {Gate.SYMBOL_COOLDOWN: 1}
    h2.now += 250 * MS
    for b in h2.books.values():
        b.ts_ns = h2.now
    assert h2.detector.on_book_update("gateio", SYM) is not None


def test_balances_limit_the_size_and_unknown_symbols_are_ignored() -> None:
    h = Harness()
    h.balance = Decimal("0.25")  # base on the sell venue caps the size
    opp = h.detector.on_book_update("gateio", SYM)
    assert opp is None  # quote 0.25 cannot buy 0.01 BTC at 100
    h.balance = Decimal("50")
    opp = h.detector.on_book_update("gateio", SYM)
    assert opp is not None and opp.quantity == pytest.approx(0.49)
    assert h.detector.on_book_update("gateio", Symbol("ETH", "USDT")) is None
    with pytest.raises(ValueError, match="two venues"):
        h.detector.add_symbol(Symbol("X", "USDT"), {"binance": book(10, 11)}, {"binance": 0.0}, 0.1)
