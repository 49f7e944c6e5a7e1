"""Type stub for the compiled proto3 depth reader (arb/_core/pbwire.pyx)."""

from typing import Any

def read_depth_push(
    frame: bytes, body_field: int, asks_field: int, bids_field: int, first_field: int, last_field: int
) -> tuple[str, str, int, int, int, Any, Any, Any, Any]: ...
