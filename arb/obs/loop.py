"""One way to run a command's event loop: uvloop when ``engine.use_uvloop`` (the default) and it is
installed, asyncio's own loop otherwise.

Every command runs its coroutine through `run`, so the setting means the same thing everywhere;
`loop_name` tells `/status` and the summaries which loop actually runs.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop constructor when wanted and installed; None means asyncio's default loop."""
    if not use_uvloop or not uvloop_available():
        return None
    import uvloop

    return uvloop.new_event_loop


def run(coro: Coroutine[Any, Any, T], use_uvloop: bool = True) -> T:
    """`asyncio.run` on the chosen loop (Ctrl-C cancels `coro`, then raises KeyboardInterrupt)."""
    with asyncio.Runner(loop_factory=loop_factory(use_uvloop)) as runner:
        return runner.run(coro)


def loop_name(loop: asyncio.AbstractEventLoop | None = None) -> str:
    """``uvloop`` or ``asyncio``: the implementation of `loop` (default: the running loop)."""
    current = loop or asyncio.get_running_loop()
    return "uvloop" if type(current).__module__.split(".")[0] == "uvloop" else "asyncio"
