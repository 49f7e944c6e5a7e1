"""`arb-engine demo --universe large --symbols auto`: the README's large simulated universe, traded.

Start-up reads one taker fee per (venue, pair): ~30 pairs on MEXC outran its per-endpoint window
(the client's token bucket refills inside the venue's fixed 10 s window) and the 429 killed the demo
(exit 3, a summary of zeros). A fee read refused by a rate limit is now asked again once the venue's
wait is over, and the venues' fee reads run side by side.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.cli import ExitCode, main


def test_demo_of_the_large_universe_starts_and_syncs_every_book(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--universe", "large", "--symbols", "auto", "--duration", "3", "--data-dir",
                 str(tmp_path)])
    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err[-2000:]
    line = next(x for x in captured.out.splitlines() if x.strip().startswith("books synced"))
    synced, books = map(int, line.split()[-1].split("/"))
    assert books > 100 and synced >= books // 2, line  # started and syncing (all of them: load-bound)
    assert "trading state                 ACTIVE" in captured.out
