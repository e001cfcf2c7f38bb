"""Background tasks: thin shells over ``library`` and ``store`` that keep job rows true.

An import is split so several workers (on one machine or many) share it:

* ``import_files(job)`` walks the folders, registers each new or changed file as a row
  with status ``new``, and enqueues ``probe_files`` batches as it goes;
* ``probe_files(job, ids)`` claims its rows (a file is never probed twice), probes and
  dates them, and saves the result; the batch that finds nothing left finishes the job
  and chains ``group_duplicates`` and ``make_thumbnails``.

Every task is idempotent: a batch re-run after a crash finds its files already done or
claims them again once ``recover`` has released a dead worker's claims.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from huey import crontab
from huey.exceptions import RetryTask
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from mediafix.config import get_settings
from mediafix.jobs import huey
from mediafix.library import (
    analyse_options,
    own_folders,
    probe_outdated,
    save_analysed,
    settle_dates,
)
from mediafix.media.discover import Found
from mediafix.pipeline import (
    analyse_batch,
    batched,
    close_worker_exiftool,
    iter_found,
    largest_first,
)
from mediafix.store import jobs as jobrows
from mediafix.store.db import dispose_engines, get_engine, session_scope, upgrade
from mediafix.store.models import File, Job
from mediafix.store.records import found_of, new_row, write_found
from mediafix.store.settings import effective_settings

log = logging.getLogger("mediafix.jobs")

PROBE_BATCH = 16
REGISTER_CHUNK = 256
_schema_ready: set[str] = set()


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


def _fail(job_id: int, exc: BaseException) -> None:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
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


@huey.task(name="mediafix.import_files", retries=0)
def import_files(job_id: int) -> None:
    """Discover files for an import job and enqueue their probe batches."""
    eng = engine()
    with session_scope(eng) as s:
        started = jobrows.try_start(s, job_id, exclusive_types=("import",))
        job = s.get(Job, job_id)
        if job is None:
            return
        if not started:
            if job.status == "pending":  # another import runs: try again shortly
                import_files.schedule((job_id,), delay=3)
            return
        paths = list(job.params.get("paths", []))
    try:
        with heartbeat_thread(job_id):
            _register(eng, job_id, paths)
    except Exception as exc:
        log.exception("import %s failed", job_id)
        _fail(job_id, exc)
        return
    _maybe_finish_import(eng, job_id)


def _register(eng: Engine, job_id: int, paths: list[str]) -> None:
    total = unchanged = errors = 0
    with session_scope(eng) as s:
        own = own_folders(get_settings(), s)
    for chunk in batched(iter_found(paths, own), REGISTER_CHUNK):
        with session_scope(eng) as s:
            if jobrows.heartbeat(s, job_id, message=f"finding files: {total + unchanged} so far"):
                return
            ids, skipped = _register_chunk(s, job_id, largest_first(chunk))
        unchanged += skipped
        total += len(ids)
        for batch in batched(ids, PROBE_BATCH):  # type: ignore[arg-type]
            probe_files(job_id, list(batch))
        with session_scope(eng) as s:
            # Files of this job probed so far (a resumed import counts earlier work too).
            done = jobrows.done_file_count(s, job_id)
            pending = jobrows.unfinished_file_count(s, job_id)
            jobrows.set_progress(s, job_id, current=done, total=done + pending)
    with session_scope(eng) as s:
        job = s.get(Job, job_id)
        if job is not None:
            job.params = {
                **job.params,
                "discovered": True,
                "unchanged": unchanged,
                "found_errors": errors,
            }
            job.message = f"found {total + unchanged} files ({unchanged} unchanged since last scan)"


def _register_chunk(s: Any, job_id: int, chunk: list[Found]) -> tuple[list[int], int]:
    """Upsert rows for a chunk of found files; return the ids that need probing."""
    rows = {
        r.path: r for r in s.scalars(select(File).where(File.path.in_([f.path for f in chunk])))
    }
    ids: list[int] = []
    unchanged = 0
    fresh: list[File] = []
    for f in chunk:
        row = rows.get(f.path)
        if (
            row is not None
            and row.status not in ("new", "probing")
            and f.error is None
            and (row.size, row.mtime) == (f.size, f.mtime)
            and not probe_outdated(row.kind, row.phash, row.detail_hash)
        ):
            unchanged += 1
            continue
        if row is not None and row.status == "probing" and row.job_id == job_id:
            continue  # being probed right now by this job's worker
        if row is None:
            row = new_row(f)
            s.add(row)
            fresh.append(row)
        write_found(row, f)
        row.status, row.job_id, row.claim, row.claimed_at = "new", job_id, None, None
        if row.id is not None:
            ids.append(row.id)
    s.flush()
    ids.extend(r.id for r in fresh)
    return ids, unchanged


@huey.task(name="mediafix.probe_files", retries=0)
def probe_files(job_id: int, file_ids: list[int]) -> None:
    """Probe and date one batch of an import's files.

    When the database is unreachable (a PostgreSQL restart, a dropped connection), the
    batch is retried a few seconds later instead of being lost with the job left running.
    """
    try:
        _probe_files(job_id, file_ids)
    except OperationalError as exc:
        log.warning(
            "job %s: database unreachable, retrying the batch: %s", job_id, str(exc).splitlines()[0]
        )
        raise RetryTask(delay=3) from exc


def _probe_files(job_id: int, file_ids: list[int]) -> None:
    eng = engine()
    settings = get_settings()
    with session_scope(eng) as s:
        job = s.get(Job, job_id)
        if job is None or job.status in jobrows.FINISHED:
            return
        cancelled = job.cancel_requested
    if cancelled:
        # A cancel asked between two batches finds no batch in flight to end the job: every
        # later batch ends here, so each one tries (its files stay new). Found as a flaky
        # test_jobs cancel test: the job stayed "running", cancel requested, for good.
        _maybe_finish_import(eng, job_id)
        return
    with session_scope(eng) as s:
        key = f"j{job_id}b{min(file_ids)}n{len(file_ids)}" if file_ids else None
        token, rows = jobrows.claim_files(s, file_ids, key)
        founds = [found_of(r) for r in rows]
        options = analyse_options(settings, s)
        review = effective_settings(settings, s).review_confidence
    if founds:
        try:
            items = analyse_batch(founds, options)
        except Exception as exc:  # a bug, not a bad file: give the files back, fail loudly
            log.exception("probe batch failed")
            with session_scope(eng) as s:
                for r in s.scalars(select(File).where(File.claim == token)):
                    r.status, r.claim, r.error = "error", None, f"internal error: {exc}"
            raise
        log.info("job %s: probed files %s", job_id, ",".join(str(r.id) for r in rows))
        save_analysed(eng, items, review, job_id)
        with session_scope(eng) as s:
            for r in s.scalars(select(File).where(File.claim == token)):
                r.claim = None
    _maybe_finish_import(eng, job_id)


def _maybe_finish_import(eng: Engine, job_id: int) -> None:
    with session_scope(eng) as s:
        job = s.get(Job, job_id)
        if job is None or job.status in jobrows.FINISHED:
            return
        pending = jobrows.unfinished_file_count(s, job_id)
        done = jobrows.done_file_count(s, job_id)
        cancelled = job.cancel_requested
        discovered = bool(job.params.get("discovered"))
        jobrows.set_progress(
            s,
            job_id,
            current=done,
            total=done + pending,
            message=f"probed {done} of {done + pending} files",
        )
    if cancelled:
        with session_scope(eng) as s:
            jobrows.finish_job(
                s,
                job_id,
                "cancelled",
                message=f"cancelled after {done} files ({pending} not probed)",
            )
        return
    if pending or not discovered:
        return
    with session_scope(eng) as s:
        n_err = (
            s.scalar(
                select(func.count(File.id)).where(File.job_id == job_id, File.status == "error")
            )
            or 0
        )
        unchanged = int((s.get(Job, job_id) or Job(params={})).params.get("unchanged", 0))
        won = jobrows.finish_job(
            s,
            job_id,
            "completed",
            message=f"{done} files probed, {unchanged} unchanged, {n_err} with errors",
        )
    if won:
        remove_scratch(job_id)
        settle_dates(eng, get_settings())  # cameras, zones from neighbours, sequences
        group_duplicates()
        make_thumbnails(job_id)


# -- follow-ups --------------------------------------------------------------------------


@huey.task(name="mediafix.group_duplicates", retries=2, retry_delay=5)
def group_duplicates() -> None:
    """Regroup the library's duplicates (cheap: hashes are already in the rows)."""
    from mediafix import duplicates

    duplicates.regroup(engine(), get_settings())


