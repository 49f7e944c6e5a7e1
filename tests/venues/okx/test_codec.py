"""OKX decoders on every real payload in shared/exchange-samples/okx that they apply to."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arb.errors import (
    AuthenticationError,
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    InsufficientBalanceError,
    InvalidOrderError,
    InvalidSymbolError,
    OrderNotFoundError,
    OrderOutcomeUnknownError,
    RateLimitError,
    TimestampError,
    TradingDisabledError,
)
from arb.model import KlineInterval, OrderStatus, OrderType, Side, Symbol, SymbolStatus, TimeInForce
from arb.venues.okx import codec, orders
from arb.venues.okx import constants as c
from arb.venues.okx.user import push_orders

BTC = Symbol("BTC", "USDT")

ERRORS: list[tuple[str, int, type[ExchangeError]]] = [
    ("error_50011_rate_limit_nautilus.json", 50011, RateLimitError),
    ("error_50102_timestamp_expired_SYNTH.json", 50102, TimestampError),
    ("error_50111_invalid_key_nautilus.json", 50111, AuthenticationError),
    ("error_50113_invalid_sign_issue.json", 50113, AuthenticationError),  # a numeric code in that capture
    ("error_51001_bad_instrument_SYNTH.json", 51001, InvalidSymbolError),
    ("error_51008_insufficient_balance_SYNTH.json", 51008, InsufficientBalanceError),  # sCode beats code 1
    ("error_51121_lot_size_SYNTH.json", 51121, InvalidOrderError),
    ("error_51201_order_rejected_issue.json", 51201, InvalidOrderError),
    ("error_51400_cancel_unknown_SYNTH.json", 51400, OrderNotFoundError),
    ("error_51603_order_not_exist_SYNTH.json", 51603, OrderNotFoundError),
    ("error_54109_pair_not_activated_nautilus.json", 54109, TradingDisabledError),
]


def body(samples: Path, name: str) -> bytes:
    return (samples / "okx" / name).read_bytes()


def frames(samples: Path, name: str) -> list[bytes]:
    return [json.dumps(f).encode() for f in json.loads(body(samples, name))]


@pytest.mark.parametrize(("name", "code", "cls"), ERRORS)
def test_error_samples_decode_and_classify(samples_dir: Path, name: str, code: int,
                                           cls: type[ExchangeError]) -> None:
    raw = body(samples_dir, name)
    assert codec.decode_error(200, raw)[0] == code
    assert codec.error_class(200, code) is cls
    with pytest.raises(cls) as caught:  # a 200 carrying the error: the code decides
        codec.check(raw, "sample", write=True, client_order_id="c1")
    assert caught.value.api_code == code and caught.value.http_status == 200


def test_outcome_unknown_codes_are_unknown_for_writes_and_unavailable_for_reads() -> None:
    assert {50001, 50004, 50013, 50026, 51054, 51149, 51412} == c.OUTCOME_UNKNOWN_CODES
    for code in c.OUTCOME_UNKNOWN_CODES:
        assert c.ERROR_CODES[code] is OrderOutcomeUnknownError
        raw = json.dumps({"code": "1", "msg": "", "data": [{"sCode": str(code), "sMsg": "timeout",
                                                             "clOrdId": "a1", "ordId": ""}]}).encode()
        with pytest.raises(OrderOutcomeUnknownError) as unknown:
            codec.check(raw, "order", write=True, client_order_id="a1")
        assert unknown.value.client_order_id == "a1"
        with pytest.raises(ExchangeUnavailableError) as read:
            codec.check(json.dumps({"code": str(code), "msg": "busy"}).encode(), "order")
        assert not isinstance(read.value, OrderOutcomeUnknownError)
    # by status: a 429 is a rate limit whatever the body, a 401 with an auth code is authentication
    assert codec.error_class(429, 50011) is RateLimitError
    assert codec.error_class(401, 50113) is AuthenticationError
    assert codec.error_class(503, 50001) is OrderOutcomeUnknownError
    assert codec.decode_error(502, b"<html>bad gateway</html>") == (None, "<html>bad gateway</html>")


def test_market_data_samples(samples_dir: Path) -> None:
    rows = codec.decode_symbols(body(samples_dir, "rest_instruments_spot_recorded_trimmed.json"))
    infos = {i.symbol: i for i in rows}
    assert set(infos) == {BTC, Symbol("ETH", "USDT"), Symbol("ETH", "BTC")}
    btc = infos[BTC]
    assert (btc.venue_symbol, btc.tick_size, btc.step_size, btc.min_qty) == (
        "BTC-USDT", Decimal("0.1"), Decimal("0.00000001"), Decimal("0.00001"))
    assert btc.status is SymbolStatus.TRADING and btc.min_notional == 0
    (docs,) = codec.decode_symbols(body(samples_dir, "rest_instruments_spot_docs.json"))
    assert docs.symbol == BTC and docs.max_qty == Decimal("9999999999")
    snap = codec.decode_snapshot(body(samples_dir, "rest_order_book_docs.json"), BTC, 5)
    assert snap.update_id == 3235851742 and snap.bids[0].price == 41006.3 and snap.asks[0].size == 0.60038921
    assert snap.ts_event == 1629966436396 * 10**6 and snap.ts_recv == 5
    ticker = codec.decode_ticker(body(samples_dir, "rest_ticker_docs.json"), BTC)
    assert (ticker.last, ticker.bid, ticker.ask, ticker.volume_base) == (9999.99, 8888.88, 9999.99, 2222.0)
    trades = codec.decode_trades(body(samples_dir, "rest_trades_docs.json"), BTC, 1)
    assert [t.trade_id for t in trades] == ["242720720", "242720719"]
    assert trades[0].side is Side.SELL and trades[0].price == 29963.2 and trades[0].size == 0.00001
    candles = json.dumps({"code": "0", "msg": "", "data": [
        ["1700000060000", "2", "3", "1", "2.5", "10", "25", "25", "0"],
        ["1700000000000", "1", "2", "0.5", "2", "8", "16", "16", "1"]]}).encode()
    klines = codec.decode_klines(candles, BTC, KlineInterval.M1)
    assert [k.open_time for k in klines] == [1700000000000 * 10**6, 1700000060000 * 10**6]  # oldest first
    assert klines[0].closed and not klines[1].closed and klines[1].close == 2.5
    assert codec.decode_time(b'{"code":"0","msg":"","data":[{"ts":"1597026383085"}]}') == 1597026383085


def test_order_and_account_samples(samples_dir: Path) -> None:
    (filled,) = orders.decode_orders(body(samples_dir, "rest_order_details_docs.json"))
    order = orders.to_order(filled, BTC, "mine")
    # a market buy sized in quote (tgtCcy quote_ccy): the filled base quantity stands in
    assert order.type is OrderType.MARKET and order.status is OrderStatus.FILLED
    assert order.quantity == order.filled_qty == Decimal("0.00192834")
    assert order.fee == Decimal("0.00000192834") and order.fee_asset == "BTC"  # OKX's negative = paid
    assert order.client_order_id == "mine" and order.order_id == "680800019749904384"
    (pending,) = orders.decode_orders(body(samples_dir, "rest_orders_pending_docs.json"))
    live = orders.to_order(pending)
    assert live.type is OrderType.LIMIT_MAKER and live.status is OrderStatus.NEW
    assert live.price == Decimal("13013.5") and live.quantity == Decimal("0.001") and live.symbol == BTC
    (row,) = orders.decode_fills(body(samples_dir, "rest_fills_docs.json"))
    fill = orders.to_fill(row, BTC, 9)
    assert (fill.trade_id, fill.side, fill.price, fill.quantity) == (
        "744876980", Side.BUY, Decimal("51858"), Decimal("0.00192834"))
    assert fill.fee == Decimal("0.00000192834") and not fill.is_maker
    assert fill.ts_event == 1708587373361 * 10**6
    balances = orders.decode_balances(body(samples_dir, "rest_balance_docs.json"))
    usdt = balances["USDT"]
    assert usdt.free == Decimal("4834.317093622894") and usdt.locked == Decimal("158.573")
    fee = orders.decode_fee(body(samples_dir, "rest_fee_rates_docs.json"), BTC)
    assert (fee.maker, fee.taker) == (0.0008, 0.001)  # negative on the wire = commission we pay
    for name, cid, oid in [("rest_place_order_response_docs.json", "oktswap6", "312269865356374016"),
                           ("rest_place_order_response_ccxt_recorded.json",
                            "6b9ad766b55dBCDE63969a1144bfb943", "2896576259728695296"),
                           ("rest_cancel_order_response_docs.json", "oktswap6", "12345689"),
                           ("ws_place_order_response_docs.json", None, None)]:
        item = orders.decode_ack(body(samples_dir, name))
        assert cid is None or (item.clOrdId, item.ordId) == (cid, oid)
        assert item.sCode in ("0", 0)


def test_ioc_remainder_is_expired_and_user_cancel_is_canceled() -> None:
    base = {"instId": "BTC-USDT", "ordId": "1", "side": "buy", "sz": "1", "px": "10", "accFillSz": "0.4",
            "avgPx": "10"}
    ioc = orders.OrderMsg(**base, ordType="ioc", state="canceled", cancelSource="14")  # type: ignore[arg-type]
    assert orders.order_status(ioc) is OrderStatus.EXPIRED
    assert orders.to_order(ioc).time_in_force is TimeInForce.IOC
    user = orders.OrderMsg(**base, ordType="limit", state="canceled", cancelSource="1")  # type: ignore[arg-type]
    assert orders.order_status(user) is OrderStatus.CANCELED
    bare = orders.OrderMsg(**base, ordType="ioc", state="canceled")  # type: ignore[arg-type]
    assert orders.order_status(bare) is OrderStatus.EXPIRED


def test_ws_push_samples(samples_dir: Path) -> None:
    env = codec.decode_ws(body(samples_dir, "ws_trades_push_recorded.json"))
    (trade,) = codec.decode_trade_push(env.data, BTC, 3)
    assert (trade.trade_id, trade.price, trade.size, trade.side) == ("338476307", 30236.0, 0.0002, Side.BUY)
    env = codec.decode_ws(body(samples_dir, "ws_account_push_docs.json"))
    (usdt,) = orders.decode_account_push(env.data)
    assert usdt.asset == "USDT" and usdt.free == Decimal("4734.371190691436")
    assert usdt.locked == Decimal("158.57998")
    env = codec.decode_ws(body(samples_dir, "ws_orders_push_docs.json"))
    ((order, fill),) = push_orders(env.data, 7, codec.parse_inst, lambda wire: wire)
    assert order.status is OrderStatus.FILLED and order.side is Side.SELL
    assert order.fee == Decimal("0.02522168")
    assert fill is not None and fill.is_maker and fill.trade_id == "242589207" and fill.ts_recv == 7
    assert fill.fee == Decimal("0.02522168") and fill.fee_asset == "USDT"
    env = codec.decode_ws(body(samples_dir, "ws_orders_push_ioc_partial_nautilus.json"))
    ((order, fill),) = push_orders(env.data, 0, codec.parse_inst, lambda wire: f"caller:{wire}")
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.time_in_force is TimeInForce.IOC
    assert order.client_order_id == "caller:IOC-TEST-001" and fill is not None
    assert fill.fee == Decimal("0.1002")  # no fillFee in that fixture: its first fill takes the order's fee
    states, fills = [], []
    for frame in frames(samples_dir, "ws_orders_push_market_sell_lifecycle_recorded.json"):
        for order, fill in push_orders(codec.decode_ws(frame).data, 0, codec.parse_inst, lambda wire: wire):
            states.append(order.status)
            fills += [fill] if fill is not None else []
    assert states == [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED]
    assert [f.trade_id for f in fills] == ["435550732"] and fills[0].quantity == Decimal("0.00038128")
    # the VIP-only fills channel (a SWAP example) decodes as a fill row too
    env = codec.decode_ws(body(samples_dir, "ws_fills_push_docs.json"))
    (row,) = orders._FILLS.decode(env.data)
    assert orders.to_fill(row, BTC, 0).client_order_id == "1234567890"


def test_every_ws_sample_has_a_readable_envelope(samples_dir: Path) -> None:
    seen = 0
    for path in sorted((samples_dir / "okx").glob("ws_*.json")):
        data = json.loads(path.read_bytes())
        for frame in data if isinstance(data, list) else [data]:
            msg = codec.decode_ws(json.dumps(frame))
            assert msg.event or msg.arg is not None or "op" in frame
            seen += 1
    assert seen >= 30
    notice = codec.decode_ws(body(samples_dir, "ws_notice_64008_docs.json"))
    assert notice.event == "notice" and codec.ws_code(notice) == c.NOTICE_UPGRADE
    assert codec.decode_ws(body(samples_dir, "ws_channel_conn_count_error_docs.json")).channel == "orders"


def test_books_push_samples_and_malformed_levels(samples_dir: Path) -> None:
    for name in ("ws_books5_push_docs.json", "ws_bbo_tbt_push_docs.json"):
        (item,) = codec.decode_books(codec.decode_ws(body(samples_dir, name)).data)
        assert item.seqId == 363996337 and item.bids[0][0] == "111.05"
    with pytest.raises(DecodeError):
        codec.decode_books(b'[{"asks": [["1"]], "bids": [], "ts": "1"}]')
    with pytest.raises(DecodeError):
        codec.decode_books(b'[{"asks": [[1, 2]], "bids": [], "ts": "1"}]')  # numbers, not strings


def test_bad_values_are_decode_errors() -> None:
    with pytest.raises(DecodeError):
        codec.decode_time(b'{"code":"0","data":[]}')
    with pytest.raises(DecodeError):
        codec.decode_trades(b'{"code":"0","data":[{"tradeId":"1","px":"x","sz":"1","side":"buy","ts":"1"}]}',
                            BTC, 0)
    with pytest.raises(DecodeError):
        orders.decode_balances(b'{"code":"0","data":[{"details":[{"ccy":"BTC","availBal":"NaN"}]}]}')
    with pytest.raises(DecodeError):
        codec.check(b'{"code":"zero"}', "x")
    assert codec.parse_inst("ETH-BTC") == Symbol("ETH", "BTC")
    with pytest.raises(ValueError):
        codec.parse_inst("BTC-USDT-SWAP")
