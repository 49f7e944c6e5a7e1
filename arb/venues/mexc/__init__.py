"""MEXC spot: its `VenueSpec` (``VENUE``) for the registry, built from its constants."""

from __future__ import annotations

from typing import Any

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.venues.base import PrivateExchangeInterface
from arb.venues.mexc import auth, codec
from arb.venues.mexc import constants as c
from arb.venues.mexc.private import MexcPrivate
from arb.venues.mexc.public import MexcPublic
from arb.venues.mexc.stream import MexcStream
from arb.venues.spec import BookRule, ClientIdRule, VenueSpec


def user_stream(config: VenueConfig, credentials: Credentials, private: PrivateExchangeInterface
                ) -> dict[str, Any]:
    """The private channels open on a listen key that the signed RestClient asks for."""
    del credentials  # bound in the signed RestClient
    return {"rest": private.rest if isinstance(private, MexcPrivate) else None,
            "user_ws_url": config.ws_private_url, "kind": config.trading}


VENUE = VenueSpec(
    name=c.VENUE, rest_url=c.REST_URL, ws_url=c.WS_URL, ws_private_url=c.WS_URL, pools=c.POOLS,
    public=MexcPublic, private=MexcPrivate, stream=MexcStream, signer=auth.signer,
    decode_error=codec.decode_error, error_class=codec.error_class,
    book=BookRule(snapshot_limit=c.SNAPSHOT_LIMIT, stream_snapshots=True),
    client_id=ClientIdRule(max_length=c.CLIENT_ID_MAX_LEN, alphabet=c.CLIENT_ID_ALPHABET),
    user_stream=user_stream, display="MEXC spot", aliases=c.ASSET_ALIASES,
)

__all__ = ["VENUE", "MexcPrivate", "MexcPublic", "MexcStream"]
