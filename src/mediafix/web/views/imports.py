"""Getting photos in: browser uploads (files and whole folders) and server folders.

``POST /upload`` takes a multipart body with any number of ``files`` parts, each named by
its relative path (``Italy 2019/IMG_1.JPG``). A big folder is sent in batches: every batch
but the last says ``done=0`` and the answer's ``upload_id`` ties the next ones to it; the
last batch (or a request with ``done=1`` and no files) creates the import job:
202 ``{"job_id": 8, ...}``. A single request without ``done`` is a whole upload.

``POST /imports`` imports a folder on the server, which must lie inside one of
``MEDIAFIX_IMPORT_ROOTS`` once symlinks are resolved (403 otherwise).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from mediafix.jobs import enqueue
from mediafix.store.models import Job
from mediafix.web.request import abort_with, body, check_lookup, settings, wants_json
from mediafix.web.uploads import (
    UPLOAD_ID,
    InsufficientStorage,
    UploadRequest,
    count_files,
    discard_staging,
    place_file,
    safe_relpath,
    upload_folders,
)

bp = Blueprint("imports", __name__)

MAX_REPORTED_RENAMES = 100
BROWSE_LIMIT = 500


def _roots() -> list[Path]:
    return settings().import_root_paths


@bp.get("/import")
def page() -> ResponseReturnValue:
    return render_template(
        "import.html",
        roots=[os.fspath(r) for r in _roots()],
        max_file=current_app.config["MEDIAFIX_MAX_FILE_SIZE"],
    )


def _mtimes(values: list[str], count: int) -> list[float | None]:
    """Each file's modification time (``mtime`` fields, ms since 1970, in file order)."""
    if len(values) != count:
        return [None] * count
    result: list[float | None] = []
    for value in values:
        try:
            seconds = float(value) / 1000.0
        except ValueError:
            seconds = -1.0
        # 1990-01-01 .. 2200: anything else is a browser or clock that knows nothing.
        result.append(seconds if 631_152_000 <= seconds <= 7_258_118_400 else None)
    return result


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.lower() not in ("0", "false", "no", "off")


@bp.post("/upload")
def upload() -> ResponseReturnValue:
    uploads = settings().data_dir / "uploads"
    upload_id = request.args.get("upload_id") or secrets.token_hex(16)
    if not UPLOAD_ID.match(upload_id):
        abort_with(400, "upload_id must be the id an earlier batch answered with")
    staging, incoming = upload_folders(uploads, upload_id)
    if request.args.get("upload_id") and not incoming.is_dir():
        abort_with(404, f"no upload {upload_id} in progress")
    staging.mkdir(parents=True, exist_ok=True)
    incoming.mkdir(parents=True, exist_ok=True)
    req = request._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(req, UploadRequest)
    req.upload_staging = staging
    req.upload_file_limit = int(current_app.config["MEDIAFIX_MAX_FILE_SIZE"])
    received = 0
    renamed: list[dict[str, str]] = []
    try:
        parts = request.files.getlist("files") + request.files.getlist("file")
        mtimes = _mtimes(request.form.getlist("mtime"), len(parts))
        for part, mtime in zip(parts, mtimes, strict=True):
            stream = part.stream
            tmp = Path(getattr(stream, "name", ""))
            stream.close()
            if not part.filename and tmp.is_file() and tmp.stat().st_size == 0:
                tmp.unlink()  # an empty file input
                continue
            rel = safe_relpath(part.filename) or safe_relpath(f"upload-{received + 1}")
            assert rel is not None
            placed = place_file(tmp, incoming, rel)
            if mtime is not None:
                # The browser's "last modified" is a clue to the date: keep it on the copy.
                os.utime(placed, (mtime, mtime))
            received += 1
            stored = placed.relative_to(incoming).as_posix()
            if stored != part.filename and len(renamed) < MAX_REPORTED_RENAMES:
                renamed.append({"sent": part.filename or "", "stored": stored})
    except HTTPException:
        discard_staging(staging)
        raise
    except OSError as exc:  # a full disk, a read-only data folder
        discard_staging(staging)
        raise InsufficientStorage(f"could not store the upload: {exc.strerror or exc}") from exc
    finally:
        req.upload_staging = None
    discard_staging(staging)
    done = _flag(request.args.get("done") or request.form.get("done"), default=True)
    if not done:
        return jsonify(upload_id=upload_id, received=received, renamed=renamed), 200
    total = count_files(incoming)
    if total == 0:
        abort_with(400, "no files were uploaded")
    job_id, folder = _import_upload(incoming, uploads, total)
    return (
        jsonify(
            job_id=job_id,
            upload_id=upload_id,
            received=received,
            files=total,
            folder=os.fspath(folder),
            renamed=renamed,
            job_url=url_for("jobs.job", job_id=job_id),
        ),
        202,
    )


