"""The library as the grid, a file's page and tags read it, and a file as JSON."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    cast,
    exists,
    extract,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, load_only

from mediafix.media.values import camera_name, format_offset, iso
from mediafix.store.models import Decision, File
from mediafix.store.queries import light, like_escape

__all__ = [
    "LibraryFilter",
    "all_tags",
    "date_span",
    "file_decisions",
    "file_record",
    "get_file",
    "ids_by_output_path",
    "library_ids",
    "library_page",
    "library_query",
    "library_roots",
    "set_tags",
    "thumb_facts",
    "year_counts",
]


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
        "camera": camera_name(f.make, f.model),
        "sidecars": list(f.sidecars or []),
        "status": f.status,
        "tags": list(f.tags or []),
        "output_path": f.output_path,
    }


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


_DATE_QUERY = re.compile(r"^(\d{4})(?:[-./](\d{1,2})(?:[-./](\d{1,2}))?)?$")


def date_span(text: str) -> tuple[datetime, datetime] | None:
    """The capture times a search for a date means: "2019" the year, "2019-05" the month,
    "2019-05-03" the day (start inclusive, end exclusive); None for other words."""
    match = _DATE_QUERY.match(text.strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return datetime(year, 1, 1), datetime(year + 1, 1, 1)
        start = datetime(year, month, day or 1)
    except ValueError:
        return None
    if day is not None:
        return start, start + timedelta(days=1)
    return start, (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _matches(session: Session, text: str) -> Any:
    """What the library's search box finds: the words in a file's name, its camera (make or
    model) or a tag, and for a date ("2019", "2019-05", "2019-05-03") the files taken then."""
    pattern = "%" + like_escape(text.strip()) + "%"
    found = [
        File.name.ilike(pattern, escape="\\"),
        File.make.ilike(pattern, escape="\\"),
        File.model.ilike(pattern, escape="\\"),
        _tag_like(session, pattern),
    ]
    span = date_span(text)
    if span is not None:
        found.append((File.taken_at >= span[0]) & (File.taken_at < span[1]))
    return or_(*found)


def _tag_like(session: Session, pattern: str) -> Any:
    if session.get_bind().dialect.name == "sqlite":
        each = func.json_each(File.tags).table_valued("value")
        return exists(
            select(literal_column("1"))
            .select_from(each)
            .where(each.c.value.ilike(pattern, escape="\\"))
        )
    each = func.jsonb_array_elements_text(cast(File.tags, JSONB)).table_valued("value")
    return exists(
        select(literal_column("1"))
        .select_from(each)
        .where(each.c.value.ilike(pattern, escape="\\"))
    )


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
        query = query.where(_matches(session, flt.q))
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
    rows = session.scalars(light(ordered).offset(offset).limit(limit)).all()
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


def file_decisions(session: Session, f: File, limit: int = 50) -> list[dict[str, Any]]:
    """What people decided about a file (by id, or by its content), newest first."""
    cond = Decision.file_id == f.id
    if f.sha256:
        # By content too (a file scanned again has a new id), except another file's tags:
        # tagging two identical copies at once showed the action twice on each (issue 21).
        same = or_(Decision.sha256 == f.sha256, Decision.other_sha256 == f.sha256)
        cond = or_(cond, and_(same, or_(Decision.kind != "tags", Decision.file_id.is_(None))))
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


def library_roots(session: Session) -> list[str]:
    """The folders the library's files were scanned from (upload folders included): the
    archive is kept out of them (:meth:`Settings.check_output`)."""
    return [r for (r,) in session.execute(select(File.root).distinct()) if r]


def get_file(session: Session, file_id: int) -> File | None:
    return session.get(File, file_id)


def thumb_facts(session: Session, file_id: int) -> tuple[str | None, str, str] | None:
    """(sha256, kind, status) of a file, what its thumbnail needs; None when there is none."""
    row = session.execute(
        select(File.sha256, File.kind, File.status).where(File.id == file_id)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def ids_by_output_path(session: Session, paths: Sequence[str]) -> dict[str, int]:
    """The library file each of ``paths`` (files in the archive) was written from."""
    if not paths:
        return {}
    rows = session.execute(
        select(File.output_path, File.id).where(File.output_path.in_(list(paths)))
    )
    return {str(output): file_id for output, file_id in rows}
