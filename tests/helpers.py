"""Small shared test helpers: a loopback server runner; `BookHandlers` is the book layer's `BookFeed`."""

from __future__ import annotations

from aiohttp import web

from arb.engine.books import BookFeed
from arb.ops.chaos.trades import compete
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
    """Before our next order on `venue` a faster taker takes half the liquidity it could reach: the
    leg fills partially (a one-legged remainder). The chaos campaign's own competitor."""
    compete(sim, venue, 0.5)
