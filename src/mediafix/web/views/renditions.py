"""``GET /files/<id>/display`` and ``/files/<id>/full``: a photo to look at closely.

``display`` is the cached upright JPEG of at most 2048 px the compare view and the lightbox
show at "fit" (:mod:`mediafix.services.renditions`); ``full`` is the picture at its own size:
the original itself when a browser shows its format (JPEG, PNG, WebP...), else a full-size
JPEG (HEIC, TIFF). Both read the library file only through ``open_scanned`` (409 when it
changed since the scan, 403 for a link or a file outside its folder).

Caching: with ``?v=<first 12 digits of the sha256>`` (what the pages link) a rendition
never changes, so it is ``immutable`` for a year; without it the browser revalidates with
the ETag, which names the content and the variant.
"""

from __future__ import annotations

from flask import Blueprint, request, send_file
from flask.typing import ResponseReturnValue

from mediafix.media.safe_open import Refused, open_scanned
from mediafix.services.renditions import (
    RenditionError,
    RenditionSource,
    browser_shows,
    ensure_rendition,
)
from mediafix.store import library as files
from mediafix.store.models import File
from mediafix.web.request import abort_with, db, settings
from mediafix.web.sendfile import mimetype_for, refuse, send_open_file

bp = Blueprint("renditions", __name__)

YEAR = 365 * 24 * 3600
VERSION = "1"  # bump when renditions are made differently (size, quality, orientation)


def _servable(file_id: int) -> File:
    f = files.get_file(db(), file_id)
    if f is None:
        abort_with(404, f"no file {file_id}")
    if f.kind not in ("image", "video"):
        abort_with(403, "only photos and videos are shown: this file is neither")
    if f.status == "error" or f.error:
        abort_with(
            403, f"this file could not be read when it was scanned ({f.error}): it is not shown"
        )
    return f


def _send_rendition(f: File, variant: str) -> ResponseReturnValue:
    source = RenditionSource(f.id, f.sha256, f.path, f.root, f.size, f.mtime)
    try:
        path = ensure_rendition(settings(), source, variant)
    except Refused as exc:
        refuse(exc)
    except RenditionError as exc:
        abort_with(422, f"no picture to show: {exc}")
    # The content names the rendition; a file without a hash yet is named by its scan.
    tag = f.sha256[:32] if f.sha256 else f"{f.id}-{f.size}-{f.mtime}"
    response = send_file(
        path, mimetype="image/jpeg", conditional=True, etag=f"{variant}-{VERSION}-{tag}"
    )
    versioned = f.sha256 is not None and request.args.get("v") == f.sha256[:12]
    if versioned:
        response.headers["Cache-Control"] = f"private, max-age={YEAR}, immutable"
    else:
        response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Rendition"] = variant
    return response


@bp.get("/files/<int:file_id>/display")
def display(file_id: int) -> ResponseReturnValue:
    """The picture at screen size (a video: a frame of it), upright, as JPEG."""
    return _send_rendition(_servable(file_id), "display")


@bp.get("/files/<int:file_id>/full")
def full(file_id: int) -> ResponseReturnValue:
    """The picture at its own size: the original when a browser shows it, else a JPEG."""
    f = _servable(file_id)
    if f.kind == "video":
        return _send_rendition(f, "display")  # a still of a video is never larger
    if not browser_shows(f.kind, f.format):
        return _send_rendition(f, "full")
    try:
        fh, st = open_scanned(f.path, f.root, f.size, f.mtime)
    except Refused as exc:
        refuse(exc)
    response = send_open_file(fh, st, f.name, mimetype_for(f.ext or ""))
    response.headers["X-Rendition"] = "original"
    return response
