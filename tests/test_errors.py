from __future__ import annotations

import pytest

from arb import errors


def test_exchange_errors_keep_venue_status_and_raw_code() -> None:
    exc = errors.RateLimitError(
        "binance", "Too many requests", http_status=429, api_code=-1003, retry_after=7.0
    )
    assert isinstance(exc, errors.ExchangeError) and isinstance(exc, errors.ArbError)
    assert (exc.venue, exc.http_status, exc.api_code, exc.retry_after) == ("binance", 429, -1003, 7.0)
    assert "binance" in str(exc) and "-1003" in str(exc)


def test_unknown_outcome_is_an_unavailable_error_with_client_id() -> None:
    exc = errors.OrderOutcomeUnknownError("gateio", "timeout", client_order_id="t-abc")
    assert isinstance(exc, errors.ExchangeUnavailableError)
    assert exc.client_order_id == "t-abc"


@pytest.mark.parametrize(
    "cls",
    [
        errors.AuthenticationError, errors.InsufficientBalanceError, errors.OrderNotFoundError,
        errors.InvalidSymbolError, errors.TradingDisabledError, errors.TimestampError,
        errors.ExchangeUnavailableError, errors.InvalidOrderError,
    ],
)
def test_every_exchange_error_is_an_exchange_error(cls: type[errors.ExchangeError]) -> None:
    exc = cls("mexc", "msg", http_status=400, api_code=10101)
    assert isinstance(exc, errors.ExchangeError)
    assert exc.api_code == 10101


def test_config_error_names_the_field_and_value() -> None:
    exc = errors.ConfigError("risk.max_notional", "must be > 0", value=-5)
    assert "risk.max_notional" in str(exc) and "-5" in str(exc)
    assert exc.field == "risk.max_notional"
