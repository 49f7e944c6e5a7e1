"""OKX spot (API v5): its `VenueSpec` (``VENUE``) for the registry, built from its constants."""

from __future__ import annotations

from typing import Any

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.venues.base import PrivateExchangeInterface
from arb.venues.okx import auth, codec
from arb.venues.okx import constants as c
from arb.venues.okx.private import OkxPrivate
from arb.venues.okx.public import OkxPublic
from arb.venues.okx.stream import OkxStream
from arb.venues.spec import BookRule, ClientIdRule, VenueSpec


def user_stream(config: VenueConfig, credentials: Credentials, private: PrivateExchangeInterface
                ) -> dict[str, Any]:
    """The private channels need a login (key, secret and passphrase) on the private endpoint, stamped
    with the venue clock; pushes carry the wire ``clOrdId``, which the signed connector maps back."""
    kwargs: dict[str, Any] = {"credentials": credentials}
    if private.server_clock is not None:
        kwargs["clock_ms"] = private.server_clock.now_ms
    if config.ws_private_url:
        kwargs["ws_private_url"] = config.ws_private_url
    if isinstance(private, OkxPrivate):
        kwargs["caller_id"] = private.caller_id
    return kwargs


VENUE = VenueSpec(
    name=c.VENUE, rest_url=c.REST_URL, ws_url=c.WS_URL, ws_private_url=c.WS_PRIVATE_URL, pools=c.POOLS,
    public=OkxPublic, private=OkxPrivate, stream=OkxStream, signer=auth.signer,
    decode_error=codec.decode_error, error_class=codec.error_class,
    # the `books` channel opens with a snapshot and resets by sending the whole book; REST snapshots
    # (400 levels) carry the same seqId sequence for the store's resync
    book=BookRule(snapshot_limit=c.SNAPSHOT_LIMIT, stream_snapshots=True),
    client_id=ClientIdRule(prefix=c.CLIENT_ID_PREFIX, max_length=c.CLIENT_ID_MAX_LENGTH,
                           alphabet=c.CLIENT_ID_ALPHABET),
    user_stream=user_stream, credentials=("api_key", "api_secret", "passphrase"), display="OKX spot",
    aliases=c.ASSET_ALIASES,
)

__all__ = ["VENUE", "OkxPrivate", "OkxPublic", "OkxStream"]
