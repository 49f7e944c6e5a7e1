"""arb: a cross-exchange spot arbitrage engine with a Cython core."""

__version__ = "0.1.0"
