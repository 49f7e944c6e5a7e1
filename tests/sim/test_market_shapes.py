"""The simulator's public trade, ticker and kline payloads have the real venues' shapes.

The same comparison as `test_sample_shapes` (keys and JSON types, recursively, against the samples in
../shared/exchange-samples, with reasoned allowances that must all be used), for the endpoints and
stream messages of `arb.sim.*_market`. An IOC order is placed first, so the tape holds a print. The
Binance ``<s>@trade`` frame has no shared sample: it is compared with the ``aggTrade`` sample and
with our own fixture written from the fact sheet (tests/data/binance/ws_trade_btcusdt.json).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import aiohttp
import pytest
from google.protobuf.json_format import MessageToDict

from arb.sim.server import SimExchange
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper
from tests.sim.test_sample_shapes import Allow, Case, Rest, ShapeDiff, check, start, touch

DATA = Path(__file__).resolve().parents[1] / "data"
RECORDER = ("ccxt's recorder stores this number as a string (samples README caveat); the live API and the "
            "doc examples send a JSON number")
CURRENT = "current servers add it (ws_obu_subscribe_ack.json, fact sheet §2.8); the sample is older"


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def _buy(venue: str, sim: SimExchange, rest: Rest) -> None:
    """One IOC buy at the touch, through the signed REST API: a print on the tape."""
    ask, _ = touch(sim, venue)
    if venue == "gateio":
        body = {"currency_pair": "BTC_USDT", "side": "buy", "type": "limit", "amount": "0.001", "price": ask,
                "time_in_force": "ioc", "text": "t-shape-print"}
        placed = await rest.call("POST", "/api/v4/spot/orders", signed=True, body=body)
        assert placed["finish_as"] == "filled", placed
        return
    kinds = {"binance": {"type": "LIMIT", "timeInForce": "IOC"}, "mexc": {"type": "IMMEDIATE_OR_CANCEL"}}
    kind = kinds[venue]
    params = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001", "price": ask, **kind}
    placed = await rest.call("POST", "/api/v3/order", params, signed=True)
    assert "orderId" in placed, placed


async def binance_rest(rest: Rest) -> list[tuple[Case, object]]:
    sym = {"symbol": "BTCUSDT"}
    return [
        (Case("GET /api/v3/trades", "binance/trades.json"), await rest.call("GET", "/api/v3/trades", sym)),
        (Case("GET /api/v3/ticker/24hr", "binance/ticker_24hr.json"),
         await rest.call("GET", "/api/v3/ticker/24hr", sym)),
        (Case("GET /api/v3/ticker/24hr (all)", "binance/ticker_24hr.json"),
         (await rest.call("GET", "/api/v3/ticker/24hr"))[0]),
        (Case("GET /api/v3/klines", "binance/klines.json"),
         await rest.call("GET", "/api/v3/klines", {**sym, "interval": "1m", "limit": "3"})),
        (Case("GET /api/v3/trades (bad symbol)", "binance/error_invalid_symbol.json", same=("code",)),
         await rest.call("GET", "/api/v3/trades", {"symbol": "NOPEUSDT"})),
        (Case("GET /api/v3/klines (bad symbol)", "binance/error_invalid_symbol.json", same=("code",)),
         await rest.call("GET", "/api/v3/klines", {"symbol": "NOPEUSDT", "interval": "1m"})),
    ]


async def mexc_rest(rest: Rest) -> list[tuple[Case, object]]:
    sym = {"symbol": "BTCUSDT"}
    ticker = await rest.call("GET", "/api/v3/ticker/24hr", sym)
    nullable = "the doc example prints null here (fact sheet §1.2: some may be null); the live API a string"
    return [
        (Case("GET /api/v3/trades", "mexc/trades_doc.json"), await rest.call("GET", "/api/v3/trades", sym)),
        (Case("GET /api/v3/ticker/24hr", "mexc/ticker_24hr.json", Allow(
            types={"openTime": RECORDER, "closeTime": RECORDER})), ticker),
        (Case("GET /api/v3/ticker/24hr", "mexc/ticker_24hr_doc.json", Allow(types={"quoteVolume": nullable})),
         ticker),
        (Case("GET /api/v3/klines", "mexc/klines.json"),
         await rest.call("GET", "/api/v3/klines", {**sym, "interval": "60m", "limit": "3"})),
        (Case("GET /api/v3/trades (bad symbol)", "mexc/error_bad_symbol.json", same=("code",)),
         await rest.call("GET", "/api/v3/trades", {"symbol": "NOPEUSDT"})),
        (Case("GET /api/v3/ticker/24hr (bad symbol)", "mexc/error_bad_symbol.json", same=("code",)),
         await rest.call("GET", "/api/v3/ticker/24hr", {"symbol": "NOPEUSDT"})),
    ]


async def gate_rest(rest: Rest) -> list[tuple[Case, object]]:
    pair = {"currency_pair": "BTC_USDT"}
    personal = ("only personal trades (GET /spot/my_trades) carry it: the sample shows both endpoints' "
                "shared shape (samples README), fact sheet §2.2 lists the public fields")
    etf = "only leveraged-token (ETF) pairs carry it; the sample is BTC3L_USDT"
    bad = await rest.call("GET", "/api/v4/spot/trades", {"currency_pair": "NOPE_USDT"})
    assert bad["label"] == "INVALID_CURRENCY_PAIR"  # the label differs from the sample's: shape only
    return [
        (Case("GET /spot/trades", "gateio/trades.json", Allow(
            missing={f"[].{k}": personal for k in ("order_id", "role", "fee", "fee_currency", "point_fee",
                                                   "gt_fee", "text")},
            extra={"[].currency_pair": "fact sheet §2.2 lists it; the v4.75 doc example omits it"})),
         await rest.call("GET", "/api/v4/spot/trades", pair)),
        (Case("GET /spot/tickers", "gateio/tickers.json", Allow(missing={
            f"[].{k}": etf
            for k in ("etf_net_value", "etf_pre_net_value", "etf_pre_timestamp", "etf_leverage")})),
         await rest.call("GET", "/api/v4/spot/tickers", pair)),
        (Case("GET /spot/candlesticks", "gateio/candlesticks.json"),
         await rest.call("GET", "/api/v4/spot/candlesticks", {**pair, "interval": "1m", "limit": "3"})),
        (Case("GET /spot/trades (bad pair)", "gateio/error_invalid_param.json"), bad),
    ]


REST_SCENARIOS: Mapping[str, Callable[[Rest], Any]] = MappingProxyType({
    "binance": binance_rest, "mexc": mexc_rest, "gateio": gate_rest,
})


@pytest.mark.parametrize("venue", sorted(REST_SCENARIOS))
async def test_market_data_payloads_have_the_real_shapes(venue: str, samples_dir: Path,
                                                         session: aiohttp.ClientSession) -> None:
    sim, base, _ = await start(venue)
    try:
        rest = Rest(venue, base, session)
        await _buy(venue, sim, rest)
        cases = await REST_SCENARIOS[venue](rest)
    finally:
        await sim.close()
    check(samples_dir, cases)


# ---------------------------------------------------------------------------------------------- streams


async def _print_frame(venue: str, sim: SimExchange, rest: Rest, ws: aiohttp.ClientWebSocketResponse) -> Any:
    """Place an IOC buy and return the trade push it caused (text JSON, or MEXC's protobuf as a dict)."""
    await _buy(venue, sim, rest)
    msg = await ws.receive(timeout=10)  # a guard against a hang, not a timing check
    if venue == "mexc":
        assert msg.type is aiohttp.WSMsgType.BINARY, msg
        return MessageToDict(PushDataV3ApiWrapper.FromString(msg.data))
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def test_trade_pushes_have_the_real_shapes(samples_dir: Path, session: aiohttp.ClientSession) -> None:
    cases: list[tuple[Case, object]] = []
    own: object = None
    for venue in ("binance", "gateio", "mexc"):
        sim, base, ws_base = await start(venue)
        rest = Rest(venue, base, session)
        try:
            if venue == "binance":
                async with session.ws_connect(f"{ws_base}/stream") as ws:
                    await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1})
                    assert json.loads((await ws.receive(timeout=10)).data) == {"result": None, "id": 1}
                    own = frame = await _print_frame(venue, sim, rest, ws)
                agg = "aggTrade fields; the sim serves <s>@trade, whose id is t (fact sheet §3.8)"
                cases.append((Case("<s>@trade frame", "binance/ws_agg_trade.json", Allow(
                    missing={f"data.{k}": agg for k in ("a", "f", "l")}, extra={"data.t": agg})), frame))
            elif venue == "gateio":
                async with session.ws_connect(ws_base) as ws:
                    await ws.send_json({"time": int(time.time()), "channel": "spot.trades",
                                        "event": "subscribe", "payload": ["BTC_USDT"]})
                    ack = json.loads((await ws.receive(timeout=10)).data)
                    assert ack["error"] is None and ack["result"] == {"status": "success"}
                    frame = await _print_frame(venue, sim, rest, ws)
                newer = "current servers also send id_market and range (samples README, fact sheet §2.8)"
                cases.append((Case("spot.trades update", "gateio/ws_trades.json", Allow(
                    extra={"time_ms": CURRENT, "result.id_market": newer, "result.range": newer})), frame))
            else:
                async with session.ws_connect(ws_base) as ws:
                    channel = "spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT"
                    await ws.send_json({"method": "SUBSCRIPTION", "params": [channel]})
                    assert json.loads((await ws.receive(timeout=10)).data)["code"] == 0
                    frame = await _print_frame(venue, sim, rest, ws)
                trade_id = "the 2026-06 schema adds tradeId (fact sheet §1.10); the sample predates it"
                cases.append((Case("aggre.deals push (decoded)", "mexc/ws_aggre_deals_decoded.json", Allow(
                    extra={"publicAggreDeals.deals[].tradeId": trade_id})), frame))
        finally:
            await sim.close()
    check(samples_dir, cases)
    mine = ShapeDiff(Allow())  # our own fixture, written from the fact sheet's field list
    mine.compare(json.loads((DATA / "binance/ws_trade_btcusdt.json").read_text()), own)
    assert mine.problems == []
