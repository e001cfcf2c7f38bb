"""Queries and writes behind the web pages: duplicate review, date review, library, overview.

Everything a person decides is written twice, on purpose: as the working state the rest of
the pipeline reads (``DuplicateMember.keep``, ``DuplicateGroup.status``, ``File.taken_at``,
``File.tags``) and as a ``Decision`` row naming the file by id *and* sha256, which a regroup
or a rescan replays. Functions here take a session and plain values and never commit; the
caller's ``session_scope`` (or the web request) does.

Wrong input raises ``ReviewError`` (its text is shown to the person as it is); an unknown
id raises ``LookupError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    cast,
    exists,
    extract,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, load_only, selectinload

from mediafix.media.values import format_offset, iso
from mediafix.store.models import Decision, DuplicateGroup, DuplicateMember, File, Job

__all__ = [
    "FILE_STATUSES",
    "GROUP_TYPES",
    "LibraryFilter",
    "ReviewError",
    "accept_suggestions",
    "all_tags",
    "apply_date",
    "decide_group",
    "differing_fields",
    "file_record",
    "group_detail",
    "group_list",
    "groups_json",
    "library_page",
    "neighbour_group",
    "not_duplicates",
    "overview",
    "review_files",
    "review_folders",
    "set_tags",
    "suggestion_counts",
    "year_counts",
]

GROUP_TYPES = ("exact", "near", "burst")
FILE_STATUSES = ("new", "probing", "ready", "review", "error", "skipped", "written")
DATE_FIELDS = (
    "taken_at",
    "utc_offset",
    "offset_source",
    "taken_at_utc",
    "confidence",
    "confidence_level",
    "date_source",
    "date_reason",
    "date_precision",
)


class ReviewError(ValueError):
    """A request that cannot be carried out; the message is for the person who made it."""


# -- shapes --------------------------------------------------------------------------------


def camera(f: File) -> str | None:
    return " ".join(x for x in (f.make, f.model) if x) or None


def file_record(f: File) -> dict[str, Any]:
    """One file as JSON: the ``mediafix inspect --json`` keys, plus its id and review state."""
    return {
        "id": f.id,
        "path": f.path,
        "kind": f.kind,
        "error": f.error,
        "taken_at": iso(f.taken_at),
        "utc_offset": format_offset(f.utc_offset),
        "taken_at_utc": iso(f.taken_at_utc, utc=True),
        "confidence": f.confidence,
        "confidence_level": f.confidence_level or "none",
        "source": f.date_source,
        "reason": f.date_reason,
        "candidates": list(f.candidates or []),
        "sha256": f.sha256,
        "phash": f.phash,
        "width": f.width,
        "height": f.height,
        "offset_source": f.offset_source,
        "precision": f.date_precision,
        "format": f.format,
        "ext_mismatch": bool(f.ext_mismatch),
        "size": f.size,
        "orientation": f.orientation,
        "camera": camera(f),
        "sidecars": list(f.sidecars or []),
        "status": f.status,
        "tags": list(f.tags or []),
        "output_path": f.output_path,
    }


# Columns a page of files needs (never the exiftool dump in ``meta``).
_LIST_COLUMNS = (
    File.id,
    File.root,
    File.rel_path,
    File.path,
    File.name,
    File.kind,
    File.error,
    File.taken_at,
    File.utc_offset,
    File.taken_at_utc,
    File.offset_source,
    File.confidence,
    File.confidence_level,
    File.date_source,
    File.date_reason,
    File.date_precision,
    File.candidates,
    File.sha256,
    File.phash,
    File.width,
    File.height,
    File.format,
    File.ext_mismatch,
    File.size,
    File.orientation,
    File.make,
    File.model,
    File.sidecars,
    File.status,
    File.tags,
    File.output_path,
    File.job_id,
    File.bundle,  # group_dict shows it: left out, each member cost a query of its own
)


def _light(query: Select[Any]) -> Select[Any]:
    return query.options(load_only(*_LIST_COLUMNS))


# -- overview ------------------------------------------------------------------------------


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


# -- duplicate groups ----------------------------------------------------------------------


def _group_query(status: str | None, types: Sequence[str] | None) -> Select[Any]:
    query = select(DuplicateGroup)
    if status in ("pending", "resolved"):
        query = query.where(DuplicateGroup.status == status)
    if types:
        query = query.where(DuplicateGroup.type.in_(list(types)))
    return query


def group_list(
    session: Session,
    status: str | None = "pending",
    types: Sequence[str] | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """One page of groups (oldest first) in the ``mediafix dupes --json`` shape, and the total."""
    query = _group_query(status, types)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = query.order_by(DuplicateGroup.id).offset(offset).limit(limit)
    # The members of the whole page in one query, not one query per group.
    groups = session.scalars(page.options(selectinload(DuplicateGroup.members))).all()
    ids = {m.file_id for g in groups for m in g.members}
    files = files_by_id(session, ids)
    return [group_dict(g, files) for g in groups], int(total)


def files_by_id(session: Session, ids: Iterable[int]) -> dict[int, File]:
    ids = list(ids)
    found: dict[int, File] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for f in session.scalars(_light(select(File).where(File.id.in_(chunk)))):
            found[f.id] = f
    return found


def group_dict(group: DuplicateGroup, files: dict[int, File]) -> dict[str, Any]:
    """A group as JSON (the shape of ``mediafix dupes --json``, plus file ids and metadata)."""
    keeper = files.get(group.keeper_id) if group.keeper_id else None
    members = []
    for m in group.members:
        f = files.get(m.file_id)
        if f is None:
            continue
        members.append(
            {
                "path": f.path,
                "keep": bool(m.keep),
                "distance": m.distance,
                "file_id": f.id,
                "suggested": f.id == group.keeper_id,
                "size": f.size,
                "width": f.width,
                "height": f.height,
                "format": f.format,
                "taken_at": iso(f.taken_at),
                "utc_offset": format_offset(f.utc_offset),
                "camera": camera(f),
                "kind": f.kind,
                "sha256": f.sha256,
                "bundle": f.bundle,
            }
        )
    return {
        "id": group.id,
        "type": group.type,
        "status": group.status,
        "keeper": keeper.path if keeper else None,
        "keeper_id": group.keeper_id,
        "reasons": list(group.reasons or []),
        "members": members,
    }


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _facts(f: File) -> dict[str, str]:
    taken = "no date"
    if f.taken_at:
        taken = f.taken_at.replace(microsecond=0).isoformat(sep=" ")
        if f.utc_offset is not None:
            taken += f" {format_offset(f.utc_offset)}"
    return {
        "name": f.name or os.path.basename(f.path),
        "folder": os.path.dirname(f.path),
        "size": human_size(f.size),
        "resolution": f"{f.width}×{f.height}" if f.width and f.height else "unknown",
        "format": (f.format or "unknown").upper(),
        "taken": taken,
        "date source": f.date_source or "none",
        "camera": camera(f) or "none",
    }


FACT_ORDER = ("size", "resolution", "format", "taken", "date source", "camera", "name", "folder")


def differing_fields(files: Sequence[File]) -> tuple[list[str], dict[str, str]]:
    """(labels whose values differ between the files, {label: value} of what they share)."""
    facts = [_facts(f) for f in files]
    differ: list[str] = []
    same: dict[str, str] = {}
    for label in FACT_ORDER:
        values = {fact[label] for fact in facts}
        if len(values) > 1:
            differ.append(label)
        elif facts:
            same[label] = facts[0][label]
    return differ, same


def group_detail(session: Session, group_id: int) -> dict[str, Any]:
    """One group for the review page: its JSON, plus per member only the facts that differ."""
    group = session.get(DuplicateGroup, group_id)
    if group is None:
        raise LookupError(f"no duplicate group {group_id}")
    files = files_by_id(session, [m.file_id for m in group.members])
    data = group_dict(group, files)
    ordered = [files[m["file_id"]] for m in data["members"]]
    differ, same = differing_fields(ordered)
    folders = [os.path.dirname(f.path) for f in ordered]
    common = os.path.commonpath(folders) if folders else ""
    for member, f in zip(data["members"], ordered, strict=True):
        facts = _facts(f)
        if "folder" in differ and common:
            # Folders differ: show each from the folder they share ("My photos/backup").
            facts["folder"] = os.path.relpath(os.path.dirname(f.path), os.path.dirname(common))
        member["facts"] = {label: facts[label] for label in differ}
        member["name"] = facts["name"]
    data["differ"] = differ
    data["same"] = same
    return data


def neighbour_group(
    session: Session, group_id: int, forward: bool = True, status: str | None = "pending"
) -> int | None:
    """The id of the next (or previous) group after ``group_id`` in the list's order."""
    query = _group_query(status, None).with_only_columns(DuplicateGroup.id)
    if forward:
        query = query.where(DuplicateGroup.id > group_id).order_by(DuplicateGroup.id)
    else:
        query = query.where(DuplicateGroup.id < group_id).order_by(DuplicateGroup.id.desc())
    return session.scalar(query.limit(1))


