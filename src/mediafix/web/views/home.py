"""The home page (the overview, where a person starts) and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from mediafix.config import zone_state
from mediafix.jobs import queue_depth
from mediafix.store import jobs as jobrows
from mediafix.store.counts import badge_counts, overview
from mediafix.store.db import ping
from mediafix.web.request import db, in_force, respond, settings

bp = Blueprint("pages", __name__)


@bp.get("/")
def home() -> ResponseReturnValue:
    s = db()
    summary = overview(s)
    recent = [jobrows.job_dict(j) for j in jobrows.recent_jobs(s, 5)]
    summary["recent_jobs"] = recent
    summary["output_available"] = True  # kept for the API: the output stage is always here
    summary["timezone"] = zone_state(settings(), in_force())  # unconfirmed: the page asks
    return respond(summary, "home.html", summary=summary, jobs=recent)


@bp.get("/badges")
def badges() -> ResponseReturnValue:
    """The navigation's two numbers (duplicate groups and dates waiting), for a page to
    refresh them after an action or while a background job changes them."""
    return jsonify(badge_counts(db()))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database and the queue answer and the embedded worker runs, else 503
    naming what failed. ``worker`` is "not embedded" when workers run apart
    (``serve --no-worker``, or the app served by another server)."""
    result: dict[str, object] = {"status": "ok"}
    failed = False
    try:
        ping(db())
        result["database"] = "ok"
    except Exception as exc:
        failed = True
        result["database"] = f"error: {' '.join(str(exc).split())[:200]}"
    try:
        result["queue"] = "ok"
        result["queue_depth"] = queue_depth()
    except Exception as exc:
        failed = True
        result["queue"] = f"error: {' '.join(str(exc).split())[:200]}"
        result["queue_depth"] = None
    supervisor = current_app.config.get("MEDIAFIX_WORKER")
    if supervisor is None:
        result["worker"] = "not embedded"
    else:
        state = supervisor.state()
        result["worker_pid"] = state["pid"]
        result["worker_restarts"] = state["restarts"]
        if state["running"]:
            result["worker"] = "ok"
        else:
            failed = True
            why = state["last_exit"] or "stopped"
            result["worker"] = f"error: not running ({why}); it is being restarted"
    if failed:
        result["status"] = "error"
        return jsonify(result), 503
    return jsonify(result), 200
