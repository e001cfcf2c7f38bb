"""Queries the CLI, jobs and web pages share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mediafix.store.models import File, Setting

__all__ = [
    "effective_settings",
    "exact_duplicate_count",
    "files_by_kind",
    "set_setting",
    "status_counts",
]


def effective_settings(session: Session) -> dict[str, Any]:
    """Settings changed in the web page (they override the environment's)."""
    return {s.key: s.value for s in session.scalars(select(Setting))}


def set_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value


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


def files_by_kind(session: Session) -> dict[str, int]:
    return {k: n for k, n in session.execute(select(File.kind, func.count()).group_by(File.kind))}


def status_counts(session: Session) -> dict[str, int]:
    return {
        k: n for k, n in session.execute(select(File.status, func.count()).group_by(File.status))
    }
