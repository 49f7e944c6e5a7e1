"""The venues arb knows, as one explicit table: name -> `VenueSpec` (no import-time discovery).

A venue's request budgets are one `RateLimiter` (`make_limiter`): Binance counts request weight
per IP across public and signed requests, MEXC and Gate per IP/endpoint and per account, and a 429
or 418 on any client must pause them all. Build it once per venue and pass it to `make_public`
and `make_private` (the engine hands its market-data client's limiter to the signed one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from arb.config import Credentials, VenueConfig
from arb.model import Fill
from arb.net.contract import ErrorClassifier, ErrorDecoder, RequestSigner
from arb.net.ratelimit import PoolSpec, RateLimiter
from arb.net.rest import RestClient
from arb.venues.base import (
    BaseWebSocketInterface,
    PrivateExchangeInterface,
    PublicExchangeInterface,
    StreamHandlers,
)
from arb.venues.binance import auth as binance_auth
from arb.venues.binance import codec as binance_codec
from arb.venues.binance import constants as binance_c
from arb.venues.binance.private import BinancePrivate
from arb.venues.binance.public import BinancePublic
from arb.venues.binance.stream import BinanceStream
from arb.venues.clock import ServerClock
from arb.venues.gateio import auth as gate_auth
from arb.venues.gateio import codec as gate_codec
from arb.venues.gateio import constants as gate_c
from arb.venues.gateio.private import GatePrivate
from arb.venues.gateio.public import GatePublic
from arb.venues.gateio.stream import GateStream
from arb.venues.mexc import auth as mexc_auth
from arb.venues.mexc import codec as mexc_codec
from arb.venues.mexc import constants as mexc_c
from arb.venues.mexc.private import MexcPrivate
from arb.venues.mexc.public import MexcPublic
from arb.venues.mexc.stream import MexcStream


class VenueSpec(NamedTuple):
    name: str
    rest_url: str
    ws_url: str
    pools: tuple[PoolSpec, ...]
    public: type[PublicExchangeInterface]
    private: type[PrivateExchangeInterface]
    stream: Callable[..., BaseWebSocketInterface]
    signer: Callable[[str, str], RequestSigner]
    decode_error: ErrorDecoder
    error_class: ErrorClassifier
    snapshot_limit: int
    stream_snapshots: bool  # the depth stream itself sends full books (Gate `full`, MEXC limit depth)


VENUES: Final[Mapping[str, VenueSpec]] = MappingProxyType({
    "binance": VenueSpec("binance", binance_c.REST_URL, binance_c.WS_URL, binance_c.POOLS, BinancePublic,
                         BinancePrivate, BinanceStream, binance_auth.BinanceSigner,
                         binance_codec.decode_error, binance_codec.error_class, 1000, False),
    "gateio": VenueSpec("gateio", gate_c.REST_URL, gate_c.WS_URL, gate_c.POOLS, GatePublic, GatePrivate,
                        GateStream, gate_auth.GateSigner, gate_codec.decode_error, gate_codec.error_class,
                        gate_c.SNAPSHOT_LIMIT, True),
    "mexc": VenueSpec("mexc", mexc_c.REST_URL, mexc_c.WS_URL, mexc_c.POOLS, MexcPublic, MexcPrivate,
                      MexcStream, mexc_auth.MexcSigner,
                      mexc_codec.decode_error, mexc_codec.error_class, mexc_c.SNAPSHOT_LIMIT, True),
})


def make_limiter(name: str) -> RateLimiter:
    """The venue's request budgets (its documented pools); one per venue, shared by its clients."""
    return RateLimiter(name, VENUES[name].pools)


def make_rest(name: str, config: VenueConfig, credentials: Credentials | None = None,
              clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000, *,
              limiter: RateLimiter | None = None) -> RestClient:
    """The venue's RestClient: its URL (or the config's override), pools, signer and error table.

    `limiter` is the venue's shared one; without it the client gets budgets of its own."""
    spec = VENUES[name]
    signer = (spec.signer(credentials.api_key.reveal(), credentials.api_secret.reveal())
              if credentials is not None else None)
    return RestClient(name, config.rest_url or spec.rest_url, connection=config.connection,
                      decode_error=spec.decode_error, error_class=spec.error_class,
                      limiter=make_limiter(name) if limiter is None else limiter, signer=signer,
                      clock_ms=clock_ms)


STREAMS: Final[Mapping[str, Callable[..., BaseWebSocketInterface]]] = MappingProxyType(
    {name: spec.stream for name, spec in VENUES.items()})


def make_stream(name: str, handlers: StreamHandlers, config: VenueConfig, *,
                credentials: Credentials | None = None, private: PrivateExchangeInterface | None = None,
                **options: Any) -> BaseWebSocketInterface:
    """The venue's streams; with `credentials` (and its signed `private` connector) the user stream
    can be subscribed too. Each venue authenticates its user stream its own way: Binance signs a
    WebSocket-API subscription, MEXC needs a listen key from signed REST, Gate signs each channel."""
    kwargs: dict[str, Any] = {"ws_url": config.ws_url} if config.ws_url else {}
    if credentials is not None:
        if name == "mexc":
            kwargs.update(rest=getattr(private, "rest", None), user_ws_url=config.ws_private_url,
                          kind=config.trading)
        else:
            kwargs["credentials"] = credentials
            clock = getattr(private, "server_clock", None)  # sign with venue time, as REST does
            if clock is not None:
                kwargs["clock_ms"] = clock.now_ms
            caller_id = getattr(private, "caller_id", None)  # Gate: wire text -> the caller's id
            if caller_id is not None:
                kwargs["caller_id"] = caller_id
            if name == "binance" and config.ws_private_url:
                kwargs["ws_api_url"] = config.ws_private_url
    return VENUES[name].stream(handlers, **kwargs, **options)


def make_public(name: str, config: VenueConfig, *, limiter: RateLimiter | None = None
                ) -> PublicExchangeInterface:
    """The venue's market-data connector (`limiter`: the venue's shared budgets, else its own)."""
    spec = VENUES[name]
    return spec.public(make_rest(name, config, limiter=limiter), kind=config.market_data)  # type: ignore[call-arg]


def shared_limiter(connector: object) -> RateLimiter | None:
    """The limiter a connector's RestClient draws from (None for connectors without REST)."""
    limiter = getattr(getattr(connector, "rest", None), "limiter", None)
    return limiter if isinstance(limiter, RateLimiter) else None


def make_private(name: str, config: VenueConfig, credentials: Credentials, *,
                 on_fill: Callable[[Fill], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 limiter: RateLimiter | None = None) -> PrivateExchangeInterface:
    """The venue's signed connector: its RestClient signs at venue time from a `ServerClock`.

    `on_fill` gets the fills a venue reports with its order replies (Binance FULL); venues whose
    replies carry none leave the fills to `my_trades`. `limiter`: the venue's shared budgets (the
    market-data client's), so a 429 on either pauses both.
    """
    spec = VENUES[name]
    clock = ServerClock(clock_ns=clock_ns)
    rest = make_rest(name, config, credentials, clock_ms=clock.now_ms, limiter=limiter)
    return spec.private(rest, kind=config.trading, clock_ns=clock_ns,  # type: ignore[call-arg]
                        server_clock=clock, on_fill=on_fill)
