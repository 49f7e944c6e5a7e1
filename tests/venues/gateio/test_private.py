"""GatePrivate: decoding Gate's order/account replies, client ids, order bodies, clock and errors."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web

from arb.config import ConnectionConfig, RequestConfig, VenueConfig
from arb.credentials import Credentials, Secret
from arb.errors import (
    ExchangeUnavailableError,
    InvalidOrderError,
    OrderOutcomeUnknownError,
    TimestampError,
)
from arb.model import OrderStatus, OrderType, Side, Symbol, SymbolInfo, SymbolStatus, TimeInForce
from arb.net.rest import RestClient
from arb.sim.server import SimExchange
from arb.venues.clock import ServerClock
from arb.venues.gateio import codec, orders
from arb.venues.gateio import constants as c
from arb.venues.gateio.auth import GateSigner
from arb.venues.gateio.private import GatePrivate, wire_text
from arb.venues.registry import make_private, make_rest

DATA = Path(__file__).resolve().parents[2] / "data" / "gateio"
BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")
MS = 1_000_000
INFO = SymbolInfo(venue="gateio", symbol=BTC, venue_symbol="BTC_USDT", status=SymbolStatus.TRADING,
                  tick_size=Decimal("0.01"), step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"),
                  max_qty=Decimal(0), min_notional=Decimal("3"), max_notional=Decimal(0))


# ------------------------------------------------------------------ decoding: shared samples


def test_full_order_reply_sample(samples_dir: Path) -> None:
    body = (samples_dir / "gateio" / "order_create_response_full.json").read_bytes()
    order = orders.to_order(orders.decode_order(body), BTC)
    assert (order.order_id, order.client_order_id, order.side, order.type) == (
        "1852454420", "t-abc123", Side.BUY, OrderType.LIMIT)
    assert order.status is OrderStatus.FILLED and order.time_in_force is TimeInForce.GTC
    assert (order.quantity, order.price, order.filled_qty, order.filled_quote) == (
        Decimal("0.001"), Decimal("65000"), Decimal("0.001"), Decimal("63.4693"))
    assert (order.fee, order.fee_asset) == (Decimal("0.00000022"), "BTC")
    assert (order.ts_created, order.ts_updated) == (1710488334073 * MS, 1710488334074 * MS)
    cancel = (samples_dir / "gateio" / "order_cancel_response.json").read_bytes()
    assert orders.to_order(orders.decode_order(cancel), BTC, "caller-id").client_order_id == "caller-id"


def test_ack_open_orders_accounts_and_fee_samples(samples_dir: Path) -> None:
    folder = samples_dir / "gateio"
    ack = orders.decode_order((folder / "order_create_response_ack.json").read_bytes())
    assert (ack.id, ack.text) == ("12332324", "t-123456")
    assert orders.to_order(ack, BTC).status is OrderStatus.NEW
    (group,) = orders.decode_open_orders((folder / "open_orders.json").read_bytes())
    assert (group.currency_pair, group.total) == ("ETH_BTC", 1)
    order = orders.to_order(group.orders[0], Symbol("ETH", "BTC"))
    # no filled_amount in this older shape: amount - left; no *_ms: seconds
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_qty == Decimal("0.5")
    assert order.filled_quote == Decimal("2.50016") and order.ts_created == 1548000000 * 1_000_000_000
    balances = orders.decode_accounts((folder / "spot_accounts.json").read_bytes())
    assert balances["ETH"].free == Decimal("968.8") and balances["ETH"].locked == 0
    fee = orders.decode_fee((folder / "fee.json").read_bytes(), BTC)
    assert (fee.venue, fee.maker, fee.taker) == ("gateio", 0.002, 0.002)


def test_my_trades_sample(samples_dir: Path) -> None:
    (row,) = orders.decode_my_trades((samples_dir / "gateio" / "trades.json").read_bytes())
    fill = orders.to_fill(row, Symbol("ETH", "BTC"), 1)
    assert (fill.trade_id, fill.order_id, fill.client_order_id, fill.side, fill.is_maker) == (
        "1232893232", "4128442423", "t-test", Side.BUY, True)
    assert (fill.quantity, fill.price, fill.fee, fill.fee_asset) == (
        Decimal("0.15"), Decimal("0.03"), Decimal("0.0005"), "ETH")
    assert fill.ts_event == 1548000000123456000


# ------------------------------------------------------------------ decoding: own fixtures


def test_ioc_remainder_is_expired_with_its_fill() -> None:
    order = orders.to_order(orders.decode_order((DATA / "http_order_ioc_partial.json").read_bytes()), ETH)
    assert order.status is OrderStatus.EXPIRED and order.time_in_force is TimeInForce.IOC
    assert (order.filled_qty, order.remaining, order.avg_price) == (
        Decimal("1"), Decimal("0.5"), Decimal("3000.4"))


def test_market_buy_amount_is_quote_so_the_callers_quantity_stands() -> None:
    msg = orders.decode_order((DATA / "http_order_market_buy.json").read_bytes())
    order = orders.to_order(msg, BTC, "mkt1", Decimal("0.01"))
    assert order.type is OrderType.MARKET and order.price is None and order.quantity == Decimal("0.01")
    assert order.status is OrderStatus.FILLED and order.ts_created == 1767225601000 * MS  # ms as a string
    assert orders.to_order(msg, BTC).quantity == Decimal("0.01")  # without it: what filled


def test_my_trades_rows_become_fills() -> None:
    rows = orders.decode_my_trades((DATA / "http_my_trades.json").read_bytes())
    fills = [orders.to_fill(m, ETH, 7) for m in rows]
    assert [(f.trade_id, f.quantity, f.is_maker) for f in fills] == [
        ("900002", Decimal("0.4"), False), ("900001", Decimal("0.6"), True)]
    first = fills[0]
    assert (first.side, first.price, first.fee, first.fee_asset, first.order_id, first.client_order_id) == (
        Side.SELL, Decimal("3000.5"), Decimal("2.4004"), "USDT", "40012", "t-opp7b")
    assert first.ts_event == 1767225600127513000 and first.ts_recv == 7


# ------------------------------------------------------------------ client ids and bodies


@pytest.mark.parametrize(("given", "sent"), [
    ("t-opp1b", "t-opp1b"),  # the executor's ids pass as they are
    ("conf-b0", "t-conf-b0"),
    ("x" * 28, "t-" + "x" * 28),
])
def test_wire_text_prefixes_valid_ids(given: str, sent: str) -> None:
    assert wire_text(given) == sent


def test_wire_text_hashes_ids_gate_would_refuse() -> None:
    long_a, long_b = "opportunity-" + "a" * 40, "opportunity-" + "a" * 39 + "b"
    texts = {wire_text(long_a), wire_text(long_b), wire_text("has space/slash"), wire_text("t-" + "y" * 29)}
    assert len(texts) == 4
    for text in texts:
        assert re.match(c.CLIENT_ID_CHARS, text) and len(text.encode()) <= 2 + c.CLIENT_ID_MAX_BYTES
    assert wire_text(long_a) == wire_text(long_a)  # deterministic: a resolve finds the same order
    assert wire_text("has space/slash").startswith("t-has_space_slash.")


def test_order_bodies_are_printed_on_the_grid() -> None:
    private = GatePrivate(make_rest("gateio", VenueConfig()), symbols={BTC: INFO})
    body = private.order_body(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.01000"), "t-a", Decimal("65000.1"),
                              TimeInForce.IOC)
    assert body == {"text": "t-a", "currency_pair": "BTC_USDT", "account": "spot", "side": "buy",
                    "type": "limit", "amount": "0.01000", "price": "65000.10", "time_in_force": "ioc"}
    maker = private.order_body(BTC, Side.SELL, OrderType.LIMIT_MAKER, Decimal("1"), "t-m", Decimal("7"),
                               TimeInForce.GTC)
    assert maker["time_in_force"] == "poc" and maker["amount"] == "1.00000"
    market = private.order_body(BTC, Side.BUY, OrderType.MARKET, Decimal("0.01"), "t-k", Decimal("65000.123"),
                                TimeInForce.GTC)
    assert (market["type"], market["amount"], market["time_in_force"]) == ("market", "650", "ioc")
    assert "price" not in market
    with pytest.raises(InvalidOrderError):
        private.order_body(BTC, Side.BUY, OrderType.LIMIT, Decimal("0.000001"), "t-a", Decimal("1"),
                           TimeInForce.GTC)
    with pytest.raises(InvalidOrderError):
        private.order_body(BTC, Side.BUY, OrderType.LIMIT, Decimal("1"), "t-a", Decimal("1.001"),
                           TimeInForce.GTC)
    with pytest.raises(InvalidOrderError):
        private.order_body(BTC, Side.BUY, OrderType.MARKET, Decimal("1"), "t-a", None, TimeInForce.IOC)
    unknown = private.order_body(ETH, Side.SELL, OrderType.LIMIT, Decimal("2.50"), "t-e", Decimal("3000.10"),
                                 TimeInForce.FOK)
    assert (unknown["amount"], unknown["price"], unknown["time_in_force"]) == ("2.5", "3000.1", "fok")


# ------------------------------------------------------------------ against the simulator


@pytest.fixture
async def sim() -> AsyncIterator[tuple[SimExchange, str]]:
    exchange = SimExchange(["gateio"], seed=8, step_s=0.05)
    urls = await exchange.start()
    await exchange.close_driver()
    yield exchange, urls["gateio"][0]
    await exchange.close()


CREDS = Credentials("gateio", Secret("sim-key"), Secret("sim-secret"))


async def test_fills_fees_open_orders_and_long_client_ids(sim: tuple[SimExchange, str]) -> None:
    exchange, url = sim
    private = make_private("gateio", VenueConfig(rest_url=url), CREDS)
    long_id = "reconcile-" + "z" * 30
    try:
        _, _, asks = exchange.market.snapshot("gateio", BTC, 1)
        qty = min(asks[0][1], Decimal("0.01"))
        placed = await private.place_order(BTC, Side.BUY, OrderType.LIMIT, qty, long_id, asks[0][0],
                                           TimeInForce.IOC)
        assert placed.client_order_id == long_id and placed.status is OrderStatus.FILLED
        assert (await private.get_order(BTC, client_order_id=long_id)).order_id == placed.order_id
        assert isinstance(private, GatePrivate)
        assert set(private.rest.metrics.latency) == {c.TIME, c.ORDERS, c.ORDER}  # no series per order id
        fills = await private.my_trades(BTC)
        assert [f.order_id for f in fills] == [placed.order_id] and fills[0].client_order_id == long_id
        assert fills[0].quantity == qty and fills[0].fee == placed.fee > 0
        fee = await private.trading_fees(BTC)
        assert (fee.maker, fee.taker) == (0.002, 0.002)
        _, bids, _ = exchange.market.snapshot("gateio", ETH, 1)
        low = (bids[0][0] * Decimal("0.8")).quantize(Decimal("0.01"))
        await private.place_order(ETH, Side.BUY, OrderType.LIMIT, Decimal("0.01"), "t-eth1", low)
        every = await private.open_orders()
        assert [(o.symbol, o.client_order_id, o.status) for o in every] == [(ETH, "t-eth1", OrderStatus.NEW)]
        assert await private.open_orders(BTC) == []
        account = await private.account_info()
        assert account.balances["BTC"].free == Decimal(10) + qty and account.balances["USDT"].locked > 0
    finally:
        await private.close()


async def test_venue_time_comes_from_the_server_clock(sim: tuple[SimExchange, str]) -> None:
    _, url = sim
    skewed = lambda: time.time_ns() - 300 * 1_000_000_000  # noqa: E731 - a local clock 5 min behind
    private = make_private("gateio", VenueConfig(rest_url=url), CREDS, clock_ns=skewed)
    clock = ServerClock()
    naive = GatePrivate(make_rest("gateio", VenueConfig(rest_url=url), CREDS, clock_ms=clock.now_ms),
                        server_clock=clock)
    try:
        assert "USDT" in await private.balances()  # synced from /spot/time despite the skew
        now = time.time_ns()
        clock.add_sample(now, now // MS - 600_000, now)  # a bogus sample: venue time 10 min behind
        with pytest.raises(TimestampError) as info:
            await naive.balances()
        assert info.value.api_code == "REQUEST_EXPIRED" and clock.needs_refresh()
        assert "USDT" in await naive.balances()  # re-measured before the next signed call
    finally:
        await private.close()
        await naive.close()


# ------------------------------------------------------------------ writes whose outcome is unknown


@pytest.fixture
async def broken() -> AsyncIterator[str]:
    async def server_error(request: web.Request) -> web.Response:
        return web.json_response({"label": "SERVER_ERROR", "message": "Internal server error"}, status=502)

    released = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await released.wait()  # past the client's timeout; released at teardown
        return web.json_response({})

    app = web.Application()
    app.router.add_post(c.ORDERS, server_error)
    app.router.add_get(c.ORDER.format(order_id="t-q"), server_error)
    app.router.add_delete(c.ORDER.format(order_id="t-slow"), hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    released.set()
    await runner.cleanup()


async def test_5xx_and_timeouts_on_writes_are_outcome_unknown(broken: str) -> None:
    rest = RestClient("gateio", broken, connection=ConnectionConfig(), decode_error=codec.decode_error,
                      error_class=codec.error_class, signer=GateSigner("k", "s"))
    kind = RequestConfig(timeout_s=0.2, retries=0, backoff_base_s=0.01, backoff_max_s=0.05)
    private = GatePrivate(rest, kind=kind)
    try:
        with pytest.raises(OrderOutcomeUnknownError) as placed:
            await private.place_order(BTC, Side.BUY, OrderType.LIMIT, Decimal("1"), "t-p", Decimal("1"))
        assert placed.value.client_order_id == "t-p" and placed.value.api_code == "SERVER_ERROR"
        with pytest.raises(OrderOutcomeUnknownError) as cancelled:
            await private.cancel_order(BTC, client_order_id="slow")
        assert cancelled.value.client_order_id == "slow"
        with pytest.raises(ExchangeUnavailableError) as read:
            await private.get_order(BTC, client_order_id="q")
        assert not isinstance(read.value, OrderOutcomeUnknownError)  # a read is just unavailable
    finally:
        await private.close()
