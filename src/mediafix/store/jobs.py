"""Job rows and file claims: what lets several workers share work safely.

A job row is the truth about a piece of background work; the queue only carries "go".
Workers say they are alive through ``heartbeat_at``; files being probed carry a ``claim``
("host:pid:token") so no file is probed twice and a dead worker's files are released.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix.media.values import Labelled, iso
from mediafix.store.db import session_scope
from mediafix.store.models import File, Job

__all__ = [
    "ACTIVE",
    "FINISHED",
    "JobType",
    "claim_files",
    "create_job",
    "finish_job",
    "get_job",
    "heartbeat",
    "job_dict",
    "job_files",
    "latest_job",
    "pending_jobs",
    "pid_alive",
    "recent_jobs",
    "release_dead_claims",
    "request_cancel",
    "set_progress",
    "try_start",
    "wait_again",
    "wait_for",
    "worker_id",
]


class JobType(Labelled):
    """The kinds of job a person follows on the Jobs page: one row each, its ``Job.type``
    value and its words. ``exclusive`` are the types it never runs beside (two imports, two
    applies, a re-date during an import). A new job type is one row here and its task in
    ``jobs/tasks.py`` (``@job_task(JobType.X)``)."""

    exclusive: tuple[str, ...]

    def __new__(cls, value: str, text: str, exclusive: tuple[str, ...]) -> JobType:
        member = str.__new__(cls, value)
        member._value_ = value
        member.text = text
        member.exclusive = exclusive
        return member

    IMPORT = "import", "import files", ("import",)
    REDATE = "redate", "re-date the library", ("import", "redate")
    OUTPUT = "output", "write the archive", ("output", "undo")
    UNDO = "undo", "undo an apply", ("output", "undo")


ACTIVE = ("pending", "running")
FINISHED = ("completed", "failed", "cancelled")
STALE_AFTER = timedelta(seconds=90)


def utcnow() -> datetime:
    """Naive UTC now (the database columns are naive UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(owner: str | None) -> bool | None:
    """Whether the process named in ``owner`` ("host:pid[:...]") lives; None if on another host."""
    if not owner:
        return False
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return None
    try:
        pid = int(rest.split(":", 1)[0])
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def create_job(
    session: Session,
    type_: str,
    params: dict[str, Any] | None = None,
    total: int = 0,
    message: str | None = None,
) -> Job:
    job = Job(
        type=type_,
        status="pending",
        params=params or {},
        progress_total=total,
        progress_current=0,
        message=message or "waiting for a worker",
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def job_dict(job: Job) -> dict[str, Any]:
    """The JSON shape of a job (``GET /jobs/<id>``, ``mediafix jobs --json``)."""
    elapsed = None
    if job.started_at:
        end = job.finished_at or utcnow()
        elapsed = max((end - job.started_at).total_seconds(), 0.0)
    rate = (job.progress_current / elapsed) if elapsed and job.progress_current else None
    eta = None
    if rate and job.progress_total > job.progress_current and job.status == "running":
        eta = (job.progress_total - job.progress_current) / rate
    return {
        "id": job.id,
        "type": job.type,
        "status": job.status,
        "progress_current": job.progress_current,
        "progress_total": job.progress_total,
        "message": job.message,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "resumed": job.resumed or 0,
        "created_at": iso(job.created_at, utc=True),
        "started_at": iso(job.started_at, utc=True),
        "finished_at": iso(job.finished_at, utc=True),
        "rate": round(rate, 2) if rate else None,
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "params": job.params,
    }


def try_start(session: Session, job_id: int, exclusive_types: tuple[str, ...] = ()) -> bool:
    """Mark a pending (or abandoned) job running for this worker; False if it must not run now.

    With ``exclusive_types``, the job waits while another job of those types is running
    with a live worker (two imports, or two applies, never run at once).
    """
    serialize(session, "start-job")
    job = session.get(Job, job_id)
    if job is None or job.status in FINISHED:
        return False
    if job.status == "running" and _alive(job):
        return False  # someone else has it
    if exclusive_types:
        others = session.scalars(
            select(Job).where(
                Job.type.in_(exclusive_types), Job.status == "running", Job.id != job_id
            )
        ).all()
        if any(_alive(o) for o in others):
            return False
    now = utcnow()
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.status == job.status,
            or_(Job.worker.is_(None), Job.worker == job.worker),
        )
        .values(
            status="running",
            worker=worker_id(),
            heartbeat_at=now,
            updated_at=now,
            started_at=func.coalesce(Job.started_at, now),
            message="running",
        )
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def serialize(session: Session, name: str) -> None:
    """Make the rest of this transaction run one at a time across all workers.

    SQLite already does (mediafix begins every transaction IMMEDIATE: one writer at a
    time); PostgreSQL takes a transaction-scoped advisory lock named after ``name``.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "big") & 0x7FFFFFFFFFFFFFFF
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        session.execute(
            update(Job).where(Job.id == -1).values(status="pending")
        )  # takes the write lock


def _alive(job: Job) -> bool:
    alive = pid_alive(job.worker)
    if alive is None:  # another machine: trust its heartbeat while it is fresh
        return job.heartbeat_at is not None and utcnow() - job.heartbeat_at < STALE_AFTER
    return alive


def wait_again(session: Session, job_id: int, message: str) -> bool:
    """A started job that must wait after all (its output folder is held by another
    process): pending again, with no worker, saying what it waits for. True if it was
    running (a cancelled job stays cancelled)."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(status="pending", worker=None, message=message, updated_at=utcnow())
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def heartbeat(session: Session, job_id: int, message: str | None = None) -> bool:
    """Say this worker is alive; returns True if a cancel was requested."""
    values: dict[str, Any] = {"heartbeat_at": utcnow(), "updated_at": utcnow()}
    if message is not None:
        values["message"] = message
    session.execute(update(Job).where(Job.id == job_id).values(**values))
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def set_progress(
    session: Session,
    job_id: int,
    current: int | None = None,
    total: int | None = None,
    message: str | None = None,
) -> None:
    values: dict[str, Any] = {"updated_at": utcnow(), "heartbeat_at": utcnow()}
    if current is not None:
        values["progress_current"] = current
    if total is not None:
        values["progress_total"] = total
    if message is not None:
        values["message"] = message
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def finish_job(
    session: Session, job_id: int, status: str, message: str | None = None, error: str | None = None
) -> bool:
    """Move a running job to a final status once (True for the caller that did it)."""
    values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "updated_at": utcnow()}
    if message is not None:
        values["message"] = message
    if error is not None:
        values["error"] = error[:2000]
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE)).values(**values)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def request_cancel(session: Session, job_id: int) -> Job | None:
    """Ask a job to stop; a job no worker has started yet is cancelled at once."""
    job = session.get(Job, job_id)
    if job is None:
        return None
    if job.status in FINISHED:
        return job
    job.cancel_requested = True
    job.updated_at = utcnow()
    if job.status == "pending":
        job.status, job.finished_at, job.message = (
            "cancelled",
            utcnow(),
            "cancelled before it started",
        )
    session.flush()
    return job


