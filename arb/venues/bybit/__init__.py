"""Bybit v5 spot connector (``category=spot``): the seven modules of `arb.venues.base`."""
