"""`arb-engine check ccxt:ID`: ccxt's own exchange classes pass the conformance checks through the
bridge against the simulator dialect that speaks their protocol; `arb-engine venues` lists what arb
can drive; a venue that cannot be driven is a usage error naming it."""

from __future__ import annotations

import json

import pytest

from arb.cli import main
from arb.venues.registry import VENUES

CHECKS = ("symbols load", "snapshot + stream -> SYNCED", "forced gap resyncs only that symbol",
          "disconnect recovers", "signed order place/query/cancel", "user stream pushes the order",
          "balances",
          "error body -> typed exception", "bad key -> AuthenticationError")


@pytest.mark.parametrize("exchange", ["binance", "gate", "mexc", "okx", "bybit"])
def test_check_through_the_bridge_passes_every_check(exchange: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", f"ccxt:{exchange}", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["venue"] == f"ccxt:{exchange}" and not report["live"]
    assert [(c["check"], c["ok"]) for c in report["checks"]] == [(name, True) for name in CHECKS]


@pytest.mark.parametrize(("argument", "message"), [
    ("ccxt:nosuchexchange", "ccxt has no exchange 'nosuchexchange'"),
    ("ccxt:binanceusdm", "has no spot markets"),
    ("ccxt:kraken", "the simulator speaks no dialect of ccxt exchange 'kraken'"),
])
def test_check_of_an_undrivable_or_unsimulated_exchange_is_a_usage_error(
        argument: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", argument]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_check_refuses_a_venue_that_is_neither_native_nor_ccxt(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["check", "kraken"])
    assert info.value.code == 2
    assert "or ccxt:ID" in capsys.readouterr().err


def test_venues_lists_native_and_ccxt_venues_with_what_they_support(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["venues", "--json"]) == 0
    listed = {(row["driver"], row["venue"]): row for row in json.loads(capsys.readouterr().out)}
    assert {("native", v) for v in VENUES} <= set(listed)
    kucoin = listed[("ccxt", "kucoin")]
    assert (kucoin["books"], kucoin["account"]) == ("watch", "watch")
    assert kucoin["credentials"] == ["api_key", "api_secret", "passphrase"]
    assert ("ccxt", "binanceusdm") not in listed  # futures only
    assert ("ccxt", "hyperliquid") not in listed  # needs a wallet key arb does not carry
    assert any(row["books"].startswith("REST poll") for row in listed.values())
    assert main(["venues"]) == 0
    out = capsys.readouterr().out
    assert f"{len(VENUES)} native" in out and "through ccxt" in out
