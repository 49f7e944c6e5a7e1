"""Small shared test helpers: a loopback server runner and StreamHandlers that feed a BookStore."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from arb.engine.books import BookStore
from arb.model import Symbol


async def serve(app: web.Application) -> tuple[str, web.AppRunner]:
    """Start `app` on 127.0.0.1 (any free port); returns ``host:port`` and the runner to clean up."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"127.0.0.1:{port}", runner


class BookHandlers:
    """`StreamHandlers` that do what the engine does with depth: feed the book store."""

    def __init__(self, store: BookStore) -> None:
        self.store = store
        self.errors: list[Any] = []
        self.states: list[tuple[bool, list[Symbol]]] = []

    def on_depth(self, update: Any) -> None:
        self.store.on_depth(update)

    def on_decode_error(self, error: Any, symbol: Symbol | None) -> None:
        self.errors.append(error)
        if symbol is not None:
            self.store.on_decode_error(error.venue, symbol)

    def on_stream_state(self, venue: str, connected: bool, symbols: Any) -> None:
        self.states.append((connected, list(symbols)))
        self.store.on_stream_state(venue, connected, symbols)

    def on_trade(self, trade: Any) -> None: ...
    def on_order(self, order: Any) -> None: ...
    def on_fill(self, fill: Any) -> None: ...
    def on_balance(self, venue: str, balance: Any) -> None: ...
