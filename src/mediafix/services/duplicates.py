"""Duplicate groups in the library: exact, near and burst, with a suggested keeper.

``regroup`` rebuilds every group from what the rows already hold (sha256, perceptual hash,
size, format, camera, dates), so changing the threshold costs seconds, not a rescan.
People's decisions are ``Decision`` rows and are applied again after every regroup:
"not duplicates" keeps two files apart, keep/discard choices stay chosen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import operator
import os
import threading
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, distinct, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from mediafix import __version__
from mediafix.config import Settings
from mediafix.media import copycheck
from mediafix.media.bundles import BundleInput, assign_bundles
from mediafix.media.copycheck import Verdict
from mediafix.media.fingerprint import DETAIL_THRESHOLD
from mediafix.media.keeper import (
    choose_keeper,
    classify_group,
    has_camera_metadata,
    keeper_ranks,
)
from mediafix.media.similarity import HammingIndex, group_near
from mediafix.media.videoprint import VideoPrint, video_groups
from mediafix.services.copies import (
    Candidates,
    Fresh,
    SearchInput,
    Waiting,
    check_budget,
    check_pairs,
    closest_per_pair,
    copy_threshold,
    give_back_memory,
    hard_copy_pairs,
    key_table,
    map_large_blocks,
    search_candidates,
)
from mediafix.services.grouprows import NAMES, GroupRow, RowTable
from mediafix.store.counts import group_counts
from mediafix.store.db import ReadThenWrite, session_scope
from mediafix.store.models import (
    CopyCheck,
    Decision,
    DuplicateGroup,
    DuplicateMember,
    File,
    Setting,
)
from mediafix.store.queries import LOOKUP_CHUNK
from mediafix.store.records import keeper_input
from mediafix.store.settings import GROUPS_STALE_KEY, effective_settings, set_setting

__all__ = ["RegroupSummary", "checks_waiting", "regroup", "threshold_for"]

log = logging.getLogger(__name__)


@dataclass
class RegroupSummary:
    exact: int = 0
    near: int = 0
    burst: int = 0
    files_in_groups: int = 0
    bundles: int = 0
    hard_copies: int = 0
    seconds: float = 0.0
    incremental: bool = False  # only the groups the changed files touch were rebuilt


# What grouping reads of the files table: its columns named in ``grouprows.FIELDS`` (the
# others there are made from ``meta``).
_FROM_META = ("camera_metadata", "metadata_count", "duration")
_GROUP_COLUMNS = tuple(getattr(File, name) for name in NAMES if name not in _FROM_META)


def _group_rows(s: Session) -> RowTable:
    """Every groupable file, held as columns (``grouprows``), its metadata read a thousand
    rows at a time and dropped."""
    table = RowTable()
    for values in _group_values(s):
        table.append(values)
    return table


def _iter_group_rows(s: Session) -> Iterator[GroupRow]:
    """The same rows as a stream: a thousand at a time held."""
    table = RowTable()
    for values in _group_values(s):
        if len(table) == 1000:
            table = RowTable()
        yield table.append(values)


def _group_values(s: Session) -> Iterator[tuple[Any, ...]]:
    """Each groupable file's values in the order of ``grouprows.FIELDS``."""
    query = (
        select(*_GROUP_COLUMNS, File.meta)
        .where(File.kind.in_(("image", "video")), File.sha256.is_not(None), File.size > 0)
        .order_by(File.id)
        .execution_options(yield_per=1000)
    )
    for r in s.execute(query):
        meta = r.meta or {}
        yield (
            *list(r)[: len(_GROUP_COLUMNS)],
            has_camera_metadata(meta),
            len(meta),
            _duration(meta) if r.kind == "video" else 0.0,
        )


def threshold_for(settings: Settings, session: Session) -> int:
    return effective_settings(settings, session).duplicate_threshold


# How many times a regroup works out its groups from a reading of the library before it
# does that under the write lock: the library changed meanwhile each time (an import beside
# it, a "not duplicates").
_ATTEMPTS = 3


@dataclass
class _Plan:
    """The groups a regroup worked out from one reading of the library, to be written."""

    summary: RegroupSummary
    threshold: int
    state: dict[str, Any]  # what the groups depend on besides the rows (``_state_of``)
    apart: str  # the "not duplicates" decisions: they shape the groups themselves
    raw: np.ndarray  # each row's signature as read (before its bundle is given)
    ids: np.ndarray
    sigs: np.ndarray
    bundles: list[dict[str, Any]]  # rows whose bundle moved: {"row_id", "key"}
    writer: _GroupWriter
    backlog: bool
    # by parts: the groups replaced, as read (their ids and members), and what found them
    old: dict[int, list[int]] | None = None
    asked: tuple[set[int], set[int]] | None = None
    # hard-copy candidates left unchecked, as rows [file id, file id], the closest first:
    # the snapshot hands them to the regroups by parts that follow
    waiting: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))


