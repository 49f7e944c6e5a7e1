"""Every venue's error table: the shared real error bodies and our own fixtures map to the right class."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb import errors
from arb.venues.binance import codec as binance
from arb.venues.gateio import codec as gateio
from arb.venues.mexc import codec as mexc

DATA = Path(__file__).resolve().parents[1] / "data"
CODECS = {"binance": binance, "gateio": gateio, "mexc": mexc}

# (venue, shared sample, HTTP status from the samples README, expected class, expected raw code)
SHARED = [
    ("binance", "error_insufficient_balance.json", 400, errors.InvalidOrderError, -2010),
    ("binance", "error_invalid_symbol.json", 400, errors.InvalidSymbolError, -1121),
    ("binance", "error_ip_banned_418.json", 418, errors.IPBannedError, -1003),
    ("binance", "error_order_does_not_exist.json", 400, errors.OrderNotFoundError, -2013),
    ("binance", "error_timestamp_outside_recv_window.json", 400, errors.TimestampError, -1021),
    ("binance", "error_unknown_order.json", 400, errors.OrderNotFoundError, -2011),
    ("gateio", "error_balance_not_enough.json", 400, errors.InsufficientBalanceError, "BALANCE_NOT_ENOUGH"),
    ("gateio", "error_invalid_param.json", 400, errors.InvalidOrderError, "INVALID_PARAM_VALUE"),
    ("gateio", "error_invalid_signature.json", 401, errors.AuthenticationError, "INVALID_SIGNATURE"),
    ("mexc", "error_api_key_banned_for_pair.json", 400, errors.InvalidSymbolError, 70011),
    ("mexc", "error_bad_symbol.json", 400, errors.InvalidSymbolError, 10007),
    ("mexc", "error_insufficient_balance.json", 400, errors.InsufficientBalanceError, 10101),
    ("mexc", "error_min_notional.json", 400, errors.InvalidOrderError, 30002),
    ("mexc", "error_timestamp_outside_recv_window.json", 400, errors.TimestampError, 700003),
]

OWN = [
    ("binance", "http_error_429.json", 429, errors.RateLimitError, -1003),
    ("binance", "http_error_waf.html", 403, errors.AuthenticationError, None),
    ("gateio", "http_error_429.json", 429, errors.RateLimitError, "TOO_MANY_REQUESTS"),
    ("gateio", "http_error_order_not_found.json", 400, errors.OrderNotFoundError, "ORDER_NOT_FOUND"),
    ("gateio", "http_error_request_expired.json", 401, errors.TimestampError, "REQUEST_EXPIRED"),
    ("gateio", "http_error_invalid_key.json", 401, errors.AuthenticationError, "INVALID_KEY"),
    ("gateio", "http_error_order_exists.json", 400, errors.InvalidOrderError, "ORDER_EXISTS"),
    ("gateio", "http_error_poc_fill.json", 400, errors.InvalidOrderError, "POC_FILL_IMMEDIATELY"),
    # the table's class: RestClient makes it "outcome unknown" on a write, "unavailable" on a read
    ("gateio", "http_error_server_error.json", 500, errors.OrderOutcomeUnknownError, "SERVER_ERROR"),
    ("mexc", "http_error_signature.json", 400, errors.AuthenticationError, 700002),
]


def _check(venue: str, body: bytes, status: int, cls: type[errors.ExchangeError], code: object) -> None:
    codec = CODECS[venue]
    api_code, message = codec.decode_error(status, body)
    assert api_code == code
    assert message
    assert codec.error_class(status, api_code) is cls


@pytest.mark.parametrize(("venue", "name", "status", "cls", "code"), SHARED)
def test_shared_real_error_bodies(samples_dir: Path, venue: str, name: str, status: int,
                                  cls: type[errors.ExchangeError], code: object) -> None:
    _check(venue, (samples_dir / venue / name).read_bytes(), status, cls, code)


@pytest.mark.parametrize(("venue", "name", "status", "cls", "code"), OWN)
def test_own_error_fixtures(venue: str, name: str, status: int, cls: type[errors.ExchangeError],
                            code: object) -> None:
    _check(venue, (DATA / venue / name).read_bytes(), status, cls, code)


@pytest.mark.parametrize("venue", sorted(CODECS))
def test_empty_or_unknown_bodies_fall_back_to_the_status(venue: str) -> None:
    codec = CODECS[venue]
    assert codec.decode_error(502, b"") == (None, "")
    assert codec.error_class(502, None) is errors.ExchangeUnavailableError
    assert codec.error_class(599, None) is errors.ExchangeUnavailableError
    assert codec.error_class(400, None) is errors.ExchangeError
    assert codec.error_class(418, None) is errors.IPBannedError
