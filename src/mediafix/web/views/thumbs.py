"""``GET /thumbs/<file_id>``: the cached thumbnail, or a placeholder while a worker makes it.

The web never decodes: a missing thumbnail enqueues ``make_thumbnails`` (at most every few
seconds) and answers an SVG placeholder that is not cached, so the page asks again later.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, send_file
from flask.typing import ResponseReturnValue

from mediafix.jobs import enqueue
from mediafix.services.thumbnails import marker_path, thumb_path
from mediafix.store.library import thumb_facts
from mediafix.web.request import abort_with, db, settings

bp = Blueprint("thumbs", __name__)

YEAR = 365 * 24 * 3600

_ICONS = {
    "image": (
        '<rect x="-26" y="-20" width="52" height="40" rx="5" fill="none" stroke-width="3"/>'
        '<circle cx="-10" cy="-6" r="5"/>'
        '<path d="M-24 16 L-6 0 L4 9 L12 2 L24 14 L24 18 L-24 18 Z" stroke="none"/>'
    ),
    "video": (
        '<rect x="-26" y="-18" width="40" height="36" rx="5" fill="none" stroke-width="3"/>'
        '<path d="M16 -8 L28 -15 L28 15 L16 8 Z" stroke="none"/>'
    ),
    "other": (
        '<path d="M-16 -24 L8 -24 L18 -14 L18 24 L-16 24 Z" fill="none" stroke-width="3"/>'
        '<path d="M8 -24 L8 -14 L18 -14" fill="none" stroke-width="3"/>'
    ),
}


def placeholder(kind: str, pending: bool) -> Response:
    icon = _ICONS.get(kind, _ICONS["other"])
    label = "preparing preview…" if pending else "no preview"
    # A pending placeholder has an odd intrinsic size the page's script recognises (and
    # asks again for the real thumbnail a little later); a final one has the usual size.
    w, h = (318, 238) if pending else (320, 240)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 320 240" width="{w}" height="{h}">'
        '<rect width="320" height="240" fill="#e9ecf2"/>'
        f'<g transform="translate(160 105)" fill="#9aa3b5" stroke="#9aa3b5">{icon}</g>'
        f'<text x="160" y="175" text-anchor="middle" font-family="system-ui, sans-serif" '
        f'font-size="15" fill="#7b8499">{label}</text></svg>'
    )
    response = Response(svg, mimetype="image/svg+xml")
    if pending:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Thumbnail"] = "pending"
    else:
        response.headers["Cache-Control"] = "private, max-age=3600"
        response.headers["X-Thumbnail"] = "none"
    return response


@bp.get("/thumbs/<int:file_id>")
def thumb(file_id: int) -> ResponseReturnValue:
    facts = thumb_facts(db(), file_id)
    if facts is None:
        abort_with(404, f"no file {file_id}")
    sha, kind, status = facts
    if kind not in ("image", "video"):
        return placeholder(kind or "other", pending=False)
    path = thumb_path(settings(), sha or file_id)
    if path.is_file():
        versioned = sha is not None and request.args.get("v") == sha[:12]
        response = send_file(path, mimetype="image/jpeg", conditional=True, etag=True)
        response.headers["Cache-Control"] = (
            f"private, max-age={YEAR}, immutable" if versioned else "private, max-age=60"
        )
        return response
    if marker_path(path).exists():
        return placeholder(kind, pending=False)
    if status not in ("new", "probing"):
        enqueue.thumbnails()
    return placeholder(kind, pending=True)
