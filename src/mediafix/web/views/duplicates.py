"""Duplicate review: the list of groups, one group at a time, and accepting suggestions in bulk.

A decision is written as ``Decision`` rows (keep/discard per file, not_duplicate per pair of
contents) and as the member rows' ``keep`` with the group ``resolved``; a regroup replays
the rows, so decisions survive it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from mediafix.media.values import camera_name, format_offset, human_size
from mediafix.store.counts import badge_counts
from mediafix.store.duplicates import (
    accept_suggestions,
    decide_group,
    exact_copies,
    first_group,
    get_group,
    group_dict,
    group_list,
    group_with_files,
    neighbour_group,
    not_duplicates,
    suggestion_counts,
)
from mediafix.store.models import GROUP_TYPES, File
from mediafix.store.queries import ReviewError, files_by_id
from mediafix.web.paging import Pager
from mediafix.web.request import abort_with, as_list, body, db, int_arg, respond, wants_json

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
            if part not in GROUP_TYPES:
                abort_with(400, f"unknown group type {part!r} (use exact, near or burst)")
            types.append(part)
    return types


# -- what the group page shows of each member: the facts that tell them apart ----


def _facts(f: File) -> dict[str, str]:
    taken = "no date"
    if f.taken_at:
        taken = f.taken_at.replace(microsecond=0).isoformat(sep=" ")
        if f.utc_offset is not None:
            taken += f" {format_offset(f.utc_offset)}"
    return {
        "name": f.name or os.path.basename(f.path),
        "folder": os.path.dirname(f.path),
        "size": human_size(f.size),
        "resolution": f"{f.width}×{f.height}" if f.width and f.height else "unknown",
        "format": (f.format or "unknown").upper(),
        "taken": taken,
        "date source": f.date_source or "none",
        "camera": camera_name(f.make, f.model) or "none",
    }


FACT_ORDER = ("size", "resolution", "format", "taken", "date source", "camera", "name", "folder")


def differing_fields(files: Sequence[File]) -> tuple[list[str], dict[str, str]]:
    """(labels whose values differ between the files, {label: value} of what they share)."""
    facts = [_facts(f) for f in files]
    differ: list[str] = []
    same: dict[str, str] = {}
    for label in FACT_ORDER:
        values = {fact[label] for fact in facts}
        if len(values) > 1:
            differ.append(label)
        elif facts:
            same[label] = facts[0][label]
    return differ, same


def group_detail(group_id: int) -> dict[str, Any]:
    """One group for the review page: its JSON, plus per member only the facts that differ."""
    group, files = group_with_files(db(), group_id)
    data = group_dict(group, files)
    ordered = [files[m["file_id"]] for m in data["members"]]
    differ, same = differing_fields(ordered)
    folders = [os.path.dirname(f.path) for f in ordered]
    common = os.path.commonpath(folders) if folders else ""
    for member, f in zip(data["members"], ordered, strict=True):
        facts = _facts(f)
        if "folder" in differ and common:
            # Folders differ: show each from the folder they share ("My photos/backup").
            facts["folder"] = os.path.relpath(os.path.dirname(f.path), os.path.dirname(common))
        member["facts"] = {label: facts[label] for label in differ}
        member["name"] = facts["name"]
    data["differ"] = differ
    data["same"] = same
    data["cards"] = _cards(data)
    return data


def _cards(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The group's members as the page shows them: one card per picture content.

    Inside a near group, byte-identical copies are one question, already asked (or to be
    asked) in their exact group: they show as one card "3 identical copies" that follows
    that group's decision. The card stands for the copies the exact group keeps (its
    suggested keeper while it is undecided); keeping the card keeps those, leaving it out
    leaves them all out, and deciding here decides the exact group too.
    """
    members = data["members"]
    by_sha: dict[str, list[dict[str, Any]]] = {}
    order: list[list[dict[str, Any]]] = []
    for m in members:
        sha = m.get("sha256")
        if data["type"] == "exact" or not sha:
            order.append([m])
            continue
        if sha not in by_sha:
            by_sha[sha] = []
            order.append(by_sha[sha])
        by_sha[sha].append(m)
    exact = exact_copies(
        db(), [m["file_id"] for m in members if len(by_sha.get(m["sha256"], [])) > 1]
    )
    cards: list[dict[str, Any]] = []
    for copies in order:
        ids = [m["file_id"] for m in copies]
        card: dict[str, Any] = {
            "file_ids": ids,
            "keep": any(m["keep"] for m in copies),
            "suggested": any(m["suggested"] for m in copies),
            "copies": len(copies),
            "exact_group": None,
        }
        stands_for = ids[:1]
        if len(copies) > 1:
            group = exact.get(ids[0])
            if group is not None:
                card["exact_group"] = {"id": group["id"], "status": group["status"]}
                kept = [i for i in group["kept"] if i in ids]
                if group["status"] == "resolved" and kept:
                    stands_for = kept
                elif group["keeper_id"] in ids:
                    stands_for = [group["keeper_id"]]
            else:
                kept = [i for i in ids if any(m["file_id"] == i and m["keep"] for m in copies)]
                stands_for = kept or ids[:1]
        card["keep_ids"] = stands_for
        rep = next(m for m in copies if m["file_id"] == stands_for[0])
        card["member"] = rep
        card["others"] = [
            {
                "file_id": m["file_id"],
                "name": m["name"],
                "path": m["path"],
                "kept": m["file_id"] in stands_for,
            }
            for m in copies
        ]
        cards.append(card)
    return cards


