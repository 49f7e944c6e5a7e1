"""Bybit v5 spot (``category=spot``): its `VenueSpec` (``VENUE``) for the registry."""

from __future__ import annotations

from typing import Any

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.venues.base import PrivateExchangeInterface
from arb.venues.bybit import auth, codec
from arb.venues.bybit import constants as c
from arb.venues.bybit.private import BybitPrivate
from arb.venues.bybit.public import BybitPublic
from arb.venues.bybit.stream import BybitStream
from arb.venues.spec import BookRule, ClientIdRule, VenueSpec


def user_stream(config: VenueConfig, credentials: Credentials, private: PrivateExchangeInterface
                ) -> dict[str, Any]:
    """The private stream authenticates itself on ``/v5/private`` with an expiry on the venue clock."""
    kwargs: dict[str, Any] = {"credentials": credentials}
    if private.server_clock is not None:
        kwargs["clock_ms"] = private.server_clock.now_ms
    if config.ws_private_url:
        kwargs["ws_private_url"] = config.ws_private_url
    return kwargs


VENUE = VenueSpec(
    name=c.VENUE, rest_url=c.REST_URL, ws_url=c.WS_URL, ws_private_url=c.WS_PRIVATE_URL, pools=c.POOLS,
    public=BybitPublic, private=BybitPrivate, stream=BybitStream, signer=auth.signer,
    decode_error=codec.decode_error, error_class=codec.error_class,
    # each book topic starts with a snapshot and re-sends one when it has to; deltas chain by u + 1
    book=BookRule(snapshot_limit=c.SNAPSHOT_LIMIT, stream_snapshots=True),
    client_id=ClientIdRule(max_length=c.CLIENT_ID_MAX_LEN, alphabet=c.CLIENT_ID_ALPHABET),
    user_stream=user_stream, aliases=c.ASSET_ALIASES, display="Bybit spot",
)

__all__ = ["VENUE", "BybitPrivate", "BybitPublic", "BybitStream"]
