"""The venue contract as data: client-id rules, the credentials a spec asks for, config names."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

import arb.venues
from arb.config import default_config, parse_config
from arb.credentials import Credentials, load_credentials
from arb.errors import ConfigError
from arb.venues.registry import VENUES
from arb.venues.spec import ClientIdRule

OKX_LIKE = ClientIdRule(max_length=32, alphabet=string.ascii_letters + string.digits)


def test_client_id_rule_prefixes_drops_refused_characters_and_checks_the_length() -> None:
    assert ClientIdRule().make("7-tk2m9x-000001b0") == "7-tk2m9x-000001b0"
    assert ClientIdRule(prefix="t-", max_length=30).make("7-tk2m9x-000001b0") == "t-7-tk2m9x-000001b0"
    assert OKX_LIKE.make("7-tk2m9x-000001b0") == "7tk2m9x000001b0"
    with pytest.raises(ValueError, match="longer than the venue's 32"):
        OKX_LIKE.make("1" * 33)
    with pytest.raises(ValueError, match="no character"):
        OKX_LIKE.make("--")


def test_every_registered_rule_accepts_the_engine_ids() -> None:
    for spec in VENUES.values():
        made = spec.client_id.make("123-tk2m9xq-000001b0")
        assert made.startswith(spec.client_id.prefix) and len(made) <= spec.client_id.max_length


def test_a_passphrase_is_read_when_the_venue_asks_for_one() -> None:
    fields = ("api_key", "api_secret", "passphrase")
    env = {"ARB_NEWV_API_KEY": "k", "ARB_NEWV_API_SECRET": "s", "ARB_NEWV_API_PASSPHRASE": "canary-phrase"}
    creds = load_credentials("newv", env, fields=fields)
    assert isinstance(creds, Credentials) and creds.passphrase is not None
    assert creds.passphrase.reveal() == "canary-phrase" and "canary" not in repr(creds)
    del env["ARB_NEWV_API_PASSPHRASE"]
    with pytest.raises(ConfigError, match="ARB_NEWV_API_PASSPHRASE"):
        load_credentials("newv", env, fields=fields)
    assert load_credentials("newv", {"ARB_NEWV_API_KEY": "k"}, fields=fields) is None
    binance = load_credentials("binance", {"ARB_BINANCE_API_KEY": "k", "ARB_BINANCE_API_SECRET": "s"})
    assert binance is not None and binance.passphrase is None


def test_the_venues_section_takes_the_registry_names_and_only_them() -> None:
    config = default_config()
    assert list(config.enabled_venues) == list(VENUES)
    with pytest.raises(ConfigError) as info:
        parse_config({"symbols": ["BTC/USDT"], "venues": {"binance": {}, "nowhere": {}}})
    assert info.value.field == "venues.nowhere"
    assert all(name in str(info.value) for name in VENUES)
    with pytest.raises(ConfigError) as info:
        parse_config({"symbols": ["BTC/USDT"], "venues": {"binance": {"taker_fee": "x"}, "mexc": {}}})
    assert info.value.field == "venues.binance.taker_fee"
    with pytest.raises(ConfigError) as info:
        parse_config({"symbols": ["BTC/USDT"], "venues": {"binance": {"colour": 1}, "mexc": {}}})
    assert info.value.field == "venues.binance.colour"


PACKAGE_MODULES = {"__init__", "constants", "auth", "codec", "orders", "public", "private", "stream", "user"}
# the only module a venue may add: `books`, for a stream that keeps its own book beside the engine's
# BookStore (OKX: its sequence chain, a numeric copy for resets and the exact-string book its CRC32
# checksum is computed over)
OPTIONAL_MODULES = {"books"}
MAX_LINES = 600


def test_every_registry_venue_is_one_package_of_the_same_modules_none_over_the_size_limit() -> None:
    venues_dir = Path(arb.venues.__file__).parent
    for name in VENUES:
        package = venues_dir / name
        modules = {p.stem for p in package.glob("*.py")}
        assert PACKAGE_MODULES <= modules <= PACKAGE_MODULES | OPTIONAL_MODULES, \
            f"{name}: {sorted(modules ^ PACKAGE_MODULES)}"
        for path in package.glob("*.py"):
            lines = len(path.read_text().splitlines())
            assert lines <= MAX_LINES, f"{path.relative_to(venues_dir)} has {lines} lines"
