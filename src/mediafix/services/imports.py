"""An import, shared by several workers (on one machine or many): the work behind the
``import`` job.

* :func:`register` walks the folders, registers each new or changed file as a row with
  status ``new``, and hands out probe batches as it goes;
* :func:`probe_batch` claims its rows (a file is never probed twice), probes and dates
  them, and saves the result;
* :func:`finish_import` ends the job once nothing is left to probe.

Every step is idempotent: a batch re-run after a crash finds its files already done, or
claims them again once a dead worker's claims were released.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from mediafix.config import Settings
from mediafix.media.discover import Found
from mediafix.media.values import counted
from mediafix.services.library import (
    Walk,
    forget_gone,
    own_folders,
    probe_outdated,
    save_analysed,
)
from mediafix.services.pipeline import (
    analyse_batch,
    analyse_options,
    batched,
    iter_found,
    largest_first,
)
from mediafix.store import jobs as jobrows
from mediafix.store.db import session_scope
from mediafix.store.models import File, Job
from mediafix.store.records import found_of, new_row, write_found
from mediafix.store.settings import effective_settings

__all__ = ["PROBE_BATCH", "finish_import", "probe_batch", "register", "register_chunk"]

log = logging.getLogger("mediafix.jobs")

PROBE_BATCH = 16
REGISTER_CHUNK = 256


def register(
    eng: Engine,
    settings: Settings,
    job_id: int,
    paths: list[str],
    probe: Callable[[list[int]], None],
) -> None:
    """Walk ``paths`` for the import ``job_id``: each new or changed file becomes a row with
    status ``new``, handed to ``probe`` in batches as discovery goes (``probe`` enqueues
    them); stops early when the job is cancelled."""
    total = unchanged = errors = 0
    with session_scope(eng) as s:
        own = own_folders(settings, s)
    walk = Walk(paths)
    for chunk in batched(walk.watch(iter_found(paths, own)), REGISTER_CHUNK):
        with session_scope(eng) as s:
            if jobrows.heartbeat(s, job_id, message=f"finding files: {total + unchanged} so far"):
                return
            ids, skipped = register_chunk(s, job_id, largest_first(chunk))
        unchanged += skipped
        total += len(ids)
        for batch in batched(ids, PROBE_BATCH):
            probe(list(batch))
        with session_scope(eng) as s:
            # Files of this job probed so far (a resumed import counts earlier work too).
            done = jobrows.done_file_count(s, job_id)
            pending = jobrows.unfinished_file_count(s, job_id)
            jobrows.set_progress(s, job_id, current=done, total=done + pending)
    gone = forget_gone(eng, walk)  # files under these folders that are no longer there
    with session_scope(eng) as s:
        job = s.get(Job, job_id)
        if job is not None:
            job.params = {
                **job.params,
                "discovered": True,
                "unchanged": unchanged,
                "found_errors": errors,
                "gone": gone.forgotten,
                "found_empty": gone.found_empty,
            }
            job.message = f"found {total + unchanged} files ({unchanged} unchanged since last scan)"
            if gone.forgotten:
                job.message += f"; {gone.forgotten} gone since, forgotten"
            if gone.found_empty:
                job.message += f"; found empty, kept as they were: {', '.join(gone.found_empty)}"


def register_chunk(s: Any, job_id: int, chunk: list[Found]) -> tuple[list[int], int]:
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
            and not probe_outdated(row.kind, row.phash, row.detail_hash, row.copy_keys)
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


def probe_batch(eng: Engine, settings: Settings, job_id: int, file_ids: list[int]) -> None:
    """Claim, probe, date and save one batch of an import's files (a file is never probed
    twice: its claim says who has it). A cancelled or finished job probes nothing."""
    with session_scope(eng) as s:
        job = s.get(Job, job_id)
        if job is None or job.status in jobrows.FINISHED:
            return
        cancelled = job.cancel_requested
    if cancelled:
        # A cancel asked between two batches finds no batch in flight to end the job: every
        # later batch ends here, so each one tries (its files stay new). Found as a flaky
        # test_jobs cancel test: the job stayed "running", cancel requested, for good.
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


def finish_import(eng: Engine, job_id: int) -> bool:
    """End the import when its last file is probed (or when it is cancelled), with counts in
    its message; True when this call completed it (the follow-ups are then the caller's)."""
    with session_scope(eng) as s:
        job = s.get(Job, job_id)
        if job is None or job.status in jobrows.FINISHED:
            return False
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
        return False
    if pending or not discovered:
        return False
    with session_scope(eng) as s:
        n_err = (
            s.scalar(
                select(func.count(File.id)).where(File.job_id == job_id, File.status == "error")
            )
            or 0
        )
        params = (s.get(Job, job_id) or Job(params={})).params
        unchanged, gone = int(params.get("unchanged", 0)), int(params.get("gone", 0))
        won = jobrows.finish_job(
            s,
            job_id,
            "completed",
            message=f"{counted(done, 'file')} probed, {unchanged:,} unchanged, "
            f"{n_err:,} with errors" + (f", {gone:,} gone since, forgotten" if gone else ""),
        )
    return bool(won)
