"""The Host check, login, CSRF protection, the secret key and the security headers.

**Host.** Before anything else (before the login, before any view), a request must name
the server by a name it is really reached by: ``localhost`` (and ``*.localhost``), an IP
address (``127.0.0.1``, ``[::1]``, ``192.168.1.20``), this machine's name, the name given
to ``mediafix serve --host`` (``MEDIAFIX_BOUND_HOST`` in the app's config) or a name in
``MEDIAFIX_ALLOWED_HOSTS``. Anything else is a 400 plain page. This stops DNS rebinding: a
page of ``evil.example`` whose name is made to resolve to 127.0.0.1 is same-origin with
the app in the browser, so neither SameSite cookies nor the ``X-Requested-With`` rule
stop it; but its requests say ``Host: evil.example``. (An IP address is always accepted:
rebinding needs a name, and a browser sends an address only when the person typed it.)

**Login.** With ``MEDIAFIX_PASSWORD`` set, every page and API call needs a login (only
``/login``, ``/static/...`` and ``/healthz`` are open). A person logs in on ``/login``; the
session cookie is HttpOnly and SameSite=Lax and carries an HMAC of the password, so
changing the password logs every session out, and a random session id that must be
listed in ``DATA_DIR/sessions`` (one file per live session, named by the id's hash): logout
removes the file, so the cookie is worthless afterwards even if it was copied, and "log
out everywhere" (Settings) removes them all. Scripts may instead send HTTP Basic
credentials (any user name, the password). Passwords are compared in constant time.

**Guessing** is slowed down per client address, never locked: the first
``FREE_FAILURES`` wrong passwords cost nothing, each further one makes the address wait
1, 2, 4 ... seconds, at most ``MAX_DELAY``, before its next try (429 with ``Retry-After``
and the seconds in the message). A try after the wait is always checked, so the right
password is let in at most a minute after the last wrong one; a success clears the count,
and so do ``FORGET_AFTER`` seconds without a failure. (Per process: each web process
counts its own.)

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

import contextlib
import hashlib
import hmac
import ipaddress
import math
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import TooManyRequests

from mediafix.web.request import abort_with, settings, wants_json

__all__ = [
    "FREE_FAILURES",
    "MAX_DELAY",
    "UNSAFE_METHODS",
    "LoginThrottle",
    "auth_required",
    "check_password",
    "csrf_token",
    "host_allowed",
    "init_app",
    "load_secret_key",
    "log_in",
    "log_out",
    "safe_next",
]

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_ENDPOINTS = frozenset({"auth.login", "static", "pages.healthz"})
FREE_FAILURES = 5  # wrong passwords per address before the delays start
MAX_DELAY = 60.0  # seconds: the longest the owner ever waits for the right password
FORGET_AFTER = 900.0  # seconds without a failure after which an address starts afresh
SESSION_TOUCH = 3600.0  # seconds between refreshes of a live session's file
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
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


def _sessions_dir() -> Path:
    return settings().data_dir / "sessions"


def _session_file(sid: str) -> Path:
    # Named by a hash: the folder's listing does not hold usable session ids.
    return _sessions_dir() / hashlib.sha256(sid.encode("utf-8")).hexdigest()


def _session_alive(sid: object) -> bool:
    """The session is listed (not logged out) and was used within the session lifetime."""
    if not isinstance(sid, str) or len(sid) < 32:
        return False
    path = _session_file(sid)
    try:
        st = os.stat(path)
    except OSError:
        return False
    idle = time.time() - st.st_mtime
    if idle >= current_app.permanent_session_lifetime.total_seconds():
        return False
    if idle > SESSION_TOUCH:  # a session in use stays alive (one write an hour at most)
        with contextlib.suppress(OSError):
            os.utime(path)
    return True


def logged_in() -> bool:
    marker = session.get("auth")
    return (
        isinstance(marker, str)
        and hmac.compare_digest(marker, _login_marker())
        and _session_alive(session.get("sid"))
    )


def log_in() -> None:
    """Start a fresh session for a person who gave the right password."""
    _forget_expired_sessions()
    sid = secrets.token_urlsafe(32)
    path = _session_file(sid)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    session.clear()
    session["auth"] = _login_marker()
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def log_out(everywhere: bool = False) -> int:
    """End this session on the server (its cookie is worthless from now on); with
    ``everywhere``, every session. Returns how many sessions were ended."""
    ended = 0
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        with contextlib.suppress(FileNotFoundError):
            _session_file(sid).unlink()
            ended += 1
    if everywhere:
        with contextlib.suppress(FileNotFoundError), os.scandir(_sessions_dir()) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)
                        ended += 1
    session.clear()
    return ended


def _forget_expired_sessions() -> None:
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    now = time.time()
    with contextlib.suppress(FileNotFoundError), os.scandir(_sessions_dir()) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if now - entry.stat(follow_symlinks=False).st_mtime >= lifetime:
                    os.unlink(entry.path)


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


class LoginThrottle:
    """Wrong passwords per client address, and how long each must wait before its next try.

    ``wait(who)`` is the seconds left (0: check the password); ``failed(who)`` counts a
    wrong password; ``succeeded(who)`` forgets the address. ``clock`` is monotonic seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.seen: dict[str, tuple[int, float]] = {}  # address -> (failures, last failure)

    @staticmethod
    def delay(failures: int) -> float:
        """The wait after ``failures`` wrong passwords: 0 for the first few, then doubling."""
        if failures <= FREE_FAILURES:
            return 0.0
        return min(MAX_DELAY, 2.0 ** min(failures - FREE_FAILURES - 1, 16))

    def wait(self, who: str) -> float:
        with self.lock:
            count, last = self.seen.get(who, (0, 0.0))
            if not count:
                return 0.0
            elapsed = self.clock() - last
            if elapsed >= FORGET_AFTER:
                del self.seen[who]
                return 0.0
            return max(0.0, self.delay(count) - elapsed)

    def failed(self, who: str) -> None:
        with self.lock:
            count, last = self.seen.get(who, (0, 0.0))
            now = self.clock()
            if count and now - last >= FORGET_AFTER:
                count = 0
            self.seen[who] = (count + 1, now)

    def succeeded(self, who: str) -> None:
        with self.lock:
            self.seen.pop(who, None)


