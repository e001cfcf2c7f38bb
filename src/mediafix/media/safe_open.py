"""Opening a file a row or a request names, safely.

Every door that reads a library or output file by a path it got from a row or a request
(``/files/<id>/original``, ``/output/file``, the thumbnail maker) opens it through
:func:`open_inside`, which opens a file only when

* its real path (symbolic links resolved) still lies inside the folder it belongs to: the
  root it was imported from, or the output folder - a file or a folder swapped for a link
  to ``/etc`` after the scan is refused;
* the last component is not a link when it is opened (``O_NOFOLLOW``), and the descriptor's
  own path (``/proc/self/fd``) is still inside that folder: a folder swapped between the
  check and the open is caught too;
* it is a regular file (``fstat`` of the open descriptor; opened non-blocking, so a FIFO
  answers at once instead of hanging the request).

The caller reads from the returned descriptor only, never the path again (no window between
check and use). :func:`open_scanned` adds the library's rule: the file is still the one
that was scanned (its size and mtime are the row's), else 409 "the file changed since it
was scanned".
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from mediafix.config import is_inside

__all__ = ["NO_FOLLOW_READ", "Refused", "open_inside", "open_scanned"]

# Read-only, never through a link in the last component, never blocking on a FIFO, never
# becoming our terminal: how every file a row or a request names is opened (here, and the
# sidecars apply copies).
NO_FOLLOW_READ = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_NOCTTY", 0)
)
MTIME_SLACK = 1e-6  # seconds: the row's float mtime comes back from the database exactly


class Refused(Exception):
    """A file that is not served: ``status`` is the HTTP status, ``str(exc)`` the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _fd_path(fd: int) -> str | None:
    """Where the open descriptor really is (Linux), or None when the system cannot say."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


def open_inside(
    path: str, folder: str, *, what: str = "the folder it was imported from"
) -> tuple[BinaryIO, os.stat_result]:
    """Open the regular file ``path`` for reading if it really lies inside ``folder``.

    Returns the open file (positioned at 0, blocking reads) and its ``fstat``; raises
    :class:`Refused` (403 outside, a link or not a regular file; 404 missing).
    """
    folder_real = os.path.realpath(folder)
    real = os.path.realpath(path)
    if not is_inside(real, folder_real) or real == folder_real:
        raise Refused(403, f"the file leads outside {what}: it is not served")
    try:
        fd = os.open(real, NO_FOLLOW_READ)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise Refused(404, "the file is no longer where it was scanned") from exc
        if exc.errno == errno.ELOOP:
            raise Refused(403, "the file is a symbolic link now: it is not served") from exc
        raise Refused(403, f"the file cannot be read: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Refused(403, "not a regular file: it is not served")
        where = _fd_path(fd)
        if where is not None and not is_inside(where, folder_real):
            raise Refused(403, f"the file leads outside {what}: it is not served")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def open_scanned(
    path: str, root: str, size: int | None, mtime: float | None
) -> tuple[BinaryIO, os.stat_result]:
    """:func:`open_inside` the root a file was imported from, and only while it is still the
    file that was scanned (same size and modification time as its row; 409 otherwise)."""
    fh, st = open_inside(path, root)
    if (
        size is None
        or mtime is None
        or st.st_size != size
        or abs(st.st_mtime - mtime) > (MTIME_SLACK)
    ):
        fh.close()
        raise Refused(409, "the file changed since it was scanned: scan its folder again")
    return fh, st
