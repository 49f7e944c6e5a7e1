"""TOML file + environment -> one frozen, validated `Config`, checked once at start-up.

- One TOML file decoded by msgspec into frozen Structs: sections ``engine``, ``venues.<name>``,
  ``symbols``, ``risk``, ``executor``, ``observability``, ``journal``.
- Environment overrides ``ARB__SECTION__KEY=value`` (``ARB__VENUES__<NAME>__TAKER_FEE=0.0008``),
  values read as TOML scalars, applied before validation.
- API keys only from the environment (``ARB_<VENUE>_API_KEY`` / ``ARB_<VENUE>_API_SECRET``, plus
  ``ARB_<VENUE>_API_PASSPHRASE`` for venues whose spec asks for one), wrapped in `Secret`, whose repr
  is masked. The file cannot hold keys (unknown fields are rejected).
- Venue names are the registry's (`arb.venues.registry.VENUES`): config names none itself. It reads
  the registry's table lazily, at parse time (`registry_names`), the one place it looks up a layer.
- Anything wrong raises `ConfigError` naming the field, the value and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

import msgspec

from arb.credentials import (
    load_credentials,
    registry_names,
    registry_private_socket,
)
from arb.errors import FILE_FIELD, ConfigError
from arb.model import Symbol

ENV_PREFIX: Final = "ARB__"

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
FeeRate = Annotated[float, msgspec.Meta(ge=0, lt=0.01)]


def doc(text: str) -> msgspec.Meta:
    """A field's description in the JSON schema (`arb-engine config schema`)."""
    return msgspec.Meta(description=text)


# Paper mode's starting balance per asset on every venue when `engine.paper_balances` is not set
# (documented in the README and the starter config). Assets not listed start at 0.
DEFAULT_DATA_DIR: Final = "./arb-data"  # engine.data_dir, and --data-dir of the report commands
DEFAULT_PAPER_BALANCES: Final = MappingProxyType({
    "USDT": Decimal("10000"), "USDC": Decimal("10000"), "BTC": Decimal("0.1"), "ETH": Decimal("3"),
    "SOL": Decimal("50"),
})


class ConnectionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """HTTP connection pool of one venue's REST client."""

    pool_size: Annotated[PositiveInt, doc("most open connections in the pool")] = 100
    pool_size_per_host: Annotated[PositiveInt, doc("most open connections to one host")] = 30
    dns_cache_ttl_s: Annotated[NonNegInt, doc("seconds a DNS answer is reused (0: never cached)")] = 300
    keepalive_timeout_s: Annotated[PositiveFloat, doc("seconds an idle connection is kept open")] = 30.0
    connect_timeout_s: Annotated[PositiveFloat, doc("seconds to establish a connection")] = 5.0


class RequestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of one kind of request (reads are retried; writes never are)."""

    timeout_s: Annotated[PositiveFloat, doc("seconds before a request times out")] = 10.0
    retries: Annotated[NonNegInt, doc("retries after a failed read (writes are never retried)")] = 3
    backoff_base_s: Annotated[PositiveFloat, doc("first retry delay; doubles per retry, jittered")] = 0.2
    backoff_max_s: Annotated[PositiveFloat, doc("longest retry delay")] = 5.0


MARKET_DATA_PRESET: Final = RequestConfig(
    timeout_s=10.0, retries=3, backoff_base_s=0.2, backoff_max_s=5.0
)
TRADING_PRESET: Final = RequestConfig(
    timeout_s=3.0, retries=0, backoff_base_s=0.05, backoff_max_s=1.0
)


class EngineConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    mode: Annotated[Literal["paper", "live"], doc(
        "paper: simulated fills against live books; live: real orders (needs --live and keys)")] = "paper"
    name: Annotated[str, doc("this engine's name, in /status and the start-up log line")] = "arb"
    data_dir: Annotated[str, doc(
        "directory of the journal and the persisted trading state")] = DEFAULT_DATA_DIR
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR"], doc(
        "log level (`arb-engine --log-level` overrides)")] = "INFO"
    log_format: Annotated[Literal["console", "json"], doc(
        "console lines for people, one JSON object per line for log shippers "
        "(`arb-engine --log-format` overrides)")] = "console"
    use_uvloop: Annotated[bool, doc("run the event loop on uvloop (asyncio's loop when false)")] = True
    paper_balances: Annotated[dict[str, Decimal], doc(
        "paper mode: starting balance per asset on every venue, exact decimals as strings; "
        "empty: USDT 10000, USDC 10000, BTC 0.1, ETH 3, SOL 50 (other assets 0)")] = {}
    balance_refresh_s: Annotated[PositiveFloat, doc(
        "live mode: seconds between re-reads of every venue's balances while no trade is in flight")] = 5.0
    fee_refresh_s: Annotated[PositiveFloat, doc(
        "live mode: taker fee rates are re-read from every venue this often (s)")] = 3600.0
    stale_book_s: Annotated[PositiveFloat, doc(
        "a synced book that has not changed for this long is resynced from a snapshot (a stalled "
        "stream); halted symbols' rules are re-read as often (s)")] = 30.0


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One venue. URLs default to the venue's real endpoints (owned by the venue package)."""

    enabled: Annotated[bool, doc("trade on this venue")] = True
    driver: Annotated[Literal["native", "ccxt"], doc(
        "native: arb's own connector (the registry's venues); ccxt: any exchange ccxt supports, by its id "
        "(`exchange`, default the section's name; `arb-engine venues` lists them)")] = "native"
    exchange: Annotated[str | None, doc(
        "driver = \"ccxt\": the ccxt exchange id when the section's name differs (e.g. \"gate\")")] = None
    rest_url: Annotated[str | None, doc("REST base URL, http(s)://host[:port] (default: the venue's)")] = None
    ws_url: Annotated[str | None, doc("market-data WebSocket URL, ws(s)://... (default: the venue's)")] = None
    ws_private_url: Annotated[str | None, doc(
        "user-stream WebSocket URL, ws(s)://... (default: the venue's; refused for a venue whose "
        "private channels share ws_url)")] = None
    taker_fee: Annotated[FeeRate | None, doc(
        "taker fee as a fraction, e.g. 0.001 (default: the venue's fee endpoint; paper: its schedule)"
    )] = None
    connection: Annotated[ConnectionConfig, doc("the REST connection pool")] = ConnectionConfig()
    market_data: Annotated[RequestConfig, doc("market-data reads (retried)")] = MARKET_DATA_PRESET
    trading: Annotated[RequestConfig, doc("order writes (never retried blindly)")] = TRADING_PRESET


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    min_net_bps: Annotated[PositiveFloat, doc(
        "smallest net spread after taker fees worth trading (bps)")] = 5.0
    max_net_bps: Annotated[PositiveFloat, doc(
        "larger net spreads are suspect quotes and are skipped (bps)")] = 200.0
    max_notional_per_order: Annotated[PositiveFloat, doc("largest order, in quote currency")] = 1000.0
    max_open_opportunities: Annotated[PositiveInt, doc("most trades in flight at once")] = 4
    max_orders_per_s: Annotated[PositiveFloat, doc("order rate limit across venues")] = 10.0
    max_daily_loss: Annotated[PositiveFloat, doc(
        "HALT when the day's realised loss reaches this (quote)")] = 100.0
    max_unhedged_notional: Annotated[PositiveFloat, doc(
        "HALT when one-legged exposure reaches this (quote); at least max_open_opportunities x "
        "max_notional_per_order, so ordinary one-legged trades at once never HALT")] = 5000.0
    max_consecutive_failures: Annotated[PositiveInt, doc(
        "failed orders in a row on a venue before its circuit opens")] = 3
    circuit_cooldown_s: Annotated[PositiveFloat, doc("seconds an open circuit keeps a venue out")] = 30.0
    max_book_age_ms: Annotated[PositiveInt, doc("books older than this are not traded on (ms)")] = 2000
    max_event_lag_ms: Annotated[PositiveInt, doc(
        "updates whose venue timestamp lags more than this are not traded on (ms)")] = 1000
    symbol_cooldown_ms: Annotated[NonNegInt, doc(
        "pause after a trade on a symbol before the next (ms)")] = 250
    inventory_min: Annotated[dict[str, Decimal], doc(
        "per asset: never let a venue's balance fall below this")] = {}
    inventory_max: Annotated[dict[str, Decimal], doc(
        "per asset: never let a venue's balance rise above this")] = {}


class ExecutorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slippage_bps: Annotated[NonNegFloat, doc("IOC limit prices this far past the quote (bps)")] = 2.0
    order_timeout_ms: Annotated[PositiveInt, doc(
        "an order without a final state after this is queried (ms)")] = 3000
    residual_deadline_ms: Annotated[PositiveInt, doc(
        "a one-legged trade is closed at market within this (ms)")] = 5000
    residual_max_bps: Annotated[PositiveFloat, doc(
        "worst price, versus the filled leg, accepted to close a one-legged trade (bps)")] = 50.0
    residual_max_attempts: Annotated[PositiveInt, doc("tries to close a one-legged trade before HALT")] = 3
    unknown_grace_ms: Annotated[PositiveInt, doc(
        "'not found' means 'never placed' only this long after the outcome became unknown, and only if "
        "open orders and recent trades agree (ms; must exceed every venue's trading.timeout_s, and how long "
        "a venue may hide a new order: seen up to 6 s)")] = 8000
    unknown_deadline_ms: Annotated[PositiveInt, doc(
        "an order still unresolved this long after its outcome became unknown HALTs trading, with the "
        "possible position range in the reason (ms)")] = 30000
    query_backoff_ms: Annotated[PositiveInt, doc("delay between queries of an unknown order (ms)")] = 200


class ObservabilityConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    metrics_host: Annotated[str, doc("address of /livez /readyz /metrics /status")] = "127.0.0.1"
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535), doc(
        "port of /livez /readyz /metrics /status (0: no HTTP server)")] = 9108
    loop_lag_warn_ms: Annotated[PositiveFloat, doc(
        "warn, and fail /readyz, when the event loop wakes this late (ms)")] = 50.0


class JournalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: Annotated[str | None, doc("the SQLite journal (default: <engine.data_dir>/journal.sqlite)")] = None
    sync: Annotated[Literal["normal", "full"], doc(
        "SQLite synchronous mode: full survives power loss, normal a crash of the process")] = "normal"


class UniverseConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How ``symbols = "auto"`` picks the pairs: every pair two enabled venues list, filtered (README)."""

    quotes: Annotated[list[str], doc("quote assets considered, e.g. [\"USDT\", \"USDC\"]")] = (
        msgspec.field(default_factory=lambda: ["USDT"]))
    min_quote_volume: Annotated[dict[str, NonNegFloat], doc(
        "per quote asset, a venue's 24 h volume (in it) to trade a pair: {USDT = 1e6, BTC = 15}")] = {}
    include: Annotated[list[str], doc("BASE/QUOTE pairs kept past the quote, volume and count filters")] = []
    exclude: Annotated[list[str], doc("pairs (BASE/QUOTE) or assets (BASE) never traded")] = []
    max_symbols: Annotated[PositiveInt, doc("most pairs, by volume on their second-best venue")] = 50
    refresh_s: Annotated[NonNegFloat, doc("seconds between re-discoveries (0: never)")] = 3600.0
    exclude_suspended_transfers: Annotated[bool, doc(
        "leave a venue out of a pair while either asset's deposits or withdrawals stop there")] = True


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole configuration. Build with `load_config` or `default_config`."""

    symbols: Annotated[list[str] | Literal["auto"], doc(
        "symbols to trade, BASE/QUOTE (e.g. [\"BTC/USDT\"]), or \"auto\": every pair two enabled venues "
        "list, filtered by [universe]; required")] = []
    universe: Annotated[UniverseConfig, doc("symbols = \"auto\": how the pairs are found")] = UniverseConfig()
    engine: Annotated[EngineConfig, doc("mode, data directory, logging, event loop, paper balances")] = (
        EngineConfig())
    venues: Annotated[dict[str, VenueConfig], doc(
        "venues to trade on, one table per venue by its registry name (an unknown name is refused "
        "with the list of known ones); omit the section: every venue of the registry")] = {}
    risk: Annotated[RiskConfig, doc("limits checked before every trade")] = RiskConfig()
    executor: Annotated[ExecutorConfig, doc("how orders are priced, timed out and recovered")] = (
        ExecutorConfig())
    observability: Annotated[ObservabilityConfig, doc("the HTTP health/metrics server and loop lag")] = (
        ObservabilityConfig())
    journal: Annotated[JournalConfig, doc("the SQLite journal of every decision, order and fill")] = (
        JournalConfig())

    @property
    def paper_start_balances(self) -> Mapping[str, Decimal]:
        """Paper mode's starting balance per asset: the configured ones, else `DEFAULT_PAPER_BALANCES`."""
        return self.engine.paper_balances or DEFAULT_PAPER_BALANCES

    @property
    def auto_symbols(self) -> bool:
        """``symbols = "auto"``: the pairs come from the venues' lists (`arb.universe`)."""
        return self.symbols == "auto"

    @property
    def symbol_list(self) -> tuple[Symbol, ...]:
        """The configured symbols (none with ``symbols = "auto"``: the universe finds them)."""
        return () if self.auto_symbols else tuple(Symbol.parse(s) for s in self.symbols)

    @property
    def enabled_venues(self) -> dict[str, VenueConfig]:
        """Configured and enabled venues by name, in a fixed order (the registry's)."""
        order = {name: i for i, name in enumerate(registry_names())}
        names = sorted(self.venues, key=lambda n: (order.get(n, len(order)), n))
        return {name: self.venues[name] for name in names if self.venues[name].enabled}

    @property
    def journal_path(self) -> Path:
        return Path(self.journal.path) if self.journal.path else Path(self.engine.data_dir) / "journal.sqlite"


def _registry_spec(name: str, venue: VenueConfig) -> Any:
    """The venue's spec as the registry builds it (a ccxt venue's is built from ccxt's description);
    looked up when a config is parsed, like the registry's names."""
    from arb.venues.registry import venue_spec

    return venue_spec(name, venue)


# --------------------------------------------------------------------------- loading

_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_AT_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _dotted(path: str) -> str:
    """`$.engine.mode` / `.symbols[1]` -> `engine.mode` / `symbols[1]`."""
    return path.lstrip(".") or "<root>"


def _lookup(raw: Mapping[str, Any], path: str) -> Any:
    node: Any = raw
    for part in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path):
        key, index = part
        try:
            node = node[key] if key else node[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, str]:
    """Write ``ARB__A__B=value`` overrides into `raw`; returns dotted path -> env var name."""
    applied = {}
    for name, text in sorted(environ.items()):
        if not name.upper().startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        if not all(parts):
            raise ConfigError(name, "malformed override name (use ARB__SECTION__KEY)")
        try:
            value: Any = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(".".join(parts), f"override {name} goes through a non-table value")
            node = child
        node[parts[-1]] = value
        applied[".".join(parts)] = name
    return applied


def _convert(data: Any, target: type[Any], prefix: str, overrides: Mapping[str, str]) -> Any:
    """msgspec.convert, its error as a `ConfigError` naming the dotted field (under `prefix`)."""
    try:
        return msgspec.convert(data, target, strict=False)
    except msgspec.ValidationError as exc:
        match = _AT_PATH.match(str(exc))
        message, path = (match["msg"], match["path"] or "") if match else (str(exc), "")
        value = _lookup(data, path)
        unknown = _UNKNOWN.search(message)
        if unknown:  # name the unknown field itself, not the table holding it
            path, value = f"{path}.{unknown[1]}", None
            message = "unknown field (sections and fields are listed by `arb-engine config schema`)"
        field = prefix + _dotted(path) if path else prefix.rstrip(".") or "<root>"
        if message.startswith("Invalid enum value"):
            choices = _choices(field)
            if choices:
                message = f"expected one of {', '.join(map(repr, choices))}"
        source = overrides.get(field)
        if source:
            message += f" (from environment variable {source})"
        raise ConfigError(field, message, value) from None


