"""The one mapping between the domain's values and the library's rows.

Every value that becomes columns, and every set of columns that becomes a value, passes
here, so a column is named in one place:

* :func:`write_analysed`: a scanned file (``media.analysis.Analysed``: where it was found,
  its probe, its evidence and verdict) -> its ``File`` row;
* :data:`VERDICT_COLUMNS`, :func:`verdict_columns`, :func:`write_verdict`,
  :func:`verdict_of`: a ``DateVerdict`` <-> the date columns;
* :func:`new_row`, :func:`write_found`, :func:`found_of`: what discovery found <-> a
  registered row (the ``Found`` a worker then probes);
* :func:`keeper_input`: a row -> the ``KeeperInput`` the keeper choice reads;
* :data:`PLAN_COLUMNS`, :class:`PlanRow`, :func:`plan_input`: rows -> the ``PlanInput`` the
  plan reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Text, type_coerce

from mediafix.media.dates import DateVerdict
from mediafix.media.discover import Found
from mediafix.media.keeper import KeeperInput, has_camera_metadata
from mediafix.media.plan import PlanInput
from mediafix.media.plan.model import copy_date
from mediafix.media.values import Precision, camera_name
from mediafix.store.models import File

if TYPE_CHECKING:
    # Only named here: the probe's imports (numpy, Pillow: ~20 MB) stay out of the
    # processes that plan and apply.
    from mediafix.media.analysis import Analysed

__all__ = [
    "PLAN_COLUMNS",
    "VERDICT_COLUMNS",
    "PlanRow",
    "found_of",
    "keeper_input",
    "new_row",
    "plan_input",
    "verdict_columns",
    "verdict_of",
    "write_analysed",
    "write_found",
    "write_verdict",
]

# -- the date verdict ------------------------------------------------------------------

VERDICT_COLUMNS = (
    File.taken_at,
    File.utc_offset,
    File.offset_source,
    File.taken_at_utc,
    File.confidence,
    File.confidence_level,
    File.date_source,
    File.date_reason,
    File.date_precision,
)


def verdict_columns(v: DateVerdict, *, candidates: bool = True) -> dict[str, Any]:
    """The ``files`` columns a verdict fills; without the candidates when only the verdict
    itself is looked at."""
    fields: dict[str, Any] = {
        "taken_at": v.taken_at,
        "utc_offset": v.utc_offset,
        "offset_source": v.offset_source,
        "taken_at_utc": v.taken_at_utc,
        "confidence": v.confidence,
        "confidence_level": v.level,
        "date_source": v.source,
        "date_reason": v.reason,
        "date_precision": v.precision.value if v.precision else None,
    }
    if candidates:
        fields["candidates"] = [c.to_dict() for c in v.candidates]
    return fields


def write_verdict(row: File, v: DateVerdict, candidates: list[Any] | None = None) -> None:
    """Set the row's date columns from ``v``; its candidates are ``candidates`` when given
    (a person's date or an inferred one keeps what the scan found), else the verdict's."""
    for key, value in verdict_columns(v, candidates=candidates is None).items():
        setattr(row, key, value)
    if candidates is not None:
        row.candidates = candidates


def verdict_of(row: Any) -> DateVerdict:
    """The verdict a row (or a result row with the ``VERDICT_COLUMNS``) holds, without its
    candidates."""
    precision = Precision(row.date_precision) if row.date_precision else None
    return DateVerdict(
        taken_at=row.taken_at,
        utc_offset=row.utc_offset,
        offset_source=row.offset_source,
        taken_at_utc=row.taken_at_utc,
        confidence=row.confidence or 0.0,
        level=row.confidence_level or "none",
        source=row.date_source,
        reason=row.date_reason or "",
        precision=precision,
        candidates=(),
    )


# -- a scanned file ----------------------------------------------------------------------


def write_analysed(row: File, item: Analysed, status: str, job_id: int | None) -> None:
    """Fill ``row`` from a scanned file; ``status`` is what the analysis implies
    (``media.analysis.status_of``)."""
    found, probe, v = item.found, item.probe, item.verdict
    row.root = found.root
    row.rel_path = found.rel_path
    row.path = found.path
    row.name = os.path.basename(found.path)
    row.kind = probe.kind
    row.format = probe.format
    row.ext = probe.ext
    row.ext_mismatch = probe.ext_mismatch
    row.size = probe.size if probe.size is not None else found.size
    row.mtime = probe.mtime if probe.mtime is not None else found.mtime
    row.sha256 = probe.sha256
    row.phash = probe.phash
    row.detail_hash = probe.detail_hash
    row.copy_keys = probe.copy_keys
    row.width, row.height, row.orientation = probe.width, probe.height, probe.orientation
    row.make = probe.make[:128] if probe.make else None
    row.model = probe.model[:128] if probe.model else None
    row.content_id = probe.content_id()
    row.meta = _jsonable(probe.metadata)
    row.sidecars = list(found.sidecars)
    row.error = probe.error
    row.evidence = item.evidence.to_json() if item.evidence is not None else None
    if v is not None:
        write_verdict(row, v)
    else:
        row.taken_at = row.taken_at_utc = None
        row.utc_offset = None
        row.offset_source = row.date_source = row.date_precision = None
        row.confidence, row.confidence_level = 0.0, "none"
        row.date_reason = "not a photo or video" if probe.kind == "other" else None
        row.candidates = []
    row.status = status
    row.job_id = job_id
    row.output_path = None


def _jsonable(value: Any) -> Any:
    """exiftool values are JSON already, but keep surrogate-escaped text storable."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def new_row(found: Found) -> File:
    """A row for a file just found, before it is probed (a kind nothing reads yet)."""
    return File(
        path=found.path,
        root=found.root,
        rel_path=found.rel_path,
        name=os.path.basename(found.path),
        kind="other",
        ext_mismatch=False,
        candidates=[],
        meta={},
        tags=[],
        sidecars=[],
    )


def write_found(row: File, found: Found) -> None:
    """What discovery says of a file: where it is, its size and mtime, its sidecars."""
    row.root, row.rel_path = found.root, found.rel_path
    row.size, row.mtime = found.size, found.mtime
    row.sidecars = list(found.sidecars)
    row.error = found.error


def found_of(row: Any) -> Found:
    """What discovery found, as a registered row remembers it (for the worker that probes)."""
    return Found(
        row.path, row.root, row.rel_path, row.size, row.mtime, list(row.sidecars or []), row.error
    )


# -- duplicates ----------------------------------------------------------------------------


def keeper_input(
    index: int, row: Any, partners: Mapping[str, int] | None = None, edited: str = ""
) -> KeeperInput:
    """What the keeper choice reads of a row; ``partners`` counts the members of each bundle
    (a copy in a bundle has ``count - 1`` partners beside it); ``edited`` says how the file
    is an edited copy of another (a crop, a screenshot...), from ``media.copycheck``. A row
    without ``meta`` carries what the keeper reads of it: ``camera_metadata`` and
    ``metadata_count`` (``services.grouprows.GroupRow``)."""
    if hasattr(row, "metadata_count"):
        camera_metadata, metadata_count = row.camera_metadata, row.metadata_count
    else:
        meta = row.meta or {}
        camera_metadata, metadata_count = has_camera_metadata(meta), len(meta)
    return KeeperInput(
        index=index,
        path=row.path,
        format=row.format or "unknown",
        width=row.width,
        height=row.height,
        size=row.size or 0,
        has_camera_metadata=camera_metadata,
        taken_at=row.taken_at_utc or row.taken_at,
        metadata_count=metadata_count,
        camera=camera_name(row.make, row.model),
        partners=(partners or {}).get(row.bundle or "", 1) - 1 if row.bundle else 0,
        edited=edited,
    )


# -- the plan ------------------------------------------------------------------------------

# What a plan needs of a file: no ``meta`` or ``candidates`` (the big JSON blobs), no ORM
# objects. ``sidecars`` and ``tags`` come as their JSON text, decoded only when not empty.
PLAN_COLUMNS = (
    File.id,
    File.path,
    File.root,
    File.rel_path,
    File.sha256,
    File.kind,
    File.format,
    File.ext,
    File.size,
    File.taken_at,
    File.utc_offset,
    File.taken_at_utc,
    File.date_precision,
    File.status,
    File.error,
    File.bundle,
    type_coerce(File.sidecars, Text).label("sidecars"),
    type_coerce(File.tags, Text).label("tags"),
    File.date_source,
    File.confidence_level,
    File.date_reason,
    File.confidence,
)


class PlanRow(NamedTuple):
    """One media file as the plan reads it (``PLAN_COLUMNS``, in that order): a plain
    tuple, so two reads of the library compare with ``==``."""

    id: int
    path: str
    root: str
    rel_path: str
    sha256: str | None
    kind: str
    format: str | None
    ext: str | None
    size: int | None
    taken_at: Any
    utc_offset: int | None
    taken_at_utc: Any
    date_precision: str | None
    status: str
    error: str | None
    bundle: str | None
    sidecars: Any  # JSON text (SQLite) or a decoded list
    tags: Any
    date_source: str | None
    confidence_level: str | None
    date_reason: str | None
    confidence: float | None


def _json_list(value: Any) -> tuple[Any, ...]:
    """A JSON list column read as text (SQLite) or as a value (a driver that decodes JSON)."""
    if isinstance(value, str):
        if value == "[]":  # nearly every row: skip the decoder
            return ()
        value = json.loads(value)
    return tuple(value or ())


def plan_input(
    row: PlanRow,
    *,
    keep: bool,
    discard_reason: str | None,
    copy_of: int | None,
    unit: str | None,
    tag_path: str,
    copy_tag_paths: Sequence[str],
) -> PlanInput:
    """The ``PlanInput`` of a row, with what the duplicate decisions made of it (``keep``,
    why not, the file written in its place, the unit written together) and its tag paths."""
    dated = not copy_date(row.date_source)
    return PlanInput(
        file_id=row.id,
        path=row.path,
        root=row.root,
        rel_path=row.rel_path,
        sha256=row.sha256,
        kind=row.kind,
        format=row.format or "unknown",
        ext=row.ext or "",
        size=row.size,
        taken_at=row.taken_at if dated else None,
        utc_offset=row.utc_offset if dated else None,
        taken_at_utc=row.taken_at_utc if dated else None,
        date_precision=row.date_precision,
        date_source=row.date_source if dated else None,
        confidence=row.confidence or 0.0,
        status=row.status,
        error=row.error,
        keep=keep,
        discard_reason=discard_reason,
        copy_of=copy_of,
        bundle=unit if keep else row.bundle,
        scanned_bundle=row.bundle,
        sidecars=_json_list(row.sidecars),
        tags=_json_list(row.tags),
        tag_path=tag_path,
        copy_tag_paths=tuple(copy_tag_paths),
        review_reason=(
            f"date uncertain ({row.confidence_level or 'none'} confidence): "
            f"{row.date_reason or 'no date found'}"
        )
        if row.status == "review"
        else None,
    )
