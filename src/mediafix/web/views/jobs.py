"""Jobs: the list, one job with live progress and its failures, and cancelling."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from mediafix.store import jobs as jobrows
from mediafix.store.models import Job
from mediafix.web.request import abort_with, db, int_arg, is_htmx, respond, wants_json

bp = Blueprint("jobs", __name__)

FAILURES_SHOWN = 100


def _job_or_404(job_id: int) -> Job:
    job = jobrows.get_job(db(), job_id)
    if job is None:
        abort_with(404, f"no job {job_id}")
    return job


def job_detail(job: Job) -> dict[str, Any]:
    """``job_dict`` plus, for an import, its files by status and the failed ones."""
    data = jobrows.job_dict(job)
    data["files"], data["failures"] = jobrows.job_files(db(), job.id, FAILURES_SHOWN)
    data["failure_count"] = data["files"].get("error", 0)
    return data


@bp.get("/jobs")
def jobs() -> ResponseReturnValue:
    limit = int_arg("limit", 50, 1, 500)
    before = int_arg("before", 0)
    rows = [jobrows.job_dict(j) for j in jobrows.recent_jobs(db(), limit, before)]
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
