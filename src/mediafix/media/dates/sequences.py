"""Sequence inference: an undated file between dated neighbours of its camera's counter."""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mediafix.media.dates.filenames import strip_copy_suffix
from mediafix.media.dates.model import DateCandidate, DateOptions, DateVerdict, level_for
from mediafix.media.dates.zones import offset_at_local
from mediafix.media.values import Precision

__all__ = ["SequenceItem", "infer_sequences", "undated"]


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
    return (
        v.taken_at is not None
        and v.source not in (None, "file:mtime", "folder", "inferred:sequence")
        and v.confidence >= 0.5
        and v.precision is not None
        and v.precision.rank <= Precision.MINUTE.rank
    )


def undated(taken_at: datetime | None, source: str | None) -> bool:
    """A file its sequence may date: no date, or only its mtime's or its folder's."""
    return taken_at is None or source in ("file:mtime", "folder")


def infer_sequences(
    items: Sequence[SequenceItem], options: DateOptions
) -> dict[Hashable, DateVerdict]:
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
            if not undated(item.verdict.taken_at, item.verdict.source):
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


def _interpolate(
    item: SequenceItem,
    n: int,
    low: tuple[int, SequenceItem],
    high: tuple[int, SequenceItem],
    options: DateOptions,
) -> DateVerdict | None:
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
    offset_source = (
        (a.offset_source if offset == a.utc_offset else b.offset_source)
        if offset is not None
        else None
    )
    if offset is None:  # neighbours on different offsets and no instants: the home zone
        offset, offset_source = offset_at_local(options.home_zone, local), "home-zone"
        utc = local - timedelta(minutes=offset)
    if span <= timedelta(minutes=10):
        confidence, precision = 0.55, Precision.MINUTE
    elif span <= timedelta(hours=1):
        confidence, precision = 0.5, Precision.MINUTE
    else:
        confidence, precision = 0.4, Precision.DAY
    confidence = min(confidence, a.confidence, b.confidence)
    reason = (
        f"between {lo.name} ({a.taken_at:%Y-%m-%d %H:%M:%S}) and {hi.name} "
        f"({b.taken_at:%Y-%m-%d %H:%M:%S}) in the same camera sequence"
    )
    old = item.verdict
    if old.taken_at is not None:
        reason += f"; replaces {old.source} ({old.taken_at:%Y-%m-%d %H:%M:%S})"
    cand = DateCandidate(
        source="inferred:sequence",
        value=local,
        precision=precision,
        utc_offset=offset,
        offset_source=offset_source,
        utc=utc,
        confidence=confidence,
        note=f"between {lo.name} and {hi.name}",
    )
    return replace(
        old,
        taken_at=local,
        utc_offset=offset,
        offset_source=offset_source,
        taken_at_utc=utc,
        confidence=confidence,
        level=level_for(confidence),
        source="inferred:sequence",
        reason=reason,
        precision=precision,
        candidates=(cand, *old.candidates),
    )