@huey.task(name="mediafix.make_thumbnails", retries=1, retry_delay=5)
def make_thumbnails(job_id: int | None = None) -> None:
    """Build missing thumbnails for a job's files (or the whole library)."""
    from mediafix import thumbnails

    thumbnails.build_missing(engine(), get_settings(), job_id)


# -- re-dating ---------------------------------------------------------------------------


@huey.task(name="mediafix.redate", retries=0)
def redate_library(job_id: int) -> None:
    """Re-date the library from the stored evidence (a setting the dates depend on changed).

    One at a time, and never while an import runs (it would re-date a half-probed library).
    """
    from mediafix import library

    eng = engine()
    with session_scope(eng) as s:
        if not jobrows.try_start(s, job_id, exclusive_types=("import", "redate")):
            job = s.get(Job, job_id)
            if job is not None and job.status == "pending":
                redate_library.schedule((job_id,), delay=3)
            return

    def progress(done: int, total: int, words: str) -> None:
        with session_scope(eng) as s:
            jobrows.set_progress(s, job_id, current=done, total=total, message=words)

    def should_stop() -> bool:
        with session_scope(eng) as s:
            return jobrows.heartbeat(s, job_id)

    try:
        with heartbeat_thread(job_id):
            summary = library.redate(eng, get_settings(), on_progress=progress,
                                     should_stop=should_stop)
    except Exception as exc:
        log.exception("redate job %s failed", job_id)
        _fail(job_id, exc)
        return
    with session_scope(eng) as s:
        status = "cancelled" if summary.cancelled else "completed"
        jobrows.finish_job(s, job_id, status, message=library.redate_message(summary))
    if summary.changed and not summary.cancelled:
        group_duplicates()  # bursts are frames seconds apart: their times may have moved


