"""Crash points for recovery tests: the process kills itself (SIGKILL) at a named point of a trade.

``ARB_FAILPOINTS="executor.sent=2"`` kills the engine the second time the executor passes the point
named ``executor.sent``. Nothing happens when the variable is unset (the default). The points:

- ``executor.intent``: the opportunity and both leg intents are durable, nothing was sent;
- ``executor.sent``: a leg was accepted by the venue, its reply not yet journaled;
- ``executor.filled``: both legs are final, the outcome not yet journaled.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping

ENV = "ARB_FAILPOINTS"


class Failpoints:
    def __init__(self, spec: str = "") -> None:
        self._left: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, count = item.partition("=")
            try:
                self._left[name.strip()] = int(count or "1")
            except ValueError:
                raise ValueError(f"{ENV}: {item!r} is not NAME or NAME=COUNT") from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Failpoints:
        return cls((os.environ if environ is None else environ).get(ENV, ""))

    def __bool__(self) -> bool:
        return bool(self._left)

    def hit(self, name: str) -> None:
        left = self._left.get(name)
        if left is None:
            return
        self._left[name] = left - 1
        if left == 1:
            os.kill(os.getpid(), signal.SIGKILL)
