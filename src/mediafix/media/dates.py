"""Date: every timestamp a file offers -> one verdict (local time, offset, confidence, why).

How a verdict is reached, in order:

1. **Candidates.** Each source gives at most one ``DateCandidate``: EXIF, XMP and IPTC
   tags, QuickTime/RIFF/H.264 video dates, GPS time, the file name and its folders
   (``filenames.py``), a Google Takeout JSON and an XMP sidecar, the file's mtime.
   Sentinels (zero dates, 1904/1970 epochs, a camera's factory clock, the future, before
   1826) are dropped and named in the reason.
2. **Clocks.** Sources read on a local wall clock keep it; sources that hold an instant
   (QuickTime dates are UTC, Takeout, Pixel names, GPS, mtime) get their local time from
   the best offset known: a tag's own offset, another source describing the same moment,
   the zone at the GPS position, and only then the home zone, saying which.
3. **Winner.** The most trusted candidate wins (``TRUST_TABLE``), never the earliest.
4. **Confidence.** Independent sources that agree (the same second, or whole quarter-hours
   apart when only the zone differs) raise it; a disagreeing one lowers it, and the reason
   says so. Coarse precision (a day, a month) caps it.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import re
import threading
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from mediafix.media.filenames import NameDate, parse_filename, parse_folder, strip_copy_suffix
from mediafix.media.sidecars import read_takeout, read_xmp_dates
from mediafix.media.values import Precision, TimeMeaning

__all__ = [
    "EVIDENCE_VERSION",
    "FACTORY_CLOCKS",
    "NEIGHBOURS",
    "QUICKTIME_LOCAL_CAMERAS",
    "TRUST_TABLE",
    "Clip",
    "DateCandidate",
    "DateOptions",
    "DateVerdict",
    "Evidence",
    "FactoryClock",
    "LocalTimeCamera",
    "SequenceItem",
    "Shot",
    "SourceTrust",
    "ZoneAnchor",
    "ZoneAnchors",
    "ZoneHint",
    "ZoneQuestion",
    "collect",
    "date_evidence",
    "date_file",
    "detect_local_cameras",
    "format_offset",
    "infer_sequences",
    "judge",
    "level_for",
    "parse_datetime",
]

log = logging.getLogger(__name__)

# --- values -------------------------------------------------------------------------------


def format_offset(minutes: int | None) -> str | None:
    """120 -> "+02:00", -270 -> "-04:30", None -> None."""
    if minutes is None:
        return None
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _iso_utc(value: datetime | None, *, seconds: bool = False) -> str | None:
    if value is None:
        return None
    if seconds:
        value = value.replace(microsecond=0)
    return value.isoformat() + "Z"


@dataclass(frozen=True)
class DateCandidate:
    """One source's statement about when a file was taken.

    ``value`` is always the naive local wall-clock time. For sources that know only the
    instant (QuickTime, Takeout, GPS, mtime) it was computed with ``utc_offset`` taken from
    ``offset_source``.
    """

    source: str  # exif:<Tag>, exif:MakerNotes:<Tag>, exif:Composite:<Tag>, quicktime:<Tag>,
    # xmp:<Tag>, iptc:<Tag>, gps:<Tag>, riff:<Tag>, h264:<Tag>, matroska:<Tag>, filename,
    # folder, sidecar:takeout, sidecar:xmp, file:mtime, inferred:sequence
    value: datetime
    precision: Precision
    utc_offset: int | None  # minutes east of UTC, when known
    offset_source: str | None
    utc: datetime | None  # naive UTC instant when known
    confidence: float  # this source's own trust, 0..1
    note: str = ""
    detail: str | None = None  # exiftool's group when the source names a kind (MakerNotes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "value": self.value.isoformat(),
            "utc_offset": format_offset(self.utc_offset),
            "precision": self.precision.value,
            "confidence": round(self.confidence, 3),
            "utc": _iso_utc(self.utc),
            "note": self.note,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DateVerdict:
    """The date engine's answer for one file, with its evidence."""

    taken_at: datetime | None  # local wall clock (may carry microseconds)
    utc_offset: int | None
    offset_source: str | None  # "exif:OffsetTimeOriginal", "quicktime:Keys", "gps", ...
    taken_at_utc: datetime | None
    confidence: float
    level: str  # "high" | "medium" | "low" | "none"
    source: str | None  # the winning candidate's source
    reason: str  # one line a person understands
    precision: Precision | None
    candidates: tuple[DateCandidate, ...]
    # The wall clock was computed from an instant and an offset (a video's UTC header and a
    # zone), not stated by the file: the zone from the neighbours would move it.
    instant_only: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "taken_at": (self.taken_at.replace(microsecond=0).isoformat()
                         if self.taken_at else None),
            "utc_offset": format_offset(self.utc_offset),
            "taken_at_utc": _iso_utc(self.taken_at_utc, seconds=True),
            "confidence": round(self.confidence, 3),
            "confidence_level": self.level,
            "source": self.source,
            "reason": self.reason,
            "candidates": [c.to_dict() for c in self.candidates],
            "offset_source": self.offset_source,
            "precision": self.precision.value if self.precision else None,
        }


@dataclass(frozen=True)
class DateOptions:
    """Settings the date engine needs from outside."""

    home_zone: ZoneInfo
    # Camera models a person said write LOCAL time into QuickTime dates (per-camera override).
    quicktime_local_models: frozenset[str] = frozenset()
    now: datetime | None = None  # naive home-zone wall clock (or aware); default: the clock
    # Camera models the library showed to write local time (model -> the evidence, in words);
    # see ``detect_local_cameras``.
    detected_local_cameras: Mapping[str, str] = field(default_factory=dict)


def level_for(confidence: float) -> str:
    """high (>= 0.8) / medium (>= 0.5) / low (> 0) / none."""
    if confidence >= 0.8:
        return "high"
    if confidence >= 0.5:
        return "medium"
    if confidence > 0:
        return "low"
    return "none"


# --- the trust table -------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceTrust:
    """How far one source is trusted and how it is read.

    ``family`` groups sources that are not independent witnesses (all tags a camera wrote
    in one go are one family): only other families raise or lower a winner's confidence.
    ``contradicts`` is how much this source disagreeing with the winner lowers confidence
    (mtime and ModifyDate differ for innocent reasons: 0). ``slack`` is the seconds by which
    it may differ and still "agree" (a QuickTime date is written when recording ends).
    """

    source: str
    trust: float
    meaning: TimeMeaning
    family: str
    contradicts: float
    slack: float
    label: str


_L, _U = TimeMeaning.LOCAL, TimeMeaning.UTC
# fmt: off
TRUST_TABLE: tuple[SourceTrust, ...] = (
    SourceTrust("exif:DateTimeOriginal", 0.95, _L, "meta", 0.5, 2, "camera EXIF DateTimeOriginal"),
    SourceTrust("quicktime:CreationDate", 0.95, _L, "meta", 0.5, 2, "Apple QuickTime CreationDate"),
    SourceTrust("h264:DateTimeOriginal", 0.9, _L, "meta", 0.5, 2,
                "camcorder (H.264) DateTimeOriginal"),
    SourceTrust("exif:CreateDate", 0.88, _L, "meta", 0.5, 2, "camera EXIF CreateDate"),
    # The same camera clock, found where exiftool looked when the standard tag was missing
    # (a maker's notes, or exiftool's composite of whatever DateTimeOriginal it found): an
    # edited or stripped file, so a little below the EXIF tags themselves.
    SourceTrust("exif:MakerNotes:DateTimeOriginal", 0.9, _L, "meta", 0.5, 2,
                "the camera maker's notes (DateTimeOriginal)"),
    SourceTrust("exif:Composite:SubSecDateTimeOriginal", 0.88, _L, "meta", 0.5, 2,
                "exiftool's composite SubSecDateTimeOriginal"),
    SourceTrust("exif:MakerNotes:CreateDate", 0.85, _L, "meta", 0.5, 2,
                "the camera maker's notes (CreateDate)"),
    SourceTrust("xmp:DateTimeOriginal", 0.88, _L, "meta", 0.5, 2, "XMP DateTimeOriginal"),
    SourceTrust("sidecar:xmp", 0.85, _L, "sidecar:xmp", 0.5, 2, "the XMP sidecar"),
    SourceTrust("quicktime:DateTimeOriginal", 0.85, _L, "meta", 0.5, 2,
                "QuickTime DateTimeOriginal"),
    SourceTrust("riff:DateTimeOriginal", 0.85, _L, "meta", 0.5, 2, "AVI (RIFF) DateTimeOriginal"),
    SourceTrust("matroska:DateTimeOriginal", 0.8, _U, "meta", 0.5, 60,
                "Matroska/WebM DateUTC"),
    SourceTrust("quicktime:CreateDate", 0.85, _U, "meta", 0.5, 60, "QuickTime CreateDate"),
    SourceTrust("quicktime:MediaCreateDate", 0.82, _U, "meta", 0.5, 60,
                "QuickTime MediaCreateDate"),
    SourceTrust("quicktime:TrackCreateDate", 0.8, _U, "meta", 0.5, 60, "QuickTime TrackCreateDate"),
    SourceTrust("xmp:DateCreated", 0.8, _L, "meta", 0.5, 2, "XMP DateCreated"),
    SourceTrust("sidecar:takeout", 0.8, _U, "sidecar:takeout", 0.5, 2, "the Google Takeout JSON"),
    SourceTrust("xmp:DateTimeDigitized", 0.75, _L, "meta", 0.3, 2, "XMP DateTimeDigitized"),
    SourceTrust("xmp:CreateDate", 0.75, _L, "meta", 0.3, 2, "XMP CreateDate"),
    SourceTrust("iptc:DateCreated", 0.75, _L, "meta", 0.3, 2, "IPTC DateCreated"),
    SourceTrust("quicktime:ContentCreateDate", 0.75, _L, "meta", 0.3, 2,
                "QuickTime ContentCreateDate"),
    # The file name's own trust comes from its pattern in filenames.py; this caps it, so a
    # name alone stays medium however precise it looks.
    SourceTrust("filename", 0.75, _L, "filename", 0.5, 5, "the file name"),
    SourceTrust("iptc:DigitalCreationDate", 0.65, _L, "meta", 0.3, 2, "IPTC DigitalCreationDate"),
    SourceTrust("riff:DateCreated", 0.6, _L, "meta", 0.3, 2, "AVI (RIFF) DateCreated"),
    SourceTrust("gps:GPSDateTime", 0.6, _U, "gps", 0.25, 120, "the GPS time"),
    SourceTrust("inferred:sequence", 0.55, _L, "inferred", 0.0, 60,
                "the neighbours in its camera sequence"),
    SourceTrust("folder", 0.35, _L, "folder", 0.2, 0, "the folder name"),
    SourceTrust("exif:ModifyDate", 0.35, _L, "meta", 0.0, 2, "EXIF ModifyDate"),
    SourceTrust("xmp:ModifyDate", 0.3, _L, "meta", 0.0, 2, "XMP ModifyDate"),
    SourceTrust("xmp:DateTime", 0.3, _L, "meta", 0.0, 2, "XMP (tiff) DateTime"),
    SourceTrust("file:mtime", 0.25, _U, "mtime", 0.0, 120, "the file's modification time"),
)
# fmt: on
_TRUST = {row.source: row for row in TRUST_TABLE}
_ORDER = {row.source: i for i, row in enumerate(TRUST_TABLE)}

