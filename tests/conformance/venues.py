"""The venues the conformance suite runs against: every registry venue the simulator has a dialect
for (a registry venue without one, e.g. one reached only through a library, is left to its own tests)."""

from __future__ import annotations

from typing import Final

from arb.sim.server import DIALECTS
from arb.venues.registry import VENUES

SIM_VENUES: Final = tuple(sorted(name for name in VENUES if name in DIALECTS))
