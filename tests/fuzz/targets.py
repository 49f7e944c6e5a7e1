"""The decoders the fuzz drives, each as its callers use it, keyed ``<venue>.<what>``.

Every registry venue has entries here, and every ``decode_*`` function of its ``codec`` and
``orders`` modules is reached by one of them (`covered`, checked per venue by
``test_every_decoder_of_a_venue_is_fuzzed``): a venue added to the registry without fuzz entries
fails that test by name.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import FunctionType
from typing import Any

from arb.model import KlineInterval, Symbol
from arb.venues import apiv3
from arb.venues.binance import codec as bn
from arb.venues.binance import constants as bn_constants
from arb.venues.binance import orders as bn_orders
from arb.venues.bybit import codec as bb
from arb.venues.bybit import orders as bb_orders
from arb.venues.gateio import codec as gt
from arb.venues.gateio import orders as gt_orders
from arb.venues.mexc import codec as mx
from arb.venues.mexc import constants as mx_constants
from arb.venues.mexc import orders as mx_orders
from arb.venues.okx import codec as ok
from arb.venues.okx import orders as ok_orders
from arb.venues.okx import stream as ok_stream
from arb.venues.okx import user as ok_user

BTC = Symbol("BTC", "USDT")
TRADED = ("BTCUSDT", "BTC_USDT", "BTC-USDT", "MXUSDT", "BTCUSDC")


def symbol_of(name: str) -> Symbol:
    if name not in TRADED:
        raise KeyError(name)  # as the streams' lookups do for a symbol they do not trade
    return BTC


def _mexc_frame(decode: Callable[..., Any]) -> Callable[[bytes], Any]:
    return lambda b: decode(mx.decode_push(b), symbol_of, 0)


def _okx_books(b: bytes) -> list[Any]:
    """A ``books`` push's data to the level lists the stream hands on (`OkxStream._on_books`, a book
    whose pushes carry checksums)."""
    return [ok_stream._levels(item) for item in ok.decode_books(b)]


def _okx_book_numbers(b: bytes) -> list[Any]:
    """A ``books`` push's data decoded as numbers, to the buffers the stream hands on (checksum 0)."""
    return [ok.book_buffers(item) for item in ok.decode_book_numbers(b)]


