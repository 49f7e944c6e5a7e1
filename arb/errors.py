"""The exception hierarchy of arb, and nothing else.

Only `ArbError` subclasses cross module boundaries. Exchange errors keep the venue, the HTTP
status and the venue's raw code (`api_code`: an int for MEXC/Binance, a label for Gate) so callers
branch on types and codes, never on message text.
"""

from __future__ import annotations

from typing import Final


class ArbError(Exception):
    """Root of every error arb raises."""


FILE_FIELD: Final = "<file>"  # a ConfigError about the config file itself, not one field


class ConfigError(ArbError):
    """The configuration is invalid: names the field, the value and what was expected."""

    def __init__(self, field: str, message: str, value: object = None) -> None:
        self.field = field
        self.value = value
        self.detail = message
        shown = "" if value is None else f" (got {value!r})"
        # the whole file (`<file>`: the message names it), a command-line flag or an environment
        # variable (ARB_<VENUE>_API_PASSPHRASE), else a config field
        where = ("" if field == FILE_FIELD else f"{field}: " if field.startswith("-") or field.isupper()
                 else f"config field `{field}`: ")
        super().__init__(f"{where}{message}{shown}")


class SequenceGapError(ArbError):
    """A diff stream skipped or repeated an update id: the book must resync."""

    def __init__(self, venue: str, symbol: str, expected: int, got: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.expected = expected
        self.got = got
        super().__init__(f"{venue} {symbol}: sequence gap, expected {expected}, got {got}")


class DecodeError(ArbError):
    """A wire message could not be decoded into its typed form."""

    def __init__(self, venue: str, what: str, message: str, sample: object = b"") -> None:
        self.venue = venue
        self.what = what
        if isinstance(sample, str):
            raw = sample
        else:  # bytes, bytearray, memoryview, msgspec.Raw: anything with the buffer protocol
            try:
                raw = bytes(memoryview(sample))[:200].decode("utf-8", "replace")  # type: ignore[arg-type]
            except TypeError:
                raw = repr(sample)
        self.sample = raw[:200]
        super().__init__(f"{venue}: cannot decode {what}: {message}")


class ExchangeError(ArbError):
    """An error reported by (or about) a venue.

    Parameters
    ----------
    venue:
        Venue name, as the registry spells it (`arb.venues.registry.VENUES`).
    message:
        Human-readable text (the venue's own message when it sent one).
    http_status:
        HTTP status of the response, ``None`` for WebSocket or transport errors.
    api_code:
        The venue's raw error code or label, kept verbatim.
    """

    def __init__(
        self,
        venue: str,
        message: str,
        *,
        http_status: int | None = None,
        api_code: int | str | None = None,
    ) -> None:
        self.venue = venue
        self.message = message
        self.http_status = http_status
        self.api_code = api_code
        parts = [venue]
        if http_status is not None:
            parts.append(f"HTTP {http_status}")
        if api_code is not None:
            parts.append(f"code {api_code}")
        super().__init__(f"[{' '.join(parts)}] {message}")


class RateLimitError(ExchangeError):
    """The venue rate-limited us (HTTP 429 or equivalent); `retry_after` in seconds if known."""

    def __init__(
        self,
        venue: str,
        message: str,
        *,
        http_status: int | None = None,
        api_code: int | str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(venue, message, http_status=http_status, api_code=api_code)
        self.retry_after = retry_after


class IPBannedError(RateLimitError):
    """The venue banned this IP (HTTP 418): all REST to it halts until `retry_after` passes."""


class AuthenticationError(ExchangeError):
    """Bad key, bad signature, missing permission or IP not whitelisted."""


class InsufficientBalanceError(ExchangeError):
    """Not enough free balance for the order."""


class OrderNotFoundError(ExchangeError):
    """The venue does not know the order (yet, or any more)."""


class InvalidSymbolError(ExchangeError):
    """The symbol does not exist or is not enabled for this key."""


class InvalidOrderError(ExchangeError):
    """The order breaks a venue rule (precision, min/max quantity or notional, bad parameter)."""


class TradingDisabledError(ExchangeError):
    """Trading is halted for the symbol or disabled for the account."""


class TimestampError(ExchangeError):
    """The request's timestamp was outside the venue's receive window."""


class ExchangeUnavailableError(ExchangeError):
    """The venue is down, overloaded or unreachable (5xx, timeouts, refused connections)."""


class OrderOutcomeUnknownError(ExchangeUnavailableError):
    """A write (order placement or cancel) may or may not have happened.

    Raised on a timeout, dropped response or 5xx after an order request was sent. Never retry
    blindly: resolve by querying the order by its client order id.
    """

    def __init__(
        self,
        venue: str,
        message: str,
        *,
        client_order_id: str | None = None,
        http_status: int | None = None,
        api_code: int | str | None = None,
    ) -> None:
        super().__init__(venue, message, http_status=http_status, api_code=api_code)
        self.client_order_id = client_order_id


class JournalError(ArbError):
    """The journal cannot record: its writer failed (disk full, I/O error) or a write was refused.

    Once the writer has failed every pending and later `Journal.flush()` raises this at once.
    """

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.detail = message
        super().__init__(f"journal {path}: {message}")


class DuplicateIntentError(JournalError):
    """An order intent reused a client order id the journal already holds (never merged)."""

    def __init__(self, path: str, client_order_id: str) -> None:
        self.client_order_id = client_order_id
        super().__init__(path, f"client order id {client_order_id!r} is already journaled")


class DataDirLockedError(ConfigError):
    """Another engine holds the data dir's lock: two engines on one journal would lose fills."""

    def __init__(self, data_dir: str, holder: str = "") -> None:
        who = f" (held by {holder})" if holder else ""
        super().__init__("engine.data_dir", f"another engine is running on this data dir{who}; "
                         "stop it or give this one its own data_dir", data_dir)