# What a source can know at best, however trusted: a day is not a moment.
_PRECISION_CAP = {
    Precision.SUBSECOND: 1.0, Precision.SECOND: 1.0, Precision.MINUTE: 0.9,
    Precision.DAY: 0.55, Precision.MONTH: 0.4, Precision.YEAR: 0.3,
}
# Caps on the final confidence, whatever agrees: a day-only date stays below review level.
_VERDICT_CAP = {Precision.DAY: 0.58, Precision.MONTH: 0.42, Precision.YEAR: 0.32}
_MTIME_CAP = 0.35  # mtime alone is never above low
_AGREE_GAIN = 0.4  # share of the remaining doubt an agreeing source removes (times its trust)


@dataclass(frozen=True)
class FactoryClock:
    """A clock value cameras fall back to after a reset (battery out, never set)."""

    start: datetime
    window: timedelta  # values from start to start + window are suspect
    note: str


# A suspect value is dropped unless an independent source confirms it (a real photo at
# New Year's midnight has a matching name or Takeout time).
FACTORY_CLOCKS: tuple[FactoryClock, ...] = (
    FactoryClock(datetime(1980, 1, 1), timedelta(days=1), "the DOS/FAT zero date"),
    FactoryClock(datetime(2000, 1, 1), timedelta(days=1), "a reset camera clock (2000-01-01)"),
    FactoryClock(datetime(2001, 1, 1), timedelta(days=1), "a reset camera clock (2001-01-01)"),
    FactoryClock(datetime(2002, 1, 1), timedelta(days=1), "a reset camera clock (2002-01-01)"),
    FactoryClock(datetime(2004, 1, 1), timedelta(minutes=10),
                "a reset camera clock (2004-01-01 00:00)"),
    FactoryClock(datetime(2005, 1, 1), timedelta(minutes=10),
                "a reset camera clock (2005-01-01 00:00)"),
    FactoryClock(datetime(2010, 1, 1), timedelta(minutes=10), "a reset clock (2010-01-01 00:00)"),
    FactoryClock(datetime(2015, 1, 1), timedelta(minutes=10), "a reset clock (2015-01-01 00:00)"),
    FactoryClock(datetime(2016, 1, 1), timedelta(minutes=10),
                "a reset action-camera clock (2016-01-01 00:00)"),
)

_MIN_DATE = datetime(1826, 1, 1)  # the oldest surviving photograph
_FUTURE_SLACK = timedelta(days=1)
# Real UTC offsets: whole and half hours, and the few :45 zones (Nepal, Eucla, Chatham).
_VALID_OFFSETS = frozenset(
    {h * 60 for h in range(-12, 15)} | {h * 60 + 30 for h in range(-12, 14)}
    | {345, 525, 765, 825}
)
_GPS_CLOCK_SLACK = 300.0  # a GPS fix may be minutes old; still fine to read a zone from
_QT_GROUPS = frozenset({"quicktime", "keys", "userdata", "itemlist", "microsoft"})
_NOT_EXIF_GROUPS = frozenset({
    "composite", "file", "system", "riff", "h264", "png", "json", "m2ts", "gps", "iptc",
    "iptc2", "photoshop", "jfif", "icc_profile", "mpf0", "exiftool",
    # other containers whose tags exiftool names like EXIF's (Matroska's DateUTC is
    # "DateTimeOriginal"): never "exif:"
    "matroska", "flashpix", "app12", "plist", "mie", "xisf", "openexr", "lytro", "moi", "red",
    "dpx", "fits", "pdf", "id3", "vorbis", "asf", "mxf",
}) | _QT_GROUPS
# The standard EXIF directories (-G1 names, -G0 and none); any other EXIF-kind group is a
# camera maker's notes (Canon, Nikon, Kodak, FLIR, CanonRaw...).
_EXIF_IFDS = ("ExifIFD", "IFD0", "SubIFD", "EXIF", "")


# --- parsing exiftool values ---------------------------------------------------------------

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
_OFFSET_RE = re.compile(r"^\s*(?:(?P<z>Z)|(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d\d)?)\s*$",
                        re.IGNORECASE)


@dataclass(frozen=True)
class _Parsed:
    value: datetime
    precision: Precision
    offset: int | None  # minutes, from the text itself (Z is 0)
    zulu: bool = False  # written with "Z": an instant, whatever the tag usually holds


def _text(value: Any) -> str | None:
    """An exiftool value as text; lists give their first item; blanks give None."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _parse_offset(value: Any) -> int | None:
    text = _text(value)
    if text is None:
        return None
    m = _OFFSET_RE.match(text)
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


def _subsec_micro(value: Any) -> int | None:
    """SubSecTime* "84" -> 840000 µs (digits are a decimal fraction; leading zeros matter)."""
    text = _text(value)
    if text is None:
        return None
    digits = text.split(".")[-1] if "." in text else text
    if not digits.isdigit():
        return None
    return _micro(digits)


def parse_datetime(value: Any) -> _Parsed | None:
    """An exiftool/XMP date (``2019:09:19 05:38:57.12+02:00``, ``2019-09-19T05:38``, ``2010``)
    -> value, precision and the offset it carries; None for blanks, zeros and nonsense."""
    text = _text(value)
    if text is None:
        return None
    m = _DATETIME_RE.match(text)
    if m is None:
        return None
    offset = _parse_offset(m["tz"]) if m["tz"] else None
    if m["tz"] and offset is None:
        return None
    zulu = (m["tz"] or "").upper() == "Z"
    year = int(m["Y"])
    month = int(m["M"]) if m["M"] else None
    day = int(m["D"]) if m["D"] else None
    try:
        if month is None:
            return _Parsed(datetime(year, 1, 1), Precision.YEAR, None)
        if day is None:
            return _Parsed(datetime(year, month, 1), Precision.MONTH, None)
        if m["h"] is None:
            return _Parsed(datetime(year, month, day), Precision.DAY, None)
        second = min(int(m["s"] or 0), 59)  # a leap second 60 is the same second to us
        precision = (Precision.SUBSECOND if m["f"] else
                     Precision.SECOND if m["s"] is not None else Precision.MINUTE)
        parsed = datetime(year, month, day, int(m["h"]), int(m["m"]), second, _micro(m["f"]))
    except ValueError:
        return None
    return _Parsed(parsed, precision, offset, zulu)


def _parse_time(value: Any) -> tuple[int, int, int, int, Precision, int | None] | None:
    """A time alone (IPTC TimeCreated, GPSTimeStamp) -> h, m, s, µs, precision, offset."""
    text = _text(value)
    if text is None:
        return None
    m = _TIME_RE.match(text)
    if m is None:
        return None
    h, mi, s = int(m["h"]), int(m["m"]), min(int(m["s"] or 0), 59)
    if h > 23 or mi > 59:
        return None
    offset = _parse_offset(m["tz"]) if m["tz"] else None
    precision = (Precision.SUBSECOND if m["f"] else
                 Precision.SECOND if m["s"] is not None else Precision.MINUTE)
    return h, mi, s, _micro(m["f"]), precision, offset


# --- the working candidate ------------------------------------------------------------------


@dataclass
class _Raw:
    """A candidate while the engine works on it (local and/or UTC may still be unknown)."""

    source: str
    precision: Precision
    trust: float
    local: datetime | None = None  # wall clock, when the source states it
    utc: datetime | None = None  # instant, when the source states it
    offset: int | None = None
    offset_source: str | None = None
    explicit_offset: bool = False  # the offset came with the source itself
    local_known: bool = False  # the wall clock came from the source, not from a zone guess
    utc_known: bool = False
    note: str = ""
    detail: str = ""  # where exactly exiftool found it, when the source does not say (a maker)
    how: str = ""  # how the wall clock was found for an instant (words for the reason)
    slack: float = 2.0
    suspect: str | None = None  # a factory-clock value waiting for confirmation
    header: bool = False  # a QuickTime movie/track header date without an offset
    camera_note: str = ""  # why a header is read as local time (words for the reason)

    @property
    def row(self) -> SourceTrust:
        return _TRUST[self.source]

    def copy(self) -> _Raw:
        """A shallow copy (every field is a value), faster than ``dataclasses.replace``."""
        twin = object.__new__(_Raw)
        twin.__dict__.update(self.__dict__)
        return twin

    @property
    def family(self) -> str:
        return self.row.family


@dataclass
class _Context:
    options: DateOptions
    now_local: datetime
    now_utc: datetime
    position: tuple[float, float] | None = None
    duration: float = 0.0
    ignored: list[str] = field(default_factory=list)
    hint: ZoneHint | None = None  # the offset the file's neighbours show, if any


def _raw(source: str, parsed: _Parsed, meaning: TimeMeaning, *, trust: float | None = None,
         offset_source: str | None = None, note: str = "", detail: str = "") -> _Raw:
    """A working candidate from a parsed value read on ``meaning``'s clock."""
    row = _TRUST[source]
    base = row.trust if trust is None else min(trust, row.trust)
    r = _Raw(source, parsed.precision, min(base, _PRECISION_CAP[parsed.precision]),
             note=note, slack=row.slack, detail=detail)
    if parsed.zulu:
        meaning = TimeMeaning.UTC
    if meaning is TimeMeaning.LOCAL:
        r.local, r.local_known = parsed.value, True
        if parsed.offset is not None:
            r.offset, r.offset_source, r.explicit_offset = (
                parsed.offset, offset_source or source, True)
            r.utc, r.utc_known = parsed.value - timedelta(minutes=parsed.offset), True
    else:
        if parsed.offset is not None:  # a UTC source that states an offset: both known
            r.utc = parsed.value - timedelta(minutes=parsed.offset)
            if parsed.offset != 0:
                r.local, r.local_known = parsed.value, True
                r.offset, r.offset_source, r.explicit_offset = (
                    parsed.offset, offset_source or source, True)
        else:
            r.utc = parsed.value
        r.utc_known = True
    return r


