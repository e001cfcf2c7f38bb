"""Output: the plan as a preview, apply (a job), undo the last apply, and browse the archive.

The plan, the purge and what the holding folder keeps come from ``services.output``; apply
and undo are jobs (``jobs.enqueue``).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from mediafix.config import FolderError
from mediafix.jobs import enqueue
from mediafix.media.holding import holding_dir
from mediafix.media.kinds import MEDIA_EXTENSIONS
from mediafix.media.outputlock import OutputBusy
from mediafix.media.safe_open import Refused, open_inside
from mediafix.media.values import human_size
from mediafix.services import output
from mediafix.store import jobs as jobrows
from mediafix.store.library import ids_by_output_path, library_roots
from mediafix.web.paging import Pager
from mediafix.web.request import (
    abort_with,
    as_id,
    body,
    check_lookup,
    db,
    engine,
    in_force,
    int_arg,
    release_db,
    settings,
    wants_json,
)
from mediafix.web.sendfile import mimetype_for, refuse, send_open_file

bp = Blueprint("output", __name__)

PER_PAGE = 200
BROWSE_PER_PAGE = 120


def output_dir() -> Path:
    return in_force().output_dir


def allowed_output_dir(*, full: bool = False) -> Path:
    """The output folder in use, as a real path, if mediafix may use it (else 409).

    A value saved by an older version may be one the Settings page refuses now (``/``, a
    system folder: issue 15); it must not keep that door open. ``full`` adds what matters
    before writing: the library's source folders, and that the folder can be written.
    """
    raw = output_dir()
    try:
        if not full:
            return settings().check_output(raw, writable=False)
        stored = in_force().from_page("output_dir")
        return settings().check_output(raw, library_roots(db()), web=stored)
    except FolderError as exc:
        abort_with(409, f"the output folder cannot be used: {exc}; choose another in Settings")


def move_default() -> bool:
    return in_force().move


@bp.get("/output")
def preview() -> ResponseReturnValue:
    allowed_output_dir()
    last = jobrows.latest_job(db(), "output", "completed")
    last_apply = jobrows.job_dict(last) if last is not None else None
    release_db()
    plan = output.preview(engine(), settings()).to_dict()
    if wants_json():
        return jsonify(plan)
    items = list(plan.get("items") or [])
    root = str(plan.get("output") or output_dir())
    years = _years(root, items)
    page = int_arg("page", 1, 1)
    pager = Pager(page, PER_PAGE, len(items))
    return render_template(
        "output.html",
        plan=plan,
        root=root,
        counts=plan.get("counts") or {},
        items=items[pager.offset : pager.offset + PER_PAGE],
        held=list(plan.get("held") or [])[:200],
        discarded=list(plan.get("discarded") or [])[:200],
        years=sorted(years.items()),
        pager=pager,
        move=move_default(),
        holding=os.path.isdir(holding_dir(root)),
        last_apply=last_apply,
        can_undo=output.last_journal(settings()) is not None,
    )


def _years(root: str, items: list[dict[str, Any]]) -> Counter[str]:
    """Items per top folder of the output (``_top_folder``), worked out once per folder."""
    by_folder: dict[str, list[str]] = {}
    for item in items:
        target = str(item.get("target") or "")
        by_folder.setdefault(target.rpartition(os.sep)[0], []).append(target)
    years: Counter[str] = Counter()
    for folder, targets in by_folder.items():
        # A plain folder at least as long as the root: every file name in it gives the same
        # answer (whether it starts with the root, and its relative path's first part).
        if (
            len(folder) >= len(root)
            and folder == os.path.normpath(folder)
            and all(t.rpartition(os.sep)[2] not in ("", ".", "..") for t in targets)
        ):
            years[_top_folder(root, targets[0])] += len(targets)
        else:
            for target in targets:
                years[_top_folder(root, target)] += 1
    return years


def _top_folder(root: str, target: str) -> str:
    rel = os.path.relpath(target, root) if target.startswith(root) else target
    return rel.split(os.sep, 1)[0] if os.sep in rel else "."


def _move_flag(params: Any) -> bool:
    value = params.get("move")
    if value is None or value == "":
        return move_default()
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on", "move"):
        return True
    if text in ("0", "false", "no", "off", "copy"):
        return False
    abort_with(400, 'move must be true or false ("copy")')


@bp.post("/output/apply")
def apply() -> ResponseReturnValue:
    move = _move_flag(body())
    allowed_output_dir(full=True)
    release_db()  # the job is created in a session of its own
    job_id = enqueue.output(move=move)
    if wants_json():
        return jsonify(job_id=job_id, move=move), 202
    return redirect(url_for("jobs.job", job_id=job_id))


@bp.post("/output/undo")
def undo() -> ResponseReturnValue:
    """Undo the last apply, or with ``job_id`` the apply that output job made (its journal
    is read from the job's row: a path never comes from the request)."""
    journal = None
    raw = body().get("job_id")
    if raw not in (None, ""):
        which = as_id(raw)
        job = jobrows.get_job(db(), which) if which is not None else None
        if job is None or job.type != "output":
            abort_with(404, f"no apply job {raw}")
        journal = (job.params or {}).get("journal")
        if not journal:
            abort_with(409, f"job {which} wrote nothing to undo")
    release_db()
    job_id = enqueue.undo(journal)
    if wants_json():
        return jsonify(job_id=job_id), 202
    return redirect(url_for("jobs.job", job_id=job_id))


def _runs_json(runs: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "name": r.name,
            "path": r.path,
            "started": r.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "files": r.files,
            "bytes": r.bytes,
        }
        for r in runs
    ]


