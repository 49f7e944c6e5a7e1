"""Reading the cluster's event stream (``ARB_EVENTS``): `pnl --cluster` and `top --cluster`.

`read_events` replays what the stream holds (from the start, or from `since_ns`) through an
ordered consumer and returns once it has caught up; `follow` keeps delivering new events to a
callback. `ClusterPnl` sums FILL events the way `arb-engine pnl` sums a journal's fills
(`arb.reports.Flow`: quote received minus paid minus fees in quote), per worker, per venue pair
(the fill's opportunity's buy and sell venues), per symbol and in total; a fill seen twice (same
worker, venue, symbol and trade id: the journal keeps one) counts once, and a gap in a worker's
``seq`` numbers (events dropped while NATS was away too long) is reported, not hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

from arb.cluster.conn import EVENTS_STREAM, EVENTS_SUBJECT, ClusterError, connect
from arb.cluster.events import EventKind
from arb.model import Fill, Order
from arb.reports import Flow

NS = 1_000_000_000
IDLE_S = 2.0  # a replay ends when nothing more arrives for this long (it normally ends on num_pending)
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
UNKNOWN_PAIR = "-"


class Event(msgspec.Struct, kw_only=True):
    """What every event starts with (`EventPublisher.emit`)."""

    worker: str
    ts_ns: int
    run: int = 0
    seq: int = 0


class FillEvent(Event, kw_only=True):
    fill: Fill
    opportunity: str = ""
    leg: str = ""
    buy: str = ""
    sell: str = ""

    @property
    def pair(self) -> str:
        return f"{self.buy}>{self.sell}" if self.buy and self.sell else UNKNOWN_PAIR


class OrderEvent(Event, kw_only=True):
    event: str
    order: Order
    opportunity: str = ""
    leg: str = ""


class WorkerEvent(Event, kw_only=True):
    state: str
    owned: list[str] = msgspec.field(default_factory=list)


def subject(kind: EventKind, worker: str = "*") -> str:
    return f"{EVENTS_SUBJECT}.{worker}.{kind.name.lower()}"


def kind_of(msg_subject: str) -> EventKind | None:
    name = msg_subject.rsplit(".", 1)[-1].upper()
    return EventKind.__members__.get(name)


def parse_since(text: str, now_ns: int) -> int:
    """``30s``, ``15m``, ``2h``, ``1d`` ago, or an ISO 8601 time (UTC unless it names a zone); ns.
    `ValueError` naming what is expected."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match:
        return now_ns - int(float(match[1]) * UNITS[match[2]] * NS)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r}: expected 30s, 15m, 2h, 1d (ago) or an ISO time like "
                         "2026-12-02T13:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * NS)


def _config(since_ns: int) -> api.ConsumerConfig:
    if not since_ns:
        return api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL)
    return api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_TIME,
                              opt_start_time=datetime.fromtimestamp(since_ns / NS, tz=UTC))


async def follow(nc: Client, subjects: Sequence[str], on_event: Callable[[Msg], None],
                 since_ns: int = 0) -> list[JetStreamContext.PushSubscription]:
    """Ordered consumers on `subjects` from `since_ns` (0: the start), each message to `on_event`."""
    js = nc.jetstream(timeout=2.0)

    async def deliver(msg: Msg) -> None:
        on_event(msg)

    try:
        await js.stream_info(EVENTS_STREAM)
    except nats.js.errors.NotFoundError:
        raise ClusterError(f"no event stream {EVENTS_STREAM} here: no worker ever ran on this "
                           "cluster") from None
    return [await js.subscribe(s, cb=deliver, ordered_consumer=True, config=_config(since_ns))
            for s in subjects]


