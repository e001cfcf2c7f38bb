"""Jobs: the list, one job with live progress and its failures, and cancelling."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from mediafix.store import jobs as jobrows
from mediafix.store.models import File, Job
from mediafix.web.context import abort_with, db, int_arg, is_htmx, respond, wants_json

bp = Blueprint("jobs", __name__)

FAILURES_SHOWN = 100


def _job_or_404(job_id: int) -> Job:
    job = db().get(Job, job_id)
    if job is None:
        abort_with(404, f"no job {job_id}")
    return job


def job_detail(job: Job) -> dict[str, Any]:
    """``job_dict`` plus, for an import, its files by status and the failed ones."""
    data = jobrows.job_dict(job)
    s = db()
    by_status = dict(
        s.execute(
            select(File.status, func.count()).where(File.job_id == job.id).group_by(File.status)
        ).all()
    )
    data["files"] = {str(k): int(v) for k, v in by_status.items()}
    failures = s.execute(
        select(File.id, File.path, File.error)
        .where(File.job_id == job.id, File.status == "error")
        .order_by(File.path)
        .limit(FAILURES_SHOWN)
    ).all()
    data["failure_count"] = int(by_status.get("error", 0))
    data["failures"] = [{"file_id": i, "path": p, "error": e} for i, p, e in failures]
    return data


@bp.get("/jobs")
def jobs() -> ResponseReturnValue:
    limit = int_arg("limit", 50, 1, 500)
    before = int_arg("before", 0)
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if before:
        query = query.where(Job.id < before)
    rows = [jobrows.job_dict(j) for j in db().scalars(query)]
    active = any(j["status"] in jobrows.ACTIVE for j in rows)
    older = rows[-1]["id"] if len(rows) == limit else None
    if is_htmx():
        return render_template("_jobs_table.html", jobs=rows, active=active)
    return respond(
        {"jobs": rows, "next_before": older},
        "jobs.html",
        jobs=rows,
        active=active,
        older=older,
    )


@bp.get("/jobs/<int:job_id>")
def job(job_id: int) -> ResponseReturnValue:
    data = job_detail(_job_or_404(job_id))
    return respond(data, "job.html", job=data)


@bp.post("/jobs/<int:job_id>/cancel")
def cancel(job_id: int) -> ResponseReturnValue:
    s = db()
    job = jobrows.request_cancel(s, job_id)
    if job is None:
        abort_with(404, f"no job {job_id}")
    s.commit()
    if wants_json():
        return jsonify(jobrows.job_dict(job))
    return redirect(url_for("jobs.job", job_id=job_id))