def regroup(engine: Engine, settings: Settings, *, by_parts: bool = False) -> RegroupSummary:
    """Bring the duplicate groups and bundles up to date with the rows; returns counts.

    With ``by_parts`` (a rescan's or an import's regroup), when only a small part of the
    library changed since the last regroup, only the groups the changed files touch are
    rebuilt (:func:`_regroup_part`); the others keep their ids and statuses, and the counts
    of ``hard_copies`` are those of the part. Whenever that cannot be done exactly (the
    threshold, a decision, the remembered pixel checks or mediafix changed, a large change,
    videos, pixel checks left waiting), every group is rebuilt.

    The groups are worked out, pixel checks included (minutes on a large library), from a
    reading of the library without the write lock (``ReadThenWrite``); then one short
    transaction checks that nothing they depend on changed meanwhile (at once on SQLite
    when nothing was committed since; else by reading the rows again) and writes them, with
    the pixel checks' verdicts. A person's keep or discard meanwhile is simply applied
    again; anything else that changed (rows, "not duplicates", the threshold) makes it work
    them out again (the verdicts kept), and the last attempt does all under the lock.
    """
    started = time.monotonic()
    map_large_blocks()  # the search's big arrays leave no resident holes behind (issue #20)
    fresh: Fresh = {}  # pixel checks not stored yet
    for attempt in range(_ATTEMPTS):
        if attempt == _ATTEMPTS - 1:
            with session_scope(engine) as s:
                plan = _plan(s, settings, by_parts, fresh)
                token, members = _write(s, plan, fresh, _decisions(s))
            break
        with ReadThenWrite(engine) as db:
            with db.read() as reader:
                plan = _plan(reader, settings, by_parts, fresh)
            give_back_memory()
            with db.write() as s:
                # nothing committed since the reading began (SQLite): no need to look
                decisions = _decisions(s) if db.unchanged() else _still_current(s, settings, plan)
                if decisions is not None:
                    token, members = _write(s, plan, fresh, decisions)
                    break
        log.info("regroup: the library changed while its groups were worked out; again")
    # After the commit: a snapshot never describes groups that were rolled back (its token
    # must match the one committed with the groups).
    _write_snapshot(settings, token, plan.ids, plan.sigs, members, plan.waiting)
    plan.summary.seconds = time.monotonic() - started
    return plan.summary


def _decisions(s: Session) -> list[Decision]:
    return list(
        s.scalars(
            select(Decision)
            .where(Decision.kind.in_(("keep", "discard", "not_duplicate")))
            .order_by(Decision.id)
        )
    )


def _plan(
    s: Session,
    settings: Settings,
    by_parts: bool,
    fresh: Fresh,
    let_go: bool = True,
) -> _Plan:
    """The groups of the library as ``s`` reads it, nothing written (pixel checks made go
    to ``fresh``). With ``let_go``, a full regroup lets the rows go while it searches the
    hard-copy candidates, and reads them again after."""
    summary = RegroupSummary()
    threshold = threshold_for(settings, s)
    rows = _group_rows(s)
    _ids, raw = _signatures(rows, {})
    bundles, partners = _bundles(rows, summary)
    decisions = _decisions(s)
    state = _state_of(s, threshold, decisions)
    ids, sigs = _signatures(rows, partners)
    writer = _GroupWriter()
    plan = _Plan(
        summary, threshold, state, _apart(decisions), raw, ids, sigs, bundles, writer, False
    )
    if by_parts:
        changes = _changes_since(s, settings, state, ids, sigs)
        if changes is not None:
            part = _regroup_part(
                s, rows, partners, decisions, threshold, changes, plan=plan, fresh=fresh
            )
            if part is not None:
                summary.incremental = True
                return plan
            plan.writer = _GroupWriter()
    if not let_go:
        plan.backlog = _regroup_all(s, rows, partners, decisions, threshold, plan, fresh)
        return plan
    # The hard-copy candidates first, from arrays, the rows let go meanwhile (the search's
    # peak on top of them went over 300 MB at 100,000 files); then the rows read again.
    search = _search_input(rows, partners)
    del rows
    found = search_candidates(search, threshold)
    del search
    rows = _group_rows(s)
    again, raw = _signatures(rows, {})
    if not (np.array_equal(again, plan.ids) and np.array_equal(raw, plan.raw)):
        # the library changed between the readings (PostgreSQL's read committed): all again
        # from a new reading, the rows held this time
        del rows, found
        return _plan(s, settings, False, fresh, let_go=False)
    moved = {b["row_id"]: b["key"] for b in bundles}
    for row in rows:  # the bundles as worked out from the first reading
        if row.id in moved:
            row.bundle = moved[row.id]
    plan.backlog = _regroup_all(s, rows, partners, decisions, threshold, plan, fresh, found)
    return plan


def _search_input(rows: Sequence[GroupRow], partners: dict[str, int]) -> SearchInput:
    """What the hard-copy search reads of the pictures a full regroup looks at: each
    content's best copy, as :func:`_exact_groups` picks it (:func:`_representative`)."""
    pictures = _pictures(
        copies[_representative(copies, partners)[0]] for copies in _by_sha(rows).values()
    )
    return SearchInput.of(pictures, *_picture_hashes(pictures))


def _pictures(representatives: Iterable[GroupRow]) -> list[GroupRow]:
    """The contents' best copies that the near and hard-copy searches look at: pictures
    with a perceptual hash."""
    return [r for r in representatives if r.kind == "image" and r.phash]


