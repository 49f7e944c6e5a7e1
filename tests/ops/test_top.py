"""`arb-engine top` in a real terminal (tmux) against `arb-engine run --sim`: it draws the engine's view,
`h` + a reason + Enter halts the engine (its /status says HALTED with that reason), `r` resumes, `q`
quits; plus the key handling and the command's answers to bad input."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from arb.cli import ExitCode, main
from arb.ops.top import Prompt, Top

SCRIPT = Path(sys.executable).with_name("arb-engine")
TMUX = shutil.which("tmux")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _until(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy (a liveness bound, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    """`arb-engine run --sim` with a free metrics port; yields its base URL."""
    port = _free_port()
    config = tmp_path / "arb.toml"
    config.write_text(f'symbols = ["BTC/USDT", "ETH/USDT"]\n[engine]\ndata_dir = "{tmp_path / "data"}"\n'
                      '[engine.paper_balances]\nUSDT = "100000"\nBTC = "1"\nETH = "20"\n'
                      f"[observability]\nmetrics_port = {port}\n")
    argv = [str(SCRIPT), "run", "--config", str(config), "--sim", "--quiet", "--duration", "120"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _until("the engine's /view", lambda: proc.poll() is not None or _get(f"{base}/view"))
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


@pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install -y tmux; .ci/run does)")
@pytest.mark.skipif(not SCRIPT.exists(), reason="arb-engine console script not installed")
def test_top_in_tmux_halts_and_resumes_the_engine(engine: str) -> None:
    assert TMUX is not None
    server = f"arb-top-{uuid.uuid4().hex[:8]}"  # a private tmux server, killed at the end

    def tmux(*args: str) -> str:
        return subprocess.run([TMUX, "-L", server, *args], capture_output=True, text=True, check=True).stdout

    def pane() -> str:
        return tmux("capture-pane", "-p", "-t", "top")

    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    cmd = f"{SCRIPT} top --url {engine}; echo top exited $?; sleep 60"
    subprocess.run([TMUX, "-L", server, "-f", "/dev/null", "new-session", "-d", "-s", "top", "-x", "140",
                    "-y", "50", cmd], check=True, env=env)
    try:
        _until("the view drawn with synced books", lambda: "Venues" in pane() and "2/2" in pane())
        screen = pane()
        for shown in ("Best net spread", "Recent trades", "Balances", "ACTIVE", "h halt  r resume  q quit"):
            assert shown in screen, screen

        tmux("send-keys", "-t", "top", "h")
        _until("the reason prompt", lambda: "halt reason" in pane())
        tmux("send-keys", "-t", "top", "-l", "tmux said so")
        tmux("send-keys", "-t", "top", "Enter")
        _until("HALTED on screen", lambda: "HALTED" in pane() and "tmux said so" in pane())
        status = _get(f"{engine}/status")
        assert status is not None
        assert status["trading"]["state"] == "HALTED" and status["trading"]["reason"] == "tmux said so"
        # the view's poll can show HALTED before top has read the POST's answer: wait for it too
        _until("the halt acknowledged", lambda: "halt sent: engine is HALTED (tmux said so)" in pane())

        tmux("send-keys", "-t", "top", "r")
        _until("ACTIVE on screen",
               lambda: "resume sent: engine is ACTIVE" in pane() and "HALTED" not in pane())
        status = _get(f"{engine}/status")
        assert status is not None and status["trading"]["state"] == "ACTIVE"

        tmux("send-keys", "-t", "top", "q")
        _until("top to quit", lambda: "top exited 0" in pane())
    finally:
        subprocess.run([TMUX, "-L", server, "kill-server"], capture_output=True)


def test_keys_drive_the_halt_prompt() -> None:
    top = Top("http://127.0.0.1:1/", "default reason")
    assert top.base == "http://127.0.0.1:1"
    assert top.key("x") is None and top.prompt is Prompt.NONE
    assert top.key("h") is None and top.prompt is Prompt.HALT_REASON
    for char in "oopsq":  # q types into the reason, it does not quit
        assert top.key(char) is None
    top.key("\x7f")
    assert top.typed == "oops" and not top.done and "oops_" in top.footer()
    assert top.key("\r") == ("halt", {"reason": "oops"})
    assert top.prompt is Prompt.NONE
    top.key("h")
    assert top.key("\n") == ("halt", {"reason": "default reason"})  # empty: the --reason default
    top.key("h")
    top.key("a")
    assert top.key("\x1b") is None and top.prompt is Prompt.NONE and top.message == "halt cancelled"
    assert top.key("r") == ("resume", {})
    assert top.key("q") is None and top.done


def test_top_without_a_terminal_prints_the_view_once(engine: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "--url", engine]) == 0
    out = capsys.readouterr().out
    assert f"arb top: {engine}" in out and "Venues" in out and "Best net spread" in out


def test_top_answers_bad_input_without_a_traceback(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "--url", "localhost:9108"]) == 2
    assert "--url 'localhost:9108': expected http://HOST:PORT" in capsys.readouterr().err
    assert main(["top", "--interval", "2"]) == 2
    assert "--interval 2.0: expected 0 < seconds <= 0.5" in capsys.readouterr().err
    config = tmp_path / "arb.toml"
    config.write_text('symbols = ["BTC/USDT"]\n[observability]\nmetrics_port = 0\n')
    assert main(["top", "--config", str(config)]) == 2
    assert "metrics_port is 0" in capsys.readouterr().err
    # nothing listens there: an environment error (3), and no "retrying" from a command that exits
    assert main(["top", "--url", f"http://127.0.0.1:{_free_port()}"]) == ExitCode.ENVIRONMENT
    err = capsys.readouterr().err
    assert "error: cannot reach http://127.0.0.1:" in err and "is an engine running" in err
    assert "retrying" not in err
