"""The conformance checks against the real venues: skipped unless ``ARB_LIVE_TESTS=1``.

They need the venue's keys in the environment (``ARB_<VENUE>_API_KEY`` / ``_API_SECRET``, trading
permission, a little quote asset) and internet. The signed check rests a bid 10 % under the market,
just over the symbol's minimums, queries it by client id and cancels it: nothing fills.
"""

from __future__ import annotations

import pytest

from arb.check import run_checks
from arb.venues.registry import VENUES

pytestmark = pytest.mark.live


@pytest.mark.parametrize("venue", sorted(VENUES))
async def test_every_conformance_check_passes_on_the_real_venue(venue: str) -> None:
    results = await run_checks(venue, live=True)
    failed = [f"{r['check']}: {r['detail']}" for r in results if not r["ok"]]
    assert not failed, failed
