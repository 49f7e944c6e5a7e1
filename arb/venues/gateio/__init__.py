"""Gate.io spot: its `VenueSpec` (``VENUE``) for the registry, built from its constants."""

from __future__ import annotations

from typing import Any

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.venues.base import PrivateExchangeInterface
from arb.venues.gateio import auth, codec
from arb.venues.gateio import constants as c
from arb.venues.gateio.private import GatePrivate
from arb.venues.gateio.public import GatePublic
from arb.venues.gateio.stream import GateStream
from arb.venues.spec import BookRule, ClientIdRule, VenueSpec


def user_stream(config: VenueConfig, credentials: Credentials, private: PrivateExchangeInterface
                ) -> dict[str, Any]:
    """Each private channel is signed on the market-data endpoint; pushes carry the wire text,
    which the signed connector turns back into the caller's client id."""
    del config  # the private channels share the market-data endpoint
    kwargs: dict[str, Any] = {"credentials": credentials}
    if private.server_clock is not None:
        kwargs["clock_ms"] = private.server_clock.now_ms
    if isinstance(private, GatePrivate):
        kwargs["caller_id"] = private.caller_id
    return kwargs


VENUE = VenueSpec(
    name=c.VENUE, rest_url=c.REST_URL, ws_url=c.WS_URL, ws_private_url=c.WS_URL, pools=c.POOLS,
    public=GatePublic, private=GatePrivate, stream=GateStream, signer=auth.signer,
    decode_error=codec.decode_error, error_class=codec.error_class,
    book=BookRule(snapshot_limit=c.SNAPSHOT_LIMIT, stream_snapshots=True),
    client_id=ClientIdRule(prefix=c.CLIENT_ID_PREFIX, alphabet=c.CLIENT_ID_ALPHABET,
                           max_length=len(c.CLIENT_ID_PREFIX) + c.CLIENT_ID_MAX_BYTES),
    user_stream=user_stream, display="Gate.io spot", aliases=c.ASSET_ALIASES,
    private_socket=False,  # private channels are signed on the market-data socket
)

__all__ = ["VENUE", "GatePrivate", "GatePublic", "GateStream"]
