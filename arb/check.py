"""`arb-engine check VENUE [--live] [--json]`: the conformance checks as a report.

Against the loopback simulator by default (a twin of the venue is started in-process), or against
the real venue with `--live` (keys from the environment for the signed checks). Each check reports
pass/fail, its latency and what went wrong.

``ccxt:ID`` runs the same checks through the ccxt bridge (`arb.venues.ccxt`): ccxt's own class for
exchange ID, its URLs pointed at the simulator dialect that speaks that exchange's protocol (the one
named after it or after a ccxt alias of it: ``ccxt:gate`` -> the ``gateio`` dialect); `--live` reads
its keys from ``ARB_<ID>_API_KEY`` and the further fields ccxt requires.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec

from arb.config import VenueConfig
from arb.credentials import Credentials, Secret, load_credentials
from arb.engine.books import BookFeed, BookStore
from arb.engine.executor import round_down, round_up
from arb.errors import (
    ArbError,
    AuthenticationError,
    ConfigError,
    ExchangeUnavailableError,
    InvalidSymbolError,
)
from arb.model import Order, OrderStatus, OrderType, Side, Symbol, SymbolInfo, TimeInForce
from arb.obs import loop
from arb.sim.accounts import SIM_KEY, SIM_PASSPHRASE, SIM_SECRET
from arb.sim.server import DIALECTS, SimExchange, parse_sim_urls
from arb.venues.base import PrivateExchangeInterface, depth_update
from arb.venues.ccxt import PREFIX as CCXT_PREFIX
from arb.venues.registry import VENUES, make_private, make_public, make_stream, venue_spec

SYMBOLS = (Symbol("BTC", "USDT"), Symbol("ETH", "USDT"))
SYMBOL = SYMBOLS[0]
SIM_CREDENTIALS = (SIM_KEY, SIM_SECRET, SIM_PASSPHRASE)  # the simulator's funded account
CHECK_COUNT = 9


def sim_dialect(exchange: str) -> str:
    """The simulator dialect that speaks ccxt exchange `exchange`'s protocol: the one whose native
    venue's REST host is among the hosts of ccxt's URLs for it (``gate`` -> ``gateio``)."""
    from arb.venues.ccxt.catalogue import native_twin

    dialect = native_twin(exchange, VENUES, DIALECTS)
    if dialect is not None:
        return dialect
    raise ConfigError("venue", f"the simulator speaks no dialect of ccxt exchange {exchange!r} "
                      f"(it has {', '.join(DIALECTS)}); check it with --live", exchange)


def venue_target(venue: str) -> tuple[VenueConfig, str]:
    """(base config, credential name) of a `check` argument: a registry venue, or ``ccxt:ID`` for
    ccxt exchange ID through the bridge (`ConfigError` when it cannot be driven)."""
    if not venue.startswith(CCXT_PREFIX):
        return VenueConfig(), venue
    exchange = venue.removeprefix(CCXT_PREFIX)
    config = VenueConfig(driver="ccxt", exchange=exchange)
    venue_spec(venue, config)  # exists and can be driven
    return config, exchange


class CheckFailed(ArbError):
    """A conformance check saw the venue do something else than it must (explicit, so it also fails
    under ``python -O``, where `assert` statements are stripped)."""


def sim_credentials(venue: str) -> Credentials:
    """The simulator account's keys (a passphrase too: venues that take none ignore it)."""
    key, secret, phrase = SIM_CREDENTIALS
    return Credentials(venue, Secret(key), Secret(secret), Secret(phrase))


def require(condition: bool, failure: str) -> None:
    """Fail the running check with `failure` unless `condition` holds."""
    if not condition:
        raise CheckFailed(failure)


def resting_quantity(info: SymbolInfo, price: Decimal) -> Decimal:
    """The smallest quantity on the symbol's step that clears its minimum quantity and, by a 10 %
    margin, its minimum notional at `price`."""
    return round_up(max(info.min_qty, info.min_notional * Decimal("1.1") / price, info.step_size),
                    info.step_size)