async def read_events(url: str, subjects: Sequence[str], since_ns: int = 0,
                      idle_s: float = IDLE_S) -> list[Msg]:
    """Every event on `subjects` the stream holds from `since_ns`, in stream order (what the
    consumers had to deliver when they started; later events may be included)."""
    nc = await connect(url, name="arb-events", reconnect=False)
    got: list[Msg] = []
    arrived = asyncio.Event()

    def on_event(msg: Msg) -> None:
        got.append(msg)
        arrived.set()

    try:
        subs = await follow(nc, subjects, on_event, since_ns)
        expected = 0
        for sub in subs:  # delivered so far plus still pending: what the replay holds
            info = await sub.consumer_info()
            delivered = info.delivered.consumer_seq if info.delivered is not None else 0
            expected += (delivered or 0) + (info.num_pending or 0)
        while len(got) < expected:
            arrived.clear()
            try:
                await asyncio.wait_for(arrived.wait(), idle_s)
            except TimeoutError:
                break
        for sub in subs:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
    except (nats.errors.Error, TimeoutError) as exc:
        raise ClusterError(f"cannot read the events at {url}: {exc or type(exc).__name__}") from None
    finally:
        await nc.close()
    got.sort(key=lambda m: m.metadata.sequence.stream)
    return got


class ClusterPnl:
    """Realised PnL from FILL events, grouped like `arb-engine pnl` groups a journal's fills."""

    def __init__(self) -> None:
        self.total = Flow()
        self.workers: dict[str, Flow] = {}
        self.pairs: dict[str, Flow] = {}
        self.symbols: dict[str, Flow] = {}
        self.duplicates = 0
        self.malformed = 0
        self._seen: set[tuple[str, str, str, str]] = set()
        self._seqs: dict[tuple[str, int], list[int]] = {}

    def add_raw(self, data: bytes) -> FillEvent | None:
        try:
            event = msgspec.json.decode(data, type=FillEvent)
        except msgspec.DecodeError:  # not a fill event of this version: counted, skipped
            self.malformed += 1
            return None
        return event if self.add(event) else None

    def add(self, event: FillEvent) -> bool:
        """Count one fill; False when it was counted already."""
        if event.seq:
            self._seqs.setdefault((event.worker, event.run), []).append(event.seq)
        fill = event.fill
        key = (event.worker, fill.venue, str(fill.symbol), fill.trade_id)
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(key)
        for table, name in ((self.workers, event.worker), (self.pairs, event.pair),
                            (self.symbols, str(fill.symbol))):
            table.setdefault(name, Flow()).add(fill)
        self.total.add(fill)
        return True

    def gaps(self) -> dict[str, int]:
        """Per worker: FILL events missing between the first and last seen of each of its runs."""
        out: dict[str, int] = {}
        for (worker, _), seqs in self._seqs.items():
            distinct = sorted(set(seqs))
            missing = distinct[-1] - distinct[0] + 1 - len(distinct)
            if missing:
                out[worker] = out.get(worker, 0) + missing
        return out

    def report(self) -> dict[str, Any]:
        def rows(name: str, table: dict[str, Flow]) -> list[dict[str, Any]]:
            return [{name: key, **flow.row()} for key, flow in sorted(table.items())]

        return {"workers": rows("worker", self.workers), "pairs": rows("pair", self.pairs),
                "symbols": rows("symbol", self.symbols), "total": self.total.row(),
                "duplicates": self.duplicates, "missing": self.gaps(), "unreadable": self.malformed}


async def cluster_pnl(url: str, since_ns: int = 0) -> dict[str, Any]:
    """`pnl --cluster`: the report of every FILL event since `since_ns` (0: the stream's start)."""
    pnl = ClusterPnl()
    for msg in await read_events(url, [subject(EventKind.FILL)], since_ns):
        pnl.add_raw(msg.data)
    return {"url": url, "since": since_ns, **pnl.report()}


def pnl_sections(report: dict[str, Any]) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    yield "By worker", report["workers"]
    yield "By venue pair (buy>sell)", report["pairs"]
    yield "By symbol", report["symbols"]
    yield "Total", [{"total": "all", **report["total"]}]


def total_pnl(report: dict[str, Any]) -> Decimal:
    return Decimal(report["total"]["pnl"])
