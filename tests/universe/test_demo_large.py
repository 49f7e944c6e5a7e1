"""`arb-engine demo --universe large --symbols auto`: the README's large simulated universe, traded.

Start-up reads one taker fee per (venue, pair): ~30 pairs on MEXC outran its per-endpoint window
(the client's token bucket refills inside the venue's fixed 10 s window) and the 429 killed the demo
(exit 3, a summary of zeros). A fee read refused by a rate limit is now asked again once the venue's
wait is over, and the venues' fee reads run side by side; and the limiter no longer lets a burst
then its refill through in one window, so the simulator answers no 429 at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from arb import demo
from arb.cli import ExitCode, main
from arb.sim.server import SimExchange


def test_demo_of_the_large_universe_starts_and_syncs_every_book(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    sims: list[SimExchange] = []

    def sim(*args: Any, **kwargs: Any) -> SimExchange:
        sims.append(SimExchange(*args, **kwargs))
        return sims[-1]

    monkeypatch.setattr(demo, "SimExchange", sim)
    code = main(["demo", "--universe", "large", "--symbols", "auto", "--duration", "3", "--data-dir",
                 str(tmp_path)])
    captured = capsys.readouterr()
    (simulated,) = sims
    # the limiter keeps every window of every venue's budgets under its capacity: no 429 at all
    assert {v: lim.throttled for v, lim in simulated.limiters.items()} == dict.fromkeys(simulated.limiters, 0)
    assert code == ExitCode.OK, captured.err[-2000:]
    line = next(x for x in captured.out.splitlines() if x.strip().startswith("books synced"))
    synced, books = map(int, line.split()[-1].split("/"))
    assert books > 100 and synced >= books // 2, line  # started and syncing (all of them: load-bound)
    assert "trading state                 ACTIVE" in captured.out
