"""Any exchange ccxt supports, as an arb venue: ``[venues.NAME] driver = "ccxt"``.

One implementation of the venue interfaces backed by ccxt (REST) and ccxt.pro (WebSocket) for every
ccxt exchange id with spot markets, an order book, order creation and cancellation and balances
(`exchange.require_drivable`). `venue_spec` builds the venue's `VenueSpec` at start-up from ccxt's
description of the exchange (credentials from its ``requiredCredentials``, the client-id rule from
`exchange.CLIENT_IDS`), and the ``make_*`` factories build its connectors from the venue's config:
the ccxt id is ``exchange`` (default: the venue's name), URL overrides point ccxt's ``urls['api']``
entries at another host (a simulator).

    public.py   CcxtPublic: markets -> SymbolInfo, book snapshots, trades, tickers, candles
    private.py  CcxtPrivate: create/query/cancel orders by client id, balances, fills, fees
    stream.py   CcxtStream: watch_order_book -> DepthUpdate snapshots (own crossed/stale checks),
                handed on from ccxt's handling of each frame (feed.py),
                watch_orders / watch_my_trades / watch_balance (else REST polling)
    convert.py  ccxt structures -> arb's model; ccxt exceptions -> arb's errors
    feed.py     ccxt.pro sockets read directly, resolved values shown to the stream at once
    exchange.py which exchanges qualify, their facts, one configured ccxt client
    catalogue.py  what `arb-engine venues` lists
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.errors import ConfigError
from arb.model import Fill
from arb.net.contract import RequestSigner
from arb.venues.base import BaseWebSocketInterface, PrivateExchangeInterface, StreamHandlers
from arb.venues.ccxt import exchange as ex
from arb.venues.ccxt.private import CcxtPrivate
from arb.venues.ccxt.public import CcxtPublic
from arb.venues.ccxt.stream import BOOK_DEPTH, CcxtStream
from arb.venues.errors import classifier
from arb.venues.spec import BookRule, VenueSpec

DRIVER: Final = "ccxt"
PREFIX: Final = "ccxt:"  # a venue argument naming ccxt exchange ID: ``ccxt:ID`` (check, demo, symbols)
SNAPSHOT_LIMIT: Final = 100  # levels asked of a REST snapshot when a book resyncs


def exchange_id(name: str, config: VenueConfig) -> str:
    """The ccxt exchange id of a venue: its config's `exchange`, else its name."""
    return config.exchange or name


def _no_signer(credentials: Credentials) -> RequestSigner:
    raise TypeError(f"{credentials.venue}: ccxt signs its own requests (no arb RestClient is built)")


def _no_error_body(status: int, body: bytes) -> tuple[int | str | None, str]:
    return None, body[:200].decode("utf-8", "replace")


def _user_stream(config: VenueConfig, credentials: Credentials, private: PrivateExchangeInterface
                 ) -> dict[str, Any]:
    del config, credentials  # the signed ccxt client carries both
    return {"private": private}


def venue_spec(name: str, config: VenueConfig) -> VenueSpec:
    """The `VenueSpec` of a ccxt-driven venue; `ConfigError` naming the field when ccxt has no such
    exchange or it cannot be driven (no spot markets, book, order creation, or credentials arb
    does not carry)."""
    exchange = exchange_id(name, config)
    field = f"venues.{name}.exchange" if config.exchange else f"venues.{name}"
    try:
        caps = ex.require_drivable(exchange)
    except ex.NoSuchExchangeError as exc:
        raise ConfigError(field, str(exc), exchange) from None
    urls = ex.api_urls(exchange)
    flat = [u for u in urls if u.startswith("http")]
    sockets = [u for u in urls if u.startswith("ws")]
    return VenueSpec(
        name=name, rest_url=flat[0] if flat else "", ws_url=sockets[0] if sockets else "",
        ws_private_url=sockets[0] if sockets else "", pools=(), public=CcxtPublic, private=CcxtPrivate,
        stream=CcxtStream, signer=_no_signer, decode_error=_no_error_body, error_class=classifier({}),
        book=BookRule(snapshot_limit=SNAPSHOT_LIMIT, stream_snapshots=True),
        client_id=ex.client_id_rule(exchange), user_stream=_user_stream, credentials=caps.credentials,
        display=f"{caps.name} spot (ccxt {exchange})")


def make_public(name: str, config: VenueConfig, *, clock_ns: Callable[[], int] = time.time_ns) -> CcxtPublic:
    client = ex.new_exchange(exchange_id(name, config), config, config.market_data)
    return CcxtPublic(name, client, kind=config.market_data, clock_ns=clock_ns)


def make_private(name: str, config: VenueConfig, credentials: Credentials, *,
                 on_fill: Callable[[Fill], None] | None = None,
                 clock_ns: Callable[[], int] = time.time_ns) -> CcxtPrivate:
    client = ex.new_exchange(exchange_id(name, config), config, config.trading, credentials)
    return CcxtPrivate(name, client, kind=config.trading, clock_ns=clock_ns, on_fill=on_fill)


def make_stream(name: str, handlers: StreamHandlers, config: VenueConfig, *,
                private: PrivateExchangeInterface | None = None,
                clock_ns: Callable[[], int] = time.time_ns) -> BaseWebSocketInterface:
    if private is not None and not isinstance(private, CcxtPrivate):
        raise TypeError(f"{name}: a ccxt user stream needs the ccxt signed connector")
    client = ex.new_exchange(exchange_id(name, config), config, config.market_data)
    return CcxtStream(handlers, venue=name, client=client, private=private, depth=BOOK_DEPTH,
                      kind=config.market_data, clock_ns=clock_ns)


__all__ = ["DRIVER", "CcxtPrivate", "CcxtPublic", "CcxtStream", "exchange_id", "make_private", "make_public",
           "make_stream", "venue_spec"]