def _venues(tables: Any, overrides: Mapping[str, str]) -> dict[str, VenueConfig]:
    """The ``venues`` section: one table per registry venue (an unknown name lists the known)."""
    if not isinstance(tables, Mapping):
        raise ConfigError("venues", "expected a table of venue tables, e.g. [venues.NAME]", tables)
    known = registry_names()
    out = {}
    for name, table in tables.items():
        driver = table.get("driver", "native") if isinstance(table, Mapping) else "native"
        if name not in known and driver != "ccxt":
            raise ConfigError(f"venues.{name}", f"unknown venue (expected one of {', '.join(known)}, or "
                              "driver = \"ccxt\" with a ccxt exchange id: `arb-engine venues` lists them)")
        venue = _convert(table, VenueConfig, f"venues.{name}.", overrides)
        if venue.exchange is not None and venue.driver != "ccxt":
            raise ConfigError(f"venues.{name}.exchange", "only read with driver = \"ccxt\"", venue.exchange)
        if venue.driver == "ccxt":
            _registry_spec(name, venue)  # the ccxt id exists and can be driven (ConfigError otherwise)
        out[name] = venue
    return out


def parse_config(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    """Validate a decoded TOML document (plus environment overrides) into a `Config`."""
    data = msgspec.convert(raw, dict[str, Any])  # a deep copy we may modify
    if "venues" not in data:
        data["venues"] = {name: {} for name in registry_names()}
    overrides = _apply_env(data, {} if environ is None else environ)
    _fill_presets(data)
    venues = _venues(data.pop("venues"), overrides)  # venue by venue: errors name the venue
    config: Config = msgspec.structs.replace(_convert(data, Config, "", overrides), venues=venues)
    _check(config)
    return config


_PRESETS: Final = {"market_data": MARKET_DATA_PRESET, "trading": TRADING_PRESET}


def _fill_presets(data: dict[str, Any]) -> None:
    """A venue's `trading` / `market_data` table sets only what it names: the other keys keep the
    preset (``trading.retries = 1`` must not turn the 3 s order timeout into the 10 s read one)."""
    venues = data.get("venues")
    if not isinstance(venues, dict):
        return
    for table in venues.values():
        if not isinstance(table, dict):
            continue
        for key, preset in _PRESETS.items():
            given = table.get(key)
            if isinstance(given, dict):
                table[key] = {**msgspec.structs.asdict(preset), **given}


def _choices(field: str) -> tuple[Any, ...]:
    """The allowed values of a `Literal` field, by dotted name (empty when it is not one)."""
    node: Any = Config
    for name in field.split("."):
        if typing.get_origin(node) is dict:  # a table of tables (venues.NAME): `name` is the key
            node = typing.get_args(node)[1]
            continue
        hints = typing.get_type_hints(node) if isinstance(node, type) else {}
        if name not in hints:
            return ()
        node = hints[name]
        if typing.get_origin(node) is dict:  # a table of tables (venues.NAME): the next name is a key
            continue
        for arg in typing.get_args(node):  # `X | None`: the struct inside; `list | Literal`: the literal
            struct = isinstance(arg, type) and issubclass(arg, msgspec.Struct)
            if struct or typing.get_origin(arg) is Literal:
                node = arg
    return typing.get_args(node) if typing.get_origin(node) is Literal else ()


_URL_SCHEMES: Final = {"rest_url": ("http", "https"), "ws_url": ("ws", "wss"),
                       "ws_private_url": ("ws", "wss")}


def _check_url(field: str, text: str, schemes: tuple[str, ...]) -> None:
    url = urlsplit(text)
    if url.scheme not in schemes or not url.hostname:
        raise ConfigError(field, f"expected a URL {' or '.join(s + '://host[:port]' for s in schemes)}", text)
    try:
        url.port  # noqa: B018 (raises on a port that is not a number or out of range)
    except ValueError:
        raise ConfigError(field, "the URL's port is not a number in 1-65535", text) from None


def _check_symbols(field: str, texts: list[str], *, assets: bool = False) -> None:
    """Every entry a BASE/QUOTE symbol (or, with `assets`, an asset), none twice (names `field[i]`)."""
    seen: set[Symbol] = set()
    for i, text in enumerate(texts):
        if assets and text.isalnum():
            continue
        try:
            symbol = Symbol.parse(text)
        except ValueError:
            raise ConfigError(f"{field}[{i}]", "expected BASE/QUOTE, e.g. \"BTC/USDT\"", text) from None
        if symbol in seen:
            raise ConfigError(f"{field}[{i}]", "duplicate symbol", text)
        seen.add(symbol)


def _check(config: Config) -> None:
    for name, venue in config.enabled_venues.items():
        for key, schemes in _URL_SCHEMES.items():
            value = getattr(venue, key)
            if value is not None:
                _check_url(f"venues.{name}.{key}", value, schemes)
        if venue.ws_private_url is not None and not registry_private_socket(name):
            raise ConfigError(f"venues.{name}.ws_private_url",
                              "this venue's private channels share the market-data socket: "
                              "set ws_url instead",
                              venue.ws_private_url)
    for section, table in (("engine.paper_balances", config.engine.paper_balances),
                           ("risk.inventory_min", config.risk.inventory_min),
                           ("risk.inventory_max", config.risk.inventory_max)):
        for asset, amount in table.items():
            if not amount.is_finite() or amount < 0:
                raise ConfigError(f"{section}.{asset}", "must be a number >= 0", str(amount))
    if not config.symbols:
        raise ConfigError("symbols", "at least one symbol is required: symbols = [\"BTC/USDT\"] or \"auto\"")
    universe = config.universe
    for field, texts in (("symbols", config.symbols if isinstance(config.symbols, list) else []),
                         ("universe.include", universe.include), ("universe.exclude", universe.exclude)):
        _check_symbols(field, texts, assets=field == "universe.exclude")
    for i, asset in enumerate(universe.quotes):
        if not (asset.isalnum() and asset.isupper()):
            raise ConfigError(f"universe.quotes[{i}]", "expected an asset in capitals, e.g. \"USDT\"", asset)
    for asset in set(universe.min_quote_volume) - set(universe.quotes):
        raise ConfigError(f"universe.min_quote_volume.{asset}", f"not in universe.quotes {universe.quotes}")
    if len(config.enabled_venues) < 2:
        raise ConfigError(
            "venues", f"cross-venue arbitrage needs at least two enabled venues of {registry_names()}",
            sorted(config.enabled_venues),
        )
    risk, executor = config.risk, config.executor
    if risk.max_unhedged_notional < risk.max_open_opportunities * risk.max_notional_per_order:
        raise ConfigError(
            "risk.max_unhedged_notional",
            f"must be at least risk.max_open_opportunities x risk.max_notional_per_order "
            f"({risk.max_open_opportunities} x {risk.max_notional_per_order}): ordinary one-legged trades "
            "at once would HALT the engine", risk.max_unhedged_notional,
        )
    for name, venue in config.enabled_venues.items():
        if executor.unknown_grace_ms <= venue.trading.timeout_s * 1000:
            raise ConfigError(
                "executor.unknown_grace_ms",
                f"must exceed venues.{name}.trading.timeout_s ({venue.trading.timeout_s} s): an order whose "
                "write timed out may not be visible yet", executor.unknown_grace_ms,
            )
    if executor.unknown_deadline_ms <= executor.unknown_grace_ms:
        raise ConfigError("executor.unknown_deadline_ms", "must exceed executor.unknown_grace_ms",
                          executor.unknown_deadline_ms)
    if config.risk.min_net_bps >= config.risk.max_net_bps:
        raise ConfigError(
            "risk.max_net_bps", f"must be greater than risk.min_net_bps ({config.risk.min_net_bps})",
            config.risk.max_net_bps,
        )


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, override from the environment (default: `os.environ`) and validate a TOML file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(FILE_FIELD, f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(FILE_FIELD, f"cannot read {file}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(FILE_FIELD, f"{file} is not valid TOML: {exc}") from None
    return parse_config(raw, os.environ if environ is None else environ)


def default_config(
    symbols: list[str] | str | None = None,
    venues: list[str] | Mapping[str, Mapping[str, Any]] | None = None,
    **sections: Any,
) -> Config:
    """A valid config without a file (the demo's): every registry venue unless `venues` names some
    (a list of names, or name -> venue table such as URL overrides)."""
    tables = venues if isinstance(venues, Mapping) else {name: {} for name in (venues or registry_names())}
    raw: dict[str, Any] = {
        "symbols": symbols or ["BTC/USDT", "ETH/USDT"],
        "venues": {name: dict(table) for name, table in tables.items()},
    }
    raw.update(sections)
    return parse_config(raw)


STARTER_CONFIG: Final = """\
# arb configuration (written by `arb-engine config init`). Only `symbols` is required: every other
# line shows its default; uncomment and change what you need. `arb-engine config schema` describes
# every field; `arb-engine config validate FILE` checks a file.
#
# Paper mode by default: simulated fills against the venues' live books, no keys needed.
# API keys never go in this file: live mode reads ARB_<VENUE>_API_KEY / ARB_<VENUE>_API_SECRET
# (and ARB_<VENUE>_API_PASSPHRASE for a venue that issues one) from the environment.
# Any field can be overridden from the environment: ARB__RISK__MIN_NET_BPS=7.

symbols = ["BTC/USDT", "ETH/USDT"]   # BASE/QUOTE, traded on every enabled venue that lists them

[engine]
mode = "paper"                 # "paper" or "live" (live also needs `arb-engine run --live`)
data_dir = "./arb-data"        # the journal (journal.sqlite) and the persisted HALT state
# log_level = "INFO"           # DEBUG, INFO, WARNING, ERROR
# log_format = "console"       # or "json": one object per line
# use_uvloop = true            # uvloop event loop (false: asyncio's own)

# Paper balances on every venue. Without this table: USDT 10000, USDC 10000, BTC 0.1, ETH 3,
# SOL 50 (other assets 0). A symbol trades only where the seller holds the base asset.
# [engine.paper_balances]
# USDT = "10000"
# BTC = "0.1"

# Venues: every venue arb knows when the section is left out. Give each a table to pick some.
{venue_tables}
# taker_fee = 0.001            # per venue, a fraction (default: the venue's fee schedule)

[risk]
min_net_bps = 5.0              # smallest net spread after taker fees worth trading
max_notional_per_order = 1000.0   # quote currency per order
max_daily_loss = 100.0         # HALT at this realised loss in a day (quote)
# max_unhedged_notional = 2000.0   # HALT at this one-legged exposure (quote)

[observability]
metrics_port = 9108            # /livez /readyz /metrics /status on 127.0.0.1 (0: off)
# loop_lag_warn_ms = 50.0
"""


def starter_config() -> str:
    """The commented starter file `arb-engine config init` writes (it validates as is)."""
    return STARTER_CONFIG.replace("{venue_tables}", "\n".join(f"# [venues.{n}]" for n in registry_names()))


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the config file."""
    return msgspec.json.schema(Config)


def describe(config: Config, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The effective config as plain data, plus which venues have credentials (masked)."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = msgspec.to_builtins(config)
    out["credentials"] = {name: _credential_state(name, env) for name in registry_names()}
    return out


def _credential_state(venue: str, environ: Mapping[str, str]) -> str:
    try:
        return "present (****)" if load_credentials(venue, environ) else "absent"
    except ConfigError as exc:
        return f"incomplete: {exc.detail}"
