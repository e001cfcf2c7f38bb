"""Sending a file that :mod:`mediafix.media.safe_open` opened: from its descriptor, in a sandbox.

The response reads the already-open file (never the path again), answers conditional and
range requests (a video seeks), and carries a Content-Security-Policy with ``sandbox``: a
file is shown as an image or a video, and even an HTML or SVG file that slipped into a
library or the archive runs no script with the app's origin (it would pass the CSRF rule).
"""

from __future__ import annotations

import mimetypes
import os
from typing import BinaryIO, NoReturn

from flask import Response, request
from werkzeug.wsgi import wrap_file

from mediafix.media.safe_open import Refused
from mediafix.web.request import abort_with

__all__ = ["FILE_CSP", "refuse", "send_open_file"]

FILE_CSP = (
    "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"
)


def refuse(exc: Refused) -> NoReturn:
    abort_with(exc.status, str(exc))


def mimetype_for(name: str) -> str:
    """The type a file name's extension (or an extension such as ``.jpg``) stands for;
    ``application/octet-stream`` when unknown."""
    ext = name if name.startswith(".") and name.count(".") == 1 else os.path.splitext(name)[1]
    guessed, _ = mimetypes.guess_type("x" + ext.lower())
    return guessed or "application/octet-stream"


def send_open_file(fh: BinaryIO, st: os.stat_result, download_name: str, mimetype: str) -> Response:
    """A 200 (or 206/304) response streaming the open file ``fh`` whose ``fstat`` is ``st``."""
    response = Response(wrap_file(request.environ, fh), mimetype=mimetype, direct_passthrough=True)
    response.content_length = st.st_size
    response.last_modified = st.st_mtime  # type: ignore[assignment]
    response.set_etag(f"{st.st_dev:x}-{st.st_ino:x}-{st.st_size:x}-{st.st_mtime_ns:x}")
    response.headers.set("Content-Disposition", "inline", filename=_ascii(download_name))
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.cache_control.no_cache = True
    response.cache_control.private = True
    response.make_conditional(request, accept_ranges=True, complete_length=st.st_size)
    return response


def _ascii(name: str) -> str:
    return name.encode("ascii", "replace").decode("ascii").replace("?", "_") or "file"