@bp.get("/review/duplicates")
def groups() -> ResponseReturnValue:
    status = _status_arg()
    types = _types(request.args.getlist("type"))
    per_page = int_arg("per_page", PER_PAGE, 1, 500)
    page = int_arg("page", 1, 1)
    s = db()
    offset = (page - 1) * per_page
    items, total = group_list(s, status, types or None, offset, per_page)
    pager = Pager(page, per_page, total)
    counts = {t: suggestion_counts(s, [t]) for t in GROUP_TYPES}
    data = {"groups": items, **pager.as_dict()}
    first = first_group(s, "pending")
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
        data = group_detail(group_id)
    except LookupError:
        abort_with(404, f"no duplicate group {group_id} (a regroup may have renumbered them)")
    s = db()
    data["next_id"] = neighbour_group(s, group_id, True, "pending")
    data["prev_id"] = neighbour_group(s, group_id, False, "pending")
    return data


REBUILT = "The duplicate groups were rebuilt meanwhile (a new import or threshold); here they are."


@bp.get("/review/duplicates/<int:group_id>")
def group(group_id: int) -> ResponseReturnValue:
    if not wants_json() and get_group(db(), group_id) is None:
        flash(REBUILT, "info")
        return redirect(url_for("duplicates.groups"))
    data = _detail(group_id)
    s = db()
    remaining = badge_counts(s)["duplicates"]
    return respond(
        data, "duplicate_group.html", group=data, remaining=remaining, labels=TYPE_LABELS
    )


def _ids(values: list[Any], name: str) -> list[int]:
    ids = []
    for value in values:
        # A card of identical copies sends the ones it stands for as "12,13".
        parts = value.split(",") if isinstance(value, str) and "," in value else [value]
        for part in parts:
            try:
                ids.append(int(part))
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
    current = get_group(s, group_id)
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
            decided = decide_group(s, group_id, keep)
        elif action == "suggestion":
            chosen = [m.file_id for m in current.members if m.keep] or (
                [current.keeper_id] if current.keeper_id else []
            )
            decided = decide_group(s, group_id, chosen)
        elif action == "not_duplicates":
            decided = not_duplicates(s, group_id)
        else:
            abort_with(
                400,
                'action must be "keep" (with "keep": [file ids]), "suggestion" or "not_duplicates"',
            )
    except LookupError:
        abort_with(404, f"no duplicate group {group_id}")
    except ReviewError as exc:
        abort_with(400, str(exc))
    s.commit()
    next_id = neighbour_group(s, group_id, True, "pending") or first_group(s)
    if wants_json():
        files = files_by_id(s, [m.file_id for m in decided.members])
        return jsonify(group=group_dict(decided, files), next_id=next_id)
    if next_id:
        return redirect(url_for("duplicates.group", group_id=next_id))
    flash("Every duplicate group is resolved.", "success")
    return redirect(url_for("duplicates.groups"))


@bp.get("/review/duplicates/accept")
def accept_preview() -> ResponseReturnValue:
    types = _types(request.args.getlist("type")) or ["exact"]
    counts = suggestion_counts(db(), types)
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
        counts = accept_suggestions(s, types, expect)
    except ReviewError as exc:
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
