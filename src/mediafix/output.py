"""Output: the library's decisions -> a plan -> files in OUTPUT, journaled; and undo.

The plan and the apply are pure domain code (``media/plan.py``, ``media/apply.py``); this
module turns rows into their inputs and records what was written back into the rows.
The CLI (``mediafix plan/apply/undo``), the ``output`` job and the web page call it.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix.config import Settings
from mediafix.media.apply import ApplyResult, UndoResult, apply_plan, read_journal, undo
from mediafix.media.exiftool import ExifTool
from mediafix.media.plan import Plan, PlanInput, make_plan
from mediafix.store import queries
from mediafix.store.db import session_scope
from mediafix.store.models import DuplicateGroup, DuplicateMember, File

__all__ = [
    "journal_dir",
    "last_journal",
    "output_dir_for",
    "plan_inputs",
    "preview",
    "run_apply",
    "undo_journal",
]


def output_dir_for(
    settings: Settings,
    session: Session | None = None,
    override: str | os.PathLike[str] | None = None,
) -> str:
    if override:
        return os.path.abspath(os.fspath(override))
    if session is not None:
        value = queries.effective_settings(session).get("output_dir")
        if value:
            return os.path.abspath(os.path.expanduser(str(value)))
    return str(settings.output_dir)


def journal_dir(settings: Settings) -> str:
    path = settings.data_dir / "journals"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def plan_inputs(session: Session) -> list[PlanInput]:
    """One ``PlanInput`` per media file, with the duplicate decisions applied.

    A file is discarded when a duplicate group says not to keep it; bundles (Live Photo,
    RAW + JPEG) stay whole: a bundle is discarded only when one of its members is discarded
    and none is kept by a group, otherwise every member is written.
    """
    rows = session.scalars(
        select(File).where(File.kind.in_(("image", "video"))).order_by(File.id)
    ).all()
    keep_by_file: dict[int, bool] = {}
    reason_by_file: dict[int, str] = {}
    groups = session.execute(
        select(
            DuplicateMember.file_id,
            DuplicateMember.keep,
            DuplicateGroup.id,
            DuplicateGroup.type,
            DuplicateGroup.keeper_id,
        ).join(DuplicateGroup, DuplicateGroup.id == DuplicateMember.group_id)
    ).all()
    paths = {r.id: r.path for r in rows}
    for file_id, keep, group_id, kind, keeper_id in groups:
        if keep:
            keep_by_file[file_id] = True
        elif not keep_by_file.get(file_id):
            keep_by_file[file_id] = False
            keeper = os.path.basename(paths.get(keeper_id or -1, "")) or "another copy"
            reason_by_file[file_id] = f"{kind} duplicate of {keeper} (group #{group_id})"

    by_bundle: dict[str, list[File]] = defaultdict(list)
    for r in rows:
        if r.bundle:
            by_bundle[r.bundle].append(r)
    for members in by_bundle.values():
        states = [keep_by_file.get(m.id) for m in members]
        discard = False in states and True not in states
        for m in members:
            if discard:
                keep_by_file[m.id] = False
                reason_by_file.setdefault(m.id, "its bundle partner is a discarded duplicate")
            elif keep_by_file.get(m.id) is False:
                keep_by_file[m.id] = True  # a kept partner keeps the whole bundle

    inputs = []
    for r in rows:
        keep = keep_by_file.get(r.id, True)
        # A date that only comes from the file's mtime is a copy date, not a capture date:
        # such a file is written to undated/ unless a person confirmed a date.
        mtime_only = r.date_source in (None, "file:mtime")
        inputs.append(
            PlanInput(
                file_id=r.id,
                path=r.path,
                root=r.root,
                rel_path=r.rel_path,
                sha256=r.sha256,
                kind=r.kind,
                format=r.format or "unknown",
                ext=r.ext or "",
                size=r.size,
                taken_at=None if mtime_only else r.taken_at,
                utc_offset=None if mtime_only else r.utc_offset,
                taken_at_utc=None if mtime_only else r.taken_at_utc,
                date_precision=r.date_precision,
                status=r.status,
                error=r.error,
                keep=keep,
                discard_reason=None if keep else reason_by_file.get(r.id),
                bundle=r.bundle,
                sidecars=tuple(r.sidecars or ()),
                tags=tuple(r.tags or ()),
                review_reason=(
                    f"date uncertain ({r.confidence_level or 'none'} confidence): "
                    f"{r.date_reason or 'no date found'}"
                )
                if r.status == "review"
                else None,
            )
        )
    return inputs


def preview(
    engine: Engine, settings: Settings, output: str | None = None, *, include_review: bool = False
) -> Plan:
    """The plan for the library as it stands (writes nothing)."""
    with session_scope(engine) as s:
        out = output_dir_for(settings, s, output)
        inputs = plan_inputs(s)
    return make_plan(inputs, out, include_review=include_review, journal_dir=journal_dir(settings))


def run_apply(
    engine: Engine,
    settings: Settings,
    output: str | None = None,
    *,
    move: bool = False,
    include_review: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[Plan, ApplyResult]:
    """Plan and apply; record each written file's output path in its row."""
    plan = preview(engine, settings, output, include_review=include_review)
    with ExifTool() as et:
        result = apply_plan(
            plan,
            et,
            journal_dir(settings),
            move=move,
            on_progress=on_progress,
            should_stop=should_stop,
        )
    with session_scope(engine) as s:
        for outcome in result.outcomes:
            if outcome.status not in ("written", "skipped"):
                continue
            row = s.get(File, outcome.file_id)
            if row is not None and outcome.target:
                row.output_path = outcome.target
                row.status = "written"
    return plan, result


