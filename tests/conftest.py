"""Shared fixtures: hypothesis profiles, the shared-samples locator, canary API keys.

The whole suite runs with canary API keys in the environment (unless ARB_LIVE_TESTS=1 brings real
ones), and every log record any test produces is checked for them: a secret that reaches a log
line fails the test that logged it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# CI gets a bounded profile (set by CI=true); locally the default explores more.
settings.register_profile(
    "ci", max_examples=60, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("ARB_HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

# `shared/` sits beside the checkout (../shared from /work/main, ../../shared from a worktree):
# the nearest ancestor that has one wins.
SHARED = next((p / "shared" for p in Path(__file__).resolve().parents[1].parents
               if (p / "shared" / "exchange-samples").is_dir()),
              Path(__file__).resolve().parents[1].parent / "shared")
SAMPLES = SHARED / "exchange-samples"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ARB_LIVE_TESTS") == "1":
        return
    skip_live = pytest.mark.skip(reason="live-exchange test: set ARB_LIVE_TESTS=1 and API keys")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip_live)


@pytest.fixture
def samples_dir() -> Path:
    """`../shared/exchange-samples`, or skip when it is not beside the checkout."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/exchange-samples not present")
    return SAMPLES


CANARY_KEY = "canary-key-3f9a1c5e"
CANARY_SECRET = "canary-secret-77d0e2b4"
VENUE_ENV = ("BINANCE", "GATEIO", "MEXC")


@pytest.fixture(autouse=True, scope="session")
def canary_keys() -> Iterator[None]:
    """Every venue's keys are canaries for the whole run (real keys are kept for live tests)."""
    if os.environ.get("ARB_LIVE_TESTS") == "1":
        yield
        return
    saved = {}
    for venue in VENUE_ENV:
        for suffix, value in (("API_KEY", CANARY_KEY), ("API_SECRET", CANARY_SECRET)):
            name = f"ARB_{venue}_{suffix}"
            saved[name] = os.environ.get(name)
            os.environ[name] = value
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


class _AllLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(autouse=True)
def no_secret_in_logs() -> Iterator[None]:
    handler = _AllLines()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # a test (or a command run in-process) may install arb's own handler with propagate off:
    # restore the `arb` logger so later tests' caplog and this canary check still see records
    arb_logger = logging.getLogger("arb")
    arb_state = (list(arb_logger.handlers), arb_logger.propagate, arb_logger.level)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        arb_logger.handlers[:] = arb_state[0]
        arb_logger.propagate, arb_logger.level = arb_state[1], arb_state[2]
    leaked = [line for line in handler.lines if CANARY_KEY in line or CANARY_SECRET in line]
    assert not leaked, f"a secret reached the logs: {leaked[:3]}"
