"""Venue error bodies served by the simulator (canned replies) -> our error classes, raw codes kept.

Recorded bodies from the shared samples (``exchange-samples/<venue>/error_*.json``, skipped when
that folder is not beside the checkout or above it) and our own, written from the fact sheet.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from arb.config import ConnectionConfig, RequestConfig
from arb.errors import (
    AuthenticationError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientBalanceError,
    InvalidOrderError,
    InvalidSymbolError,
    IPBannedError,
    OrderNotFoundError,
    RateLimitError,
    TimestampError,
    TradingDisabledError,
)
from arb.net.rest import RestClient
from arb.sim.faults import Reply
from arb.venues.registry import VENUES
from tests.sim.support import Harness

ONCE = RequestConfig(retries=0)
TIME = {"binance": "/api/v3/time", "gateio": "/api/v4/spot/time", "mexc": "/api/v3/time"}

# (venue, sample file stem) -> (HTTP status the venue sends it with, our class)
RECORDED: dict[tuple[str, str], tuple[int, type[ExchangeError]]] = {
    ("binance", "error_insufficient_balance"): (400, InvalidOrderError),  # -2010 is several reasons
    ("binance", "error_invalid_symbol"): (400, InvalidSymbolError),
    ("binance", "error_ip_banned_418"): (418, IPBannedError),
    ("binance", "error_order_does_not_exist"): (400, OrderNotFoundError),
    ("binance", "error_timestamp_outside_recv_window"): (400, TimestampError),
    ("binance", "error_unknown_order"): (400, OrderNotFoundError),
    ("gateio", "error_balance_not_enough"): (400, InsufficientBalanceError),
    ("gateio", "error_invalid_param"): (400, InvalidOrderError),
    ("gateio", "error_invalid_signature"): (401, AuthenticationError),
    ("mexc", "error_api_key_banned_for_pair"): (400, InvalidSymbolError),
    ("mexc", "error_bad_symbol"): (400, InvalidSymbolError),
    ("mexc", "error_insufficient_balance"): (400, InsufficientBalanceError),
    ("mexc", "error_min_notional"): (400, InvalidOrderError),
    ("mexc", "error_timestamp_outside_recv_window"): (400, TimestampError),
}

# our own bodies: (venue, status, body, content type, class, api code kept)
OWN: list[tuple[str, int, str, str, type[ExchangeError], int | str | None]] = [
    ("binance", 429, '{"code":-1003,"msg":"Too much request weight used"}', "json", RateLimitError, -1003),
    ("binance", 429, '{"code":-1015,"msg":"Too many new orders"}', "json", RateLimitError, -1015),
    ("binance", 400, '{"code":-1013,"msg":"Filter failure: LOT_SIZE"}', "json", InvalidOrderError, -1013),
    ("binance", 401, '{"code":-2015,"msg":"Invalid API-key, IP, or permissions"}', "json",
     AuthenticationError, -2015),
    ("binance", 403, "<html><body>403 Forbidden</body></html>", "html", AuthenticationError, None),
    ("binance", 503, '{"code":-1007,"msg":"Timeout waiting for response"}', "json",
     ExchangeUnavailableError, -1007),
    ("gateio", 429, '{"label":"TOO_MANY_REQUESTS","message":"Request Rate Limit Exceeded (003)"}', "json",
     RateLimitError, "TOO_MANY_REQUESTS"),
    ("gateio", 400, '{"label":"ORDER_NOT_FOUND","message":"Order not found"}', "json", OrderNotFoundError,
     "ORDER_NOT_FOUND"),
    ("gateio", 400, '{"label":"REQUEST_EXPIRED","message":"Request Timestamp is far from server"}',
     "json", TimestampError, "REQUEST_EXPIRED"),
    ("gateio", 500, '{"label":"SERVER_ERROR","message":"Internal server error"}', "json",
     ExchangeUnavailableError, "SERVER_ERROR"),
    ("mexc", 429, '{"code":429,"msg":"Too Many Requests"}', "json", RateLimitError, 429),
    ("mexc", 418, '{"code":429,"msg":"IP banned"}', "json", IPBannedError, 429),
    ("mexc", 400, '{"code":30016,"msg":"trading disabled"}', "json", TradingDisabledError, 30016),
    ("mexc", 400, '{"code":-2011,"msg":"Unknown order sent."}', "json", OrderNotFoundError, -2011),
    ("mexc", 400, '{"code":700002,"msg":"Signature for this request is not valid."}', "json",
     AuthenticationError, 700002),
]


def samples_root() -> Path | None:
    """`shared/exchange-samples` beside the checkout or beside any folder above it."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "exchange-samples"
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    harness = Harness(seed=61)
    yield harness
    await harness.aclose()


async def served_error(h: Harness, venue: str, reply: Reply) -> ExchangeError:
    sim = await h.sim([venue])
    sim.faults[venue].replies.append(reply)
    spec = VENUES[venue]
    rest = RestClient(venue, sim.urls[venue][0], connection=ConnectionConfig(),
                      decode_error=spec.decode_error, error_class=spec.error_class)
    try:
        await rest.request("GET", TIME[venue], kind=ONCE)
    except ExchangeError as exc:
        return exc
    finally:
        await rest.close()
    raise AssertionError("the canned error was not raised")


@pytest.mark.parametrize(("venue", "stem"), sorted(RECORDED))
async def test_recorded_error_bodies_map_to_our_classes(h: Harness, venue: str, stem: str) -> None:
    root = samples_root()
    path = root / venue / f"{stem}.json" if root is not None else None
    if path is None or not path.is_file():
        pytest.skip("shared exchange samples not present")
    raw = json.loads(path.read_text())
    status, cls = RECORDED[(venue, stem)]
    error = await served_error(h, venue, Reply(status, json.dumps(raw), headers={"Retry-After": "120"}))
    assert type(error) is cls and error.http_status == status
    assert error.api_code == raw.get("code", raw.get("label"))


@pytest.mark.parametrize(("venue", "status", "body", "kind", "cls", "code"), OWN)
async def test_own_error_bodies_map_to_our_classes(
    h: Harness, venue: str, status: int, body: str, kind: str, cls: type[ExchangeError],
    code: int | str | None,
) -> None:
    reply = Reply(status, body, content_type="text/html" if kind == "html" else "application/json")
    error = await served_error(h, venue, reply)
    assert type(error) is cls and error.http_status == status and error.api_code == code
