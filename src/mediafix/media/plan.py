"""Plan: decisions -> one output item per kept file (changes nothing on disk).

``make_plan`` takes plain ``PlanInput`` values (what the scan, the date engine and the
review decided about each file) and returns a ``Plan``: for every kept file its source, its
target ``OUTPUT/YYYY/YYYYMMDD_HHMMSS.ext``, the metadata to write and, in words, why.

How names are chosen (all of it pure code here; ``apply`` only executes, STYLE habit 7):

* The extension comes from the content, lower-case (``kinds.sniff``): a JPEG named ``.png``
  becomes ``.jpg``; RAW files keep their own extension, lower-cased.
* Files of one bundle (Live Photo HEIC/JPG + MOV, RAW + JPEG) form one *unit* and share a
  base name; sidecars (.xmp/.aae/.json) travel with their file under the same base.
* Units wanting the same base name in a folder are numbered ``_1``, ``_2``... in the order of
  sub-seconds, then content hash (then path): never in input order. A name is also taken
  when a file that is not this unit's already has it on disk.
* What an earlier apply wrote into this output folder (the journals in ``journal_dir``) is
  found by content hash and kept where it is (``skip``), so planning again after an apply,
  or after a crash, never duplicates; a byte-identical file already at a target is skipped
  too. What was written into another output folder does not count here.
* Folder and base name come from one row of ``NAMING`` per date precision: a full time
  names the file ``YYYYMMDD_HHMMSS``; a day, month or year names it ``YYYYMMDD_``/
  ``YYYYMM_``/``YYYY_`` + its own name, because inventing a time of day in the name would
  be a lie (DESIGN: precision is stated); undated files go to ``OUTPUT/undated/`` under
  their own (sanitized) names. A coarse date is still written into the file, at 12:00:00
  on the first day of its period, with the precision in XMP ``photoshop:DateCreated``.
* Discarded duplicates are not written; they are listed (``Plan.discarded``) with the trash
  place ``apply`` moves them to when moving, so a "move" run never leaves a source behind
  and never deletes one.
* Files awaiting review are held back (``Plan.held``) unless ``include_review``.

Dates other programs would read instead (XMP ``CreateDate``/``DateTimeOriginal``/
``DateTimeDigitized``/``photoshop:DateCreated``, IPTC dates, ``Keys:CreationDate``) are
removed from the output or rewritten to the date written, in the file and in its copied XMP
sidecar (``PlanItem.sidecar_write``), so Immich or PhotoPrism file it under that date.

How metadata is written, per format (``WRITE_MODES``, measured against exiftool 12.57):
EXIF dates + offsets + sub-seconds for JPEG/MPO/PNG/WebP/HEIC/HEIF/AVIF/TIFF; QuickTime UTC
dates + Keys:CreationDate for MOV/MP4/3GP; XMP inside the file for GIF (exiftool writes only
XMP there); an XMP sidecar ``name.ext.xmp`` for everything exiftool cannot write (AVI, MTS,
BMP, MKV, WebM, WMV, MPEG, bare JXL codestreams) and, by policy, for RAW files, whose bytes are
then copied unchanged, as Lightroom and darktable treat RAW. Files whose probe failed are
copied as they are, with no metadata written.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from mediafix.media.apply import (
    TMP_PREFIX,
    JournalEntry,
    JournalIndex,
    journal_index,
    output_is_live,
    sha256_file,
)
from mediafix.media.kinds import RAW_EXTENSIONS
from mediafix.media.tags import (
    DEFAULT_DEPTH,
    TagOrigin,
    file_tag_origins,
    merge_origins,
    name_tags,
)
from mediafix.media.values import Labelled, Precision

__all__ = [
    "NAMING",
    "TRASH_DIR",
    "WRITE_MODES",
    "Action",
    "DiskReads",
    "Naming",
    "Plan",
    "PlanInput",
    "PlanItem",
    "WriteMode",
    "make_plan",
    "naming_for",
    "sanitize_stem",
    "write_mode",
]

TRASH_DIR = ".trash"
_WRITABLE_STATUSES = frozenset({"ready", "written", "error"})
# Other spellings of a canonical extension (for the reason's words only).
_EXT_SPELLINGS = {".jpeg": ".jpg", ".jpe": ".jpg", ".jfif": ".jpg", ".tiff": ".tif",
                  ".hif": ".heif", ".qt": ".mov", ".m2ts": ".mts", ".mpeg": ".mpg"}


class Action(Labelled):
    """What apply does with an item; each member carries its words for people."""


    COPY = "copy", "write to the output"
    SKIP = "skip", "already in the output"
    DISCARD = "discard", "not written (discarded); moved to the trash folder when moving"


class WriteMode(Labelled):
    """Where a file's corrected metadata goes."""


    EXIF = "exif", "EXIF dates and keywords inside the file"
    QUICKTIME = "quicktime", "QuickTime dates (UTC) and Keys:CreationDate inside the file"
    XMP = "xmp", "XMP inside the file (the only metadata exiftool writes there)"
    SIDECAR = "sidecar", "an XMP sidecar next to the file; the file itself is copied unchanged"
    AS_IS = "as-is", "copied as it is, no metadata written"


