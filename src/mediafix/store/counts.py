"""The numbers the home page, the navigation badges and the scan summary show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediafix.store.models import GROUP_TYPES, DuplicateGroup, File, Job

__all__ = ["badge_counts", "exact_duplicate_count", "group_counts", "overview"]


def overview(session: Session) -> dict[str, Any]:
    """Counts for the home page and the navigation badges."""
    by_status = {
        k: n for k, n in session.execute(select(File.status, func.count()).group_by(File.status))
    }
    by_kind = {
        k: n for k, n in session.execute(select(File.kind, func.count()).group_by(File.kind))
    }
    groups: dict[str, dict[str, int]] = {t: {"pending": 0, "resolved": 0} for t in GROUP_TYPES}
    for type_, status, n in session.execute(
        select(DuplicateGroup.type, DuplicateGroup.status, func.count()).group_by(
            DuplicateGroup.type, DuplicateGroup.status
        )
    ):
        groups.setdefault(type_, {}).setdefault(status, 0)
        groups[type_][status] = n
    active = session.scalar(
        select(func.count(Job.id)).where(Job.status.in_(("pending", "running")))
    )
    return {
        "files": sum(by_status.values()),
        "by_status": by_status,
        "by_kind": by_kind,
        "review": by_status.get("review", 0),
        "errors": by_status.get("error", 0),
        "groups": groups,
        "pending_groups": sum(g.get("pending", 0) for g in groups.values()),
        "active_jobs": int(active or 0),
    }


def badge_counts(session: Session) -> dict[str, int]:
    """The two numbers the navigation shows (two indexed counts)."""
    pending = session.scalar(
        select(func.count(DuplicateGroup.id)).where(DuplicateGroup.status == "pending")
    )
    review = session.scalar(select(func.count(File.id)).where(File.status == "review"))
    return {"duplicates": int(pending or 0), "dates": int(review or 0)}


def exact_duplicate_count(session: Session) -> int:
    """Files that are byte-identical copies of another file (each group counts all but one)."""
    sub = (
        select(func.count(File.id).label("n"))
        .where(File.sha256.is_not(None), File.size > 0)
        .group_by(File.sha256)
        .having(func.count(File.id) > 1)
        .subquery()
    )
    return int(session.scalar(select(func.coalesce(func.sum(sub.c.n - 1), 0))) or 0)


def group_counts(session: Session) -> dict[str, int]:
    """Duplicate groups by type (every type, 0 when there is none)."""
    counts = dict.fromkeys(GROUP_TYPES, 0)
    for type_, n in session.execute(
        select(DuplicateGroup.type, func.count()).group_by(DuplicateGroup.type)
    ):
        counts[type_] = n
    return counts


def files_by_kind(session: Session) -> dict[str, int]:
    return {k: n for k, n in session.execute(select(File.kind, func.count()).group_by(File.kind))}


def status_counts(session: Session) -> dict[str, int]:
    return {
        k: n for k, n in session.execute(select(File.status, func.count()).group_by(File.status))
    }