def claim_files(
    session: Session, file_ids: list[int], key: str | None = None
) -> tuple[str, list[File]]:
    """Claim the still-unprobed files among ``file_ids`` for this worker (atomic per row).

    With ``key`` (stable for one batch, letters and digits only), a retried batch takes
    back the files it had claimed before its database connection failed, whichever worker
    process runs the retry.
    """
    token = f"{worker_id()}:{key or uuid.uuid4().hex[:12]}"
    session.execute(
        update(File)
        .where(
            File.id.in_(file_ids),
            or_(
                and_(File.status == "new", File.claim.is_(None)),
                # the same batch retried, maybe in another worker process of this machine
                and_(File.status == "probing", File.claim.like(f"%:{key}"))
                if key
                else File.id.is_(None),
            ),
        )
        .values(status="probing", claim=token, claimed_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.flush()
    rows = list(session.scalars(select(File).where(File.claim == token).order_by(File.id)))
    return token, rows


def release_dead_claims(session: Session) -> list[tuple[int | None, int]]:
    """Put files claimed by dead workers back to ``new``; returns (job_id, file_id) pairs."""
    rows = session.execute(
        select(File.id, File.job_id, File.claim, File.claimed_at).where(File.status == "probing")
    ).all()
    now = utcnow()
    released = []
    for fid, job_id, claim, claimed_at in rows:
        alive = pid_alive(claim)
        stale = claimed_at is None or now - claimed_at > STALE_AFTER * 4
        if alive is False or (alive is None and stale):
            released.append((job_id, fid))
    if released:
        session.execute(
            update(File)
            .where(File.id.in_([fid for _, fid in released]), File.status == "probing")
            .values(status="new", claim=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )
    return released


def abandoned_jobs(session: Session) -> list[Job]:
    """Running jobs whose worker died (same host) or went silent (another host)."""
    jobs = session.scalars(select(Job).where(Job.status == "running")).all()
    return [j for j in jobs if not _alive(j)]


def pending_jobs(session: Session) -> list[Job]:
    """Jobs waiting for a worker, oldest first."""
    return list(session.scalars(select(Job).where(Job.status == "pending").order_by(Job.id)))


def unfinished_file_count(session: Session, job_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(File.id)).where(
                File.job_id == job_id, File.status.in_(("new", "probing"))
            )
        )
        or 0
    )


def done_file_count(session: Session, job_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(File.id)).where(
                File.job_id == job_id, and_(File.status != "new", File.status != "probing")
            )
        )
        or 0
    )


def wait_for(
    engine: Engine, job_id: int, timeout: float | None = None, poll: float = 0.5
) -> dict[str, Any]:
    """The job as ``job_dict`` once it finished (or ``timeout`` seconds passed; 0 looks once);
    ``{}`` when there is no such job."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with session_scope(engine) as s:
            job = s.get(Job, job_id)
            data = job_dict(job) if job else {}
        if not data or data["status"] in FINISHED:
            return data
        if deadline is not None and time.monotonic() > deadline:
            return data
        time.sleep(poll)


def get_job(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def recent_jobs(session: Session, limit: int, before: int = 0) -> list[Job]:
    """The newest jobs first (those older than job ``before`` when given)."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if before:
        query = query.where(Job.id < before)
    return list(session.scalars(query))


def latest_job(session: Session, type_: str, status: str | None = None) -> Job | None:
    """The newest job of one type (and status), e.g. the last apply that completed."""
    query = select(Job).where(Job.type == type_).order_by(Job.id.desc()).limit(1)
    if status is not None:
        query = query.where(Job.status == status)
    return session.scalars(query).first()


def job_files(
    session: Session, job_id: int, failures: int
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """An import's files by status, and the first ``failures`` that failed (by path)."""
    by_status = dict(
        session.execute(
            select(File.status, func.count()).where(File.job_id == job_id).group_by(File.status)
        ).all()
    )
    failed = session.execute(
        select(File.id, File.path, File.error)
        .where(File.job_id == job_id, File.status == "error")
        .order_by(File.path)
        .limit(failures)
    ).all()
    return (
        {str(k): int(v) for k, v in by_status.items()},
        [{"file_id": i, "path": p, "error": e} for i, p, e in failed],
    )