# format (as kinds.sniff names it) -> write mode; anything not listed gets a sidecar.
WRITE_MODES: dict[str, WriteMode] = {
    **dict.fromkeys(("jpeg", "mpo", "png", "webp", "heic", "heif", "avif", "tiff"),
                    WriteMode.EXIF),
    **dict.fromkeys(("mov", "mp4", "3gp", "3g2"), WriteMode.QUICKTIME),
    "gif": WriteMode.XMP,
}
# IPTC is standard only in these; exiftool would put a non-standard block in a PNG.
_IPTC_FORMATS = frozenset({"jpeg", "mpo", "tiff"})


def write_mode(fmt: str, kind: str, status: str) -> WriteMode:
    """How metadata is written for a file of this format (see the module docstring)."""
    if status == "error" or kind not in ("image", "video"):
        return WriteMode.AS_IS
    return WRITE_MODES.get(fmt, WriteMode.SIDECAR)


@dataclass(frozen=True)
class PlanInput:
    """One scanned file and what was decided about it (plain values from the library).

    ``taken_at`` is the local wall-clock capture time (may carry microseconds), ``utc_offset``
    its offset in minutes when known, ``taken_at_utc`` the instant when known.
    ``date_precision`` is a ``values.Precision`` value; ``date_source`` and ``confidence``
    (0..1) say where the date came from and how sure it is ("user": a person). ``ext`` is
    the canonical extension of the real type (``.jpg``), ``""`` when unknown. ``keep=False``
    marks a discarded duplicate.
    ``bundle`` is an id shared by the files written together under one base name (a Live
    Photo or RAW+JPEG pair's contents, whichever folder each copy comes from). ``sidecars``
    are absolute paths of the file's own .xmp/.aae/.json. ``tags`` are the user's tags.
    ``copy_of`` is the file written in a left-out file's place.
    ``tag_path`` is the path whose folders give tags when not ``rel_path`` (an upload
    without the dropped folder); ``copy_tag_paths`` are those of the left-out copies of a
    written file (their folder tags are added only when the plan is asked to:
    ``tags_from_copies``).
    """

    file_id: int
    path: str
    root: str
    rel_path: str
    sha256: str | None
    kind: str
    format: str
    ext: str
    size: int | None = None
    taken_at: datetime | None = None
    utc_offset: int | None = None
    taken_at_utc: datetime | None = None
    date_precision: str | None = None
    date_source: str | None = None
    confidence: float = 0.0
    status: str = "ready"
    error: str | None = None
    keep: bool = True
    discard_reason: str | None = None
    bundle: str | None = None
    sidecars: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    review_reason: str | None = None
    copy_of: int | None = None
    tag_path: str | None = None
    copy_tag_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlanItem:
    """One file to write (or skip, or discard), with everything apply needs.

    ``write`` maps exiftool tag names to values (a name ending in ``-``/``+`` removes/adds list
    entries, so existing keywords are kept); it goes into the file itself, or into
    ``metadata_sidecar`` when that is set; empty means copy as-is. ``sidecars`` pairs each
    travelling sidecar with its target. ``mtime`` is the capture instant (epoch seconds)
    given to the output. ``skip_reason`` is set for SKIP items (and for a DISCARD already
    in the trash). ``sidecar_write`` is what goes into each travelling XMP sidecar (the
    file's own ``.xmp``, copied along) so that its dates agree with the file's.
    ``tag_sources`` says where each tag came from.
    """

    file_id: int
    source: str
    target: str
    reason: str
    action: Action = Action.COPY
    tags: tuple[str, ...] = ()
    write: Mapping[str, Any] = field(default_factory=dict)
    sidecars: tuple[tuple[str, str], ...] = ()
    skip_reason: str | None = None
    metadata_sidecar: str | None = None
    sha256: str | None = None
    kind: str = "other"
    format: str = "unknown"
    mtime: float | None = None
    bundle: str | None = None
    sidecar_write: Mapping[str, Any] = field(default_factory=dict)
    tag_sources: tuple[TagOrigin, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "source": self.source,
            "target": self.target,
            "action": self.action.value,
            "reason": self.reason,
            "tags": list(self.tags),
            "tag_sources": [origin.to_dict() for origin in self.tag_sources],
        }
        if self.skip_reason:
            data["skip_reason"] = self.skip_reason
        if self.sidecars:
            data["sidecars"] = [{"source": s, "target": t} for s, t in self.sidecars]
        if self.metadata_sidecar:
            data["metadata_sidecar"] = self.metadata_sidecar
        return data


@dataclass(frozen=True)
class DiskReads:
    """What of the disk a plan looked at: the folders whose entries it read or tested (a
    name added or removed there changes the folder's mtime) and the files whose bytes it
    compared. The plan stays right while these are as they were (and the journals too)."""

    folders: frozenset[str] = frozenset()
    files: frozenset[str] = frozenset()