@bp.get("/output/originals")
def originals() -> ResponseReturnValue:
    """What the holding folder keeps (the originals moves left there): the purge page."""
    allowed_output_dir()
    release_db()
    out, runs = output.held_originals(engine(), settings())
    data = {
        "output": out,
        "holding": holding_dir(out),
        "runs": _runs_json(runs),
        "files": sum(r.files for r in runs),
        "bytes": sum(r.bytes for r in runs),
    }
    if wants_json():
        return jsonify(data)
    return render_template("output_originals.html", data=data)


def _days(params: Any) -> float | None:
    value = params.get("older_than_days")
    if value is None or value == "":
        return None
    try:
        days = float(value)
    except (TypeError, ValueError):
        days = -1.0
    if isinstance(value, bool) or not 0 <= days <= 36500:
        abort_with(400, "older_than_days must be a number of days from 0 to 36500")
    return days


@bp.post("/output/purge")
def purge() -> ResponseReturnValue:
    """Delete the originals moves keep (all, or those older than ``older_than_days``)."""
    days = _days(body())
    allowed_output_dir()
    release_db()
    try:
        result = output.purge_originals(
            engine(), settings(), older_than_days=days, command="purge from the web page"
        )
    except OutputBusy as exc:
        abort_with(409, str(exc))
    data = {
        "purged_files": result.files,
        "purged_bytes": result.bytes,
        "runs": _runs_json(result.runs),
        "errors": [{"path": p, "error": e} for p, e in result.errors],
    }
    if wants_json():
        return jsonify(data)
    flash(
        f"Deleted {result.files} originals ({human_size(result.bytes)} freed)."
        + (f" {len(result.errors)} could not be removed." if result.errors else ""),
        "error" if result.errors else "success",
    )
    return redirect(url_for("output.originals"))


def _hidden(rel: str) -> bool:
    """A path through a hidden name (``.ssh``, ``.trash``): the listing never shows those."""
    return any(p.startswith(".") and p not in (".", "..") for p in rel.split("/"))


def _inside_output(rel: str, root: Path) -> Path:
    if "\x00" in rel:
        abort_with(400, "the path contains a NUL character")
    target = (root / rel.lstrip("/")).resolve()
    if target != root and not target.is_relative_to(root):
        abort_with(403, "that path is outside the output folder")
    check_lookup(target, rel)
    return target