def enqueue_redate(reason: str = "") -> int:
    """Create a re-date job and enqueue it; returns the job id."""
    with session_scope(engine()) as s:
        job = jobrows.create_job(s, "redate", {"reason": reason},
                                 message="waiting for a worker")
        job_id = job.id
    redate_library(job_id)
    return job_id


# -- output ------------------------------------------------------------------------------


def _start_output_job(eng: Engine, task: Any, job_id: int) -> dict[str, Any] | None:
    """Start an output or undo job, one at a time; None when it must not run now (a job
    still waiting for another to end is tried again in a few seconds)."""
    with session_scope(eng) as s:
        if not jobrows.try_start(s, job_id, exclusive_types=("output", "undo")):
            job = s.get(Job, job_id)
            if job is not None and job.status == "pending":
                task.schedule((job_id,), delay=3)
            return None
        job = s.get(Job, job_id)
        return dict(job.params) if job else {}


OUTPUT_RETRY = 5  # seconds between tries of a job whose output folder another process holds


def _wait_for_output(task: Any, job_id: int, busy: Any) -> None:
    """The output folder is held (a CLI apply, another data folder's worker): the job goes
    back to pending, says who holds the folder, and is tried again shortly."""
    with session_scope(engine()) as s:
        waiting = jobrows.wait_again(
            s, job_id, f"waiting: {busy.output_dir} is in use by {busy.who()}"
        )
    if waiting:
        task.schedule((job_id,), delay=OUTPUT_RETRY)


def _output_refused(eng: Engine, params: dict[str, Any]) -> str | None:
    """Why the output folder may not be written now, or None. Checked again when the job
    runs, as the web page and the CLI check it before (issue 15): the setting may have
    changed while the job waited, or been stored by an older version."""
    from mediafix.config import FolderError
    from mediafix.output import output_dir_for
    from mediafix.safety import library_roots

    settings = get_settings()
    with session_scope(eng) as s:
        folder = output_dir_for(settings, s, params.get("output"))
        roots = library_roots(s)
        stored = not params.get("output") and effective_settings(settings, s).from_page(
            "output_dir")
    try:
        settings.check_output(folder, roots, web=stored)
    except FolderError as exc:
        return f"the output folder cannot be used: {exc}; choose another in Settings"
    return None


@huey.task(name="mediafix.write_output", retries=0)
def write_output(job_id: int) -> None:
    """Plan and apply the output (one at a time: two applies never run together)."""
    from mediafix import output

    eng = engine()
    params = _start_output_job(eng, write_output, job_id)
    if params is None:
        return
    refused = _output_refused(eng, params)
    if refused:
        with session_scope(eng) as s:
            jobrows.finish_job(s, job_id, "failed", message=f"failed: {refused}", error=refused)
        return

    def progress(done: int, total: int) -> None:
        with session_scope(eng) as s:
            jobrows.set_progress(
                s, job_id, current=done, total=total, message=f"writing {done} of {total}"
            )

    def should_stop() -> bool:
        with session_scope(eng) as s:
            return jobrows.heartbeat(s, job_id)

    try:
        with heartbeat_thread(job_id):
            plan, result = output.run_apply(
                eng,
                get_settings(),
                params.get("output"),
                move=bool(params.get("move")),
                include_review=bool(params.get("include_review")),
                on_progress=progress,
                should_stop=should_stop,
                command=f"output job {job_id}",
            )
    except output.OutputBusy as busy:
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


