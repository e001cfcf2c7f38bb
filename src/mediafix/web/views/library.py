"""The library: a thumbnail grid with filters, one file's whole story, and tags in bulk."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from mediafix.media.safe_open import Refused, open_scanned
from mediafix.media.tags import clean_tag, file_tags
from mediafix.store import library as files
from mediafix.store.duplicates import file_groups
from mediafix.store.models import FILE_STATUSES, File
from mediafix.web.paging import Pager, list_headers
from mediafix.web.request import (
    MAX_ID,
    abort_with,
    as_list,
    body,
    db,
    in_force,
    int_arg,
    is_htmx,
    wants_json,
)
from mediafix.web.security import safe_next
from mediafix.web.sendfile import mimetype_for, refuse, send_open_file

bp = Blueprint("library", __name__)

PER_PAGE = 96
KINDS = ("image", "video", "other")
# Formats every browser shows by itself; the others are shown as their thumbnail only.
BROWSER_FORMATS = {"jpeg", "png", "gif", "webp", "avif", "bmp", "mp4", "webm"}
TAG_LIMIT = 50_000


def _filter(args: Any) -> files.LibraryFilter:
    flt = files.LibraryFilter()
    year = args.get("year")
    if year == "none":
        flt.undated = True
    elif year:
        text = str(year)  # int() refuses "²" (a digit) and 5000 digits: were 500s (issue #8)
        if not (text.isdecimal() and len(text) <= 4) or not 1800 <= int(text) <= 2200:
            abort_with(400, f"year must be a year like 2019, not {year!r}")
        flt.year = int(text)
    status = args.get("status") or None
    if status is not None and status not in FILE_STATUSES:
        abort_with(400, f"unknown status {status!r}")
    flt.status = status
    kind = args.get("kind") or None
    if kind is not None and kind not in KINDS:
        abort_with(400, f"kind must be one of {', '.join(KINDS)}")
    flt.kind = kind
    # Cleaned the way stored tags are: a NUL broke PostgreSQL's JSONB query (a 500, issue #8).
    flt.tag = clean_tag(str(args.get("tag") or "")) or None
    flt.q = str(args.get("q") or "") or None  # a number in a JSON filter was a 500 (#8)
    flt.review = str(args.get("review") or "") in ("1", "true", "on", "yes")
    return flt


@bp.get("/library")
def grid() -> ResponseReturnValue:
    flt = _filter(request.args)
    per_page = int_arg("per_page", PER_PAGE, 1, 500)
    page = int_arg("page", 1, 1)
    s = db()
    rows, total = files.library_page(s, flt, (page - 1) * per_page, per_page)
    pager = Pager(page, per_page, total)
    if wants_json():
        return jsonify([files.file_record(f) for f in rows]), 200, list_headers(pager)
    if is_htmx():
        return render_template("_grid.html", files=rows, pager=pager)
    return render_template(
        "library.html",
        files=rows,
        pager=pager,
        flt=flt,
        years=files.year_counts(s),
        tags=files.all_tags(s)[:100],
        statuses=FILE_STATUSES,
        kinds=KINDS,
    )


def _file_or_404(file_id: int) -> File:
    f = files.get_file(db(), file_id)
    if f is None:
        abort_with(404, f"no file {file_id}")
    return f


@bp.get("/files/<int:file_id>")
def file(file_id: int) -> ResponseReturnValue:
    s = db()
    f = _file_or_404(file_id)
    data = files.file_record(f)
    data["groups"] = file_groups(s, f.id)
    data["decisions"] = files.file_decisions(s, f)
    data["all_tags"] = list(file_tags(f.rel_path or f.name, f.tags or []))
    if wants_json():
        return jsonify(data)
    return render_template(
        "file.html",
        f=f,
        data=data,
        zone=in_force().timezone,
        viewable=(f.format or "") in BROWSER_FORMATS,
    )


@bp.get("/files/<int:file_id>/original")
def original(file_id: int) -> ResponseReturnValue:
    """The source file itself, for a closer look: a photo or video of the library, as it was
    scanned, from inside the folder it was imported from (:mod:`mediafix.media.safe_open`). A row
    with an error (a link out of its folder, a file that could not be read) is never served.
    """
    f = _file_or_404(file_id)
    if f.kind not in ("image", "video"):
        abort_with(403, "only photos and videos are served: this file is neither")
    if f.status == "error" or f.error:
        abort_with(
            403, f"this file could not be read when it was scanned ({f.error}): it is not served"
        )
    try:
        fh, st = open_scanned(f.path, f.root, f.size, f.mtime)
    except Refused as exc:
        refuse(exc)
    # The type its content has (sniffed at the scan), never the one its name claims: a JPEG
    # named x.html is sent as image/jpeg.
    return send_open_file(fh, st, f.name, mimetype_for(f.ext or ""))


def _tags(value: Any) -> list[str]:
    tags: list[str] = []
    for raw in as_list(value):
        for part in str(raw).split(","):
            tag = clean_tag(part)
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
    return tags


@bp.post("/library/tags")
def tags() -> ResponseReturnValue:
    """Add/remove tags: ``{"file_ids": [1, 2], "add": ["Italy"], "remove": ["draft"]}``, or
    ``{"filter": {"year": 2019, ...}, ...}`` for every file the grid's filter matches."""
    params = body()
    add, remove = _tags(params.get("add")), _tags(params.get("remove"))
    if params.get("tag") not in (None, ""):  # the page's form: one tag and what to do with it
        op = params.get("op") or "add"
        if op not in ("add", "remove"):
            abort_with(400, 'op must be "add" or "remove"')
        (add if op == "add" else remove).extend(_tags(params.get("tag")))
    if not add and not remove:
        abort_with(400, 'say which tags to "add" or "remove"')
    s = db()
    if params.get("filter") is not None or params.get("all_matching") not in (None, "", "0"):
        raw_filter = params.get("filter")
        if isinstance(raw_filter, str):
            from urllib.parse import parse_qsl

            raw_filter = dict(parse_qsl(raw_filter.lstrip("?")))
        if not isinstance(raw_filter, dict):
            abort_with(400, 'filter must be an object like {"year": 2019}')
        ids = files.library_ids(s, _filter(raw_filter))
    else:
        ids = []
        for value in as_list(params.get("file_ids")):
            try:
                number = int(value)
            except (TypeError, ValueError):
                abort_with(400, f"file_ids must be whole numbers, not {value!r}")
            if abs(number) <= MAX_ID:  # a larger one is no file's and broke the query (#8)
                ids.append(number)
        if not ids:
            abort_with(400, 'say which files: "file_ids" (a list) or "filter"')
    if len(ids) > TAG_LIMIT:
        abort_with(400, f"at most {TAG_LIMIT:,} files at a time")
    changed = files.set_tags(s, ids, add, remove)
    s.commit()
    if wants_json():
        return jsonify(updated=changed, files=len(ids), add=add, remove=remove)
    flash(f"Tags changed on {changed:,} of {len(ids):,} files.", "success")
    return redirect(safe_next(str(params.get("next") or "/library")))
