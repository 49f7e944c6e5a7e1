"""Bybit decoders on every shared sample that applies (read from ../shared, never copied)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb import errors
from arb.errors import DecodeError
from arb.model import KlineInterval, OrderStatus, OrderType, Side, Symbol, SymbolStatus, TimeInForce
from arb.venues.bybit import codec
from arb.venues.bybit import constants as c
from arb.venues.bybit import orders as order_wire
from arb.venues.bybit.public import api_error
from arb.venues.bybit.user import Envelopes

BTC = Symbol("BTC", "USDT")
ETH = Symbol("ETH", "USDT")


def sample(samples_dir: Path, name: str) -> bytes:
    return (samples_dir / "bybit" / name).read_bytes()


def result(samples_dir: Path, name: str) -> bytes:
    env = codec.decode_envelope(sample(samples_dir, name))
    assert env.retCode == 0
    return bytes(env.result)


def frames(samples_dir: Path, name: str) -> list[Any]:
    loaded = json.loads(sample(samples_dir, name))
    return loaded if isinstance(loaded, list) else [loaded]


# --------------------------------------------------------------------------- errors

ERRORS = [  # (sample, expected class, raw code)
    ("error_10002_timestamp_SYNTH.json", errors.TimestampError, 10002),
    ("error_10004_sign_issue.json", errors.AuthenticationError, 10004),
    ("error_10006_rate_limit_SYNTH.json", errors.RateLimitError, 10006),
    ("error_110007_insufficient_issue.json", errors.InsufficientBalanceError, 110007),
    ("error_110072_duplicate_orderlinkid_SYNTH.json", errors.InvalidOrderError, 110072),
    ("error_170121_invalid_symbol_SYNTH.json", errors.InvalidSymbolError, 170121),
    ("error_170131_insufficient_balance_SYNTH.json", errors.InsufficientBalanceError, 170131),
    ("error_170134_price_decimals_SYNTH.json", errors.InvalidOrderError, 170134),
    ("error_170140_min_notional_SYNTH.json", errors.InvalidOrderError, 170140),
    ("error_170213_order_not_exist_SYNTH.json", errors.OrderNotFoundError, 170213),
]


@pytest.mark.parametrize(("name", "cls", "code"), ERRORS)
def test_error_samples_map_by_code(samples_dir: Path, name: str, cls: type[errors.ExchangeError],
                                   code: int) -> None:
    body = sample(samples_dir, name)
    api_code, message = codec.decode_error(200, body)
    assert api_code == code and message
    assert codec.error_class(200, api_code) is cls
    # business errors come with HTTP 200: the envelope is what carries them
    error = api_error(codec.decode_envelope(body), "GET /x", idempotent=True)
    assert type(error) is cls and error.api_code == code and error.http_status == 200


def test_outcome_unknown_codes_make_writes_unknown_and_reads_unavailable() -> None:
    for code in c.OUTCOME_UNKNOWN_CODES:
        assert c.ERROR_CODES[code] is errors.OrderOutcomeUnknownError
        env = codec.EnvelopeResp(retCode=code, retMsg="order creation timeout")
        write = api_error(env, "POST /v5/order/create", idempotent=False, client_order_id="a-1")
        assert isinstance(write, errors.OrderOutcomeUnknownError) and write.client_order_id == "a-1"
        read = api_error(env, "GET /v5/order/realtime", idempotent=True)
        assert type(read) is errors.ExchangeUnavailableError and read.api_code == code
    assert {170146, 170147, 10000, 10016} <= c.OUTCOME_UNKNOWN_CODES


def test_status_table_ip_limit_and_non_json_bodies() -> None:
    page = b"<html>access too frequent</html>"
    assert codec.decode_error(403, page) == (None, page.decode())
    assert codec.error_class(403, None) is errors.IPBannedError
    assert codec.error_class(429, 10006) is errors.RateLimitError
    assert codec.error_class(401, None) is errors.AuthenticationError
    assert codec.error_class(502, None) is errors.ExchangeUnavailableError
    assert codec.error_class(400, 999999) is errors.ExchangeError


# --------------------------------------------------------------------------- market data


def test_envelope_numbers_may_be_strings(samples_dir: Path) -> None:
    env = codec.decode_envelope(sample(samples_dir, "rest_create_order_response_ccxt_recorded.json"))
    assert env.retCode == 0 and env.time == 1749814467805
    ack = order_wire.decode_ack(env.result)
    assert (ack.orderId, ack.orderLinkId) == ("1971981115648733696", "1971981115648733697")
    docs = order_wire.decode_ack(result(samples_dir, "rest_create_order_response_docs.json"))
    assert (docs.orderId, docs.orderLinkId) == ("1321003749386327552", "spot-test-postonly")
    cancel = order_wire.decode_ack(result(samples_dir, "rest_cancel_order_response_docs.json"))
    assert cancel.orderId == "c6f055d9-7f21-4079-913d-e6523a9cfffa" and cancel.orderLinkId == "linear-004"


def test_time_instruments_book_trades_ticker(samples_dir: Path) -> None:
    assert codec.decode_time(result(samples_dir, "rest_server_time_docs.json")) == 1688639403423
    (info,) = codec.decode_symbols(result(samples_dir, "rest_instruments_spot_docs.json"))
    assert info.symbol == BTC and info.venue_symbol == "BTCUSDT" and info.status is SymbolStatus.TRADING
    assert info.tick_size == Decimal("0.1") and info.step_size == Decimal("0.000001")
    assert info.min_notional == Decimal("5") and info.min_qty == 0  # minOrderQty is no longer checked
    assert info.max_qty == Decimal("83")
    book = codec.decode_snapshot(result(samples_dir, "rest_orderbook_docs.json"), BTC, 9)
    assert book.update_id == 230704 and book.ts_event == 1716863719031 * 10**6 and book.ts_recv == 9
    assert (book.asks[0].price, book.asks[0].size) == (65557.7, 16.606555) and book.bids[0].price == 65485.47
    (trade,) = codec.decode_trades(result(samples_dir, "rest_recent_trade_spot_docs.json"), BTC, 1)
    assert trade.trade_id == "2100000000007764263" and trade.side is Side.BUY
    assert (trade.price, trade.size, trade.ts_event) == (16618.49, 0.00012, 1672052955758 * 10**6)
    ticker = codec.decode_ticker(result(samples_dir, "rest_tickers_spot_docs.json"), BTC, 5)
    assert (ticker.last, ticker.bid, ticker.ask) == (20533.13, 20517.96, 20527.77)
    assert (ticker.volume_base, ticker.volume_quote) == (11801.27771, 243765620.65899866)


def test_klines_oldest_first_and_the_open_one_not_closed() -> None:
    body = json.dumps({"symbol": "BTCUSDT", "category": "spot", "list": [
        ["1670608800000", "17071", "17073", "17027", "17055.5", "268611", "15.74"],
        ["1670605200000", "17071.5", "17071.5", "17061", "17071", "4177", "0.24"]]}).encode()
    klines = codec.decode_klines(body, BTC, KlineInterval.H1, now_ms=1670608800000 + 1000)
    assert [k.open_time for k in klines] == [1670605200000 * 10**6, 1670608800000 * 10**6]
    first = klines[0]
    assert (first.open, first.high, first.low, first.close) == (17071.5, 17071.5, 17061, 17071)
    assert klines[0].closed and not klines[1].closed


# --------------------------------------------------------------------------- book pushes


def depth(frame: dict[str, Any], ts_recv: int = 0) -> Any:
    env = codec.decode_ws(json.dumps(frame))
    return codec.decode_depth(env.data, BTC, env.type, env.ts, ts_recv)


def test_recorded_snapshot_then_delta_are_contiguous(samples_dir: Path) -> None:
    recorded = frames(samples_dir, "ws_orderbook50_spot_snapshot_plus_delta_recorded.json")
    snap, delta = (depth(f) for f in recorded)
    assert snap.is_snapshot and len(snap.bid_prices) == 50 and len(snap.ask_prices) == 50
    assert snap.bid_prices[0] == 75848.74 and snap.ask_prices[0] == 75848.75
    assert (snap.first_id, snap.last_id) == (2876700, 2876700) and snap.ts_event == 1731035685326 * 10**6
    assert not delta.is_snapshot and delta.first_id == delta.last_id == snap.last_id + 1
    assert 0.0 in list(delta.bid_sizes)  # a "0" size deletes the level


def test_docs_book_pushes(samples_dir: Path) -> None:
    (snap,) = (depth(f) for f in frames(samples_dir, "ws_orderbook50_snapshot_docs_edited.json"))
    assert snap.is_snapshot and snap.last_id == 18521288 and list(snap.ask_prices) == [16611.0, 16612.0]
    (delta,) = (depth(f) for f in frames(samples_dir, "ws_orderbook50_delta_docs.json"))
    assert not delta.is_snapshot and delta.last_id == 177400507
    assert delta.bid_sizes[len(delta.bid_sizes) - 1] == 0.0 and delta.ask_sizes[0] == 0.0
    (level1,) = (depth(f) for f in frames(samples_dir, "ws_orderbook1_delta_recorded_2023.json"))
    assert level1.last_id == 873489 and len(level1.bid_prices) == 0
    assert list(level1.ask_sizes) == [0.011534, 0.0]


def test_synthesized_sequence_with_resets(samples_dir: Path) -> None:
    updates = [depth(f) for f in frames(samples_dir, "ws_orderbook50_sequence_with_resets_SYNTH.json")]
    assert [(u.last_id, u.is_snapshot) for u in updates] == [
        (5000, True), (5001, False), (5002, False), (5003, True), (1, True), (2, False)]


def test_malformed_book_pushes_are_decode_errors() -> None:
    good = {"s": "BTCUSDT", "b": [["1", "2"]], "a": [], "u": 5}
    frame = {"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1, "data": good}
    env = codec.decode_ws(json.dumps(frame))
    with pytest.raises(DecodeError, match="unknown book push type"):
        codec.decode_depth(env.data, BTC, "partial", 1, 0)
    for data in ({**good, "u": 0}, {**good, "b": [["x", "1"]]}, {**good, "u": "five"}, {"s": "BTCUSDT"}, []):
        with pytest.raises(DecodeError):
            codec.decode_depth(json.dumps(data).encode(), BTC, "delta", 1, 0)
    with pytest.raises(DecodeError):
        codec.decode_ws(b"not json")
    cut = b'{"topic":"orderbook.50.ETHUSDT","type":"delta","data":{'
    assert codec.named_topic(cut) == "orderbook.50.ETHUSDT"
    assert codec.named_topic(b"garbage") is None


def test_public_trade_push(samples_dir: Path) -> None:
    (frame,) = frames(samples_dir, "ws_public_trade_docs.json")
    env = codec.decode_ws(json.dumps(frame))
    (trade,) = codec.decode_public_trades(env.data, BTC, 4)
    assert trade.trade_id == "20f43950-d8dd-5b31-9112-a178eb6023af" and trade.side is Side.BUY
    assert (trade.price, trade.size, trade.ts_recv) == (16578.5, 0.001, 4)
    assert trade.ts_event == 1672304486865 * 10**6
    with pytest.raises(DecodeError):
        codec.decode_public_trades(b'[{"T": 1, "S": "Up", "v": "1", "p": "1", "i": "x"}]', BTC, 0)


def test_control_frames_are_told_from_pushes(samples_dir: Path) -> None:
    envelopes = Envelopes()
    for name in ("ws_ping_pong_docs.json", "ws_pong_private_recorded.json",
                 "ws_pong_public_spot_recorded.json", "ws_subscribe_ack_private_docs.json",
                 "ws_subscribe_ack_public_recorded.json",
                 "ws_subscribe_ack_public_spot_docs.json", "ws_auth_success_docs.json",
                 "ws_auth_success_recorded.json", "ws_trade_order_create_response_docs.json",
                 "ws_subscribe_request_docs.json", "ws_auth_request_docs.json"):
        for frame in frames(samples_dir, name):
            assert envelopes.is_control(json.dumps(frame)), name
    for name in ("ws_orderbook50_delta_docs.json", "ws_public_trade_docs.json", "ws_ticker_spot_docs.json",
                 "ws_wallet_push_docs.json", "ws_execution_spot_push_recorded.json"):
        for frame in frames(samples_dir, name):
            assert not envelopes.is_control(json.dumps(frame)), name
    assert not envelopes.is_control(b"{broken")  # data that does not decode: the stream counts it
    ticker = codec.decode_ws(json.dumps(frames(samples_dir, "ws_ticker_spot_docs.json")[0]))
    assert ticker.topic == "tickers.BTCUSDT" and ticker.type == "snapshot"  # parsed by key, ts first


# --------------------------------------------------------------------------- orders and account


def test_order_objects_from_rest(samples_dir: Path) -> None:
    (live,) = order_wire.decode_orders(result(samples_dir, "rest_open_orders_realtime_docs.json")).items
    order = order_wire.to_order(live, ETH)
    assert order.client_order_id == "test-000005" and order.order_id == "fd4300ae-7847-404e-b947-b46980a4d140"
    assert order.status is OrderStatus.NEW and order.side is Side.BUY and order.type is OrderType.LIMIT
    assert (order.quantity, order.price, order.filled_qty) == (Decimal("0.10"), Decimal("1600.00"), 0)
    assert order.fee == Decimal("0.00242968") and order.fee_asset == "MNT"  # cumFeeDetail wins
    assert order.ts_created == 1684738540559 * 10**6 and order.ts_updated == 1684738540561 * 10**6
    page = order_wire.decode_orders(result(samples_dir, "rest_order_history_docs.json"))
    assert page.nextPageCursor == "page_token%3D39380%26"
    history = order_wire.to_order(page.items[0], BTC)
    assert history.status is OrderStatus.EXPIRED  # Cancelled, EC_PostOnlyWillTakeLiquidity
    assert history.type is OrderType.LIMIT_MAKER and history.time_in_force is TimeInForce.GTC


def test_recorded_spot_order_pushes(samples_dir: Path) -> None:
    orders = [o for f in frames(samples_dir, "ws_order_spot_push_ioc_partial_and_filled_recorded.json")
              for o in order_wire.decode_ws_orders(codec.decode_ws(json.dumps(f)).data, lambda s: BTC)]
    buy, sell = orders
    # a market buy sized in quote (10 USDT): its base quantity is what filled plus what is left
    assert buy.status is OrderStatus.EXPIRED and buy.type is OrderType.MARKET and buy.side is Side.BUY
    assert buy.quantity == buy.filled_qty == Decimal("0.000306") and buy.filled_quote == Decimal("9.98631000")
    assert (buy.fee, buy.fee_asset) == (Decimal("0.000000306"), "BTC") and buy.price is None
    assert buy.client_order_id == "1552132392821724673" and buy.time_in_force is TimeInForce.IOC
    assert sell.status is OrderStatus.FILLED and sell.quantity == sell.filled_qty == Decimal("0.001936")
    assert (sell.fee, sell.fee_asset) == (Decimal("0.06229682784"), "USDT")


def test_other_categories_are_left_out_of_private_pushes(samples_dir: Path) -> None:
    (option,) = frames(samples_dir, "ws_order_push_docs_option.json")
    assert order_wire.decode_ws_orders(codec.decode_ws(json.dumps(option)).data, lambda s: BTC) == []
    (linear,) = frames(samples_dir, "ws_execution_push_docs_linear.json")
    assert order_wire.decode_ws_executions(codec.decode_ws(json.dumps(linear)).data, lambda s: BTC, 0) == []


def test_execution_push_and_list(samples_dir: Path) -> None:
    (frame,) = frames(samples_dir, "ws_execution_spot_push_recorded.json")
    (fill,) = order_wire.decode_ws_executions(codec.decode_ws(json.dumps(frame)).data, lambda s: BTC, 3)
    assert fill.trade_id == "2100000000047469164" and fill.side is Side.BUY and not fill.is_maker
    assert (fill.price, fill.quantity) == (Decimal("32635.00"), Decimal("0.000306"))
    assert fill.fee == Decimal("0.000000306")
    assert fill.fee_asset == "BTC"  # no feeCurrency: a charge on a buy is in base
    assert fill.order_id == "1552132392821724672" and fill.client_order_id == "1552132392821724673"
    assert fill.ts_event == 1699764599837 * 10**6 and fill.ts_recv == 3
    eth = Symbol("ETH", "PERP")
    (row,) = order_wire.decode_executions(result(samples_dir, "rest_execution_list_docs.json"), eth, 1)
    assert row.trade_id == "e0cbe81d-0f18-5866-9415-cf319b5dab3b" and row.client_order_id is None
    assert (row.price, row.quantity, row.fee, row.fee_asset) == (
        Decimal("1190.15"), Decimal("0.1"), Decimal("0.071409"), "ETH")


def test_fee_currency_rule() -> None:
    assert order_wire.fee_asset(BTC, Side.BUY, Decimal("0.1"), "") == "BTC"
    assert order_wire.fee_asset(BTC, Side.SELL, Decimal("0.1"), "") == "USDT"
    assert order_wire.fee_asset(BTC, Side.BUY, Decimal("-0.1"), "") == "USDT"  # a maker rebate flips it
    assert order_wire.fee_asset(BTC, Side.SELL, Decimal("0.1"), "MNT") == "MNT"


def test_wallet_rest_and_pushes(samples_dir: Path) -> None:
    balances = order_wire.decode_wallet(result(samples_dir, "rest_wallet_balance_docs.json"))
    assert balances["BTC"].free == 0 and balances["BTC"].locked == 0
    for name in ("ws_wallet_push_docs.json", "ws_wallet_push_recorded.json"):
        (frame,) = frames(samples_dir, name)
        pushed = {b.asset: b for b in order_wire.decode_ws_wallet(codec.decode_ws(json.dumps(frame)).data)}
        assert pushed["BTC"].free > 0
    (recorded,) = frames(samples_dir, "ws_wallet_push_recorded.json")
    pushed = {b.asset: b for b in order_wire.decode_ws_wallet(codec.decode_ws(json.dumps(recorded)).data)}
    assert pushed["USDT"].free == Decimal("88.94040055") and set(pushed) == {"USDC", "BTC", "USDT"}
    locked = json.dumps([{"accountType": "UNIFIED", "coin": [{"coin": "USDT", "walletBalance": "10",
                                                              "locked": "4"}]}]).encode()
    assert order_wire.decode_ws_wallet(locked)[0].free == Decimal(6)
    assert order_wire.decode_ws_wallet(json.dumps([{"accountType": "FUND", "coin": []}]).encode()) == []


def test_fee_rate(samples_dir: Path) -> None:
    fee = order_wire.decode_fee_rate(result(samples_dir, "rest_fee_rate_docs.json"), ETH)
    assert (fee.maker, fee.taker) == (0.0001, 0.0006)  # positive = charged, as in our model


def test_malformed_private_rows_are_decode_errors() -> None:
    row = {"category": "spot", "symbol": "BTCUSDT", "orderId": "1", "side": "Buy", "orderStatus": "New"}
    for bad in ({**row, "side": "Up"}, {**row, "qty": "1e"}, {**row, "qty": "NaN"}, {"symbol": "BTCUSDT"}):
        with pytest.raises(DecodeError):
            order_wire.decode_ws_orders(json.dumps([bad]).encode(), lambda s: BTC)
    with pytest.raises(DecodeError):  # a symbol that cannot be split
        order_wire.decode_ws_orders(json.dumps([{**row, "symbol": "NOQUOTE"}]).encode(),
                               lambda s: Symbol.from_venue(s, c.SYMBOL_STYLE))
    weird = order_wire.OrderMsg("1", "BTCUSDT", "Buy", "Weird")
    assert order_wire.to_order(weird, BTC).status is OrderStatus.UNKNOWN
