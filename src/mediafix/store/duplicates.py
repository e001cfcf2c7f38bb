"""Duplicate groups as the review reads and decides them, and as ``mediafix dupes --json``
shows them.

Everything a person decides is written twice, on purpose: as the working state the rest of
the pipeline reads (``DuplicateMember.keep``, ``DuplicateGroup.status``) and as a
``Decision`` row naming the file by id *and* sha256, which a regroup replays. Functions
here take a session and plain values and never commit; the caller's ``session_scope`` (or
the web request) does. Wrong input raises ``ReviewError``; an unknown id ``LookupError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, select
from sqlalchemy.orm import Session, selectinload

from mediafix.media.values import camera_name, format_offset, iso
from mediafix.store.models import GROUP_TYPES, Decision, DuplicateGroup, DuplicateMember, File
from mediafix.store.queries import ReviewError, files_by_id

__all__ = [
    "accept_suggestions",
    "decide_group",
    "exact_copies",
    "file_groups",
    "first_group",
    "get_group",
    "group_dict",
    "group_list",
    "group_with_files",
    "groups_json",
    "iter_group_dicts",
    "neighbour_group",
    "not_duplicates",
    "suggestion_counts",
]


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
                "camera": camera_name(f.make, f.model),
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


def get_group(session: Session, group_id: int) -> DuplicateGroup | None:
    return session.get(DuplicateGroup, group_id)


def group_with_files(session: Session, group_id: int) -> tuple[DuplicateGroup, dict[int, File]]:
    """One group and its members' files (``LookupError`` when there is no such group)."""
    group = session.get(DuplicateGroup, group_id)
    if group is None:
        raise LookupError(f"no duplicate group {group_id}")
    return group, files_by_id(session, [m.file_id for m in group.members])


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
    touched: set[int] = set()
    for other in session.scalars(
        select(DuplicateMember).where(
            DuplicateMember.file_id.in_(list(choice)), DuplicateMember.group_id.not_in(decided)
        )
    ):
        other.keep = choice[other.file_id]
        touched.add(other.group_id)
    # Exact copies whose every file was just decided in another group (shown as one card
    # in their near group) are decided with it: the person is never asked the same question
    # twice. A regroup replays it the same way (every member has a row). Only exact groups:
    # a near group of two pairs of copies still asks which picture to keep after both
    # pairs were accepted in bulk.
    for other_group in session.scalars(
        select(DuplicateGroup)
        .where(
            DuplicateGroup.id.in_(touched),
            DuplicateGroup.status == "pending",
            DuplicateGroup.type == "exact",
        )
        .options(selectinload(DuplicateGroup.members))
    ):
        if all(m.file_id in choice for m in other_group.members):
            other_group.status = "resolved"
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


def exact_copies(session: Session, file_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """For each of ``file_ids`` that has byte-identical copies: its exact group (``id``,
    ``status``, ``keeper_id`` and the ``kept`` file ids, in member order)."""
    ids = list(set(file_ids))
    if not ids:
        return {}
    groups = session.scalars(
        select(DuplicateGroup)
        .join(DuplicateMember, DuplicateMember.group_id == DuplicateGroup.id)
        .where(DuplicateGroup.type == "exact", DuplicateMember.file_id.in_(ids))
        .options(selectinload(DuplicateGroup.members))
        .distinct()
    ).all()
    found: dict[int, dict[str, Any]] = {}
    for g in groups:
        info = {
            "id": g.id,
            "status": g.status,
            "keeper_id": g.keeper_id,
            "kept": [m.file_id for m in g.members if m.keep],
        }
        for m in g.members:
            found[m.file_id] = info
    return found


def file_groups(session: Session, file_id: int) -> list[dict[str, Any]]:
    """The duplicate groups a file belongs to (id, type, status, keep)."""
    rows = session.execute(
        select(DuplicateGroup.id, DuplicateGroup.type, DuplicateGroup.status, DuplicateMember.keep)
        .join(DuplicateMember, DuplicateMember.group_id == DuplicateGroup.id)
        .where(DuplicateMember.file_id == file_id)
        .order_by(DuplicateGroup.id)
    ).all()
    return [{"id": g, "type": t, "status": s, "keep": bool(k)} for g, t, s, k in rows]


def groups_json(session: Session, kinds: tuple[str, ...] | None = None) -> dict[str, Any]:
    """``mediafix dupes --json``: every group, in the shape the review page's API uses."""
    return {"groups": list(iter_group_dicts(session, kinds))}


GROUPS_CHUNK = 500


def iter_group_dicts(
    session: Session, kinds: tuple[str, ...] | None = None
) -> Iterator[dict[str, Any]]:
    """The groups of ``groups_json`` one by one, read a few hundred at a time (members and
    files with them), so a library of any size is listed in bounded memory."""
    query = select(DuplicateGroup.id).order_by(DuplicateGroup.id)
    if kinds:
        query = query.where(DuplicateGroup.type.in_(kinds))
    ids = list(session.scalars(query))
    for start in range(0, len(ids), GROUPS_CHUNK):
        chunk = ids[start : start + GROUPS_CHUNK]
        groups = session.scalars(
            select(DuplicateGroup)
            .where(DuplicateGroup.id.in_(chunk))
            .options(selectinload(DuplicateGroup.members))
            .order_by(DuplicateGroup.id)
        ).all()
        files = files_by_id(session, {m.file_id for g in groups for m in g.members})
        for g in groups:
            yield group_dict(g, files)
        session.expunge_all()  # the chunk is written: let its rows go