@huey.task(name="mediafix.undo_output", retries=0)
def undo_output(job_id: int) -> None:
    """Undo one apply (its journal is in the job's params, or the last one)."""
    from mediafix import output

    eng = engine()
    params = _start_output_job(eng, undo_output, job_id)
    if params is None:
        return
    journal = params.get("journal") or output.last_journal(get_settings())
    if not journal:
        with session_scope(eng) as s:
            jobrows.finish_job(
                s, job_id, "failed", message="nothing to undo", error="no apply to undo"
            )
        return
    try:
        result = output.undo_journal(eng, journal, command=f"undo job {job_id}")
    except output.OutputBusy as busy:
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


def enqueue_output(
    move: bool = False, include_review: bool = False, output_dir: str | None = None
) -> int:
    with session_scope(engine()) as s:
        job = jobrows.create_job(
            s, "output", {"move": move, "include_review": include_review, "output": output_dir}
        )
        job_id = job.id
    write_output(job_id)
    return job_id


def enqueue_undo(journal: str | None = None) -> int:
    with session_scope(engine()) as s:
        job = jobrows.create_job(s, "undo", {"journal": journal})
        job_id = job.id
    undo_output(job_id)
    return job_id


# -- storage hygiene -----------------------------------------------------------------------

DONE_MARKER = ".mediafix-written"


def cleanup_uploads(now: float | None = None) -> list[str]:
    """Remove uploads whose files are all in the output, once the retention period passed.

    The first time an upload folder is seen complete, a marker with that time is left in
    it; the folder goes ``MEDIAFIX_UPLOAD_RETENTION_DAYS`` later. A folder that gets new
    work (a rescan, an undo that restores files) loses its marker and waits again.
    """
    from mediafix.output import plan_inputs

    settings = get_settings()
    uploads = settings.data_dir / "uploads"
    if not uploads.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    with session_scope(engine()) as s:
        pending = {
            os.path.abspath(p.path) for p in plan_inputs(s) if p.keep and p.status != "written"
        }
        scanned = {os.path.abspath(p) for p in s.scalars(select(File.path))}
    for folder in sorted(p for p in uploads.iterdir() if p.is_dir()):
        prefix = str(folder) + os.sep
        marker = folder / DONE_MARKER
        mine = [p for p in scanned if p.startswith(prefix)]
        if not mine or any(p.startswith(prefix) for p in pending):
            marker.unlink(missing_ok=True)  # not scanned yet, or still to be written
            continue
        if not marker.exists():
            marker.write_text(f"{now}\n")
            continue
        try:
            since = float(marker.read_text().strip() or now)
        except (OSError, ValueError):
            since = now
        if now - since >= settings.upload_retention_days * 86400:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
            log.info("removed upload %s (written to the output)", folder)
    return removed


@huey.periodic_task(crontab(minute="17"), name="mediafix.cleanup_uploads")
def cleanup_uploads_periodic() -> None:
    cleanup_uploads()


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
            if job is not None and type_ in TASK_FOR_TYPE:
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
                (j.id, j.type)
                for j in s.scalars(select(Job).where(Job.status == "pending"))
                if (j.id, j.type) not in resume
            ]
    by_job: dict[int, list[int]] = {}
    for owner, fid in released:
        if owner is not None:
            by_job.setdefault(owner, []).append(fid)
    for job_id, fids in by_job.items():
        for batch in batched(sorted(fids), PROBE_BATCH):  # type: ignore[arg-type]
            probe_files(job_id, list(batch))
    requeued = 0
    for job_id, type_ in resume:
        task = TASK_FOR_TYPE.get(type_)
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


TASK_FOR_TYPE: dict[str, Any] = {
    "import": import_files,
    "output": write_output,
    "undo": undo_output,
    "redate": redate_library,
}


def enqueue_import(paths: list[str]) -> int:
    """Create an import job for ``paths`` and enqueue it; returns the job id."""
    with session_scope(engine()) as s:
        job = jobrows.create_job(
            s,
            "import",
            {"paths": [os.path.abspath(p) for p in paths]},
            message="waiting for a worker",
        )
        job_id = job.id
    import_files(job_id)
    return job_id


def wait_for(job_id: int, timeout: float | None = None, poll: float = 0.5) -> dict[str, Any]:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with session_scope(engine()) as s:
            job = s.get(Job, job_id)
            data = jobrows.job_dict(job) if job else {}
        if not data or data["status"] in jobrows.FINISHED:
            return data
        if deadline is not None and time.monotonic() > deadline:
            return data
        time.sleep(poll)


__all__ = [
    "enqueue_import",
    "enqueue_redate",
    "group_duplicates",
    "import_files",
    "make_thumbnails",
    "probe_files",
    "recover",
    "redate_library",
    "wait_for",
]
