"""Config of ccxt-driven venues: a name outside the native table needs driver = "ccxt" and a ccxt id
that can be driven; the registry builds its spec at start-up; credentials follow ccxt's table."""

from __future__ import annotations

import pytest

from arb.config import default_config, parse_config
from arb.credentials import Credentials, load_credentials
from arb.errors import ConfigError
from arb.venues.registry import venue_spec, venue_specs


def test_a_ccxt_venue_gets_a_spec_built_from_ccxts_description() -> None:
    config = default_config(venues={"kucoin": {"driver": "ccxt"},
                                    "mygate": {"driver": "ccxt", "exchange": "gate"}, "binance": {}})
    specs = venue_specs(config.enabled_venues)
    assert specs["binance"].display == "Binance spot"  # native, from the table
    kucoin, gate = specs["kucoin"], specs["mygate"]
    assert kucoin.credentials == ("api_key", "api_secret", "passphrase")
    assert kucoin.book.stream_snapshots and gate.book.stream_snapshots
    assert gate.client_id.make("7-tk2m9x-12b0") == "t-7-tk2m9x-12b0"
    assert "ccxt gate" in gate.display and gate.name == "mygate"


def test_ccxt_credentials_come_from_the_environment_with_the_passphrase_ccxt_requires() -> None:
    fields = venue_spec("kucoin", default_config(venues={"kucoin": {"driver": "ccxt"}, "mexc": {}}
                                                 ).venues["kucoin"]).credentials
    env = {"ARB_KUCOIN_API_KEY": "k", "ARB_KUCOIN_API_SECRET": "s"}
    with pytest.raises(ConfigError, match="ARB_KUCOIN_API_PASSPHRASE"):
        load_credentials("kucoin", env, fields=fields)
    creds = load_credentials("kucoin", {**env, "ARB_KUCOIN_API_PASSPHRASE": "p"}, fields=fields)
    assert isinstance(creds, Credentials) and creds.passphrase is not None
    assert creds.passphrase.reveal() == "p"


@pytest.mark.parametrize(("venues", "field", "message"), [
    ({"kucoin": {}}, "venues.kucoin", 'driver = "ccxt"'),
    ({"kucoin": {"driver": "ccxt", "exchange": "nosuch"}}, "venues.kucoin.exchange", "ccxt has no exchange"),
    ({"nosuch": {"driver": "ccxt"}}, "venues.nosuch", "ccxt has no exchange 'nosuch'"),
    ({"fut": {"driver": "ccxt", "exchange": "binanceusdm"}}, "venues.fut.exchange", "no spot markets"),
    ({"binance": {"exchange": "binance"}}, "venues.binance.exchange", 'only read with driver = "ccxt"'),
    ({"binance": {"driver": "rest"}}, "venues.binance.driver", "'native', 'ccxt'"),
])
def test_a_bad_ccxt_venue_stops_start_up_naming_the_field(venues: dict[str, object], field: str,
                                                           message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"symbols": ["BTC/USDT"], "venues": {**venues, "mexc": {}}})
    assert info.value.field == field and message in str(info.value)
