"""The Cython core: typed L2 books and the cross-venue spread kernel (no I/O, no logging)."""

from arb._core.book import L2Book
from arb._core.spread import Opportunity, SpreadKernel, find_opportunity

__all__ = ["L2Book", "Opportunity", "SpreadKernel", "find_opportunity"]
