"""Operator control of a running engine: the data dir lock, the state file and risk events.

- `DataDirLock`: an OS lock (``fcntl.flock``) on ``<data_dir>/engine.lock`` held for the engine's
  life. A second engine on the same data dir (one journal, one state file) is refused with
  `DataDirLockedError` naming the holder's pid; the kernel drops the lock when the holder dies.
- `StateFile`: the engine's writes of the trading state, done off the event loop
  (`asyncio.to_thread`, durable: see `risk.write_state`) one at a time, the latest state winning;
  and a poll task (stat every `poll_s`, off the loop) that applies what ``arb-engine halt`` /
  ``resume`` wrote from another process (HALTED within one poll).
- `EngineControl` wires them to one engine: the risk manager's events are logged and journaled,
  a failed journal writer HALTs the engine at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import weakref
from pathlib import Path
from typing import NamedTuple

from arb.engine.journal import Journal
from arb.engine.risk import RiskEvent, RiskManager, Source, TradingState, read_state, write_state
from arb.errors import ConfigError, DataDirLockedError, JournalError

log = logging.getLogger(__name__)

LOCK_FILE = "engine.lock"
POLL_S = 0.2
MAX_EARLY = 100  # risk events kept for the journal until it opens


class DataDirLock:
    """An exclusive, non-blocking ``flock`` on the data dir's lock file (released by `release()`,
    when the lock is garbage collected, or by the process's death)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None
        self._closer: weakref.finalize[[int], DataDirLock] | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError("engine.data_dir", f"cannot use it: {exc.strerror or exc}",
                              str(self.path.parent)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirLockedError(str(self.path.parent), f"pid {holder}" if holder else "") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        # an engine dropped without stop() (tests, a failed start) gives the lock back when collected
        self._closer = weakref.finalize(self, os.close, fd)

    def release(self) -> None:
        if self._closer is not None:
            self._closer()  # closing the descriptor releases the lock
            self._closer = None
        self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None


def lock_holder(data_dir: str | Path) -> str | None:
    """The pid text of the engine holding `data_dir`'s lock (``""`` if it wrote none), or None when
    no engine runs there. Probes with a shared, non-blocking lock; creates nothing."""
    try:
        fd = os.open(Path(data_dir) / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 32, 0).decode(errors="replace").strip()
    finally:
        os.close(fd)  # also drops the probe's own lock
    return None


class _Seen(NamedTuple):
    """What identifies one version of the state file."""

    inode: int
    mtime_ns: int
    size: int


def _stat(path: Path) -> _Seen | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return _Seen(st.st_ino, st.st_mtime_ns, st.st_size)


class StateFile:
    """The running engine's side of the trading-state file.

    Parameters
    ----------
    path:
        The state file (``risk.state_path(data_dir)``).
    risk:
        Its `persist` is replaced by `save` (off the loop); external changes go to `apply_external`.
    poll_s:
        How often the file is looked at.
    """

    def __init__(self, path: Path, risk: RiskManager, poll_s: float = POLL_S) -> None:
        self.path = path
        self.risk = risk
        self.poll_s = poll_s
        self.applied = 0  # external changes applied
        self.write_errors = 0
        self._pending: tuple[TradingState, str, int, Source] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._seen: _Seen | None = None
        risk.persist = self.save

    # ------------------------------------------------------------------ the engine's own writes

    def save(self, state: TradingState, reason: str, now_ns: int, source: Source) -> None:
        """Queue a durable write of the state (the newest queued state is the one written)."""
        self._pending = (state, reason, now_ns, source)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (start-up code, tests): write here
            self._write_now()
            return
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_pending(), name="state file writer")

    def _write_now(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            written = write_state(self.path, *pending)
            self._seen = _Seen(written.st_ino, written.st_mtime_ns, written.st_size)

    async def _write_pending(self) -> None:
        while self._pending is not None:
            pending, self._pending = self._pending, None
            try:
                written = await asyncio.to_thread(write_state, self.path, *pending)
            except OSError as exc:  # the state in memory still holds; say the file does not
                self.write_errors += 1
                log.error("cannot persist trading state %s to %s: %s", pending[0].name, self.path, exc)
                continue
            self._seen = _Seen(written.st_ino, written.st_mtime_ns, written.st_size)

    async def flush(self) -> None:
        """Wait for the queued write (stop() calls it so a last HALT reaches the disk)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    # ------------------------------------------------------------------ operator writes

    def start(self) -> None:
        self._seen = _stat(self.path)
        self._poller = asyncio.get_running_loop().create_task(self._poll(), name="state file watcher")

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await self.flush()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.check()
            except OSError as exc:
                log.warning("cannot read the state file %s: %s", self.path, exc)

    async def check(self) -> bool:
        """Apply the file's state if someone else changed it since we last looked; True if applied."""
        seen = await asyncio.to_thread(_stat, self.path)
        if seen is None or seen == self._seen:
            return False
        if self._pending is not None or (self._writer is not None and not self._writer.done()):
            return False  # our own write is on its way: look again after it
        state, reason = await asyncio.to_thread(read_state, self.path)
        self._seen = seen
        if (state, reason) == (self.risk.state, self.risk.reason):
            return False
        self.applied += 1
        self.risk.apply_external(state, reason)
        return True


class EngineControl:
    """One engine's lock, state file and risk-event journaling; `Engine` holds one.

    Built in `Engine.__init__` (takes the data dir lock: a second engine fails there, before it
    touches the journal), started after the journal opened, stopped before it closes.
    """

    def __init__(self, data_dir: str | Path, risk: RiskManager, journal: Journal, state_path: Path) -> None:
        self.lock = DataDirLock(data_dir)
        self.lock.acquire()
        self.risk = risk
        self.journal = journal
        self.state = StateFile(state_path, risk)
        self.journal_error: JournalError | None = None
        self._early: list[tuple[int, str, str, str]] | None = []  # risk events before the journal opened
        risk.on_event = self._on_risk_event
        journal.on_failure = self._on_journal_failure

    def start(self) -> None:
        """After the journal opened: the risk events that came before it (a HALT applied while the
        engine was being built, such as a halted cluster's) are journaled first, with their times."""
        early, self._early = self._early or [], None
        for row in early:
            self.journal.record_risk_event(*row)
        self.state.start()

    async def stop(self) -> None:
        """Stop watching and wait for the last state write (the lock stays: see `release`)."""
        await self.state.stop()

    def release(self) -> None:
        """Give the data dir lock back (after the journal closed)."""
        self.lock.release()

    def _on_risk_event(self, event: RiskEvent, venue: str, detail: str) -> None:
        row = (self.risk.now_ns(), event.name, venue, detail)
        if self._early is not None and len(self._early) < MAX_EARLY:  # not started: journaled on start
            self._early.append(row)
            return
        try:
            self.journal.record_risk_event(*row)
        except RuntimeError:  # the journal is not open any more: the log has it
            log.info("risk event %s %s not journaled (journal closed): %s", event.name, venue, detail)

    def _on_journal_failure(self, error: JournalError) -> None:
        self.journal_error = error
        log.error("journal failed, halting: %s", error)
        self.risk.halt(f"journal failed: {error.detail}", Source.ENGINE)
