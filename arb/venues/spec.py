"""The venue contract as data: what the engine, the CLI and the config may know about a venue.

Each venue package exports one `VenueSpec` as ``VENUE`` from its ``__init__.py``, built from its
constants; `arb.venues.registry` lists them in one table. Nothing outside a venue package branches on
a venue's name: what differs (URLs, request budgets, book sequencing, client-id rules, how the user
stream is authenticated, which credentials it needs) is read from its spec.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

import msgspec

from arb.config import VenueConfig
from arb.credentials import Credentials
from arb.net.contract import ErrorClassifier, ErrorDecoder, RequestSigner
from arb.net.ratelimit import PoolSpec
from arb.venues.base import BaseWebSocketInterface, PrivateExchangeInterface, PublicExchangeInterface

ID_ALPHABET: Final = string.ascii_letters + string.digits + "-_"
CREDENTIAL_FIELDS: Final = ("api_key", "api_secret", "passphrase")  # what `Credentials` can carry


class BookRule(msgspec.Struct, frozen=True):
    """How one venue's depth stream is bridged onto its REST snapshot (read by `engine.books`)."""

    snapshot_limit: int  # levels per side asked of the REST snapshot (Gate serves at most 100)
    stream_snapshots: bool = False  # a DepthUpdate flagged is_snapshot replaces the whole book
    max_buffer: int = 5000  # diffs kept while a snapshot is fetched (oldest dropped beyond)


class ClientIdRule(msgspec.Struct, frozen=True):
    """What a venue accepts as a client order id (Gate: a ``t-`` prefix; OKX: letters and digits).

    `make` turns the engine's id (run tag + opportunity sequence + leg) into the venue's spelling:
    the prefix, then the id with every character outside `alphabet` dropped. The same function spells
    a run tag, so ids found on the venue are matched to a run by `make(tag)` as a prefix.
    """

    prefix: str = ""
    max_length: int = 36
    alphabet: str = ID_ALPHABET

    def spell(self, base_id: str) -> str:
        """`prefix` + `base_id` without the characters the venue refuses (no length check)."""
        allowed = self.alphabet
        return self.prefix + "".join(ch for ch in base_id if ch in allowed)

    def make(self, base_id: str) -> str:
        """The venue-valid client id for `base_id`; ValueError if it cannot fit `max_length`."""
        out = self.spell(base_id)
        if len(out) > self.max_length:
            raise ValueError(f"client id {out!r} is longer than the venue's {self.max_length} characters")
        if len(out) == len(self.prefix):
            raise ValueError(f"client id {base_id!r} has no character the venue accepts")
        return out


UserStreamKwargs = Callable[[VenueConfig, Credentials, PrivateExchangeInterface], dict[str, Any]]


class VenueSpec(NamedTuple):
    """One venue, as the registry lists it.

    `user_stream(config, credentials, private)` returns the extra keyword arguments the venue's
    `stream` factory needs to open the private user stream (Binance: the WebSocket-API URL; MEXC:
    the signed RestClient for its listen key; Gate: the id decoder...). `credentials` names the
    secrets read from ``ARB_<VENUE>_API_<FIELD>``; all of them are required in live mode. `aliases` are
    the assets the venue lists under another name (its package converts them at its edge; the symbol
    universe shows them).
    """

    name: str
    rest_url: str
    ws_url: str
    ws_private_url: str
    pools: tuple[PoolSpec, ...]
    public: type[PublicExchangeInterface]
    private: type[PrivateExchangeInterface]
    stream: Callable[..., BaseWebSocketInterface]
    signer: Callable[[Credentials], RequestSigner]
    decode_error: ErrorDecoder
    error_class: ErrorClassifier
    book: BookRule
    client_id: ClientIdRule
    user_stream: UserStreamKwargs
    credentials: tuple[str, ...] = ("api_key", "api_secret")
    display: str = ""
    private_socket: bool = True  # the user stream has a socket of its own (False: it shares ws_url)
    aliases: Mapping[str, str] = MappingProxyType({})  # assets it names otherwise: its code -> common code