@dataclass
class Plan:
    """The whole output plan: items to write or skip, files held back, files discarded."""

    output_dir: str
    items: list[PlanItem] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    discarded: list[PlanItem] = field(default_factory=list)
    undated_dir: str = "undated"
    reads: DiskReads = field(default_factory=DiskReads, compare=False, repr=False)

    def counts(self) -> dict[str, int]:
        undated = os.path.join(self.output_dir, self.undated_dir) + os.sep
        return {
            "copy": sum(i.action is Action.COPY for i in self.items),
            "skip": sum(i.action is Action.SKIP for i in self.items),
            "held": len(self.held),
            "discarded": len(self.discarded),
            "undated": sum(i.target.startswith(undated) for i in self.items),
            "sidecars": sum(len(i.sidecars) + bool(i.metadata_sidecar) for i in self.items),
        }

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data (``mediafix plan --json``)."""
        return {
            "output": self.output_dir,
            "items": [item.to_dict() for item in self.items],
            "held": [{"path": p, "reason": r} for p, r in self.held],
            "discarded": [{"path": d.source, "reason": d.reason, "trash": d.target}
                          for d in self.discarded],
            "counts": self.counts(),
        }


# -- names ---------------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\ud800-\udfff]')
_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                       *(f"lpt{i}" for i in range(1, 10))})
_MAX_STEM_BYTES = 150


def sanitize_stem(stem: str) -> str:
    """A file name stem that is safe on Linux, macOS and SMB/Windows shares.

    Control and reserved characters become ``_``, spaces are single, leading dots and
    trailing dots/spaces go (no hidden files, nothing looking like our temporary names),
    and the stem is cut to 150 bytes. Never empty.
    """
    text = unicodedata.normalize("NFC", stem)
    text = " ".join(_UNSAFE_NAME.sub("_", text).split()).strip(" .")
    encoded = text.encode("utf-8")
    if len(encoded) > _MAX_STEM_BYTES:
        text = encoded[:_MAX_STEM_BYTES].decode("utf-8", "ignore").rstrip(" .")
    if not text:
        return "untitled"
    if text.casefold() in _RESERVED:
        return f"{text}_"
    return text


def _split_name(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, f".{ext}"


def _canonical_ext(inp: PlanInput) -> str:
    own = _split_name(os.path.basename(inp.path))[1].lower()
    if inp.format == "raw" and own in RAW_EXTENSIONS:
        return own  # TIFF-based RAW files are told apart by their own extension only
    ext = inp.ext.lower()
    if ext and not ext.startswith("."):
        ext = f".{ext}"
    return ext or own


def _own_stem(inp: PlanInput) -> str:
    """The file's own name without ``{tags}`` and extension, sanitized."""
    _, cleaned = name_tags(os.path.basename(inp.path))
    return sanitize_stem(_split_name(cleaned)[0])


def _sidecar_name(media: str, sidecar: str, base: str, ext: str) -> str:
    """Target name of a travelling sidecar, keeping how it relates to its media file:
    ``IMG_1.JPG.xmp`` -> ``BASE.jpg.xmp``, ``IMG_1.AAE`` -> ``BASE.aae``, anything else
    (a Takeout name cut short) -> ``BASE.ext.<its extension>``."""
    name = os.path.basename(sidecar)
    media_stem = _split_name(media)[0]
    if name.casefold().startswith(media.casefold()) and len(name) > len(media):
        head, rest = base + ext, name[len(media):]
    elif name.casefold().startswith(media_stem.casefold() + "."):
        head, rest = base, name[len(media_stem):]
    else:
        head, rest = base + ext, _split_name(name)[1]
    rest_stem, rest_ext = _split_name(rest)
    rest = (rest_stem + rest_ext.lower()) if rest_ext else rest.lower()
    return head + _sanitize_tail(rest)


def _sanitize_tail(text: str) -> str:
    """The part of a sidecar name after the base: same character rules as a stem."""
    return _UNSAFE_NAME.sub("_", unicodedata.normalize("NFC", text))


# -- dates and metadata --------------------------------------------------------------

@dataclass(frozen=True)
class Naming:
    """How a file whose date has one precision is named and dated: one row per precision.

    ``folder`` and ``base`` are strftime patterns (``{name}`` is the file's own sanitized
    name, ``{undated}`` the undated folder); ``stamp`` is what DateTimeOriginal/CreateDate
    (QuickTime dates for videos) get; ``kept`` is the precision kept in XMP
    ``photoshop:DateCreated`` ("" when the full time is written). ``example`` is the target
    of a file named ``example_name`` taken at ``example_taken`` (a test checks it, and the
    README's table prints these rows).
    """

    precision: str  # a values.Precision value, or "none" for no date at all
    folder: str
    base: str
    stamp: str
    kept: str
    example_name: str
    example_taken: datetime | None
    example: str

    @property
    def coarse(self) -> bool:
        return bool(self.kept)


_EXAMPLE = datetime(2019, 9, 19, 5, 38, 57)
NAMING: tuple[Naming, ...] = (
    Naming("subsecond", "%Y", "%Y%m%d_%H%M%S", "%Y:%m:%d %H:%M:%S", "", "IMG_0001.HEIC",
           _EXAMPLE.replace(microsecond=120000), "2019/20190919_053857.heic"),
    Naming("second", "%Y", "%Y%m%d_%H%M%S", "%Y:%m:%d %H:%M:%S", "", "IMG_0001.JPG",
           _EXAMPLE, "2019/20190919_053857.jpg"),
    Naming("minute", "%Y", "%Y%m%d_%H%M%S", "%Y:%m:%d %H:%M:%S", "", "20190919_0538.jpg",
           _EXAMPLE.replace(second=0), "2019/20190919_053800.jpg"),
    Naming("day", "%Y", "%Y%m%d_{name}", "%Y:%m:%d 12:00:00", "%Y:%m:%d",
           "IMG-20190919-WA0001.jpg", _EXAMPLE.replace(hour=0, minute=0, second=0),
           "2019/20190919_IMG-20190919-WA0001.jpg"),
    Naming("month", "%Y", "%Y%m_{name}", "%Y:%m:01 12:00:00", "%Y:%m", "scan 07.jpg",
           datetime(2019, 9, 1), "2019/201909_scan 07.jpg"),
    Naming("year", "%Y", "%Y_{name}", "%Y:01:01 12:00:00", "%Y", "scan 01.jpg",
           datetime(2019, 1, 1), "2019/2019_scan 01.jpg"),
    Naming("none", "{undated}", "{name}", "", "", "scan 02.jpg", None,
           "undated/scan 02.jpg"),
)
_NAMING = {row.precision: row for row in NAMING}