class UserFeed:
    """`StreamHandlers` for the user stream check: remembers order pushes and whether it is up."""

    def __init__(self) -> None:
        self.up = False
        self.orders: list[Order] = []

    def statuses(self, client_order_id: str) -> list[OrderStatus]:
        return [o.status for o in self.orders if o.client_order_id == client_order_id]

    def on_order(self, order: Order) -> None:
        self.orders.append(order)

    def on_stream_state(self, venue: str, connected: bool, symbols: Any) -> None:
        self.up = connected

    def on_depth(self, update: Any) -> None: ...
    def on_trade(self, trade: Any) -> None: ...
    def on_fill(self, fill: Any) -> None: ...
    def on_balance(self, venue: str, balance: Any) -> None: ...
    def on_decode_error(self, error: Any, symbol: Any) -> None: ...


EXIT_UNREACHABLE = 3  # the CLI's environment error: the venue never answered


async def _until(condition: Callable[[], bool], failure: str, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise CheckFailed(failure)


async def _timed(name: str, check: Callable[[], Awaitable[str]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), timeout=20)
        ok = True
    except (TimeoutError, ArbError, NotImplementedError) as exc:
        detail, ok = f"{type(exc).__name__}: {exc}", False
        if isinstance(exc, ExchangeUnavailableError):  # not the venue's answer: no answer at all
            return {"check": name, "ok": False, "ms": round((time.perf_counter() - started) * 1000, 1),
                    "detail": detail, "unreachable": True}
    return {"check": name, "ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail}


async def run_checks(venue: str, live: bool, sim_url: str | None = None,
                     results: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Every check against the real venue (`live`), a running simulator (`sim_url`, its funded
    ``sim-key`` account), or a simulator started here; each result is appended to `results` as it
    completes (so an interrupted run still knows what was done)."""
    results = [] if results is None else results
    sim = None
    config, owner = venue_target(venue)
    dialect = "" if live else sim_dialect(owner) if config.driver == "ccxt" else venue
    creds: Credentials | None = None
    if live:
        creds = load_credentials(owner, fields=venue_spec(venue, config).credentials)
    elif sim_url is not None:
        rest, ws = parse_sim_urls([f"{dialect}={sim_url}"])[dialect]
        config = msgspec.structs.replace(config, rest_url=rest, ws_url=ws)
        creds = sim_credentials(venue)
    else:
        sim = SimExchange([dialect], seed=3, step_s=0.05)
        urls = await sim.start()
        config = msgspec.structs.replace(config, rest_url=urls[dialect][0], ws_url=urls[dialect][1])
        creds = sim_credentials(venue)
    public = make_public(venue, config)
    try:
        async def symbols() -> str:
            infos = [i for i in await public.symbols() if i.symbol == SYMBOL]
            require(bool(infos), f"{SYMBOL} not listed")
            return f"{SYMBOL}: tick {infos[0].tick_size}, step {infos[0].step_size}"

        store = BookStore(lambda v, s, n: public.orderbook(s, n), lambda *a: None, clock_ns=time.time_ns,
                          rules={venue: venue_spec(venue, config).book})
        stream = make_stream(venue, BookFeed(store), config)

        async def synced(symbols: tuple[Symbol, ...]) -> None:
            for _ in range(300):
                if all(store.is_synced(venue, s) and store.book(venue, s).update_id for s in symbols):
                    return
                await asyncio.sleep(0.05)
            raise CheckFailed(f"not SYNCED: {[str(s) for s in symbols if not store.is_synced(venue, s)]}")

        async def book_sync() -> str:
            for symbol in SYMBOLS:
                store.add(venue, symbol, start=False)
            await stream.subscribe_depth(list(SYMBOLS))
            for symbol in SYMBOLS:
                store.invalidate(venue, symbol, "check")
            await synced(SYMBOLS)
            book = store.book(venue, SYMBOL)
            return f"SYNCED at id {book.update_id}, best {book.best_bid()} / {book.best_ask()}"

        async def forced_gap() -> str:
            gapped, other = store.sync(venue, SYMBOL), store.sync(venue, SYMBOLS[1])
            before = (gapped.resyncs, other.resyncs, other.gaps)
            last = store.book(venue, SYMBOL).update_id
            # a diff that skips ids: the book must go INVALID at once and resync on its own
            now = time.time_ns()
            store.on_depth(depth_update(venue, SYMBOL, last + 5, last + 6, [], [], now, now))
            require(not store.is_synced(venue, SYMBOL), "a gap left the book SYNCED")
            await synced(SYMBOLS)
            require(gapped.resyncs == before[0] + 1, f"resyncs {before[0]} -> {gapped.resyncs}")
            require((other.resyncs, other.gaps) == before[1:], "the other symbol resynced too")
            return f"{SYMBOL} resynced ({gapped.gaps} gaps); {SYMBOLS[1]} untouched"

        async def disconnect() -> str:
            ws = stream.ws  # type: ignore[attr-defined]  # every venue stream runs its depth on a WsClient
            syncs = [store.sync(venue, s) for s in SYMBOLS]
            drops = [sync.invalidations for sync in syncs]
            reconnects = sum(c.reconnects for c in ws.connections)
            await ws.reconnect("check: forced disconnect")
            for _ in range(300):  # back once the socket is resubscribed (its books were invalidated)
                if sum(c.reconnects for c in ws.connections) > reconnects:
                    break
                await asyncio.sleep(0.05)
            require(sum(c.reconnects for c in ws.connections) > reconnects, "no reconnect")
            require(all(sync.invalidations > n for sync, n in zip(syncs, drops, strict=True)),
                    "a book stayed SYNCED across the disconnect")
            await synced(SYMBOLS)
            return "reconnected, resubscribed, every book invalidated and SYNCED again"

        async def resting_bid(private: PrivateExchangeInterface, cid: str) -> Order:
            info = next((i for i in await public.symbols() if i.symbol == SYMBOL), None)
            if info is None:
                raise CheckFailed(f"{SYMBOL} not listed")
            book = await public.orderbook(SYMBOL, 5)
            # a resting bid 10 % under the market, just over the venue's minimums: it never fills
            price = round_down(Decimal(repr(book.bids[0].price)) * Decimal("0.9"), info.tick_size)
            return await private.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, resting_quantity(info, price),
                                             cid, price, TimeInForce.GTC)

        async def signed_order() -> str:
            if creds is None:
                raise AuthenticationError(venue, "no credentials in the environment")
            private = make_private(venue, config, creds)
            try:
                cid = f"check{int(time.time())}"
                placed = await resting_bid(private, cid)
                seen = await private.get_order(SYMBOL, client_order_id=cid)
                canceled = await private.cancel_order(SYMBOL, client_order_id=cid)
                return (f"placed {placed.order_id}, queried {seen.status.name}, "
                        f"cancelled {canceled.status.name}")
            finally:
                await private.close()

        async def user_stream() -> str:
            if creds is None:
                raise AuthenticationError(venue, "no credentials in the environment")
            private = make_private(venue, config, creds)
            feed = UserFeed()
            user = make_stream(venue, feed, config, credentials=creds, private=private)
            try:
                await user.subscribe_user()
                await _until(lambda: feed.up, "the user stream did not come up")
                cid = f"checku{int(time.time())}"
                await resting_bid(private, cid)
                await private.cancel_order(SYMBOL, client_order_id=cid)
                await _until(lambda: OrderStatus.CANCELED in feed.statuses(cid),
                             f"no CANCELED push for {cid} (saw {feed.statuses(cid)})")
                return f"pushed {' -> '.join(s.name for s in feed.statuses(cid))}"
            finally:
                await user.close()
                await private.close()

        async def balances() -> str:
            if creds is None:
                raise AuthenticationError(venue, "no credentials in the environment")
            private = make_private(venue, config, creds)
            try:
                seen = await private.balances()
            finally:
                await private.close()
            if sim is None:
                return f"{len(seen)} assets, none negative" if all(
                    b.free >= 0 and b.locked >= 0 for b in seen.values()) else "negative balance!"
            ledger = sim.dialects[dialect].ledger  # type: ignore[attr-defined]
            for asset, (free, locked) in ledger.balances("sim").items():
                got = seen.get(asset)
                require(got is not None and (got.free, got.locked) == (free, locked),
                        f"{asset}: venue says {got}, ledger says {free}/{locked}")
            return f"{len(seen)} assets equal the ledger"

        async def error_body() -> str:
            try:
                await public.orderbook(Symbol("NOSUCHCOIN", "USDT"), 5)
            except InvalidSymbolError as exc:
                return f"unknown symbol -> InvalidSymbolError (code {exc.api_code})"
            raise CheckFailed("an unknown symbol was served")

        async def bad_signature() -> str:
            wrong = make_private(venue, config, Credentials(venue, Secret("x"), Secret("y")))
            try:
                await wrong.balances()
            except AuthenticationError as exc:
                return f"mapped to AuthenticationError (code {exc.api_code})"
            finally:
                await wrong.close()
            raise CheckFailed("a bad key was accepted")

        checks = (("symbols load", symbols), ("snapshot + stream -> SYNCED", book_sync),
                  ("forced gap resyncs only that symbol", forced_gap),
                  ("disconnect recovers", disconnect),
                  ("signed order place/query/cancel", signed_order),
                  ("user stream pushes the order", user_stream), ("balances", balances),
                  ("error body -> typed exception", error_body),
                  ("bad key -> AuthenticationError", bad_signature))
        try:
            for name, check in checks:
                if results and not results[0]["ok"]:  # every other check trades or books SYMBOL
                    results.append({"check": name, "ok": False, "ms": 0.0,
                                    "detail": f"not run: {SYMBOL} did not load"})
                    continue
                results.append(await _timed(name, check))
        finally:
            await stream.close()
            await store.close()
    finally:
        await public.close()
        if sim is not None:
            await sim.close()
    return results


def _report(venue: str, live: bool, as_json: bool, sim_url: str | None, results: list[dict[str, Any]],
            interrupted: bool = False) -> None:
    if as_json:
        print(json.dumps({"venue": venue, "live": live, "interrupted": interrupted, "checks": results},
                         indent=2))
        return
    target = "live" if live else f"simulator at {sim_url}" if sim_url else "simulator"
    print(f"{venue} ({target})")
    width = max((len(r["check"]) for r in results), default=0)
    for r in results:
        print(f"  {'PASS' if r['ok'] else 'FAIL'}  {r['check']:<{width}} {r['ms']:>8.1f} ms  {r['detail']}")
    if interrupted:
        print(f"  interrupted after {len(results)} of {CHECK_COUNT} checks")


def main(venue: str, live: bool, as_json: bool, sim_url: str | None = None, use_uvloop: bool = True) -> int:
    results: list[dict[str, Any]] = []
    try:
        loop.run(run_checks(venue, live, sim_url, results), use_uvloop)
    except KeyboardInterrupt:
        _report(venue, live, as_json, sim_url, results, interrupted=True)
        raise
    _report(venue, live, as_json, sim_url, results)
    if results and results[0].get("unreachable"):  # nothing was checked: the venue never answered
        where = "the venue" if live else f"the simulator at {sim_url}" if sim_url else "the simulator"
        print(f"arb-engine: error: cannot reach {where} ({results[0]['detail']})"
              + ("; is `arb-engine sim` running there?" if sim_url else ""), file=sys.stderr)
        return EXIT_UNREACHABLE
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1], "--live" in sys.argv, "--json" in sys.argv))
