"""The loopback exchange simulator: a seeded market (market.py); matching, dialects and faults follow."""