def naming_for(precision: str | None, dated: bool = True) -> Naming:
    """The ``NAMING`` row for a date of this precision (an unknown one counts as seconds)."""
    if not dated:
        return _NAMING["none"]
    return _NAMING.get(precision or "second", _NAMING["second"])


# Capture dates other programs read (Immich, PhotoPrism, digiKam...): in the output they are
# removed unless written with the chosen date, so no older date can win over it.
_XMP_DATES = ("XMP-xmp:CreateDate", "XMP-exif:DateTimeOriginal", "XMP-exif:DateTimeDigitized",
              "XMP-photoshop:DateCreated")
_IPTC_DATES = ("IPTC:DateCreated", "IPTC:TimeCreated", "IPTC:DigitalCreationDate",
               "IPTC:DigitalCreationTime")
_REMOVE: tuple[str, ...] = ()  # exiftool ``-TAG=``: apply checks it reads back absent
_NO_XMP_DATES = dict.fromkeys(_XMP_DATES, _REMOVE)
_NO_IPTC_DATES = dict.fromkeys(_IPTC_DATES, _REMOVE)


@dataclass(frozen=True)
class _When:
    """A capture time as the plan uses it."""

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
        if self.offset is None or not self.fine:
            return None
        sign = "-" if self.offset < 0 else "+"
        hours, minutes = divmod(abs(self.offset), 60)
        return f"{sign}{hours:02d}:{minutes:02d}"

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
            return (f"taken {shown} (only the {self.precision} is known: written as "
                    f"{self.stamp()}, the {self.precision} kept in XMP DateCreated)")
        text = self.local.strftime("%Y-%m-%d %H:%M:%S")
        if self.subsec:
            text += f".{self.subsec}"
        offset = self.offset_text()
        return f"taken {text} " + (f"UTC{offset}" if offset else "(UTC offset unknown)")


def _when(inp: PlanInput) -> _When | None:
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
    return _When(local, offset, utc, inp.date_precision)


def _exif_time(value: datetime) -> str:
    return value.strftime("%Y:%m:%d %H:%M:%S")


def _list_tags(tag: str, values: Sequence[str]) -> dict[str, Any]:
    """Add ``values`` to a list tag without repeating what is there: exiftool's ``-=`` then
    ``+=`` idiom, so keywords the file already has are kept."""
    return {f"{tag}-": list(values), f"{tag}+": list(values)} if values else {}


