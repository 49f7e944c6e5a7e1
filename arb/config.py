"""TOML file + environment -> one frozen, validated `Config`, checked once at start-up.

- One TOML file decoded by msgspec into frozen Structs: sections ``engine``, ``venues.<name>``,
  ``symbols``, ``risk``, ``executor``, ``observability``, ``journal``.
- Environment overrides ``ARB__SECTION__KEY=value`` (``ARB__VENUES__BINANCE__TAKER_FEE=0.0008``),
  values read as TOML scalars, applied before validation.
- API keys only from the environment (``ARB_<VENUE>_API_KEY`` / ``ARB_<VENUE>_API_SECRET``), wrapped
  in `Secret`, whose repr is masked. The file cannot hold keys (unknown fields are rejected).
- Anything wrong raises `ConfigError` naming the field, the value and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import msgspec

from arb.errors import ConfigError
from arb.model import Symbol

VENUE_NAMES: Final = ("binance", "gateio", "mexc")
ENV_PREFIX: Final = "ARB__"

PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegFloat = Annotated[float, msgspec.Meta(ge=0)]
PositiveInt = Annotated[int, msgspec.Meta(gt=0)]
NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
FeeRate = Annotated[float, msgspec.Meta(ge=0, lt=0.01)]


class ConnectionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """HTTP connection pool of one venue's REST client."""

    pool_size: PositiveInt = 100
    pool_size_per_host: PositiveInt = 30
    dns_cache_ttl_s: NonNegInt = 300
    keepalive_timeout_s: PositiveFloat = 30.0
    connect_timeout_s: PositiveFloat = 5.0


class RequestConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of one kind of request (reads are retried; writes never are)."""

    timeout_s: PositiveFloat = 10.0
    retries: NonNegInt = 3
    backoff_base_s: PositiveFloat = 0.2
    backoff_max_s: PositiveFloat = 5.0
    concurrency: PositiveInt = 16


MARKET_DATA_PRESET: Final = RequestConfig(
    timeout_s=10.0, retries=3, backoff_base_s=0.2, backoff_max_s=5.0, concurrency=16
)
TRADING_PRESET: Final = RequestConfig(
    timeout_s=3.0, retries=0, backoff_base_s=0.05, backoff_max_s=1.0, concurrency=8
)


class EngineConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    mode: Literal["paper", "live"] = "paper"
    name: str = "arb"
    data_dir: str = "./arb-data"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["console", "json"] = "console"
    use_uvloop: bool = True
    # paper mode: starting balance per asset on every venue (base assets are needed to sell)
    paper_balances: dict[str, Decimal] = {}
    # live mode: balances are re-read from every venue this often while no trade is in flight
    balance_refresh_s: PositiveFloat = 5.0


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One venue. URLs default to the venue's real endpoints (owned by the venue package)."""

    enabled: bool = True
    rest_url: str | None = None
    ws_url: str | None = None
    ws_private_url: str | None = None
    taker_fee: FeeRate | None = None
    maker_fee: FeeRate | None = None
    max_streams_per_connection: PositiveInt | None = None
    connection: ConnectionConfig = ConnectionConfig()
    market_data: RequestConfig = MARKET_DATA_PRESET
    trading: RequestConfig = TRADING_PRESET


class VenuesConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    binance: VenueConfig | None = None
    gateio: VenueConfig | None = None
    mexc: VenueConfig | None = None


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    min_net_bps: PositiveFloat = 5.0
    max_net_bps: PositiveFloat = 200.0  # "too good to be true": above this a quote is suspect
    max_notional_per_order: PositiveFloat = 1000.0
    max_open_opportunities: PositiveInt = 4
    max_orders_per_s: PositiveFloat = 10.0
    max_daily_loss: PositiveFloat = 100.0
    # >= max_open_opportunities x max_notional_per_order: ordinary one-legged trades at once never HALT
    max_unhedged_notional: PositiveFloat = 5000.0
    max_consecutive_failures: PositiveInt = 3
    circuit_cooldown_s: PositiveFloat = 30.0
    max_book_age_ms: PositiveInt = 2000
    max_event_lag_ms: PositiveInt = 1000
    symbol_cooldown_ms: NonNegInt = 250
    inventory_min: dict[str, Decimal] = {}
    inventory_max: dict[str, Decimal] = {}


class ExecutorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    slippage_bps: NonNegFloat = 2.0
    order_timeout_ms: PositiveInt = 3000
    residual_deadline_ms: PositiveInt = 5000
    residual_max_bps: PositiveFloat = 50.0
    residual_max_attempts: PositiveInt = 3
    # "not found" means "never placed" only this long after the outcome became unknown (> write timeout)
    unknown_grace_ms: PositiveInt = 5000
    # an order still unresolved this long after it became unknown HALTs trading (position range given)
    unknown_deadline_ms: PositiveInt = 30000
    query_backoff_ms: PositiveInt = 200


class ObservabilityConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    metrics_host: str = "127.0.0.1"
    metrics_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 9108  # 0 = disabled
    loop_lag_warn_ms: PositiveFloat = 50.0


class JournalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: str | None = None  # None: <engine.data_dir>/journal.sqlite
    sync: Literal["normal", "full"] = "normal"
    batch_ms: NonNegFloat = 5.0


class Config(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The whole configuration. Build with `load_config` or `default_config`."""

    symbols: list[str] = []
    engine: EngineConfig = EngineConfig()
    venues: VenuesConfig = VenuesConfig()
    risk: RiskConfig = RiskConfig()
    executor: ExecutorConfig = ExecutorConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    journal: JournalConfig = JournalConfig()

    @property
    def symbol_list(self) -> tuple[Symbol, ...]:
        return tuple(Symbol.parse(s) for s in self.symbols)

    @property
    def enabled_venues(self) -> dict[str, VenueConfig]:
        """Configured and enabled venues by name, in a fixed order."""
        out = {}
        for name in VENUE_NAMES:
            venue = getattr(self.venues, name)
            if venue is not None and venue.enabled:
                out[name] = venue
        return out

    @property
    def journal_path(self) -> Path:
        return Path(self.journal.path) if self.journal.path else Path(self.engine.data_dir) / "journal.sqlite"


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
    """API credentials of one venue (from the environment only)."""

    venue: str
    api_key: Secret
    api_secret: Secret


def credential_env_names(venue: str) -> tuple[str, str]:
    upper = venue.upper()
    return f"ARB_{upper}_API_KEY", f"ARB_{upper}_API_SECRET"


def load_credentials(venue: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The venue's keys from the environment, or None when either is absent or empty."""
    env = os.environ if environ is None else environ
    key_name, secret_name = credential_env_names(venue)
    key, secret = env.get(key_name, ""), env.get(secret_name, "")
    if not key or not secret:
        return None
    return Credentials(venue, Secret(key), Secret(secret))


# --------------------------------------------------------------------------- loading

_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_AT_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _dotted(path: str) -> str:
    """`$.venues.binance.taker_fee` / `.symbols[1]` -> `venues.binance.taker_fee` / `symbols[1]`."""
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


def parse_config(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Config:
    """Validate a decoded TOML document (plus environment overrides) into a `Config`."""
    data = msgspec.convert(raw, dict[str, Any])  # a deep copy we may modify
    if "venues" not in data:
        data["venues"] = {name: {} for name in VENUE_NAMES}
    overrides = _apply_env(data, {} if environ is None else environ)
    try:
        config = msgspec.convert(data, Config, strict=False)
    except msgspec.ValidationError as exc:
        match = _AT_PATH.match(str(exc))
        message, path = (match["msg"], match["path"] or "") if match else (str(exc), "")
        value = _lookup(data, path)
        unknown = _UNKNOWN.search(message)
        if unknown:  # name the unknown field itself, not the table holding it
            parent, path, value = path, f"{path}.{unknown[1]}", None
            message = (
                f"unknown venue (expected one of {', '.join(VENUE_NAMES)})" if parent == ".venues"
                else "unknown field (sections and fields are listed by `arb-engine config schema`)"
            )
        field = _dotted(path)
        source = overrides.get(field)
        if source:
            message += f" (from environment variable {source})"
        raise ConfigError(field, message, value) from None
    _check(config)
    return config


def _check(config: Config) -> None:
    if not config.symbols:
        raise ConfigError("symbols", "at least one symbol is required, e.g. symbols = [\"BTC/USDT\"]")
    seen: set[Symbol] = set()
    for i, text in enumerate(config.symbols):
        try:
            symbol = Symbol.parse(text)
        except ValueError:
            raise ConfigError(f"symbols[{i}]", "expected BASE/QUOTE, e.g. \"BTC/USDT\"", text) from None
        if symbol in seen:
            raise ConfigError(f"symbols[{i}]", "duplicate symbol", text)
        seen.add(symbol)
    if len(config.enabled_venues) < 2:
        raise ConfigError(
            "venues", f"cross-venue arbitrage needs at least two enabled venues of {VENUE_NAMES}",
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
        raise ConfigError("<file>", f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError("<file>", f"cannot read {file}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("<file>", f"{file} is not valid TOML: {exc}") from None
    return parse_config(raw, os.environ if environ is None else environ)


def default_config(
    symbols: list[str] | None = None,
    venues: list[str] | Mapping[str, Mapping[str, Any]] | None = None,
    **sections: Any,
) -> Config:
    """A valid config without a file (the demo's): all three venues unless `venues` names some
    (a list of names, or name -> venue table such as URL overrides)."""
    tables = venues if isinstance(venues, Mapping) else {name: {} for name in (venues or VENUE_NAMES)}
    raw: dict[str, Any] = {
        "symbols": symbols or ["BTC/USDT", "ETH/USDT"],
        "venues": {name: dict(table) for name, table in tables.items()},
    }
    raw.update(sections)
    return parse_config(raw)


def config_schema() -> dict[str, Any]:
    """The JSON Schema of the config file."""
    return msgspec.json.schema(Config)


def describe(config: Config, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The effective config as plain data, plus which venues have credentials (masked)."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = msgspec.to_builtins(config)
    out["credentials"] = {
        name: ("present (****)" if load_credentials(name, env) else "absent") for name in VENUE_NAMES
    }
    return out
