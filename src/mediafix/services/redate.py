"""Re-dating: the library-wide part of dating, and dating again when the settings change.

A verdict depends on settings (the home zone, the review threshold, the cameras known to
write local time) and on the rest of the library (the cameras it shows to write local
time, the zone a trip's phone recorded, a camera's counter sequence). Each file's evidence
is stored when it is probed, so a change re-judges the whole library without reading a file
(:func:`redate`); after every scan :func:`settle_dates` does the library-wide part for what
the new files changed.
"""

from __future__ import annotations

import bisect
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix.config import Settings
from mediafix.media.analysis import media_status
from mediafix.media.dates import (
    EVIDENCE_VERSION,
    NEIGHBOURS,
    Clip,
    DateOptions,
    DateVerdict,
    Evidence,
    SequenceItem,
    Shot,
    ZoneAnchor,
    ZoneAnchors,
    ZoneQuestion,
    collect,
    detect_local_cameras,
    infer_sequences,
    judge,
    undated,
)
from mediafix.media.values import Precision
from mediafix.services.pipeline import (
    LOCAL_CAMERAS_KEY,
    analyse_options,
    batched,
    review_confidence_of,
)
from mediafix.store.db import session_scope
from mediafix.store.models import File
from mediafix.store.queries import LOOKUP_CHUNK
from mediafix.store.records import VERDICT_COLUMNS, verdict_columns, verdict_of, write_verdict
from mediafix.store.settings import set_setting, stored_settings

__all__ = [
    "RedateSummary",
    "infer_sequences_in",
    "redate",
    "redate_message",
    "settle_dates",
]


def infer_sequences_in(
    engine: Engine,
    settings: Settings,
    review_confidence: float,
    only: Collection[str] | None = None,
) -> int:
    """Date undated files from their dated neighbours in a camera sequence (IMG_0101 between
    IMG_0100 and IMG_0102). Only folders that hold an undated file are looked at, and with
    ``only``, only those folders (a sequence lies in one folder: the others' inferences,
    stored by earlier scans, still hold)."""
    if only is not None and not only:
        return 0
    query = select(File.id, File.path, File.model, *VERDICT_COLUMNS).where(
        File.kind.in_(("image", "video")), File.status.in_(("review", "ready"))
    )
    plain = only is None or all(_plain_text(f) for f in only)
    # Only folders that hold an undated file are looked at: found in one light pass, then
    # their files read 10 folders at a time, not every row of the library at once.
    light = query.with_only_columns(File.path, File.taken_at, File.date_source)
    with session_scope(engine) as session:
        wanted = {
            os.path.dirname(r.path)
            for r in session.execute(light.execution_options(yield_per=2000))
            if undated(r.taken_at, r.date_source)
        }
    if only is not None and plain:
        wanted &= set(only)
    if not wanted:
        return 0
    if not all(_plain_text(f) for f in wanted):
        # a name stored base64-encoded (FsPath): no LIKE finds it, look everywhere
        with session_scope(engine) as session:
            rows: list[Any] = [
                r for r in session.execute(query) if os.path.dirname(r.path) in wanted
            ]
        return _infer_in(engine, settings, review_confidence, rows)
    changed = 0
    for chunk in batched(sorted(wanted), 10):
        with session_scope(engine) as session:
            # path LIKE 'folder/%' finds the folder's files (and its subfolders', which
            # the dirname test below drops); \\ escapes LIKE's wildcards in names
            like = [File.path.like(_like_prefix(folder) + "%", escape="\\") for folder in chunk]
            these = set(chunk)
            rows = [
                r
                for r in session.execute(query.where(or_(*like)))
                if os.path.dirname(r.path) in these
            ]
        changed += _infer_in(engine, settings, review_confidence, rows)
    return changed


def _infer_in(engine: Engine, settings: Settings, review_confidence: float, rows: list[Any]) -> int:
    """``infer_sequences_in`` for the files ``rows`` (every file of their folders)."""
    folders: dict[str, list[Any]] = {}
    for row in rows:
        folders.setdefault(os.path.dirname(row.path), []).append(row)
    items: list[SequenceItem] = []
    for folder, members in folders.items():
        if not any(undated(m.taken_at, m.date_source) for m in members):
            continue
        items.extend(
            SequenceItem(
                key=m.id,
                folder=folder,
                camera=m.model,
                name=os.path.splitext(os.path.basename(m.path))[0],
                verdict=verdict_of(m),
            )
            for m in members
        )
    if not items:
        return 0
    with session_scope(engine) as session:
        options = analyse_options(settings, session).date_options()
        changed = infer_sequences(items, options)
        for file_id, verdict in changed.items():
            target = session.get(File, file_id)
            if target is None:
                continue
            new = [c.to_dict() for c in verdict.candidates]
            write_verdict(
                target,
                verdict,
                new
                + [c for c in (target.candidates or []) if c.get("source") != "inferred:sequence"],
            )
            target.status = "ready" if verdict.confidence >= review_confidence else "review"
        return len(changed)


