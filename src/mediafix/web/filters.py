"""Template filters and globals: how numbers, sizes, times and paths read on a page, and the
values every page shows (the navigation's counts)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from flask import Flask, url_for
from sqlalchemy.exc import SQLAlchemyError

from mediafix.media.values import format_offset, human_size
from mediafix.store.counts import badge_counts
from mediafix.web.paging import url_with
from mediafix.web.request import db

__all__ = ["init_app", "thumb_url"]


def thumb_url(file_id: int, sha256: str | None = None) -> str:
    return url_for("thumbs.thumb", file_id=file_id, v=(sha256 or "")[:12] or None)


def number(n: int | float | None) -> str:
    if n is None:
        return "–"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.1f}"
    return f"{int(n):,}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def when(value: str | datetime | None) -> str:
    """A timestamp as a person reads it: '2019-09-19 05:38'."""
    if not value:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.rstrip("Z"))
    return value.strftime("%Y-%m-%d %H:%M")


def taken(value: datetime | None, precision: str | None = None) -> str:
    if value is None:
        return "no date"
    formats = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d", "minute": "%Y-%m-%d %H:%M"}
    return value.strftime(formats.get(precision or "", "%Y-%m-%d %H:%M:%S"))


def percent(current: int, total: int) -> int:
    if not total:
        return 0
    return max(0, min(100, int(current * 100 / total)))


def plural(n: int | None, word: str, many: str | None = None) -> str:
    """``3|plural("file")`` -> "3 files"; ``1|plural("file")`` -> "1 file"."""
    count = n or 0
    return f"{number(count)} {word if count == 1 else (many or word + 's')}"


def clock(value: str | None) -> str:
    """An ISO timestamp as a person reads it, without fractions of a second."""
    if not value:
        return "–"
    text = str(value).replace("T", " ")
    if "." in text[19:20]:
        text = text[:19] + text[19:].split(".", 1)[1].lstrip("0123456789")
    return text


def short_dir(path: str | None, keep: int = 2) -> str:
    """The last ``keep`` folders of a file's path: "…/My photos/scans"."""
    if not path:
        return ""
    parts = [p for p in os.path.dirname(path).split(os.sep) if p]
    if len(parts) <= keep:
        return os.path.dirname(path)
    return "…/" + "/".join(parts[-keep:])


def confidence_label(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)} %"


def home_offset(value: datetime | None, zone: str) -> str:
    """The UTC offset ``zone`` had at ``value`` (now when None), as "+02:00": what a typed
    date without an offset is read with, so the field's placeholder shows it."""
    from mediafix.web.forms import offset_in_zone

    when_ = value or datetime.now()
    try:
        return format_offset(offset_in_zone(when_, zone)) or "+00:00"
    except (ValueError, OSError, KeyError):
        return "+00:00"


def init_app(app: Flask) -> None:
    app.add_template_filter(human_size, "size")
    app.add_template_filter(number, "number")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(when, "when")
    app.add_template_filter(confidence_label, "confidence")
    app.add_template_filter(plural, "plural")
    app.add_template_filter(clock, "clock")
    app.add_template_filter(short_dir, "short_dir")
    app.add_template_filter(os.path.basename, "basename")
    app.add_template_filter(os.path.dirname, "dirname")
    app.add_template_global(thumb_url, "thumb_url")
    app.add_template_global(url_with, "url_with")
    app.add_template_global(taken, "taken")
    app.add_template_global(percent, "percent")
    app.add_template_global(format_offset, "format_offset")
    app.add_template_global(home_offset, "home_offset")

    @app.context_processor
    def _badges() -> dict[str, Any]:
        def badges() -> dict[str, int]:
            try:
                return badge_counts(db())
            except SQLAlchemyError:
                return {"duplicates": 0, "dates": 0}

        return {"badges": badges}
