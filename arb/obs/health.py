"""Local HTTP endpoint (`/livez`, `/readyz`, `/metrics`, `/status`, `/view`, `/control/*`); loop-lag monitor.

`/livez` answers whenever the process and its event loop run (it never looks at venues);
`/readyz` asks the engine's readiness callback (books SYNCED, user streams up, reconciliation
done, not HALTED, loop lag acceptable) and answers 200 or 503 with the reasons. `/view` is the
live view's snapshot (what `arb-engine top` draws); ``POST /control/halt`` (JSON ``{"reason": ...}``)
and ``POST /control/resume`` change the trading state, and answer only requests from the loopback
interface (403 otherwise, whatever address the server is bound to).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from arb.obs.loop import loop_name

Readiness = Callable[[], tuple[bool, dict[str, Any]]]
Control = Callable[[str], dict[str, Any]]  # halt(reason) / resume(""): returns the new state
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
MAX_REASON = 200

log = logging.getLogger(__name__)


class LoopLagMonitor:
    """Measures how late the event loop wakes a periodic sleeper (a blocked loop shows up here).

    A wake-up later than `warn_ms` (``observability.loop_lag_warn_ms``) is logged as a warning and
    counted; `/readyz` is not ready while the last sample is over it.
    """

    def __init__(self, interval_s: float = 0.1, clock: Callable[[], float] = time.perf_counter,
                 warn_ms: float = 50.0) -> None:
        self.interval_s = interval_s
        self.warn_ms = warn_ms
        self._clock = clock
        self.last_lag_s = 0.0
        self.max_lag_s = 0.0
        self.samples = 0
        self.warnings = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def lagging(self) -> bool:
        return self.last_lag_s * 1000 > self.warn_ms

    def report(self) -> dict[str, Any]:
        """For `/status`: the running loop's implementation and what the monitor saw."""
        return {"implementation": loop_name(), "lag_ms": round(self.last_lag_s * 1000, 3),
                "max_lag_ms": round(self.max_lag_s * 1000, 3), "warn_ms": self.warn_ms,
                "lag_warnings": self.warnings, "samples": self.samples}

    def metrics(self) -> bytes:
        """Prometheus text for the loop lag (appended to the engine's `/metrics`)."""
        return (
            "# HELP arb_event_loop_lag_seconds How late the event loop woke the lag monitor's sleeper\n"
            "# TYPE arb_event_loop_lag_seconds gauge\n"
            f"arb_event_loop_lag_seconds {self.last_lag_s:.6f}\n"
            "# HELP arb_event_loop_lag_max_seconds The largest event-loop lag seen\n"
            "# TYPE arb_event_loop_lag_max_seconds gauge\n"
            f"arb_event_loop_lag_max_seconds {self.max_lag_s:.6f}\n"
            "# HELP arb_event_loop_lag_warnings_total Event-loop lags over observability.loop_lag_warn_ms\n"
            "# TYPE arb_event_loop_lag_warnings_total counter\n"
            f"arb_event_loop_lag_warnings_total {self.warnings}\n"
        ).encode()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="arb-loop-lag")

    async def _run(self) -> None:
        while True:
            before = self._clock()
            await asyncio.sleep(self.interval_s)
            lag = max(0.0, self._clock() - before - self.interval_s)
            was_lagging = self.lagging
            self.last_lag_s = lag
            self.max_lag_s = max(self.max_lag_s, lag)
            self.samples += 1
            if lag * 1000 > self.warn_ms:
                self.warnings += 1
                if not was_lagging:  # once per episode, not every sample
                    log.warning("event loop lag %.1f ms (over loop_lag_warn_ms %.1f): something blocks "
                                "the loop", lag * 1000, self.warn_ms)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class HealthServer:
    """aiohttp server on a local port serving liveness, readiness, metrics and status."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        readiness: Readiness,
        metrics: Callable[[], bytes] | None = None,
        status: Callable[[], dict[str, Any]] | None = None,
        loop_lag_warn_ms: float = 50.0,
    ) -> None:
        self.host = host
        self.port = port
        self._view: Callable[[], dict[str, Any]] | None = None  # set by `serve_view`
        self._halt: Control | None = None
        self._resume: Control | None = None
        self._readiness = readiness
        self._metrics = metrics
        self._status = status
        self._runner: web.AppRunner | None = None
        self.loop_lag = LoopLagMonitor(warn_ms=loop_lag_warn_ms)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/livez", self._livez)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_handler)
        app.router.add_get("/status", self._status_handler)
        app.router.add_get("/view", self._view_handler)
        app.router.add_post("/control/halt", self._halt_handler)
        app.router.add_post("/control/resume", self._resume_handler)
        return app

    async def start(self) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            raise
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.loop_lag.start()
        return self.port

    async def stop(self) -> None:
        await self.loop_lag.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _livez(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, request: web.Request) -> web.Response:
        ready, detail = self._readiness()
        lag = self.loop_lag
        if lag.lagging:
            ready = False
            detail = {**detail, "reasons": [*detail.get("reasons", []),
                                            f"event loop lag {lag.last_lag_s * 1000:.1f} ms "
                                            f"over {lag.warn_ms:g} ms"]}
        detail = {**detail, "loop_lag_ms": round(lag.last_lag_s * 1000, 3)}
        return web.json_response({"ready": ready, **detail}, status=200 if ready else 503,
                                 dumps=lambda o: json.dumps(o, default=str))

    async def _metrics_handler(self, request: web.Request) -> web.Response:
        if self._metrics is None:
            raise web.HTTPNotFound()
        return web.Response(body=self._metrics() + self.loop_lag.metrics(), content_type="text/plain",
                            charset="utf-8")

    async def _status_handler(self, request: web.Request) -> web.Response:
        if self._status is None:
            raise web.HTTPNotFound()
        return web.json_response({**self._status(), "event_loop": self.loop_lag.report()},
                                 dumps=lambda o: json.dumps(o, default=str))

    def serve_view(self, view: Callable[[], dict[str, Any]], *, halt: Control, resume: Control) -> None:
        """Serve `/view` (the live view's snapshot) and the loopback-only control routes (404 until set)."""
        self._view, self._halt, self._resume = view, halt, resume

    async def _view_handler(self, request: web.Request) -> web.Response:
        if self._view is None:
            raise web.HTTPNotFound()
        return web.json_response(self._view(), dumps=lambda o: json.dumps(o, default=str))

    async def _halt_handler(self, request: web.Request) -> web.Response:
        if self._halt is None:
            raise web.HTTPNotFound()
        self._local_only(request)
        reason = "operator halt (HTTP)"
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                raise web.HTTPBadRequest(text="body: expected JSON like {\"reason\": \"...\"}") from None
            given = body.get("reason") if isinstance(body, dict) else None
            if given is not None and not isinstance(given, str):
                raise web.HTTPBadRequest(text="reason: expected a string")
            reason = (given or reason)[:MAX_REASON]
        return web.json_response(self._halt(reason))

    async def _resume_handler(self, request: web.Request) -> web.Response:
        if self._resume is None:
            raise web.HTTPNotFound()
        self._local_only(request)
        return web.json_response(self._resume(""))

    @staticmethod
    def _local_only(request: web.Request) -> None:
        if request.remote not in LOOPBACK:
            raise web.HTTPForbidden(text="control endpoints answer 127.0.0.1 only")
