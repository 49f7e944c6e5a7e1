"""Observability: logging setup with secret redaction, metrics, health endpoints, loop-lag monitor."""
