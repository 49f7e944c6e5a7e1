"""The layer rule of the design: each layer imports only layers below it (checked on the source)."""

from __future__ import annotations

import ast
from pathlib import Path

ARB = Path(__file__).resolve().parents[1] / "arb"

# layer -> the arb layers it may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "cli": {"cluster", "universe", "ops", "reports", "check", "runner", "demo", "engine", "sim", "obs",
            "venues", "net", "_core", "config", "model", "errors"},
    "demo": {"universe", "engine", "sim", "obs", "venues", "net", "_core", "config", "model", "errors"},
    "reports": {"universe", "engine", "obs", "venues", "net", "_core", "config", "model", "errors"},
    "check": {"universe", "engine", "sim", "obs", "venues", "net", "_core", "config", "model", "errors"},
    "ops": {"universe", "demo", "engine", "sim", "obs", "venues", "net", "_core", "config", "model",
            "errors"},
    "runner": {"cluster", "universe", "ops", "demo", "engine", "sim", "obs", "venues", "net", "_core",
               "config", "model", "errors"},
    # cluster mode: NATS lives here only; it drives the engine through its hooks (arb.engine.hooks)
    # (`pnl --cluster` and `top --cluster` reuse `pnl`'s sums and `top`'s terminal handling)
    "cluster": {"demo", "sim", "engine", "universe", "reports", "ops", "obs", "venues", "net", "_core",
                "config", "model", "errors"},
    "engine": {"universe", "venues", "net", "_core", "model", "errors", "config", "obs"},
    # the symbol universe: the venues' public lists through their interfaces; never the engine
    "universe": {"venues", "net", "_core", "model", "errors", "config"},
    "sim": {"model", "errors", "config", "_core", "venues.mexc.proto"},
    "obs": {"model", "errors", "config"},
    "venues": {"net", "_core", "model", "errors", "config"},
    "net": {"model", "errors", "config"},
    # config names no venue: it reads the registry's names (lazily, when a config is parsed) to default
    # and check the `venues` section and to know which credentials a venue needs
    "config": {"model", "errors", "venues.registry"},
    "_core": set(),
    "model": {"errors"},
    "errors": {"model"},
}


SAME_LAYER = {"credentials": "config"}  # split out of config.py for size: one layer


def _layer(module: str) -> str:
    parts = module.split(".")
    return SAME_LAYER.get(parts[1], parts[1]) if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("arb.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("arb."):
            found.add(node.module)
    return found


def test_every_module_respects_the_layers() -> None:
    violations = []
    for path in ARB.rglob("*.py"):
        rel = path.relative_to(ARB.parent).with_suffix("")
        module = ".".join(rel.parts)
        layer = _layer(module)
        if layer not in ALLOWED or "proto" in rel.parts:
            continue
        for target in _imports(path):
            target_layer = _layer(target)
            if target_layer == layer or target_layer == "" or target_layer == "__init__":
                continue
            allowed = ALLOWED[layer]
            if target_layer in allowed or any(target.startswith(f"arb.{a}") for a in allowed):
                continue
            violations.append(f"{module} imports {target}")
    assert violations == []


def test_the_checker_sees_imports() -> None:
    assert "arb.model" in _imports(ARB / "config.py")
