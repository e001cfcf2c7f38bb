"""Request plumbing, what every view needs: the settings (and those in force), a database
session per request, JSON or HTML, parameters checked.

One rule decides how a request is answered (:func:`wants_json`): a JSON body, an
``Accept`` header that prefers ``application/json`` or an ``X-Requested-With`` header get
JSON; everything else gets HTML. Bad input raises :class:`BadRequest`-style HTTP errors
with a message (``abort_with``), which the error handlers turn into ``{"error": "..."}``
or a friendly page, never a traceback.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from flask import Flask, abort, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from mediafix.config import Effective, Settings
from mediafix.store.settings import effective_settings

__all__ = [
    "MAX_ID",
    "IdConverter",
    "WebState",
    "abort_with",
    "as_id",
    "body",
    "check_lookup",
    "db",
    "engine",
    "in_force",
    "int_arg",
    "is_htmx",
    "respond",
    "settings",
    "state",
    "wants_json",
]


@dataclass
class WebState:
    """The app's share of mediafix: its settings and its database engines.

    ``engine`` is the shared one (on SQLite every transaction takes the write lock up
    front, so read-modify-write requests queue instead of failing). ``read_engine`` serves
    GET requests with ordinary deferred transactions: a page being rendered never holds
    the write lock the workers need.
    """

    settings: Settings
    engine: Engine
    read_engine: Engine


def state() -> WebState:
    return current_app.extensions["mediafix"]


def settings() -> Settings:
    return state().settings


def in_force() -> Effective:
    """The settings in force for this request: the page's stored ones over the environment's."""
    return effective_settings(settings(), db())


def engine() -> Engine:
    return state().engine


def db() -> Session:
    """This request's session (closed, and rolled back unless committed, at teardown).

    Safe methods read through ``read_engine``; others write through the shared engine.
    """
    session: Session | None = g.get("db_session")
    if session is None:
        bind = state().read_engine if request.method in ("GET", "HEAD") else engine()
        session = Session(bind, expire_on_commit=False)
        g.db_session = session
    return session


def release_db() -> None:
    """End this request's transaction now (before code that opens its own session)."""
    close_db()


def make_read_engine(url: str) -> Engine:
    """An engine for reading: on SQLite, transactions BEGIN DEFERRED (a snapshot, no lock)."""
    from mediafix.store import db as storedb

    return storedb.make_engine(url, immediate=False)


def close_db(_exc: BaseException | None = None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
        finally:
            session.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)


MAX_ID = 2**31 - 1  # the largest value of an INTEGER id column (PostgreSQL's int4)


class IdConverter(IntegerConverter):
    """``<int:...>`` in a route: a whole number an id column can hold; a larger one is a 404.

    Found by tests/web/test_openapi_fuzz.py: ``GET /files/99753214976706366930944`` was a 500
    (SQLite: "Python int too large to convert to SQLite INTEGER"; PostgreSQL: "integer out
    of range").
    """

    def to_python(self, value: str) -> int:
        number = int(super().to_python(value))
        if number > MAX_ID:
            # Not a ValidationError: werkzeug would answer 405 when a rule for another
            # method has the same path (POST /review/duplicates/<id> after its GET).
            raise NotFound(f"no such id: {value} (ids go up to {MAX_ID})")
        return number


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def wants_json() -> bool:
    """True when the client asked for JSON (see the module's docstring)."""
    if is_htmx():
        return False
    if request.is_json or request.headers.get("X-Requested-With"):
        return True
    accept = request.accept_mimetypes
    best = accept.best_match(["text/html", "application/json"])
    return best == "application/json" and accept["application/json"] > accept["text/html"]


def abort_with(status: int, message: str) -> NoReturn:
    """Stop the request with ``status`` and a message meant for the person (or script)."""
    abort(status, description=message)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def body() -> Mapping[str, Any]:
    """The request's parameters: its JSON object, or its form (lists kept for repeated keys).

    A body that claims to be JSON but is not, or is not an object, is a 400.
    """
    if request.is_json:
        raw = request.get_data(cache=True)
        if not raw.strip():
            return {}
        try:
            # Strict JSON, found fuzzing the API (issue #8): Python's parser takes NaN and
            # Infinity (an Infinity reaching int() was a 500) and raises RecursionError for
            # arrays nested a few thousand deep (a 500 too).
            data = json.loads(raw, parse_constant=_not_json)
        except (ValueError, RecursionError):
            abort_with(400, "malformed JSON in the request body")
        if not isinstance(data, dict):
            abort_with(400, "the JSON body must be an object")
        return data
    form = request.form
    return {k: (v if len(v) > 1 else v[0]) for k, v in form.lists() if k != "csrf_token"}


def as_list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def as_id(value: Any) -> int | None:
    """``value`` (a whole number, or its digits) as an id the database can look up, or None.

    Larger numbers name no row, and the database driver fails on them instead of finding
    nothing (found fuzzing the API, issue #8).
    """
    text = str(value).strip()
    if not text.isdecimal() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


_MISSING = (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP)  # what Path.exists() ignores


def check_lookup(path: Path, shown: str, denied: int = 403) -> None:
    """Stop the request when the system refuses to look ``path`` up at all.

    ``Path.exists()`` and ``is_dir()`` answer False for a missing path but raise for a name
    longer than the file system allows (400 here) or a folder that may not be searched
    (``denied``); such requests were 500s (found fuzzing the API, issue #8).
    """
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno in _MISSING:
            return
        if exc.errno == errno.ENAMETOOLONG:
            abort_with(400, f"the path is too long: {shown[:80]}...")
        abort_with(denied, f"cannot read {shown}: {exc.strerror or exc}")


def int_arg(name: str, default: int, low: int = 0, high: int = 1_000_000_000) -> int:
    """An integer query parameter within bounds (400 with a message otherwise)."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        abort_with(400, f"{name} must be a whole number, not {raw!r}")
    if not low <= value <= high:
        abort_with(400, f"{name} must be between {low} and {high}")
    return value


def respond(data: Any, template: str, code: int = 200, **context: Any) -> ResponseReturnValue:
    """JSON ``data`` for a script, the rendered ``template`` for a person."""
    if wants_json():
        return jsonify(data), code
    return render_template(template, **context), code


def http_message(exc: HTTPException) -> str:
    """The one line shown for an HTTP error."""
    text = exc.description or exc.name
    return " ".join(str(text).split())
