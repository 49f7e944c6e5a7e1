"""The engine names no venue; config and CLI take every venue name from the registry.

Adding a venue is one package plus one registry line: nothing in `arb/engine/` may name a venue of
the registry (in strings, identifiers, imports or comments: ``"mexc"``, ``MexcStream``,
``arb.venues.mexc.constants``, ``MEXC``), and `arb/config.py` and `arb/cli/` may not either.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from arb.venues.registry import VENUES

ARB = Path(__file__).resolve().parents[1] / "arb"
WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")  # camelCase / snake_case / CAPS parts


def _patterns() -> dict[str, list[re.Pattern[str]]]:
    """Per venue: its registry name as a word or identifier part, and its display name's first word
    (``Gate.io``) where that spelling differs."""
    out = {}
    for name, spec in VENUES.items():
        found = [re.compile(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![a-z0-9])", re.I)]
        brand = spec.display.split(" ")[0] if spec.display else ""
        if brand and brand.lower() != name:
            found.append(re.compile(rf"(?<![A-Za-z0-9]){re.escape(brand)}(?![A-Za-z0-9])", re.I))
        out[name] = found
    return out


def mentions(text: str) -> Iterator[tuple[int, str, str]]:
    """(line, venue, text) for every place `text` names a registry venue."""
    patterns = _patterns()
    for number, line in enumerate(text.splitlines(), 1):
        words = {w.lower() for token in re.findall(r"[A-Za-z0-9]+", line) for w in WORD.findall(token)}
        for venue, found in patterns.items():
            if venue in words or any(p.search(line) for p in found):
                yield number, venue, line.strip()


def _scan(paths: list[Path]) -> list[str]:
    return [f"{path.relative_to(ARB.parent)}:{n}: {venue}: {line}"
            for path in paths for n, venue, line in mentions(path.read_text(encoding="utf-8"))]


def test_the_scanner_sees_every_spelling_and_only_those() -> None:
    name = next(iter(VENUES))
    camel = name.capitalize() + "Stream"
    for text in (f'x = "{name}"', f"from arb.venues.{name} import constants", f"s = {camel}()",
                 f"# the {name.upper()} book", f"ARB__VENUES__{name.upper()}__TAKER_FEE", f"{name}_rule = 1"):
        assert [v for _, v, _ in mentions(text)] == [name], text
    assert not list(mentions("SimExchange(venues)  # a gate, the exchange's id, VenueSpec"))
    for spec in VENUES.values():
        if spec.display:
            assert [v for _, v, _ in mentions(f"see {spec.display}")] == [spec.name]


def test_the_engine_names_no_venue() -> None:
    found = _scan(sorted((ARB / "engine").rglob("*.py")))
    assert not found, "venue facts belong in the venue's package (its VenueSpec):\n" + "\n".join(found)


def test_config_and_cli_take_venue_names_from_the_registry() -> None:
    found = _scan([ARB / "config.py", *sorted((ARB / "cli").glob("*.py"))])
    assert not found, "venue names come from arb.venues.registry.VENUES:\n" + "\n".join(found)
