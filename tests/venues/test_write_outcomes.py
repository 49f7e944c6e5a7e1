"""A write's fate is decided by the venue's "status unknown" codes and by its body, not only the status.

Each venue's private connector places an order against the simulator; a canned reply stands for
what the venue sent back. A code from the venue's `OUTCOME_UNKNOWN_CODES` (with a 4xx or a 5xx)
and a 2xx body that cannot be read both leave the order's fate unknown: `OrderOutcomeUnknownError`
with the client order id, never a rejection. A plain rejection stays a rejection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import (
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientBalanceError,
    InvalidOrderError,
    OrderOutcomeUnknownError,
)
from arb.model import OrderType, Side, TimeInForce
from arb.sim.faults import Reply
from arb.venues.binance import constants as binance
from arb.venues.gateio import constants as gateio
from arb.venues.mexc import constants as mexc
from arb.venues.registry import make_private, make_public
from tests.sim.support import BTC, Harness

UNKNOWN: list[tuple[str, int, str, int | str]] = [
    ("binance", 400, '{"code":-1007,"msg":"Timeout waiting for response from backend server."}', -1007),
    ("binance", 503, '{"code":-1006,"msg":"An unexpected response was received from the message bus."}',
     -1006),
    ("binance", 400, '{"code":-1000,"msg":"An unknown error occurred while processing the request."}', -1000),
    ("gateio", 400, '{"label":"TOO_BUSY","message":"server busy"}', "TOO_BUSY"),
    ("gateio", 400, '{"label":"INTERNAL","message":"internal error"}', "INTERNAL"),
    ("mexc", 400, '{"code":500,"msg":"Internal error"}', 500),
    ("mexc", 200, '{"code":504,"msg":"Gateway Time-out"}', 504),  # a 200 carrying an error body
]
UNREADABLE = ["{", "[]", '{"orderId": [1, 2]}', "<html>ok</html>", "[" * 5000 + "]" * 5000]
REJECTED: list[tuple[str, str, type[ExchangeError]]] = [
    ("binance", '{"code":-2010,"msg":"Account has insufficient balance for requested action."}',
     InvalidOrderError),
    ("gateio", '{"label":"BALANCE_NOT_ENOUGH","message":"Not enough balance"}', InsufficientBalanceError),
    ("mexc", '{"code":10101,"msg":"Insufficient balance"}', InsufficientBalanceError),
]


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=71)
    yield harness
    await harness.aclose()


async def place_with_reply(h: Harness, venue: str, reply: Reply, client_id: str) -> BaseException:
    """Place an IOC buy whose reply is `reply`; returns what `place_order` raised."""
    sim = await h.sim([venue])
    sim.faults[venue].replies.append(reply)
    client = make_private(venue, VenueConfig(rest_url=sim.urls[venue][0]),
                          Credentials(venue, Secret("sim-key"), Secret("sim-secret")))
    try:
        await client.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.001"), client_id, Decimal("1"),
                                 TimeInForce.IOC)
    except ExchangeError as exc:
        assert sim.injectors[venue].counts.canned == 1  # the canned reply answered the order
        return exc
    finally:
        await client.close()
    raise AssertionError("place_order returned normally")


def test_each_venue_keeps_its_unknown_codes_in_one_table() -> None:
    assert {-1006, -1007} <= binance.OUTCOME_UNKNOWN_CODES
    assert {"INTERNAL", "SERVER_ERROR", "TOO_BUSY"} == gateio.OUTCOME_UNKNOWN_CODES
    for table in (binance, gateio, mexc):
        for code in table.OUTCOME_UNKNOWN_CODES:
            assert table.ERROR_CODES[code] is OrderOutcomeUnknownError


@pytest.mark.parametrize(("venue", "status", "body", "code"), UNKNOWN)
async def test_an_outcome_unknown_code_makes_the_write_unknown_whatever_the_status(
    h: Harness, venue: str, status: int, body: str, code: int | str,
) -> None:
    error = await place_with_reply(h, venue, Reply(status, body, method="POST"), "unk-1")
    assert isinstance(error, OrderOutcomeUnknownError) and error.client_order_id == "unk-1"
    if status != 200:
        assert (error.http_status, error.api_code) == (status, code)


@pytest.mark.parametrize("venue", ["binance", "gateio", "mexc"])
@pytest.mark.parametrize("body", UNREADABLE, ids=["truncated", "list", "wrong-type", "html", "deep"])
async def test_an_unreadable_2xx_order_reply_is_an_unknown_outcome(h: Harness, venue: str, body: str) -> None:
    error = await place_with_reply(h, venue, Reply(200, body, method="POST"), "garbled-1")
    assert isinstance(error, OrderOutcomeUnknownError) and error.client_order_id == "garbled-1"
    assert "unreadable reply" in error.message


@pytest.mark.parametrize(("venue", "body", "cls"), REJECTED)
async def test_a_plain_rejection_stays_a_rejection(h: Harness, venue: str, body: str,
                                                   cls: type[ExchangeError]) -> None:
    error = await place_with_reply(h, venue, Reply(400, body, method="POST"), "rej-1")
    assert type(error) is cls


async def test_an_unknown_code_on_a_read_is_only_unavailable_and_retried(h: Harness) -> None:
    sim = await h.sim(["binance"])
    sim.faults["binance"].replies.append(Reply(400, '{"code":-1007,"msg":"Timeout"}', method="GET"))
    public = make_public("binance", VenueConfig(rest_url=sim.urls["binance"][0]))
    try:
        with pytest.raises(ExchangeUnavailableError) as info:
            await public.server_time()
        assert not isinstance(info.value, OrderOutcomeUnknownError) and info.value.api_code == -1007
    finally:
        await public.close()
