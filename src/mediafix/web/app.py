"""The Flask app: ``create_app``, the error pages, and the app that only says the data folder
cannot be written.

Every page has a JSON twin (ask with ``Accept: application/json``), documented in
``docs/api.md``. The web process never does heavy work: it writes job rows and enqueues
tasks (``jobs.enqueue``) that the workers run. The pages are ``web/views/``, one blueprint
each (``views.BLUEPRINTS``); request plumbing is ``web/request.py``, template filters
``web/filters.py``.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from mediafix.config import DataDirError, data_dir_message, get_settings
from mediafix.media.values import first_line
from mediafix.store.db import get_engine, upgrade
from mediafix.web import request as plumbing
from mediafix.web import security
from mediafix.web.request import WebState, http_message, is_htmx, wants_json
from mediafix.web.uploads import UploadRequest

__all__ = ["create_app"]

log = logging.getLogger("mediafix.web")

GIB = 1024**3

TITLES = {
    400: "That did not work",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Not possible here",
    409: "Something changed meanwhile",
    413: "Too large",
    429: "Slow down",
    500: "Something went wrong",
    503: "Not available yet",
    507: "Out of space",
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """The mediafix web app for the current settings (``MEDIAFIX_*``).

    ``test_config`` overrides Flask config keys, e.g. ``{"TESTING": True,
    "MEDIAFIX_PASSWORD": "secret"}``.
    """
    settings = get_settings()
    try:
        settings.ensure_dirs()
    except DataDirError as exc:
        log.error("mediafix cannot start: %s", exc)
        return unavailable_app(str(exc))
    app = Flask(__name__)
    app.request_class = UploadRequest
    app.url_map.converters["int"] = plumbing.IdConverter  # ids a database can hold
    app.config.from_mapping(
        MEDIAFIX_PASSWORD=settings.password,
        # Whole uploads are large but finite; one request carries a batch of files.
        MAX_CONTENT_LENGTH=64 * GIB,
        MEDIAFIX_MAX_FILE_SIZE=32 * GIB,
        MAX_FORM_PARTS=4000,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        SESSION_COOKIE_NAME="mediafix_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        JSON_SORT_KEYS=False,
    )
    if test_config:
        app.config.update(test_config)
    try:
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = security.load_secret_key(settings.data_dir)
        upgrade(settings.database_url)
    except (OSError, OperationalError) as exc:
        if not _data_dir_failure(exc):
            raise
        message = data_dir_message(settings.data_dir, _reason(exc))
        log.error("mediafix cannot start: %s", message)
        return unavailable_app(message)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    app.extensions["mediafix"] = WebState(
        settings,
        get_engine(settings.database_url),
        plumbing.make_read_engine(settings.database_url),
    )
    plumbing.init_app(app)
    security.init_app(app)
    _register_errors(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from mediafix.web.views import BLUEPRINTS  # the pages load with the app, not on import

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)


def _register_errors(app: Flask) -> None:
    def answer(status: int, message: str) -> ResponseReturnValue:
        if wants_json() or is_htmx() or request.path.startswith("/upload"):
            return jsonify(error=message), status
        title = TITLES.get(status, "That did not work")
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if exc.code is None or exc.code < 400:
            return exc
        response = make_response(answer(exc.code, http_message(exc)))
        allowed = getattr(exc, "valid_methods", None)
        if exc.code == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:  # 429: when to try again
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if isinstance(exc, OSError | OperationalError) and _data_dir_failure(exc):
            settings = app.extensions["mediafix"].settings
            log.error("the data folder cannot be written: %s", _reason(exc))
            return answer(503, data_dir_message(settings.data_dir, _reason(exc)))
        log.exception("error in %s %s", request.method, request.path)
        return answer(
            500,
            "an unexpected error happened; it was written to the server's log "
            f"({type(exc).__name__})",
        )

    app.register_error_handler(InternalServerError, http_error)


# What the system says when the data folder (or the SQLite database in it) takes no writes.
_WRITE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.ENOSPC})
_SQLITE_WRITE_ERRORS = (
    "attempt to write a readonly database",
    "unable to open database file",
    "readonly database",
)


def _data_dir_failure(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        text = str(exc.orig or exc).lower()
        return any(words in text for words in _SQLITE_WRITE_ERRORS)
    return isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OperationalError):
        return first_line(exc.orig or exc)
    return getattr(exc, "strerror", None) or str(exc)


def unavailable_app(message: str) -> Flask:
    """An app that answers every request 503 with ``message`` (the data folder cannot be
    written): a page for a person, JSON for a script, never a traceback."""
    app = Flask(__name__)

    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]

    @app.route("/", defaults={"path": ""}, methods=methods)
    @app.route("/<path:path>", methods=methods)
    def unavailable(path: str) -> ResponseReturnValue:
        if wants_json() or path == "healthz":
            return jsonify(status="error", error=message), 503
        return render_template("unavailable.html", message=message), 503

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Security-Policy", security.CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    return app


def _register_template_helpers(app: Flask) -> None:
    from mediafix.web import filters

    filters.init_app(app)