def last_journal(settings: Settings) -> str | None:
    """The newest journal that still has something to undo (a re-run that skipped
    everything, or an apply already undone, is passed over)."""
    folder = Path(journal_dir(settings))
    for path in sorted((p for p in folder.glob("*.jsonl") if p.is_file()), reverse=True):
        written: set[str] = set()
        undone: set[str] = set()
        for record in read_journal(str(path)):
            if record.get("type") == "write" and record.get("target"):
                written.add(record["target"])
            elif record.get("type") == "undone" and record.get("target"):
                undone.add(record["target"])
        if written - undone:
            return str(path)
    return None


def undo_journal(engine: Engine | None, path: str) -> UndoResult:
    """Undo one apply; rows of removed outputs go back to their pre-apply status."""
    result = undo(path)
    if engine is not None and result.removed:
        removed = set(result.removed)
        with session_scope(engine) as s:
            for row in s.scalars(select(File).where(File.output_path.is_not(None))):
                if row.output_path in removed:
                    row.output_path = None
                    row.status = "ready" if (row.confidence or 0) > 0 and row.taken_at else "review"
    return result


def ignored_files(engine: Engine) -> list[tuple[str, str]]:
    """Files the scan found that are not photos or videos (listed, never written)."""
    with session_scope(engine) as s:
        rows = s.execute(
            select(File.path, File.error).where(File.kind == "other").order_by(File.path)
        ).all()
    return [(path, error or "not a photo or video") for path, error in rows]


def plan_json(plan: Plan, ignored: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """``mediafix plan --json``: the plan, plus the files it does not cover and why."""
    data = plan.to_dict()
    data.setdefault("counts", plan.counts())
    data["ignored"] = [{"path": p, "reason": r} for p, r in ignored or []]
    data["counts"]["ignored"] = len(data["ignored"])
    return data


def enqueue_output(move: bool = False, include_review: bool = False) -> int:
    """Queue an output job (plan + apply) for the workers; returns its job id."""
    from mediafix.jobs import tasks

    return tasks.enqueue_output(move=move, include_review=include_review)


def undo_last() -> int:
    """Queue an undo of the last apply that still has something to undo."""
    from mediafix.jobs import tasks

    return tasks.enqueue_undo(None)