def _picture_hashes(images: list[GroupRow]) -> tuple[np.ndarray, list[int | None]]:
    """The pictures' first hashes (uint64) and 256-bit detail hashes."""
    hashes = np.array(
        [int(r.phash, 16) & 0xFFFFFFFFFFFFFFFF for r in images],  # type: ignore[arg-type]
        dtype=np.uint64,
    )
    return hashes, [int(r.detail_hash, 16) if r.detail_hash else None for r in images]


def _apart(decisions: list[Decision]) -> str:
    text = repr([(d.sha256, d.other_sha256) for d in decisions if d.kind == "not_duplicate"])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _still_current(s: Session, settings: Settings, plan: _Plan) -> list[Decision] | None:
    """The decisions to apply when ``plan``'s groups still hold for the library as ``s``
    (holding the write lock) reads it, else None: the same rows, threshold, remembered pixel
    checks and "not duplicates" (by parts: every decision, and the groups it replaces)."""
    if threshold_for(settings, s) != plan.threshold:
        return None
    if _copy_checks(s) != plan.state["copy_checks"]:
        return None  # another regroup's pixel checks
    decisions = _decisions(s)
    if _apart(decisions) != plan.apart:
        return None
    if plan.summary.incremental:
        if _state_of(s, plan.threshold, decisions) != plan.state:
            return None
        assert plan.asked is not None
        if _groups_of(s, *plan.asked) != plan.old:
            return None
    ids, raw = _row_signatures(s)
    if not (np.array_equal(ids, plan.ids) and np.array_equal(raw, plan.raw)):
        return None
    return decisions


def _write(
    s: Session,
    plan: _Plan,
    fresh: Fresh,
    decisions: list[Decision],
) -> tuple[str, np.ndarray]:
    """Write ``plan``'s groups, bundles, pixel checks and snapshot state in ``s``; returns
    the snapshot's token and the groups' members (group id, file id)."""
    summary = plan.summary
    # Rows a scan saves from now on set it again (on PostgreSQL their update waits for
    # this transaction), so none is left ungrouped.
    set_setting(s, GROUPS_STALE_KEY, False)
    if plan.bundles:  # only the rows whose bundle moved are written
        s.execute(
            update(File.__table__)  # type: ignore[arg-type]
            .where(File.__table__.c.id == bindparam("row_id"))
            .values(bundle=bindparam("key")),
            plan.bundles,
        )
    for (sha, other), (version, text) in fresh.items():
        s.merge(
            CopyCheck(sha256=sha, other_sha256=other, version=version, verdict=json.loads(text))
        )
    fresh.clear()
    if plan.old is None:
        s.execute(delete(DuplicateMember))
        s.execute(delete(DuplicateGroup))
    else:
        stale = sorted(plan.old)
        for start in range(0, len(stale), LOOKUP_CHUNK):
            chunk = stale[start : start + LOOKUP_CHUNK]
            s.execute(delete(DuplicateMember).where(DuplicateMember.group_id.in_(chunk)))
            s.execute(delete(DuplicateGroup).where(DuplicateGroup.id.in_(chunk)))
    s.flush()
    written = plan.writer.write(s)
    _apply_decisions(s, decisions, written if plan.old is not None else None)
    s.flush()
    token = os.urandom(8).hex()
    state = {
        **plan.state,
        "decisions": _state_of(s, plan.threshold, decisions)["decisions"],
        "copy_checks": _copy_checks(s),  # with the ones this regroup remembered
    }
    set_setting(s, SNAPSHOT_KEY, {**state, "token": token, "backlog": plan.backlog})
    s.flush()
    # Distinct files: an exact copy also shows in the near group of its picture.
    summary.files_in_groups = s.scalar(select(func.count(distinct(DuplicateMember.file_id)))) or 0
    members = np.array(
        s.execute(select(DuplicateMember.group_id, DuplicateMember.file_id)).all(),
        dtype=np.int64,
    ).reshape(-1, 2)
    if summary.incremental:
        counts = group_counts(s)
        summary.exact, summary.near, summary.burst = (
            counts["exact"],
            counts["near"],
            counts["burst"],
        )
    return token, members


def _regroup_all(
    s: Session,
    rows: Sequence[GroupRow],
    partners: dict[str, int],
    decisions: Any,
    threshold: int,
    plan: _Plan,
    fresh: Fresh,
    candidates: Candidates | None = None,
) -> bool:
    """Every group worked out (into ``plan.writer``); returns whether pixel checks were left
    for a later regroup. ``candidates``: the hard-copy candidates among the pictures, when
    they were searched already (from the same rows)."""
    summary = plan.summary
    writer = plan.writer
    by_sha = _by_sha(rows)
    representatives = _exact_groups(writer, by_sha, list(by_sha), partners, summary)
    images = _pictures(representatives)
    waiting = Waiting()
    _near_groups(
        s,
        writer,
        images,
        threshold,
        partners,
        decisions,
        by_sha,
        summary,
        fresh,
        waiting,
        candidates=candidates,
    )
    plan.waiting = _waiting_ids(images, waiting)
    _group_videos(writer, representatives, threshold, summary, by_sha, partners)
    return waiting.more


def _waiting_ids(rows: Sequence[GroupRow], waiting: Waiting) -> np.ndarray:
    """The candidates ``waiting`` holds (rows [i, j] of ``rows``) as rows [file id, file id]."""
    if not waiting.pairs or not rows:
        return np.empty((0, 2), dtype=np.int64)
    ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
    return ids[np.concatenate(waiting.pairs)].reshape(-1, 2)


