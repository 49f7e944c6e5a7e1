"""The venues arb knows, as one explicit table: name -> `VenueSpec` (no import-time discovery).

Adding a venue is one package that exports its spec as ``VENUE`` plus one entry in `VENUES`; the
factories below read everything from the spec and never branch on a venue's name.

A venue's request budgets are one `RateLimiter` (`make_limiter`): Binance counts request weight
per IP across public and signed requests, MEXC and Gate per IP/endpoint and per account, and a 429
or 418 on any client must pause them all. Build it once per venue and pass it to `make_public`
and `make_private` (the engine hands its market-data client's limiter to the signed one).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.model import Fill
from arb.net.ratelimit import RateLimiter
from arb.net.rest import RestClient
from arb.venues import binance, bybit, ccxt, gateio, mexc, okx
from arb.venues.base import (
    BaseWebSocketInterface,
    PrivateExchangeInterface,
    PublicExchangeInterface,
    StreamHandlers,
)
from arb.venues.clock import ServerClock
from arb.venues.spec import VenueSpec

VENUES: Final[Mapping[str, VenueSpec]] = MappingProxyType({
    spec.name: spec for spec in (binance.VENUE, gateio.VENUE, mexc.VENUE, okx.VENUE, bybit.VENUE)
})
VENUE_NAMES: Final = tuple(VENUES)

__all__ = ["VENUES", "VENUE_NAMES", "VenueSpec", "make_limiter", "make_private", "make_public", "make_rest",
           "make_stream", "venue_spec", "venue_specs"]


def venue_spec(name: str, config: VenueConfig) -> VenueSpec:
    """A configured venue's spec: the table's, or for ``driver = "ccxt"`` one built from ccxt's
    description of the exchange (`arb.venues.ccxt.venue_spec`; `ConfigError` if it cannot be driven)."""
    if config.driver == ccxt.DRIVER:
        return ccxt.venue_spec(name, config)
    return VENUES[name]


def venue_specs(venues: Mapping[str, VenueConfig]) -> dict[str, VenueSpec]:
    """The spec of every configured venue (`Config.venues` / `enabled_venues`), by name."""
    return {name: venue_spec(name, config) for name, config in venues.items()}


def make_limiter(name: str) -> RateLimiter:
    """The venue's request budgets (its documented pools); one per venue, shared by its clients."""
    return RateLimiter(name, VENUES[name].pools)


def make_rest(name: str, config: VenueConfig, credentials: Credentials | None = None,
              clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000, *,
              limiter: RateLimiter | None = None) -> RestClient:
    """The venue's RestClient: its URL (or the config's override), pools, signer and error table.

    `limiter` is the venue's shared one; without it the client gets budgets of its own."""
    spec = VENUES[name]
    signer = spec.signer(credentials) if credentials is not None else None
    return RestClient(name, config.rest_url or spec.rest_url, connection=config.connection,
                      decode_error=spec.decode_error, error_class=spec.error_class,
                      limiter=make_limiter(name) if limiter is None else limiter, signer=signer,
                      clock_ms=clock_ms)


STREAMS: Final[Mapping[str, Callable[..., BaseWebSocketInterface]]] = MappingProxyType(
    {name: spec.stream for name, spec in VENUES.items()})


def make_stream(name: str, handlers: StreamHandlers, config: VenueConfig, *,
                credentials: Credentials | None = None, private: PrivateExchangeInterface | None = None,
                **options: Any) -> BaseWebSocketInterface:
    """The venue's streams; with `credentials` and its signed `private` connector the user stream
    can be subscribed too (how it authenticates is the venue's: `VenueSpec.user_stream`)."""
    if config.driver == ccxt.DRIVER:
        return ccxt.make_stream(name, handlers, config, private=private)
    spec = VENUES[name]
    kwargs: dict[str, Any] = {"ws_url": config.ws_url} if config.ws_url else {}
    if credentials is not None:
        if private is None:
            raise TypeError(f"{name}: a user stream needs the venue's signed connector (`private`) too")
        kwargs.update(spec.user_stream(config, credentials, private))
    return spec.stream(handlers, **kwargs, **options)


def make_public(name: str, config: VenueConfig, *, limiter: RateLimiter | None = None
                ) -> PublicExchangeInterface:
    """The venue's market-data connector (`limiter`: the venue's shared budgets, else its own)."""
    if config.driver == ccxt.DRIVER:  # ccxt paces its own requests
        return ccxt.make_public(name, config)
    spec = VENUES[name]
    return spec.public(make_rest(name, config, limiter=limiter), kind=config.market_data)  # type: ignore[call-arg]


def make_private(name: str, config: VenueConfig, credentials: Credentials, *,
                 on_fill: Callable[[Fill], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns,
                 limiter: RateLimiter | None = None) -> PrivateExchangeInterface:
    """The venue's signed connector: its RestClient signs at venue time from a `ServerClock`.

    `on_fill` gets the fills a venue reports with its order replies (Binance FULL); venues whose
    replies carry none leave the fills to `my_trades`. `limiter`: the venue's shared budgets (the
    market-data client's), so a 429 on either pauses both.
    """
    if config.driver == ccxt.DRIVER:
        return ccxt.make_private(name, config, credentials, on_fill=on_fill, clock_ns=clock_ns)
    spec = VENUES[name]
    clock = ServerClock(clock_ns=clock_ns)
    rest = make_rest(name, config, credentials, clock_ms=clock.now_ms, limiter=limiter)
    return spec.private(rest, kind=config.trading, clock_ns=clock_ns,  # type: ignore[call-arg]
                        server_clock=clock, on_fill=on_fill)
