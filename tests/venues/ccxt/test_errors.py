"""ccxt's exceptions keep the executor's rules: a write that may have happened is an unknown outcome,
never a rejection; a definite answer is the matching typed error; secrets never reach the text."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest

from arb.errors import (
    AuthenticationError,
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientBalanceError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
)
from arb.model import OrderType, Side, Symbol, TimeInForce
from arb.venues.ccxt import convert
from arb.venues.ccxt.private import CcxtPrivate

BTC = Symbol("BTC", "USDT")


@pytest.mark.parametrize(("raised", "read", "write"), [
    (ccxt.RequestTimeout("t"), ExchangeUnavailableError, OrderOutcomeUnknownError),
    (ccxt.NetworkError("reset"), ExchangeUnavailableError, OrderOutcomeUnknownError),
    (ccxt.ExchangeNotAvailable("502"), ExchangeUnavailableError, OrderOutcomeUnknownError),
    (ccxt.BadResponse("not json"), DecodeError, OrderOutcomeUnknownError),
    (ConnectionResetError("peer"), ExchangeUnavailableError, OrderOutcomeUnknownError),
    (KeyError("id"), DecodeError, OrderOutcomeUnknownError),
    (ccxt.InsufficientFunds("no"), InsufficientBalanceError, InsufficientBalanceError),
    (ccxt.OrderNotFound("gone"), OrderNotFoundError, OrderNotFoundError),
    (ccxt.InvalidOrder("lot"), InvalidOrderError, InvalidOrderError),
    (ccxt.AuthenticationError("key"), AuthenticationError, AuthenticationError),
    (ccxt.RateLimitExceeded("429"), RateLimitError, RateLimitError),
    (ccxt.InvalidNonce("-1021"), TimestampError, TimestampError),
    (ccxt.BadRequest("param"), ExchangeError, InvalidOrderError),
])
def test_each_ccxt_error_maps_to_arbs(raised: Exception, read: type[Exception],
                                      write: type[Exception]) -> None:
    assert type(convert.error("kucoin", raised)) is read
    assert type(convert.error("kucoin", raised, write=True, client_order_id="c1")) is write


def test_signatures_and_keys_are_scrubbed_from_messages() -> None:
    text = "binance GET https://h/api/v3/order?symbol=X&signature=abc123&apiKey=k9 404"
    message = str(convert.error("binance", ccxt.ExchangeNotAvailable(text)))
    assert "abc123" not in message and "k9" not in message and "signature=****" in message


class TimingOut:
    has: dict[str, bool] = {}
    markets = {"BTC/USDT": {"symbol": "BTC/USDT", "id": "BTCUSDT", "spot": True, "type": "spot",
                            "base": "BTC", "quote": "USDT"}}

    async def create_order(self, *args: Any) -> Any:
        raise ccxt.RequestTimeout("kucoin POST /api/v1/orders timed out")


async def test_a_timed_out_order_is_an_unknown_outcome_carrying_its_client_id() -> None:
    private = CcxtPrivate("kucoin", TimingOut())
    with pytest.raises(OrderOutcomeUnknownError) as info:
        await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01"), "7-x-1b0", Decimal("100"),
                                  TimeInForce.IOC)
    assert info.value.client_order_id == "7-x-1b0"
