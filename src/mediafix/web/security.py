"""Login, CSRF protection, the secret key and the security headers.

**Login.** With ``MEDIAFIX_PASSWORD`` set, every page and API call needs a login (only
``/login``, ``/static/...`` and ``/healthz`` are open). A person logs in on ``/login``; the
session cookie is HttpOnly and SameSite=Lax and carries an HMAC of the password, so
changing the password logs every session out. Scripts may instead send HTTP Basic
credentials (any user name, the password). Passwords are compared in constant time, and
ten wrong passwords from one address within ten minutes are answered 429 for a while.

**CSRF.** Every state-changing request (POST, PUT, PATCH, DELETE) must carry either

* the session's CSRF token, in the ``X-CSRF-Token`` header or a ``csrf_token`` form field
  (every page has it in ``<meta name="csrf-token">`` and in its forms), or
* an ``X-Requested-With`` header (any value) and no token at all.

A cross-site page can submit a form (which has no token) but cannot add a custom header
without a CORS preflight, which mediafix never grants; so a script - ``curl -H
'X-Requested-With: script'`` - needs no token, and a forged form is refused. A token that
is present but wrong is always refused. Multipart uploads read the token from the header
only, so the body is never parsed before the request is known to be genuine.

**The secret key** signs the session cookie. It is ``DATA_DIR/secret_key``, 32 random
bytes written once with mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from mediafix.web.context import abort_with, wants_json

__all__ = [
    "UNSAFE_METHODS",
    "auth_required",
    "check_password",
    "csrf_token",
    "init_app",
    "load_secret_key",
    "log_in",
    "safe_next",
]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_ENDPOINTS = frozenset({"auth.login", "static", "pages.healthz"})
MAX_FAILURES = 10
FAILURE_WINDOW = 600.0  # seconds
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def load_secret_key(data_dir: Path) -> bytes:
    """The app's secret key from ``DATA_DIR/secret_key``, created (0600) on first run."""
    path = data_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) >= 16:
            return key
        raise RuntimeError(
            f"{path} is too short to be a secret key: delete it to make a new one"
        ) from None
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def password() -> str:
    return str(current_app.config.get("MEDIAFIX_PASSWORD") or "")


def auth_required() -> bool:
    return bool(password())


def check_password(given: str) -> bool:
    """Constant-time comparison with the configured password."""
    return hmac.compare_digest(given.encode("utf-8"), password().encode("utf-8"))


def _login_marker() -> str:
    key = current_app.secret_key
    secret = key if isinstance(key, bytes) else str(key).encode("utf-8")
    return hmac.new(secret, b"login:" + password().encode("utf-8"), hashlib.sha256).hexdigest()


def logged_in() -> bool:
    marker = session.get("auth")
    return isinstance(marker, str) and hmac.compare_digest(marker, _login_marker())


def log_in() -> None:
    """Start a fresh session for a person who gave the right password."""
    session.clear()
    session["auth"] = _login_marker()
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site, never another site."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target:
        return "/"
    return target


class _Failures:
    """Recent wrong passwords per client address (in this process)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: dict[str, list[float]] = {}

    def blocked(self, who: str) -> bool:
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self.seen.get(who, []) if now - t < FAILURE_WINDOW]
            self.seen[who] = recent
            return len(recent) >= MAX_FAILURES

    def add(self, who: str) -> None:
        with self.lock:
            self.seen.setdefault(who, []).append(time.monotonic())

    def clear(self, who: str) -> None:
        with self.lock:
            self.seen.pop(who, None)


FAILURES = _Failures()


def _basic_auth_ok() -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic" or auth.password is None:
        return False
    who = request.remote_addr or "?"
    if FAILURES.blocked(who):
        abort_with(429, "too many wrong passwords: wait ten minutes and try again")
    if check_password(auth.password):
        return True
    FAILURES.add(who)
    return False


def require_login() -> ResponseReturnValue | None:
    if not auth_required() or request.endpoint in OPEN_ENDPOINTS:
        return None
    if logged_in() or _basic_auth_ok():
        return None
    if wants_json() or request.method != "GET" or request.headers.get("HX-Request"):
        abort_with(401, "login required: log in on /login or send HTTP Basic credentials")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.mimetype != "multipart/form-data":
        given = request.form.get("csrf_token")
    if given is None or given == "":
        if request.headers.get("X-Requested-With"):
            return  # a custom header: no cross-site page can send it (see the docstring)
        abort_with(403, "missing CSRF token: reload the page and try again")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(given, expected):
        abort_with(403, "invalid CSRF token: reload the page and try again")


def security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CSP)
    if request.endpoint not in ("static", "thumbs.thumb"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.before_request(require_login)
    app.before_request(check_csrf)
    app.after_request(security_headers)

    app.add_template_global(csrf_token, "csrf_token")

    @app.context_processor
    def _auth() -> dict[str, object]:
        return {"auth_enabled": auth_required()}
