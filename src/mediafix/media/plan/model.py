"""The plan's values: what goes in (``PlanInput``), what comes out (``PlanItem``, ``Plan``)
and the words for what apply does with each item and how its metadata is written.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mediafix.media.journal import JournalIndex
from mediafix.media.tags import TagOrigin
from mediafix.media.values import Labelled

__all__ = [
    "IPTC_FORMATS",
    "TRASH_DIR",
    "WRITABLE_STATUSES",
    "WRITE_MODES",
    "Action",
    "DiskReads",
    "Outline",
    "Plan",
    "PlanInput",
    "PlanItem",
    "WriteMode",
    "copy_date",
    "write_mode",
]

TRASH_DIR = ".trash"
WRITABLE_STATUSES = frozenset({"ready", "written", "error"})


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
    **dict.fromkeys(("jpeg", "mpo", "png", "webp", "heic", "heif", "avif", "tiff"), WriteMode.EXIF),
    **dict.fromkeys(("mov", "mp4", "3gp", "3g2"), WriteMode.QUICKTIME),
    "gif": WriteMode.XMP,
}
# IPTC is standard only in these; exiftool would put a non-standard block in a PNG.
IPTC_FORMATS = frozenset({"jpeg", "mpo", "tiff"})


def copy_date(date_source: str | None) -> bool:
    """Whether a file's date is no capture date: none was found, or only the file's mtime
    gave one, which is when it was copied. Such a file is written to undated/ unless a
    person confirmed a date (its source is then "user")."""
    return date_source in (None, "file:mtime")


def write_mode(fmt: str, kind: str, status: str) -> WriteMode:
    """How metadata is written for a file of this format (see the module docstring)."""
    if status == "error" or kind not in ("image", "video"):
        return WriteMode.AS_IS
    return WRITE_MODES.get(fmt, WriteMode.SIDECAR)


@dataclass(frozen=True, slots=True)
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
    ``copy_of`` is the file written in a left-out file's place. ``scanned_bundle`` is the
    bundle the scan found the file in (this folder's Live Photo or RAW+JPEG pair), which
    ``bundle`` no longer names for a lone written file or a left-out one.
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
    scanned_bundle: str | None = None
    sidecars: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    review_reason: str | None = None
    copy_of: int | None = None
    tag_path: str | None = None
    copy_tag_paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True)
class Outline:
    """What apply needs of a plan's items before it reads them (``plan_items`` makes them
    as they are read): how many items and discarded files there are, the folders their
    files go into (a killed run's temporary files there are removed first) and, for each
    sidecar that several items copy, how many (it is moved along with the last of them)."""

    items: int = 0
    discarded: int = 0
    folders: frozenset[str] = frozenset()
    trash_folders: frozenset[str] = frozenset()
    shared_sidecars: Mapping[str, int] = field(default_factory=dict)
    # The journals as the planner read them: apply, reading the items while they are
    # made, goes on from this index (adding what it writes) rather than hold a second one
    # (100,000 journaled outputs: ~90 MB each).
    journals: JournalIndex | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, items: Sequence[PlanItem], discarded: Sequence[PlanItem]) -> Outline:
        """The outline of items held in lists (a plan made by hand, or by ``make_plan``)."""
        uses: dict[str, int] = {}
        for item in items:
            for source, _target in item.sidecars:
                uses[source] = uses.get(source, 0) + 1
        return cls(
            items=len(items),
            discarded=len(discarded),
            folders=frozenset(
                {os.path.dirname(i.target) for i in items}
                | {os.path.dirname(t) for i in items for _, t in i.sidecars}
            ),
            trash_folders=frozenset(os.path.dirname(d.target) for d in discarded),
            shared_sidecars={s: n for s, n in uses.items() if n > 1},
        )


@dataclass
class Plan:
    """The whole output plan: items to write or skip, files held back, files discarded.

    ``outline`` is set by the planner before it makes the items (``plan_items``): what
    apply needs to know up front of items it reads one at a time."""

    output_dir: str
    items: list[PlanItem] = field(default_factory=list)
    held: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    discarded: list[PlanItem] = field(default_factory=list)
    undated_dir: str = "undated"
    reads: DiskReads = field(default_factory=DiskReads, compare=False, repr=False)
    outline: Outline | None = field(default=None, compare=False, repr=False)

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

    def to_dict(self, *, lazy: bool = False) -> dict[str, Any]:
        """The plan as JSON-ready data (``mediafix plan --json``); ``lazy``: its items as an
        iterator of their dicts, each made when it is read."""
        items = (item.to_dict() for item in self.items)
        return {
            "output": self.output_dir,
            "items": items if lazy else list(items),
            "held": [{"path": p, "reason": r} for p, r in self.held],
            "discarded": [
                {"path": d.source, "reason": d.reason, "trash": d.target} for d in self.discarded
            ],
            "counts": self.counts(),
        }
