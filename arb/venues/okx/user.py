"""OKX private channels (``orders``, ``account``) on the private endpoint, after a ``login`` op.

Every new socket first sends ``{"op": "login", "args": [{"apiKey", "passphrase", "timestamp", "sign"}]}``
(sign = Base64(HMAC-SHA256(secret, <unix s> + "GET/users/self/verify")), signed at the venue's time,
valid 30 s) and waits for ``{"event": "login", "code": "0"}`` before subscribing, so the reconnect path
logs in again by itself; a refused login (60009, 60024 passphrase, 60006 expired...) fails the
attempt and the client retries with backoff, never reporting the stream as up. Then ``orders``
(``instType`` SPOT) and ``account`` are subscribed. The ``fills`` channel is for VIP4+ accounts only
(64003 otherwise): each ``orders`` push carries its own fill (``tradeId``, ``fillSz``, ``fillPx``,
``fillFee``), which is reported as a `Fill` (the engine de-duplicates by trade id). ``account``
pushes carry absolute balances. The key, secret, passphrase and signature are never logged.
"""

from __future__ import annotations

import json
import logging
import math
import time
import weakref
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any, Final

import msgspec

from arb.credentials import Credentials
from arb.errors import DecodeError
from arb.model import Fill, Order, Symbol
from arb.net.ws import Socket, WsClient
from arb.venues.base import StreamHandlers, UserPushes, guarded
from arb.venues.okx import codec, orders
from arb.venues.okx import constants as c
from arb.venues.okx.auth import OkxSigner, passphrase_of
from arb.venues.okx.stream import OkxDialect, channel_key

log = logging.getLogger(__name__)

