"""Background tasks: thin shells over ``services`` that keep job rows true.

A task starts its job (one at a time where its ``JobType`` says so), runs the service with
a heartbeat, progress and cancellation wired to the job's row, and ends the row with a
message. The work itself is in ``services``; putting work on the queue is
``jobs.enqueue``'s. Tasks with a job row are registered for their ``JobType`` in ``TASKS``
(``@job_task``), so the door and the recovery of dead workers' jobs find them.

An import is split so several workers (on one machine or many) share it: ``import_files``
walks the folders and enqueues ``probe_files`` batches as it goes; the batch that finds
nothing left finishes the job and chains ``group_duplicates`` and ``make_thumbnails``
(``services.imports``). Every task is idempotent: a batch re-run after a crash finds its
files already done or claims them again once ``recover`` has released a dead worker's
claims.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from huey import crontab
from huey.api import TaskWrapper
from huey.exceptions import RetryTask
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from mediafix.config import get_settings
from mediafix.jobs import huey
from mediafix.media.outputlock import OutputBusy
from mediafix.media.values import first_line
from mediafix.services import imports, redate
from mediafix.services.pipeline import batched, close_worker_exiftool
from mediafix.store import jobs as jobrows
from mediafix.store.db import dispose_engines, get_engine, session_scope, upgrade
from mediafix.store.jobs import JobType
from mediafix.store.models import Job

__all__ = [
    "TASKS",
    "engine",
    "group_duplicates",
    "import_files",
    "make_thumbnails",
    "probe_files",
    "recover",
    "redate_library",
    "undo_output",
    "write_output",
]

log = logging.getLogger("mediafix.jobs")

RETRY = 3  # seconds before a job that waits for another (exclusive) one is tried again
OUTPUT_RETRY = 5  # seconds between tries of a job whose output folder another process holds
_schema_ready: set[str] = set()

# JobType -> the task that runs a job of that type (filled by ``@job_task``; a job row's
# ``type`` text finds its task too: a JobType is its value).
TASKS: dict[str, TaskWrapper] = {}


def job_task(job_type: JobType, **options: Any) -> Callable[[Callable[[int], None]], TaskWrapper]:
    """``@huey.task`` for the task that runs jobs of ``job_type``, registered in ``TASKS``."""

    def register(function: Callable[[int], None]) -> TaskWrapper:
        task = huey.task(**options)(function)
        TASKS[job_type] = task
        return task

    return register


def engine() -> Engine:
    settings = get_settings()
    url = settings.database_url
    if url not in _schema_ready:
        settings.ensure_dirs()
        upgrade(url)
        _schema_ready.add(url)
    return get_engine(url)


@contextmanager
def heartbeat_thread(job_id: int, every: float = 10.0) -> Iterator[None]:
    """Keep the job's heartbeat fresh while a long step runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                with session_scope(engine()) as s:
                    jobrows.heartbeat(s, job_id)
            except Exception:  # a missed beat is harmless; the next one retries
                log.debug("heartbeat failed", exc_info=True)

    thread = threading.Thread(target=beat, daemon=True, name=f"heartbeat-{job_id}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


def _start(task: TaskWrapper, job_type: JobType, job_id: int) -> dict[str, Any] | None:
    """Start a job, one at a time with the types ``job_type`` excludes; its params, or None
    when it must not run now (a job still waiting for another to end is tried again in a
    few seconds)."""
    with session_scope(engine()) as s:
        started = jobrows.try_start(s, job_id, exclusive_types=job_type.exclusive)
        job = s.get(Job, job_id)
        if job is None:
            return None
        if not started:
            if job.status == "pending":
                task.schedule((job_id,), delay=RETRY)
            return None
        return dict(job.params)


def _progress(job_id: int) -> Callable[..., None]:
    """``on_progress(done, total[, words])`` for a service: the job row's progress."""

    def progress(done: int, total: int, words: str | None = None) -> None:
        with session_scope(engine()) as s:
            jobrows.set_progress(
                s, job_id, current=done, total=total, message=words or f"writing {done} of {total}"
            )

    return progress


def _should_stop(job_id: int) -> Callable[[], bool]:
    """``should_stop()`` for a service: beats the job's heart, True once it is cancelled."""

    def should_stop() -> bool:
        with session_scope(engine()) as s:
            return jobrows.heartbeat(s, job_id)

    return should_stop


def _fail(job_id: int, exc: BaseException) -> None:
    message = first_line(exc)
    with session_scope(engine()) as s:
        jobrows.finish_job(s, job_id, "failed", message=f"failed: {message}", error=message)
    remove_scratch(job_id)


def scratch_dir(job_id: int) -> Path:
    """A job's own temporary folder (removed when the job ends)."""
    path = get_settings().data_dir / "scratch" / str(job_id)
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_scratch(job_id: int) -> None:
    shutil.rmtree(get_settings().data_dir / "scratch" / str(job_id), ignore_errors=True)


# -- import ------------------------------------------------------------------------------


@job_task(JobType.IMPORT, name="mediafix.import_files", retries=0)
def import_files(job_id: int) -> None:
    """Discover files for an import job and enqueue their probe batches."""
    params = _start(import_files, JobType.IMPORT, job_id)
    if params is None:
        return
    try:
        with heartbeat_thread(job_id):
            imports.register(
                engine(),
                get_settings(),
                job_id,
                list(params.get("paths", [])),
                lambda ids: probe_files(job_id, ids),
            )
    except Exception as exc:
        log.exception("import %s failed", job_id)
        _fail(job_id, exc)
        return
    _finish_import(job_id)


@huey.task(name="mediafix.probe_files", retries=0)
def probe_files(job_id: int, file_ids: list[int]) -> None:
    """Probe and date one batch of an import's files.

    When the database is unreachable (a PostgreSQL restart, a dropped connection), the
    batch is retried a few seconds later instead of being lost with the job left running.
    """
    try:
        imports.probe_batch(engine(), get_settings(), job_id, file_ids)
    except OperationalError as exc:
        log.warning("job %s: database unreachable, retrying the batch: %s", job_id, first_line(exc))
        raise RetryTask(delay=3) from exc
    _finish_import(job_id)


def _finish_import(job_id: int) -> None:
    eng = engine()
    if imports.finish_import(eng, job_id):
        remove_scratch(job_id)
        redate.settle_dates(eng, get_settings())  # cameras, zones from neighbours, sequences
        group_duplicates()
        make_thumbnails(job_id)


# -- follow-ups --------------------------------------------------------------------------


@huey.task(name="mediafix.group_duplicates", retries=2, retry_delay=5)
def group_duplicates() -> None:
    """Regroup the library's duplicates (cheap: hashes are already in the rows); by parts
    when few rows changed since the last regroup (it falls back to all when it must)."""
    from mediafix.services import duplicates  # numpy, PyAV: only in the worker that groups

    duplicates.regroup(engine(), get_settings(), by_parts=True)


@huey.task(name="mediafix.make_thumbnails", retries=1, retry_delay=5)
def make_thumbnails(job_id: int | None = None) -> None:
    """Build missing thumbnails for a job's files (or the whole library)."""
    from mediafix.services import thumbnails  # Pillow, PyAV: only in the worker that draws

    thumbnails.build_missing(engine(), get_settings(), job_id)


# -- re-dating ---------------------------------------------------------------------------


@job_task(JobType.REDATE, name="mediafix.redate", retries=0)
def redate_library(job_id: int) -> None:
    """Re-date the library from the stored evidence (a setting the dates depend on changed).

    One at a time, and never while an import runs (it would re-date a half-probed library).
    """
    if _start(redate_library, JobType.REDATE, job_id) is None:
        return
    try:
        with heartbeat_thread(job_id):
            summary = redate.redate(
                engine(),
                get_settings(),
                on_progress=_progress(job_id),
                should_stop=_should_stop(job_id),
            )
    except Exception as exc:
        log.exception("redate job %s failed", job_id)
        _fail(job_id, exc)
        return
    with session_scope(engine()) as s:
        status = "cancelled" if summary.cancelled else "completed"
        jobrows.finish_job(s, job_id, status, message=redate.redate_message(summary))
    if summary.changed and not summary.cancelled:
        group_duplicates()  # bursts are frames seconds apart: their times may have moved


# -- output ------------------------------------------------------------------------------


def _wait_for_output(task: TaskWrapper, job_id: int, busy: OutputBusy) -> None:
    """The output folder is held (a CLI apply, another data folder's worker): the job goes
    back to pending, says who holds the folder, and is tried again shortly."""
    with session_scope(engine()) as s:
        waiting = jobrows.wait_again(
            s, job_id, f"waiting: {busy.output_dir} is in use by {busy.who()}"
        )
    if waiting:
        task.schedule((job_id,), delay=OUTPUT_RETRY)


@job_task(JobType.OUTPUT, name="mediafix.write_output", retries=0)
def write_output(job_id: int) -> None:
    """Plan and apply the output (one at a time: two applies never run together)."""
    from mediafix.services import output

    params = _start(write_output, JobType.OUTPUT, job_id)
    if params is None:
        return
    eng = engine()
    refused = output.output_refused(eng, get_settings(), params.get("output"))
    if refused:
        with session_scope(eng) as s:
            jobrows.finish_job(s, job_id, "failed", message=f"failed: {refused}", error=refused)
        return
    try:
        with heartbeat_thread(job_id):
            plan, result = output.run_apply(
                eng,
                get_settings(),
                params.get("output"),
                move=bool(params.get("move")),
                include_review=bool(params.get("include_review")),
                on_progress=_progress(job_id),
                should_stop=_should_stop(job_id),
                command=f"output job {job_id}",
            )
    except OutputBusy as busy:
        _wait_for_output(write_output, job_id, busy)
        return
    except Exception as exc:
        log.exception("output job %s failed", job_id)
        _fail(job_id, exc)
        return
    message = (
        f"{result.written} written, {result.skipped} already there, "
        f"{len(result.failed)} failed, {len(plan.held)} held for review"
    )
    with session_scope(eng) as s:
        job = s.get(Job, job_id)
        if job is not None:
            job.params = {
                **job.params,
                "journal": result.journal,
                "failed": [{"path": p, "error": e} for p, e in result.failed[:200]],
            }
        status = "cancelled" if result.cancelled else "completed"
        remove_scratch(job_id)
        jobrows.finish_job(
            s,
            job_id,
            status,
            message=message,
            error=f"{len(result.failed)} files could not be written" if result.failed else None,
        )


@job_task(JobType.UNDO, name="mediafix.undo_output", retries=0)
def undo_output(job_id: int) -> None:
    """Undo one apply (its journal is in the job's params, or the last one)."""
    from mediafix.services import output

    params = _start(undo_output, JobType.UNDO, job_id)
    if params is None:
        return
    eng = engine()
    journal = params.get("journal") or output.last_journal(get_settings())
    if not journal:
        with session_scope(eng) as s:
            jobrows.finish_job(
                s, job_id, "failed", message="nothing to undo", error="no apply to undo"
            )
        return
    try:
        progress = _progress(job_id)
        with heartbeat_thread(job_id):
            result = output.undo_journal(
                eng,
                journal,
                command=f"undo job {job_id}",
                on_progress=lambda done, total: progress(done, total, f"undoing {done} of {total}"),
            )
    except OutputBusy as busy:
        _wait_for_output(undo_output, job_id, busy)
        return
    except Exception as exc:
        _fail(job_id, exc)
        return
    with session_scope(eng) as s:
        message = f"removed {len(result.removed)} files, restored {len(result.restored)} sources"
        if result.refused:
            message += f"; kept {len(result.refused)} that changed since"
        jobrows.finish_job(
            s,
            job_id,
            "completed",
            message=message,
            error="; ".join(f"{p}: {w}" for p, w in result.refused[:5]) or None,
        )


# -- storage hygiene -----------------------------------------------------------------------


@huey.periodic_task(crontab(minute="17"), name="mediafix.cleanup_uploads")
def cleanup_uploads_periodic() -> None:
    from mediafix.services import uploads

    uploads.cleanup_uploads(engine(), get_settings())


# -- recovery ----------------------------------------------------------------------------


@huey.task(name="mediafix.recover")
def recover(startup: bool = False) -> dict[str, int]:
    """Resume what dead workers left: release their claims, re-enqueue their work.

    Files a dead worker had claimed go back to ``new`` and into fresh batches; an import
    whose discovering worker died is restarted (it re-registers only what is not done).
    At consumer start, pending jobs are enqueued again too, in case the queue lost them
    (a Redis without persistence); running a job twice is harmless, ``try_start`` admits one.
    """
    eng = engine()
    with session_scope(eng) as s:
        released = jobrows.release_dead_claims(s)
        resume = [(j.id, j.type) for j in jobrows.abandoned_jobs(s)]
        for job_id, type_ in resume:
            job = s.get(Job, job_id)
            if job is not None and type_ in TASKS:
                job.status, job.worker, job.message = (
                    "pending",
                    None,
                    "resumed: its worker stopped; carrying on where it was",
                )
                job.resumed = (job.resumed or 0) + 1
        if startup:
            # A regroup killed with its worker left the old groups (its transaction rolled
            # back); the new files are grouped again now.
            group_duplicates()
            resume += [
                (j.id, j.type) for j in jobrows.pending_jobs(s) if (j.id, j.type) not in resume
            ]
    by_job: dict[int, list[int]] = {}
    for owner, fid in released:
        if owner is not None:
            by_job.setdefault(owner, []).append(fid)
    for job_id, fids in by_job.items():
        for batch in batched(sorted(fids), imports.PROBE_BATCH):
            probe_files(job_id, list(batch))
    requeued = 0
    for job_id, type_ in resume:
        task = TASKS.get(type_)
        if task is not None:
            task(job_id)
            requeued += 1
    if released or requeued:
        log.info("recovered %d file claims and %d jobs", len(released), requeued)
    return {"released": len(released), "jobs": requeued}


@huey.periodic_task(crontab(minute="*"), name="mediafix.recover_periodic")
def recover_periodic() -> None:
    recover.call_local()


@huey.on_startup()
def _fresh_process() -> None:
    # Process workers are forked from the consumer: never share its database connections.
    dispose_engines()
    # A worker process also starts when the consumer replaces one that died (killed while
    # it ran a job): resume that job now, not at the next minute's ``recover_periodic``.
    try:
        recover.call_local()
    except Exception:  # the database may be down: the periodic recovery tries again
        log.warning("recovery at worker start failed", exc_info=True)


@huey.on_shutdown()
def _close_exiftool() -> None:
    close_worker_exiftool()