TARGETS: dict[str, Callable[[bytes], Any]] = {
    # Binance REST
    "binance.snapshot": lambda b: bn.decode_snapshot(b, BTC, 0),
    "binance.time": bn.decode_time,
    "binance.symbols": bn.decode_symbols,
    "binance.trades": lambda b: bn.decode_trades(b, BTC, 0),
    "binance.ticker": lambda b: bn.decode_ticker(b, BTC),
    "binance.tickers": bn.decode_tickers,
    "binance.klines": lambda b: bn.decode_klines(b, BTC, KlineInterval.M1),
    "binance.order": lambda b: bn_orders.to_order(bn_orders.decode_order(b), BTC),
    "binance.order_fills": lambda b: bn_orders.to_fills(bn_orders.decode_order(b), BTC, 0),
    "binance.orders": lambda b: [bn_orders.to_order(m, BTC) for m in bn_orders.decode_orders(b)],
    "binance.account": bn_orders.decode_account,
    "binance.my_trades": lambda b: bn_orders.decode_my_trades(b, BTC, 0),
    "binance.commission": lambda b: bn_orders.decode_commission(b, BTC),
    "binance.coins": lambda b: apiv3.decode_coins(b, "binance", bn_constants.SPELLING),
    # Binance streams
    "binance.stream": bn.decode_stream,
    "binance.control": bn.decode_control,
    "binance.depth": lambda b: bn.decode_depth(b, BTC, 0),
    "binance.trade_event": lambda b: bn.decode_trade_event(b, BTC, 0),
    "binance.user_event": bn_orders.decode_user_event,
    "binance.execution": lambda b: bn_orders.decode_execution(b, symbol_of, 0),
    "binance.account_position": bn_orders.decode_account_position,
    "binance.ws_api_response": bn_orders.decode_ws_api_response,
    "binance.subscribed": lambda b: bn_orders.decode_subscribed(b),  # type: ignore[arg-type]
    # Gate REST
    "gateio.snapshot": lambda b: gt.decode_snapshot(b, BTC, 0),
    "gateio.time": gt.decode_time,
    "gateio.symbols": gt.decode_symbols,
    "gateio.currencies": gt.decode_currencies,
    "gateio.trades": lambda b: gt.decode_trades(b, BTC, 0),
    "gateio.ticker": lambda b: gt.decode_ticker(b, BTC),
    "gateio.tickers": gt.decode_tickers,
    "gateio.klines": lambda b: gt.decode_klines(b, BTC, KlineInterval.M1),
    "gateio.order": lambda b: gt_orders.to_order(gt_orders.decode_order(b), BTC, "cid"),
    "gateio.orders": lambda b: [gt_orders.to_order(m, BTC) for m in gt_orders.decode_orders(b)],
    "gateio.open_orders": gt_orders.decode_open_orders,
    "gateio.accounts": gt_orders.decode_accounts,
    "gateio.my_trades": lambda b: [gt_orders.to_fill(m, BTC, 0) for m in gt_orders.decode_my_trades(b)],
    "gateio.fee": lambda b: gt_orders.decode_fee(b, BTC),
    "gateio.error": lambda b: gt.decode_error(400, b),
    # Gate streams
    "gateio.ws": gt.decode_ws,
    "gateio.depth": lambda b: gt.decode_depth(b, BTC, 0),
    "gateio.depth_routed": lambda b: gt.decode_depth_routed(b, {"BTC_USDT": BTC}, 0),
    "gateio.trade_routed": lambda b: gt.decode_trade_routed(b, {"BTC_USDT": BTC}, 0),
    "gateio.ws_orders": lambda b: gt_orders.decode_ws_orders(b, symbol_of),
    "gateio.user_trades": lambda b: gt_orders.decode_user_trades(b, symbol_of, 0),
    "gateio.ws_balances": gt_orders.decode_ws_balances,
    "gateio.ws_error": gt_orders.decode_ws_error,
    # MEXC REST
    "mexc.snapshot": lambda b: mx.decode_snapshot(b, BTC, 0),
    "mexc.time": mx.decode_time,
    "mexc.symbols": mx.decode_symbols,
    "mexc.trades": lambda b: mx.decode_trades(b, BTC, 0),
    "mexc.ticker": lambda b: mx.decode_ticker(b, BTC),
    "mexc.tickers": mx.decode_tickers,
    "mexc.klines": lambda b: mx.decode_klines(b, BTC, KlineInterval.M1),
    "mexc.ack": mx_orders.decode_ack,
    "mexc.order": lambda b: mx_orders.to_order(mx_orders.decode_order(b), BTC, "cid"),
    "mexc.orders": lambda b: [mx_orders.to_order(m, BTC) for m in mx_orders.decode_orders(b)],
    "mexc.account": mx_orders.decode_account,
    "mexc.my_trades": lambda b: mx_orders.decode_my_trades(b, BTC, 0),
    "mexc.trade_fee": lambda b: mx_orders.decode_trade_fee(b, BTC),
    "mexc.listen_key": mx_orders.decode_listen_key,
    "mexc.coins": lambda b: apiv3.decode_coins(b, "mexc", mx_constants.SPELLING),
    # MEXC streams (protobuf)
    "mexc.push": mx.decode_push,
    "mexc.depth": lambda b: mx.decode_depth(mx.decode_push(b), BTC, 0),
    "mexc.depth_frame": lambda b: mx.decode_depth_frame(b, BTC, 0),
    "mexc.depth_frame_limit": lambda b: mx.decode_depth_frame(b, BTC, 0, limit=True),
    "mexc.depth_frame_routed": lambda b: mx.decode_depth_frame_routed(b, ROUTES, 0),
    "mexc.frame_channel": mx.frame_channel,
    "mexc.deals": lambda b: mx.decode_deals(mx.decode_push(b), BTC, 0),
    "mexc.deals_frame": lambda b: mx.decode_deals_frame(b, DEAL_ROUTES, 0),
    "mexc.market_frame": lambda b: mx.decode_market_frame(b, ROUTES, DEAL_ROUTES, 0),
    "mexc.private_order": _mexc_frame(mx_orders.decode_private_order),
    "mexc.private_deal": _mexc_frame(mx_orders.decode_private_deal),
    "mexc.private_account": lambda b: mx_orders.decode_private_account(mx.decode_push(b)),
    # OKX REST (the envelope's code, then the data)
    "okx.error": lambda b: ok.decode_error(400, b),
    "okx.time": ok.decode_time,
    "okx.symbols": ok.decode_symbols,
    "okx.snapshot": lambda b: ok.decode_snapshot(b, BTC, 0),
    "okx.ticker": lambda b: ok.decode_ticker(b, BTC),
    "okx.tickers": ok.decode_tickers,
    "okx.trades": lambda b: ok.decode_trades(b, BTC, 0),
    "okx.klines": lambda b: ok.decode_klines(b, BTC, KlineInterval.M1),
    "okx.ack": lambda b: ok_orders.decode_ack(b, "cid"),
    "okx.orders": lambda b: [ok_orders.to_order(m) for m in ok_orders.decode_orders(b)],
    "okx.order": lambda b: [ok_orders.to_order(m, BTC, "cid") for m in ok_orders.decode_orders(b)],
    "okx.fills": lambda b: [ok_orders.to_fill(m, None, 0) for m in ok_orders.decode_fills(b)],
    "okx.balances": ok_orders.decode_balances,
    "okx.fee": lambda b: ok_orders.decode_fee(b, BTC),
    "okx.currencies": ok_orders.decode_currencies,
    # OKX WebSocket (the envelope, then a push's data by channel)
    "okx.ws": ok.decode_ws,
    "okx.books": _okx_books,
    "okx.book_numbers": _okx_book_numbers,
    "okx.trade_push": lambda b: ok.decode_trade_push(b, BTC, 0),
    "okx.order_push": lambda b: [ok_orders.to_order(m) for m in ok_orders.decode_order_push(b)],
    "okx.push_orders": lambda b: ok_user.push_orders(b, 0, ok.parse_inst, lambda cid: cid),
    "okx.account_push": ok_orders.decode_account_push,
    # Bybit REST (the envelope, then its result)
    "bybit.envelope": bb.decode_envelope,
    "bybit.error": lambda b: bb.decode_error(400, b),
    "bybit.time": bb.decode_time,
    "bybit.symbols": bb.decode_symbols,
    "bybit.snapshot": lambda b: bb.decode_snapshot(b, BTC, 0),
    "bybit.trades": lambda b: bb.decode_trades(b, BTC, 0),
    "bybit.ticker": lambda b: bb.decode_ticker(b, BTC, 0),
    "bybit.tickers": bb.decode_tickers,
    "bybit.klines": lambda b: bb.decode_klines(b, BTC, KlineInterval.M1, 0),
    "bybit.ack": bb_orders.decode_ack,
    "bybit.orders": lambda b: [bb_orders.to_order(m, BTC) for m in bb_orders.decode_orders(b).items],
    "bybit.executions": lambda b: bb_orders.decode_executions(b, BTC, 0),
    "bybit.wallet": bb_orders.decode_wallet,
    "bybit.fee_rate": lambda b: bb_orders.decode_fee_rate(b, BTC),
    "bybit.coins": bb_orders.decode_coins,
    # Bybit WebSocket
    "bybit.ws": bb.decode_ws,
    "bybit.depth_delta": lambda b: bb.decode_depth(b, BTC, "delta", 0, 0),
    "bybit.depth_snapshot": lambda b: bb.decode_depth(b, BTC, "snapshot", 0, 0),
    "bybit.public_trades": lambda b: bb.decode_public_trades(b, BTC, 0),
    "bybit.ws_orders": lambda b: bb_orders.decode_ws_orders(b, symbol_of),
    "bybit.ws_executions": lambda b: bb_orders.decode_ws_executions(b, symbol_of, 0),
    "bybit.ws_wallet": bb_orders.decode_ws_wallet,
}
ROUTES: Mapping[str, Symbol] = {"spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT": BTC}
DEAL_ROUTES: Mapping[str, Symbol] = {"spot@public.aggre.deals.v3.api.pb@100ms@BTCUSDT": BTC}
PROTOBUF = frozenset(k for k in TARGETS if k.startswith("mexc.") and k.split(".", 1)[1] in {
    "push", "depth", "depth_frame", "depth_frame_limit", "depth_frame_routed", "frame_channel", "deals",
    "deals_frame", "market_frame", "private_order", "private_deal", "private_account"})


