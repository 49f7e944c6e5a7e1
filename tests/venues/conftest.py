"""A loopback HTTP server that replays recorded bodies by path (for the venues' REST tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path

import pytest
from aiohttp import web

ReplayServer = Callable[[Mapping[str, Path], Mapping[str, str]], Awaitable[tuple[str, list[web.Request]]]]


@pytest.fixture
async def replay_server() -> AsyncIterator[ReplayServer]:
    """``base_url, seen = await replay_server({path: body_file}, headers)``; requests are recorded."""
    runners: list[web.AppRunner] = []

    async def start(routes: Mapping[str, Path], headers: Mapping[str, str]) -> tuple[str, list[web.Request]]:
        seen: list[web.Request] = []

        async def handle(request: web.Request) -> web.Response:
            seen.append(request)
            return web.Response(body=routes[request.path].read_bytes(), content_type="application/json",
                                headers=dict(headers))

        app = web.Application()
        for path in routes:
            app.router.add_get(path, handle)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}", seen

    yield start
    for runner in runners:
        await runner.cleanup()