def _plain_text(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _like_prefix(folder: str) -> str:
    """``folder/`` as a LIKE pattern prefix, its own ``%``, ``_`` and ``\\`` escaped."""
    escaped = folder.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/"


# A verdict depends on settings (the home zone, the review threshold, the cameras known to
# write local time) and on the rest of the library (the cameras it shows to write local
# time, the zone a trip's phone recorded). Each file's evidence is stored when it is probed,
# so a change re-judges the whole library without reading a file: ``redate``. After every
# scan ``settle_dates`` does the library-wide part for what the new files changed.

REDATE_CHUNK = 2000
_REDATABLE = ("ready", "review", "error")  # written files keep the date they were written with
_GUESSED = ("home-zone", NEIGHBOURS)  # offsets the neighbours may replace


@dataclass
class RedateSummary:
    """What a re-date did, for the CLI's summary and the job row."""

    files: int = 0
    changed: int = 0
    kept_user: int = 0
    regathered: int = 0  # evidence gathered again from the stored metadata (older scans)
    cameras: dict[str, str] = field(default_factory=dict)  # detected local-time cameras
    zones: int = 0  # files given the zone of their neighbours
    review: int = 0
    seconds: float = 0.0
    cancelled: bool = False


@dataclass
class _Dated:
    """One file while the library is re-dated."""

    id: int
    name: str
    kind: str
    status: str
    stored: dict[str, Any]  # the verdict columns as stored
    evidence: Evidence | None = None
    verdict: DateVerdict | None = None  # None: keep what is stored
    plain: bool = False  # the verdict was judged with the current options and no zone hint


def _stored_evidence(data: Any) -> Evidence | None:
    """The row's stored evidence, if it is there and of the current version."""
    if not isinstance(data, dict):
        return None
    try:
        evidence = Evidence.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None
    return evidence if evidence.version == EVIDENCE_VERSION else None


def _gather_again(engine: Engine, items: dict[int, _Dated], options: DateOptions) -> int:
    """Evidence for rows probed before it was stored (or by an older mediafix), gathered
    again from their stored metadata, names and sidecars; the count gathered."""
    gathered = 0
    with session_scope(engine) as s:
        for chunk in batched(list(items), LOOKUP_CHUNK):
            query = select(File.id, File.path, File.root, File.mtime, File.sidecars, File.meta)
            for row in s.execute(query.where(File.id.in_(chunk))):
                if not isinstance(row.meta, dict):
                    continue
                try:
                    items[row.id].evidence = collect(
                        row.path,
                        row.meta,
                        row.mtime,
                        root=row.root,
                        sidecars=list(row.sidecars or []),
                        options=options,
                    )
                except Exception:  # a row that cannot be gathered keeps its stored verdict
                    continue
                gathered += 1
    return gathered


def _rows(session: Session, ids: Sequence[int] | None, with_evidence: bool) -> Iterator[Any]:
    columns = [File.id, File.name, File.kind, File.status, File.model, *VERDICT_COLUMNS]
    if with_evidence:
        columns += [File.evidence, File.candidates]
    query = select(*columns).where(File.kind.in_(("image", "video")), File.status.in_(_REDATABLE))
    if ids is not None:
        for chunk in batched(list(ids), LOOKUP_CHUNK):
            yield from session.execute(query.where(File.id.in_(chunk)))
        return
    yield from session.execute(query.order_by(File.id).execution_options(yield_per=1000))


def _stored(row: Any) -> dict[str, Any]:
    """The verdict columns as stored (with the candidates when they were read)."""
    stored = {c.key: getattr(row, c.key) for c in VERDICT_COLUMNS}
    stored["model"] = row.model
    if "candidates" in row._fields:
        stored["candidates"] = row.candidates
    return stored


def redate(
    engine: Engine,
    settings: Settings,
    *,
    on_progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RedateSummary:
    """Re-compute every verdict from the stored evidence with the settings as they are now.

    Files a person dated keep their date; written files keep the date they were written
    with. ``on_progress(done, total, words)`` is called as it goes; ``should_stop()`` between
    chunks (a cancelled re-date leaves every file either as it was or fully re-dated).
    """
    started = time.monotonic()
    summary = RedateSummary()
    with session_scope(engine) as s:
        options = analyse_options(settings, s).date_options()
        review = review_confidence_of(settings, s)
        total = int(
            s.scalar(
                select(func.count(File.id)).where(
                    File.kind.in_(("image", "video")), File.status.in_(_REDATABLE)
                )
            )
            or 0
        )
        dated: list[_Dated] = []
        for row in _rows(s, None, with_evidence=True):
            summary.files += 1
            item = _Dated(row.id, row.name, row.kind, row.status, _stored(row))
            if row.date_source == "user":
                summary.kept_user += 1
            else:
                item.evidence = _stored_evidence(row.evidence)
            dated.append(item)
    missing = {i.id: i for i in dated if i.evidence is None and not _by_person(i)}
    if missing:
        summary.regathered = _gather_again(engine, missing, options)
    for n, item in enumerate(dated, start=1):
        if item.evidence is not None and not _by_person(item):
            item.verdict = judge(item.evidence, options)
            item.plain = True
        if on_progress and n % REDATE_CHUNK == 0:
            on_progress(n, total, f"judged {n} of {total} files")
            if should_stop():
                summary.cancelled = True
                summary.seconds = time.monotonic() - started
                return summary
    _settle(engine, settings, dated, options, summary)
    _save(engine, dated, review, summary, on_progress, should_stop)
    if not summary.cancelled:
        infer_sequences_in(engine, settings, review)
    summary.seconds = time.monotonic() - started
    return summary


def redate_message(summary: RedateSummary) -> str:
    """One line for a person: what a re-date changed."""
    words = (
        f"re-dated {summary.files} files: {summary.changed} changed, "
        f"{summary.kept_user} dated by a person kept, {summary.review} to review"
    )
    if summary.zones:
        words += f", {summary.zones} given the zone of their neighbours"
    if summary.cameras:
        words += f", cameras writing local time into QuickTime: {', '.join(summary.cameras)}"
    if summary.cancelled:
        words += " (cancelled)"
    return words


def settle_dates(
    engine: Engine,
    settings: Settings,
    folders: Collection[str] | None = None,
    near: Iterable[datetime] | None = None,
) -> RedateSummary:
    """After a scan: what the library as a whole shows about its files' dates.

    Cameras whose videos carry the local time of their photos are remembered and their
    videos re-judged; files whose offset is the home zone's guess get the zone their
    neighbours recorded (or lose it when the neighbours no longer show it). Only those
    files are re-judged; the rest keep their stored verdict.

    A scan passes what it probed: the ``folders`` (camera sequences are inferred there, and
    where a date moved) and the times ``near`` which the zones are settled again (the
    others' neighbours did not change). Without them, the whole library. What a scan does
    not see: a file changed in place loses its old date as a neighbour only at the next
    `redate` (or at the next scan near that time).

    The same rules as ``redate``'s ``_settle`` and ``_save``, read as a stream (issue #20:
    a library of 100,000 files held as one object per file took 230 MB): the rows are read
    in passes, keeping only what the rules across files need (the videos, the shots of
    their cameras, the zone anchors, the ids of the files to ask), and the files whose
    zone is asked are judged and written a chunk at a time.
    """
    started = time.monotonic()
    summary = RedateSummary()
    with session_scope(engine) as s:
        options = analyse_options(settings, s).date_options()
        review = review_confidence_of(settings, s)
    # 1. Cameras that write local time into QuickTime, shown by the library.
    videos = _settle_videos(engine, options, summary)
    options = _settle_cameras(engine, options, videos, summary)
    by_id = {v.id: v for v in videos}
    # 2. Every row once: zone anchors and questions, and the status of the rest.
    judged_anchors: list[ZoneAnchor] = []
    user_anchors: list[ZoneAnchor] = []
    questions: list[int] = []
    changes: list[dict[str, Any]] = []
    when = None if near is None else sorted(near)
    with session_scope(engine) as s:
        for row in _rows(s, None, with_evidence=False):
            summary.files += 1
            item = by_id.get(row.id) or _Dated(row.id, row.name, row.kind, row.status, _stored(row))
            if _by_person(item):
                cur = item.stored
                if cur["taken_at_utc"] is not None and cur["utc_offset"] is not None:
                    user_anchors.append(
                        ZoneAnchor(cur["taken_at_utc"], cur["utc_offset"], item.name)
                    )
            else:
                cur = _current(item)
                role = _zone_role(cur)
                if role == "anchor":
                    judged_anchors.append(
                        ZoneAnchor(cur["taken_at_utc"], cur["utc_offset"], item.name)
                    )
                elif role == "question" and (when is None or _close(cur["taken_at_utc"], when)):
                    questions.append(item.id)
                    continue  # its change is known once it is asked
            change = _change_of(item, review, summary)
            if change is not None:
                changes.append(change)
    written = _write_changes(engine, changes)
    del changes
    # 3. The files whose offset is a guess, near files that record theirs, a chunk at a time.
    if questions:
        index = ZoneAnchors(judged_anchors + user_anchors)
        del judged_anchors, user_anchors
        for chunk in batched(questions, REDATE_CHUNK):
            with session_scope(engine) as s:
                items = [
                    by_id.get(row.id)
                    or _Dated(row.id, row.name, row.kind, row.status, _stored(row))
                    for row in _rows(s, chunk, with_evidence=False)
                ]
            _evidence_for(engine, items, options, summary)
            for item in items:
                _ask_zone(item, index, options, summary)
            written += _write_changes(
                engine, [c for c in (_change_of(i, review, summary) for i in items) if c]
            )
    summary.changed = len(written)
    if folders is not None:  # and those where a date moved just now
        folders = {*folders, *_folders_of(engine, written)}
    infer_sequences_in(engine, settings, review, folders)
    summary.seconds = time.monotonic() - started
    return summary


def _settle_videos(engine: Engine, options: DateOptions, summary: RedateSummary) -> list[_Dated]:
    """The videos not dated by a person, with their evidence (few beside the photos)."""
    columns = [File.id, File.name, File.kind, File.status, File.model, *VERDICT_COLUMNS]
    query = (
        select(*columns)
        .where(File.kind == "video", File.status.in_(_REDATABLE))
        .order_by(File.id)
        .execution_options(yield_per=1000)
    )
    with session_scope(engine) as s:
        videos = [
            item
            for item in (
                _Dated(r.id, r.name, r.kind, r.status, _stored(r)) for r in s.execute(query)
            )
            if not _by_person(item)
        ]
    _evidence_for(engine, videos, options, summary)
    return videos


def _settle_cameras(
    engine: Engine, options: DateOptions, videos: list[_Dated], summary: RedateSummary
) -> DateOptions:
    """Detect the local-time cameras from ``videos`` and the photos of their cameras (read
    as a stream), store them, and judge again the videos of cameras that joined or left."""
    clips = _clips(videos)
    cameras = {c.camera for c in clips}
    shots = []
    if cameras:
        query = (
            select(File.name, File.model, File.taken_at, File.date_source)
            .where(
                File.kind == "image",
                File.status.in_(_REDATABLE),
                File.model.is_not(None),
                File.taken_at.is_not(None),
            )
            .order_by(File.id)
            .execution_options(yield_per=1000)
        )
        with session_scope(engine) as s:
            for r in s.execute(query):
                camera = r.model.strip().casefold() if r.model else None
                if camera in cameras and str(r.date_source or "").startswith("exif:"):
                    shots.append(Shot(camera, r.taken_at, r.name))
    return _store_cameras(engine, options, videos, clips, shots, summary)


def _clips(videos: list[_Dated]) -> list[Clip]:
    """The videos whose evidence names a camera and a QuickTime header time."""
    clips = []
    for item in videos:
        ev = item.evidence
        header = ev.header() if ev is not None else None
        if ev is not None and header is not None and ev.camera is not None:
            clips.append(Clip(ev.camera, header, ev.duration, item.name))
    return clips


def _store_cameras(
    engine: Engine,
    options: DateOptions,
    videos: list[_Dated],
    clips: list[Clip],
    shots: list[Shot],
    summary: RedateSummary,
) -> DateOptions:
    """The local-time cameras ``clips`` and ``shots`` show, stored; the videos of cameras
    that joined or left the list judged again. The options with the new list."""
    # The whole library's evidence decides each time (a camera is never "once detected,
    # always"): the stored list is replaced.
    detected = detect_local_cameras(clips, shots, options.home_zone)
    with session_scope(engine) as s:
        if (stored_settings(s).get(LOCAL_CAMERAS_KEY) or {}) != detected:
            set_setting(s, LOCAL_CAMERAS_KEY, detected)
    summary.cameras = detected
    before = dict(options.detected_local_cameras)
    if detected != before:
        moved = {c for c in set(detected) | set(before) if detected.get(c) != before.get(c)}
        options = replace(options, detected_local_cameras=detected)
        for item in videos:
            if item.evidence is not None and item.evidence.camera in moved:
                item.verdict, item.plain = judge(item.evidence, options), True
    return options


def _folders_of(engine: Engine, ids: Sequence[int]) -> set[str]:
    folders: set[str] = set()
    with session_scope(engine) as s:
        for chunk in batched(list(ids), LOOKUP_CHUNK):
            folders.update(
                os.path.dirname(p) for p in s.scalars(select(File.path).where(File.id.in_(chunk)))
            )
    return folders


def _by_person(item: _Dated) -> bool:
    return item.stored.get("date_source") == "user"


def _evidence_for(
    engine: Engine, items: Sequence[_Dated], options: DateOptions, summary: RedateSummary
) -> None:
    """Load the evidence of ``items`` that lack it (settle reads it only where needed)."""
    todo = {i.id: i for i in items if i.evidence is None}
    if not todo:
        return
    with session_scope(engine) as s:
        for chunk in batched(list(todo), LOOKUP_CHUNK):
            for row in s.execute(select(File.id, File.evidence).where(File.id.in_(chunk))):
                todo[row.id].evidence = _stored_evidence(row.evidence)
    missing = {k: i for k, i in todo.items() if i.evidence is None}
    if missing:
        summary.regathered += _gather_again(engine, missing, options)


def _current(item: _Dated) -> dict[str, Any]:
    """The verdict columns the item will have (re-judged, else as stored)."""
    if item.verdict is None:
        return item.stored
    return verdict_columns(item.verdict, candidates=False)


def _settle(
    engine: Engine,
    settings: Settings,
    dated: list[_Dated],
    options: DateOptions,
    summary: RedateSummary,
    near: Sequence[datetime] | None = None,
) -> None:
    """Detect local-time cameras, then give guessed offsets their neighbours' zone: of
    every file, or with ``near`` (the sorted UTC times of the files a scan just probed), of
    the files whose neighbours may have changed, those within ``_SETTLE_REACH`` of one."""
    judged = [i for i in dated if i.stored.get("date_source") != "user"]
    # 1. Cameras that write local time into QuickTime, shown by the library.
    videos = [i for i in judged if i.kind == "video"]
    _evidence_for(engine, videos, options, summary)
    clips = _clips(videos)
    cameras = {c.camera for c in clips}
    shots = []
    for item in dated:
        cur = _current(item)
        model = item.stored.get("model") or (
            item.evidence.model if item.evidence is not None else None
        )
        camera = model.strip().casefold() if model else None
        if (
            item.kind == "image"
            and camera in cameras
            and cur["taken_at"] is not None
            and str(cur["date_source"] or "").startswith("exif:")
        ):
            shots.append(Shot(camera, cur["taken_at"], item.name))
    options = _store_cameras(engine, options, videos, clips, shots, summary)
    # 2. The zone from the neighbours: files whose offset is a guess, near files that
    # record theirs.
    anchors = []
    questions = []
    for item in judged:
        cur = _current(item)
        role = _zone_role(cur)
        if role == "question":
            questions.append(item)
        elif role == "anchor":
            anchors.append(ZoneAnchor(cur["taken_at_utc"], cur["utc_offset"], item.name))
    for item in dated:  # a person's date with its offset is a fine anchor too
        cur = item.stored
        if (
            cur.get("date_source") == "user"
            and cur["taken_at_utc"] is not None
            and cur["utc_offset"] is not None
        ):
            anchors.append(ZoneAnchor(cur["taken_at_utc"], cur["utc_offset"], item.name))
    if near is not None:
        questions = [q for q in questions if _close(_current(q)["taken_at_utc"], near)]
    if not questions:
        return
    index = ZoneAnchors(anchors)
    _evidence_for(engine, questions, options, summary)
    for item in questions:
        _ask_zone(item, index, options, summary)


def _zone_role(cur: dict[str, Any]) -> str | None:
    """What a file not dated by a person is to the zones of its neighbours, by its
    verdict columns ``cur``: an "anchor" (it records its offset), a "question" (its offset
    is a guess) or None (no fine time with an offset)."""
    fine = cur["date_precision"] in (
        Precision.SUBSECOND.value,
        Precision.SECOND.value,
        Precision.MINUTE.value,
    )
    if not fine or cur["taken_at_utc"] is None or cur["utc_offset"] is None:
        return None
    if cur["date_source"] in ("file:mtime", "folder", "inferred:sequence"):
        return None
    return "question" if cur["offset_source"] in _GUESSED else "anchor"


def _ask_zone(
    item: _Dated, index: ZoneAnchors, options: DateOptions, summary: RedateSummary
) -> None:
    """Judge a question (its evidence loaded) again with the zone its neighbours show."""
    if item.evidence is None:
        return
    plain = (
        item.verdict if item.plain and item.verdict is not None else judge(item.evidence, options)
    )
    if plain.taken_at is None or plain.utc_offset is None:
        return
    if plain.offset_source != "home-zone":
        item.verdict = plain
        return
    hint = index.hint_for(
        ZoneQuestion(
            item.id,
            plain.taken_at_utc if plain.instant_only else None,
            None if plain.instant_only else plain.taken_at,
            plain.utc_offset,
        )
    )
    item.verdict = judge(item.evidence, options, hint=hint) if hint else plain
    summary.zones += hint is not None


# A zone hint comes from anchors at most 6 hours away (``dates.zones``); a day covers that
# and any UTC offset between a local time and an instant.
_SETTLE_REACH = timedelta(days=1)


def _close(when: datetime, near: Sequence[datetime]) -> bool:
    """Whether ``when`` is within ``_SETTLE_REACH`` of a time in the sorted ``near``."""
    when = when.replace(tzinfo=None)
    i = bisect.bisect_left(near, when - _SETTLE_REACH)
    return i < len(near) and near[i] <= when + _SETTLE_REACH


def _save(
    engine: Engine,
    dated: list[_Dated],
    review: float,
    summary: RedateSummary,
    on_progress: Callable[[int, int, str], None] | None,
    should_stop: Callable[[], bool],
) -> list[int]:
    """Write the verdicts that changed (and the status they imply), a chunk per
    transaction; a file's date and status always change together. Returns the ids of the
    files written."""
    changes = [
        c for c in (_change_of(i, review, summary) for i in dated if i.verdict is not None) if c
    ]
    changes += [
        c for c in (_change_of(i, review, summary) for i in dated if i.verdict is None) if c
    ]
    total = len(changes)
    for done in range(0, total, REDATE_CHUNK):
        if should_stop():
            summary.cancelled = True
            return [c["id"] for c in changes[:done]]
        chunk = changes[done : done + REDATE_CHUNK]
        with session_scope(engine) as s:
            for keys in {tuple(sorted(c)) for c in chunk}:
                s.execute(update(File), [c for c in chunk if tuple(sorted(c)) == keys])
        summary.changed = done + len(chunk)
        if on_progress:
            on_progress(summary.changed, total, f"saved {summary.changed} of {total} changes")
    return [c["id"] for c in changes]


def _change_of(item: _Dated, review: float, summary: RedateSummary) -> dict[str, Any] | None:
    """The update a file's row needs (its new verdict and the status it implies, or only
    its status: that of a file not re-judged follows the threshold too), or None; counts
    the files left to review in ``summary``."""
    if item.verdict is None:
        if item.status not in ("ready", "review") or _by_person(item):
            return None
        dated = item.stored.get("taken_at") is not None
        status = media_status(None, dated, item.stored.get("confidence"), review)
        summary.review += status == "review"
        return {"id": item.id, "status": status} if status != item.status else None
    fields = verdict_columns(item.verdict)
    status = item.status
    if status in ("ready", "review"):
        dated = item.verdict.taken_at is not None
        status = media_status(None, dated, item.verdict.confidence, review)
    summary.review += status == "review"
    same = all(item.stored[k] == v for k, v in fields.items() if k in item.stored)
    if same and status == item.status:
        return None
    return {"id": item.id, **fields, "status": status}


def _write_changes(engine: Engine, changes: list[dict[str, Any]]) -> list[int]:
    """Write ``changes`` (see ``_change_of``), a chunk per transaction; their ids."""
    for done in range(0, len(changes), REDATE_CHUNK):
        chunk = changes[done : done + REDATE_CHUNK]
        with session_scope(engine) as s:
            for keys in {tuple(sorted(c)) for c in chunk}:
                s.execute(update(File), [c for c in chunk if tuple(sorted(c)) == keys])
    return [c["id"] for c in changes]
