"""``/login`` and ``/logout`` (only meaningful with ``MEDIAFIX_PASSWORD`` set)."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from mediafix.web.context import abort_with, body, wants_json
from mediafix.web.security import (
    FAILURES,
    auth_required,
    check_password,
    csrf_token,
    log_in,
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
    who = request.remote_addr or "?"
    if FAILURES.blocked(who):
        abort_with(429, "too many wrong passwords: wait ten minutes and try again")
    given = body().get("password")
    if not isinstance(given, str) or not check_password(given):
        FAILURES.add(who)
        if wants_json():
            abort_with(401, "wrong password")
        return render_template("login.html", next=next_url, error="That is not the password."), 401
    FAILURES.clear(who)
    log_in()
    if wants_json():
        return jsonify(ok=True, csrf_token=session["csrf"])
    return redirect(next_url)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    if wants_json():
        return jsonify(ok=True)
    return redirect(url_for("auth.login"))
