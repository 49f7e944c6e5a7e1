"""Shared fixtures: hypothesis profiles, the shared-samples locator."""

from __future__ import annotations

import os
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
