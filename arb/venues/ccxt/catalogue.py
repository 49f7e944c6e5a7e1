"""What `arb-engine venues` lists: every venue arb can drive, native and through ccxt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from arb.venues.ccxt.exchange import api_hosts, capabilities, exchange_ids
from arb.venues.ccxt.stream import BOOK_POLL_S, USER_POLL_S
from arb.venues.spec import VenueSpec


def rows(native: Mapping[str, VenueSpec]) -> list[dict[str, Any]]:
    """One row per venue: native ones from the registry, then every ccxt exchange arb can drive
    (spot markets, order book, create/cancel order, balances, credentials arb carries)."""
    out: list[dict[str, Any]] = [{
        "venue": name, "driver": "native", "name": spec.display or name,
        "books": "snapshot stream" if spec.book.stream_snapshots else "snapshot + diffs",
        "account": "stream", "credentials": list(spec.credentials)} for name, spec in native.items()]
    for exchange in exchange_ids():
        caps = capabilities(exchange)
        if not caps.drivable:
            continue
        out.append({
            "venue": exchange, "driver": "ccxt", "name": caps.name,
            "books": "watch" if caps.watch_book else f"REST poll {BOOK_POLL_S:g} s",
            "account": "watch" if caps.watch_orders else f"REST poll {USER_POLL_S:g} s",
            "credentials": list(caps.credentials)})
    return out


def native_twin(exchange: str, native: Mapping[str, VenueSpec], among: Iterable[str]) -> str | None:
    """The venue of `among` (native venues, e.g. the simulator's dialects) whose REST host is among
    the hosts of ccxt's URLs for `exchange`, i.e. that speaks its protocol (``gate`` -> ``gateio``);
    None when none does."""
    hosts = api_hosts(exchange)
    for name in among:
        spec = native.get(name)
        if spec is not None and urlsplit(spec.rest_url).hostname in hosts:
            return name
    return None


def table(listed: list[dict[str, Any]]) -> str:
    head = f"{'venue':<16} {'driver':<7} {'books':<16} {'account':<16} {'credentials':<32} name"
    lines = [head, "-" * len(head)]
    for row in listed:
        lines.append(f"{row['venue']:<16} {row['driver']:<7} {row['books']:<16} {row['account']:<16} "
                     f"{','.join(row['credentials']):<32} {row['name']}")
    native = sum(r["driver"] == "native" for r in listed)
    lines.append(f"{native} native, {len(listed) - native} through ccxt "
                 "([venues.NAME] driver = \"ccxt\", exchange = ID when NAME differs)")
    return "\n".join(lines)
