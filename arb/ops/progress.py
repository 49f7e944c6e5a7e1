"""A one-line progress indicator on stderr: redrawn on a terminal, a line every few seconds when piped.

No dependency: the counts and rates are all a recorder or a replay has to say, and a library such as
tqdm (not installed here) would add nothing a formatted line does not.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

PIPED_EVERY_S = 5.0
REDRAW_EVERY_S = 0.25


class Progress:
    """Call `update(line)` as often as you like; it prints at most every `REDRAW_EVERY_S`.

    Parameters
    ----------
    out:
        Where to draw (stderr by default, resolved per instance so a redirect is honoured).
    enabled:
        False silences it (tests, ``--quiet``).
    """

    def __init__(self, out: TextIO | None = None, *, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._out = out or sys.stderr
        self._tty = self._out.isatty()
        self._enabled = enabled
        self._clock = clock
        self._started = clock()
        self._last = float("-inf")
        self._drawn = False

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def due(self) -> bool:
        """Whether `update` would draw now (lets callers skip building the line)."""
        every = REDRAW_EVERY_S if self._tty else PIPED_EVERY_S
        return self._enabled and self._clock() - self._last >= every

    def update(self, line: str, *, force: bool = False) -> None:
        if not self._enabled or not (force or self.due()):
            return
        self._last = self._clock()
        if self._tty:
            self._out.write(f"\r\x1b[K{line}")
        else:
            self._out.write(f"{line}\n")
        self._out.flush()
        self._drawn = True

    def done(self, line: str) -> None:
        """The final line (always drawn when enabled), ending the redrawn one on a terminal."""
        self.update(line, force=True)
        if self._enabled and self._tty and self._drawn:
            self._out.write("\n")
            self._out.flush()


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s" if seconds > 0 else "-/s"
