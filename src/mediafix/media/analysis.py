"""One file after the per-file stages: the work item a scan fills and the library saves.

Which stage fills which field (the pipeline's ``STAGES`` run in this order):

* ``discover`` -> ``found``: path, root, path below it, size, mtime, paired sidecars, and an
  ``error`` when the entry cannot be used (a link out of its root);
* ``probe`` -> ``probe``: kind and format from the content, canonical extension, sha256,
  perceptual and detail hashes, size in pixels, orientation, camera, the exiftool metadata,
  and an ``error`` when the file cannot be read (it stays a row: it is never dropped);
* ``date`` -> ``evidence`` (every date the file offers, before any zone) and ``verdict``
  (one date, its offset, confidence and reason); both stay None for a file that is not a
  photo or video.

The later stages work on the library's rows (``store.models.File``, whose docstring goes on
from here): group, review, plan, apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediafix.media.dates import DateVerdict, Evidence
from mediafix.media.discover import Found
from mediafix.media.probe import Probe
from mediafix.media.values import camera_name

__all__ = ["Analysed", "inspect_record", "media_status", "status_of"]


@dataclass
class Analysed:
    """One file after the per-file stages: where it was found, its probe, its date verdict."""

    found: Found  # discover
    probe: Probe  # probe
    verdict: DateVerdict | None = None  # date
    notes: list[str] = field(default_factory=list)
    evidence: Evidence | None = None  # date: what the verdict was judged from (re-dating)


def status_of(item: Analysed, review_confidence: float) -> str:
    """The row status after analysis: error, skipped (not media), review or ready.

    A photo that could only partly be read (truncated, corrupt) is ``error`` but keeps
    every fact that could be read: it is never dropped from the archive.
    """
    probe = item.probe
    if probe.kind not in ("image", "video"):
        return "error" if probe.error else "skipped"
    v = item.verdict
    dated = v is not None and v.taken_at is not None
    return media_status(probe.error, dated, v.confidence if v else None, review_confidence)


def media_status(
    error: str | None,
    dated: bool,
    confidence: float | None,
    review_confidence: float,
    *,
    by_person: bool = False,
) -> str:
    """The status of a photo or video (the one rule of the scan, re-dating and undo):
    ``error`` when it could only partly be read (still the user's file: the plan writes it
    as it is), else ``ready`` when dated by a person or at least as sure as
    ``review_confidence``, else ``review``."""
    if error:
        return "error"
    if dated and (by_person or (confidence or 0.0) >= review_confidence):
        return "ready"
    return "review"


def inspect_record(item: Analysed) -> dict[str, Any]:
    """The ``mediafix inspect --json`` object for one file (a stable contract)."""
    probe = item.probe
    v = item.verdict
    record: dict[str, Any] = {
        "path": probe.path,
        "kind": probe.kind,
        "error": probe.error,
        "taken_at": None,
        "utc_offset": None,
        "taken_at_utc": None,
        "confidence": 0.0 if v is None else None,
        "confidence_level": "none",
        "source": None,
        "reason": None,
        "candidates": [],
    }
    if v is not None:
        d = v.to_dict()
        for key in (
            "taken_at",
            "utc_offset",
            "taken_at_utc",
            "confidence",
            "confidence_level",
            "source",
            "reason",
            "candidates",
            "offset_source",
            "precision",
        ):
            record[key] = d.get(key)
    record.update(
        {
            "sha256": probe.sha256,
            "phash": probe.phash,
            "width": probe.width,
            "height": probe.height,
            "format": probe.format,
            "ext_mismatch": probe.ext_mismatch,
            "size": probe.size,
            "orientation": probe.orientation,
            "camera": camera_name(probe.make, probe.model),
            "sidecars": item.found.sidecars,
        }
    )
    return record