def first_group(session: Session, status: str | None = "pending") -> int | None:
    return session.scalar(
        _group_query(status, None)
        .with_only_columns(DuplicateGroup.id)
        .order_by(DuplicateGroup.id)
        .limit(1)
    )


def decide_group(session: Session, group_id: int, keep_ids: Iterable[int]) -> DuplicateGroup:
    """Keep ``keep_ids`` of a group and discard the rest: decisions, member rows, resolved.

    At least one file must be kept (discarding never deletes, but a group with no keeper
    would leave the picture out of the archive altogether).
    """
    group = session.get(DuplicateGroup, group_id)
    if group is None:
        raise LookupError(f"no duplicate group {group_id}")
    keep = set(keep_ids)
    members = {m.file_id for m in group.members}
    strangers = keep - members
    if strangers:
        raise ReviewError(f"file {min(strangers)} is not in duplicate group {group_id}")
    if not keep:
        raise ReviewError("keep at least one file of the group")
    _decide(session, [group], {group.id: keep})
    return group


def _decide(session: Session, groups: Sequence[DuplicateGroup], keep: dict[int, set[int]]) -> None:
    shas = dict(
        session.execute(
            select(File.id, File.sha256).where(
                File.id.in_({m.file_id for g in groups for m in g.members})
            )
        ).all()
    )
    rows: list[dict[str, Any]] = []
    choice: dict[int, bool] = {}
    now = datetime.now(UTC).replace(tzinfo=None)
    for group in groups:
        for m in group.members:
            kept = m.file_id in keep[group.id]
            m.keep = kept
            choice[m.file_id] = kept
            rows.append(
                {
                    "kind": "keep" if kept else "discard",
                    "file_id": m.file_id,
                    "sha256": shas.get(m.file_id),
                    "other_sha256": None,
                    "payload": {"group_id": group.id, "group_type": group.type},
                    "created_at": now,
                }
            )
        group.status = "resolved"
    session.flush()
    # A file in two groups (an exact copy that also looks like another photo) follows the
    # same choice everywhere, as a regroup would make it.
    decided = {g.id for g in groups}
    for other in session.scalars(
        select(DuplicateMember).where(
            DuplicateMember.file_id.in_(list(choice)), DuplicateMember.group_id.not_in(decided)
        )
    ):
        other.keep = choice[other.file_id]
    for start in range(0, len(rows), 1000):
        session.execute(insert(Decision), rows[start : start + 1000])


