"""The web app: a person's way from "here is my mess" to "here is my archive".

``create_app`` builds the Flask app; every page has a JSON twin (ask with ``Accept:
application/json``), documented in ``docs/api.md``. The web process never does heavy work:
it writes job rows and enqueues Huey tasks that the workers run.

Blueprints, one per feature: ``pages`` (overview, health), ``auth`` (login), ``imports``
(upload and server folders), ``jobs``, ``duplicates`` and ``timestamps`` (review),
``library``, ``output``, ``settings`` and ``thumbs``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from mediafix.config import get_settings
from mediafix.store.db import get_engine, upgrade
from mediafix.web import context, security
from mediafix.web.context import WebState, http_message, is_htmx, wants_json
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
    settings.ensure_dirs()
    app = Flask(__name__)
    app.request_class = UploadRequest
    app.url_map.converters["int"] = context.IdConverter  # ids a database can hold
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
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = security.load_secret_key(settings.data_dir)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    upgrade(settings.database_url)
    app.extensions["mediafix"] = WebState(
        settings,
        get_engine(settings.database_url),
        context.make_read_engine(settings.database_url),
    )
    context.init_app(app)
    security.init_app(app)
    _register_errors(app)
    _register_blueprints(app)
    _register_template_helpers(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from mediafix.web import (
        auth,
        duplicates,
        imports,
        jobs,
        library,
        output,
        pages,
        settings_page,
        thumbs,
        timestamps,
    )

    for module in (
        pages,
        auth,
        imports,
        jobs,
        duplicates,
        timestamps,
        library,
        output,
        settings_page,
        thumbs,
    ):
        app.register_blueprint(module.bp)


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
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        if isinstance(exc, HTTPException):
            return http_error(exc)
        log.exception("error in %s %s", request.method, request.path)
        return answer(
            500,
            "an unexpected error happened; it was written to the server's log "
            f"({type(exc).__name__})",
        )

    app.register_error_handler(InternalServerError, http_error)


def _register_template_helpers(app: Flask) -> None:
    from mediafix.web import helpers

    helpers.init_app(app)
