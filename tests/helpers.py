"""Small shared test helpers: a loopback server runner; `BookHandlers` is the book layer's `BookFeed`."""

from __future__ import annotations

from aiohttp import web

from arb.engine.books import BookFeed


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
