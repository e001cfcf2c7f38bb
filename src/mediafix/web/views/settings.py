"""Settings a person may change in the page; stored in the settings table for the next job.

Keys: ``duplicate_threshold`` (0..32 bits), ``review_confidence`` (0..1), ``output_dir``
(an absolute folder the archive may go to: :meth:`Settings.check_output`), ``timezone`` (an
IANA name) and ``move`` (copy or move on apply). What is not set in the page comes from the
environment (``MEDIAFIX_*``).

A bad value is a 400 that names its field: ``{"error": "...", "field": "output_dir"}`` for a
script, the Settings page again with the message beside the field for a person.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from mediafix.config import PAGE_SETTINGS, FolderError, Settings, effective, zone_state
from mediafix.jobs import enqueue
from mediafix.store.library import library_roots
from mediafix.store.settings import effective_settings, set_setting
from mediafix.web.request import (
    abort_with,
    body,
    check_lookup,
    db,
    in_force,
    settings,
    wants_json,
)

bp = Blueprint("settings", __name__)

KEYS = PAGE_SETTINGS
HELP = {
    "duplicate_threshold": "How different two photos may be and still count as near duplicates "
    "(bits of 64 in their perceptual hash; 0 = only identical pictures; the default, "
    f"{Settings.model_fields['duplicate_threshold'].default}, suits most libraries).",
    "review_confidence": "Files whose date confidence is below this go to date review "
    "(0.6: only clear dates pass on their own).",
    "output_dir": "Where the archive is written: OUTPUT/YYYY/YYYYMMDD_HHMMSS.ext.",
    "timezone": "Your home time zone, for photos that do not say where they were taken.",
    "move": "Copy (safe, the default) or move the files into the archive when applying.",
}


@lru_cache(maxsize=1)
def zones() -> list[str]:
    """Every IANA zone a person would pick (the region/city names, and UTC)."""
    found = {
        z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    }
    return sorted(found | {"UTC"})


def current() -> dict[str, Any]:
    """Each setting's value now, and whether the page or the environment set it."""
    now = in_force()
    defaults = effective(settings(), {}).page_values()
    sources = {k: ("page" if now.from_page(k) else "environment") for k in KEYS}
    return {
        "settings": now.page_values(),
        "sources": sources,
        "defaults": defaults,
        "timezone": zone_state(settings(), now),
    }


class SettingError(ValueError):
    """A value the page refuses: ``field`` names the setting, ``str(exc)`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _refuse(field: str, message: str) -> NoReturn:
    raise SettingError(field, message)


def _number(params: Any, field: str, kind: type[int] | type[float], high: int, what: str) -> float:
    """``params[field]`` as a ``kind`` from 0 to ``high`` (NaN is no number here); else why
    not: "<field> must be <what>, not 'x'" or "<field> must be between 0 and <high>"."""
    raw = params[field]
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        _refuse(field, f"{field} must be {what}, not {raw!r}")
    if not 0 <= value <= high or value != value:
        _refuse(field, f"{field} must be between 0 and {high}")
    return value


def validate(params: Any) -> dict[str, Any]:
    """The settings in ``params`` as stored values (:class:`SettingError` for the first bad
    one; 400 for a setting that does not exist)."""
    clean: dict[str, Any] = {}
    unknown = [k for k in params if k not in KEYS and k not in ("csrf_token",)]
    if unknown:
        abort_with(400, f"unknown setting {unknown[0]!r} (settings: {', '.join(KEYS)})")
    if "duplicate_threshold" in params:
        clean["duplicate_threshold"] = _number(
            params, "duplicate_threshold", int, 32, "a whole number"
        )
    if "review_confidence" in params:
        conf = _number(params, "review_confidence", float, 1, "a number from 0 to 1")
        clean["review_confidence"] = round(conf, 3)
    if "output_dir" in params:
        raw = str(params["output_dir"] or "").strip()
        if not raw or not os.path.isabs(os.path.expanduser(raw)) or "\x00" in raw:
            _refuse("output_dir", "output_dir must be an absolute folder path (starting with /)")
        path = Path(os.path.expanduser(raw))
        check_lookup(path, raw, denied=400)
        if path.exists() and not path.is_dir():
            _refuse("output_dir", f"output_dir {raw} is a file, not a folder")
        try:
            settings().check_output(path, library_roots(db()), web=True)
        except FolderError as exc:
            _refuse("output_dir", f"output_dir: {exc}")
        clean["output_dir"] = os.fspath(path)
    if "timezone" in params:
        raw = str(params["timezone"] or "").strip()
        try:
            ZoneInfo(raw)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Europe", 300 x "a" (#8)
            _refuse("timezone", f"unknown time zone {raw!r} (use an IANA name like Europe/Berlin)")
        clean["timezone"] = raw
    if "move" in params:
        raw = params["move"]
        if isinstance(raw, bool):
            clean["move"] = raw
        elif str(raw).lower() in ("1", "true", "yes", "on", "move"):
            clean["move"] = True
        elif str(raw).lower() in ("0", "false", "no", "off", "copy"):
            clean["move"] = False
        else:
            _refuse("move", 'move must be true ("move") or false ("copy")')
    return clean


@bp.get("/settings")
def page() -> ResponseReturnValue:
    data = current()
    if wants_json():
        return jsonify(data)
    return render_template("settings.html", data=data, zones=zones(), help=HELP, errors={})


@bp.post("/settings")
def save() -> ResponseReturnValue:
    params = dict(body())
    params.pop("csrf_token", None)
    try:
        clean = validate(params)
    except SettingError as exc:
        if wants_json():
            return jsonify(error=str(exc), field=exc.field), 400
        data = current()
        typed = {k: v for k, v in params.items() if k in KEYS and isinstance(v, str)}
        # What the person typed goes back into the form; a number that is not one keeps
        # the value in force (the template computes with it: a string was a 500).
        for key, kind in (("duplicate_threshold", int), ("review_confidence", float)):
            if key in typed:
                try:
                    typed[key] = kind(typed[key])  # type: ignore[assignment]
                except ValueError:
                    del typed[key]
        data["settings"] = {**data["settings"], **typed}
        if "move" in typed:
            data["settings"]["move"] = typed["move"].lower() in ("1", "true", "yes", "on", "move")
        errors = {exc.field: str(exc)}
        return (
            render_template("settings.html", data=data, zones=zones(), help=HELP, errors=errors),
            400,
        )
    s = db()
    before = effective_settings(settings(), s)
    for key, value in clean.items():
        set_setting(s, key, value)
    s.commit()
    regroup = (
        "duplicate_threshold" in clean
        and before.duplicate_threshold != clean["duplicate_threshold"]
    )
    if regroup:
        enqueue.regroup()
    # The dates depend on the home zone and the review threshold: re-date from what each
    # file offered when scanned (a background job; nothing is read again).
    moved = [
        k
        for k in ("timezone", "review_confidence")
        if k in clean and getattr(before, k) != clean[k]
    ]
    redate_job = enqueue.redate("changed: " + ", ".join(moved)) if moved else None
    if wants_json():
        return jsonify({**current(), "regrouping": regroup, "redating": redate_job})
    flash(
        "Settings saved."
        + (" Duplicate groups are being rebuilt with the new threshold." if regroup else "")
        + (" Dates are being re-computed with the new settings (see Jobs)." if moved else ""),
        "success",
    )
    return redirect(url_for("settings.page"))