def not_duplicates(session: Session, group_id: int) -> DuplicateGroup:
    """Say the group's files are different pictures: every pair is remembered, all are kept."""
    group = session.get(DuplicateGroup, group_id)
    if group is None:
        raise LookupError(f"no duplicate group {group_id}")
    if group.type == "exact":
        raise ReviewError(
            "these files are byte-identical copies; to keep every copy, keep them all instead"
        )
    files = files_by_id(session, [m.file_id for m in group.members])
    shas = sorted({f.sha256 for f in files.values() if f.sha256})
    now = datetime.now(UTC).replace(tzinfo=None)
    for i, a in enumerate(shas):
        for b in shas[i + 1 :]:
            session.add(
                Decision(
                    kind="not_duplicate",
                    sha256=a,
                    other_sha256=b,
                    payload={"group_id": group.id, "group_type": group.type},
                    created_at=now,
                )
            )
    for m in group.members:
        m.keep = True
    group.status = "resolved"
    session.flush()
    return group


def suggestion_counts(session: Session, types: Sequence[str]) -> dict[str, int]:
    """What accepting every pending suggestion of ``types`` would do: groups, kept, discarded."""
    base = and_(DuplicateGroup.status == "pending", DuplicateGroup.type.in_(list(types)))
    groups = session.scalar(select(func.count(DuplicateGroup.id)).where(base)) or 0
    counts = dict(
        session.execute(
            select(DuplicateMember.keep, func.count())
            .join(DuplicateGroup, DuplicateGroup.id == DuplicateMember.group_id)
            .where(base)
            .group_by(DuplicateMember.keep)
        ).all()
    )
    return {
        "groups": int(groups),
        "kept": int(counts.get(True, 0)),
        "discarded": int(counts.get(False, 0)),
    }


