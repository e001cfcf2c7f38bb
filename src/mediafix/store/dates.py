"""Date review: the files whose date a person should look at, and the date a person gives.

A person's date is written twice, on purpose: into the file's row (the verdict columns, as
the rest of the pipeline reads them) and as a ``Decision`` row naming the file by id and
sha256, which a rescan replays. Functions here never commit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from mediafix.media.dates import person_verdict
from mediafix.media.values import format_offset, iso
from mediafix.store.models import Decision, File
from mediafix.store.queries import light, like_escape
from mediafix.store.records import write_verdict

__all__ = [
    "DateChange",
    "apply_date",
    "files_to_date",
    "in_folder",
    "review_files",
    "review_folders",
    "review_query",
]


@dataclass
class DateChange:
    """A date a person confirmed for one file (what ``apply_date`` writes)."""

    taken_at: datetime
    utc_offset: int | None
    offset_source: str | None
    precision: str
    how: str  # candidate | typed | shift | accept
    detail: dict[str, Any] = field(default_factory=dict)


def review_folders(session: Session, status: str = "review") -> list[tuple[str, int]]:
    """(folder, files) of the files with ``status``, biggest first."""
    counts: dict[str, int] = {}
    for (path,) in session.execute(select(File.path).where(File.status == status)):
        folder = os.path.dirname(path)
        counts[folder] = counts.get(folder, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def in_folder(folder: str) -> Any:
    """SQL condition: the file lies directly in ``folder`` (not in a subfolder)."""
    prefix = like_escape(folder.rstrip("/") + "/")
    return and_(
        File.path.like(prefix + "%", escape="\\"),
        File.path.not_like(prefix + "%/%", escape="\\"),
    )


def review_query(
    status: str | None = "review",
    folder: str | None = None,
    level: str | None = None,
    q: str | None = None,
    ids: Sequence[int] | None = None,
) -> Select[Any]:
    query = select(File)
    if status:
        query = query.where(File.status == status)
    if folder:
        query = query.where(in_folder(folder))
    if level:
        query = query.where(File.confidence_level == level)
    if q:
        query = query.where(File.name.like("%" + like_escape(q) + "%", escape="\\"))
    if ids is not None:
        query = query.where(File.id.in_(list(ids)))
    return query


def review_files(
    session: Session,
    status: str | None = "review",
    folder: str | None = None,
    level: str | None = None,
    q: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[File], int]:
    """One page of files to date (by folder and name, so a camera's run stays together)."""
    query = review_query(status, folder, level, q)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(light(query.order_by(File.path)).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def apply_date(session: Session, f: File, change: DateChange) -> Decision:
    """Write a person's date to the file (confidence 1.0, source "user") and remember it."""
    before = {
        "taken_at": iso(f.taken_at),
        "utc_offset": format_offset(f.utc_offset),
        "source": f.date_source,
        "confidence": f.confidence,
    }
    verdict = person_verdict(
        change.taken_at, change.utc_offset, change.offset_source, change.precision, _reason(change)
    )
    candidate = {
        "source": "user",
        "value": change.taken_at.isoformat(),
        "utc_offset": format_offset(change.utc_offset),
        "precision": change.precision,
        "confidence": 1.0,
        "utc": iso(verdict.taken_at_utc, utc=True),
        "note": verdict.reason,
    }
    write_verdict(
        f, verdict, [candidate] + [c for c in (f.candidates or []) if c.get("source") != "user"]
    )
    if f.status == "review":
        f.status = "ready"
    payload = {
        "taken_at": change.taken_at.isoformat(),
        "utc_offset": format_offset(change.utc_offset),
        "offset_source": f.offset_source,
        "precision": change.precision,
        "how": change.how,
        "before": before,
        **change.detail,
    }
    decision = Decision(kind="date", file_id=f.id, sha256=f.sha256, payload=payload)
    session.add(decision)
    return decision


def _reason(change: DateChange) -> str:
    if change.how == "candidate":
        return f"chosen by a person from {change.detail.get('source') or 'a candidate'}"
    if change.how == "shift":
        minutes = int(change.detail.get("shift_minutes", 0))
        sign = "+" if minutes >= 0 else "-"
        h, m = divmod(abs(minutes), 60)
        return f"shifted by a person ({sign}{h}h{m:02d}m: camera clock was off)"
    if change.how == "accept":
        return f"confirmed by a person (was {change.detail.get('source') or 'a guess'})"
    return "typed by a person"


def files_to_date(
    session: Session, ids: Sequence[int] | None, folder: str | None, limit: int
) -> list[File]:
    """The photos and videos a bulk date change is for: ``ids`` (at most ``limit`` of them),
    else those directly in ``folder``; by path."""
    query = select(File).where(File.kind.in_(("image", "video")))
    if ids:
        query = query.where(File.id.in_(list(ids)[:limit]))
    else:
        query = query.where(in_folder(str(folder)))
    return list(session.scalars(query.order_by(File.path).limit(limit)))
