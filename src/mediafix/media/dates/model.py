"""The date engine's values: candidates, verdicts, options, and the context of one judgement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mediafix.media.values import Precision, format_offset, iso

__all__ = [
    "Context",
    "DateCandidate",
    "DateOptions",
    "DateVerdict",
    "ZoneHint",
    "level_for",
    "none_verdict",
    "now_of",
    "person_verdict",
]


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
            "utc": iso(self.utc, utc=True, seconds=False),
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
            "taken_at": iso(self.taken_at),
            "utc_offset": format_offset(self.utc_offset),
            "taken_at_utc": iso(self.taken_at_utc, utc=True),
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


@dataclass(frozen=True)
class ZoneHint:
    """The offset a file's neighbours in time recorded (see ``zone_hints``), and in words."""

    offset: int
    words: str


@dataclass
class Context:
    """What one file's judgement works with besides its candidates."""

    options: DateOptions
    now_local: datetime
    now_utc: datetime
    position: tuple[float, float] | None = None
    duration: float = 0.0
    ignored: list[str] = field(default_factory=list)
    hint: ZoneHint | None = None  # the offset the file's neighbours show, if any


def now_of(options: DateOptions) -> tuple[datetime, datetime]:
    """(now as naive home-zone wall clock, now as naive UTC)."""
    now = options.now
    if now is None:
        aware = datetime.now(UTC)
    elif now.tzinfo is None:
        aware = now.replace(tzinfo=options.home_zone)
    else:
        aware = now
    return (
        aware.astimezone(options.home_zone).replace(tzinfo=None),
        aware.astimezone(UTC).replace(tzinfo=None),
    )


def person_verdict(
    taken_at: datetime,
    utc_offset: int | None,
    offset_source: str | None,
    precision: str,
    reason: str,
) -> DateVerdict:
    """A date a person gave: sure (1.0, high), source "user"; its instant when the offset is
    known (and only then where the offset came from)."""
    return DateVerdict(
        taken_at=taken_at,
        utc_offset=utc_offset,
        offset_source=offset_source if utc_offset is not None else None,
        taken_at_utc=taken_at - timedelta(minutes=utc_offset) if utc_offset is not None else None,
        confidence=1.0,
        level="high",
        source="user",
        reason=reason,
        precision=Precision(precision),
        candidates=(),
    )


def none_verdict(reason: str, candidates: tuple[DateCandidate, ...] = ()) -> DateVerdict:
    return DateVerdict(None, None, None, None, 0.0, "none", None, reason, None, candidates)
