"""Type stub for the compiled JSON depth-level reader (arb/_core/jsonlevels.pyx)."""

from typing import Any

def read_levels(raw: Any) -> tuple[Any, Any]: ...
