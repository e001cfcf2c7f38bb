"""Reading what a person typed: dates with their precision, UTC offsets, clock shifts.

Each parser returns plain values or raises ``ValueError`` with a message for the person.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

__all__ = ["offset_in_zone", "parse_date", "parse_offset", "parse_shift"]

EARLIEST = datetime(1826, 1, 1)  # the oldest surviving photograph
_DATE = re.compile(
    r"^\s*(?P<y>\d{4})(?:[-:/.](?P<m>\d{1,2})(?:[-:/.](?P<d>\d{1,2})"
    r"(?:[ T_]+(?P<H>\d{1,2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?)?)?)?)?\s*$"
)
_OFFSET = re.compile(
    r"^\s*(?:UTC|GMT)?\s*(?P<sign>[+-−])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?\s*$", re.I
)
_SHIFT = re.compile(
    r"^\s*(?P<sign>[+-−]?)\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m(?:in)?)?"
    r"\s*$",
    re.I,
)


def parse_date(text: str) -> tuple[datetime, str]:
    """``"2019-09-19 05:38:57"`` -> (datetime, "second"); ``"2004"`` -> (2004-01-01, "year").

    Accepts ``-``, ``:`` (EXIF style), ``/`` or ``.`` between date parts and a space, ``T``
    or ``_`` before the time. A date without a time keeps its coarser precision (day, month
    or year) instead of pretending to know the time of day.
    """
    match = _DATE.match(text or "")
    if not match:
        raise ValueError(
            f"not a date: {text!r} (use YYYY-MM-DD HH:MM:SS, or fewer parts: YYYY-MM-DD, YYYY)"
        )
    parts = match.groupdict()
    year = int(parts["y"])
    month = int(parts["m"] or 1)
    day = int(parts["d"] or 1)
    hour, minute, second = int(parts["H"] or 0), int(parts["M"] or 0), int(parts["S"] or 0)
    try:
        value = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"not a real date: {text!r} ({exc})") from None
    if parts["S"]:
        precision = "second"
    elif parts["M"]:
        precision = "minute"
    elif parts["H"]:
        precision = "minute"  # an hour alone: the minutes are 00, as written
    elif parts["d"]:
        precision = "day"
    elif parts["m"]:
        precision = "month"
    else:
        precision = "year"
    check_plausible(value)
    return value, precision


def check_plausible(value: datetime) -> None:
    if value < EARLIEST:
        raise ValueError(f"{value:%Y-%m-%d} is before photography was invented")
    if value > datetime.now(UTC).replace(tzinfo=None) + timedelta(days=2):
        raise ValueError(f"{value:%Y-%m-%d %H:%M} is in the future")


def parse_offset(text: str | None) -> int | None:
    """``"+02:00"``, ``"-0430"``, ``"UTC+1"``, ``"Z"`` -> minutes east of UTC; empty -> None."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    if raw.upper() in ("Z", "UTC", "GMT"):
        return 0
    match = _OFFSET.match(raw)
    if not match:
        raise ValueError(f"not a UTC offset: {raw!r} (use +02:00 or -05:00)")
    minutes = int(match["h"]) * 60 + int(match["m"] or 0)
    if match["sign"] in "-−":
        minutes = -minutes
    if not -12 * 60 <= minutes <= 14 * 60:
        raise ValueError(f"{raw} is not an offset any place uses (from -12:00 to +14:00)")
    return minutes


def parse_shift(text: str | int | None) -> int:
    """A clock correction in minutes: ``90``, ``"-2h"``, ``"+1h30m"``, ``"1d 2h"``, ``"-01:30"``."""
    if isinstance(text, int):
        minutes = text
    else:
        raw = str(text or "").strip().replace("−", "-")
        if not raw:
            raise ValueError("say by how much to shift, e.g. +2h or -1h30m")
        colon = re.match(r"^([+-]?)(\d{1,3}):(\d{2})$", raw)
        if re.match(r"^[+-]?\d+$", raw):
            minutes = int(raw)
        elif colon:
            minutes = int(colon[2]) * 60 + int(colon[3])
            minutes = -minutes if colon[1] == "-" else minutes
        else:
            match = _SHIFT.match(raw)
            if not match or not any(match[k] for k in ("d", "h", "m")):
                raise ValueError(f"not a shift: {raw!r} (use e.g. +2h, -1h30m or -90)")
            minutes = int(match["d"] or 0) * 1440 + int(match["h"] or 0) * 60 + int(match["m"] or 0)
            minutes = -minutes if match["sign"] in ("-", "−") else minutes
    if minutes == 0:
        raise ValueError("a shift of zero changes nothing")
    if abs(minutes) > 100 * 366 * 1440:
        raise ValueError("a shift of more than a hundred years is surely a typo")
    return minutes


def offset_in_zone(value: datetime, zone_name: str) -> int:
    """The UTC offset (minutes) the wall-clock ``value`` had in ``zone_name``."""
    offset = value.replace(tzinfo=ZoneInfo(zone_name)).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0
