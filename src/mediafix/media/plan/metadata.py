"""What is written into each output file: the chosen date where its format keeps it, the
other capture dates removed, and the tags.

Dates other programs would read instead (XMP ``CreateDate``/``DateTimeOriginal``/
``DateTimeDigitized``/``photoshop:DateCreated``, IPTC dates, ``Keys:CreationDate``) are
removed from the output or rewritten to the date written, in the file and in its copied XMP
sidecar (``PlanItem.sidecar_write``), so Immich or PhotoPrism file it under that date. A
coarse date is written at 12:00:00 on the first day of its period, with the precision in XMP
``photoshop:DateCreated``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mediafix.media.plan.model import IPTC_FORMATS, PlanInput, WriteMode
from mediafix.media.plan.naming import Naming, naming_for
from mediafix.media.values import format_offset

__all__ = ["When", "metadata_to_write", "sidecar_write", "when_of"]

# Capture dates other programs read (Immich, PhotoPrism, digiKam...): in the output they are
# removed unless written with the chosen date, so no older date can win over it.
_XMP_DATES = (
    "XMP-xmp:CreateDate",
    "XMP-exif:DateTimeOriginal",
    "XMP-exif:DateTimeDigitized",
    "XMP-photoshop:DateCreated",
)
_IPTC_DATES = (
    "IPTC:DateCreated",
    "IPTC:TimeCreated",
    "IPTC:DigitalCreationDate",
    "IPTC:DigitalCreationTime",
)
_REMOVE: tuple[str, ...] = ()  # exiftool ``-TAG=``: apply checks it reads back absent
_NO_XMP_DATES = dict.fromkeys(_XMP_DATES, _REMOVE)
_NO_IPTC_DATES = dict.fromkeys(_IPTC_DATES, _REMOVE)


@dataclass(frozen=True, slots=True)
class When:
    """A capture time as the plan uses it (one per planned unit: slotted)."""

    local: datetime  # naive wall clock
    offset: int | None  # minutes east of UTC
    utc: datetime | None  # naive UTC
    precision: str | None
    naming: Naming = field(init=False, repr=False, compare=False)
    fine: bool = field(init=False, repr=False, compare=False)  # second, minute, sub-second

    def __post_init__(self) -> None:
        # Set once: a plan asks these of every file several times.
        naming = naming_for(self.precision)
        object.__setattr__(self, "naming", naming)
        object.__setattr__(self, "fine", not naming.coarse)

    @property
    def subsec(self) -> str | None:
        """EXIF SubSecTime digits when sub-seconds are known ("12" = 0.12 s)."""
        if not self.fine:
            return None
        if self.local.microsecond:
            return f"{self.local.microsecond:06d}".rstrip("0")
        return "00" if self.precision == "subsecond" else None

    def offset_text(self) -> str | None:
        return format_offset(self.offset) if self.fine else None

    def stamp(self) -> str:
        """DateTimeOriginal's value: the time, or noon on the first day of a coarse period
        (noon, so that no time zone a program may assume moves it to another day)."""
        return self.local.strftime(self.naming.stamp)

    def stamped(self) -> datetime:
        return datetime.strptime(self.stamp(), "%Y:%m:%d %H:%M:%S")

    def kept(self) -> str:
        """The partial date XMP ``photoshop:DateCreated`` keeps ("2019:09" for a month)."""
        return self.local.strftime(self.naming.kept) if self.naming.kept else ""

    def epoch(self) -> float:
        """The instant for the output's mtime; an unknown offset reads as this machine's
        zone, so a file browser shows the wall-clock time; a coarse date is the time
        written into the file (noon on the first day of its period)."""
        if not self.fine:
            return self.stamped().timestamp()
        if self.utc is not None:
            return self.utc.replace(tzinfo=UTC).timestamp()
        return self.local.timestamp()

    def describe(self) -> str:
        if not self.fine:
            shown = self.kept().replace(":", "-")
            return (
                f"taken {shown} (only the {self.precision} is known: written as "
                f"{self.stamp()}, the {self.precision} kept in XMP DateCreated)"
            )
        text = self.local.strftime("%Y-%m-%d %H:%M:%S")
        if self.subsec:
            text += f".{self.subsec}"
        offset = self.offset_text()
        return f"taken {text} " + (f"UTC{offset}" if offset else "(UTC offset unknown)")


def when_of(inp: PlanInput) -> When | None:
    if inp.taken_at is None:
        return None
    local = inp.taken_at
    offset = inp.utc_offset
    if local.tzinfo is not None:  # an aware value: its own zone is its offset
        delta = local.utcoffset()
        if offset is None and delta is not None:
            offset = int(delta.total_seconds() // 60)
        local = local.replace(tzinfo=None)
    utc = inp.taken_at_utc
    if utc is not None and utc.tzinfo is not None:
        utc = utc.astimezone(UTC).replace(tzinfo=None)
    if utc is None and offset is not None:
        utc = local - timedelta(minutes=offset)
    return When(local, offset, utc, inp.date_precision)


def _exif_time(value: datetime) -> str:
    return value.strftime("%Y:%m:%d %H:%M:%S")


def _list_tags(tag: str, values: Sequence[str]) -> dict[str, Any]:
    """Add ``values`` to a list tag without repeating what is there: exiftool's ``-=`` then
    ``+=`` idiom, so keywords the file already has are kept."""
    return {f"{tag}-": list(values), f"{tag}+": list(values)} if values else {}


def metadata_to_write(
    mode: WriteMode, fmt: str, when: When | None, tags: Sequence[str]
) -> dict[str, Any]:
    """The exiftool tags to write for one file (empty: nothing to write).

    The chosen date goes where the format keeps it; the other capture dates a program might
    read instead are removed (or, in XMP, rewritten), so the file carries one date.
    """
    out: dict[str, Any] = {}
    if mode is WriteMode.AS_IS:
        return out
    if when is not None and mode is WriteMode.EXIF:
        stamp = when.stamp()
        out["EXIF:DateTimeOriginal"] = stamp
        out["EXIF:CreateDate"] = stamp
        offset = when.offset_text()
        if offset:
            for tag in ("OffsetTimeOriginal", "OffsetTime", "OffsetTimeDigitized"):
                out[f"EXIF:{tag}"] = offset
        if when.subsec:
            # At least two digits, as cameras write hundredths: a camera's "70" is written
            # "70" (over the old value, in place) rather than "7".
            out["EXIF:SubSecTimeOriginal"] = when.subsec.ljust(2, "0")
            out["EXIF:SubSecTimeDigitized"] = when.subsec.ljust(2, "0")
        out.update(_xmp_dates(when, inside=False))
        if fmt in IPTC_FORMATS:
            out.update(_NO_IPTC_DATES)
    elif when is not None and mode is WriteMode.QUICKTIME:
        # QuickTime dates are UTC by the spec; with no known offset the wall clock is
        # written as if it were UTC (said in the item's reason).
        if when.fine:
            utc = _exif_time(when.utc if when.utc is not None else when.local)
        else:
            utc = when.stamp()
        for tag in (
            "CreateDate",
            "ModifyDate",
            "TrackCreateDate",
            "TrackModifyDate",
            "MediaCreateDate",
            "MediaModifyDate",
        ):
            out[f"QuickTime:{tag}"] = utc
        offset = when.offset_text()
        if offset:  # without one exiftool would stamp this machine's zone on it
            frac = f".{when.subsec}" if when.subsec else ""
            out["Keys:CreationDate"] = f"{_exif_time(when.local)}{frac}{offset}"
        else:  # an iPhone's own, now contradicted (it would have given the offset)
            out["Keys:CreationDate"] = _REMOVE
        out.update(_xmp_dates(when, inside=False))
    elif when is not None:  # XMP inside the file, or an XMP sidecar
        out.update(_xmp_dates(when, inside=True))
    if tags:
        out.update(_list_tags("XMP-dc:Subject", tags))
        if mode is WriteMode.EXIF:
            if fmt in IPTC_FORMATS:
                out.update(_list_tags("IPTC:Keywords", tags))
                if not all(t.isascii() for t in tags):
                    out["IPTC:CodedCharacterSet"] = "UTF8"
            out["EXIF:XPKeywords"] = ";".join(tags)  # apply merges the file's own ones in
    return out


def _xmp_dates(when: When, *, inside: bool) -> dict[str, Any]:
    """XMP dates: with ``inside`` (XMP holds the file's dates) the chosen date is written
    there; otherwise (EXIF or QuickTime hold it) XMP's own dates are removed. Either way a
    coarse date's precision is kept in ``photoshop:DateCreated`` ("2019:09")."""
    out: dict[str, Any] = dict(_NO_XMP_DATES)
    if inside:
        frac = f".{when.subsec}" if when.subsec else ""
        stamp = f"{when.stamp()}{frac}{when.offset_text() or ''}"
        out["XMP-exif:DateTimeOriginal"] = stamp
        out["XMP-xmp:CreateDate"] = stamp
    if not when.fine:
        out["XMP-photoshop:DateCreated"] = when.kept()
    return out


def sidecar_write(
    write: Mapping[str, Any], when: When | None, tags: Sequence[str]
) -> dict[str, Any]:
    """What a travelling XMP sidecar gets: the dates as XMP (a program reading the sidecar
    must find the date written into the file, not an older one) and the keywords."""
    if not write or when is None:
        return {}
    out = _xmp_dates(when, inside=True)
    if tags:
        out.update(_list_tags("XMP-dc:Subject", tags))
    return out