def _import_upload(incoming: Path, uploads: Path, files: int) -> tuple[int, Path]:
    """Turn a finished upload into ``uploads/<job id>`` and an import job for it."""
    folder = uploads

    def into_place(job: Job) -> None:
        nonlocal folder
        folder = uploads / str(job.id)
        n = 1
        while folder.exists():  # a data folder reused with a fresh database
            n += 1
            folder = uploads / f"{job.id}-{n}"
        job.params = {**job.params, "paths": [os.fspath(folder)]}
        # Renamed before the row is committed: a worker never sees the job without its
        # folder (and a failed commit puts the folder back below).
        os.rename(incoming, folder)

    params = {"paths": [], "source": "upload", "uploaded_files": files}
    try:
        job_id = enqueue.create(enqueue.JobType.IMPORT, params, prepare=into_place)
    except BaseException:
        if folder != uploads and folder.exists() and not incoming.exists():
            os.rename(folder, incoming)
        raise
    enqueue.start(enqueue.JobType.IMPORT, job_id)
    return job_id, folder


def resolve_in_roots(raw: object) -> Path:
    """The real folder ``raw`` names, if it lies inside an import root (else 400/403/404)."""
    roots = _roots()
    if not roots:
        abort_with(
            403,
            "importing from server folders is turned off: set MEDIAFIX_IMPORT_ROOTS "
            "to the folders the web page may read",
        )
    if not isinstance(raw, str) or not raw.strip():
        abort_with(400, 'give the folder as "path", an absolute path on the server')
    if "\x00" in raw:
        abort_with(400, "the path contains a NUL character")
    given = Path(raw.strip())
    if not given.is_absolute():
        abort_with(400, f"the path must be absolute (start with /): {raw!r}")
    real = Path(os.path.realpath(given))
    if not any(real == root or real.is_relative_to(root) for root in roots):
        abort_with(
            403,
            f"{raw} is outside the folders the web page may import from "
            f"({', '.join(os.fspath(r) for r in roots)})",
        )
    data = settings().data_dir
    if real == data or real.is_relative_to(data):
        abort_with(403, f"{raw} is inside mediafix's own data folder: it is not a source")
    check_lookup(real, raw)
    if not real.exists():
        abort_with(404, f"no such file or folder on the server: {raw}")
    return real


@bp.post("/imports")
def create_import() -> ResponseReturnValue:
    real = resolve_in_roots(body().get("path"))
    job_id = enqueue.import_paths([os.fspath(real)])
    if wants_json():
        return jsonify(job_id=job_id, path=os.fspath(real)), 202
    return redirect(url_for("jobs.job", job_id=job_id))


@bp.get("/imports/browse")
def browse() -> ResponseReturnValue:
    """The sub-folders of a folder inside the import roots (the roots themselves without one)."""
    roots = _roots()
    raw = request.args.get("path")
    if not raw:
        entries = [{"name": os.fspath(r), "path": os.fspath(r)} for r in roots if r.is_dir()]
        data: dict[str, object] = {"path": None, "parent": None, "folders": entries, "files": 0}
    else:
        real = resolve_in_roots(raw)
        if not real.is_dir():
            abort_with(400, f"not a folder: {raw}")
        folders = []
        files = 0
        try:
            with os.scandir(real) as it:
                for entry in it:
                    if entry.name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=True):
                            folders.append(entry.name)
                        else:
                            files += 1
                    except OSError:
                        continue
        except OSError as exc:
            abort_with(403, f"cannot read {raw}: {exc.strerror or exc}")
        folders.sort(key=str.casefold)
        at_root = any(real == r for r in roots)
        data = {
            "path": os.fspath(real),
            "parent": None if at_root else os.fspath(real.parent),
            "folders": [{"name": n, "path": os.fspath(real / n)} for n in folders[:BROWSE_LIMIT]],
            "more_folders": max(0, len(folders) - BROWSE_LIMIT),
            "files": files,
        }
    return jsonify(data)
