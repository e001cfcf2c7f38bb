"""Building blocks the store's feature modules share: how a page of files is read, LIKE
escaping, files by id, and the error a person's request may meet."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, load_only

from mediafix.store.models import File

__all__ = ["LIST_COLUMNS", "LOOKUP_CHUNK", "ReviewError", "files_by_id", "light", "like_escape"]

LOOKUP_CHUNK = 500  # ids or paths one query looks up: an IN list of a bounded length


class ReviewError(ValueError):
    """A request that cannot be carried out; the message is for the person who made it."""


# Columns a page of files needs (never the exiftool dump in ``meta``).
LIST_COLUMNS = (
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


def light(query: Select[Any]) -> Select[Any]:
    return query.options(load_only(*LIST_COLUMNS))


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def files_by_id(session: Session, ids: Iterable[int]) -> dict[int, File]:
    ids = list(ids)
    found: dict[int, File] = {}
    for start in range(0, len(ids), LOOKUP_CHUNK):
        chunk = ids[start : start + LOOKUP_CHUNK]
        for f in session.scalars(light(select(File).where(File.id.in_(chunk)))):
            found[f.id] = f
    return found