def accept_suggestions(
    session: Session, types: Sequence[str], expect_groups: int | None = None
) -> dict[str, int]:
    """Resolve every pending group of ``types`` as suggested (bursts: every frame kept).

    With ``expect_groups`` (the number the person confirmed), nothing is written when the
    groups changed meanwhile: a ``ReviewError`` says so.
    """
    unknown = set(types) - set(GROUP_TYPES)
    if unknown or not types:
        raise ReviewError(f"type must be some of {', '.join(GROUP_TYPES)}")
    counts = suggestion_counts(session, types)
    if expect_groups is not None and expect_groups != counts["groups"]:
        raise ReviewError(
            f"the groups changed since you confirmed: {counts['groups']} pending now, "
            f"not {expect_groups}; look again and confirm"
        )
    query = (
        select(DuplicateGroup)
        .where(DuplicateGroup.status == "pending", DuplicateGroup.type.in_(list(types)))
        .order_by(DuplicateGroup.id)
    )
    groups = list(session.scalars(query))
    for start in range(0, len(groups), 500):
        chunk = groups[start : start + 500]
        keep: dict[int, set[int]] = {}
        for g in chunk:
            chosen = {m.file_id for m in g.members if m.keep}
            if not chosen and g.keeper_id is not None:
                chosen = {g.keeper_id}
            if not chosen:
                chosen = {m.file_id for m in g.members}
            keep[g.id] = chosen
        _decide(session, chunk, keep)
    return counts


# -- dates ---------------------------------------------------------------------------------


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


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def in_folder(folder: str) -> Any:
    """SQL condition: the file lies directly in ``folder`` (not in a subfolder)."""
    prefix = _like_escape(folder.rstrip("/") + "/")
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
        query = query.where(File.name.like("%" + _like_escape(q) + "%", escape="\\"))
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
    rows = session.scalars(_light(query.order_by(File.path)).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def apply_date(session: Session, f: File, change: DateChange) -> Decision:
    """Write a person's date to the file (confidence 1.0, source "user") and remember it."""
    before = {
        "taken_at": iso(f.taken_at),
        "utc_offset": format_offset(f.utc_offset),
        "source": f.date_source,
        "confidence": f.confidence,
    }
    f.taken_at = change.taken_at
    f.utc_offset = change.utc_offset
    f.offset_source = change.offset_source if change.utc_offset is not None else None
    f.taken_at_utc = (
        change.taken_at - timedelta(minutes=change.utc_offset)
        if change.utc_offset is not None
        else None
    )
    f.confidence = 1.0
    f.confidence_level = "high"
    f.date_source = "user"
    f.date_precision = change.precision
    f.date_reason = _reason(change)
    candidate = {
        "source": "user",
        "value": change.taken_at.isoformat(),
        "utc_offset": format_offset(change.utc_offset),
        "precision": change.precision,
        "confidence": 1.0,
        "utc": iso(f.taken_at_utc, utc=True),
        "note": f.date_reason,
    }
    f.candidates = [candidate] + [c for c in (f.candidates or []) if c.get("source") != "user"]
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


# -- library -------------------------------------------------------------------------------


@dataclass
class LibraryFilter:
    """What the library grid shows (every field optional)."""

    year: int | None = None
    undated: bool = False
    status: str | None = None
    tag: str | None = None
    kind: str | None = None
    q: str | None = None
    review: bool = False

    def as_args(self) -> dict[str, str]:
        args: dict[str, str] = {}
        if self.year is not None:
            args["year"] = str(self.year)
        if self.undated:
            args["year"] = "none"
        for key in ("status", "tag", "kind", "q"):
            value = getattr(self, key)
            if value:
                args[key] = value
        if self.review:
            args["review"] = "1"
        return args


def _has_tag(session: Session, tag: str) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        each = func.json_each(File.tags).table_valued("value")
        return exists(select(literal_column("1")).select_from(each).where(each.c.value == tag))
    from sqlalchemy import cast
    from sqlalchemy.dialects.postgresql import JSONB

    return cast(File.tags, JSONB).contains([tag])


def library_query(session: Session, flt: LibraryFilter) -> Select[Any]:
    query = select(File)
    if flt.year is not None:
        start = datetime(flt.year, 1, 1)
        query = query.where(
            File.taken_at >= start, File.taken_at < start.replace(year=flt.year + 1)
        )
    if flt.undated:
        query = query.where(File.taken_at.is_(None))
    if flt.review:
        query = query.where(File.status == "review")
    elif flt.status:
        query = query.where(File.status == flt.status)
    if flt.kind:
        query = query.where(File.kind == flt.kind)
    if flt.q:
        query = query.where(File.name.like("%" + _like_escape(flt.q) + "%", escape="\\"))
    if flt.tag:
        query = query.where(_has_tag(session, flt.tag))
    return query


def library_page(
    session: Session, flt: LibraryFilter, offset: int = 0, limit: int = 96
) -> tuple[list[File], int]:
    """One page of the library, newest capture first (undated last), and the total."""
    query = library_query(session, flt)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # NULLS LAST rather than "taken_at IS NULL" first: the same order, and SQLite walks
    # ix_files_taken_at backwards for it instead of sorting every matching row (a late page
    # of 25,000 files: ~1 ms instead of ~400 ms).
    ordered = query.order_by(File.taken_at.desc().nulls_last(), File.id.desc())
    rows = session.scalars(_light(ordered).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def library_ids(session: Session, flt: LibraryFilter) -> list[int]:
    return list(session.scalars(library_query(session, flt).with_only_columns(File.id)))


def year_counts(session: Session) -> list[tuple[int | None, int]]:
    """(year, files) for every year in the library, newest first; None counts undated files."""
    year = extract("year", File.taken_at)
    rows = session.execute(select(year, func.count()).group_by(year)).all()
    result = [(int(y) if y is not None else None, int(n)) for y, n in rows]
    return sorted(result, key=lambda r: (r[0] is None, -(r[0] or 0)))


def all_tags(session: Session) -> list[tuple[str, int]]:
    """Every tag in use with its number of files, most used first."""
    counts: dict[str, int] = {}
    # Most files have no tags: leave their rows undecoded ('[]' is how an empty list is stored).
    tagged = select(File.tags).where(cast(File.tags, String) != "[]")
    for (tags,) in session.execute(tagged):
        for tag in tags or []:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].casefold()))


