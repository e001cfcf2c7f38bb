"""Date review: files whose capture time is uncertain, each with every candidate and its source.

A person can pick a candidate, type a date (with an optional UTC offset), confirm the guess,
or shift many files at once (a camera whose clock was off, a whole folder). A confirmed
date gets confidence 1.0, level high, source "user", status ``ready``, and a
``Decision(kind="date")`` row carrying the new date so a rescan can apply it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from mediafix.store import dates as review
from mediafix.store.library import file_record, get_file
from mediafix.store.models import FILE_STATUSES, File
from mediafix.web.forms import (
    check_plausible,
    offset_in_zone,
    parse_date,
    parse_offset,
    parse_shift,
)
from mediafix.web.paging import Pager, list_headers
from mediafix.web.request import (
    abort_with,
    as_id,
    as_list,
    body,
    db,
    in_force,
    int_arg,
    is_htmx,
    wants_json,
)
from mediafix.web.security import safe_next

bp = Blueprint("timestamps", __name__)

PER_PAGE = 30
LEVELS = ("high", "medium", "low", "none")
BULK_LIMIT = 50_000


def _filters() -> dict[str, Any]:
    status = request.args.get("status", "review")
    if status == "any":
        status = ""
    elif status not in FILE_STATUSES:
        abort_with(400, f"unknown status {status!r}")
    level = request.args.get("level") or None
    if level is not None and level not in LEVELS:
        abort_with(400, f"level must be one of {', '.join(LEVELS)}")
    return {
        "status": status or None,
        "folder": request.args.get("folder") or None,
        "level": level,
        "q": request.args.get("q") or None,
    }


@bp.get("/review/timestamps")
def files() -> ResponseReturnValue:
    flt = _filters()
    per_page = int_arg("per_page", PER_PAGE, 1, 500)
    page = int_arg("page", 1, 1)
    s = db()
    rows, total = review.review_files(s, offset=(page - 1) * per_page, limit=per_page, **flt)
    pager = Pager(page, per_page, total)
    if wants_json():
        return jsonify([file_record(f) for f in rows]), 200, list_headers(pager)
    folders = review.review_folders(s, flt["status"] or "review")
    return render_template(
        "timestamps.html",
        files=rows,
        pager=pager,
        filters=flt,
        folders=folders[:200],
        zone=in_force().timezone,
        levels=LEVELS,
    )


def _change_for(f: File, params: Any) -> review.DateChange:
    """The date a request asks for one file (400 with a message when it makes no sense)."""
    zone = in_force().timezone
    try:
        if params.get("candidate") not in (None, ""):
            return _from_candidate(f, params["candidate"], zone)
        if params.get("accept") not in (None, "", False, "0", "false"):
            if f.taken_at is None:
                raise ValueError("this file has no date to confirm: pick a candidate or type one")
            return review.DateChange(
                f.taken_at,
                f.utc_offset,
                f.offset_source,
                f.date_precision or "second",
                "accept",
                {"source": f.date_source},
            )
        if params.get("taken_at") not in (None, ""):
            value, precision = parse_date(str(params["taken_at"]))
            offset = parse_offset(params.get("utc_offset"))
            source = "user"
            if offset is None:
                offset, source = offset_in_zone(value, zone), "home-zone"
            return review.DateChange(value, offset, source, precision, "typed")
        shift = params.get("shift_minutes") or params.get("shift")
        if shift not in (None, ""):
            # parse_shift bounds a number too (an unchecked one overflowed timedelta: #8).
            return _shifted(f, parse_shift(shift if isinstance(shift, int) else str(shift)))
    except ValueError as exc:
        abort_with(400, str(exc))
    abort_with(
        400,
        'say what the date is: "candidate" (its number), "taken_at" (and "utc_offset"), '
        '"shift" (e.g. "+2h") or "accept": true',
    )


def _from_candidate(f: File, which: Any, zone: str) -> review.DateChange:
    candidates = list(f.candidates or [])
    chosen: dict[str, Any] | None = None
    if isinstance(which, int) or (isinstance(which, str) and which.isdigit()):
        index = int(which)
        if not 0 <= index < len(candidates):
            raise ValueError(f"this file has no candidate {index} (it has {len(candidates)})")
        chosen = candidates[index]
    else:
        chosen = next((c for c in candidates if c.get("source") == which), None)
        if chosen is None:
            raise ValueError(f"this file has no candidate from {which!r}")
    value = datetime.fromisoformat(str(chosen["value"])).replace(tzinfo=None)
    offset = parse_offset(chosen.get("utc_offset"))
    source = str(chosen.get("source"))
    offset_source = source
    if offset is None:
        offset, offset_source = offset_in_zone(value, zone), "home-zone"
    return review.DateChange(
        value,
        offset,
        offset_source,
        str(chosen.get("precision") or "second"),
        "candidate",
        {"source": source, "candidate": chosen},
    )


def _shifted(f: File, minutes: int) -> review.DateChange:
    if f.taken_at is None:
        raise ValueError("this file has no date to shift")
    value = f.taken_at + timedelta(minutes=minutes)
    check_plausible(value)
    return review.DateChange(
        value,
        f.utc_offset,
        f.offset_source,
        f.date_precision or "second",
        "shift",
        {"shift_minutes": minutes, "source": f.date_source},
    )


@bp.post("/review/timestamps/<int:file_id>")
def confirm(file_id: int) -> ResponseReturnValue:
    s = db()
    f = get_file(s, file_id)
    if f is None:
        abort_with(404, f"no file {file_id}")
    if f.kind not in ("image", "video"):
        abort_with(400, "only photos and videos have a capture date")
    params = body()
    change = _change_for(f, params)
    review.apply_date(s, f, change)
    s.commit()
    if is_htmx():
        return render_template("_date_row.html", f=f, done=True, zone=in_force().timezone)
    if wants_json():
        return jsonify(file_record(f))
    return redirect(safe_next(str(params.get("next") or url_for("timestamps.files"))))


@bp.post("/review/timestamps/bulk")
def bulk() -> ResponseReturnValue:
    """Many files at once: ``{"file_ids": [...]}`` or ``{"folder": "/abs/dir"}`` with
    ``"shift": "+2h"``, ``"accept": true`` or ``"taken_at"`` (+ ``"utc_offset"``)."""
    params = body()
    s = db()
    ids = [i for i in map(as_id, as_list(params.get("file_ids"))) if i is not None]
    folder = params.get("folder")
    if not ids and not folder:
        abort_with(400, 'say which files: "file_ids" (a list) or "folder" (its absolute path)')
    rows = review.files_to_date(s, ids, None if ids else str(folder), BULK_LIMIT)
    if not rows:
        abort_with(404, "none of those files is a photo or video in the library")
    updated = 0
    skipped: list[dict[str, Any]] = []
    for f in rows:
        try:
            change = _change_for(f, params)
        except Exception as exc:  # one file's problem must not stop the others
            message = getattr(exc, "description", None) or str(exc)
            if len(rows) == 1:
                raise
            skipped.append({"id": f.id, "path": f.path, "reason": message})
            continue
        review.apply_date(s, f, change)
        updated += 1
    s.commit()
    if wants_json():
        return jsonify(updated=updated, skipped=skipped)
    from flask import flash

    flash(
        f"Updated {updated:,} files"
        + (f", skipped {len(skipped)} without a date" if skipped else ""),
        "success",
    )
    return redirect(safe_next(str(params.get("next") or url_for("timestamps.files"))))
