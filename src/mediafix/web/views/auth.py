"""``/login`` and ``/logout`` (only meaningful with ``MEDIAFIX_PASSWORD`` set).

``POST /logout`` ends the session on the server (a copy of its cookie no longer works);
with ``everywhere`` (the Settings page's "Log out everywhere") it ends every session.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from mediafix.web.request import abort_with, body, wants_json
from mediafix.web.security import (
    FAILURES,
    auth_required,
    check_password,
    check_throttle,
    client_address,
    csrf_token,
    log_in,
    log_out,
    safe_next,
)

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    next_url = safe_next(request.values.get("next"))
    if not auth_required():
        if request.method == "POST" and wants_json():
            return jsonify(ok=True, csrf_token=csrf_token(), auth="none")
        return redirect(next_url)
    if request.method == "GET":
        return render_template("login.html", next=next_url, error=None)
    who = client_address()
    check_throttle(who)  # 429 with Retry-After while this address must wait
    given = body().get("password")
    if not isinstance(given, str) or not check_password(given):
        FAILURES.failed(who)
        if wants_json():
            abort_with(401, "wrong password")
        return render_template("login.html", next=next_url, error="That is not the password."), 401
    FAILURES.succeeded(who)
    log_in()
    if wants_json():
        return jsonify(ok=True, csrf_token=session["csrf"])
    return redirect(next_url)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    value = body().get("everywhere")
    everywhere = value is True or str(value).lower() in ("1", "true", "yes", "on")
    ended = log_out(everywhere=everywhere)
    if wants_json():
        return jsonify(ok=True, everywhere=everywhere, sessions_ended=ended)
    return redirect(url_for("auth.login"))
