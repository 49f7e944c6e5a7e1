"""API credentials and the venue registry's names, as the config layer sees them.

Keys come only from the environment (``ARB_<VENUE>_API_KEY`` / ``_API_SECRET``, plus
``ARB_<VENUE>_API_PASSPHRASE`` for a venue whose spec asks for one) and are wrapped in `Secret`,
whose repr is masked. Venue names are the registry's: this module reads its table lazily, the one
place the config layer looks up a layer above it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Final

import msgspec

from arb.errors import ConfigError

_CREDENTIAL_VAR: Final = re.compile(r"^ARB_[A-Z0-9]+_API_(KEY|SECRET|PASSPHRASE)$")

# --------------------------------------------------------------------------- secrets


class Secret:
    """A secret string whose repr and str are masked; `reveal()` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("Secret cannot be pickled")


class Credentials(msgspec.Struct, frozen=True):
    """API credentials of one venue (from the environment only); `passphrase` for venues whose
    spec lists it (`VenueSpec.credentials`)."""

    venue: str
    api_key: Secret
    api_secret: Secret
    passphrase: Secret | None = None


def credential_env_name(venue: str, field: str) -> str:
    """``ARB_<VENUE>_<FIELD>``: ``api_key`` -> ``ARB_<VENUE>_API_KEY``, ``passphrase`` ->
    ``ARB_<VENUE>_API_PASSPHRASE`` (the venue's registry name in capitals)."""
    suffix = field.upper() if field.startswith("api_") else f"API_{field.upper()}"
    return f"ARB_{venue.upper()}_{suffix}"


def credential_env_names(venue: str, fields: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The environment variables of `fields` (default: what the venue's spec asks for)."""
    return tuple(credential_env_name(venue, f) for f in (fields or registry_credentials(venue)))


def load_credentials(venue: str, environ: Mapping[str, str] | None = None, *,
                     fields: tuple[str, ...] | None = None) -> Credentials | None:
    """The venue's keys from the environment (`fields`, default: what its spec asks for).

    None when the key or the secret is absent or empty; with both present, a missing further field
    the venue requires (a passphrase) is a `ConfigError` naming its variable."""
    env = os.environ if environ is None else environ
    wanted = fields or registry_credentials(venue)
    values = {f: env.get(credential_env_name(venue, f), "") for f in wanted}
    if not values.get("api_key") or not values.get("api_secret"):
        return None
    for field, value in values.items():
        if not value:
            name = credential_env_name(venue, field)
            raise ConfigError(name, f"{venue} needs its API {field.removeprefix('api_')} too: set {name}")
    phrase = values.get("passphrase")
    return Credentials(venue, Secret(values["api_key"]), Secret(values["api_secret"]),
                       Secret(phrase) if phrase else None)


def credential_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every credential value set in the environment for a registry venue, and any other
    ``ARB_<NAME>_API_KEY/SECRET/PASSPHRASE`` (a ccxt-driven venue's), for log redaction."""
    env = os.environ if environ is None else environ
    named = {name for venue in registry_names() for name in credential_env_names(venue)}
    named |= {name for name in env if _CREDENTIAL_VAR.match(name)}
    return [value for name in sorted(named) if (value := env.get(name, ""))]


# --------------------------------------------------------------------------- the registry's names


def _registry() -> Mapping[str, Any]:
    """The venue registry (`arb.venues.registry.VENUES`), looked up when a config is parsed.

    Config sits below the venues layer: it cannot import them at module level (they import config)
    and names no venue itself; the registry is the one table of names. This is the only upward reach.
    """
    from arb.venues.registry import VENUES

    return VENUES


def registry_names() -> tuple[str, ...]:
    """Every venue the registry knows, in its order."""
    return tuple(_registry())


def registry_private_socket(venue: str) -> bool:
    """Whether the venue's user stream has a socket of its own (`ws_private_url` configures it)."""
    spec = _registry().get(venue)
    return spec is None or spec.private_socket


def registry_credentials(venue: str) -> tuple[str, ...]:
    """The credential fields a venue's spec asks for (``api_key``, ``api_secret``[, ``passphrase``])."""
    spec = _registry().get(venue)
    return tuple(spec.credentials) if spec is not None else ("api_key", "api_secret")
