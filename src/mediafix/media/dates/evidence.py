"""Evidence: every date a file offers, as read, before any time zone is applied.

A candidate while the engine works on it is a ``Raw`` (its wall clock or instant may still
be unknown); ``Evidence`` is a file's raws and what else judging needs (GPS position,
duration, camera), storable as JSON so a library re-dates without reading its files again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mediafix.media.dates.parsing import Parsed
from mediafix.media.dates.trust import PRECISION_CAP, TRUST, SourceTrust
from mediafix.media.values import Precision, TimeMeaning

__all__ = [
    "EVIDENCE_VERSION",
    "FINE",
    "Evidence",
    "Raw",
    "fine",
    "label_of",
    "make_raw",
]


@dataclass
class Raw:
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
        return TRUST[self.source]

    def copy(self) -> Raw:
        """A shallow copy (every field is a value), faster than ``dataclasses.replace``."""
        twin = object.__new__(Raw)
        twin.__dict__.update(self.__dict__)
        return twin

    @property
    def family(self) -> str:
        return self.row.family


def make_raw(
    source: str,
    parsed: Parsed,
    meaning: TimeMeaning,
    *,
    trust: float | None = None,
    offset_source: str | None = None,
    note: str = "",
    detail: str = "",
) -> Raw:
    """A working candidate from a parsed value read on ``meaning``'s clock."""
    row = TRUST[source]
    base = row.trust if trust is None else min(trust, row.trust)
    r = Raw(
        source,
        parsed.precision,
        min(base, PRECISION_CAP[parsed.precision]),
        note=note,
        slack=row.slack,
        detail=detail,
    )
    if parsed.zulu:
        meaning = TimeMeaning.UTC
    if meaning is TimeMeaning.LOCAL:
        r.local, r.local_known = parsed.value, True
        if parsed.offset is not None:
            r.offset, r.offset_source, r.explicit_offset = (
                parsed.offset,
                offset_source or source,
                True,
            )
            r.utc, r.utc_known = parsed.value - timedelta(minutes=parsed.offset), True
    else:
        if parsed.offset is not None:  # a UTC source that states an offset: both known
            r.utc = parsed.value - timedelta(minutes=parsed.offset)
            if parsed.offset != 0:
                r.local, r.local_known = parsed.value, True
                r.offset, r.offset_source, r.explicit_offset = (
                    parsed.offset,
                    offset_source or source,
                    True,
                )
        else:
            r.utc = parsed.value
        r.utc_known = True
    return r


FINE = frozenset({Precision.SUBSECOND, Precision.SECOND, Precision.MINUTE})


def fine(r: Raw) -> bool:
    return r.precision in FINE


def label_of(r: Raw) -> str:
    return r.row.label


EVIDENCE_VERSION = 1  # bump when collecting changes: stored evidence is then gathered again


@dataclass
class Evidence:
    """Every date a file offers, as read, before any time zone is applied.

    It is what ``judge`` needs and nothing that depends on the settings (the home zone, the
    cameras known to write local time, the neighbours' zone), so a library stores it per
    file and re-dates from it without reading the file again.
    """

    raws: list[Raw]
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
            "raws": [raw_json(r) for r in self.raws],
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
            raws=[raw_from_json(r) for r in data.get("raws") or ()],
            position=(float(position[0]), float(position[1])) if position else None,
            duration=float(data.get("duration") or 0.0),
            ignored=[str(x) for x in data.get("ignored") or ()],
            make=data.get("make"),
            model=data.get("model"),
            version=int(data.get("v") or 0),
        )


# Stored per candidate: the fields a fresh Raw carries before judging, under short keys.
RAW_FIELDS = (
    ("s", "source"),
    ("p", "precision"),
    ("t", "trust"),
    ("l", "local"),
    ("u", "utc"),
    ("o", "offset"),
    ("os", "offset_source"),
    ("x", "explicit_offset"),
    ("lk", "local_known"),
    ("uk", "utc_known"),
    ("n", "note"),
    ("d", "detail"),
    ("sl", "slack"),
    ("h", "header"),
)


def raw_json(r: Raw) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in RAW_FIELDS:
        value = getattr(r, name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Precision):
            value = value.value
        if value not in (None, "", False):
            out[key] = value
    return out


def raw_from_json(data: Mapping[str, Any]) -> Raw:
    source = str(data["s"])
    if source not in TRUST:
        raise ValueError(f"unknown date source {source!r}")
    local, utc = data.get("l"), data.get("u")
    return Raw(
        source=source,
        precision=Precision(data["p"]),
        trust=float(data["t"]),
        local=datetime.fromisoformat(local) if local else None,
        utc=datetime.fromisoformat(utc) if utc else None,
        offset=data.get("o"),
        offset_source=data.get("os"),
        explicit_offset=bool(data.get("x")),
        local_known=bool(data.get("lk")),
        utc_known=bool(data.get("uk")),
        note=str(data.get("n") or ""),
        detail=str(data.get("d") or ""),
        slack=float(data.get("sl", 2.0)),
        header=bool(data.get("h")),
    )
