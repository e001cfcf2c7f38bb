"""The library: scanning folders into the database and reading it back.

This is where ``media/`` (facts about files) meets ``store/`` (rows). The CLI and the
background jobs both call ``scan``.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix.config import Settings
from mediafix.media.dates import DateVerdict, SequenceItem, infer_sequences
from mediafix.media.discover import Found
from mediafix.media.values import Precision
from mediafix.pipeline import (
    Analysed,
    AnalyseOptions,
    balanced_batches,
    batched,
    content_id,
    iter_found,
    run_parallel,
)
from mediafix.store import queries
from mediafix.store.db import session_scope
from mediafix.store.models import File

__all__ = ["ScanSummary", "analyse_options", "probe_outdated", "scan", "status_for"]

LOOKUP_CHUNK = 500


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

    @property
    def rate(self) -> float:
        return self.probed / self.seconds if self.seconds > 0 else 0.0


def analyse_options(settings: Settings, session: Session | None = None) -> AnalyseOptions:
    overrides = queries.effective_settings(session) if session is not None else {}
    models = overrides.get("quicktime_local_models") or ()
    return AnalyseOptions(
        timezone=str(overrides.get("timezone") or settings.timezone),
        quicktime_local_models=tuple(models),
    )


def status_for(item: Analysed, review_confidence: float) -> str:
    """The row status after analysis: error, skipped (not media), review or ready.

    A photo that could only partly be read (truncated, corrupt) is ``error`` but keeps
    every fact that could be read: it is never dropped from the archive.
    """
    probe = item.probe
    if probe.kind not in ("image", "video"):
        return "error" if probe.error else "skipped"
    if probe.error:
        return "error"  # still the user's file: the plan writes it as it is
    v = item.verdict
    if v is None or v.taken_at is None or v.confidence < review_confidence:
        return "review"
    return "ready"


def _apply_to_row(row: File, item: Analysed, review_confidence: float, job_id: int | None) -> None:
    found, probe, v = item.found, item.probe, item.verdict
    row.root = found.root
    row.rel_path = found.rel_path
    row.path = found.path
    row.name = os.path.basename(found.path)
    row.kind = probe.kind
    row.format = probe.format
    row.ext = probe.ext
    row.ext_mismatch = probe.ext_mismatch
    row.size = probe.size if probe.size is not None else found.size
    row.mtime = probe.mtime if probe.mtime is not None else found.mtime
    row.sha256 = probe.sha256
    row.phash = probe.phash
    row.detail_hash = probe.detail_hash
    row.width, row.height, row.orientation = probe.width, probe.height, probe.orientation
    row.make = probe.make[:128] if probe.make else None
    row.model = probe.model[:128] if probe.model else None
    row.content_id = content_id(probe)
    row.meta = _jsonable(probe.metadata)
    row.sidecars = list(found.sidecars)
    row.error = probe.error
    if v is not None:
        row.taken_at = v.taken_at
        row.utc_offset = v.utc_offset
        row.offset_source = v.offset_source
        row.taken_at_utc = v.taken_at_utc
        row.confidence = v.confidence
        row.confidence_level = v.level
        row.date_source = v.source
        row.date_reason = v.reason
        row.date_precision = v.precision.value if v.precision else None
        row.candidates = [c.to_dict() for c in v.candidates]
    else:
        row.taken_at = row.taken_at_utc = None
        row.utc_offset = None
        row.offset_source = row.date_source = row.date_precision = None
        row.confidence, row.confidence_level = 0.0, "none"
        row.date_reason = "not a photo or video" if probe.kind == "other" else None
        row.candidates = []
    row.status = status_for(item, review_confidence)
    row.job_id = job_id
    row.output_path = None


def _jsonable(value: Any) -> Any:
    """exiftool values are JSON already, but keep surrogate-escaped text storable."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def probe_outdated(kind: str | None, phash: str | None, detail_hash: str | None) -> bool:
    """A row probed by an older mediafix that lacks a fact probing now records (an image's
    detail hash): probe it again even though the file did not change."""
    return kind == "image" and bool(phash) and not detail_hash


