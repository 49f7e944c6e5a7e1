"""Bybit v5 wire basics of the simulator: the REST envelope, error codes, ids and number formats.

Written from the fact sheet (``exchange-protocols-okx-bybit.md`` §2.1, §2.7), independently of the
client. Every REST answer is ``{"retCode", "retMsg", "result", "retExtInfo": {}, "time"}``; business
errors come back with HTTP 200 and a non-zero ``retCode`` (``result`` is ``{}``). Symbols are
``BASEQUOTE`` (``BTCUSDT``); prices and sizes are decimal strings; order ids are ~19-digit numeric
strings (kept as strings by clients), as are execution (trade) ids.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from aiohttp import web

from arb.model import Side, Symbol
from arb.sim.matching import RejectKind

NAME: Final = "bybit"
CATEGORY: Final = "spot"
# Numeric ids in the venue's range: the matching engine's small ids are printed offset by these
ORDER_ID_BASE: Final = 1_552_132_392_821_724_600
EXEC_ID_BASE: Final = 2_100_000_000_047_469_100
PUBLIC_EXEC_ID_BASE: Final = 2_290_000_000_061_666_300
TAKER_FEE: Final = Decimal("0.001")  # the standard spot rate (0.1 %), positive = charged
MAKER_FEE: Final = Decimal("0.001")
SIDES: Final = MappingProxyType({Side.BUY: "Buy", Side.SELL: "Sell"})
WIRE_SIDES: Final = MappingProxyType({"Buy": Side.BUY, "Sell": Side.SELL})


class Code(enum.IntEnum):
    """The ``retCode`` values the simulator answers with (fact sheet §2.7)."""

    OK = 0
    PARAMS = 10001
    TIMESTAMP = 10002
    API_KEY = 10003
    SIGN = 10004
    TOO_MANY_VISITS = 10006
    SERVER_ERROR = 10016
    DUPLICATE_LINK_ID = 110072
    INVALID_TIF = 170115
    INVALID_ORDER_TYPE = 170116
    INVALID_SIDE = 170117
    INVALID_SYMBOL = 170121
    INVALID_VALUE = 170130
    INSUFFICIENT_BALANCE = 170131
    PRICE_DECIMALS = 170134
    QTY_TOO_SMALL = 170136
    QTY_DECIMALS = 170137
    ORDER_VALUE_TOO_SMALL = 170140
    MARKET_AMOUNT_DECIMALS = 170148
    ORDER_NOT_EXIST = 170213


MESSAGES: Final[Mapping[Code, str]] = MappingProxyType({
    Code.OK: "OK",
    Code.PARAMS: "params error",
    Code.TIMESTAMP: "The request time exceeds the time window range.",
    Code.API_KEY: "API key is invalid.",
    Code.SIGN: "error sign!",
    Code.TOO_MANY_VISITS: "Too many visits!",
    Code.SERVER_ERROR: "Server error.",
    Code.DUPLICATE_LINK_ID: "OrderLinkedID is duplicate",
    Code.INVALID_TIF: "Invalid time in force.",
    Code.INVALID_ORDER_TYPE: "Invalid order type.",
    Code.INVALID_SIDE: "Invalid side.",
    Code.INVALID_SYMBOL: "Invalid symbol.",
    Code.INVALID_VALUE: "Data sent for paramter '%s' is not valid.",
    Code.INSUFFICIENT_BALANCE: "Insufficient balance.",
    Code.PRICE_DECIMALS: "Order price decimal too long.",
    Code.QTY_TOO_SMALL: "Order quantity lower than the minimum.",
    Code.QTY_DECIMALS: "Order quantity has too many decimals.",
    Code.ORDER_VALUE_TOO_SMALL: "Order value exceeded lower limit.",
    Code.MARKET_AMOUNT_DECIMALS: "Market order amount decimal too long.",
    Code.ORDER_NOT_EXIST: "Order does not exist.",
})
REJECT_CODES: Final[Mapping[RejectKind, Code]] = MappingProxyType({
    RejectKind.UNKNOWN_SYMBOL: Code.INVALID_SYMBOL,
    RejectKind.SYMBOL_HALTED: Code.INVALID_SYMBOL,  # a halted pair is not listed as Trading
    RejectKind.BAD_TICK: Code.PRICE_DECIMALS,
    RejectKind.BAD_STEP: Code.QTY_DECIMALS,
    RejectKind.BELOW_MIN_QTY: Code.QTY_TOO_SMALL,
    RejectKind.BELOW_MIN_NOTIONAL: Code.ORDER_VALUE_TOO_SMALL,
    RejectKind.INSUFFICIENT_BALANCE: Code.INSUFFICIENT_BALANCE,
    RejectKind.DUPLICATE_CLIENT_ID: Code.DUPLICATE_LINK_ID,
    RejectKind.UNKNOWN_ORDER: Code.ORDER_NOT_EXIST,
})


class BybitError(Exception):
    """A non-zero ``retCode`` answer (raised inside a handler), with its HTTP status."""

    def __init__(self, code: Code, message: str | None = None, status: int = 200) -> None:
        self.code = code
        self.message = message if message is not None else MESSAGES[code]
        self.status = status
        super().__init__(f"{int(code)} {self.message}")


def envelope(result: object, now_ms: int, code: Code = Code.OK,
             message: str | None = None) -> dict[str, object]:
    return {"retCode": int(code), "retMsg": message if message is not None else MESSAGES[code],
            "result": result, "retExtInfo": {}, "time": now_ms}


def ok(result: object, clock_ms: Callable[[], int]) -> web.Response:
    return web.json_response(envelope(result, clock_ms()))


def error_response(err: BybitError, clock_ms: Callable[[], int]) -> web.Response:
    return web.json_response(envelope({}, clock_ms(), err.code, err.message), status=err.status)


Handler = Callable[[web.Request], Awaitable[web.Response]]


def guarded(handler: Handler, clock_ms: Callable[[], int]) -> Handler:
    """`handler` with a raised `BybitError` turned into its envelope."""

    async def run(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except BybitError as err:
            return error_response(err, clock_ms)

    return run


def symbol_id(symbol: Symbol) -> str:
    return f"{symbol.base}{symbol.quote}"


def num(value: Decimal) -> str:
    """A plain decimal without exponent or trailing zeros: ``0.001``, ``65000``."""
    return format(value.normalize(), "f") if value else "0"


def fixed(value: Decimal, step: Decimal) -> str:
    """`value` printed with the decimals of `step` (``0.10`` on a ``0.01`` grid), as Bybit prints sizes."""
    return format(value.quantize(step.normalize()) if step else value, "f")


def order_id(sim_id: int) -> str:
    return str(ORDER_ID_BASE + sim_id)


def sim_order_id(wire: str) -> int | None:
    """The matching engine's id behind a wire ``orderId``, or None when it is not one of ours."""
    if not wire.isdigit():
        return None
    value = int(wire) - ORDER_ID_BASE
    return value if value > 0 else None


def exec_id(trade_id: int) -> str:
    return str(EXEC_ID_BASE + trade_id)