# --- candidates from exiftool metadata ----------------------------------------------------


def _index(metadata: Mapping[str, Any]) -> dict[str, list[tuple[str, Any]]]:
    """tag name -> [(group, value)] in the metadata's order; ungrouped keys get group ""."""
    idx: dict[str, list[tuple[str, Any]]] = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            continue
        group, _, tag = key.rpartition(":")
        idx.setdefault(tag, []).append((group, value))
    return idx


def _group_kind(group: str) -> str:
    g = group.lower()
    if g.startswith("xmp"):
        return "xmp"
    if g in _QT_GROUPS or re.fullmatch(r"track\d+", g):
        return "quicktime"
    if g in ("riff", "h264", "composite", "gps", "matroska"):
        return g
    if g.startswith("iptc"):
        return "iptc"
    if g in _NOT_EXIF_GROUPS:
        return "other"
    return "exif"  # ExifIFD, IFD0, "" and maker-note groups (Canon, FLIR, CIFF...)


def _first(idx: dict[str, list[tuple[str, Any]]], tag: str, kind: str,
           prefer: Sequence[str] = ()) -> tuple[str, Any] | None:
    """The first non-blank value of ``tag`` in a group of ``kind``, preferred groups first."""
    found = [(g, v) for g, v in idx.get(tag, ()) if _group_kind(g) == kind and _text(v)]
    for group in prefer:
        for g, v in found:
            if g.lower() == group.lower():
                return g, v
    return found[0] if found else None


def _model(idx: dict[str, list[tuple[str, Any]]]) -> str | None:
    for _group, value in idx.get("Model", ()):
        text = _text(value)
        if text:
            return text
    return None


class _Collector:
    """Gathers candidates, dropping sentinels with a note for the reason."""

    def __init__(self, ctx: _Context) -> None:
        self.ctx = ctx
        self.raws: list[_Raw] = []

    def parse(self, label: str, value: Any) -> _Parsed | None:
        parsed = parse_datetime(value)
        if parsed is None:
            text = _text(value)
            if text is not None and not text.replace(":", "").replace(" ", "").strip("0"):
                self.ctx.ignored.append(f"{label} {str(value)!r} (blank)")
            elif text is not None and re.search(r"\d", text):
                self.ctx.ignored.append(f"{label} {text!r} (not a date)")
        return parsed

    def add(self, r: _Raw) -> None:
        ctx = self.ctx
        label = r.row.label if r.source not in ("filename", "folder") else r.source
        check = r.local if r.local is not None else r.utc
        assert check is not None
        why = _impossible(check, r.utc, ctx.now_local, ctx.now_utc)
        if why is not None:
            ctx.ignored.append(f"{label} {_show(check, r.precision)} ({why})")
            return
        if any(x.source == r.source for x in self.raws):
            return  # one candidate per source: the first (preferred) one
        self.raws.append(r)


def _show(value: datetime, precision: Precision) -> str:
    if precision is Precision.YEAR:
        return f"{value:%Y}"
    if precision is Precision.MONTH:
        return f"{value:%Y-%m}"
    if precision is Precision.DAY:
        return f"{value:%Y-%m-%d}"
    if precision is Precision.MINUTE:
        return f"{value:%Y-%m-%d %H:%M}"
    return f"{value:%Y-%m-%d %H:%M:%S}"


def _impossible(value: datetime, utc: datetime | None, now_local: datetime,
                now_utc: datetime) -> str | None:
    if value < _MIN_DATE:
        return "before photography existed"
    day = value.date()
    if day in (datetime(1904, 1, 1).date(), datetime(1903, 12, 31).date()):
        return "the QuickTime zero date"
    if day in (datetime(1970, 1, 1).date(), datetime(1969, 12, 31).date()):
        return "the Unix zero date"
    if value > now_local + _FUTURE_SLACK or (utc is not None and utc > now_utc + _FUTURE_SLACK):
        return "in the future"
    return None


def _factory_clock(value: datetime) -> str | None:
    for clock in FACTORY_CLOCKS:
        if clock.start <= value < clock.start + clock.window:
            return clock.note
    return None


