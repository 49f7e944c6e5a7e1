"""Cluster settings, the NATS connection and the buckets and stream every worker shares.

Names (one NATS account holds one cluster):

- KV ``arb_leases`` (entries expire after `lease_s`): ``member.<worker>`` heartbeats and
  ``lease.<symbol>`` ownership;
- KV ``arb_ledger`` (no expiry, history kept for audits): ``<venue>.<asset>`` funds and holdings;
- KV ``arb_state``: ``trading``, the cluster's trading state; broadcast on ``arb.cluster.state``;
- stream ``ARB_EVENTS`` on ``arb.events.>``: what every worker did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import NamedTuple
from urllib.parse import urlparse

import msgspec
import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.kv import KeyValue

from arb.errors import ArbError, ConfigError

log = logging.getLogger(__name__)

LEASES_BUCKET = "arb_leases"
LEDGER_BUCKET = "arb_ledger"
STATE_BUCKET = "arb_state"
STATE_KEY = "trading"
STATE_SUBJECT = "arb.cluster.state"
EVENTS_STREAM = "ARB_EVENTS"
EVENTS_SUBJECT = "arb.events"
LEDGER_HISTORY = 64  # revisions kept per ledger key (the no-double-spend audit reads them)
WORKER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_LEASE_S = 1.0  # JetStream expires entries on a timer: shorter leases would flap
MAX_LEASE_S = 600.0
NATS_TIMEOUT_S = 2.0
DEFAULT_LEASE_S = 3.0
# entries expire after this share of the lease period, renewed every fifth of it (three renewals may
# fail or be late before one expires): a dead worker's leases are gone within 3/5 of a lease, and
# the others take them within the next fifth
EXPIRY_SHARE = 0.6
TICKS_PER_LEASE = 5


class ClusterError(ArbError):
    """The cluster cannot be reached or refused an operation."""


class ClusterSettings(msgspec.Struct, frozen=True):
    """What `run --cluster` needs (from the command line; validated by `check`).

    url: the NATS server (``nats://host:port``); worker: this worker's name (unique in the
    cluster); lease_s: how long a symbol lease and a membership heartbeat last without renewal;
    replicas: JetStream replicas of the buckets and stream (3 on a 3-node NATS).
    """

    url: str
    worker: str
    lease_s: float = DEFAULT_LEASE_S
    replicas: int = 1

    def check(self) -> ClusterSettings:
        """Raise `ConfigError` naming the bad field; returns self."""
        parsed = urlparse(self.url)
        if parsed.scheme not in ("nats", "tls") or not parsed.hostname:
            raise ConfigError("cluster.url", "expected nats://HOST:PORT", self.url)
        try:
            parsed.port  # noqa: B018 (a bad port raises here)
        except ValueError:
            raise ConfigError("cluster.url", "bad port", self.url) from None
        if not WORKER_NAME.match(self.worker):
            raise ConfigError("cluster.worker", "1-64 letters, digits, '_' or '-'", self.worker)
        if not MIN_LEASE_S <= self.lease_s <= MAX_LEASE_S:
            raise ConfigError("cluster.lease_s", f"between {MIN_LEASE_S:g} and {MAX_LEASE_S:g} seconds",
                              self.lease_s)
        if self.replicas not in (1, 3, 5):
            raise ConfigError("cluster.replicas", "1, 3 or 5", self.replicas)
        return self

    @property
    def tick_s(self) -> float:
        """How often leases and the heartbeat are renewed (five times per lease)."""
        return self.lease_s / TICKS_PER_LEASE


Callback = Callable[[], Awaitable[None]]


async def connect(url: str, *, name: str, on_down: Callback | None = None, on_up: Callback | None = None,
                  reconnect: bool = True, first_timeout_s: float = 5.0) -> Client:
    """Connect to NATS; `ClusterError` when it cannot be reached. With `reconnect` the client keeps
    trying forever after a loss (`on_down` / `on_up` say when it went and came back)."""

    async def quiet_error(exc: Exception) -> None:  # the client's default logs a traceback per try
        log.debug("nats (%s): %s", url, exc)

    async def noop() -> None:
        return None

    try:  # the client retries a first connection forever: bounded here
        return await asyncio.wait_for(nats.connect(
            servers=[url], name=name, connect_timeout=2, allow_reconnect=reconnect,
            max_reconnect_attempts=-1, reconnect_time_wait=0.25,
            ping_interval=1, max_outstanding_pings=2, error_cb=quiet_error,
            disconnected_cb=on_down or noop, reconnected_cb=on_up or noop,
        ), first_timeout_s)
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        raise ClusterError(f"cannot reach NATS at {url}: {exc or type(exc).__name__}") from None


class Buckets(NamedTuple):
    leases: KeyValue
    ledger: KeyValue
    state: KeyValue


async def _bucket(js: JetStreamContext, config: api.KeyValueConfig, *, create: bool = True) -> KeyValue:
    """Bind to the bucket, creating it (with `create`) when the cluster has none yet."""
    try:
        return await js.key_value(config.bucket)
    except nats.js.errors.BucketNotFoundError:
        if not create:
            raise ClusterError(f"no cluster here yet (no bucket {config.bucket}): start a worker "
                               "first") from None
    try:
        return await js.create_key_value(config)
    except nats.js.errors.BadRequestError:  # created by another worker meanwhile
        return await js.key_value(config.bucket)


async def open_buckets(js: JetStreamContext, *, lease_s: float | None = None, replicas: int = 1) -> Buckets:
    """Bind to (or create) the cluster's buckets and event stream. `lease_s` None: an observer binds
    to what exists, whatever its lease period (`ClusterError` when no worker ever ran); otherwise
    the cluster's lease period must be `lease_s` (`ClusterError` names the one in force)."""
    storage = api.StorageType.FILE
    leases = await _bucket(js, api.KeyValueConfig(
        bucket=LEASES_BUCKET, ttl=(lease_s or DEFAULT_LEASE_S) * EXPIRY_SHARE, history=1, replicas=replicas,
        storage=storage), create=lease_s is not None)
    ttl = (await leases.status()).ttl
    if lease_s is not None and ttl is not None and abs(ttl / EXPIRY_SHARE - lease_s) > 1e-3:
        raise ClusterError(f"this cluster's lease period is {ttl / EXPIRY_SHARE:g} s (its bucket "
                           f"{LEASES_BUCKET} says so): run with --lease-s {ttl / EXPIRY_SHARE:g}, or start "
                           "a new cluster")
    ledger = await _bucket(js, api.KeyValueConfig(
        bucket=LEDGER_BUCKET, history=LEDGER_HISTORY, replicas=replicas, storage=storage))
    state = await open_state(js, replicas)
    try:
        await js.stream_info(EVENTS_STREAM)
    except nats.js.errors.NotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):  # another worker was first
            await js.add_stream(api.StreamConfig(
                name=EVENTS_STREAM, subjects=[f"{EVENTS_SUBJECT}.>"], num_replicas=replicas,
                storage=storage, max_age=7 * 86_400.0))
    return Buckets(leases, ledger, state)


async def open_state(js: JetStreamContext, replicas: int = 1) -> KeyValue:
    """The trading-state bucket alone (`halt --cluster` before any worker ran creates it)."""
    return await _bucket(js, api.KeyValueConfig(
        bucket=STATE_BUCKET, history=8, replicas=replicas, storage=api.StorageType.FILE))
