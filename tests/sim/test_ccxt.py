"""A third-party client written for the real venues (ccxt) trades against the simulator unchanged.

Each venue's ccxt async client gets every entry of its ``urls['api']`` pointed at the simulator (same
paths, host 127.0.0.1) and the funded ``sim-key`` account; nothing else about it is patched except what
the simulator honestly does not offer: the private wallet endpoint behind ``fetchCurrencies``, Gate's
and Bybit's unified-account probes and MEXC's futures market list. Every request ccxt makes goes through a
guard that refuses any host but 127.0.0.1 before a socket is opened, and the tests check what it saw.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import pytest

from arb.model import Symbol
from arb.sim.accounts import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET
from arb.sim.bybit_wire import order_id as bybit_order_id
from arb.sim.matching import Ledger, MatchingEngine
from arb.sim.server import SimExchange

ccxt_async = pytest.importorskip("ccxt.async_support")

BTC = Symbol("BTC", "USDT")
PAIR = "BTC/USDT"
ACCOUNT = "sim"  # the ledger account behind sim-key
LOOPBACK = "127.0.0.1"
BOOK_DEPTH = 20
QTY = Decimal("0.001")
CLASSES: Mapping[str, str] = MappingProxyType({"binance": "binance", "gateio": "gate", "mexc": "mexc",
                                               "okx": "okx", "bybit": "bybit"})
OKX_ORDER_IDS = 2_896_576_259_728_695_296  # the OKX dialect's ordIds: the engine's ids offset past 2^53
# the wire order id of a matching-engine order id, where the venue prints it otherwise
WIRE_IDS: Mapping[str, Callable[[int], str]] = MappingProxyType({
    "bybit": bybit_order_id, "okx": lambda order_id: str(order_id + OKX_ORDER_IDS)})
# ccxt's bybit order book parser keeps no u/seq as its nonce; ccxt's okx does not read seqId
NO_NONCE = frozenset({"bybit", "okx"})


def options(name: str) -> dict[str, object]:
    """ccxt options per venue (fresh each time: ccxt keeps and may change them)."""
    if name == "binance":  # spot only: the simulator lists no margin, futures or options markets
        return {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False}
    if name == "gateio":  # a classic spot account (ccxt would otherwise probe /account/detail)
        return {"fetchMarkets": {"types": ["spot"]}, "unifiedAccount": False}
    if name == "okx":
        return {"fetchMarkets": {"types": ["spot"]}}
    if name == "bybit":  # a unified account (else ccxt probes /v5/user/query-api and /v5/account/info);
        # fetchOrder reads /v5/order/realtime, which holds the last 500 orders: ccxt wants that acknowledged
        return {"fetchMarkets": {"types": ["spot"]}, "enableUnifiedMargin": False,
                "enableUnifiedAccount": True, "fetchOrder": {"acknowledged": True}}
    return {}


def point_at(node: Any, base: str) -> Any:
    """`node` (ccxt's ``urls['api']`` tree) with every URL moved to `base`, keeping its path."""
    if isinstance(node, dict):
        return {key: point_at(value, base) for key, value in node.items()}
    if isinstance(node, str):
        return base + urlsplit(node).path
    return node


@dataclass
class Venue:
    """A running simulated venue and a ccxt client pointed at it."""

    name: str
    sim: SimExchange
    exchange: Any  # a ccxt.async_support.Exchange (ccxt ships no type stubs)
    contacted: list[str] = field(default_factory=list)

    @property
    def ledger(self) -> Ledger:
        ledger: Ledger = self.sim.dialects[self.name].ledger  # type: ignore[attr-defined]
        return ledger

    @property
    def matching(self) -> MatchingEngine:
        matching: MatchingEngine = self.sim.dialects[self.name].matching  # type: ignore[attr-defined]
        return matching

    def book(self) -> tuple[int, list[list[float]], list[list[float]]]:
        update_id, bids, asks = self.sim.market.snapshot(self.name, BTC, BOOK_DEPTH)
        return (update_id, [[float(p), float(q)] for p, q in bids], [[float(p), float(q)] for p, q in asks])

    def best_ask(self) -> Decimal:
        _, _, asks = self.sim.market.snapshot(self.name, BTC, 1)
        return asks[0][0]


@asynccontextmanager
async def ccxt_against_sim(name: str) -> AsyncIterator[Venue]:
    sim = SimExchange([name], seed=8, step_s=0.05)
    urls = await sim.start()
    await sim.close_driver()  # a still market: ccxt must read exactly the simulator's book
    exchange = getattr(ccxt_async, CLASSES[name])({
        "apiKey": SIM_KEY, "secret": SIM_SECRET, "password": SIM_PASSPHRASE, "enableRateLimit": False,
        "options": options(name),
    })
    venue = Venue(name, sim, exchange)
    exchange.aiohttp_trust_env = False  # no proxy from the environment
    exchange.urls["api"] = point_at(exchange.urls["api"], urls[name][0])
    exchange.has["fetchCurrencies"] = False  # a signed wallet endpoint (capital/config, sapi) not simulated
    if name == "mexc":
        async def no_swap_markets(params: Mapping[str, object] | None = None) -> list[object]:
            return []  # MEXC's futures API (contract/detail) is not part of the simulator

        exchange.fetch_swap_markets = no_swap_markets
    send = exchange.fetch

    async def loopback_only(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        host = urlsplit(url).hostname
        if host != LOOPBACK:
            raise AssertionError(f"ccxt tried to reach {host}: {method} {url}")
        venue.contacted.append(f"{method} {urlsplit(url).path}")
        return await send(url, method, headers, body)

    exchange.fetch = loopback_only
    try:
        yield venue
    finally:
        await exchange.close()
        await sim.close()


@pytest.fixture(params=sorted(CLASSES))
async def venue(request: pytest.FixtureRequest) -> AsyncIterator[Venue]:
    async with ccxt_against_sim(request.param) as running:
        yield running
        assert running.contacted, "ccxt made no request at all"


async def test_markets_and_order_book_are_the_simulators(venue: Venue) -> None:
    markets = await venue.exchange.load_markets()
    spec = venue.sim.market.specs[BTC]
    market = markets[PAIR]
    assert (market["spot"], market["active"], market["base"], market["quote"]) == (True, True, "BTC", "USDT")
    assert market["precision"]["price"] == float(spec.tick)
    assert market["precision"]["amount"] == float(spec.step)
    book = await venue.exchange.fetch_order_book(PAIR, BOOK_DEPTH)
    update_id, bids, asks = venue.book()
    assert ([level[:2] for level in book["bids"]], [level[:2] for level in book["asks"]]) == (bids, asks)
    assert book["nonce"] == (None if venue.name in NO_NONCE else update_id)


async def test_signed_balance_is_the_ledger(venue: Venue) -> None:
    balance = await venue.exchange.fetch_balance()
    ledger = venue.ledger.balances(ACCOUNT)
    assert ledger and set(ledger) <= set(balance["total"])
    for asset, (free, locked) in ledger.items():
        assert (balance[asset]["free"], balance[asset]["used"], balance[asset]["total"]) == (
            float(free), float(locked), float(free + locked)), asset


async def test_an_ioc_buy_fills_against_the_book_and_moves_the_ledger(venue: Venue) -> None:
    await venue.exchange.load_markets()
    ask = venue.best_ask()
    usdt, btc = venue.ledger.free(ACCOUNT, "USDT"), venue.ledger.free(ACCOUNT, "BTC")
    placed = await venue.exchange.create_order(PAIR, "limit", "buy", float(QTY), float(ask),
                                               {"timeInForce": "IOC"})
    (fill,) = venue.matching.fills
    wire_id = WIRE_IDS.get(venue.name, str)(fill.order_id)
    assert (fill.price, fill.quantity, wire_id) == (ask, QTY, placed["id"].removeprefix("C02__"))
    in_base = fill.fee if fill.fee_asset == "BTC" else 0  # OKX and Bybit charge a buy in base
    assert fill.fee_asset == ("BTC" if venue.name in ("okx", "bybit") else "USDT")
    assert venue.ledger.free(ACCOUNT, "BTC") == btc + QTY - in_base
    assert venue.ledger.free(ACCOUNT, "USDT") == usdt - ask * QTY - (fill.fee - in_base)
    order = await venue.exchange.fetch_order(placed["id"], PAIR)
    assert (order["id"], order["status"], order["side"], order["type"]) == (
        placed["id"], "closed", "buy", "limit")
    assert (order["filled"], order["remaining"], order["average"]) == (float(QTY), 0.0, float(ask))
    balance = await venue.exchange.fetch_balance()
    assert (balance["BTC"]["free"], balance["USDT"]["free"]) == (
        float(venue.ledger.free(ACCOUNT, "BTC")), float(venue.ledger.free(ACCOUNT, "USDT")))


async def test_a_resting_order_is_listed_and_cancelled(venue: Venue) -> None:
    await venue.exchange.load_markets()
    tick = venue.sim.market.specs[BTC].tick
    price = (venue.best_ask() * Decimal("0.9")).quantize(tick)  # far under the touch: it rests
    usdt = venue.ledger.free(ACCOUNT, "USDT")
    placed = await venue.exchange.create_order(PAIR, "limit", "buy", float(QTY), float(price))
    assert venue.ledger.locked(ACCOUNT, "USDT") > 0 and not venue.matching.fills
    listed = await venue.exchange.fetch_open_orders(PAIR)
    assert [(o["id"], o["status"], o["price"], o["amount"]) for o in listed] == [
        (placed["id"], "open", float(price), float(QTY))]
    cancelled = await venue.exchange.cancel_order(placed["id"], PAIR)
    assert cancelled["id"] == placed["id"]
    order = await venue.exchange.fetch_order(placed["id"], PAIR)
    assert (order["status"], order["filled"]) == ("canceled", 0.0)
    assert await venue.exchange.fetch_open_orders(PAIR) == []
    assert (venue.ledger.free(ACCOUNT, "USDT"), venue.ledger.locked(ACCOUNT, "USDT")) == (usdt, 0)


async def test_the_guard_refuses_any_other_host() -> None:
    async with ccxt_against_sim("binance") as running:
        running.exchange.urls["api"]["public"] = "https://api.binance.com/api/v3"
        with pytest.raises(AssertionError, match=r"ccxt tried to reach api\.binance\.com"):
            await running.exchange.fetch_time()
        assert running.contacted == []