def _exif_candidates(col: _Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    """EXIF DateTimeOriginal, CreateDate, ModifyDate with sub-seconds and their OffsetTime*
    tags; when the standard tag is missing, a maker's notes or exiftool's composite, labelled
    as such (``exif:MakerNotes:DateTimeOriginal``, the maker in the candidate's ``detail``)."""
    specs = (
        ("DateTimeOriginal", "exif:DateTimeOriginal", "SubSecTimeOriginal",
         ("OffsetTimeOriginal", "OffsetTimeDigitized", "OffsetTime")),
        ("CreateDate", "exif:CreateDate", "SubSecTimeDigitized",
         ("OffsetTimeDigitized", "OffsetTimeOriginal", "OffsetTime")),
        ("ModifyDate", "exif:ModifyDate", "SubSecTime", ("OffsetTime",)),
    )
    for tag, source, subsec_tag, offset_tags in specs:
        found = _first(idx, tag, "exif", _EXIF_IFDS)
        from_exif = found is not None and found[0].lower() in {g.lower() for g in _EXIF_IFDS}
        if found is None and tag == "DateTimeOriginal":
            comp = _first(idx, "SubSecDateTimeOriginal", "composite")
            if comp is not None:
                parsed = col.parse("exiftool's composite SubSecDateTimeOriginal", comp[1])
                if parsed is not None:
                    col.add(_raw("exif:Composite:SubSecDateTimeOriginal", parsed, _L,
                                 note="exiftool's composite: no EXIF DateTimeOriginal",
                                 detail="Composite"))
                    continue
        if found is None:
            continue
        group, value = found
        if tag == "ModifyDate" and group.lower() not in ("ifd0", "exif", ""):
            continue  # IFD1:ModifyDate is the thumbnail's, a maker's is no capture time
        parsed = col.parse(f"EXIF {tag}", value)
        if parsed is None:
            continue
        offset_source = None
        if from_exif:
            micro = _subsec_micro((_first(idx, subsec_tag, "exif") or ("", None))[1])
            if micro is not None and parsed.precision is Precision.SECOND:
                parsed = _Parsed(parsed.value.replace(microsecond=micro), Precision.SUBSECOND,
                                 parsed.offset)
            if parsed.offset is None and tag == "DateTimeOriginal":
                # Maker notes (FLIR...) may repeat the time with the offset EXIF lacks.
                for g, v in idx.get(tag, ()):
                    other = parse_datetime(v) if g != group and _group_kind(g) == "exif" else None
                    if (other is not None and other.offset is not None
                            and other.value.replace(microsecond=0)
                            == parsed.value.replace(microsecond=0)):
                        parsed = _Parsed(parsed.value, parsed.precision, other.offset)
                        offset_source = f"exif:{g}"
                        break
            if parsed.offset is None:
                for otag in offset_tags:
                    if otag == "OffsetTime" and tag != "ModifyDate" and not _same_second(
                            (_first(idx, "ModifyDate", "exif", ("IFD0",)) or ("", None))[1],
                            parsed.value):
                        continue  # OffsetTime belongs to ModifyDate: an edit elsewhere later
                    off = _first(idx, otag, "exif")
                    minutes = _parse_offset(off[1]) if off else None
                    if minutes is not None:
                        parsed = _Parsed(parsed.value, parsed.precision, minutes)
                        offset_source = f"exif:{otag}"
                        break
            col.add(_raw(source, parsed, _L, offset_source=offset_source))
        else:
            col.add(_raw(f"exif:MakerNotes:{tag}", parsed, _L,
                         note=f"from the {group} maker notes", detail=group))


def _same_second(value: Any, when: datetime) -> bool:
    parsed = parse_datetime(value)
    return parsed is not None and parsed.value.replace(microsecond=0) == when.replace(
        microsecond=0)


_XMP_TAGS = (
    ("DateTimeOriginal", "xmp:DateTimeOriginal"),
    ("DateCreated", "xmp:DateCreated"),
    ("DateTimeDigitized", "xmp:DateTimeDigitized"),
    ("CreateDate", "xmp:CreateDate"),
    ("ModifyDate", "xmp:ModifyDate"),
    ("DateTime", "xmp:DateTime"),
)


def _date_only_midnight(parsed: _Parsed) -> _Parsed:
    """Editors fill a missing time as 00:00(:00): a day, not a moment."""
    v = parsed.value
    if parsed.precision in (Precision.SECOND, Precision.MINUTE) and v.time() == datetime.min.time():
        return _Parsed(v, Precision.DAY, None)
    return parsed


def _xmp_candidates(col: _Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    for tag, source in _XMP_TAGS:
        found = _first(idx, tag, "xmp")
        if found is None:
            continue
        parsed = col.parse(f"XMP {tag}", found[1])
        if parsed is None:
            continue
        if tag == "DateCreated":
            parsed = _date_only_midnight(parsed)
        col.add(_raw(source, parsed, _L))


def _iptc_candidates(col: _Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    for date_tag, time_tag, source in (
        ("DateCreated", "TimeCreated", "iptc:DateCreated"),
        ("DigitalCreationDate", "DigitalCreationTime", "iptc:DigitalCreationDate"),
    ):
        found = _first(idx, date_tag, "iptc", ("IPTC",))
        if found is None:
            continue
        parsed = col.parse(f"IPTC {date_tag}", found[1])
        if parsed is None:
            continue
        t = _first(idx, time_tag, "iptc", (found[0],))
        tm = _parse_time(t[1]) if t else None
        offset_source = None
        if tm is not None and parsed.precision is Precision.DAY:
            h, mi, s, us, precision, offset = tm
            if offset == 0:
                offset = None  # IPTC "+00:00" is what most tools write when they do not know
            parsed = _date_only_midnight(_Parsed(
                parsed.value.replace(hour=h, minute=mi, second=s, microsecond=us),
                precision, offset))
            offset_source = f"iptc:{time_tag}" if parsed.offset is not None else None
        col.add(_raw(source, parsed, _L, offset_source=offset_source))


def _gps_candidate(col: _Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    """GPSDateStamp + GPSTimeStamp: a UTC instant from the satellite clock."""
    comp = _first(idx, "GPSDateTime", "composite")
    if comp is not None:
        parsed = col.parse("GPS time", comp[1])
        if parsed is not None:
            col.add(_raw("gps:GPSDateTime", parsed, _U))
            return
    date = _first(idx, "GPSDateStamp", "gps") or _first(idx, "GPSDateStamp", "exif")
    if date is None:
        xmp = _first(idx, "GPSTimeStamp", "xmp")  # XMP holds the whole date-time
        parsed = parse_datetime(xmp[1]) if xmp else None
        if parsed is not None and parsed.precision.rank <= Precision.MINUTE.rank:
            col.add(_raw("gps:GPSDateTime", parsed, _U))
        return
    parsed = col.parse("GPS date", date[1])
    if parsed is None:
        return
    t = _first(idx, "GPSTimeStamp", "gps") or _first(idx, "GPSTimeStamp", "exif")
    tm = _parse_time(t[1]) if t else None
    if tm is not None and parsed.precision is Precision.DAY and tm[:4] != (0, 0, 0, 0):
        h, mi, s, us, precision, _ = tm
        parsed = _Parsed(parsed.value.replace(hour=h, minute=mi, second=s, microsecond=us),
                         precision, None)
    # (a time of exactly 00:00:00 is what receivers write when they have only the date)
    col.add(_raw("gps:GPSDateTime", parsed, _U))


def _video_candidates(col: _Collector, idx: dict[str, list[tuple[str, Any]]]) -> None:
    ctx = col.ctx
    # Apple Keys:CreationDate: the local time with its offset, the best a video has.
    found = _first(idx, "CreationDate", "quicktime", ("Keys", "UserData", "ItemList"))
    if found is not None:
        parsed = col.parse("QuickTime CreationDate", found[1])
        if parsed is not None:
            src = ("quicktime:Keys" if found[0].lower() in ("keys", "quicktime")
                   else f"quicktime:{found[0]}")
            col.add(_raw("quicktime:CreationDate", parsed, _L, offset_source=src))
    for tag, source in (("DateTimeOriginal", "quicktime:DateTimeOriginal"),
                        ("ContentCreateDate", "quicktime:ContentCreateDate")):
        found = _first(idx, tag, "quicktime", ("UserData", "Keys", "ItemList"))
        if found is None:
            continue
        parsed = col.parse(f"QuickTime {tag}", found[1])
        if parsed is not None:  # a wall clock, or an instant when written with "Z"
            col.add(_raw(source, parsed, _L))
    # The movie and track headers: UTC by the QuickTime spec (1904 epoch when unset).
    for tag, source in (("CreateDate", "quicktime:CreateDate"),
                        ("MediaCreateDate", "quicktime:MediaCreateDate"),
                        ("TrackCreateDate", "quicktime:TrackCreateDate")):
        found = _first(idx, tag, "quicktime", ("QuickTime", "Track1", "Track2"))
        if found is None:
            continue
        parsed = col.parse(f"QuickTime {tag}", found[1])
        if parsed is None:
            continue
        r = _raw(source, parsed, _U, note="stored as UTC")
        r.slack += ctx.duration  # written when the recording ends
        # Without an offset it may be a camera's local clock instead: ``_judge`` decides
        # (the camera tables and the library's evidence may change; the evidence stays).
        r.header = parsed.offset is None and not parsed.zulu
        col.add(r)
    found = _first(idx, "DateTimeOriginal", "matroska")  # Matroska/WebM "DateUTC"
    if found is not None:
        parsed = col.parse("Matroska DateUTC", found[1])
        if parsed is not None:
            col.add(_raw("matroska:DateTimeOriginal", parsed, _U, note="stored as UTC"))
    for tag, source, kind in (("DateTimeOriginal", "riff:DateTimeOriginal", "riff"),
                              ("DateCreated", "riff:DateCreated", "riff"),
                              ("DateTimeOriginal", "h264:DateTimeOriginal", "h264")):
        found = _first(idx, tag, kind)
        if found is None:
            continue
        parsed = col.parse(f"{kind.upper()} {tag}", found[1])
        if parsed is not None:
            col.add(_raw(source, parsed, _L))


def _position(idx: dict[str, list[tuple[str, Any]]]) -> tuple[float, float] | None:
    """Signed latitude/longitude: Composite and XMP are signed; the GPS group alone is not
    (its hemisphere is in GPSLatitudeRef), so it is used only with its Ref tags."""
    for kind in ("composite", "xmp", "quicktime"):
        lat, lon = _first(idx, "GPSLatitude", kind), _first(idx, "GPSLongitude", kind)
        if lat and lon:
            return _valid_position(lat[1], lon[1])
    lat, lon = _first(idx, "GPSLatitude", "gps"), _first(idx, "GPSLongitude", "gps")
    if lat and lon:
        lat_ref = (_text((_first(idx, "GPSLatitudeRef", "gps") or ("", None))[1]) or "").upper()
        lon_ref = (_text((_first(idx, "GPSLongitudeRef", "gps") or ("", None))[1]) or "").upper()
        pos = _valid_position(lat[1], lon[1])
        if pos is None:
            return None
        la, lo = pos
        la = -abs(la) if lat_ref.startswith("S") else la
        lo = -abs(lo) if lon_ref.startswith("W") else lo
        return la, lo
    return None


def _valid_position(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        la, lo = float(str(lat).split()[0]), float(str(lon).split()[0])
    except (ValueError, IndexError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo)) or (la == 0 and lo == 0):
        return None  # 0,0 is "no fix"
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return la, lo


# --- other sources --------------------------------------------------------------------------


def _name_candidate(col: _Collector, source: str, nd: NameDate | None, note: str) -> None:
    if nd is None:
        return
    # An OFFSET name states its wall clock and offset: read like a UTC source with an
    # offset (both known; "Z" gives the instant alone).
    parsed = _Parsed(nd.value, nd.precision, nd.offset)
    meaning = _L if nd.meaning is TimeMeaning.LOCAL else _U
    if nd.meaning is TimeMeaning.EPOCH_MS and nd.confidence <= 0.3:
        note += " (an epoch number: usually a download or app time)"
    col.add(_raw(source, parsed, meaning, trust=nd.confidence, note=note.strip()))


def _folder_parts(path: str, root: str | None) -> list[str]:
    if not root:
        return []
    rel = os.path.relpath(os.path.dirname(os.path.abspath(path)), os.path.abspath(root))
    if rel in (".", "") or rel.startswith(".."):
        return []
    return [p for p in rel.split(os.sep) if p]


def _sidecar_candidates(col: _Collector, sidecars: Sequence[str]) -> None:
    taken: tuple[str, datetime] | None = None  # the JSON that gave the Takeout candidate
    for car in sidecars:
        lower = car.lower()
        base = os.path.basename(car)
        if lower.endswith(".json"):
            info = read_takeout(car)
            if info is None:
                col.ctx.ignored.append(f"sidecar {base} (not a Takeout JSON)")
                continue
            if info.taken_utc is not None and taken is not None:
                if info.taken_utc != taken[1]:  # the first listed is the newer export's
                    col.ctx.ignored.append(
                        f"Takeout JSON {base} {info.taken_utc:%Y-%m-%d %H:%M:%S} UTC "
                        f"(disagrees with {taken[0]}, the newer export's format, which wins)")
            elif info.taken_utc is not None:
                taken = (base, info.taken_utc)
                col.add(_raw("sidecar:takeout", _Parsed(info.taken_utc, Precision.SECOND, 0),
                             _U, note=f"photoTakenTime from {base}"))
            if col.ctx.position is None and info.latitude is not None \
                    and info.longitude is not None:
                col.ctx.position = (info.latitude, info.longitude)
        elif lower.endswith(".xmp"):
            dates = read_xmp_dates(car)
            for tag in ("exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate",
                        "exif:DateTimeDigitized", "tiff:DateTime"):
                if tag not in dates:
                    continue
                parsed = col.parse(f"XMP sidecar {tag}", dates[tag])
                if parsed is None:
                    continue
                if tag == "photoshop:DateCreated":
                    parsed = _date_only_midnight(parsed)
                col.add(_raw("sidecar:xmp", parsed, _L, note=f"{tag} in {base}"))
                break


# --- cameras that write local time into QuickTime ------------------------------------------
#
# The QuickTime spec says movie and track header dates are UTC, and phones follow it. Many
# cameras do not know their zone and write their local clock there instead (exiftool's
# QuickTimeUTC documentation), so read as UTC their videos are off by the zone's offset:
# the commonest video complaint in the peers' trackers. The table ships the makers the
# evidence names; a person may add models in the settings; the library detects the rest.


@dataclass(frozen=True)
class LocalTimeCamera:
    """Cameras known to write their local clock into QuickTime header dates."""

    name: str  # words for the reason: "GoPro cameras"
    make: re.Pattern[str] | None  # matched against Make (search, case-insensitive)
    model: re.Pattern[str] | None  # or against Model
    evidence: str  # where it was shown (peers' issues, exiftool's documentation)

    def matches(self, make: str | None, model: str | None) -> bool:
        return bool((self.make and make and self.make.search(make))
                    or (self.model and model and self.model.search(model)))


QUICKTIME_LOCAL_CAMERAS: tuple[LocalTimeCamera, ...] = (
    LocalTimeCamera(
        "GoPro cameras", re.compile(r"\bgopro\b", re.I),
        re.compile(r"^\s*(?:HERO\d*|GoPro\b|MAX\b)", re.I),
        "GoPro firmware has no time zone, the clock is set to local time (gopro/labs#5); "
        "HERO11 videos shifted by the zone in immich (immich-app/immich#28059); a GoPro MP4's "
        "CreateDate equal to the local recording time (pulsejet/memories#1256)",
    ),
    LocalTimeCamera(
        "Nikon cameras", re.compile(r"\bnikon\b", re.I), re.compile(r"^\s*nikon\b", re.I),
        "Z 30 videos 8 hours ahead when read as UTC (immich-app/immich#13009, #13623), Z50II "
        "MOV times shifted by the offset (#17495), Nikon mirrorless MOV dates wrong (#18516); "
        "Nikon's own CreateDate in the MOV holds the local time (pulsejet/memories#1256)",
    ),
)
_HEADER_AGREE = 120.0  # seconds a header may be from a local clock and still "be" it


def _local_camera_reason(evidence: Evidence, options: DateOptions) -> str | None:
    """Words saying why this file's QuickTime headers are local time, if they are."""
    camera = evidence.camera
    if camera is not None:
        if camera in {m.strip().casefold() for m in options.quicktime_local_models}:
            return "this camera model is set to write local time into QuickTime"
        detected = options.detected_local_cameras.get(camera)
        if detected:
            return f"this camera writes local time into QuickTime: {detected}"
    for row in QUICKTIME_LOCAL_CAMERAS:
        if row.matches(evidence.make, evidence.model):
            return f"{row.name} write local time into QuickTime"
    return None


def _local_time_headers(raws: list[_Raw], evidence: Evidence, options: DateOptions) -> None:
    """Read QuickTime header dates as the camera's local clock when the camera is known to
    write it, or when the file itself shows it: the header equals a local wall clock the
    file states elsewhere (its name, a maker's note) to the second, not an offset apart."""
    headers = [r for r in raws if r.header and r.utc is not None]
    if not headers:
        return
    why = _local_camera_reason(evidence, options)
    if why is None:
        clocks = [r for r in raws if r.local_known and not r.utc_known and _fine(r)
                  and r.source not in _NO_DERIVE and not r.header]
        for h in headers:
            assert h.utc is not None
            same = [c for c in clocks if c.local is not None
                    and abs((c.local - h.utc).total_seconds()) <= max(c.slack, h.slack)]
            if same:
                c = max(same, key=lambda x: x.trust)
                other = "the local time in the file name" if c.source == "filename" else _label(c)
                why = f"it equals {other}, so this camera writes local time into QuickTime"
                break
    if why is None:
        return
    for h in headers:
        h.local, h.local_known = h.utc, True
        h.utc, h.utc_known = None, False
        h.note = "read as local time"
        h.camera_note = why


def detect_local_cameras(clips: Sequence[Clip], shots: Sequence[Shot],
                         home_zone: ZoneInfo) -> dict[str, str]:
    """Camera models whose videos' QuickTime header time is the local wall clock of the same
    camera's photos, seconds before or after (model -> the evidence, in words).

    A video votes "local" when its header, read as a wall clock, lies within two minutes
    (plus its length) of one of the camera's photos while read as UTC it is half an hour or
    more from all of them; it votes "UTC" the other way round. A camera is detected with at
    least one local vote and three times as many as UTC votes. Where the zone's offset is
    zero the two readings are the same moment and nobody votes.
    """
    by_camera: dict[str, list[datetime]] = {}
    for shot in shots:
        by_camera.setdefault(shot.camera, []).append(shot.local)
    for listed in by_camera.values():
        listed.sort()
    votes: dict[str, list[tuple[Clip, Shot | None, float]]] = {}
    against: dict[str, int] = {}
    shot_at = {(s.camera, s.local): s for s in shots}
    for clip in clips:
        times = by_camera.get(clip.camera)
        if not times:
            continue
        offset = _offset_at_utc(home_zone, clip.header)
        if offset == 0:
            continue
        reach = _HEADER_AGREE + clip.duration
        as_local = _nearest(times, clip.header)
        as_utc = _nearest(times, clip.header + timedelta(minutes=offset))
        d_local = abs((as_local - clip.header).total_seconds())
        d_utc = abs((as_utc - clip.header - timedelta(minutes=offset)).total_seconds())
        if d_local <= reach and d_utc >= 1800:
            votes.setdefault(clip.camera, []).append(
                (clip, shot_at.get((clip.camera, as_local)), (as_local - clip.header)
                 .total_seconds()))
        elif d_utc <= reach and d_local >= 1800:
            against[clip.camera] = against.get(clip.camera, 0) + 1
    detected: dict[str, str] = {}
    for camera, local_votes in votes.items():
        if len(local_votes) < 3 * against.get(camera, 0):
            continue
        clip, photo, gap = min(local_votes, key=lambda v: abs(v[2]))
        when = "before" if gap < 0 else "after"
        words = (f"{clip.name}'s QuickTime time {clip.header:%H:%M:%S} is the local time of "
                 f"{photo.name if photo else 'a photo'}, taken {abs(gap):.0f} s {when}")
        if len(local_votes) > 1:
            words += f" ({len(local_votes)} videos agree"
            words += f", {against[camera]} do not)" if against.get(camera) else ")"
        detected[camera] = words
    return detected


def _nearest(times: list[datetime], when: datetime) -> datetime:
    i = bisect.bisect_left(times, when)
    near = times[max(0, i - 1):i + 1]
    return min(near, key=lambda t: abs((t - when).total_seconds()))


@dataclass(frozen=True)
class Clip:
    """A video for ``detect_local_cameras``: its camera model and QuickTime header time."""

    camera: str
    header: datetime  # as written, no offset
    duration: float
    name: str


@dataclass(frozen=True)
class Shot:
    """A photo for ``detect_local_cameras``: its camera model and local wall-clock time."""

    camera: str
    local: datetime
    name: str


# --- zone from neighbours -------------------------------------------------------------------
#
# A camera without a zone setting, on a trip abroad: its photos carry the local wall clock
# but no offset, so the home zone gives them a wrong UTC instant (and a phone video, which
# knows the instant, a wrong wall clock). Files that record their offset (a phone's
# OffsetTimeOriginal, Apple's CreationDate, a GPS position) taken around the same time show
# the zone the trip was in.

NEIGHBOURS = "neighbours"  # the offset_source of a zone the neighbours showed
_ZONE_REACH = timedelta(hours=6)  # neighbours further away say nothing about this moment
_ZONE_NEAR = timedelta(hours=3)  # at least one neighbour this close
_NEIGHBOUR_CAP = 0.79  # a wall clock that rests on the neighbours' zone stays medium


@dataclass(frozen=True)
class ZoneAnchor:
    """A file that records its UTC offset: its instant, offset and name."""

    utc: datetime
    offset: int
    name: str
    camera: str | None = None

    @property
    def local(self) -> datetime:
        return self.utc + timedelta(minutes=self.offset)


@dataclass(frozen=True)
class ZoneQuestion:
    """A file whose offset is the home zone's guess: its instant if known, else its wall
    clock (a camera's local time), and the home zone's offset."""

    key: Hashable
    utc: datetime | None
    local: datetime | None
    home_offset: int


class ZoneAnchors:
    """Files that record their offset, sorted for ``hint_for`` (instants and wall clocks)."""

    def __init__(self, anchors: Sequence[ZoneAnchor]) -> None:
        self.by_utc = sorted(anchors, key=lambda a: a.utc)
        self.utcs = [a.utc for a in self.by_utc]
        self.by_local = sorted(anchors, key=lambda a: a.local)
        self.locals = [a.local for a in self.by_local]

    def hint_for(self, q: ZoneQuestion) -> ZoneHint | None:
        """The offset the neighbours show for ``q``: every recorded offset within six hours
        is the same, one is within three hours, and it is not the home zone's."""
        if q.utc is not None:
            when, keys, items = q.utc, self.utcs, self.by_utc
        elif q.local is not None:
            when, keys, items = q.local, self.locals, self.by_local
        else:
            return None
        lo = bisect.bisect_left(keys, when - _ZONE_REACH)
        hi = bisect.bisect_right(keys, when + _ZONE_REACH)
        near = items[lo:hi]
        if not near:
            return None
        offsets = {a.offset for a in near}
        if len(offsets) != 1:
            return None  # a zone change (a flight, a border): no guess
        offset = offsets.pop()
        if offset == q.home_offset:
            return None
        gaps = [(abs((k - when).total_seconds()), a) for k, a in zip(keys[lo:hi], near,
                                                                    strict=True)]
        closest_gap, closest = min(gaps, key=lambda g: g[0])
        if closest_gap > _ZONE_NEAR.total_seconds():
            return None
        minutes = round(closest_gap / 60)
        words = (f"the zone of its neighbours ({format_offset(offset)}, recorded by "
                 f"{closest.name} {minutes} min away"
                 + (f" and {len(near) - 1} more within 6 hours" if len(near) > 1 else "")
                 + ")")
        return ZoneHint(offset, words)


# --- time zones -----------------------------------------------------------------------------

_finder: Any = None
_finder_lock = threading.Lock()
_finder_failed = False


@lru_cache(maxsize=4096)
def _zone_name_at(lat: float, lon: float) -> str | None:
    """The IANA zone at a position (timezonefinder loads lazily: it takes a while)."""
    global _finder, _finder_failed
    if _finder is None:
        with _finder_lock:
            if _finder is None and not _finder_failed:
                try:
                    from timezonefinder import TimezoneFinder

                    _finder = TimezoneFinder()
                except Exception as exc:  # a missing or broken data package is not fatal
                    log.warning("timezonefinder is unavailable: %s", exc)
                    _finder_failed = True
    if _finder is None:
        return None
    try:
        name = _finder.timezone_at(lng=lon, lat=lat)
    except Exception:
        return None
    return name if isinstance(name, str) else None


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except Exception:
        return None


def _zone_at(position: tuple[float, float] | None) -> tuple[ZoneInfo, str] | None:
    if position is None:
        return None
    name = _zone_name_at(round(position[0], 3), round(position[1], 3))
    zone = _zone(name) if name else None
    return (zone, name) if zone is not None and name is not None else None


def _offset_at_utc(zone: ZoneInfo, utc: datetime) -> int:
    off = utc.replace(tzinfo=UTC).astimezone(zone).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def _offset_at_local(zone: ZoneInfo, local: datetime) -> int:
    off = local.replace(tzinfo=zone).utcoffset()
    return int(off.total_seconds() // 60) if off is not None else 0


def _zone_label(zone: ZoneInfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def _nearest_offset(diff: timedelta, slack: float) -> int | None:
    """``diff`` (local - utc) as a real UTC offset in minutes, if it is one within ``slack``."""
    seconds = diff.total_seconds()
    quarter = round(seconds / 900) * 15
    if quarter in _VALID_OFFSETS and abs(seconds - quarter * 60) <= slack:
        return quarter
    return None


# --- resolving offsets ----------------------------------------------------------------------

_NO_DERIVE = frozenset({"file:mtime", "inferred:sequence", "folder"})
_ANCHOR_REACH = 86400.0  # seconds within which another tag's offset still tells the zone


_FINE = frozenset({Precision.SUBSECOND, Precision.SECOND, Precision.MINUTE})


def _fine(r: _Raw) -> bool:
    return r.precision in _FINE


def _fallback_offset(ctx: _Context, *, utc: datetime | None = None,
                     local: datetime | None = None) -> tuple[int, str, str]:
    """(offset, offset_source, words) from the GPS position's zone, else the zone the
    file's neighbours show, else the home zone."""
    found = _zone_at(ctx.position)
    if found is not None:
        zone, name = found
        source, words = "gps-position", f"the time zone at the GPS position ({name})"
    elif ctx.hint is not None:
        return ctx.hint.offset, NEIGHBOURS, ctx.hint.words
    else:
        zone = ctx.options.home_zone
        source, words = "home-zone", f"the home zone ({_zone_label(zone)})"
    if utc is not None:
        return _offset_at_utc(zone, utc), source, words
    assert local is not None
    return _offset_at_local(zone, local), source, words


def _localize_instants(raws: list[_Raw], ctx: _Context) -> None:
    """Give UTC-only candidates a wall clock: from an offset stated for the same moment, from
    a local-clock source that differs by a real offset, else the GPS zone or home zone."""
    # An offset the file states for another moment of the same day still tells the zone the
    # device was set to (Voice Memos: a local ContentCreateDate beside a later UTC header).
    anchors = [r for r in raws if r.explicit_offset]
    locals_ = [r for r in raws if r.local_known and not r.utc_known and _fine(r)
               and r.source not in _NO_DERIVE]
    for r in raws:
        if r.local is not None or r.utc is None:
            continue
        utc = r.utc
        if not _fine(r):  # a UTC day: shifting it by an offset would only move the date
            r.local = utc
            continue
        offset: int | None = None
        how = ""
        near = []
        for a in anchors:
            assert a.utc is not None and a.offset is not None
            gap = abs((a.utc - utc).total_seconds())
            if gap <= _ANCHOR_REACH:  # the same moment first, then the most trusted
                near.append((gap > max(a.slack, r.slack), -a.trust, a.offset, a))
        if near:
            _, _, offset, a = min(near, key=lambda x: x[:3])
            r.offset_source = a.offset_source
            how = f"local time with the offset of {_label(a)}"
        if offset is None and r.source not in _NO_DERIVE:
            for loc in sorted(locals_, key=lambda x: -x.trust):
                assert loc.local is not None
                found = _nearest_offset(loc.local - utc, max(loc.slack, r.slack))
                if found is not None:
                    offset, r.offset_source = found, loc.source
                    how = f"offset from the difference to {_label(loc)}"
                    break
        if offset is None:
            offset, r.offset_source, words = _fallback_offset(ctx, utc=utc)
            how = f"shown in {words}"
        r.offset = offset
        r.local = utc + timedelta(minutes=offset)
        r.how = how
        r.note = "; ".join(x for x in (r.note, how) if x)


def _label(r: _Raw) -> str:
    return r.row.label


def _offset_for_local(w: _Raw, raws: list[_Raw], ctx: _Context) -> tuple[int, str, str]:
    """(offset, offset_source, words) for a winner read on a wall clock without an offset."""
    assert w.local is not None
    for a in sorted((r for r in raws if r.explicit_offset and r is not w), key=lambda a: -a.trust):
        assert a.local is not None and a.offset is not None and a.offset_source is not None
        if abs((a.local - w.local).total_seconds()) <= max(a.slack, w.slack):
            return a.offset, a.offset_source, f"offset from {_label(a)}"
    for g in raws:
        if g.source == "gps:GPSDateTime" and g.utc_known and g.utc is not None and _fine(g):
            found = _nearest_offset(w.local - g.utc, _GPS_CLOCK_SLACK)
            if found is not None:
                return found, "gps", "offset from the GPS time"
    for u in sorted(raws, key=lambda x: -x.trust):
        if (u is w or not u.utc_known or u.utc is None or u.source in _NO_DERIVE
                or u.source == "gps:GPSDateTime" or not _fine(u)):
            continue
        found = _nearest_offset(w.local - u.utc, max(u.slack, w.slack))
        if found is not None:
            return found, u.source, f"offset from the difference to {_label(u)}"
    offset, source, words = _fallback_offset(ctx, local=w.local)
    return offset, source, f"offset from {words}"


# --- comparing candidates -------------------------------------------------------------------

_SAME, _ZONE, _DIFFERENT = "same", "zone", "different"


def _compare(a: _Raw, b: _Raw) -> tuple[str, float]:
    """(relation, weight): the same moment; the same up to a time zone; or different."""
    coarse = max(a.precision, b.precision, key=lambda p: p.rank)
    if coarse.rank >= Precision.DAY.rank:
        assert a.local is not None and b.local is not None
        fmt = {Precision.DAY: "%Y%m%d", Precision.MONTH: "%Y%m", Precision.YEAR: "%Y"}[coarse]
        same = a.local.strftime(fmt) == b.local.strftime(fmt)
        if not same and a.utc is not None and b.utc is not None and a.utc_known and b.utc_known:
            same = a.utc.strftime(fmt) == b.utc.strftime(fmt)
        return (_SAME, 0.5) if same else (_DIFFERENT, 1.0)
    slack = max(a.slack, b.slack, 60.0 if coarse is Precision.MINUTE else 0.0)
    weight = 1.0 if min(a.precision.rank, b.precision.rank) == coarse.rank else 0.5
    if a.utc_known and b.utc_known and a.utc is not None and b.utc is not None:
        diff = a.utc - b.utc
        if abs(diff.total_seconds()) <= slack:
            return _SAME, weight
        if _nearest_offset(diff, slack) is not None:
            return _ZONE, 0.5 * weight
        return _DIFFERENT, 1.0
    if a.local_known and b.local_known and a.local is not None and b.local is not None:
        diff = a.local - b.local
        if abs(diff.total_seconds()) <= slack:
            return _SAME, weight
        if _nearest_offset(diff, slack) is not None:
            return _ZONE, 0.5 * weight
        return _DIFFERENT, 1.0
    # One knows the wall clock, the other the instant: a real offset apart is agreement.
    loc, ins = (a, b) if a.local_known else (b, a)
    if loc.local is None or ins.utc is None:
        return _DIFFERENT, 1.0
    if _nearest_offset(loc.local - ins.utc, slack) is not None:
        return _SAME, weight
    return _DIFFERENT, 1.0


def _names(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return ", ".join(labels[:-1]) + " and " + labels[-1]


# --- the verdict ----------------------------------------------------------------------------


def _now(options: DateOptions) -> tuple[datetime, datetime]:
    """(now as naive home-zone wall clock, now as naive UTC)."""
    now = options.now
    if now is None:
        aware = datetime.now(UTC)
    elif now.tzinfo is None:
        aware = now.replace(tzinfo=options.home_zone)
    else:
        aware = now
    return (aware.astimezone(options.home_zone).replace(tzinfo=None),
            aware.astimezone(UTC).replace(tzinfo=None))


def _candidate(r: _Raw) -> DateCandidate:
    assert r.local is not None
    return DateCandidate(
        source=r.source, value=r.local, precision=r.precision,
        utc_offset=r.offset, offset_source=r.offset_source if r.offset is not None else None,
        utc=r.utc if r.offset is not None or r.utc_known else None,
        confidence=round(r.trust, 3), note=r.note, detail=r.detail or None,
    )


def _none_verdict(reason: str, candidates: tuple[DateCandidate, ...] = ()) -> DateVerdict:
    return DateVerdict(None, None, None, None, 0.0, "none", None, reason, None, candidates)


def date_file(path: str, metadata: Mapping[str, Any], mtime: float | None, *,
              root: str | None = None, sidecars: Sequence[str] = (),
              options: DateOptions) -> DateVerdict:
    """The capture time of the file at ``path`` with its confidence and the reason.

    ``metadata`` is exiftool's ``-G1`` dict for the file; ``root`` the scanned source root
    (the folder names between it and the file are read; without it folders are not used);
    ``sidecars`` absolute paths of its paired ``.json``/``.xmp`` files. Never raises for bad
    input: a source that cannot be read is skipped and named in the reason.
    """
    return date_evidence(path, metadata, mtime, root=root, sidecars=sidecars,
                         options=options)[1]


def date_evidence(path: str, metadata: Mapping[str, Any], mtime: float | None, *,
                  root: str | None = None, sidecars: Sequence[str] = (),
                  options: DateOptions) -> tuple[Evidence | None, DateVerdict]:
    """``date_file`` that also returns the evidence it judged (None when it could not be
    gathered), for storing: ``judge(evidence, new_options)`` re-dates without the file."""
    try:
        evidence = collect(path, metadata, mtime, root=root, sidecars=sidecars,
                           options=options)
    except Exception as exc:  # the promise: a bad file is a row with a reason, not a crash
        log.exception("collecting dates failed for %r", path)
        return None, _none_verdict(f"the dates could not be read ({type(exc).__name__}: {exc})")
    return evidence, judge(evidence, options)


# --- evidence: what a file offers, before any zone is applied -------------------------------

EVIDENCE_VERSION = 1  # bump when collecting changes: stored evidence is then gathered again


@dataclass
class Evidence:
    """Every date a file offers, as read, before any time zone is applied.

    It is what ``judge`` needs and nothing that depends on the settings (the home zone, the
    cameras known to write local time, the neighbours' zone), so a library stores it per
    file and re-dates from it without reading the file again.
    """

    raws: list[_Raw]
    position: tuple[float, float] | None = None
    duration: float = 0.0
    ignored: list[str] = field(default_factory=list)
    make: str | None = None
    model: str | None = None
    version: int = EVIDENCE_VERSION

    @property
    def camera(self) -> str | None:
        """The model, the key of per-camera knowledge (user list, table, detection)."""
        return self.model.strip().casefold() if self.model and self.model.strip() else None

    def header(self) -> datetime | None:
        """The QuickTime movie header time as written (no offset), for camera detection."""
        for r in self.raws:
            if r.header and r.source == "quicktime:CreateDate" and r.utc is not None:
                return r.utc
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.version,
            "raws": [_raw_json(r) for r in self.raws],
            "position": list(self.position) if self.position else None,
            "duration": self.duration,
            "ignored": self.ignored,
            "make": self.make,
            "model": self.model,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        """The stored form back (``ValueError``/``KeyError`` for anything else)."""
        position = data.get("position")
        return cls(
            raws=[_raw_from_json(r) for r in data.get("raws") or ()],
            position=(float(position[0]), float(position[1])) if position else None,
            duration=float(data.get("duration") or 0.0),
            ignored=[str(x) for x in data.get("ignored") or ()],
            make=data.get("make"),
            model=data.get("model"),
            version=int(data.get("v") or 0),
        )


# Stored per candidate: the fields a fresh _Raw carries before judging, under short keys.
_RAW_FIELDS = (("s", "source"), ("p", "precision"), ("t", "trust"), ("l", "local"),
               ("u", "utc"), ("o", "offset"), ("os", "offset_source"),
               ("x", "explicit_offset"), ("lk", "local_known"), ("uk", "utc_known"),
               ("n", "note"), ("d", "detail"), ("sl", "slack"), ("h", "header"))


def _raw_json(r: _Raw) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in _RAW_FIELDS:
        value = getattr(r, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Precision):
            value = value.value
        if value not in (None, "", False):
            out[key] = value
    return out


def _raw_from_json(data: Mapping[str, Any]) -> _Raw:
    source = str(data["s"])
    if source not in _TRUST:
        raise ValueError(f"unknown date source {source!r}")
    local, utc = data.get("l"), data.get("u")
    return _Raw(
        source=source, precision=Precision(data["p"]), trust=float(data["t"]),
        local=datetime.fromisoformat(local) if local else None,
        utc=datetime.fromisoformat(utc) if utc else None,
        offset=data.get("o"), offset_source=data.get("os"),
        explicit_offset=bool(data.get("x")), local_known=bool(data.get("lk")),
        utc_known=bool(data.get("uk")), note=str(data.get("n") or ""),
        detail=str(data.get("d") or ""), slack=float(data.get("sl", 2.0)),
        header=bool(data.get("h")),
    )


def collect(path: str, metadata: Mapping[str, Any], mtime: float | None, *,
            root: str | None = None, sidecars: Sequence[str] = (),
            options: DateOptions) -> Evidence:
    """Every date the file offers (metadata, sidecars, name, folders, mtime), sentinels
    dropped and named. ``options`` only bounds the future."""
    now_local, now_utc = _now(options)
    ctx = _Context(options, now_local, now_utc)
    metadata = metadata if isinstance(metadata, Mapping) else {}
    idx = _index(metadata)
    ctx.position = _position(idx)
    try:
        ctx.duration = max(0.0, float(_text((_first(idx, "Duration", "quicktime")
                                             or ("", 0))[1]) or 0))
    except ValueError:
        ctx.duration = 0.0

    col = _Collector(ctx)
    _exif_candidates(col, idx)
    _video_candidates(col, idx)
    _xmp_candidates(col, idx)
    _iptc_candidates(col, idx)
    _gps_candidate(col, idx)
    _sidecar_candidates(col, sidecars)
    name = os.path.basename(path)
    _name_candidate(col, "filename", parse_filename(name, now=now_local), "")
    parts = _folder_parts(path, root)
    if parts:
        stem = os.path.splitext(name)[0]
        _name_candidate(col, "folder", parse_folder(parts, name=stem, now=now_local),
                        "/".join(parts))
    if mtime is not None:
        try:
            when = datetime(1970, 1, 1) + timedelta(seconds=float(mtime))
        except (OverflowError, ValueError, TypeError):
            when = None
        if when is not None:
            col.add(_raw("file:mtime", _Parsed(when, Precision.SECOND, None), _U))
    return Evidence(col.raws, ctx.position, ctx.duration, list(ctx.ignored),
                    _tag_text(idx, "Make"), _model(idx))


def _tag_text(idx: dict[str, list[tuple[str, Any]]], tag: str) -> str | None:
    for _group, value in idx.get(tag, ()):
        text = _text(value)
        if text:
            return text
    return None


@dataclass(frozen=True)
class ZoneHint:
    """The offset a file's neighbours in time recorded (see ``zone_hints``), and in words."""

    offset: int
    words: str


def judge(evidence: Evidence, options: DateOptions, *,
          hint: ZoneHint | None = None) -> DateVerdict:
    """The verdict from stored evidence: clocks and offsets, sentinels, the winner, the
    confidence and the reason. ``hint`` is the zone the file's neighbours show; it comes
    after the file's own offsets and its GPS position, before the home zone."""
    try:
        return _judge(evidence, options, hint)
    except Exception as exc:  # a bad stored row is a reason, not a crashed re-date
        log.exception("judging dates failed")
        return _none_verdict(f"the dates could not be judged ({type(exc).__name__}: {exc})")


def _judge(evidence: Evidence, options: DateOptions, hint: ZoneHint | None) -> DateVerdict:
    now_local, now_utc = _now(options)
    ctx = _Context(options, now_local, now_utc, evidence.position, evidence.duration,
                   list(evidence.ignored), hint)
    raws = [r.copy() for r in evidence.raws]  # judging fills them in; the evidence stays
    _local_time_headers(raws, evidence, options)
    _localize_instants(raws, ctx)
    _confirm_suspects(raws, ctx)
    raws = [r for r in raws if r.suspect is None and r.local is not None]
    candidates = tuple(_candidate(r) for r in _ranked(raws))
    if not raws:
        reason = "no date found in the metadata, the name, the folders or the file times"
        return _none_verdict(_with_ignored(reason, ctx), candidates)
    return _verdict(_ranked(raws)[0], raws, ctx, candidates)


def _ranked(raws: list[_Raw]) -> list[_Raw]:
    return sorted(raws, key=lambda r: (-r.trust, _ORDER[r.source]))


def _confirm_suspects(raws: list[_Raw], ctx: _Context) -> None:
    """A factory-clock value stays only when an independent source confirms it."""
    for r in raws:
        clock = r.local if r.local_known else r.utc
        if _fine(r) and clock is not None:
            r.suspect = _factory_clock(clock)
    confirmed = {id(r) for r in raws if r.suspect is not None and any(
        o.family != r.family and o.source != "file:mtime" and o.local is not None
        and _compare(r, o)[0] == _SAME for o in raws)}
    for r in raws:
        if r.suspect is None:
            continue
        if id(r) in confirmed:
            r.suspect = None
            r.note = "; ".join(x for x in (r.note, "confirmed despite a reset-clock look") if x)
        else:
            assert r.local is not None
            ctx.ignored.append(f"{_label(r)} {_show(r.local, r.precision)} ({r.suspect})")


def _with_ignored(reason: str, ctx: _Context) -> str:
    if ctx.ignored:
        reason += "; ignored " + "; ".join(dict.fromkeys(ctx.ignored))
    return reason


def _verdict(w: _Raw, raws: list[_Raw], ctx: _Context,
             candidates: tuple[DateCandidate, ...]) -> DateVerdict:
    assert w.local is not None
    confidence = w.trust
    agree: list[str] = []
    zone_only: list[str] = []
    disagree: list[str] = []
    families: dict[str, list[_Raw]] = {}
    for r in raws:
        if r is not w and r.family != w.family:
            families.setdefault(r.family, []).append(r)
    for members in families.values():
        relations = [(r, *_compare(w, r)) for r in members]
        agreeing = [(r, rel, wt) for r, rel, wt in relations if rel != _DIFFERENT]
        if agreeing:
            r, rel, weight = max(agreeing, key=lambda x: x[0].trust * x[2])
            confidence += (1 - confidence) * _AGREE_GAIN * r.trust * weight
            (zone_only if rel == _ZONE else agree).append(_label(r))
            continue
        r = max(members, key=lambda x: x.row.contradicts * x.trust)
        if r.row.contradicts > 0:
            confidence *= 1 - r.row.contradicts * r.trust
            assert r.local is not None
            disagree.append(f"{_label(r)} disagrees ({_show(r.local, r.precision)})")

    # A day-precision winner borrows the time of day from a finer source on that day.
    taken_at = w.local
    borrowed = ""
    clock = w  # the candidate whose time of day taken_at shows
    if w.precision is Precision.DAY:
        finer = [r for r in _ranked(raws) if r is not w and _fine(r) and r.local is not None
                 and r.local.date() == w.local.date()]
        if finer:
            clock = finer[0]
            assert clock.local is not None
            taken_at = clock.local
            borrowed = f"time of day from {_label(clock)}"

    if w.precision in _VERDICT_CAP:
        confidence = min(confidence, _VERDICT_CAP[w.precision])
    if w.source == "file:mtime":
        confidence = min(confidence, _MTIME_CAP)
    confidence = round(max(0.05, min(confidence, 0.99)), 3)

    # The offset: the winner's own, or the best other knowledge, saying which.
    offset: int | None = None
    offset_source: str | None = None
    utc: datetime | None = None
    how = ""
    if _fine(clock):
        if clock.offset is not None:
            offset, offset_source = clock.offset, clock.offset_source
            how = "with its offset" if clock.explicit_offset and clock.local_known else clock.how
        else:
            offset, offset_source, how = _offset_for_local(clock, raws, ctx)
        utc = taken_at - timedelta(minutes=offset)
        if clock is not w:
            how = ""  # the borrowed clock's offset is a detail of a guess
    if offset_source == NEIGHBOURS and not clock.local_known:
        # The wall clock itself rests on the neighbours' zone: a good guess, not a fact.
        confidence = min(confidence, _NEIGHBOUR_CAP)

    label = _describe(w)
    parts = [label + (f" {how}" if how.startswith("with ") else "")]
    if how and not how.startswith("with "):
        parts.append(how)
    if borrowed:
        parts.append(borrowed)
        agree = [a for a in agree if a != _label(clock)]
    if agree:
        parts.append(f"{_names(agree)} {'agrees' if len(agree) == 1 else 'agree'}")
    if zone_only:
        verb = "agrees" if len(zone_only) == 1 else "agree"
        parts.append(f"{_names(zone_only)} {verb} up to the time zone")
    parts.extend(disagree)
    if not agree and not zone_only and not disagree and len(raws) == 1:
        parts.append("no other date found")
    reason = _with_ignored("; ".join(parts), ctx)
    return DateVerdict(
        taken_at=taken_at, utc_offset=offset, offset_source=offset_source,
        taken_at_utc=utc, confidence=confidence, level=level_for(confidence),
        source=w.source, reason=reason, precision=w.precision, candidates=candidates,
        instant_only=not clock.local_known,
    )


def _describe(w: _Raw) -> str:
    label = _label(w)
    if w.source == "filename":
        label = "the file name"
        if w.precision.rank >= Precision.DAY.rank:
            label += " (a date only)"
    elif w.source == "folder":
        label = f"the folder name ({w.note})" if w.note else "the folder name"
    elif w.source == "file:mtime":
        label = "only the file's modification time"
    if w.utc_known and not w.local_known and w.source != "file:mtime":
        label += " (UTC)"
    elif w.camera_note:
        label += f" (local time: {w.camera_note})"
    return label


# --- sequence inference ---------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceItem:
    """One file for ``infer_sequences``: its verdict and what places it in a sequence."""

    key: Hashable
    folder: str
    camera: str | None
    name: str
    verdict: DateVerdict


_COUNTER_RE = re.compile(r"^(?P<prefix>.*?)(?P<n>\d{3,8})$")
_MAX_GAP = 10  # counters apart on either side
_MAX_SPAN = timedelta(days=1)  # neighbours' dates apart


def _counter(name: str) -> tuple[str, int, int] | None:
    """IMG_0101.JPG -> ("img_", 101, 4): the prefix, counter and its width."""
    stem = strip_copy_suffix(os.path.splitext(name)[0])
    m = _COUNTER_RE.match(stem)
    if m is None:
        return None
    return m["prefix"].casefold(), int(m["n"]), len(m["n"])


def _dated(v: DateVerdict) -> bool:
    return (v.taken_at is not None and v.source not in (None, "file:mtime", "folder",
                                                         "inferred:sequence")
            and v.confidence >= 0.5 and v.precision is not None
            and v.precision.rank <= Precision.MINUTE.rank)


def _undated(v: DateVerdict) -> bool:
    return v.taken_at is None or v.source in ("file:mtime", "folder")


def infer_sequences(items: Sequence[SequenceItem],
                    options: DateOptions) -> dict[Hashable, DateVerdict]:
    """Date undated files from dated neighbours of the same camera sequence.

    IMG_0101 without a date between IMG_0100 and IMG_0102 (same folder, same camera, counters
    at most 10 apart, neighbours' dates at most a day apart and in counter order) gets the
    interpolated time at low/medium confidence. Returns only the verdicts that changed.
    """
    groups: dict[tuple[str, str, int], list[tuple[int, SequenceItem]]] = {}
    for item in items:
        parsed = _counter(item.name)
        if parsed is not None:
            prefix, n, width = parsed
            groups.setdefault((item.folder, prefix, width), []).append((n, item))
    changed: dict[Hashable, DateVerdict] = {}
    for members in groups.values():
        members.sort(key=lambda x: x[0])
        dated = [(n, it) for n, it in members if _dated(it.verdict)]
        if not dated:
            continue
        for n, item in members:
            if not _undated(item.verdict):
                continue
            before = [(m, it) for m, it in dated if m < n and _same_camera(it, item)]
            after = [(m, it) for m, it in dated if m > n and _same_camera(it, item)]
            if not before or not after:
                continue
            (n0, lo), (n1, hi) = before[-1], after[0]
            if n - n0 > _MAX_GAP or n1 - n > _MAX_GAP:
                continue
            if lo.camera and hi.camera and lo.camera != hi.camera:
                continue
            verdict = _interpolate(item, n, (n0, lo), (n1, hi), options)
            if verdict is not None:
                changed[item.key] = verdict
    return changed


def _same_camera(a: SequenceItem, b: SequenceItem) -> bool:
    return a.camera is None or b.camera is None or a.camera == b.camera


def _interpolate(item: SequenceItem, n: int, low: tuple[int, SequenceItem],
                 high: tuple[int, SequenceItem], options: DateOptions) -> DateVerdict | None:
    (n0, lo), (n1, hi) = low, high
    a, b = lo.verdict, hi.verdict
    assert a.taken_at is not None and b.taken_at is not None
    # Interpolate on the instant when both know it (a DST change between them), else local.
    same_offset = a.utc_offset == b.utc_offset
    offset = a.utc_offset if same_offset else None
    if a.taken_at_utc is not None and b.taken_at_utc is not None:
        t0, t1 = a.taken_at_utc, b.taken_at_utc
        if not same_offset:  # a zone change between them: the nearer neighbour's offset
            offset = b.utc_offset if n - n0 > n1 - n else a.utc_offset
    else:
        t0, t1 = a.taken_at, b.taken_at
    span = t1 - t0
    if span < timedelta(0) or span > _MAX_SPAN:
        return None
    at = (t0 + span * ((n - n0) / (n1 - n0))).replace(microsecond=0)
    utc: datetime | None
    if a.taken_at_utc is not None and b.taken_at_utc is not None:
        utc, local = at, at + timedelta(minutes=offset or 0)
    else:
        local = at
        utc = at - timedelta(minutes=offset) if offset is not None else None
    offset_source = (a.offset_source if offset == a.utc_offset else b.offset_source) \
        if offset is not None else None
    if offset is None:  # neighbours on different offsets and no instants: the home zone
        offset, offset_source = _offset_at_local(options.home_zone, local), "home-zone"
        utc = local - timedelta(minutes=offset)
    if span <= timedelta(minutes=10):
        confidence, precision = 0.55, Precision.MINUTE
    elif span <= timedelta(hours=1):
        confidence, precision = 0.5, Precision.MINUTE
    else:
        confidence, precision = 0.4, Precision.DAY
    confidence = min(confidence, a.confidence, b.confidence)
    reason = (f"between {lo.name} ({a.taken_at:%Y-%m-%d %H:%M:%S}) and {hi.name} "
              f"({b.taken_at:%Y-%m-%d %H:%M:%S}) in the same camera sequence")
    old = item.verdict
    if old.taken_at is not None:
        reason += f"; replaces {old.source} ({old.taken_at:%Y-%m-%d %H:%M:%S})"
    cand = DateCandidate(
        source="inferred:sequence", value=local, precision=precision, utc_offset=offset,
        offset_source=offset_source, utc=utc,
        confidence=confidence, note=f"between {lo.name} and {hi.name}",
    )
    return replace(
        old, taken_at=local, utc_offset=offset, offset_source=offset_source,
        taken_at_utc=utc, confidence=confidence, level=level_for(confidence),
        source="inferred:sequence", reason=reason,
        precision=precision, candidates=(cand, *old.candidates),
    )