FAILURES = LoginThrottle()


def client_address() -> str:
    return request.remote_addr or "?"


def check_throttle(who: str) -> None:
    """429 with ``Retry-After`` while ``who`` must wait after wrong passwords."""
    left = FAILURES.wait(who)
    if left > 0:
        seconds = max(1, math.ceil(left))
        raise TooManyRequests(
            f"too many wrong passwords from your address: try again in {seconds} "
            f"second{'s' if seconds != 1 else ''}",
            retry_after=seconds,
        )


def _basic_auth_ok() -> bool:
    auth = request.authorization
    if auth is None or auth.type != "basic" or auth.password is None:
        return False
    who = client_address()
    check_throttle(who)
    if check_password(auth.password):
        FAILURES.succeeded(who)
        return True
    FAILURES.failed(who)
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


def _host_name(host: str) -> str:
    """``Host`` without its port, lower-case, without a trailing dot; IPv6 without brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _machine_names() -> frozenset[str]:
    try:
        name = socket.gethostname().lower().rstrip(".")
    except OSError:
        return frozenset()
    if not name:
        return frozenset()
    short = name.split(".", 1)[0]
    return frozenset({name, short, f"{short}.local"})


def host_allowed(host: str, allowed: tuple[str, ...], bound: str | None = None) -> bool:
    """Whether ``host`` (a ``Host`` header) names this server (see the module's docstring).

    ``allowed`` holds ``MEDIAFIX_ALLOWED_HOSTS``: exact names, ``.example.org`` for a domain
    and its sub-domains, ``*`` for any name.
    """
    name = _host_name(host)
    if not name:
        return False
    if name in LOCAL_NAMES or name.endswith(".localhost") or _is_address(name):
        return True
    if bound and name == _host_name(bound):
        return True
    if name in _machine_names():
        return True
    for entry in allowed:
        if entry == "*" or name == entry:
            return True
        if entry.startswith(".") and (name == entry[1:] or name.endswith(entry)):
            return True
    return False


def check_host() -> ResponseReturnValue | None:
    """Before anything else: 400 (plain text) for a Host this server is not reached by."""
    host = request.headers.get("Host")
    if host is None:  # HTTP/1.0: the address the request came in on
        return None
    allowed = current_app.config.get("MEDIAFIX_ALLOWED_HOSTS", ())
    if host_allowed(host, allowed, current_app.config.get("MEDIAFIX_BOUND_HOST")):
        return None
    shown = host[:100].encode("ascii", "replace").decode("ascii")
    text = (
        f"400 Bad Request: this mediafix server is not known as {shown!r}.\n\n"
        "It answers to localhost, its IP addresses, this machine's name and the names in "
        "MEDIAFIX_ALLOWED_HOSTS. Behind a reverse proxy, or under another name, set "
        f"MEDIAFIX_ALLOWED_HOSTS={_host_name(shown) or 'photos.example.org'} and restart "
        "mediafix. (This check keeps web pages of other sites, whose names were made to "
        "point at this machine, away from your photos.)\n"
    )
    return Response(text, status=400, mimetype="text/plain")


def init_app(app: Flask) -> None:
    # The Host check first: nothing (not even the login) runs for a foreign Host.
    names = app.extensions["mediafix"].settings.allowed_host_names
    app.config.setdefault("MEDIAFIX_ALLOWED_HOSTS", tuple(names))
    app.before_request(check_host)
    app.before_request(require_login)
    app.before_request(check_csrf)
    app.after_request(security_headers)

    app.add_template_global(csrf_token, "csrf_token")

    @app.context_processor
    def _auth() -> dict[str, object]:
        return {"auth_enabled": auth_required()}