def _metadata_to_write(
    mode: WriteMode, fmt: str, when: _When | None, tags: Sequence[str]
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
            out["EXIF:SubSecTimeOriginal"] = when.subsec
            out["EXIF:SubSecTimeDigitized"] = when.subsec
        out.update(_xmp_dates(when, inside=False))
        if fmt in _IPTC_FORMATS:
            out.update(_NO_IPTC_DATES)
    elif when is not None and mode is WriteMode.QUICKTIME:
        # QuickTime dates are UTC by the spec; with no known offset the wall clock is
        # written as if it were UTC (said in the item's reason).
        if when.fine:
            utc = _exif_time(when.utc if when.utc is not None else when.local)
        else:
            utc = when.stamp()
        for tag in ("CreateDate", "ModifyDate", "TrackCreateDate", "TrackModifyDate",
                    "MediaCreateDate", "MediaModifyDate"):
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
            if fmt in _IPTC_FORMATS:
                out.update(_list_tags("IPTC:Keywords", tags))
                if not all(t.isascii() for t in tags):
                    out["IPTC:CodedCharacterSet"] = "UTF8"
            out["EXIF:XPKeywords"] = ";".join(tags)  # apply merges the file's own ones in
    return out


def _xmp_dates(when: _When, *, inside: bool) -> dict[str, Any]:
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


def _sidecar_write(write: Mapping[str, Any], when: _When | None,
                   tags: Sequence[str]) -> dict[str, Any]:
    """What a travelling XMP sidecar gets: the dates as XMP (a program reading the sidecar
    must find the date written into the file, not an older one) and the keywords."""
    if not write or when is None:
        return {}
    out = _xmp_dates(when, inside=True)
    if tags:
        out.update(_list_tags("XMP-dc:Subject", tags))
    return out


# -- units: a file, or the files of one bundle --------------------------------------

_KIND_RANK = {"image": 0, "video": 2}


@dataclass(frozen=True)
class _Target:
    """One file a unit creates: a member itself, a sidecar copied along, or our XMP."""

    member: PlanInput
    role: str  # file | sidecar | metadata
    source: str | None  # the source sidecar copied (role sidecar)


@dataclass
class _Unit:
    members: list[PlanInput]
    when: _When | None
    folder: str
    base: str
    notes: list[str] = field(default_factory=list)
    exts: dict[int, str] = field(default_factory=dict)  # file_id -> canonical ext
    reserved: dict[int, str] = field(default_factory=dict)  # file_id -> journaled target
    dated: PlanInput | None = None  # the member whose date the unit has

    @property
    def primary(self) -> PlanInput:
        return self.members[0]

    def sort_key(self) -> tuple[int, str, str]:
        micro = self.when.local.microsecond if self.when else -1
        return (micro, self.primary.sha256 or "", self.primary.path)


def _date_rank(inp: PlanInput) -> tuple[int, float, int, int, tuple[int, str]]:
    """Which member's date a unit (a Live Photo, a RAW + JPEG) takes, best first: a date a
    person gave, then the surest, one with its UTC offset, the finest, then the still's."""
    precision = [p.value for p in Precision]
    fineness = precision.index(inp.date_precision) if inp.date_precision in precision else 1
    return (-int(inp.date_source == "user"), -inp.confidence, -int(inp.utc_offset is not None),
            fineness, _member_rank(inp))


def _member_rank(inp: PlanInput) -> tuple[int, str]:
    rank = _KIND_RANK.get(inp.kind, 3) + (1 if inp.format == "raw" else 0)
    return rank, inp.path


def _units(inputs: Sequence[PlanInput]) -> list[list[PlanInput]]:
    """Group kept files into units; a bundle with two members of one extension is split
    (they could not share a base name)."""
    by_bundle: dict[str, list[PlanInput]] = defaultdict(list)
    singles: list[list[PlanInput]] = []
    for inp in inputs:
        if inp.bundle:
            by_bundle[inp.bundle].append(inp)
        else:
            singles.append([inp])
    units = singles
    for members in by_bundle.values():
        members.sort(key=_member_rank)
        groups: list[list[PlanInput]] = []
        for inp in members:
            ext = _canonical_ext(inp)
            home = next((g for g in groups if all(_canonical_ext(m) != ext for m in g)), None)
            if home is None:
                groups.append([inp])
            else:
                home.append(inp)
        units.extend(groups)
    return units


# -- what is on disk -----------------------------------------------------------------

class _Disk:
    """Existing files in output folders, indexed by every prefix that ends before a dot,
    so ``20190919_053857`` finds ``20190919_053857.heic`` and ``20190919_053857.jpg.xmp``."""

    def __init__(self) -> None:
        self._folders: dict[str, dict[str, list[str]]] = {}
        self._hashes: dict[str, str | None] = {}
        self._tested: set[str] = set()  # folders a name was looked up in
        self._live: set[str] = set()  # unfinished journaled outputs checked by their hash

    def reads(self) -> DiskReads:
        return DiskReads(frozenset(self._folders.keys() | self._tested),
                         frozenset(self._hashes.keys() | self._live))

    def lexists(self, path: str) -> bool:
        self._tested.add(os.path.dirname(path))
        return os.path.lexists(path)

    def live(self, entry: JournalEntry) -> bool:
        """``apply.output_is_live``, remembered as read."""
        self._tested.add(os.path.dirname(entry.target))
        if not entry.done:
            self._live.add(entry.target)
        return output_is_live(entry)

    def mine(self, entry: JournalEntry | None, sha: str | None) -> bool:
        """Whether a journal entry records its (still present) target as written from
        ``sha``."""
        return entry is not None and sha is not None and entry.source_sha256 == sha and (
            self.live(entry))

    def names(self, folder: str, base: str) -> list[str]:
        index = self._folders.get(folder)
        if index is None:
            index = defaultdict(list)
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name.startswith(TMP_PREFIX):
                            continue  # a leftover of a killed apply; the next apply removes it
                        key = entry.name.casefold()
                        for i, char in enumerate(key):
                            if char == ".":
                                index[key[:i]].append(entry.name)
                        index[key].append(entry.name)
            except OSError:
                pass
            self._folders[folder] = index
        return index.get(base.casefold(), [])

    def sha256(self, path: str) -> str | None:
        if path not in self._hashes:
            try:
                self._hashes[path] = sha256_file(path)
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]