# decoders that read a REST envelope's own error code (OKX answers business errors with HTTP 200): a
# well-formed envelope with a non-zero code is the venue's answer, an `ExchangeError` carrying it
ENVELOPE_ERRORS = frozenset({"okx.time", "okx.symbols", "okx.snapshot", "okx.ticker", "okx.tickers",
                             "okx.trades", "okx.klines", "okx.ack", "okx.orders", "okx.order", "okx.fills",
                             "okx.balances", "okx.fee", "okx.currencies"})


def _names(fn: Any) -> set[str]:
    """Function names a target calls: its own, its code's global names, and closed-over functions."""
    names = {getattr(fn, "__name__", "")}
    if isinstance(fn, FunctionType):
        names.update(fn.__code__.co_names)
        for cell in fn.__closure__ or ():
            names |= _names(cell.cell_contents) if callable(cell.cell_contents) else set()
        for const in fn.__code__.co_consts:  # comprehensions inside a lambda
            if inspect.iscode(const):
                names.update(const.co_names)
    return names


def decoders(venue: str) -> set[str]:
    """The ``decode_*`` functions of `venue`'s codec and orders modules."""
    out = set()
    for part in ("codec", "orders"):
        module = importlib.import_module(f"arb.venues.{venue}.{part}")
        out |= {name for name, fn in vars(module).items() if name.startswith("decode_") and callable(fn)
                and getattr(fn, "__module__", "") == module.__name__}
    return out


def covered(venue: str, targets: Iterable[str] = TARGETS) -> set[str]:
    """Names reached by `venue`'s targets (and, through its helpers, the functions they call)."""
    names: set[str] = set()
    for key in targets:
        if key.split(".", 1)[0] == venue:
            names |= _names(TARGETS[key])
    return names
