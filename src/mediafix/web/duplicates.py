"""Duplicate review: the list of groups, one group at a time, and accepting suggestions in bulk.

A decision is written as ``Decision`` rows (keep/discard per file, not_duplicate per pair of
contents) and as the member rows' ``keep`` with the group ``resolved``; a regroup replays
the rows, so decisions survive it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from mediafix.store import review
from mediafix.store.models import DuplicateGroup
from mediafix.web.context import abort_with, as_list, body, db, int_arg, respond, wants_json
from mediafix.web.helpers import Pager

bp = Blueprint("duplicates", __name__)

PER_PAGE = 24
TYPE_LABELS = {
    "exact": "Exact copies",
    "near": "Near duplicates",
    "burst": "Bursts",
}


def _status_arg() -> str | None:
    status = request.args.get("status", "pending")
    if status not in ("pending", "resolved", "all"):
        abort_with(400, "status must be pending, resolved or all")
    return None if status == "all" else status


def _types(values: list[Any]) -> list[str]:
    types: list[str] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if part not in review.GROUP_TYPES:
                abort_with(400, f"unknown group type {part!r} (use exact, near or burst)")
            types.append(part)
    return types


@bp.get("/review/duplicates")
def groups() -> ResponseReturnValue:
    status = _status_arg()
    types = _types(request.args.getlist("type"))
    per_page = int_arg("per_page", PER_PAGE, 1, 500)
    page = int_arg("page", 1, 1)
    s = db()
    offset = (page - 1) * per_page
    items, total = review.group_list(s, status, types or None, offset, per_page)
    pager = Pager(page, per_page, total)
    counts = {t: review.suggestion_counts(s, [t]) for t in review.GROUP_TYPES}
    data = {"groups": items, **pager.as_dict()}
    first = review.first_group(s, "pending")
    return respond(
        data,
        "duplicates.html",
        groups=items,
        pager=pager,
        status=status or "all",
        types=types,
        counts=counts,
        labels=TYPE_LABELS,
        first_pending=first,
    )


def _detail(group_id: int) -> dict[str, Any]:
    try:
        data = review.group_detail(db(), group_id)
    except LookupError:
        abort_with(404, f"no duplicate group {group_id} (a regroup may have renumbered them)")
    s = db()
    data["next_id"] = review.neighbour_group(s, group_id, True, "pending")
    data["prev_id"] = review.neighbour_group(s, group_id, False, "pending")
    return data


REBUILT = "The duplicate groups were rebuilt meanwhile (a new import or threshold); here they are."


@bp.get("/review/duplicates/<int:group_id>")
def group(group_id: int) -> ResponseReturnValue:
    if not wants_json() and db().get(DuplicateGroup, group_id) is None:
        flash(REBUILT, "info")
        return redirect(url_for("duplicates.groups"))
    data = _detail(group_id)
    s = db()
    remaining = review.badge_counts(s)["duplicates"]
    return respond(
        data, "duplicate_group.html", group=data, remaining=remaining, labels=TYPE_LABELS
    )


def _ids(values: list[Any], name: str) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            abort_with(400, f"{name} must list file ids (whole numbers), not {value!r}")
    return ids


@bp.post("/review/duplicates/<int:group_id>")
def decide(group_id: int) -> ResponseReturnValue:
    """Body: ``{"action": "keep", "keep": [file ids]}``, ``{"action": "suggestion"}`` or
    ``{"action": "not_duplicates"}`` (``keep`` alone implies the first). An optional
    ``"members": [file ids]`` (what the person saw) makes the request fail with 409 if the
    group is no longer made of those files."""
    params = body()
    action = params.get("action") or ("keep" if "keep" in params else None)
    s = db()
    current = s.get(DuplicateGroup, group_id)
    if current is None:
        if not wants_json():
            flash(REBUILT, "info")
            return redirect(url_for("duplicates.groups"))
        abort_with(404, f"no duplicate group {group_id} (a regroup may have renumbered them)")
    if params.get("members") not in (None, ""):
        seen = set(_ids(as_list(params.get("members")), "members"))
        if seen != {m.file_id for m in current.members}:
            abort_with(409, "this group changed since the page was shown: look at it again")
    try:
        if action == "keep":
            keep = _ids(as_list(params.get("keep")), "keep")
            decided = review.decide_group(s, group_id, keep)
        elif action == "suggestion":
            chosen = [m.file_id for m in current.members if m.keep] or (
                [current.keeper_id] if current.keeper_id else []
            )
            decided = review.decide_group(s, group_id, chosen)
        elif action == "not_duplicates":
            decided = review.not_duplicates(s, group_id)
        else:
            abort_with(
                400,
                'action must be "keep" (with "keep": [file ids]), "suggestion" or "not_duplicates"',
            )
    except LookupError:
        abort_with(404, f"no duplicate group {group_id}")
    except review.ReviewError as exc:
        abort_with(400, str(exc))
    s.commit()
    next_id = review.neighbour_group(s, group_id, True, "pending") or review.first_group(s)
    if wants_json():
        files = review.files_by_id(s, [m.file_id for m in decided.members])
        return jsonify(group=review.group_dict(decided, files), next_id=next_id)
    if next_id:
        return redirect(url_for("duplicates.group", group_id=next_id))
    flash("Every duplicate group is resolved.", "success")
    return redirect(url_for("duplicates.groups"))


@bp.get("/review/duplicates/accept")
def accept_preview() -> ResponseReturnValue:
    types = _types(request.args.getlist("type")) or ["exact"]
    counts = review.suggestion_counts(db(), types)
    return jsonify(types=types, **counts)


@bp.post("/review/duplicates/accept")
def accept() -> ResponseReturnValue:
    """Accept every pending suggestion of some types: ``{"types": ["exact"],
    "expect_groups": 412}`` (``expect_groups`` is what the person confirmed; 409 if it
    changed)."""
    params = body()
    types = _types(as_list(params.get("types") or params.get("type"))) or ["exact"]
    expect_raw = params.get("expect_groups")
    expect: int | None = None
    if expect_raw not in (None, ""):
        try:
            expect = int(expect_raw)
        except (TypeError, ValueError):
            abort_with(400, "expect_groups must be a whole number")
    s = db()
    try:
        counts = review.accept_suggestions(s, types, expect)
    except review.ReviewError as exc:
        abort_with(409 if expect is not None and "changed" in str(exc) else 400, str(exc))
    s.commit()
    if wants_json():
        return jsonify(types=types, **counts)
    flash(
        f"Accepted {counts['groups']:,} suggestions: {counts['kept']:,} files kept, "
        f"{counts['discarded']:,} left out of the archive.",
        "success",
    )
    return redirect(url_for("duplicates.groups"))