def _by_sha(rows: Sequence[GroupRow]) -> dict[str, list[GroupRow]]:
    by_sha: dict[str, list[GroupRow]] = defaultdict(list)
    for row in rows:
        by_sha[row.sha256].append(row)  # type: ignore[index]
    return by_sha


def _representative(copies: list[GroupRow], partners: dict[str, int]) -> tuple[int, list[str]]:
    """The best of a content's copies (it stands for them in the near search), and why."""
    if len(copies) == 1:
        return 0, []
    inputs = [keeper_input(i, r, partners) for i, r in enumerate(copies)]
    return choose_keeper(inputs)


def _exact_groups(
    writer: _GroupWriter,
    by_sha: dict[str, list[GroupRow]],
    shas: list[str],
    partners: dict[str, int],
    summary: RegroupSummary,
) -> list[GroupRow]:
    """Exact copies: one group per content hash of ``shas``; returns each content's best
    copy, which represents it in the near search."""
    representatives: list[GroupRow] = []
    for sha in shas:
        copies = by_sha[sha]
        keeper, reasons = _representative(copies, partners)
        if len(copies) > 1:
            reasons = ["byte-identical copies (same size and SHA-256)", *reasons]
            writer.add("exact", copies, keeper, reasons, {i: 0 for i in range(len(copies))})
            summary.exact += 1
        representatives.append(copies[keeper])
    return representatives


def _near_groups(
    s: Session,
    writer: _GroupWriter,
    images: list[GroupRow],
    threshold: int,
    partners: dict[str, int],
    decisions: Any,
    by_sha: dict[str, list[GroupRow]],
    summary: RegroupSummary,
    fresh: Fresh,
    waiting: Waiting,
    budget: int | None = None,
    candidates: Candidates | None = None,
) -> int:
    """Near copies among the distinct ``images``; returns how many pixel checks were made.
    The hard-copy candidates (``candidates`` if found already) left unchecked (over
    ``budget``, or the pixel-check budget of as many pictures) go to ``waiting``."""
    if len(images) < 2:
        return 0
    hashes, details = _picture_hashes(images)
    # Screenshots, frames, mirrored, cropped, captioned and tilted copies: candidates
    # from the copy keys, each confirmed on its pixels (media.copycheck).
    # As many new checks as the budget allows: some candidates may wait for the next one.
    extra, verdicts, made = hard_copy_pairs(
        s,
        images,
        hashes,
        details,
        threshold,
        fresh,
        candidates=candidates,
        waiting=waiting,
        budget=budget,
    )
    if candidates is not None:
        candidates.release()  # the callers' frames hold them through the grouping below
    give_back_memory()  # the pixel checks' decoded pictures, freed on the heap (~30 MB)
    summary.hard_copies += len(verdicts)
    edited = _edited_files(verdicts)
    # a keeper input per picture, read as it is made: tens of MB at 100,000 files if held;
    # the paths (made anew from the rows' columns at each reading) only where scores tie
    ranks = keeper_ranks(
        (keeper_input(i, r, partners, edited=edited.get(i, "")) for i, r in enumerate(images)),
        path_of=lambda i: images[i].path,
    )
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
            "similar frames shot seconds apart: review them, nothing is discarded by default"
            if kind == "burst"
            else f"the same picture (perceptual distance {max(distances.values())} "
            f"of 64 bits, threshold {threshold})"
        )
        reasons = [lead, *reasons, *_copy_reasons(verdicts, group.members, images)]
        if kind != "burst":  # a burst's frames are all kept: no copy to add
            members, keeper, distances = _with_copies(members, keeper, distances, reasons, by_sha)
        writer.add(kind, members, keeper, reasons, distances)
        if kind == "burst":
            summary.burst += 1
        else:
            summary.near += 1
    return made


def _copy_checks(s: Session) -> int:
    s.flush()
    return int(s.scalar(select(func.count()).select_from(CopyCheck)) or 0)


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
    rows: Sequence[GroupRow],
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