LOGIN_KEY: Final = "login:"  # the pseudo-channel a socket's login is requested and acknowledged as
USER_CHANNELS: Final = (channel_key(c.ORDERS_CHANNEL, c.INST_TYPE), channel_key(c.ACCOUNT_CHANNEL))
# WsClient options the user stream sets itself (a quiet account is not a dead connection)
OWN_OPTIONS: Final = frozenset({"data_idle_s", "ping_interval_s", "max_subscriptions", "per_request"})


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class OkxUserDialect(OkxDialect):
    """The market dialect plus ``login``: the login op is requested as the `LOGIN_KEY` channel."""

    def __init__(self, signer: OkxSigner, clock_ms: Callable[[], int]) -> None:
        super().__init__()
        self._signer = signer
        self._clock_ms = clock_ms
        self._login: int | None = None  # request id of the login awaiting its answer
        self.logins = 0
        self.last_error: tuple[int, str] | None = None  # (code, message) of the last refusal

    def __repr__(self) -> str:
        return "OkxUserDialect(****)"

    def subscribe(self, channels: Sequence[str], request_id: int) -> str:
        if list(channels) == [LOGIN_KEY]:
            self._login = request_id
            return json.dumps({"op": "login", "args": [self._signer.login_args(self._clock_ms() // 1000)]})
        return super().subscribe(channels, request_id)

    def ack(self, frame: str) -> int | None:
        if frame == c.PONG:
            return None
        msg = self.envelope(frame)
        if msg.event == "login":
            code = codec.ws_code(msg)
            rid, self._login = self._login, None
            if code != c.SUCCESS:
                self.last_error = (code, msg.msg)
                raise ValueError(f"login refused: {code} {msg.msg}")
            self.logins += 1
            self.last_error = None
            return rid
        if msg.event in ("error", "channel-conn-count-error") and (self._login is not None or self._pending):
            self.last_error = (codec.ws_code(msg), msg.msg or msg.channel)
            self._login = None
            self._pending.clear()
            raise ValueError(f"{msg.event}: {msg.code} {msg.msg or msg.channel}".strip())
        return super().ack(frame)


class LoginWsClient(WsClient):
    """A `WsClient` whose every new socket logs in, and waits for the answer, before it subscribes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._logged_in: weakref.WeakSet[Socket] = weakref.WeakSet()

    async def _send_subscribe(self, conn: Any, ws: Socket, channels: Sequence[str]) -> None:
        if ws not in self._logged_in:
            await super()._send_subscribe(conn, ws, [LOGIN_KEY])
            self._logged_in.add(ws)
        if channels:
            await super()._send_subscribe(conn, ws, channels)


class OkxUserStream(UserPushes):
    """One account's order, fill and balance pushes, handed to the engine's `StreamHandlers`.

    Parameters
    ----------
    handlers:
        Gets `on_order`, `on_fill`, `on_balance`, `on_decode_error` and `on_stream_state` (with no
        symbols: the user stream carries no books).
    credentials:
        The account's API key, secret and passphrase.
    url:
        The private endpoint (``wss://ws.okx.com:8443/ws/v5/private``).
    clock_ms:
        Venue time for the login timestamp (a `ServerClock.now_ms`); wall clock by default.
    symbols:
        instId -> `Symbol` for the symbols in use; others are split on the dash.
    caller_id:
        Wire ``clOrdId`` -> the caller's client id (`OkxPrivate.caller_id`).
    """

    venue = c.VENUE

    def __init__(self, handlers: StreamHandlers, credentials: Credentials, *, url: str = c.WS_PRIVATE_URL,
                 clock_ms: Callable[[], int] | None = None,
                 symbols: MutableMapping[str, Symbol] | None = None,
                 caller_id: Callable[[str], str] | None = None, **ws_options: Any) -> None:
        self._handlers = handlers
        self._caller_id = caller_id
        self._symbols: MutableMapping[str, Symbol] = symbols if symbols is not None else {}
        signer = OkxSigner(credentials.api_key.reveal(), credentials.api_secret.reveal(),
                           passphrase_of(credentials))
        self.dialect = OkxUserDialect(signer, clock_ms or _wall_ms)
        options = {k: v for k, v in ws_options.items() if k not in OWN_OPTIONS}
        self.ws = LoginWsClient(f"{c.VENUE}-user", url, dialect=self.dialect, on_frame=self._on_frame,
                                on_state=self._on_state, ping_interval_s=c.WS_PING_INTERVAL_S,
                                data_idle_s=math.inf, **options)
        self.decode_errors = 0
        self.ignored_pushes = 0
        self._logged_error = False

    async def start(self) -> None:
        """Connect, log in and subscribe (a refused login is retried by the reconnect path)."""
        await self.ws.subscribe(list(USER_CHANNELS))

    async def close(self) -> None:
        await self.ws.close()

    def symbol_of(self, inst: str) -> Symbol:
        symbol = self._symbols.get(inst)
        if symbol is None:
            symbol = self._symbols[inst] = codec.parse_inst(inst)
        return symbol

    def _caller(self, wire: str) -> str:
        return wire if self._caller_id is None else self._caller_id(wire)

    def _on_frame(self, frame: bytes | str, recv_ns: int) -> None:
        try:
            msg = self.dialect.envelope(frame)
            channel = msg.arg.channel if msg.arg is not None else ""
            if channel == c.ORDERS_CHANNEL:
                for order, fill in push_orders(msg.data, recv_ns, self.symbol_of, self._caller):
                    if fill is not None:
                        self._handlers.on_fill(fill)
                    self._handlers.on_order(order)
            elif channel == c.ACCOUNT_CHANNEL:
                for balance in orders.decode_account_push(msg.data):
                    self._handlers.on_balance(c.VENUE, balance)
            else:
                self.ignored_pushes += 1
        except DecodeError as err:
            self._undecodable(c.VENUE, err)

    def _on_state(self, connected: bool, channels: Sequence[str]) -> None:
        self._handlers.on_stream_state(c.VENUE, connected, [])


def push_fill(msg: orders.OrderMsg, symbol: Symbol, ts_recv: int,
              client_order_id: str | None = None) -> Fill | None:
    """The fill an ``orders`` push reports for its own event (``tradeId`` + ``fillSz`` > 0), or None.

    ``fillFee`` is this fill's fee; a push without it (a hand-edited fixture) takes the order's
    cumulative ``fee`` when this fill is the order's first (``fillSz == accFillSz``), else 0.
    """
    size = codec.dec(msg.fillSz)
    if not msg.tradeId or size <= 0:
        return None
    if msg.fillFee is not None:
        fee, fee_ccy = codec.dec(msg.fillFee), msg.fillFeeCcy or msg.feeCcy
    else:
        fee, fee_ccy = (codec.dec(msg.fee) if size == codec.dec(msg.accFillSz) else codec.ZERO), msg.feeCcy
    side = codec.SIDES[msg.side]
    return Fill(c.VENUE, symbol, msg.tradeId, side, codec.dec(msg.fillPx), size, -fee, codec.asset(fee_ccy),
                order_id=msg.ordId, client_order_id=client_order_id or msg.clOrdId or None,
                is_maker=msg.execType == c.MAKER_EXEC,
                ts_event=codec.ms_ns(msg.fillTime or msg.uTime), ts_recv=ts_recv)


@guarded(c.VENUE, "orders push")
def push_orders(data: bytes | msgspec.Raw, ts_recv: int, symbol_of: Callable[[str], Symbol],
                caller: Callable[[str], str]) -> list[tuple[Order, Fill | None]]:
    """An ``orders`` push -> (`Order`, the event's `Fill` or None) per item; client ids through `caller`."""
    out = []
    for msg in orders.decode_order_push(data):
        symbol = symbol_of(msg.instId)
        cid = caller(msg.clOrdId) if msg.clOrdId else msg.ordId
        out.append((orders.to_order(msg, symbol, cid), push_fill(msg, symbol, ts_recv, cid)))
    return out
