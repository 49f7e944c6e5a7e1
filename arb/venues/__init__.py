"""Venue connectors: one package per venue with the same eight modules (see base.py)."""