def _bundles(
    rows: Sequence[GroupRow], summary: RegroupSummary
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Give each row its bundle key (None when it is in none); returns the rows whose key
    moved (to write: {"row_id", "key"}) and key -> members."""
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
    summary.bundles = len(set(keys.values()))
    return changed, dict(Counter(row.bundle for row in rows if row.bundle))


def _forbidden_pairs(images: list[GroupRow], decisions: Any) -> set[frozenset[int]]:
    if not any(d.kind == "not_duplicate" for d in decisions):
        return set()  # (no index of every picture's content made for nothing)
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
    """Gathers the groups a regroup works out, then writes them with Core inserts, a couple
    of thousand at a time: a library with tens of thousands of groups never holds them as
    ORM objects (that took hundreds of MB)."""

    FLUSH_GROUPS = 2000

    def __init__(self) -> None:
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

    def write(self, s: Session) -> list[int]:
        """Insert the groups gathered (emptied); returns their ids."""
        groups = DuplicateGroup.metadata.tables["duplicate_groups"]
        members = DuplicateMember.metadata.tables["duplicate_members"]
        written: list[int] = []
        pending, self.pending = self.pending, []
        pending.reverse()  # taken from the end, so that what was written is let go
        while pending:
            chunk = pending[-self.FLUSH_GROUPS :][::-1]  # ids in the order gathered
            del pending[-self.FLUSH_GROUPS :]
            ids = s.scalars(
                insert(groups).returning(groups.c.id, sort_by_parameter_order=True),
                [
                    {"type": kind, "keeper_id": keeper, "reasons": reasons, "status": "pending"}
                    for kind, keeper, reasons, _ in chunk
                ],
            ).all()
            s.execute(
                insert(members),
                [
                    {"group_id": gid, "file_id": file_id, "distance": distance, "keep": keep}
                    for gid, (*_, rows) in zip(ids, chunk, strict=True)
                    for file_id, distance, keep in rows
                ],
            )
            written.extend(ids)
        return written


def _apply_decisions(s: Session, decisions: Any, only: list[int] | None = None) -> None:
    """Re-apply people's keep/discard choices (by file, or by content for a moved file), to
    every group or to the groups ``only``."""
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
    if only is None:
        groups = list(s.scalars(select(DuplicateGroup)))
    else:
        groups = []
        for start in range(0, len(only), LOOKUP_CHUNK):
            chunk = only[start : start + LOOKUP_CHUNK]
            groups += s.scalars(select(DuplicateGroup).where(DuplicateGroup.id.in_(chunk)))
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


# -- a regroup of the part of the library that changed -------------------------------------
#
# A regroup leaves a snapshot of what it grouped: one signature per row (every column
# grouping reads, its bundle and the bundle's size) in a file of the data folder, and in the
# settings table what else the groups depend on (threshold, decisions, mediafix version)
# with a token the file must carry. The next regroup compares: when a few rows changed,
# came or went, only the connected parts of the duplicate graph around them are grouped
# again. ``group_near`` decides each connected part on its own (a keeper takes only its own
# neighbours; "not duplicates" pairs only hold back neighbours), and a content's best copy,
# the keeper ranks and the hard-copy verdicts are the part's own, so what it makes of an
# untouched part is what it made of it last time. tests/invariants/test_regroup_part.py
# compares the two ways on random libraries.

SNAPSHOT_KEY = "groups_snapshot"
SNAPSHOT_FILE = "groups-snapshot.npz"
# Raised whenever grouping makes something else of the same rows: older snapshots then
# lead to a full regroup.
_SNAPSHOT_VERSION = 1
_SIGNED = NAMES  # everything grouping reads of a row


def checks_waiting(settings: Settings, s: Session) -> tuple[int, bool]:
    """How many hard-copy candidates the last regroup left waiting for a pixel check (over
    its budget), and whether there are more than those (found again by a full regroup)."""
    snapshot = _last_snapshot(s, settings)
    if isinstance(snapshot, str):
        return 0, False
    value, arrays = snapshot
    return len(arrays["waiting"]), value["backlog"]


def _last_snapshot(
    s: Session, settings: Settings
) -> tuple[dict[str, Any], dict[str, np.ndarray]] | str:
    """The last regroup's snapshot: its settings value and its file's arrays (``token``,
    ``ids``, ``sigs``, ``members``, ``waiting``), or why there is none to go by."""
    stored = s.get(Setting, SNAPSHOT_KEY)
    value = stored.value if stored is not None else None
    if not isinstance(value, dict) or not isinstance(value.get("backlog"), bool):
        return "no snapshot of the last regroup"
    try:
        with np.load(_snapshot_path(settings)) as data:
            arrays = {key: data[key] for key in ("token", "ids", "sigs", "members")}
            arrays["waiting"] = data["waiting"] if "waiting" in data else np.empty((0, 2), np.int64)
    except (OSError, ValueError, KeyError):
        return "the snapshot file is missing or unreadable"
    if str(arrays["token"]) != value.get("token") or arrays["ids"].shape != arrays["sigs"].shape:
        return "the snapshot file is not the last regroup's"
    return value, arrays


def _whole(why: str) -> None:
    log.info("regroup: every group rebuilt (%s)", why)


def part_limit(files: int) -> int:
    """How many changed rows a regroup handles by parts: each costs a few passes over the
    hashes and copy keys (milliseconds at 100,000 files), so beyond this (5 % of the
    library, at most 5,000) grouping everything again is cheaper."""
    return max(64, min(5_000, files // 20))


def _state_of(s: Session, threshold: int, decisions: Any) -> dict[str, Any]:
    """What the groups depend on besides the rows (the pixel checks remembered: only
    regroups add any, so a count that moved means some were forgotten)."""
    text = repr(
        sorted((d.id, d.kind, d.file_id, d.sha256 or "", d.other_sha256 or "") for d in decisions)
    )
    return {
        "version": _SNAPSHOT_VERSION,
        "mediafix": __version__,
        "threshold": threshold,
        "check_version": copycheck.CHECK_VERSION,
        "copy_checks": _copy_checks(s),
        "decisions": hashlib.blake2b(text.encode(), digest_size=16).hexdigest(),
    }


def _signatures(
    rows: Iterable[GroupRow], partners: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's id and a 64-bit digest of everything grouping reads of it."""
    ids = array("q")
    columns = operator.attrgetter(*_SIGNED)
    blake2b = hashlib.blake2b
    digests = bytearray()
    for r in rows:
        ids.append(r.id)
        values = (columns(r), partners.get(r.bundle, 0) if r.bundle else 0)
        digests += blake2b(repr(values).encode("utf-8", "backslashreplace"), digest_size=8).digest()
    return (
        np.frombuffer(ids, dtype=np.int64).copy(),
        np.frombuffer(bytes(digests), dtype=np.uint64).copy(),
    )


def _row_signatures(s: Session) -> tuple[np.ndarray, np.ndarray]:
    """The rows' ids and signatures as read (bundles as stored), read as a stream."""
    return _signatures(_iter_group_rows(s), {})


def _snapshot_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / SNAPSHOT_FILE


def _write_snapshot(
    settings: Settings,
    token: str,
    ids: np.ndarray,
    sigs: np.ndarray,
    members: np.ndarray,
    waiting: np.ndarray,
) -> None:
    """The rows' signatures, the groups' members (a row deleted since takes its member
    rows with it: the snapshot still says which groups it was in) and the hard-copy
    candidates waiting for a pixel check."""
    path = _snapshot_path(settings)
    scratch = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(scratch, "wb") as fh:
            np.savez(
                fh, token=np.array(token), ids=ids, sigs=sigs, members=members, waiting=waiting
            )
        os.replace(scratch, path)
    except OSError:  # no snapshot: the next regroup is a full one
        with contextlib.suppress(OSError):
            scratch.unlink()


@dataclass
class _Changes:
    """What changed since the last regroup, as its snapshot tells."""

    changed: set[int]  # rows changed or new
    gone: set[int]  # ids gone
    held: set[int]  # the groups the changed and gone rows were in
    waiting: np.ndarray  # hard-copy candidates waiting for a pixel check: [file id, file id]
    more: bool  # and others, not held in the snapshot


def _changes_since(
    s: Session, settings: Settings, state: dict[str, Any], ids: np.ndarray, sigs: np.ndarray
) -> _Changes | None:
    """What changed since the last regroup; None when the groups must be rebuilt whole (no
    snapshot, other settings or decisions, too many changes, candidates left unchecked that
    the snapshot does not hold)."""
    snapshot = _last_snapshot(s, settings)
    if isinstance(snapshot, str):
        _whole(snapshot)
        return None
    value, arrays = snapshot
    if any(value.get(key) != wanted for key, wanted in state.items()):
        _whole("the threshold, a decision or mediafix changed")
        return None
    old_ids, old_sigs, members, waiting = (
        arrays["ids"],
        arrays["sigs"],
        arrays["members"],
        arrays["waiting"],
    )
    if value["backlog"] and not len(waiting):
        # (the snapshot holds some of the candidates left unchecked; a full regroup finds
        # the others again, once those are checked)
        _whole("pixel checks left waiting that the snapshot does not hold")
        return None
    order = np.argsort(old_ids, kind="stable")
    old_ids, old_sigs = old_ids[order], old_sigs[order]
    at = np.minimum(np.searchsorted(old_ids, ids), max(len(old_ids) - 1, 0))
    same = (
        (old_ids[at] == ids) & (old_sigs[at] == sigs)
        if len(old_ids)
        else np.zeros(len(ids), dtype=bool)
    )
    changed = ids[~same]
    gone = np.setdiff1d(old_ids, ids)
    if len(changed) + len(gone) > part_limit(len(ids)):
        _whole(f"{len(changed) + len(gone)} rows changed")
        return None
    # their groups as the snapshot saw them: a deleted row's member rows went with it (and
    # SQLite may give its id to a new row)
    moved = np.concatenate([changed, gone])
    held = members[np.isin(members[:, 1], moved), 0] if len(members) else members[:0, 0]
    return _Changes(
        set(changed.tolist()), set(gone.tolist()), set(held.tolist()), waiting, value["backlog"]
    )


def _groups_of(
    s: Session, file_ids: set[int], group_ids: set[int] | None = None
) -> dict[int, list[int]]:
    """The groups that hold any of ``file_ids`` (and ``group_ids`` that still exist), each
    with all its members' file ids."""
    found = set(group_ids or ())
    wanted = sorted(file_ids)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        found.update(
            s.scalars(select(DuplicateMember.group_id).where(DuplicateMember.file_id.in_(chunk)))
        )
    members: dict[int, list[int]] = {}
    ordered = sorted(found)
    for start in range(0, len(ordered), LOOKUP_CHUNK):
        chunk = ordered[start : start + LOOKUP_CHUNK]
        for group_id, file_id in s.execute(
            select(DuplicateMember.group_id, DuplicateMember.file_id).where(
                DuplicateMember.group_id.in_(chunk)
            )
        ):
            members.setdefault(group_id, []).append(file_id)
    held = sorted(set(group_ids or ()) - set(members))  # groups left without a member
    for start in range(0, len(held), LOOKUP_CHUNK):
        chunk = held[start : start + LOOKUP_CHUNK]
        for group_id in s.scalars(select(DuplicateGroup.id).where(DuplicateGroup.id.in_(chunk))):
            members[group_id] = []
    return members


class _Index:
    """One entry per content (sha256) that is a picture with a perceptual hash: its first
    hash, detail hash and copy keys, searched one entry against all (a rescan changes few)."""

    def __init__(
        self, by_sha: dict[str, list[GroupRow]], partners: dict[str, int], threshold: int
    ) -> None:
        self.shas: list[str] = []
        self.rows: list[GroupRow] = []
        for sha, copies in by_sha.items():
            row = copies[0]
            facts = {(c.kind, c.phash, c.detail_hash, c.copy_keys) for c in copies}
            if len(facts) > 1:  # copies probed differently: the best one stands for them
                row = copies[_representative(copies, partners)[0]]
            if row.kind == "image" and row.phash:
                self.shas.append(sha)
                self.rows.append(row)
        self.position = {sha: n for n, sha in enumerate(self.shas)}
        self.threshold = threshold
        self.copy_threshold = copy_threshold(threshold)
        self.hashes = np.array(
            [int(r.phash, 16) & 0xFFFFFFFFFFFFFFFF for r in self.rows],  # type: ignore[arg-type]
            dtype=np.uint64,
        )
        self.details = [int(r.detail_hash, 16) if r.detail_hash else None for r in self.rows]
        # every entry's first hash (code 0) and copy keys, as the hard-copy search has them
        self.key_values, self.key_owners, self.key_codes = key_table(self.rows, self.hashes)
        # entry n's copy keys: key_start[n] to key_start[n + 1] (they follow the first
        # hashes, in the entries' order)
        n = len(self.rows)
        self.key_start = np.searchsorted(self.key_owners[n:], np.arange(n + 1)) + n
        self.key_index: HammingIndex | None = None  # built when first asked

    def near(self, n: int) -> set[int]:
        """Entries within the threshold of entry ``n`` whose detail hashes agree."""
        close = np.flatnonzero(np.bitwise_count(self.hashes ^ self.hashes[n]) <= self.threshold)
        mine = self.details[n]
        out = set()
        for m in close.tolist():
            other = self.details[m]
            if m != n and (
                mine is None or other is None or (mine ^ other).bit_count() <= DETAIL_THRESHOLD
            ):
                out.add(m)
        return out

    def candidates(self, entries: Iterable[int]) -> np.ndarray:
        """Rows [entry, other, distance] for each pair of one of ``entries`` and another
        entry with a key within the copy threshold of one of its keys (not both first
        hashes: first hash to first hash is :meth:`near`'s), at the distance of the
        closest, each pair once: the hard-copy candidates of ``entries``, as the full
        search finds them (and pairs that :meth:`near` finds too)."""
        if self.key_index is None:
            self.key_index = HammingIndex(self.key_values, self.copy_threshold)
        asked = np.array(
            [k for n in entries for k in (n, *range(self.key_start[n], self.key_start[n + 1]))],
            dtype=np.int64,
        )
        found = self.key_index.within(self.key_values[asked])
        mine, other = asked[found[:, 0]], found[:, 1]
        meet = (self.key_codes[mine] != 0) | (self.key_codes[other] != 0)
        meet &= self.key_owners[mine] != self.key_owners[other]
        entry, partner = self.key_owners[mine[meet]], self.key_owners[other[meet]]
        n = len(self.rows)
        packed = closest_per_pair((entry * n + partner) << 7 | found[meet, 2])
        return np.stack([(packed >> 7) // n, (packed >> 7) % n, packed & 0x7F], axis=1)


class _ById:
    """The rows by file id, from their ids in one array (rows come in the order of their
    ids): a dict of 100,000 rows took ~10 MB."""

    def __init__(self, rows: Sequence[GroupRow]) -> None:
        self.rows = rows
        self.ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
        if np.any(self.ids[1:] <= self.ids[:-1]):
            raise ValueError("rows not in the order of their ids")

    def _at(self, file_id: int) -> int:
        at = int(np.searchsorted(self.ids, file_id))
        return at if at < len(self.ids) and self.ids[at] == file_id else -1

    def __contains__(self, file_id: int) -> bool:
        return self._at(file_id) >= 0

    def __getitem__(self, file_id: int) -> GroupRow:
        at = self._at(file_id)
        if at < 0:
            raise KeyError(file_id)
        return self.rows[at]


# New pixel checks a regroup by parts makes for the candidates of its part, besides its share
# of those waiting: the few candidates of an ordinary change (a screenshot, a cropped copy)
# are checked at once; a crowded library's dozens per picture wait, as they would in a full
# regroup, rather than making a rescan of 1 % of its files cost as much as regrouping all.
PART_CHECKS = 600


def part_budget(full: int, share: int) -> int:
    """The pixel checks a regroup by parts makes: its ``share`` of the waiting ones and
    :data:`PART_CHECKS`, never more than a full regroup's budget ``full``."""
    return min(full, share + PART_CHECKS)


def waiting_share(budget: int, changes: int, files: int) -> int:
    """How many waiting hard-copy candidates a regroup by parts of ``changes`` rows checks:
    the budget of a full regroup of ``files``, in proportion to the rows that changed (at
    least one), so that checking them keeps pace, and costs what the changes do."""
    return max(1, -(-budget * changes // max(1, files)))


def _regroup_part(
    s: Session,
    rows: Sequence[GroupRow],
    partners: dict[str, int],
    decisions: Any,
    threshold: int,
    changes: _Changes,
    *,
    plan: _Plan,
    fresh: Fresh,
) -> bool | None:
    """Work out anew the groups of the connected parts that changed and gone rows touch
    (into ``plan``: its writer, and in ``old`` the groups they replace).

    The part is every content of a changed row or of a member of a group that held a
    changed or gone row, with everything connected to it: same picture within the
    threshold (detail hash agreeing) or a hard copy confirmed on the pixels. The groups that
    held any of its files are replaced; the others stay as they are. Hard-copy candidates
    waiting for a pixel check (from an earlier regroup, over its budget) are checked, a
    share in proportion to the changes (:func:`waiting_share`): a pair found the same joins
    the part. Only candidates with a file in the part are checked, so that every verdict
    made is one the part's groups take in; at most :func:`part_budget` of them, the closest
    first, the others waiting in the snapshot.

    Returns whether pixel checks were left for later that the snapshot does not hold, or
    None when this cannot be done exactly (videos, a part too large, an old group reaching
    outside the part): then the caller rebuilds all.
    """
    summary = plan.summary
    by_id = _ById(rows)
    changed, gone, held = changes.changed, changes.gone, changes.held
    old = _groups_of(s, changed | gone, held)
    touched = changed | {f for members in old.values() for f in members}
    seeds = {by_id[f].sha256 or "" for f in touched if f in by_id}
    # the waiting candidates between unchanged files (those of a changed one are found
    # again from it); the share to check now first
    moved = np.array(sorted(changed | gone), dtype=np.int64)
    waiting = changes.waiting
    if len(waiting):
        present = by_id.ids
        keep = np.isin(waiting, present).all(axis=1) & ~np.isin(waiting, moved).any(axis=1)
        waiting = waiting[keep]
    full = check_budget(len(rows))
    share = waiting_share(full, len(changed) + len(gone), len(rows))
    budget = part_budget(full, share)
    now, later = waiting[:share], waiting[share:]
    plan.backlog = changes.more
    if not seeds and not len(now):
        plan.old, plan.asked = old, (changed | gone, held)
        plan.waiting = later
        return plan.backlog
    by_sha = _by_sha(rows)
    if any(r.kind == "video" for sha in seeds for r in by_sha[sha]):
        _whole("a video changed")  # video groups are made all at once
        return None
    index = _Index(by_sha, partners, threshold)
    limit = max(256, len(index.shas) // 20)
    part = {index.position[sha] for sha in seeds if sha in index.position}
    left = Waiting()
    if len(now):
        at = [
            (index.position.get(by_id[a].sha256 or ""), index.position.get(by_id[b].sha256 or ""))
            for a, b in now.tolist()
        ]
        pairs = np.array([p for p in at if None not in p and p[0] != p[1]], dtype=np.int64)
        confirmed, made = check_pairs(s, index.rows, pairs.reshape(-1, 2), fresh)
        budget -= made
        for i, j in confirmed:
            part.update((i, j))
    frontier = sorted(part)
    while frontier:
        reached: set[int] = set()
        for n in frontier:
            reached |= index.near(n)
        # hard-copy candidates reaching out of the part (those the first hash matches are
        # in ``reached``): which of them are copies, on the pixels (or remembered)
        pairs = index.candidates(frontier)
        outside = np.array(sorted(part | reached), dtype=np.int64)
        pairs = pairs[~np.isin(pairs[:, 1], outside)]
        if len(pairs):
            among = np.unique(pairs[:, :2])
            spot = np.searchsorted(among, pairs[:, :2])
            found = Waiting()
            extra, _verdicts, made = hard_copy_pairs(
                s,
                [index.rows[m] for m in among.tolist()],
                index.hashes[among],
                [index.details[m] for m in among.tolist()],
                threshold,
                fresh,
                candidates=Candidates.of(spot[:, 0], spot[:, 1], pairs[:, 2], len(among)),
                waiting=found,
                budget=max(0, budget),
            )
            budget -= made
            left.more |= found.more
            left.pairs += [among[p] for p in found.pairs]
            for i, j, _d in extra.tolist():
                reached.update((int(among[i]), int(among[j])))
        frontier = sorted(reached - part)
        part |= reached
        if len(part) > limit:
            _whole(f"the changes reach {len(part)} pictures")
            return None
    shas = seeds | {index.shas[n] for n in part}
    files = {r.id for sha in shas for r in by_sha[sha]}
    if any(by_id[f].kind == "video" for f in files):
        _whole("the changes reach a video")
        return None
    asked = (files | gone, held)
    old = _groups_of(s, *asked)
    if any(f not in files and f not in gone for members in old.values() for f in members):
        _whole("a group of the old part reaches outside the new one")
        return None
    plan.old, plan.asked = old, asked
    writer = plan.writer
    ordered = [sha for sha in by_sha if sha in shas]  # the library's order, as a full regroup
    representatives = _exact_groups(writer, by_sha, ordered, partners, summary)
    images = _pictures(representatives)
    inside = Waiting()
    _near_groups(
        s,
        writer,
        images,
        threshold,
        partners,
        decisions,
        by_sha,
        summary,
        fresh,
        inside,
        budget=max(0, budget),
    )
    plan.waiting = np.concatenate(
        [later, _waiting_ids(index.rows, left), _waiting_ids(images, inside)]
    )
    plan.backlog |= left.more or inside.more
    return plan.backlog
