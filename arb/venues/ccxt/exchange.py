"""Building ccxt clients for arb: which exchanges qualify, their facts, and one configured instance.

ccxt (and its WebSocket half, ``ccxt.pro``, in the same package) is imported lazily: a process that
drives no ccxt venue never pays its import (about a second). Every instance arb builds is spot only,
skips the currency list when loading markets (one heavy, often signed, request less at start-up;
the transfer status asks for it on its own: `transfer_source`), never reads proxies from the
environment, and has the config's URL overrides applied to every entry of its ``urls['api']``
tree: http(s) entries move to ``rest_url``'s host, ws(s) entries to ``ws_url``'s, each keeping its
own path (so one override points a whole client at a simulator).
ccxt's logger is kept at INFO or above: its DEBUG lines print request headers, API keys included.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import re
import time
from collections.abc import Iterator, Mapping
from types import MappingProxyType, ModuleType
from typing import Any, Final, NamedTuple
from urllib.parse import urlsplit

from arb.config import RequestConfig, VenueConfig
from arb.credentials import Credentials
from arb.errors import ArbError
from arb.venues.base import TransferSource
from arb.venues.spec import ID_ALPHABET, ClientIdRule

# what an exchange must offer to be driven at all (ccxt `has` keys)
REQUIRED: Final = ("fetchOrderBook", "createOrder", "cancelOrder", "fetchBalance")
# ccxt credential names -> the `Credentials` fields arb reads from ARB_<VENUE>_API_<FIELD>
CREDENTIAL_MAP: Final[Mapping[str, str]] = MappingProxyType(
    {"apiKey": "api_key", "secret": "api_secret", "password": "passphrase"})
DEFAULT_CLIENT_ID: Final = ClientIdRule(max_length=32, alphabet=ID_ALPHABET.replace("-", "").replace("_", ""))
# client-id rules of the exchanges whose rule is known (the conservative default elsewhere: 32
# letters and digits, which every exchange we know of accepts)
CLIENT_IDS: Final[Mapping[str, ClientIdRule]] = MappingProxyType({
    "binance": ClientIdRule(max_length=36, alphabet=ID_ALPHABET + "."),
    "gate": ClientIdRule(prefix="t-", max_length=30, alphabet=ID_ALPHABET + "."),
    "gateio": ClientIdRule(prefix="t-", max_length=30, alphabet=ID_ALPHABET + "."),
    "mexc": ClientIdRule(max_length=32, alphabet=ID_ALPHABET),
    "kucoin": ClientIdRule(max_length=40, alphabet=ID_ALPHABET),
})
# exchanges whose ``fetch_markets`` loads every market type whatever ``options['fetchMarkets']`` says,
# and that have a spot-only call: arb asks that one instead (MEXC's contract list alone costs 100
# units of ccxt's rate budget, five seconds of pacing before the client's next request)
SPOT_MARKETS_CALL: Final = frozenset({"mexc", "poloniex", "xt"})
# ccxt classes whose ``fetch_currencies`` (deposit / withdraw per currency and network) reads a
# signed endpoint, answering {} without keys (Binance ``sapi/v1/capital/config/getall``, MEXC
# ``capital/config/getall``, OKX ``asset/currencies``, Bybit ``asset/coin/query-info``...): keyed by
# the class that defines the method, so ccxt's subclasses (binanceus...) follow their parent
SIGNED_CURRENCIES: Final = frozenset({"binance", "bingx", "blofin", "bybit", "coinsph", "cryptocom", "luno",
                                      "mexc", "okx"})
SIGNATURE: Final = re.compile(r"(signature|sign|apiKey|api_key)=[^&\s]+", re.I)


class NoSuchExchangeError(ArbError):
    """ccxt knows no exchange of that id."""


class NotDrivableError(NoSuchExchangeError):
    """The ccxt exchange exists but lacks what arb needs (spot markets, a book, order creation)."""


class Capabilities(NamedTuple):
    """What one ccxt exchange offers arb (from its `has` table and its pro class)."""

    exchange: str
    name: str
    spot: bool
    required: bool  # order book, create/cancel order, balances
    watch_book: bool
    watch_orders: bool
    watch_trades: bool
    watch_balance: bool
    server_time: bool
    client_id_query: bool  # fetchOrder exists (queried by client id or by the id it answered)
    credentials: tuple[str, ...]
    unsupported_credentials: tuple[str, ...]  # required by ccxt, not carried by arb (uid, wallet...)

    @property
    def drivable(self) -> bool:
        return self.spot and self.required and not self.unsupported_credentials


def _ccxt_pro() -> ModuleType:
    return importlib.import_module("ccxt.pro")


def exchange_ids() -> tuple[str, ...]:
    """Every exchange id ccxt knows (REST and WebSocket classes)."""
    ccxt = importlib.import_module("ccxt")
    return tuple(sorted(set(ccxt.exchanges)))


def exchange_class(exchange: str) -> type[Any]:
    """The ccxt.pro class of `exchange` (WebSocket-capable), else its async REST class."""
    pro = _ccxt_pro()
    cls = getattr(pro, exchange, None)
    if isinstance(cls, type):
        return cls
    rest = importlib.import_module("ccxt.async_support")
    cls = getattr(rest, exchange, None) if exchange in exchange_ids() else None
    if not isinstance(cls, type):
        raise NoSuchExchangeError(f"ccxt has no exchange {exchange!r} (`arb-engine venues` lists them)")
    return cls


def capabilities(exchange: str) -> Capabilities:
    cls = exchange_class(exchange)
    has: Mapping[str, Any] = getattr(cls, "has", {}) or {}
    instance_has = _describe(cls)
    has = {**has, **instance_has.get("has", {})}
    needed = {k for k, v in (instance_has.get("requiredCredentials") or {}).items() if v}
    carried = tuple(CREDENTIAL_MAP[k] for k in CREDENTIAL_MAP if k in needed)
    return Capabilities(
        exchange=exchange, name=str(instance_has.get("name") or exchange), spot=bool(has.get("spot")),
        required=all(has.get(k) for k in REQUIRED), watch_book=bool(has.get("watchOrderBook")),
        watch_orders=bool(has.get("watchOrders")), watch_trades=bool(has.get("watchMyTrades")),
        watch_balance=bool(has.get("watchBalance")), server_time=bool(has.get("fetchTime")),
        client_id_query=bool(has.get("fetchOrder")),
        credentials=carried or ("api_key", "api_secret"),
        unsupported_credentials=tuple(sorted(needed - set(CREDENTIAL_MAP))))


def _describe(cls: type[Any]) -> dict[str, Any]:
    """The merged `describe()` of a ccxt class (its `has` and credential table live there); an
    instance is made for it (no connection is opened until a request is sent)."""
    described: dict[str, Any] = cls().describe()
    return described


def require_drivable(exchange: str) -> Capabilities:
    """The capabilities of `exchange`; `NoSuchExchangeError` naming what is missing otherwise."""
    caps = capabilities(exchange)
    if not caps.spot:
        raise NotDrivableError(f"ccxt exchange {exchange!r} has no spot markets")
    if not caps.required:
        missing = [k for k in REQUIRED if k not in _present(exchange)]
        raise NotDrivableError(f"ccxt exchange {exchange!r} lacks {', '.join(missing)}")
    if caps.unsupported_credentials:
        raise NotDrivableError(f"ccxt exchange {exchange!r} needs credentials arb does not carry: "
                               f"{', '.join(caps.unsupported_credentials)}")
    return caps


def _present(exchange: str) -> set[str]:
    cls = exchange_class(exchange)
    return {k for k, v in (_describe(cls).get("has") or {}).items() if v}


def api_urls(exchange: str) -> list[str]:
    """Every URL of ccxt's ``urls['api']`` tree for `exchange`, its ``{hostname}`` placeholder filled
    with the class's hostname (OKX: ``https://{hostname}``, Bybit: ``https://api.{hostname}``)."""
    def flat(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [u for value in node.values() for u in flat(value)]
        return [node] if isinstance(node, str) else []

    described = _describe(exchange_class(exchange))
    hostname = described.get("hostname")
    urls = flat(described.get("urls", {}).get("api"))
    return [url.replace("{hostname}", hostname) for url in urls] if isinstance(hostname, str) else urls


def api_hosts(exchange: str) -> set[str]:
    return {host for url in api_urls(exchange) if (host := urlsplit(url).hostname)}


# ccxt.pro classes whose websocket trades keep the venue's own fee sign where ccxt's unified one is
# positive = paid: okx's `order_to_trade` (its ``watch_my_trades``, built from ``orders`` pushes)
# copies ``fillFee`` as is, and OKX prints a charge negative (its REST `parse_trade` negates it).
# Keyed by the class that defines the method, so myokx / okxus follow okx.
WS_FEE_NEGATED: Final = frozenset({"okx"})


def ws_fee_sign(client: Any) -> int:
    """-1 when `client`'s websocket trades carry the fee with the venue's sign (`WS_FEE_NEGATED`)."""
    method = getattr(type(client), "order_to_trade", None)
    defined_by = method.__qualname__.split(".")[0] if method is not None else ""
    return -1 if defined_by in WS_FEE_NEGATED else 1


def transfer_source(client: Any) -> TransferSource:
    """Where a ccxt client reads transfer status: ``fetch_currencies`` where ccxt implements it
    (``has['fetchCurrencies']`` is True in the class's description, whatever `new_exchange` set on
    the instance; 'emulated' lists carry no transfer flags), signed for `SIGNED_CURRENCIES`."""
    has = client.describe().get("has") or {}
    if has.get("fetchCurrencies") is not True:
        return TransferSource.NONE
    defined_by = type(client).fetch_currencies.__qualname__.split(".")[0]
    return TransferSource.SIGNED if defined_by in SIGNED_CURRENCIES else TransferSource.PUBLIC


def client_id_rule(exchange: str) -> ClientIdRule:
    return CLIENT_IDS.get(exchange, DEFAULT_CLIENT_ID)


def point_at(node: Any, rest: str | None, ws: str | None) -> Any:
    """`node` (a ccxt ``urls['api']`` tree) with http(s) URLs on `rest`'s host and ws(s) URLs on `ws`'s,
    paths and queries kept; a None override leaves those URLs as they are."""
    if isinstance(node, dict):
        return {key: point_at(value, rest, ws) for key, value in node.items()}
    if isinstance(node, str) and "://" in node:
        url = urlsplit(node)
        base = ws if url.scheme in ("ws", "wss") else rest if url.scheme in ("http", "https") else None
        if base is None:
            return node
        target = urlsplit(base)
        return f"{target.scheme}://{target.netloc}{url.path}" + (f"?{url.query}" if url.query else "")
    return node


def _spot_only(options: dict[str, Any]) -> None:
    """Ask the exchange for spot markets only, in whichever shape its ``fetchMarkets`` option has."""
    options["defaultType"] = "spot"
    options["fetchMargins"] = False
    options["warnOnFetchOpenOrdersWithoutSymbol"] = False
    # arb asks about its own orders of the last minutes: ccxt's bybit refuses ``fetch_order`` until told
    # that the venue keeps only the last 500 (``/v5/order/realtime``); enough for that
    fetch_order = options.get("fetchOrder")
    if fetch_order is None or isinstance(fetch_order, dict):
        options["fetchOrder"] = {**(fetch_order or {}), "acknowledged": True}
    current = options.get("fetchMarkets")
    if isinstance(current, dict) and isinstance(current.get("types"), list):
        options["fetchMarkets"] = {**current, "types": ["spot"]}
    elif isinstance(current, dict) and isinstance(current.get("types"), dict):
        options["fetchMarkets"] = {**current, "types": {k: k == "spot" for k in current["types"]}}
    elif isinstance(current, list):
        options["fetchMarkets"] = ["spot"]


def _spot_markets_call(client: Any) -> None:
    """Route ``fetch_markets`` of an exchange in `SPOT_MARKETS_CALL` to its spot-only call (after the
    clock offset its own ``fetch_markets`` would learn first)."""
    if getattr(client, "fetch_spot_markets", None) is None:
        return

    async def fetch_markets(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        if client.safe_bool(client.options, "adjustForTimeDifference", False):
            await client.load_time_difference()
        markets: list[dict[str, Any]] = await client.fetch_spot_markets(params or {})
        return markets

    client.fetch_markets = fetch_markets


def new_exchange(exchange: str, config: VenueConfig, kind: RequestConfig,
                 credentials: Credentials | None = None) -> Any:
    """One configured ccxt client (pro class where there is one) for `exchange`."""
    cls = exchange_class(exchange)
    params: dict[str, Any] = {"enableRateLimit": True, "timeout": int(kind.timeout_s * 1000)}
    if credentials is not None:
        params["apiKey"] = credentials.api_key.reveal()
        params["secret"] = credentials.api_secret.reveal()
        if credentials.passphrase is not None:
            params["password"] = credentials.passphrase.reveal()
    logging.getLogger("ccxt").setLevel(max(logging.INFO, logging.getLogger("ccxt").getEffectiveLevel()))
    client = cls(params)
    _spot_only(client.options)
    if exchange in SPOT_MARKETS_CALL:
        _spot_markets_call(client)
    client.aiohttp_trust_env = False
    client.has["fetchCurrencies"] = False
    if config.rest_url or config.ws_url:
        client.urls["api"] = point_at(client.urls["api"], config.rest_url, config.ws_url)
    client.decode_proto_msg = _decode_proto_msg
    client.throttler = _idle_credit_throttler(client)
    return client


def _idle_credit_throttler(client: Any) -> Any:
    """ccxt's leaky-bucket throttler for `client`, refilled for the time it sat idle too, with a
    lane for orders.

    ccxt's bucket refills only while its loop runs (the loop starts its clock afresh on each new
    request), so what one request costs is paid by the next one however much later it comes: in
    the demo every bridged IOC leg waited ~200 ms for the cost of a balance or trade read made
    seconds before, and the book had moved by the time it went out. Here the bucket is credited
    for the time between the loop's runs, at ccxt's own rate, up to its capacity: the pacing is the
    exchange's, measured on the wall clock.

    Orders (requests made by a task in `first_in_line`) never wait: their cost is charged at once,
    so the reads after them wait longer (arb's own `RateLimiter` keeps a reserve of every pool for
    orders the same way). Without it an IOC leg placed after the engine's start-up reads sat ~110 ms
    behind their debt (Binance: a 10-unit read is half a second of pacing) while the market moved.
    """
    base: type[Any] = importlib.import_module("ccxt.async_support.base.throttler").Throttler

    class IdleCreditThrottler(base):  # type: ignore[misc]
        idle_since_ms: float | None = None

        def __init__(self, config: dict[str, Any], loop: Any = None) -> None:
            super().__init__(config, loop)
            self.first: set[asyncio.Task[Any]] = set()  # tasks whose requests are orders

        def __call__(self, cost: float | None = None) -> asyncio.Future[None]:
            task = asyncio.current_task()
            if task is None or task not in self.first:
                future: asyncio.Future[None] = super().__call__(cost)
                return future
            self.config["tokens"] -= self.config["cost"] if cost is None else cost
            done: asyncio.Future[None] = task.get_loop().create_future()
            done.set_result(None)
            return done

        async def leaky_bucket_loop(self) -> None:
            config = self.config
            if self.idle_since_ms is not None:
                idle = max(time.time() * 1000 - self.idle_since_ms, 0.0)
                config["tokens"] = min(config["tokens"] + idle * config["refillRate"], config["capacity"])
            try:
                await super().leaky_bucket_loop()
            finally:
                self.idle_since_ms = time.time() * 1000

    return IdleCreditThrottler(client.tokenBucket, client.throttler.loop)


@contextlib.contextmanager
def first_in_line(client: Any) -> Iterator[None]:
    """Requests the current task makes on `client` meanwhile are orders: they go out at once, their
    cost charged to the reads after them (a client without the bridge's throttler paces them as
    ccxt does)."""
    lane: set[asyncio.Task[Any]] | None = getattr(getattr(client, "throttler", None), "first", None)
    task = asyncio.current_task()
    if lane is None or task is None:
        yield
        return
    lane.add(task)
    try:
        yield
    finally:
        lane.discard(task)


def _decode_proto_msg(data: bytes) -> dict[str, Any]:
    """MEXC's protobuf pushes, decoded with the schema arb already loaded.

    ccxt ships its own generated copy of MEXC's ``PushDataV3ApiWrapper``; importing it next to
    arb's (the native MEXC connector and the simulator load the same .proto) fails on duplicate
    symbols in protobuf's default pool, so ccxt's decoder is replaced by one on arb's classes: same
    schema, same `MessageToDict` rendering ccxt expects.
    """
    from google.protobuf.json_format import MessageToDict

    from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

    message = PushDataV3ApiWrapper()
    message.ParseFromString(data)
    decoded: dict[str, Any] = MessageToDict(message)
    return decoded


def scrub(text: str) -> str:
    """`text` (a ccxt error message, which may quote a signed URL) without signatures or keys."""
    return SIGNATURE.sub(lambda m: f"{m.group(1)}=****", text)