def set_tags(
    session: Session, ids: Sequence[int], add: Sequence[str], remove: Sequence[str]
) -> int:
    """Add and remove tags on many files (case-insensitive); returns how many files changed.

    ``add`` and ``remove`` must be clean already (the caller cleans what a person typed).
    """
    removing = {t.casefold() for t in remove}
    changed = 0
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        for f in session.scalars(
            select(File)
            .options(load_only(File.id, File.sha256, File.tags))
            .where(File.id.in_(chunk))
        ):
            old = list(f.tags or [])
            new = [t for t in old if t.casefold() not in removing]
            have = {t.casefold() for t in new}
            for tag in add:
                if tag.casefold() not in have:
                    new.append(tag)
                    have.add(tag.casefold())
            if new == old:
                continue
            f.tags = new
            changed += 1
            session.add(
                Decision(
                    kind="tags",
                    file_id=f.id,
                    sha256=f.sha256,
                    payload={"add": list(add), "remove": list(remove), "tags": new},
                )
            )
    return changed


def file_groups(session: Session, file_id: int) -> list[dict[str, Any]]:
    """The duplicate groups a file belongs to (id, type, status, keep)."""
    rows = session.execute(
        select(DuplicateGroup.id, DuplicateGroup.type, DuplicateGroup.status, DuplicateMember.keep)
        .join(DuplicateMember, DuplicateMember.group_id == DuplicateGroup.id)
        .where(DuplicateMember.file_id == file_id)
        .order_by(DuplicateGroup.id)
    ).all()
    return [{"id": g, "type": t, "status": s, "keep": bool(k)} for g, t, s, k in rows]


def file_decisions(session: Session, f: File, limit: int = 50) -> list[dict[str, Any]]:
    """What people decided about a file (by id, or by its content), newest first."""
    cond = Decision.file_id == f.id
    if f.sha256:
        cond = or_(cond, Decision.sha256 == f.sha256, Decision.other_sha256 == f.sha256)
    rows = session.scalars(
        select(Decision).where(cond).order_by(Decision.id.desc()).limit(limit)
    ).all()
    return [
        {
            "id": d.id,
            "kind": d.kind,
            "payload": d.payload,
            "created_at": iso(d.created_at),
        }
        for d in rows
    ]


def groups_json(session: Session, kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """``mediafix dupes --json``: every group, in the shape the review page's API uses."""
    query = select(DuplicateGroup).order_by(DuplicateGroup.id)
    if kinds:
        query = query.where(DuplicateGroup.type.in_(kinds))
    groups = session.scalars(query).all()
    files = files_by_id(session, {m.file_id for g in groups for m in g.members})
    return {"groups": [group_dict(g, files) for g in groups]}
