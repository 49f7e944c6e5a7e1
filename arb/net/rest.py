"""[1] RestClient: one aiohttp session per venue, rate-limited, signed, typed, and honest on writes.

- Every request waits on the venue's `RateLimiter` (the pools and weights it names), is signed by
  the venue's `RequestSigner` with venue time, and decodes 2xx bodies with a msgspec decoder cached
  per type on the client.
- Errors go through the venue's `ErrorDecoder` + `ErrorClassifier` into `arb.errors` with the raw
  code kept; 429 freezes the limiter for Retry-After, 418 halts it.
- Reads (idempotent) are retried with jittered exponential backoff on transport errors, timeouts,
  5xx and 429. Writes are never retried: a timeout, dropped connection or 5xx after an order was
  sent raises `OrderOutcomeUnknownError` carrying the client order id, for the order layer to
  resolve by query. So does any status whose api code the venue's table classifies as
  `OrderOutcomeUnknownError` (its `OUTCOME_UNKNOWN_CODES`: Binance -1007 comes with a 4xx or a 5xx),
  and a 2xx write reply whose body cannot be decoded (the venue took the order; its fate is unread).
  Connectors that decode write replies themselves use `decode_write_reply` for the same rule.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Final, TypeVar

import aiohttp
import msgspec

from arb.config import ConnectionConfig, RequestConfig
from arb.errors import (
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    OrderOutcomeUnknownError,
    RateLimitError,
)
from arb.net.contract import ErrorClassifier, ErrorDecoder, Params, RequestSigner
from arb.net.ratelimit import Priority, RateLimiter

T = TypeVar("T")
LATENCY_BUCKETS_S: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RETRYABLE_STATUS: Final = frozenset({429, 500, 502, 503, 504})
JITTER_MIN: Final = 0.5  # backoff waits are delay * uniform(JITTER_MIN, JITTER_MIN + 1)
TRANSPORT_FAILURE_STATUS: Final = 0  # status recorded when no response arrived


class RestMetrics:
    """Plain counters and fixed-bucket latency histograms (an `arb.obs` module exports them)."""

    def __init__(self) -> None:
        self.latency: dict[str, list[int]] = {}  # endpoint -> counts per bucket (+inf last)
        self.status: dict[int, int] = {}
        self.retries = 0
        self.rate_limited = 0
        self.banned = 0
        self.limiter_wait_s = 0.0
        self.connections_created = 0
        self.connections_reused = 0

    def observe(self, endpoint: str, seconds: float, status: int) -> None:
        buckets = self.latency.setdefault(endpoint, [0] * (len(LATENCY_BUCKETS_S) + 1))
        for i, edge in enumerate(LATENCY_BUCKETS_S):
            if seconds <= edge:
                buckets[i] += 1
                break
        else:
            buckets[-1] += 1
        self.status[status] = self.status.get(status, 0) + 1

    @property
    def reuse_ratio(self) -> float:
        total = self.connections_created + self.connections_reused
        return self.connections_reused / total if total else 0.0

    def trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()

        async def created(*_: Any) -> None:
            self.connections_created += 1

        async def reused(*_: Any) -> None:
            self.connections_reused += 1

        trace.on_connection_create_end.append(created)
        trace.on_connection_reuseconn.append(reused)
        return trace


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def decode_write_reply(venue: str, what: str, client_order_id: str | None, decode: Callable[[], T]) -> T:
    """`decode()` of a 2xx reply to a write; a body that fails to decode makes the outcome unknown.

    The venue accepted the request, so the order (or cancel) may well have happened: the caller
    must resolve it by query, never take it as rejected.
    """
    try:
        return decode()
    except DecodeError as exc:
        raise OrderOutcomeUnknownError(venue, f"{what}: unreadable reply: {exc}",
                                       client_order_id=client_order_id) from None


class RestClient:
    """REST transport for one venue.

    Parameters
    ----------
    venue:
        Venue name (on every error).
    base_url:
        Scheme and host (``https://api.binance.com`` or a simulator's ``http://127.0.0.1:PORT``).
    clock_ms:
        Venue time in ms for signatures (the venue's `ServerClock` once synchronised).
    """

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        connection: ConnectionConfig,
        decode_error: ErrorDecoder,
        error_class: ErrorClassifier,
        limiter: RateLimiter | None = None,
        signer: RequestSigner | None = None,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        metrics: RestMetrics | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self._connection = connection
        self._decode_error = decode_error
        self._error_class = error_class
        self.limiter = limiter
        self.signer = signer
        self._clock_ms = clock_ms
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._session: aiohttp.ClientSession | None = None
        self._closed = False  # closed for good: a request now would open a session nobody closes
        self._decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
        self.metrics = metrics if metrics is not None else RestMetrics()

    # ------------------------------------------------------------------ session

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            cfg = self._connection
            connector = aiohttp.TCPConnector(
                limit=cfg.pool_size, limit_per_host=cfg.pool_size_per_host, ttl_dns_cache=cfg.dns_cache_ttl_s,
                keepalive_timeout=cfg.keepalive_timeout_s,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trace_configs=[self.metrics.trace_config()],
                timeout=aiohttp.ClientTimeout(connect=cfg.connect_timeout_s),
            )
            # aiohttp silently resends PUT/DELETE once when the connection drops; a resent cancel
            # would turn "outcome unknown" into "order not found". Every retry here is ours (and
            # counted); there is no public switch, aiohttp's own test client sets the same flag.
            self._session._retry_connection = False
        return self._session

    async def close(self) -> None:
        """Close for good: a request after this raises `ExchangeUnavailableError`, sending nothing."""
        self._closed = True
        await self.drop_pool()

    async def drop_pool(self) -> None:
        """Close the connection pool; the next request opens a fresh one."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _decoder(self, spec: Any) -> msgspec.json.Decoder[Any]:
        if isinstance(spec, msgspec.json.Decoder):
            return spec
        decoder = self._decoders.get(spec)
        if decoder is None:
            decoder = self._decoders[spec] = msgspec.json.Decoder(spec, strict=False)
        return decoder

    # ------------------------------------------------------------------ requests

    async def request(
        self,
        method: str,
        path: str,
        *,
        kind: RequestConfig,
        params: Params = (),
        body: bytes = b"",
        signed: bool = False,
        draws: Mapping[str, int] | None = None,
        priority: Priority = Priority.NORMAL,
        decode: Any = None,
        client_order_id: str | None = None,
        idempotent: bool | None = None,
        endpoint: str | None = None,
    ) -> Any:
        """Send one request and return its decoded body.

        `decode` is a type (its decoder is built once and cached on this client), a ready
        ``msgspec.json.Decoder``, or None for the raw bytes. `draws` are the limiter pools and
        weights this request costs. Reads are retried up to ``kind.retries`` times; writes (anything
        but GET unless `idempotent`) never: see the module docstring. `endpoint` names the request
        in the metrics when `path` carries an id (Gate's ``/spot/orders/{order_id}``).
        """
        idempotent = method == "GET" if idempotent is None else idempotent
        attempts = kind.retries + 1 if idempotent else 1
        delay = kind.backoff_base_s
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return await self._once(method, path, kind, params, body, signed, draws, priority, decode,
                                        client_order_id, idempotent, endpoint or path)
            except _Retry as retry:
                if last:
                    raise retry.error from None
                self.metrics.retries += 1
                # the venue's Retry-After wins over our own schedule, even beyond backoff_max
                wait = retry.after if retry.after is not None else min(
                    delay * (JITTER_MIN + self._rng.random()), kind.backoff_max_s)
                await self._sleep(wait)
                delay = min(delay * 2, kind.backoff_max_s)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(
        self, method: str, path: str, kind: RequestConfig, params: Params, body: bytes, signed: bool,
        draws: Mapping[str, int] | None, priority: Priority, decode: Any, client_order_id: str | None,
        idempotent: bool, endpoint: str,
    ) -> Any:
        if self._closed:  # nothing is sent (a stopped engine's background task asking late)
            raise ExchangeUnavailableError(self.venue, f"{method} {path}: the client is closed")
        if self.limiter is not None and draws:
            started = time.perf_counter()
            await self.limiter.acquire(draws, priority)
            self.metrics.limiter_wait_s += time.perf_counter() - started
        headers: Mapping[str, str] = {}
        query = "&".join(f"{k}={v}" for k, v in params)
        if signed:
            if self.signer is None:
                raise ExchangeError(self.venue, f"{method} {path} needs credentials but none are configured")
            signed_req = self.signer.sign(method, path, params, body, self._clock_ms())
            query, body, headers = signed_req.query, signed_req.body, signed_req.headers
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        started = time.perf_counter()
        try:
            async with self._http().request(
                method, url, data=body or None, headers=headers,
                # a request's timeout replaces the session's: the connect limit is restated here
                timeout=aiohttp.ClientTimeout(total=kind.timeout_s,
                                              connect=self._connection.connect_timeout_s),
            ) as resp:
                payload = await resp.read()
                status = resp.status
                resp_headers = resp.headers
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            self.metrics.observe(endpoint, time.perf_counter() - started, TRANSPORT_FAILURE_STATUS)
            reason = f"{method} {path}: {type(exc).__name__} {exc}".strip()
            if idempotent:
                raise _Retry(ExchangeUnavailableError(self.venue, reason)) from None
            raise OrderOutcomeUnknownError(self.venue, reason, client_order_id=client_order_id) from None
        self.metrics.observe(endpoint, time.perf_counter() - started, status)
        if self.limiter is not None:
            self.limiter.update_from_headers(resp_headers)
        if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            if decode is None:
                return payload
            try:
                return self._decoder(decode).decode(payload)
            except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
                text = f"{method} {path}: unexpected response: {exc}"
                if not idempotent:  # the venue took the write: its fate is in the body we cannot read
                    raise OrderOutcomeUnknownError(self.venue, text, client_order_id=client_order_id,
                                                   http_status=status) from None
                raise ExchangeError(self.venue, text, http_status=status) from None
        raise self._error(method, path, status, payload, resp_headers, client_order_id, idempotent)

    def _error(self, method: str, path: str, status: int, payload: bytes, headers: Mapping[str, str],
               client_order_id: str | None, idempotent: bool) -> Exception:
        api_code, message = self._decode_error(status, payload)
        cls = self._error_class(status, api_code)
        text = f"{method} {path}: {message}"
        retry_after = _retry_after(headers)
        if status == HTTPStatus.IM_A_TEAPOT:
            self.metrics.banned += 1
            if self.limiter is not None:
                self.limiter.on_banned(retry_after, f"{method} {path}")
        elif status == HTTPStatus.TOO_MANY_REQUESTS:
            self.metrics.rate_limited += 1
            if self.limiter is not None:
                self.limiter.on_rate_limited(retry_after, f"{method} {path}")
        outcome_unknown = issubclass(cls, OrderOutcomeUnknownError)  # the venue's "status unknown" codes
        if issubclass(cls, RateLimitError):
            error: ExchangeError = cls(self.venue, text, http_status=status, api_code=api_code,
                                       retry_after=retry_after)
        elif not idempotent and (outcome_unknown or status >= HTTPStatus.INTERNAL_SERVER_ERROR):
            return OrderOutcomeUnknownError(self.venue, text, client_order_id=client_order_id,
                                            http_status=status, api_code=api_code)
        elif outcome_unknown:  # a read has no outcome to lose: the venue is merely unavailable
            error = ExchangeUnavailableError(self.venue, text, http_status=status, api_code=api_code)
        else:
            error = cls(self.venue, text, http_status=status, api_code=api_code)
        if idempotent and status in RETRYABLE_STATUS:
            return _Retry(error, retry_after)
        return error

    async def batch(self, requests: Sequence[Callable[[], Awaitable[T]]], concurrency: int
                    ) -> list[T | BaseException]:
        """Run request factories concurrently; results (or the exceptions raised) in order.

        At most `concurrency` are in flight; the rate limiter still decides when each one is sent.
        """
        gate = asyncio.Semaphore(concurrency)

        async def run(factory: Callable[[], Awaitable[T]]) -> T:
            async with gate:
                return await factory()

        return await asyncio.gather(*(run(f) for f in requests), return_exceptions=True)

    async def health_check(self, path: str, kind: RequestConfig) -> tuple[bool, int]:
        """(healthy, round-trip ns) from the venue's time endpoint; never raises venue errors."""
        started = time.perf_counter_ns()
        try:
            await self.request("GET", path, kind=kind)
        except ExchangeError:
            return False, time.perf_counter_ns() - started
        return True, time.perf_counter_ns() - started


class _Retry(Exception):
    """Internal: a retryable failure of an idempotent request."""

    def __init__(self, error: ExchangeError, after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.after = after
