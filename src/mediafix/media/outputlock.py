"""One apply, undo or purge at a time per output folder: a lock file in OUTPUT.

Two applies into one OUTPUT plan the same free names and race for them (issue 16 saw a
file end up as an unchanged copy plus a sidecar instead of embedded dates, for good). The
web app runs its own output jobs one at a time, but the CLI, a second data folder or a
worker on another machine writing to the same share did not know about them.

``output_lock(OUTPUT, command)`` takes ``flock`` on ``OUTPUT/.mediafix.lock`` (without
waiting) for as long as the block runs; the kernel drops it when the process dies, however
it dies, so a stale lock never blocks anyone (on NFS, Linux maps ``flock`` to a POSIX lock
the server sees). The holder writes who it is into the file (pid, host, since when, what
it runs) so the one refused can say so in one line. The file is removed on release; the
inode check after locking makes that safe against a process that opened the old file
just before.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

__all__ = ["LOCK_NAME", "OutputBusy", "output_lock"]

LOCK_NAME = ".mediafix.lock"


class OutputBusy(Exception):
    """Another process holds the output folder; ``str(exc)`` is one line for a person."""

    def __init__(self, output_dir: str, holder: dict[str, Any]) -> None:
        self.output_dir = output_dir
        self.holder = holder
        super().__init__(self.describe())

    def who(self) -> str:
        """The holder in a few words: ``mediafix apply /archive (pid 12 on nas, since ...)``."""
        h = self.holder
        if not h.get("pid"):
            return "another mediafix apply, undo or purge"
        return (
            f"{h.get('command') or 'mediafix'} (pid {h['pid']} on {h.get('host') or '?'}, "
            f"since {h.get('since') or '?'})"
        )

    def describe(self) -> str:
        return f"{self.output_dir} is in use by {self.who()}; try again when it has finished"


def _holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def output_lock(output_dir: str, command: str) -> Iterator[dict[str, Any]]:
    """Hold ``output_dir`` for the block, or raise :class:`OutputBusy` at once.

    :param output_dir: the output folder (created if missing).
    :param command: what this process does, as the refused one will read it
        (``mediafix apply /archive --move``, ``output job 12``).
    :return: (yields) what was written into the lock file.
    """
    os.makedirs(output_dir, exist_ok=True)
    path = os.path.join(output_dir, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputBusy(output_dir, holder) from None
        except BaseException:
            os.close(fd)
            raise
        # The holder before us may have removed the file between our open and our lock:
        # then we hold a lock on a name nobody else will open. Start again.
        try:
            st = os.stat(path)
        except FileNotFoundError:
            os.close(fd)
            continue
        mine = os.fstat(fd)
        if (st.st_dev, st.st_ino) != (mine.st_dev, mine.st_ino):
            os.close(fd)
            continue
        break
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": command,
    }
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode() + b"\n", 0)
    except OSError:
        pass  # who holds it is a courtesy; the lock itself is what counts
    try:
        yield info
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # still ours: nobody else can hold it while we do
        os.close(fd)