def _changed(founds: Sequence[Found], session: Session) -> tuple[list[Found], int]:
    """The files that need probing: new ones, ones whose size or mtime moved, outdated ones."""
    columns = (File.path, File.size, File.mtime, File.kind, File.phash, File.detail_hash)
    rows = session.execute(select(*columns).where(File.path.in_([f.path for f in founds])))
    known = {
        r.path: None if probe_outdated(r.kind, r.phash, r.detail_hash) else (r.size, r.mtime)
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
) -> ScanSummary:
    """Scan ``paths`` into the library. Unchanged files (same path, size, mtime) are skipped.

    ``on_progress(summary, total)`` is called after each batch; ``should_stop()`` is asked
    between batches (cancel).
    """
    started = time.monotonic()
    summary = ScanSummary()
    with session_scope(engine) as session:
        options = analyse_options(settings, session)
        review_confidence = float(
            queries.effective_settings(session).get("review_confidence")
            or settings.review_confidence
        )

    n_workers = workers or settings.workers

    def todo_batches() -> Iterator[list[Found]]:
        for chunk in batched(iter_found(paths), LOOKUP_CHUNK):
            summary.seen += len(chunk)
            with session_scope(engine) as session:
                todo, unchanged = _changed(chunk, session)
            summary.unchanged += unchanged
            yield from balanced_batches(todo, n_workers)

    for items in run_parallel(todo_batches(), options, n_workers, should_stop):
        save_analysed(engine, items, review_confidence, job_id)
        for item in items:
            summary.probed += 1
            summary.by_kind[item.probe.kind] += 1
            if item.probe.error:
                summary.errors += 1
                if len(summary.error_samples) < 20:
                    summary.error_samples.append((item.probe.path, item.probe.error))
            if item.verdict is not None and status_for(item, review_confidence) == "review":
                summary.review += 1
        summary.seconds = time.monotonic() - started
        if on_progress:
            on_progress(summary, total)
    summary.cancelled = should_stop()
    if not summary.cancelled:
        infer_sequences_in(engine, settings, review_confidence)
    with session_scope(engine) as session:
        summary.exact_duplicates = queries.exact_duplicate_count(session)
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
            _apply_to_row(row, item, review_confidence, job_id)


def count_files(session: Session) -> int:
    return int(session.scalar(select(func.count(File.id))) or 0)


def _row_verdict(row: Any) -> DateVerdict:
    precision = Precision(row.date_precision) if row.date_precision else None
    return DateVerdict(
        taken_at=row.taken_at,
        utc_offset=row.utc_offset,
        offset_source=row.offset_source,
        taken_at_utc=row.taken_at_utc,
        confidence=row.confidence or 0.0,
        level=row.confidence_level or "none",
        source=row.date_source,
        reason=row.date_reason or "",
        precision=precision,
        candidates=(),
    )


def infer_sequences_in(engine: Engine, settings: Settings, review_confidence: float) -> int:
    """Date undated files from their dated neighbours in a camera sequence (IMG_0101 between
    IMG_0100 and IMG_0102). Only folders that hold an undated file are looked at."""
    undated_sources = (None, "file:mtime", "folder")
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                File.id,
                File.path,
                File.model,
                File.taken_at,
                File.utc_offset,
                File.offset_source,
                File.taken_at_utc,
                File.confidence,
                File.confidence_level,
                File.date_source,
                File.date_reason,
                File.date_precision,
            ).where(File.kind.in_(("image", "video")), File.status.in_(("review", "ready")))
        ).all()
        folders: dict[str, list[Any]] = {}
        for row in rows:
            folders.setdefault(os.path.dirname(row.path), []).append(row)
        items: list[SequenceItem] = []
        for folder, members in folders.items():
            if not any(m.date_source in undated_sources for m in members):
                continue
            items.extend(
                SequenceItem(
                    key=m.id,
                    folder=folder,
                    camera=m.model,
                    name=os.path.splitext(os.path.basename(m.path))[0],
                    verdict=_row_verdict(m),
                )
                for m in members
            )
        if not items:
            return 0
        options = analyse_options(settings, session).date_options()
        changed = infer_sequences(items, options)
        for file_id, verdict in changed.items():
            target = session.get(File, file_id)
            if target is None:
                continue
            new = [c.to_dict() for c in verdict.candidates]
            target.taken_at, target.utc_offset = verdict.taken_at, verdict.utc_offset
            target.offset_source, target.taken_at_utc = verdict.offset_source, verdict.taken_at_utc
            target.confidence, target.confidence_level = verdict.confidence, verdict.level
            target.date_source, target.date_reason = verdict.source, verdict.reason
            target.date_precision = verdict.precision.value if verdict.precision else None
            target.candidates = new + [
                c for c in (target.candidates or []) if c.get("source") != "inferred:sequence"
            ]
            target.status = "ready" if verdict.confidence >= review_confidence else "review"
        return len(changed)
