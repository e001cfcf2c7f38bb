"""Folder names as dates (``2004``, ``2019-05-21 Trip``, ``2022/11/09``): the deepest dated
folder, made more precise by any folder that agrees with it; see :func:`parse_folder`.
Folders are often named after the fact, so their confidence stays low.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from mediafix.media.dates.filenames import FUTURE_SLACK, MIN_YEAR, NameDate, strip_copy_suffix
from mediafix.media.values import Precision, TimeMeaning

__all__ = ["parse_folder"]

_FOLDER_CONFIDENCE = {
    Precision.SECOND: 0.35,
    Precision.MINUTE: 0.35,
    Precision.DAY: 0.35,
    Precision.MONTH: 0.3,
    Precision.YEAR: 0.25,
}
# An event folder with its time: 20221109T2030, 2022.11.09T20.30, 2022-11-09T20-30-15.
_FOLDER_DATETIME = re.compile(
    r"(?<![^\W_])(?P<Y>(?:18|19|20)\d\d)(?P<sep>[-_.]?)(?P<M>\d\d)(?P=sep)(?P<D>\d\d)"
    r"T(?P<h>\d\d)(?P<tsep>[-_.:]?)(?P<m>\d\d)(?:(?P=tsep)(?P<s>\d\d))?(?!\d)",
    re.IGNORECASE,
)
_FOLDER_DATE = re.compile(
    r"(?<![^\W_])(?P<Y>(?:18|19|20)\d\d)(?P<sep>[-_. ]?)(?P<M>\d\d)(?P=sep)(?P<D>\d\d)(?!\d)"
    r"|(?<![^\W_])(?P<D2>\d\d)\.(?P<M2>\d\d)\.(?P<Y2>(?:18|19|20)\d\d)(?!\d)"
)
_FOLDER_MONTH = re.compile(r"(?<![^\W_])(?P<Y>(?:18|19|20)\d\d)[-_.]?(?P<M>\d\d)(?!\d)")
_FOLDER_YEAR = re.compile(r"(?<![^\W_])((?:18|19|20)\d\d)(?![^\W_])")
_PURE_YEAR = re.compile(r"\s*(?:18|19|20)\d\d\s*")
_LEADING_NUMBER = re.compile(r"(\d{1,2})(?:$|[\s_.-])")
_WORD = re.compile(r"[^\W\d_]+")
_MONTH_NAMES: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan januar janvier enero januari gennaio janeiro",
        "february feb februar février febrero februari febbraio fevereiro",
        "march mar märz maerz mars marzo maart março",
        "april apr avril abril aprile",
        "may mai mayo mei maggio maio",
        "june jun juni juin junio giugno junho",
        "july jul juli juillet julio luglio julho",
        "august aug août agosto augustus",
        "september sep sept septembre septiembre settembre setembro",
        "october oct oktober octobre octubre ottobre outubro",
        "november nov novembre noviembre novembro",
        "december dec dezember décembre diciembre dicembre dezembro",
    ),
    start=1,
):
    for _word in _names.split():
        _MONTH_NAMES[_word] = _number


def _month_word(part: str) -> int | None:
    """The one month a folder name spells ("Mai 2019", "05 May"), if exactly one."""
    months = {_MONTH_NAMES[w] for w in _WORD.findall(part.casefold()) if w in _MONTH_NAMES}
    return months.pop() if len(months) == 1 else None


def _leading(part: str | None, low: int, high: int) -> int | None:
    """A child folder that is a month or day number: "05", "9", "11 - November"."""
    if part is None:
        return None
    match = _LEADING_NUMBER.match(part.strip())
    if match is None:
        return None
    number = int(match.group(1))
    return number if low <= number <= high else None


def _folder_value(y: int, m: int = 1, d: int = 1) -> datetime | None:
    if y < MIN_YEAR:
        return None
    try:
        return datetime(y, m, d)
    except ValueError:
        return None


def _folder_part(parts: Sequence[str], i: int) -> tuple[datetime, Precision] | None:
    """The date folder ``i`` states, completed by numeric month/day folders below it."""
    part = parts[i]
    child = parts[i + 1] if i + 1 < len(parts) else None
    grandchild = parts[i + 2] if i + 2 < len(parts) else None
    match = _FOLDER_DATETIME.search(part)
    if match is not None:
        try:
            when = datetime(
                int(match["Y"]),
                int(match["M"]),
                int(match["D"]),
                int(match["h"]),
                int(match["m"]),
                int(match["s"] or 0),
            )
        except ValueError:
            return None
        if when.year < MIN_YEAR:
            return None
        return when, (Precision.SECOND if match["s"] else Precision.MINUTE)
    match = _FOLDER_DATE.search(part)
    if match is not None:
        y, m, d = (
            (match["Y"], match["M"], match["D"])
            if match["Y"]
            else (match["Y2"], match["M2"], match["D2"])
        )
        value = _folder_value(int(y), int(m), int(d))
        return (value, Precision.DAY) if value else None
    match = _FOLDER_MONTH.search(part)
    if match is not None and 1 <= int(match["M"]) <= 12:
        y, m = int(match["Y"]), int(match["M"])
        day = _leading(child, 1, 31)
        value = _folder_value(y, m, day) if day else None
        if value:
            return value, Precision.DAY
        value = _folder_value(y, m)
        return (value, Precision.MONTH) if value else None
    years = set(_FOLDER_YEAR.findall(part))
    if len(years) != 1:
        return None
    y = int(years.pop())
    month = _month_word(part)
    if month is None and _PURE_YEAR.fullmatch(part):
        month = _leading(child, 1, 12) or (_month_word(child) if child else None)
        if month is not None:
            day = _leading(grandchild, 1, 31)
            value = _folder_value(y, month, day) if day else None
            if value:
                return value, Precision.DAY
    if month is not None:
        value = _folder_value(y, month)
        return (value, Precision.MONTH) if value else None
    value = _folder_value(y)
    return (value, Precision.YEAR) if value else None


_DAY_NAME = re.compile(r"\d\d")
# Folders that are nothing but a date hierarchy: "2019" above "05", or "2019-05" alone.
_NUMERIC_MONTH = re.compile(r"\s*(?:(?:18|19|20)\d\d[-_.])?\d{1,2}\s*")
_TRUNCATE = {
    Precision.YEAR: "%Y",
    Precision.MONTH: "%Y%m",
    Precision.DAY: "%Y%m%d",
    Precision.MINUTE: "%Y%m%d%H%M",
    Precision.SECOND: "%Y%m%d%H%M%S",
}


def _within(fine: tuple[datetime, Precision], coarse: tuple[datetime, Precision]) -> bool:
    """``fine`` lies inside the span ``coarse`` states (2022-11-09 inside 2022-11)."""
    fmt = _TRUNCATE[coarse[1]]
    return fine[0].strftime(fmt) == coarse[0].strftime(fmt)


def parse_folder(
    parts: Sequence[str], *, name: str | None = None, now: datetime | None = None
) -> NameDate | None:
    """The date the folders state: the deepest dated folder, made more precise by any folder
    that agrees with it and says more.

    ``["2019", "2019-05-21 Trip"]`` is a day, ``["2022", "11", "09"]`` a day,
    ``["2022.11.09", "2022.11", "2022"]`` the day too (the year folder inside agrees),
    ``["2019", "2018-12-24 Christmas"]`` the deeper day (they disagree), ``["2019", "05"]``
    a month, ``["Holidays 2004"]`` a year (never 2004-01-01 00:00 as if known),
    ``["20221109T2030"]`` a minute. ``name`` is the file's stem: under year and month
    folders a stem that is only a day number (``2019/05/21.jpg``) completes the day.
    Folders are often named after the fact, so confidence stays low.
    """
    limit = (now or datetime.now()) + FUTURE_SLACK
    found: list[tuple[datetime, Precision]] = []
    for i in range(len(parts) - 1, -1, -1):
        part = _folder_part(parts, i)
        if part is not None and part[0] <= limit:
            found.append(part)
    stem = strip_copy_suffix(name).strip() if name is not None else ""
    if (
        found
        and found[0][1] is Precision.MONTH
        and _DAY_NAME.fullmatch(stem)
        and parts
        and _NUMERIC_MONTH.fullmatch(parts[-1])
    ):
        # 2019/05/21.jpg: the day is the name. Only under a bare date hierarchy with a
        # two-digit name; "Trip 2019-05/3.jpg" is the third photo, not the 3rd.
        extended = [*parts, stem]
        for i in range(len(parts) - 1, -1, -1):
            day = _folder_part(extended, i)
            if day is not None and day[1] is Precision.DAY and _within(day, found[0]):
                if day[0] <= limit:
                    found.insert(0, day)
                break
    if not found:
        return None
    best = found[0]  # the deepest folder's date decides which span the file is in
    for other in found[1:]:
        if other[1].rank < best[1].rank and _within(other, best):
            best = other
    value, precision = best
    return NameDate(value, precision, TimeMeaning.LOCAL, "folder", _FOLDER_CONFIDENCE[precision])
