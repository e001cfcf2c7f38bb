"""The trust tables: how far each date source is believed, and the values no clock means.

``TRUST_TABLE`` ranks every source a date can come from (the most trusted wins, never the
earliest) and says how it is read; ``FACTORY_CLOCKS`` lists the values cameras fall back
to after a reset. A new source is one row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from mediafix.media.values import Precision, TimeMeaning

__all__ = [
    "AGREE_GAIN",
    "FACTORY_CLOCKS",
    "MTIME_CAP",
    "NO_DERIVE",
    "PRECISION_CAP",
    "TRUST",
    "TRUST_ORDER",
    "TRUST_TABLE",
    "VERDICT_CAP",
    "FactoryClock",
    "SourceTrust",
    "factory_clock",
    "impossible",
]


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
TRUST = {row.source: row for row in TRUST_TABLE}
TRUST_ORDER = {row.source: i for i, row in enumerate(TRUST_TABLE)}

# What a source can know at best, however trusted: a day is not a moment.
PRECISION_CAP = {
    Precision.SUBSECOND: 1.0,
    Precision.SECOND: 1.0,
    Precision.MINUTE: 0.9,
    Precision.DAY: 0.55,
    Precision.MONTH: 0.4,
    Precision.YEAR: 0.3,
}
# Caps on the final confidence, whatever agrees: a day-only date stays below review level.
VERDICT_CAP = {Precision.DAY: 0.58, Precision.MONTH: 0.42, Precision.YEAR: 0.32}
MTIME_CAP = 0.35  # mtime alone is never above low
AGREE_GAIN = 0.4  # share of the remaining doubt an agreeing source removes (times its trust)


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
    FactoryClock(
        datetime(2004, 1, 1), timedelta(minutes=10), "a reset camera clock (2004-01-01 00:00)"
    ),
    FactoryClock(
        datetime(2005, 1, 1), timedelta(minutes=10), "a reset camera clock (2005-01-01 00:00)"
    ),
    FactoryClock(datetime(2010, 1, 1), timedelta(minutes=10), "a reset clock (2010-01-01 00:00)"),
    FactoryClock(datetime(2015, 1, 1), timedelta(minutes=10), "a reset clock (2015-01-01 00:00)"),
    FactoryClock(
        datetime(2016, 1, 1),
        timedelta(minutes=10),
        "a reset action-camera clock (2016-01-01 00:00)",
    ),
)

_MIN_DATE = datetime(1826, 1, 1)  # the oldest surviving photograph
_FUTURE_SLACK = timedelta(days=1)
# Sources whose clock never tells another's offset: a copy time, a guess, a folder's day.
NO_DERIVE = frozenset({"file:mtime", "inferred:sequence", "folder"})


def impossible(
    value: datetime, utc: datetime | None, now_local: datetime, now_utc: datetime
) -> str | None:
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


def factory_clock(value: datetime) -> str | None:
    for clock in FACTORY_CLOCKS:
        if clock.start <= value < clock.start + clock.window:
            return clock.note
    return None
