"""Reading exiftool's date values: text -> a value, its precision and any offset it carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mediafix.media.values import Precision

__all__ = [
    "Parsed",
    "as_text",
    "date_only_midnight",
    "parse_datetime",
    "parse_offset",
    "parse_time",
    "show_date",
    "subsec_micro",
]

_DATETIME_RE = re.compile(
    r"^\s*(?P<Y>\d{4})(?:[:\-/.](?P<M>\d{1,2})(?:[:\-/.](?P<D>\d{1,2})"
    r"(?:[ T]+(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:[.,](?P<f>\d+))?)?)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{1,2}(?::?\d\d)?)?(?:\s*DST)?\s*$",
    re.IGNORECASE,
)
_TIME_RE = re.compile(
    r"^\s*(?P<h>\d{1,2}):(?P<m>\d{1,2})(?::(?P<s>\d{1,2})(?:[.,](?P<f>\d+))?)?"
    r"\s*(?P<tz>Z|[+-]\d{1,2}(?::?\d\d)?)?\s*$",
    re.IGNORECASE,
)
_OFFSET_RE = re.compile(
    r"^\s*(?:(?P<z>Z)|(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d\d)?)\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Parsed:
    value: datetime
    precision: Precision
    offset: int | None  # minutes, from the text itself (Z is 0)
    zulu: bool = False  # written with "Z": an instant, whatever the tag usually holds


def as_text(value: Any) -> str | None:
    """An exiftool value as text; lists give their first item; blanks give None."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _match(regex: re.Pattern[str], value: Any) -> re.Match[str] | None:
    """``regex`` matched against an exiftool value's text (None for a blank value)."""
    text = as_text(value)
    return None if text is None else regex.match(text)


def parse_offset(value: Any) -> int | None:
    m = _match(_OFFSET_RE, value)
    if m is None:
        return None
    if m["z"]:
        return 0
    minutes = int(m["h"]) * 60 + int(m["m"] or 0)
    if minutes > 14 * 60:
        return None
    return -minutes if m["sign"] == "-" else minutes


def _micro(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


def subsec_micro(value: Any) -> int | None:
    """SubSecTime* "84" -> 840000 µs (digits are a decimal fraction; leading zeros matter)."""
    text = as_text(value)
    if text is None:
        return None
    digits = text.split(".")[-1] if "." in text else text
    if not digits.isdigit():
        return None
    return _micro(digits)


def _precision_of(m: re.Match[str]) -> Precision:
    """How much of a time a match of ``_DATETIME_RE`` or ``_TIME_RE`` (with its hour and
    minute) says: sub-seconds, seconds or minutes."""
    if m["f"]:
        return Precision.SUBSECOND
    return Precision.SECOND if m["s"] is not None else Precision.MINUTE


def parse_datetime(value: Any) -> Parsed | None:
    """An exiftool/XMP date (``2019:09:19 05:38:57.12+02:00``, ``2019-09-19T05:38``, ``2010``)
    -> value, precision and the offset it carries; None for blanks, zeros and nonsense."""
    m = _match(_DATETIME_RE, value)
    if m is None:
        return None
    offset = parse_offset(m["tz"]) if m["tz"] else None
    if m["tz"] and offset is None:
        return None
    zulu = (m["tz"] or "").upper() == "Z"
    year = int(m["Y"])
    month = int(m["M"]) if m["M"] else None
    day = int(m["D"]) if m["D"] else None
    try:
        if month is None:
            return Parsed(datetime(year, 1, 1), Precision.YEAR, None)
        if day is None:
            return Parsed(datetime(year, month, 1), Precision.MONTH, None)
        if m["h"] is None:
            return Parsed(datetime(year, month, day), Precision.DAY, None)
        second = min(int(m["s"] or 0), 59)  # a leap second 60 is the same second to us
        precision = _precision_of(m)
        parsed = datetime(year, month, day, int(m["h"]), int(m["m"]), second, _micro(m["f"]))
    except ValueError:
        return None
    return Parsed(parsed, precision, offset, zulu)


def parse_time(value: Any) -> tuple[int, int, int, int, Precision, int | None] | None:
    """A time alone (IPTC TimeCreated, GPSTimeStamp) -> h, m, s, µs, precision, offset."""
    m = _match(_TIME_RE, value)
    if m is None:
        return None
    h, mi, s = int(m["h"]), int(m["m"]), min(int(m["s"] or 0), 59)
    if h > 23 or mi > 59:
        return None
    offset = parse_offset(m["tz"]) if m["tz"] else None
    precision = _precision_of(m)
    return h, mi, s, _micro(m["f"]), precision, offset


def show_date(value: datetime, precision: Precision) -> str:
    if precision is Precision.YEAR:
        return f"{value:%Y}"
    if precision is Precision.MONTH:
        return f"{value:%Y-%m}"
    if precision is Precision.DAY:
        return f"{value:%Y-%m-%d}"
    if precision is Precision.MINUTE:
        return f"{value:%Y-%m-%d %H:%M}"
    return f"{value:%Y-%m-%d %H:%M:%S}"


def date_only_midnight(parsed: Parsed) -> Parsed:
    """Editors fill a missing time as 00:00(:00): a day, not a moment."""
    v = parsed.value
    if parsed.precision in (Precision.SECOND, Precision.MINUTE) and v.time() == datetime.min.time():
        return Parsed(v, Precision.DAY, None)
    return parsed
