"""Duplicate groups in the library: exact, near and burst, with a suggested keeper.

``regroup`` rebuilds every group from what the rows already hold (sha256, perceptual hash,
size, format, camera, dates), so changing the threshold costs seconds, not a rescan.
People's decisions are ``Decision`` rows and are applied again after every regroup:
"not duplicates" keeps two files apart, keep/discard choices stay chosen.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, distinct, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix.config import Settings
from mediafix.media.bundles import BundleInput, assign_bundles
from mediafix.media.copycheck import Verdict
from mediafix.media.fingerprint import DETAIL_THRESHOLD
from mediafix.media.keeper import (
    choose_keeper,
    classify_group,
    has_camera_metadata,
    keeper_ranks,
)
from mediafix.media.similarity import group_near
from mediafix.media.video import VideoPrint, video_groups
from mediafix.services.copies import hard_copy_pairs
from mediafix.store.db import session_scope
from mediafix.store.models import Decision, DuplicateGroup, DuplicateMember, File
from mediafix.store.records import keeper_input
from mediafix.store.settings import GROUPS_STALE_KEY, effective_settings, set_setting

__all__ = ["RegroupSummary", "regroup", "threshold_for"]


@dataclass
class RegroupSummary:
    exact: int = 0
    near: int = 0
    burst: int = 0
    files_in_groups: int = 0
    bundles: int = 0
    hard_copies: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class GroupRow:
    """What grouping reads of a file: its columns without ``meta`` (the big JSON), of which
    only what the keeper choice and video matching use is kept. A library of 100,000 files
    fits in a few tens of MB this way, where ORM rows with their metadata took a gigabyte."""

    id: int
    path: str
    root: str
    mtime: float | None
    kind: str
    format: str | None
    content_id: str | None
    bundle: str | None
    sha256: str | None
    phash: str | None
    detail_hash: str | None
    copy_keys: str | None
    width: int | None
    height: int | None
    size: int | None
    taken_at: datetime | None
    taken_at_utc: datetime | None
    make: str | None
    model: str | None
    camera_metadata: bool
    metadata_count: int
    duration: float

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


_GROUP_COLUMNS = (
    File.id,
    File.path,
    File.root,
    File.mtime,
    File.kind,
    File.format,
    File.content_id,
    File.bundle,
    File.sha256,
    File.phash,
    File.detail_hash,
    File.copy_keys,
    File.width,
    File.height,
    File.size,
    File.taken_at,
    File.taken_at_utc,
    File.make,
    File.model,
)

_REPEATED = {"root", "kind", "format", "make", "model"}


def _group_rows(s: Session) -> list[GroupRow]:
    """Every groupable file, its metadata read a thousand rows at a time and dropped."""
    query = (
        select(*_GROUP_COLUMNS, File.meta)
        .where(File.kind.in_(("image", "video")), File.sha256.is_not(None), File.size > 0)
        .order_by(File.id)
        .execution_options(yield_per=1000)
    )
    rows = []
    # Columns whose few values repeat over the library (the root, kind, format, camera make
    # and model) share one string per value: ~300 bytes a row, 30 MB at 100,000 files.
    repeated = [n for n, c in enumerate(_GROUP_COLUMNS) if c.key in _REPEATED]
    shared: dict[str, str] = {}
    for r in s.execute(query):
        meta = r.meta or {}
        columns = list(r)[: len(_GROUP_COLUMNS)]
        for n in repeated:
            if columns[n] is not None:
                columns[n] = shared.setdefault(columns[n], columns[n])
        values: Any = (
            *columns,
            has_camera_metadata(meta),
            len(meta),
            _duration(meta) if r.kind == "video" else 0.0,
        )
        rows.append(GroupRow(*values))
    return rows


def threshold_for(settings: Settings, session: Session) -> int:
    return effective_settings(settings, session).duplicate_threshold


def regroup(engine: Engine, settings: Settings) -> RegroupSummary:
    """Rebuild all duplicate groups and bundles; returns counts."""
    started = time.monotonic()
    summary = RegroupSummary()
    with session_scope(engine) as s:
        # Cleared before the rows are read: rows a scan saves from now on set it again (on
        # PostgreSQL their update waits for this transaction), so none is left ungrouped.
        set_setting(s, GROUPS_STALE_KEY, False)
        s.flush()
        threshold = threshold_for(settings, s)
        rows = _group_rows(s)
        partners = _update_bundles(s, rows, summary)
        decisions = s.scalars(
            select(Decision).where(Decision.kind.in_(("keep", "discard", "not_duplicate")))
        ).all()
        s.execute(delete(DuplicateMember))
        s.execute(delete(DuplicateGroup))
        s.flush()
        writer = _GroupWriter(s)

        by_sha: dict[str, list[GroupRow]] = defaultdict(list)
        for row in rows:
            by_sha[row.sha256].append(row)  # type: ignore[index]

        # Exact copies: one group per content hash; its best copy represents it below.
        representatives: list[GroupRow] = []
        for copies in by_sha.values():
            if len(copies) == 1:
                representatives.append(copies[0])
                continue
            inputs = [keeper_input(i, r, partners) for i, r in enumerate(copies)]
            keeper, reasons = choose_keeper(inputs)
            reasons = ["byte-identical copies (same size and SHA-256)", *reasons]
            writer.add("exact", copies, keeper, reasons, {i: 0 for i in range(len(copies))})
            summary.exact += 1
            representatives.append(copies[keeper])

        # Near copies among the distinct images.
        images = [r for r in representatives if r.kind == "image" and r.phash]
        if len(images) > 1:
            hashes = np.array(
                [int(r.phash, 16) & 0xFFFFFFFFFFFFFFFF for r in images],  # type: ignore[arg-type]
                dtype=np.uint64,
            )
            details = [int(r.detail_hash, 16) if r.detail_hash else None for r in images]
            # Screenshots, frames, mirrored, cropped, captioned and tilted copies: candidates
            # from the copy keys, each confirmed on its pixels (media.copycheck).
            extra, verdicts = hard_copy_pairs(s, images, hashes, details, threshold)
            summary.hard_copies = len(verdicts)
            edited = _edited_files(verdicts)
            inputs = [
                keeper_input(i, r, partners, edited=edited.get(i, "")) for i, r in enumerate(images)
            ]
            ranks = keeper_ranks(inputs)
            forbidden = _forbidden_pairs(images, decisions)
            for group in group_near(
                hashes,
                threshold,
                rank=ranks,
                forbidden=forbidden,
                details=details,
                detail_threshold=DETAIL_THRESHOLD,
                extra_pairs=extra,
            ):
                members = [images[i] for i in group.members]
                inside = _edited_files(verdicts, set(group.members))
                member_inputs = [
                    keeper_input(n, r, partners, edited=inside.get(i, ""))
                    for n, (i, r) in enumerate(zip(group.members, members, strict=True))
                ]
                kind = classify_group(member_inputs)
                keeper, reasons = choose_keeper(member_inputs)
                distances = {n: group.distances.get(i, 0) for n, i in enumerate(group.members)}
                lead = (
                    "similar frames shot seconds apart: review them, nothing is discarded "
                    "by default"
                    if kind == "burst"
                    else f"the same picture (perceptual distance {max(distances.values())} "
                    f"of 64 bits, threshold {threshold})"
                )
                reasons = [lead, *reasons, *_copy_reasons(verdicts, group.members, images)]
                if kind != "burst":  # a burst's frames are all kept: no copy to add
                    members, keeper, distances = _with_copies(
                        members, keeper, distances, reasons, by_sha
                    )
                writer.add(kind, members, keeper, reasons, distances)
                if kind == "burst":
                    summary.burst += 1
                else:
                    summary.near += 1
        _group_videos(writer, representatives, threshold, summary, by_sha, partners)
        writer.flush()
        _apply_decisions(s, decisions)
        s.flush()
        # Distinct files: an exact copy also shows in the near group of its picture.
        summary.files_in_groups = (
            s.scalar(select(func.count(distinct(DuplicateMember.file_id)))) or 0
        )
    summary.seconds = time.monotonic() - started
    return summary


def _edited_files(
    verdicts: dict[tuple[int, int], Verdict], among: set[int] | None = None
) -> dict[int, str]:
    """Which files are edited copies of another (``among`` only), and how, in words."""
    edited: dict[int, str] = {}
    for (i, j), verdict in verdicts.items():
        if verdict.edited is None or (among is not None and not {i, j} <= among):
            continue
        which = i if verdict.edited == "a" else j
        edited.setdefault(which, verdict.describe())
    return edited


def _copy_reasons(
    verdicts: dict[tuple[int, int], Verdict], members: list[int], images: list[GroupRow]
) -> list[str]:
    """One line per hard copy in a group: which file is what kind of copy of which."""
    lines = []
    inside = set(members)
    for (i, j), verdict in sorted(verdicts.items()):
        if not {i, j} <= inside:
            continue
        if verdict.edited is None:
            lines.append(
                f"{images[i].name} and {images[j].name} are the same photo "
                f"({verdict.describe()}; checked on the pixels)"
            )
            continue
        copy, of = (i, j) if verdict.edited == "a" else (j, i)
        lines.append(
            f"{images[copy].name} is a copy of {images[of].name}: {verdict.describe()} "
            "(checked on the pixels)"
        )
    return lines


def _with_copies(
    members: list[GroupRow],
    keeper: int,
    distances: dict[int, int],
    reasons: list[str],
    by_sha: dict[str, list[GroupRow]],
) -> tuple[list[GroupRow], int, dict[int, int]]:
    """A near group with the byte-identical copies of its members, each after its own.

    Near groups are found among one representative per content; its exact copies are the
    same picture, so they belong to the group too (suggested for discarding there, as in
    their exact group): the group holds every copy of the picture, not one of each content.
    A reason saying so is added to ``reasons`` when there are any.
    """
    grown: list[GroupRow] = []
    grown_distances: dict[int, int] = {}
    grown_keeper = 0
    for n, row in enumerate(members):
        if n == keeper:
            grown_keeper = len(grown)
        copies = by_sha.get(row.sha256 or "", [row])
        for copy in [row, *(c for c in copies if c is not row)]:
            grown_distances[len(grown)] = distances.get(n, 0)
            grown.append(copy)
    if (added := len(grown) - len(members)) > 0:
        noun = "copy" if added == 1 else "copies"
        reasons.append(
            f"with {added} byte-identical {noun} of its files (also in their exact group)"
        )
    return grown, grown_keeper, grown_distances


def _duration(meta: Mapping[str, Any]) -> float:
    for key, value in meta.items():
        if key.endswith(":Duration"):
            try:
                return float(value)
            except (TypeError, ValueError):
                continue
    return 0.0


def _group_videos(
    writer: _GroupWriter,
    rows: list[GroupRow],
    threshold: int,
    summary: RegroupSummary,
    by_sha: dict[str, list[GroupRow]],
    partners: dict[str, int],
) -> None:
    """Re-encoded copies of one video: every sampled frame within the threshold."""
    videos = [r for r in rows if r.kind == "video" and r.phash and len(r.phash) % 16 == 0]
    if len(videos) < 2:
        return
    inputs = [keeper_input(i, r, partners) for i, r in enumerate(videos)]
    ranks = keeper_ranks(inputs)
    order = sorted(range(len(videos)), key=lambda i: -ranks[i])
    prints = [VideoPrint.from_hex(videos[i].phash or "", videos[i].duration) for i in order]
    for group in video_groups(prints, threshold):
        members = [videos[order[i]] for i in group]
        keeper, reasons = choose_keeper(
            [keeper_input(n, r, partners) for n, r in enumerate(members)]
        )
        lead = f"the same video (every sampled frame within {threshold} bits, same duration)"
        first = prints[group[0]]
        distances = {
            n: max((a ^ b).bit_count() for a, b in zip(first.hashes, prints[i].hashes, strict=True))
            for n, i in enumerate(group)
        }
        reasons = [lead, *reasons]
        members, keeper, distances = _with_copies(members, keeper, distances, reasons, by_sha)
        writer.add("near", members, keeper, reasons, distances)
        summary.near += 1


def _update_bundles(s: Session, rows: list[GroupRow], summary: RegroupSummary) -> dict[str, int]:
    """Give each row its bundle key (None when it is in none); returns key -> members."""
    keys = assign_bundles(
        [BundleInput(r.id, r.path, r.kind, r.format or "", r.content_id) for r in rows]
    )
    changed = []
    for row in rows:
        key = keys.get(row.id)
        if key is not None and len(key) > 160:
            key = key[:100] + "~" + hashlib.sha1(key.encode("utf-8", "replace")).hexdigest()
        if row.bundle != key:
            row.bundle = key
            changed.append({"row_id": row.id, "key": key})
    if changed:  # only the rows whose bundle moved are written
        s.execute(
            update(File.__table__)  # type: ignore[arg-type]
            .where(File.__table__.c.id == bindparam("row_id"))
            .values(bundle=bindparam("key")),
            changed,
        )
    summary.bundles = len(set(keys.values()))
    return dict(Counter(row.bundle for row in rows if row.bundle))


def _forbidden_pairs(images: list[GroupRow], decisions: Any) -> set[frozenset[int]]:
    index_by_sha: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(images):
        index_by_sha[r.sha256].append(i)  # type: ignore[index]
    pairs: set[frozenset[int]] = set()
    for d in decisions:
        if d.kind != "not_duplicate" or not d.sha256 or not d.other_sha256:
            continue
        for a in index_by_sha.get(d.sha256, []):
            for b in index_by_sha.get(d.other_sha256, []):
                if a != b:
                    pairs.add(frozenset((a, b)))
    return pairs


class _GroupWriter:
    """Writes groups with Core inserts, a couple of thousand at a time: a library with tens
    of thousands of groups never holds them as ORM objects (that took hundreds of MB)."""

    FLUSH_GROUPS = 2000

    def __init__(self, s: Session) -> None:
        self.s = s
        self.pending: list[tuple[str, int, list[str], list[tuple[int, int, bool]]]] = []

    def add(
        self,
        kind: str,
        members: list[GroupRow],
        keeper: int,
        reasons: list[str],
        distances: dict[int, int],
    ) -> None:
        # A burst's frames are different shots: all are kept unless a person says otherwise.
        rows = [
            (row.id, int(distances.get(n, 0)), kind == "burst" or n == keeper)
            for n, row in enumerate(members)
        ]
        self.pending.append((kind, members[keeper].id, reasons, rows))
        if len(self.pending) >= self.FLUSH_GROUPS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        groups = DuplicateGroup.metadata.tables["duplicate_groups"]
        ids = self.s.scalars(
            insert(groups).returning(groups.c.id, sort_by_parameter_order=True),
            [
                {"type": kind, "keeper_id": keeper, "reasons": reasons, "status": "pending"}
                for kind, keeper, reasons, _ in self.pending
            ],
        ).all()
        self.s.execute(
            insert(DuplicateMember.metadata.tables["duplicate_members"]),
            [
                {"group_id": gid, "file_id": file_id, "distance": distance, "keep": keep}
                for gid, (*_, rows) in zip(ids, self.pending, strict=True)
                for file_id, distance, keep in rows
            ],
        )
        self.pending = []


def _apply_decisions(s: Session, decisions: Any) -> None:
    """Re-apply people's keep/discard choices (by file, or by content for a moved file)."""
    s.flush()
    choice_by_file: dict[int, bool] = {}
    choice_by_sha: dict[str, bool] = {}
    for d in sorted(decisions, key=lambda d: d.id):
        if d.kind not in ("keep", "discard"):
            continue
        if d.file_id is not None:
            choice_by_file[d.file_id] = d.kind == "keep"
        elif d.sha256:
            choice_by_sha[d.sha256] = d.kind == "keep"
    if not choice_by_file and not choice_by_sha:
        return
    groups = s.scalars(select(DuplicateGroup)).all()
    for group in groups:
        decided = 0
        chosen: set[str] = set()
        for m in group.members:
            sha = s.get(File, m.file_id).sha256 if choice_by_sha else None  # type: ignore[union-attr]
            if m.file_id in choice_by_file:
                m.keep = choice_by_file[m.file_id]
                decided += 1
            elif sha and sha in choice_by_sha and group.type != "exact":
                # A choice about content holds for one copy; a near group's other
                # byte-identical copies of it stay left out, as in their exact group.
                m.keep = choice_by_sha[sha] and sha not in chosen
                chosen.add(sha)
                decided += 1
        if decided == len(group.members):
            group.status = "resolved"
