"""Depth message cost from raw bytes to levels applied to a book, per venue (20 levels a side).

Ours: the venue codec (msgspec typed decode, prices converted in C; MEXC: the Cython proto3 reader
in `arb._core.pbwire`) -> `DepthUpdate` double buffers -> `L2Book.apply_levels`. Baselines measured in
the same run on the same frames: `json.loads` + dict walk + `float()` per level + `ReferenceBook`,
`orjson` + `float()` + `ReferenceBook`, and for MEXC the generated protobuf classes + `float()` +
`ReferenceBook`.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_ns, table, verdict

from arb._core.book import L2Book
from arb._core.reference import ReferenceBook
from arb.model import Symbol
from arb.venues.binance import codec as binance
from arb.venues.gateio import codec as gateio
from arb.venues.mexc import codec as mexc
from arb.venues.mexc.proto.push_pb2 import PushDataV3ApiWrapper

LEVELS = 20
N_FRAMES = 2000
SYM = Symbol("BTC", "USDT")


def _levels(rng: random.Random, base: float, sign: int) -> list[list[str]]:
    return [[f"{base + sign * (k + rng.randint(0, 3)) * 0.01:.2f}", f"{rng.uniform(0, 3):.6f}"]
            for k in range(LEVELS)]


def frames(seed: int = 1) -> dict[str, list[bytes]]:
    rng = random.Random(seed)
    out: dict[str, list[bytes]] = {"binance": [], "gateio": [], "mexc": []}
    for i in range(N_FRAMES):
        bids, asks = _levels(rng, 65000.0, -1), _levels(rng, 65000.01, 1)
        out["binance"].append(json.dumps({"stream": "btcusdt@depth@100ms", "data": {
            "e": "depthUpdate", "E": 1764000000000 + i, "s": "BTCUSDT", "U": 10 * i + 1, "u": 10 * i + 10,
            "b": bids, "a": asks}}).encode())
        out["gateio"].append(json.dumps({"time": 1764000000, "channel": "spot.order_book_update",
                                         "event": "update", "result": {
            "t": 1764000000000 + i, "s": "BTC_USDT", "U": 10 * i + 1, "u": 10 * i + 10, "b": bids,
            "a": asks}}).encode())
        w = PushDataV3ApiWrapper(channel="spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT", symbol="BTCUSDT",
                                 sendTime=1764000000000 + i)
        body = w.publicAggreDepths
        body.fromVersion, body.toVersion = str(10 * i + 1), str(10 * i + 10)
        for p, q in bids:
            body.bids.add(price=p, quantity=q)
        for p, q in asks:
            body.asks.add(price=p, quantity=q)
        out["mexc"].append(w.SerializeToString())
    return out


def main() -> None:
    data = frames()
    import orjson

    def ours(venue: str) -> int:
        book = L2Book()
        apply = book.apply_levels
        if venue == "binance":
            for raw in data["binance"]:
                u = binance.decode_depth(binance.decode_stream(raw).data, SYM, 0)
                apply(True, u.bid_prices, u.bid_sizes)
                apply(False, u.ask_prices, u.ask_sizes)
        elif venue == "gateio":
            for raw in data["gateio"]:
                u = gateio.decode_depth(gateio.decode_ws(raw).result, SYM, 0)
                apply(True, u.bid_prices, u.bid_sizes)
                apply(False, u.ask_prices, u.ask_sizes)
        else:
            for raw in data["mexc"]:
                u = mexc.decode_depth_frame(raw, SYM, 0)
                apply(True, u.bid_prices, u.bid_sizes)
                apply(False, u.ask_prices, u.ask_sizes)
        return N_FRAMES

    def naive(venue: str, loads: object) -> int:
        book = ReferenceBook()
        key = "data" if venue == "binance" else "result"
        for raw in data[venue]:
            msg = loads(raw)[key]  # type: ignore[operator]
            for price, size in msg["b"]:
                book.apply(True, float(price), float(size))
            for price, size in msg["a"]:
                book.apply(False, float(price), float(size))
        return N_FRAMES

    def upb() -> int:
        book = ReferenceBook()
        for raw in data["mexc"]:
            w = PushDataV3ApiWrapper()
            w.ParseFromString(raw)
            for level in w.publicAggreDepths.bids:
                book.apply(True, float(level.price), float(level.quantity))
            for level in w.publicAggreDepths.asks:
                book.apply(False, float(level.price), float(level.quantity))
        return N_FRAMES

    rows, checks = [], []
    for venue in ("binance", "gateio"):
        mine = best_ns(lambda v=venue: ours(v)) / 1e3
        js = best_ns(lambda v=venue: naive(v, json.loads)) / 1e3
        oj = best_ns(lambda v=venue: naive(v, orjson.loads)) / 1e3
        rows += [
            (venue, "arb codec -> L2Book", mine, 1.0),
            (venue, "json.loads + float() + ReferenceBook", js, js / mine),
            (venue, "orjson + float() + ReferenceBook", oj, oj / mine),
        ]
        ratio = oj / mine
        checks.append((f"{venue}: vs orjson + float() + reference", ratio, ">= 3x", verdict(ratio >= 3)))
    mine = best_ns(lambda: ours("mexc")) / 1e3
    gen = best_ns(upb) / 1e3
    rows += [("mexc", "arb codec -> L2Book", mine, 1.0), ("mexc", "protobuf (upb) + float() + ReferenceBook",
             gen, gen / mine)]
    checks.append(("mexc: vs upb + float() + reference", gen / mine, ">= 5x", verdict(gen / mine >= 5)))
    print(table(f"Depth message, bytes -> applied levels ({LEVELS} levels a side)",
                ["venue", "pipeline", "µs/message", "x slower than arb"], rows))
    print()
    print(table("Targets", ["check", "measured", "target", "verdict"], checks))


if __name__ == "__main__":
    main()