class _Planner:
    def __init__(self, output_dir: str, index: JournalIndex, tag_depth: int,
                 undated_dir: str, tags_from_copies: bool = False) -> None:
        self.output_dir = output_dir
        self.index = index
        self.tag_depth = tag_depth
        self.tags_from_copies = tags_from_copies
        self._real_output: str | None = None
        self.undated_dir = undated_dir
        self.disk = _Disk()
        self.claimed: set[tuple[str, str]] = set()  # (folder, base casefolded)
        self.used_journal: set[str] = set()
        # The trash folder per (root, source folder: the rel_path up to its last "/").
        self._trash_folders: dict[tuple[str, str], str] = {}

    def trash_folder(self, inp: PlanInput) -> str:
        """Where a discarded file goes: its root's name, then its own folders, sanitized."""
        rel = inp.rel_path.replace("\\", "/")
        cut = rel.rfind("/") + 1
        key = (inp.root, rel[:cut])
        folder = self._trash_folders.get(key)
        if folder is None:
            root_name = sanitize_stem(os.path.basename(os.path.normpath(inp.root)) or "source")
            folder = os.path.join(self.output_dir, TRASH_DIR, root_name,
                                  *(sanitize_stem(p) for p in PurePosixPath(rel).parts[:-1]))
            if rel[cut:] not in ("", ".", ".."):  # else its parts are not those of rel[:cut]
                self._trash_folders[key] = folder
        return folder

    # -- unit layout ---------------------------------------------------------------
    def make_unit(self, members: list[PlanInput]) -> _Unit:
        members = sorted(members, key=_member_rank)
        dated = min((m for m in members if m.taken_at is not None), key=_date_rank,
                    default=None)
        when = _when(dated) if dated is not None else None
        unit = _Unit(members=members, when=when, folder="", base="", dated=dated)
        unit.exts = {m.file_id: _canonical_ext(m) for m in members}
        naming = when.naming if when is not None else naming_for(None, dated=False)
        stamp = when.local if when is not None else datetime(2000, 1, 1)
        base = naming.base
        if "{name}" in base:  # a name is not a strftime pattern: its "%" stay
            base = base.replace("{name}", _own_stem(members[0]).replace("%", "%%"))
        if naming.folder == "%Y":  # nearly every file: no strftime, and years < 1000 padded
            folder = f"{stamp.year:04d}"
        else:
            folder = stamp.strftime(
                naming.folder.replace("{undated}", self.undated_dir.replace("%", "%%")))
        unit.folder = os.path.join(self.output_dir, folder)
        unit.base = stamp.strftime(base)
        return unit

    def ours(self, entry: JournalEntry) -> bool:
        """Whether a journaled output lies in this plan's output folder (under any name of
        it: a link to it is the same folder): what an apply wrote into another folder does
        not make a file "already there" here."""
        if entry.target.startswith(os.path.join(self.output_dir, "")):
            return True
        if self._real_output is None:
            self._real_output = os.path.join(os.path.realpath(self.output_dir), "")
        return os.path.realpath(entry.target).startswith(self._real_output)

    def moved_away(self, inp: PlanInput) -> str | None:
        """Where an earlier ``apply --move`` into another output folder put this source, when
        it is no longer at its path (nothing is left here to copy from)."""
        for entry in self.index.by_sha.get(inp.sha256 or "", ()):
            if (entry.action == "move" and entry.source == inp.path and not self.ours(entry)
                    and self.disk.live(entry) and not self.disk.lexists(inp.path)):
                return entry.target
        return None

    def reserve_journaled(self, units: list[_Unit]) -> None:
        """Keep where they are the files an earlier apply already wrote into this output
        from these sources (found by content hash, the same path first), so a new plan never
        duplicates them."""
        for exact in (True, False):
            for unit in units:
                for m in unit.members:
                    if m.file_id in unit.reserved or not m.sha256:
                        continue
                    for entry in self.index.by_sha.get(m.sha256, ()):
                        if (entry.target in self.used_journal or entry.action == "trash"
                                or not self.ours(entry)):
                            continue
                        if exact and entry.source != m.path:
                            continue
                        if self.disk.live(entry):
                            unit.reserved[m.file_id] = entry.target
                            self.used_journal.add(entry.target)
                            break
        for unit in units:
            if not unit.reserved:
                continue
            first = next(m for m in unit.members if m.file_id in unit.reserved)
            target = unit.reserved[first.file_id]
            name = os.path.basename(target)
            ext = unit.exts[first.file_id]
            base = name[: -len(ext)] if ext and name.casefold().endswith(ext) else (
                _split_name(name)[0])
            numbered = re.fullmatch(re.escape(unit.base) + r"(_\d+)?", base) is not None
            if os.path.dirname(target) != unit.folder or not numbered:
                # Written under another date or name than the one decided now (a date
                # picked after that apply): said, because apply never replaces an output.
                journal = self.index.by_target[target].journal
                unit.notes.append(
                    f"kept as {os.path.relpath(target, self.output_dir)}, where an earlier "
                    f"apply wrote it with the date it had then; to write it as planned now, "
                    f"undo that apply (mediafix undo {journal}) and apply again")
            elif base != unit.base:
                unit.notes.append(f"kept as {os.path.relpath(target, self.output_dir)}, "
                                  "where an earlier apply wrote it")
            unit.folder, unit.base = os.path.dirname(target), base
            self.claimed.add((unit.folder, base.casefold()))

    def targets(self, unit: _Unit, base: str) -> dict[str, _Target]:
        """Every file name the unit would create under ``base``."""
        names: dict[str, _Target] = {}
        for m in unit.members:
            ext = unit.exts[m.file_id]
            names[base + ext] = _Target(m, "file", None)
            for sidecar in m.sidecars:
                name = _sidecar_name(os.path.basename(m.path), sidecar, base, ext)
                stem, side_ext = _split_name(name)
                n = 1
                while name.casefold() in (k.casefold() for k in names):
                    name = f"{stem}.{n}{side_ext}"  # two sidecars wanting one name
                    n += 1
                names[name] = _Target(m, "sidecar", sidecar)
            if write_mode(m.format, m.kind, m.status) is WriteMode.SIDECAR:
                # Written into a copy of the file's own XMP sidecar when one has this name.
                names.setdefault(f"{base}{ext}.xmp", _Target(m, "metadata", None))
        return names

    def owns(self, unit: _Unit, folder: str, name: str, wanted: Mapping[str, _Target]) -> bool:
        """Whether the existing file ``folder/name`` is this unit's own earlier output."""
        path = os.path.join(folder, name)
        hit = next((t for k, t in wanted.items() if k.casefold() == name.casefold()), None)
        if hit is None:
            return False
        sha = hit.member.sha256
        if hit.role == "file":
            if self.disk.mine(self.index.by_target.get(path), sha):
                return True
            return sha is not None and self.disk.sha256(path) == sha
        # A sidecar: ours if an entry of this member's (even an unfinished one) lists it
        # with this content, or if it is a byte copy of the source sidecar.
        digest = self.disk.sha256(path)
        for entry in self.index.by_sha.get(sha or "", ()):
            if any(s.get("target") == path and s.get("sha256") == digest
                   for s in entry.sidecars):
                return True
        return hit.source is not None and digest == self.disk.sha256(hit.source)

    def place(self, unit: _Unit) -> None:
        """Give the unit the first free base name: base, base_1, base_2..."""
        if unit.reserved:
            return
        n = 0
        while True:
            base = unit.base if n == 0 else f"{unit.base}_{n}"
            key = (unit.folder, base.casefold())
            if key not in self.claimed:
                existing = self.disk.names(unit.folder, base)
                if not existing:
                    break
                wanted = self.targets(unit, base)
                if all(self.owns(unit, unit.folder, name, wanted) for name in existing):
                    break
            n += 1
        if n:
            unit.notes.append(f"{unit.base} is taken: numbered _{n} (same-second files are "
                              "numbered by sub-seconds, then content)")
        unit.base = base
        self.claimed.add((unit.folder, base.casefold()))

    # -- items ----------------------------------------------------------------------
    def tag_origins(self, unit: _Unit) -> tuple[TagOrigin, ...]:
        """The unit's tags and where each came from: its members' folders, ``{...}`` names
        and user tags; with ``tags_from_copies``, also the folders of their left-out copies."""
        groups = [file_tag_origins(m.tag_path or m.rel_path, m.tags, self.tag_depth)
                  for m in unit.members]
        if len(groups) == 1 and not (self.tags_from_copies and unit.members[0].copy_tag_paths):
            return groups[0]  # one file: its origins are merged already
        if self.tags_from_copies:
            for m in unit.members:
                for path in m.copy_tag_paths:
                    groups.append(tuple(
                        TagOrigin(o.tag, "copy", path)
                        for o in file_tag_origins(path, (), self.tag_depth)))
        return merge_origins(*groups)

    def items(self, unit: _Unit) -> list[PlanItem]:
        origins = self.tag_origins(unit)
        tags = tuple(o.tag for o in origins)
        wanted = self.targets(unit, unit.base)
        out = []
        for m in unit.members:
            ext = unit.exts[m.file_id]
            target = unit.reserved.get(m.file_id) or os.path.join(unit.folder, unit.base + ext)
            when = unit.when  # one moment: every member carries the date of its name
            mode = write_mode(m.format, m.kind, m.status)
            write = _metadata_to_write(mode, m.format, when, tags)
            sidecars = tuple(
                (t.source, os.path.join(unit.folder, name))
                for name, t in wanted.items()
                if t.member is m and t.source is not None
            ) if m.sidecars else ()  # only its own sidecars have a source
            meta_sidecar = None
            if mode is WriteMode.SIDECAR and write:
                meta_sidecar = os.path.join(unit.folder, f"{unit.base}{ext}.xmp")
            reason = self.reason(unit, m, when, mode, ext, origins)
            action, skip = Action.COPY, None
            if m.file_id in unit.reserved:
                action, skip = Action.SKIP, "already written by an earlier apply (journal)"
            elif self.disk.lexists(target):
                # place() only lets a base through whose existing files are this unit's.
                action = Action.SKIP
                skip = ("already written by an earlier apply (journal)"
                        if self.disk.mine(self.index.by_target.get(target), m.sha256)
                        else "an identical file is already at the target")
            out.append(PlanItem(
                file_id=m.file_id, source=m.path, target=target, reason=reason,
                action=action, tags=tags, write=write, sidecars=sidecars, skip_reason=skip,
                metadata_sidecar=meta_sidecar, sha256=m.sha256, kind=m.kind,
                format=m.format, mtime=when.epoch() if when else None, bundle=m.bundle,
                sidecar_write=_sidecar_write(write, when, tags) if any(
                    s.casefold().endswith(".xmp") for s in m.sidecars) else {},
                tag_sources=origins,
            ))
        return out

    def reason(self, unit: _Unit, m: PlanInput, when: _When | None, mode: WriteMode,
               ext: str, origins: Sequence[TagOrigin]) -> str:
        parts = []
        if when is None:
            parts.append(f"no capture date: kept under its own name in {self.undated_dir}/")
        else:
            parts.append(when.describe())
            dated = unit.dated
            own = _when(m)
            if dated is not None and dated is not m and (
                    own is None or own.local.replace(microsecond=0)
                    != when.local.replace(microsecond=0)):
                # One moment, one date: the unit's surest (see _date_rank).
                mine = (f"its own, {own.local:%Y-%m-%d %H:%M:%S} from {m.date_source or 'its file'}"
                        if own is not None else "it has none of its own")
                parts.append(f"the date of {os.path.basename(dated.path)}, its bundle partner "
                             f"({mine})")
            if when.fine and mode is WriteMode.QUICKTIME and when.utc is None:
                parts.append("UTC offset unknown: QuickTime dates hold the local time as UTC")
        own_ext = _split_name(os.path.basename(m.path))[1]
        if own_ext != ext:
            if own_ext.lower() == ext:
                why = "lower-case"
            elif _EXT_SPELLINGS.get(own_ext.lower()) == ext:
                why = "its usual spelling"
            else:
                why = "from the content"
            parts.append(f"extension {ext} {why} (the name said {own_ext or 'nothing'})")
        if len(unit.members) > 1:
            others = ", ".join(os.path.basename(o.path) for o in unit.members if o is not m)
            parts.append(f"shares its name with {others} (same bundle)")
        parts.extend(unit.notes)
        if m.status == "error":
            parts.append(f"the probe failed ({m.error or 'unknown error'}): copied as it is, "
                         "no metadata written")
        elif mode is not WriteMode.EXIF:
            parts.append(f"metadata: {mode.text}")
        if origins:
            parts.append("tags: " + ", ".join(o.tag for o in origins))
        return "; ".join(parts)

    # -- discarded files -----------------------------------------------------------
    def trash_item(self, inp: PlanInput) -> PlanItem:
        folder = self.trash_folder(inp)
        stem, ext = _split_name(os.path.basename(inp.path))
        stem, ext = sanitize_stem(stem), _sanitize_tail(ext)
        reason = inp.discard_reason or "discarded duplicate"
        n = 0
        while True:
            name = stem + ext if n == 0 else f"{stem}_{n}{ext}"
            path = os.path.join(folder, name)
            key = (folder, name.casefold())
            if key not in self.claimed:
                if not self.disk.lexists(path):
                    skip = None
                    break
                entry = self.index.by_target.get(path)
                if self.disk.mine(entry, inp.sha256) or (
                        inp.sha256 and self.disk.sha256(path) == inp.sha256):
                    skip = "already in the trash folder"
                    break
            n += 1
        self.claimed.add(key)
        return PlanItem(
            file_id=inp.file_id, source=inp.path, target=path, reason=reason,
            action=Action.DISCARD, skip_reason=skip, sha256=inp.sha256, kind=inp.kind,
            format=inp.format, bundle=inp.bundle,
        )


