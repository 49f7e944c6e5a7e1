"""Venue connectors: one package per venue with the same seven modules (see base.py)."""
