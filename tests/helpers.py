"""Small shared test helpers: a loopback server runner; `BookHandlers` is the book layer's `BookFeed`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from arb.engine.books import BookFeed
from arb.model import Side, Symbol
from arb.sim.server import SimExchange


async def serve(app: web.Application) -> tuple[str, web.AppRunner]:
    """Start `app` on 127.0.0.1 (any free port); returns ``host:port`` and the runner to clean up."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"127.0.0.1:{port}", runner


# the book layer's own feed serves the stream tests
BookHandlers = BookFeed


def competitor_takes_half_the_bids(sim: SimExchange, venue: str) -> None:
    """Before each of our sells on `venue` a faster taker consumes the bids it would hit, leaving us
    half: the sell leg fills partially (a one-legged remainder)."""
    matching: Any = sim.dialects[venue].matching  # type: ignore[attr-defined]
    place = matching.place

    def competitor_first(account: str, symbol: Symbol, side: Side, kind: str, qty: Decimal,
                         price: Decimal | None, tif: str, cid: str) -> Any:
        if side is Side.SELL and price is not None:
            book = sim.market.books[(venue, symbol)]
            keep = int(qty / book.spec.step) // 2
            takes = []
            for ticks, lots in sorted(book.bids.items(), reverse=True):
                if book.price(ticks) < price:
                    break
                kept = min(lots, keep)
                keep -= kept
                takes.append((ticks, lots - kept))
            sim.market.consume(venue, symbol, True, takes)
        return place(account, symbol, side, kind, qty, price, tif, cid)

    matching.place = competitor_first