def _hold_reason(inp: PlanInput, include_review: bool) -> str | None:
    """Why a kept file is not written now, or None when it is written."""
    if inp.status == "review" and not include_review:
        return "awaiting review" + (f": {inp.review_reason}" if inp.review_reason else "")
    if inp.kind not in ("image", "video"):
        detail = f" ({inp.error})" if inp.error else ""
        return f"not a photo or video{detail}"
    if inp.status not in _WRITABLE_STATUSES and inp.status != "review":
        detail = f": {inp.error}" if inp.error else ""
        return f"not ready to write (status {inp.status}){detail}"
    return None


def make_plan(
    inputs: Sequence[PlanInput],
    output_dir: str,
    *,
    include_review: bool = False,
    journal_dir: str | None = None,
    tag_depth: int = DEFAULT_DEPTH,
    undated_dir: str = "undated",
    tags_from_copies: bool = False,
) -> Plan:
    """Plan the output for ``inputs``; reads the output folder and the journals, writes nothing.

    :param inputs: one value per scanned file, in any order (the plan does not depend on it).
    :param output_dir: the output root; targets are absolute paths under it.
    :param include_review: also write files that still await review.
    :param journal_dir: where apply keeps its journals; what they record as written (and
        still on disk) is skipped where it is. Pass it whenever apply has run: without it
        only byte-identical files are recognised, and a file that got new metadata would
        be planned again under a numbered name.
    :param tag_depth: how many non-generic folder names become tags.
    :param undated_dir: folder (under ``output_dir``) for files without a capture date.
    :param tags_from_copies: also tag a written file with the folder tags of its left-out
        copies (``PlanInput.copy_tag_paths``); off, a copy's folders say nothing about it.
    """
    output_dir = os.path.abspath(output_dir)
    index = journal_index(journal_dir) if journal_dir else JournalIndex()
    planner = _Planner(output_dir, index, tag_depth, undated_dir, tags_from_copies)
    plan = Plan(output_dir=output_dir, undated_dir=undated_dir)
    ordered = sorted(inputs, key=lambda i: (i.path, i.file_id))

    held: dict[int, str] = {}
    kept: list[PlanInput] = []
    discarded: list[PlanInput] = []
    for inp in ordered:
        if not inp.keep:
            discarded.append(inp)
            continue
        why = _hold_reason(inp, include_review)
        moved = planner.moved_away(inp) if not why else None
        if moved:
            why = (f"already moved into {moved} by an earlier apply --move (the source is "
                   "gone); to have it here too, copy it from there")
        if why:
            held[inp.file_id] = why
        kept.append(inp)
    # A bundle travels whole: one member held back holds back the others.
    held_bundles = {i.bundle: i for i in kept if i.bundle and i.file_id in held}
    for inp in kept:
        first = held_bundles.get(inp.bundle) if inp.bundle else None
        if first is not None and inp.file_id not in held:
            held[inp.file_id] = (f"held with {os.path.basename(first.path)} of its bundle "
                                 f"({held[first.file_id]})")
    # A copy left out for a file that is held waits with it: until that file is written,
    # the picture is not in the archive (and a decision may still change which is).
    by_id = {i.file_id: i for i in kept}
    for inp in list(discarded):
        first = by_id.get(inp.copy_of) if inp.copy_of is not None else None
        if first is not None and first.file_id in held:
            discarded.remove(inp)
            kept.append(inp)
            held[inp.file_id] = (f"{inp.discard_reason or 'a duplicate'}, which is held "
                                 f"({held[first.file_id]}): not written, it waits with it")
    kept.sort(key=lambda i: (i.path, i.file_id))
    plan.held = [(i.path, held[i.file_id]) for i in kept if i.file_id in held]
    writable = [i for i in kept if i.file_id not in held]

    units = [planner.make_unit(members) for members in _units(writable)]
    planner.reserve_journaled(units)
    for unit in sorted(units, key=lambda u: (u.folder, u.base.casefold(), u.sort_key())):
        planner.place(unit)
    for unit in sorted(units, key=lambda u: (u.folder, u.base.casefold())):
        plan.items.extend(planner.items(unit))
    plan.discarded = [planner.trash_item(inp) for inp in discarded]
    plan.reads = planner.disk.reads()
    return plan
