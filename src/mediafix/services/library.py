"""The library: scanning folders into the database.

This is where ``media/`` (facts about files) meets ``store/`` (rows). The CLI calls
``scan``; the import jobs (``services.imports``) save their batches with ``save_analysed``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix.config import Settings
from mediafix.media.analysis import Analysed, status_of
from mediafix.media.discover import UNREADABLE_FOLDER, Found, OwnFolders
from mediafix.services.pipeline import (
    analyse_options,
    balanced_batches,
    batched,
    iter_found,
    review_confidence_of,
    run_parallel,
)
from mediafix.services.redate import settle_dates
from mediafix.store.counts import exact_duplicate_count
from mediafix.store.db import session_scope
from mediafix.store.models import File
from mediafix.store.queries import LOOKUP_CHUNK
from mediafix.store.records import write_analysed
from mediafix.store.settings import GROUPS_STALE_KEY, effective_settings, set_setting

__all__ = [
    "Gone",
    "ScanSummary",
    "Walk",
    "forget_gone",
    "own_folders",
    "probe_outdated",
    "save_analysed",
    "scan",
]


@dataclass
class ScanSummary:
    """What a scan did, for the closing summary and the job row."""

    seen: int = 0
    probed: int = 0
    unchanged: int = 0
    errors: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    review: int = 0
    exact_duplicates: int = 0
    seconds: float = 0.0
    cancelled: bool = False
    error_samples: list[tuple[str, str]] = field(default_factory=list)
    gone: int = 0  # files no longer in the scanned folders: their rows were forgotten
    # folders that held files and were found empty: their rows were kept (an unmounted disk?)
    found_empty: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.probed / self.seconds if self.seconds > 0 else 0.0


def own_folders(settings: Settings, session: Session | None = None) -> OwnFolders:
    """mediafix's own folders, never scanned as sources: the data folder (database,
    thumbnails, journals) and the archive (the configured output folder and the one chosen
    in the web page), except the uploads, which are sources."""
    skip = [str(settings.data_dir), str(settings.output_dir)]
    if session is not None:
        chosen = effective_settings(settings, session).output_dir
        if chosen != settings.output_dir:
            skip.append(str(chosen))
    return OwnFolders.of(skip, [str(settings.data_dir / "uploads")])


# Rows a rescan forgets when their file is gone: never one that was written to the archive
# (its undo and its journal name it) or that a worker is probing.
_FORGETTABLE = ("new", "ready", "review", "error", "skipped")


class Walk:
    """What one walk of the scanned folders saw, to tell which files are gone since the last
    (:func:`forget_gone`): the paths found under each folder, and the folders it could not
    read (what is under them is not known, not gone). A single file scanned says nothing
    about its folder."""

    def __init__(self, paths: Iterable[str | os.PathLike[str]]) -> None:
        self.roots = [
            os.path.abspath(os.fspath(p))
            for p in paths
            if os.path.isdir(p) and not os.path.islink(p)
        ]
        self.seen: set[str] = set()
        self.unreadable: list[str] = []

    def watch(self, found: Iterable[Found]) -> Iterator[Found]:
        """``found``, passed through, noting each path."""
        for f in found:
            self.seen.add(f.path)
            if f.error is not None and f.error.startswith(UNREADABLE_FOLDER):
                self.unreadable.append(f.path.rstrip(os.sep) + os.sep)
            yield f


@dataclass
class Gone:
    """What :func:`forget_gone` did."""

    forgotten: int = 0
    folders: set[str] = field(default_factory=set)  # where the forgotten files were
    found_empty: list[str] = field(default_factory=list)  # walked folders found empty


def forget_gone(engine: Engine, walk: Walk) -> Gone:
    """Forget the rows of files that were under a walked folder and are no longer there
    (deleted, moved or renamed since they were scanned): they would stay in the review,
    the duplicate groups (a keeper that is gone) and the plan otherwise. A folder that
    held files and is found empty keeps its rows (a disk not mounted is not a deletion);
    rows written to the archive or being probed are kept."""
    out = Gone()
    for root in walk.roots:
        with session_scope(engine) as s:
            rows = s.execute(
                select(File.id, File.path).where(
                    File.root == root,
                    File.status.in_(_FORGETTABLE),
                    File.output_path.is_(None),
                    File.claim.is_(None),
                )
            ).all()
        gone = [
            r
            for r in rows
            if r.path not in walk.seen and not any(r.path.startswith(u) for u in walk.unreadable)
        ]
        if not gone:
            continue
        inside = root.rstrip(os.sep) + os.sep
        if not any(path.startswith(inside) for path in walk.seen):
            out.found_empty.append(root)
            continue
        ids = [r.id for r in gone]
        with session_scope(engine) as s:
            for start in range(0, len(ids), LOOKUP_CHUNK):
                s.execute(delete(File).where(File.id.in_(ids[start : start + LOOKUP_CHUNK])))
            set_setting(s, GROUPS_STALE_KEY, True)  # their groups lose them at the regroup
        out.forgotten += len(ids)
        out.folders.update(os.path.dirname(r.path) for r in gone)
    return out


def probe_outdated(
    kind: str | None, phash: str | None, detail_hash: str | None, copy_keys: str | None = ""
) -> bool:
    """A row probed by an older mediafix that lacks a fact probing now records (an image's
    detail hash, its copy keys): probe it again even though the file did not change."""
    return kind == "image" and bool(phash) and (not detail_hash or copy_keys is None)


def _changed(
    founds: Sequence[Found], session: Session, force: bool = False
) -> tuple[list[Found], int]:
    """The files that need probing: new ones, ones whose size or mtime moved, outdated ones
    (with ``force``, all of them)."""
    if force:
        return list(founds), 0
    columns = (
        File.path,
        File.size,
        File.mtime,
        File.kind,
        File.phash,
        File.detail_hash,
        File.copy_keys,
    )
    rows = session.execute(select(*columns).where(File.path.in_([f.path for f in founds])))
    known = {
        r.path: None
        if probe_outdated(r.kind, r.phash, r.detail_hash, r.copy_keys)
        else (r.size, r.mtime)
        for r in rows
    }
    todo = [
        f
        for f in founds
        if f.error is not None or f.path not in known or known[f.path] != (f.size, f.mtime)
    ]
    return todo, len(founds) - len(todo)


def scan(
    paths: Sequence[str | os.PathLike[str]],
    settings: Settings,
    engine: Engine,
    *,
    workers: int | None = None,
    job_id: int | None = None,
    on_progress: Callable[[ScanSummary, int | None], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    total: int | None = None,
    force: bool = False,
) -> ScanSummary:
    """Scan ``paths`` into the library. Unchanged files (same path, size, mtime) are skipped
    unless ``force`` (probe every file again: a newer mediafix reads more).

    ``on_progress(summary, total)`` is called after each batch; ``should_stop()`` is asked
    between batches (cancel).
    """
    started = time.monotonic()
    summary = ScanSummary()
    with session_scope(engine) as session:
        options = analyse_options(settings, session)
        own = own_folders(settings, session)
        review_confidence = review_confidence_of(settings, session)

    n_workers = workers or settings.workers
    walk = Walk(paths)

    def todo_batches() -> Iterator[list[Found]]:
        for chunk in batched(walk.watch(iter_found(paths, own)), LOOKUP_CHUNK):
            summary.seen += len(chunk)
            with session_scope(engine) as session:
                todo, unchanged = _changed(chunk, session, force)
            summary.unchanged += unchanged
            yield from balanced_batches(todo, n_workers)

    folders: set[str] = set()  # where files were probed: sequences are inferred there only
    near: list[datetime] = []  # when they were taken: zones are settled near those times only
    for items in run_parallel(todo_batches(), options, n_workers, should_stop):
        save_analysed(engine, items, review_confidence, job_id)
        for item in items:
            folders.add(os.path.dirname(item.found.path))
            verdict = item.verdict
            when = (verdict.taken_at_utc or verdict.taken_at) if verdict is not None else None
            if when is not None:
                near.append(when.replace(tzinfo=None))
            summary.probed += 1
            summary.by_kind[item.probe.kind] += 1
            if item.probe.error:
                summary.errors += 1
                if len(summary.error_samples) < 20:
                    summary.error_samples.append((item.probe.path, item.probe.error))
            if item.verdict is not None and status_of(item, review_confidence) == "review":
                summary.review += 1
        summary.seconds = time.monotonic() - started
        if on_progress:
            on_progress(summary, total)
    summary.cancelled = should_stop()
    if not summary.cancelled:
        gone = forget_gone(engine, walk)
        summary.gone, summary.found_empty = gone.forgotten, gone.found_empty
        folders |= gone.folders  # a gone file may have dated its neighbours in a sequence
    if not summary.cancelled and (summary.probed or summary.gone):
        # what the new files change around them
        settle_dates(engine, settings, folders, near)
    with session_scope(engine) as session:
        summary.exact_duplicates = exact_duplicate_count(session)
    summary.seconds = time.monotonic() - started
    return summary


def save_analysed(
    engine: Engine, items: Iterable[Analysed], review_confidence: float, job_id: int | None = None
) -> None:
    """Insert or update the rows of one analysed batch, in one transaction."""
    items = list(items)
    with session_scope(engine) as session:
        rows = {
            r.path: r
            for r in session.scalars(
                select(File).where(File.path.in_([i.found.path for i in items]))
            )
        }
        for item in items:
            row = rows.get(item.found.path)
            if row is None:
                row = File()
                session.add(row)
            write_analysed(row, item, status_of(item, review_confidence), job_id)
        # in the rows' transaction: the groups owe these rows a regroup, even if this
        # process dies before it runs one
        set_setting(session, GROUPS_STALE_KEY, True)