@bp.get("/output/browse")
def browse() -> ResponseReturnValue:
    """The output folder's sub-folders (years) and files, a page at a time."""
    rel = request.args.get("path", "")
    root = allowed_output_dir()
    folder = _inside_output(rel, root)
    if _hidden(rel):
        abort_with(404, f"no folder {rel!r} in the output")
    if not folder.exists():
        if folder == root:
            data: dict[str, Any] = {
                "output": os.fspath(root),
                "path": "",
                "folders": [],
                "files": [],
                "total_files": 0,
            }
            if wants_json():
                return jsonify(data)
            return render_template("output_browse.html", data=data, pager=Pager(1, 1, 0), crumbs=[])
        abort_with(404, f"no folder {rel!r} in the output")
    if not folder.is_dir():
        abort_with(400, f"{rel!r} is a file, not a folder")
    folders: list[dict[str, Any]] = []
    names: list[os.DirEntry[str]] = []
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(
                        {
                            "name": entry.name,
                            "path": _rel(root, entry.path),
                            "entries": _count_entries(entry.path),
                        }
                    )
                elif entry.is_file(follow_symlinks=False):
                    names.append(entry)
    except OSError as exc:  # a folder the server may not read (a NAS share's permissions)
        abort_with(
            403,
            f"cannot read {rel or 'the output folder'!r}: {exc.strerror or exc.__class__.__name__}",
        )
    folders.sort(key=lambda d: d["name"])
    names.sort(key=lambda e: e.name)
    page = int_arg("page", 1, 1)
    pager = Pager(page, BROWSE_PER_PAGE, len(names))
    shown = names[pager.offset : pager.offset + BROWSE_PER_PAGE]
    ids = ids_by_output_path(db(), [e.path for e in shown])
    files = []
    for entry in shown:
        try:
            size: int | None = entry.stat(follow_symlinks=False).st_size
        except OSError:  # removed since the listing
            size = None
        files.append(
            {
                "name": entry.name,
                "path": _rel(root, entry.path),
                "size": size,
                "file_id": ids.get(entry.path),
            }
        )
    data = {
        "output": os.fspath(root),
        "path": _rel(root, os.fspath(folder)),
        "folders": folders,
        "files": files,
        "total_files": len(names),
        **pager.as_dict(),
    }
    if wants_json():
        return jsonify(data)
    crumbs = []
    parts = Path(data["path"]).parts if data["path"] else ()
    for n in range(len(parts)):
        crumbs.append({"name": parts[n], "path": "/".join(parts[: n + 1])})
    return render_template("output_browse.html", data=data, pager=pager, crumbs=crumbs)


def _count_entries(path: str) -> int | None:
    """Visible entries of a sub-folder; ``None`` when it cannot be read."""
    try:
        with os.scandir(path) as it:
            return sum(1 for e in it if not e.name.startswith("."))
    except OSError:
        return None


def _rel(root: Path, path: str) -> str:
    rel = os.path.relpath(path, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


@bp.get("/output/file")
def output_file() -> ResponseReturnValue:
    """A photo or video of the archive (:func:`mediafix.media.safe_open.open_inside` the output
    folder); hidden files and other kinds of file are not served."""
    rel = request.args.get("path", "")
    root = allowed_output_dir()
    target = _inside_output(rel, root)
    if _hidden(rel) or target.suffix.lower() not in MEDIA_EXTENSIONS:
        abort_with(404, "no such file in the output")
    try:
        fh, st = open_inside(
            os.fspath(root / rel.lstrip("/")), os.fspath(root), what="the output folder"
        )
    except Refused as exc:
        if exc.status == 404:
            abort_with(404, "no such file in the output")
        refuse(exc)
    return send_open_file(fh, st, target.name, mimetype_for(target.name))
