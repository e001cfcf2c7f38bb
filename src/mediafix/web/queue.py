"""The web's only way to get work done: job rows and Huey tasks for the workers.

Nothing here decodes, hashes or walks a library; each function writes a row or puts a
message on the queue and returns at once.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from mediafix.store import jobs as jobrows
from mediafix.store.db import session_scope
from mediafix.web.context import engine

__all__ = [
    "enqueue_import",
    "enqueue_redate",
    "enqueue_regroup",
    "enqueue_thumbnails",
    "enqueue_upload_import",
    "queue_depth",
]

THUMBNAIL_DEBOUNCE = 20.0  # seconds between "make the missing thumbnails" requests
_last_thumbs = 0.0
_thumbs_lock = threading.Lock()


def _tasks():  # type: ignore[no-untyped-def]
    from mediafix.jobs import tasks

    return tasks


def enqueue_import(paths: list[str]) -> int:
    """An import job for server folders; returns its id."""
    return int(_tasks().enqueue_import(paths))


def enqueue_upload_import(incoming: Path, uploads: Path, files: int) -> tuple[int, Path]:
    """Turn a finished upload into ``uploads/<job id>`` and an import job for it."""
    folder = uploads
    try:
        with session_scope(engine()) as s:
            job = jobrows.create_job(
                s, "import", {"paths": [], "source": "upload", "uploaded_files": files}
            )
            job_id = job.id
            folder = uploads / str(job_id)
            n = 1
            while folder.exists():  # a data folder reused with a fresh database
                n += 1
                folder = uploads / f"{job_id}-{n}"
            job.params = {**job.params, "paths": [os.fspath(folder)]}
            # Renamed before the row is committed: a worker never sees the job without
            # its folder (and a failed commit puts the folder back below).
            os.rename(incoming, folder)
    except BaseException:
        if folder != uploads and folder.exists() and not incoming.exists():
            os.rename(folder, incoming)
        raise
    _tasks().import_files(job_id)
    return job_id, folder


def enqueue_thumbnails(force: bool = False) -> bool:
    """Ask the workers to make missing thumbnails (at most every few seconds per process)."""
    global _last_thumbs
    with _thumbs_lock:
        now = time.monotonic()
        if not force and now - _last_thumbs < THUMBNAIL_DEBOUNCE:
            return False
        _last_thumbs = now
    _tasks().make_thumbnails(None)
    return True


def enqueue_regroup() -> None:
    _tasks().group_duplicates()


def enqueue_redate(reason: str) -> int:
    """A re-date job (a setting the dates depend on changed); returns its id."""
    return int(_tasks().enqueue_redate(reason))


def queue_depth() -> int:
    from mediafix.jobs import huey

    return int(huey.pending_count())
