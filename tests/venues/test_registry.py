from __future__ import annotations

import importlib

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret, registry_names
from arb.venues.base import PublicExchangeInterface
from arb.venues.registry import VENUES, make_public, make_rest


def test_every_configurable_venue_is_registered() -> None:
    assert registry_names() == tuple(VENUES)
    for name, spec in VENUES.items():
        assert spec.name == name and spec.pools and issubclass(spec.public, PublicExchangeInterface)
        assert importlib.import_module(f"arb.venues.{name}").VENUE is spec  # the package exports it
        assert spec.display and spec.book.snapshot_limit > 0
        assert spec.credentials[:2] == ("api_key", "api_secret")


async def test_factories_honour_url_overrides_and_credentials() -> None:
    config = VenueConfig(rest_url="http://127.0.0.1:9")
    for name in VENUES:
        creds = Credentials(name, Secret("key"), Secret("canary-secret"))
        rest = make_rest(name, config, creds)
        assert rest.base_url == "http://127.0.0.1:9" and rest.signer is not None and rest.limiter is not None
        assert "canary-secret" not in repr(rest.signer)
        public = make_public(name, VenueConfig())
        assert public.venue == name and public.rest.base_url.startswith("https://")  # type: ignore[attr-defined]
        await public.close()
        await rest.close()


def test_websocket_budgets_stay_within_the_documented_limits() -> None:
    """A bucket lets through at most capacity + rate x window in any window."""
    from arb.venues.binance import constants as binance_c
    from arb.venues.binance.stream import BinanceStream
    from arb.venues.mexc import constants as mexc_c

    capacity, rate = binance_c.WS_SEND_LIMIT
    assert capacity + rate * 1.0 <= 5  # messages per second per connection
    capacity, rate = binance_c.WS_CONNECT_BUDGET
    assert capacity + rate * 300.0 <= 300  # connection attempts per 5 minutes per IP
    capacity, rate = mexc_c.WS_SEND_LIMIT
    assert capacity + rate * 1.0 <= 100
    stream = BinanceStream(None)  # type: ignore[arg-type]
    assert stream.connect_budget.capacity == binance_c.WS_CONNECT_BUDGET[0]
