"""Prometheus metrics (`arb_` prefix, base units, `_total` counters, no per-order labels).

Counters the engine already keeps (the funnel, gate reasons, risk state, PnL) are *read at scrape
time* by `EngineCollector`, so the hot path pays nothing for them; latencies go into histograms
owned by `Metrics`. Each `Metrics` has its own registry (no global state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# frame receive -> decision, and journal writes: microseconds to tens of milliseconds
LATENCY_BUCKETS = (
    5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.5, 1.0,
)


class EngineSnapshot:
    """What the collector reads; the engine fills these callables when it wires metrics up."""

    def __init__(
        self,
        *,
        funnel: Callable[[], Mapping[str, int]] = dict,
        gates: Callable[[], Mapping[str, int]] = dict,
        trading_state: Callable[[], int] = lambda: 0,
        realised_pnl: Callable[[], float] = lambda: 0.0,
        unhedged_notional: Callable[[], float] = lambda: 0.0,
        books: Callable[[], Iterable[tuple[str, str, int, float]]] = tuple,
        venue_counters: Callable[[], Iterable[tuple[str, str, float]]] = tuple,
        venue_gauges: Callable[[], Iterable[tuple[str, str, Mapping[str, str], float]]] = tuple,
    ) -> None:
        self.funnel = funnel
        self.gates = gates
        self.trading_state = trading_state
        self.realised_pnl = realised_pnl
        self.unhedged_notional = unhedged_notional
        self.books = books  # (venue, symbol, state, age_seconds)
        self.venue_counters = venue_counters  # (venue, counter name, value)
        self.venue_gauges = venue_gauges  # (gauge name, help, labels, value)


class EngineCollector(Collector):
    """Turns the engine's own counters into metric families at scrape time."""

    def __init__(self, snapshot: EngineSnapshot) -> None:
        self._snap = snapshot

    def collect(self) -> Iterable[Metric]:
        snap = self._snap
        funnel = CounterMetricFamily(
            "arb_opportunity_funnel", "Opportunity funnel by stage", labels=["stage"]
        )
        for stage, value in snap.funnel().items():
            funnel.add_metric([stage], value)
        yield funnel
        gates = CounterMetricFamily("arb_gate", "Evaluations removed by a gate, by reason", labels=["reason"])
        for reason, value in snap.gates().items():
            gates.add_metric([reason], value)
        yield gates
        yield GaugeMetricFamily(
            "arb_trading_state", "1 ACTIVE, 2 REDUCING, 3 HALTED", value=snap.trading_state()
        )
        yield GaugeMetricFamily("arb_realised_pnl", "Realised PnL today (quote)", value=snap.realised_pnl())
        yield GaugeMetricFamily(
            "arb_residual_notional", "Open one-legged exposure (quote)", value=snap.unhedged_notional()
        )
        state = GaugeMetricFamily("arb_book_state", "0 BUFFERING 1 SYNCED 2 INVALID 3 RESYNCING",
                                  labels=["venue", "symbol"])
        age = GaugeMetricFamily("arb_book_age_seconds", "Time since the book's last update",
                                labels=["venue", "symbol"])
        for venue, symbol, code, age_s in snap.books():
            state.add_metric([venue, symbol], code)
            age.add_metric([venue, symbol], age_s)
        yield state
        yield age
        counters: dict[str, CounterMetricFamily] = {}
        for venue, name, total in snap.venue_counters():
            family = counters.get(name)
            if family is None:
                family = counters[name] = CounterMetricFamily(f"arb_{name}", name.replace("_", " "),
                                                              labels=["venue"])
            family.add_metric([venue], total)
        yield from counters.values()
        gauges: dict[str, GaugeMetricFamily] = {}
        for name, text, labels, reading in snap.venue_gauges():
            gauge = gauges.get(name)
            if gauge is None:
                gauge = gauges[name] = GaugeMetricFamily(f"arb_{name}", text, labels=list(labels))
            gauge.add_metric(list(labels.values()), reading)
        yield from gauges.values()


class Metrics:
    """The process's metrics: histograms for latencies plus the engine collector."""

    def __init__(self, snapshot: EngineSnapshot | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.frame_to_decision = Histogram(
            "arb_frame_to_decision_seconds", "Frame receive to detector decision",
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )
        self.journal_write = Histogram(
            "arb_journal_write_seconds", "Journal commit latency", buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.residual_lifetime = Histogram(
            "arb_residual_lifetime_seconds", "Time a residual stayed open",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30), registry=self.registry,
        )
        if snapshot is not None:
            self.registry.register(EngineCollector(snapshot))

    def render(self) -> bytes:
        """The text exposition format, for `/metrics`."""
        return bytes(generate_latest(self.registry))


def parse_exposition(text: str) -> dict[str, Any]:
    """A tiny parser of the text format (tests and `arb-engine status`): sample line -> value."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out
