"""Duplicate groups as plain values, and the groups a full regroup makes of the pixel checks
known (for tests that compare a regroup by parts, or one with checks waiting, against it)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mediafix.config import Settings
from mediafix.services import copies
from mediafix.services.duplicates import regroup
from mediafix.store.db import get_engine, session_scope
from mediafix.store.models import DuplicateGroup, DuplicateMember, File


def group_values(settings: Settings, label: Any = File.path) -> list[tuple[Any, ...]]:
    """Every group as (type, keeper, ((member, keep, distance) ...), reasons, status), files
    named by their ``label`` column, sorted: the same for the same groups whatever their ids."""
    with session_scope(get_engine(settings.database_url)) as s:
        names = {row[0]: row[1] for row in s.execute(select(File.id, label))}
        members: dict[int, list[tuple[str, bool, int]]] = {}
        for m in s.scalars(select(DuplicateMember)):
            members.setdefault(m.group_id, []).append((names[m.file_id], bool(m.keep), m.distance))
        return sorted(
            (
                g.type,
                names.get(g.keeper_id),
                tuple(sorted(members.get(g.id, []))),
                tuple(g.reasons),
                g.status,
            )
            for g in s.scalars(select(DuplicateGroup))
        )


def regrouped_as_known(data: Path, copy: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The data folder ``data`` copied to ``copy`` and regrouped whole there with no new
    pixel check: the groups a full regroup makes of the verdicts known (its settings)."""
    shutil.copytree(data, copy)
    settings = Settings(data_dir=copy, output_dir=copy.with_name(f"{copy.name}-out"))
    with monkeypatch.context() as nothing_new:
        nothing_new.setattr(copies, "CHECK_BUDGET_BASE", 0)
        regroup(get_engine(settings.database_url), settings)
    return settings
