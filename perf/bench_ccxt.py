"""The ccxt bridge's per-update cost next to the native decode -> book path, measured in one run.

The same seeded book updates (20 changed levels a side per message, Gate.io's wire format) go
through:

- native: arb's Gate codec (msgspec) -> `BookStore.on_depth` (diff applied to the L2Book);
- ccxt, its part: ``json.loads`` + ccxt.pro's own Gate handler (``handle_message`` on ``spot.obu``
  frames: ccxt's Python order book updated, its future resolved) - what ccxt costs before arb sees
  anything;
- bridge, arb's part: the resolved ccxt book -> top 20 levels a side -> a `DepthUpdate` snapshot ->
  `BookStore.on_depth` (the whole L2Book replaced), as `CcxtStream` does per update;
- bridge, total: both, per update.

No socket is involved (the transports differ and are measured elsewhere): this is the CPU per
update each path costs the event loop. Ratios are against the native path of the same run.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_ns_interleaved, table

from arb.config import VenueConfig
from arb.engine.books import BookStore
from arb.model import Symbol
from arb.venues.base import depth_update
from arb.venues.ccxt import convert
from arb.venues.ccxt.exchange import new_exchange
from arb.venues.gateio import codec as gateio
from arb.venues.spec import BookRule

LEVELS = 20
N_FRAMES = 2000
SYM = Symbol("BTC", "USDT")
PAIR = "BTC/USDT"


def _side(rng: random.Random, base: float, sign: int) -> list[list[str]]:
    return [[f"{base + sign * (k + rng.randint(0, 3)) * 0.01:.2f}", f"{rng.uniform(0.001, 3):.6f}"]
            for k in range(LEVELS)]


def frames(seed: int = 1) -> tuple[list[bytes], list[bytes], bytes]:
    """(native spot.order_book_update frames, the same updates as spot.obu frames, the obu snapshot)."""
    rng = random.Random(seed)
    native, obu = [], []
    full = {"time": 1764000000, "channel": "spot.obu", "event": "update", "result": {
        "t": 1764000000000, "full": True, "s": "ob.BTC_USDT.50", "u": 0,
        "b": _side(rng, 65000.0, -1), "a": _side(rng, 65000.01, 1)}}
    for i in range(N_FRAMES):
        bids, asks = _side(rng, 65000.0, -1), _side(rng, 65000.01, 1)
        native.append(json.dumps({"time": 1764000000, "channel": "spot.order_book_update", "event": "update",
                                  "result": {"t": 1764000000000 + i, "s": "BTC_USDT", "U": 10 * i + 1,
                                             "u": 10 * i + 10, "b": bids, "a": asks}}).encode())
        obu.append(json.dumps({"time": 1764000000, "channel": "spot.obu", "event": "update", "result": {
            "t": 1764000000000 + i, "s": "ob.BTC_USDT.50", "U": 10 * i + 1, "u": 10 * i + 10,
            "b": bids, "a": asks}}).encode())
    return native, obu, json.dumps(full).encode()


async def measure() -> list[float]:
    native_frames, obu_frames, full = frames()
    rules = {"gateio": BookRule(snapshot_limit=100),
             "ccxt": BookRule(snapshot_limit=100, stream_snapshots=True)}

    async def no_snapshot(venue: str, symbol: Symbol, limit: int) -> Any:
        raise AssertionError("no snapshot is fetched in this benchmark")

    store = BookStore(no_snapshot, lambda *a: None, clock_ns=lambda: 0, rules=rules)
    exchange = new_exchange("gate", VenueConfig(driver="ccxt", exchange="gate"), VenueConfig().market_data)
    exchange.markets = {PAIR: {"symbol": PAIR, "id": "BTC_USDT", "spot": True, "type": "spot",
                               "base": "BTC", "quote": "USDT"}}
    exchange.markets_by_id = {"BTC_USDT": [exchange.markets[PAIR]]}
    client = exchange.client("ws://127.0.0.1:1/ws/v4/")  # never connected: handlers are called directly
    ccxt_books: list[Any] = []

    def native() -> int:
        sync = store.add("gateio", SYM, start=False)
        sync.book.set_snapshot([65000.0], [1.0], [65000.01], [1.0])
        sync.book.update_id = 0
        from arb.engine.books import SyncState

        sync.state = SyncState.SYNCED
        on_depth = store.on_depth
        for raw in native_frames:
            on_depth(gateio.decode_depth(gateio.decode_ws(raw).result, SYM, 0))
        return N_FRAMES

    def ccxt_part() -> int:
        exchange.handle_message(client, json.loads(full))
        ccxt_books.clear()
        handle = exchange.handle_message
        for raw in obu_frames:
            handle(client, json.loads(raw))
            ccxt_books.append(exchange.orderbooks[PAIR])
        return N_FRAMES

    def bridge_part() -> int:
        store.add("ccxt", SYM, start=False)
        book = exchange.orderbooks[PAIR]
        on_depth = store.on_depth
        for i in range(N_FRAMES):
            bids = convert.levels(book["bids"], LEVELS)
            asks = convert.levels(book["asks"], LEVELS)
            if bids and asks and bids[0][0] >= asks[0][0]:
                raise AssertionError("crossed")
            on_depth(depth_update("ccxt", SYM, i + 1, i + 1, bids, asks, 0, 0, is_snapshot=True))
        return N_FRAMES

    def bridge_total() -> int:
        exchange.handle_message(client, json.loads(full))
        store.add("ccxt", SYM, start=False)
        handle, on_depth = exchange.handle_message, store.on_depth
        for i, raw in enumerate(obu_frames):
            handle(client, json.loads(raw))
            book = exchange.orderbooks[PAIR]
            bids, asks = convert.levels(book["bids"], LEVELS), convert.levels(book["asks"], LEVELS)
            if bids and asks and bids[0][0] >= asks[0][0]:
                raise AssertionError("crossed")
            on_depth(depth_update("ccxt", SYM, i + 1, i + 1, bids, asks, 0, 0, is_snapshot=True))
        return N_FRAMES

    try:
        return best_ns_interleaved([native, ccxt_part, bridge_part, bridge_total], repeats=9)
    finally:
        await exchange.close()


def main() -> None:
    native, ccxt_part, bridge_part, total = (ns / 1e3 for ns in asyncio.run(measure()))
    rows = [("native: Gate codec (msgspec) -> BookStore diff", native, 1.0),
            ("ccxt's part: json.loads + ccxt.pro Gate handler", ccxt_part, ccxt_part / native),
            ("arb's part: ccxt book -> top 20 -> DepthUpdate -> BookStore", bridge_part,
             bridge_part / native),
            ("bridge total (ccxt + arb)", total, total / native)]
    title = f"ccxt bridge vs native, per book update ({LEVELS} changed levels a side, {N_FRAMES} updates)"
    print(table(title, ["path", "µs/update", "x native"], rows))


if __name__ == "__main__":
    main()
