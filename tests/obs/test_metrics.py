from __future__ import annotations

from arb.engine.detector import Funnel
from arb.engine.reasons import Gate, Refusal, by_text
from arb.obs.metrics import EngineSnapshot, Metrics, parse_exposition


def test_engine_counters_are_read_at_scrape_time() -> None:
    funnel = Funnel()
    refusals: dict[Refusal, int] = {}
    snapshot = EngineSnapshot(
        funnel=lambda: funnel.stages, gates=lambda: by_text(funnel.gates, refusals), trading_state=lambda: 1,
        realised_pnl=lambda: 12.5, books=lambda: [("mexc", "BTC/USDT", 1, 0.02)],
        venue_counters=lambda: [("binance", "http_429", 2.0), ("gateio", "http_429", 0.0)],
    )
    metrics = Metrics(snapshot)
    funnel.hit("evaluated")
    funnel.hit("evaluated")
    funnel.gate(Gate.NOT_SYNCED)
    funnel.gate(Gate.CIRCUIT_OPEN)
    refusals[Refusal.CIRCUIT_OPEN] = 2  # the risk manager's refusal has the detector's words: one label
    metrics.frame_to_decision.observe(12e-6)
    samples = parse_exposition(metrics.render().decode())
    assert samples['arb_opportunity_funnel_total{stage="evaluated"}'] == 2.0
    assert samples['arb_gate_total{reason="not synced"}'] == 1.0
    assert samples['arb_gate_total{reason="circuit open"}'] == 3.0
    assert samples["arb_trading_state"] == 1.0 and samples["arb_realised_pnl"] == 12.5
    assert samples['arb_book_state{symbol="BTC/USDT",venue="mexc"}'] == 1.0
    assert samples['arb_http_429_total{venue="binance"}'] == 2.0
    assert samples["arb_frame_to_decision_seconds_count"] == 1.0
    assert samples['arb_frame_to_decision_seconds_bucket{le="2e-05"}'] == 1.0


def test_each_metrics_object_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()
    a.journal_write.observe(0.001)
    assert "arb_journal_write_seconds_count 1.0" in a.render().decode()
    assert "arb_journal_write_seconds_count 0.0" in b.render().decode()
