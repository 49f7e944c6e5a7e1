"""Binance spot: its `VenueSpec` (``VENUE``) for the registry, built from its constants."""

from __future__ import annotations

from typing import Any

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.venues.base import PrivateExchangeInterface
from arb.venues.binance import auth, codec
from arb.venues.binance import constants as c
from arb.venues.binance.private import BinancePrivate
from arb.venues.binance.public import BinancePublic
from arb.venues.binance.stream import BinanceStream
from arb.venues.spec import BookRule, ClientIdRule, VenueSpec


def user_stream(config: VenueConfig, credentials: Credentials, private: PrivateExchangeInterface
                ) -> dict[str, Any]:
    """The user stream is a signed WebSocket-API subscription, stamped with the venue clock."""
    kwargs: dict[str, Any] = {"credentials": credentials}
    if private.server_clock is not None:
        kwargs["clock_ms"] = private.server_clock.now_ms
    if config.ws_private_url:
        kwargs["ws_api_url"] = config.ws_private_url
    return kwargs


VENUE = VenueSpec(
    name=c.VENUE, rest_url=c.REST_URL, ws_url=c.WS_URL, ws_private_url=c.WS_API_URL, pools=c.POOLS,
    public=BinancePublic, private=BinancePrivate, stream=BinanceStream, signer=auth.signer,
    decode_error=codec.decode_error, error_class=codec.error_class,
    book=BookRule(snapshot_limit=c.SNAPSHOT_LIMIT),
    client_id=ClientIdRule(max_length=c.CLIENT_ID_MAX_LEN, alphabet=c.CLIENT_ID_ALPHABET),
    user_stream=user_stream, display="Binance spot", aliases=c.ASSET_ALIASES,
)

__all__ = ["VENUE", "BinancePrivate", "BinancePublic", "BinanceStream"]
