"""The one door into the queue: every job the web page, the CLI or a task starts comes in
here, so a job's row and its task are always made together, the same way.

A job a person follows on the Jobs page has a row (``store.models.Job``) of one
:class:`JobType`: :func:`enqueue` writes the row and puts its task on the queue; the
functions below it say each type's parameters. Follow-ups that need no row (regrouping,
thumbnails) have a function each.

Adding a job type: one row in :class:`JobType` (its value, its words, the types it never
runs beside) and its task in :mod:`mediafix.jobs.tasks` under ``@job_task(JobType.X)``;
callers start it with ``enqueue(JobType.X, params)`` (a function here that names its
parameters, as below, is welcome). The recovery of dead workers' jobs knows it then
(``docs/architecture.md`` shows one).

The tasks (and the services they run) are imported when a job is enqueued, not when this
module is: the web app imports it at start and starts fast.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from mediafix.store import jobs as jobrows
from mediafix.store.db import session_scope
from mediafix.store.jobs import JobType
from mediafix.store.models import Job

__all__ = [
    "JobType",
    "create",
    "enqueue",
    "import_paths",
    "output",
    "redate",
    "regroup",
    "start",
    "thumbnails",
    "undo",
]

THUMBNAIL_DEBOUNCE = 20.0  # seconds between "make the missing thumbnails" requests
_last_thumbs = 0.0
_thumbs_lock = threading.Lock()


def enqueue(job_type: JobType, params: dict[str, Any] | None = None) -> int:
    """Create a job of ``job_type`` and put its task on the queue; returns the job's id."""
    job_id = create(job_type, params)
    start(job_type, job_id)
    return job_id


def create(
    job_type: JobType,
    params: dict[str, Any] | None = None,
    *,
    prepare: Callable[[Job], None] | None = None,
) -> int:
    """The first half of :func:`enqueue`: the job's row, committed; :func:`start` puts its
    task on the queue. ``prepare(job)`` runs before the commit, with the id known (an
    upload's folder is named after its job and renamed into place before any worker can
    see the job); when it raises, no job is created."""
    from mediafix.jobs import tasks

    with session_scope(tasks.engine()) as s:
        job = jobrows.create_job(s, job_type.value, params or {}, message="waiting for a worker")
        if prepare is not None:
            prepare(job)
        return job.id


def start(job_type: JobType, job_id: int) -> None:
    """The second half of :func:`enqueue`: the task of a created job, on the queue."""
    from mediafix.jobs import tasks

    tasks.TASKS[job_type](job_id)


def import_paths(paths: Sequence[str]) -> int:
    """An import of server folders (or files); returns the job's id."""
    return enqueue(JobType.IMPORT, {"paths": [os.path.abspath(p) for p in paths]})


def output(move: bool = False, include_review: bool = False, output_dir: str | None = None) -> int:
    """Plan and apply the archive (``output_dir``: another folder than the settings')."""
    return enqueue(
        JobType.OUTPUT, {"move": move, "include_review": include_review, "output": output_dir}
    )


def undo(journal: str | None = None) -> int:
    """Undo one apply: ``journal``'s, or the last one that still has something to undo."""
    return enqueue(JobType.UNDO, {"journal": journal})


def redate(reason: str = "") -> int:
    """Re-date the library from the stored evidence (a setting the dates depend on changed)."""
    return enqueue(JobType.REDATE, {"reason": reason})


def regroup() -> None:
    """Rebuild the duplicate groups (a threshold changed)."""
    from mediafix.jobs import tasks

    tasks.group_duplicates()


def thumbnails(force: bool = False) -> bool:
    """Ask the workers to make missing thumbnails, at most every few seconds per process
    unless ``force``; True when asked."""
    global _last_thumbs
    with _thumbs_lock:
        now = time.monotonic()
        if not force and now - _last_thumbs < THUMBNAIL_DEBOUNCE:
            return False
        _last_thumbs = now
    from mediafix.jobs import tasks

    tasks.make_thumbnails(None)
    return True
