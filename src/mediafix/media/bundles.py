"""Bundles: files that are one memory, and which copy of each picture is written.

A bundle is one *copy* of a memory, in one folder:

* a Live Photo: a HEIC/JPEG still and a MOV (or MP4) of the same base name in one folder,
  or files in one folder sharing Apple's ContentIdentifier (a still and a video sharing it
  in two different folders, with no other copy, are one bundle too);
* a RAW + JPEG pair from one camera shot: same base name, one RAW and one JPEG/HEIC.

A Live Photo copied to a second folder is a second bundle, a duplicate of the first:
``choose_written`` decides between such copies as wholes.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mediafix.media.keeper import is_copy_path
from mediafix.media.kinds import RAW_EXTENSIONS

__all__ = ["BundleInput", "CopyInput", "GroupVote", "Written", "assign_bundles", "choose_written"]

_STILL = {"jpeg", "heic", "heif", "png", "avif", "webp"}


@dataclass(frozen=True)
class BundleInput:
    id: int
    path: str
    kind: str  # image | video | other
    format: str
    content_id: str | None = None


def _stem(path: str) -> str:
    name = os.path.basename(path)
    stem, _ = os.path.splitext(name)
    return stem.lower()


def _live_by_content_id(items: Sequence[BundleInput]) -> dict[int, str]:
    """Stills and videos sharing a ContentIdentifier, one bundle per folder: copies of a
    Live Photo in two folders are two bundles (duplicates of each other), never one."""
    result: dict[int, str] = {}
    by_cid: dict[str, list[BundleInput]] = defaultdict(list)
    for item in items:
        if item.content_id and item.kind in ("image", "video"):
            by_cid[item.content_id].append(item)
    for cid, members in by_cid.items():
        by_folder: dict[str, list[BundleInput]] = defaultdict(list)
        for m in members:
            by_folder[os.path.dirname(m.path)].append(m)
        if len(by_folder) == 1:
            parts = {f"live:{cid}": members}
        else:
            parts = {f"live:{cid}@{folder}": folder_members
                     for folder, folder_members in by_folder.items()}
            if not any({m.kind for m in p} == {"image", "video"} for p in parts.values()):
                # No folder holds a pair: one still and one video kept apart (no copies)
                # are still one Live Photo.
                kinds = sorted(m.kind for m in members)
                parts = {f"live:{cid}": members} if kinds == ["image", "video"] else {}
        for key, part in parts.items():
            if len(part) > 1 and {m.kind for m in part} == {"image", "video"}:
                for m in part:
                    result[m.id] = key
    return result


def assign_bundles(items: Sequence[BundleInput]) -> dict[int, str]:
    """Map file id -> bundle key for every file that belongs to a bundle (others absent)."""
    result = _live_by_content_id(items)
    by_stem: dict[tuple[str, str], list[BundleInput]] = defaultdict(list)
    for item in items:
        if item.id in result or item.kind not in ("image", "video"):
            continue
        by_stem[(os.path.dirname(item.path), _stem(item.path))].append(item)
    for (folder, stem), members in by_stem.items():
        if len(members) < 2:
            continue
        stills = [m for m in members if m.kind == "image" and m.format in _STILL]
        videos = [m for m in members if m.kind == "video"]
        raws = [
            m
            for m in members
            if m.kind == "image"
            and (m.format == "raw" or os.path.splitext(m.path)[1].lower() in RAW_EXTENSIONS)
        ]
        if len(stills) == 1 and len(videos) == 1 and not raws:
            key = f"live:{folder}/{stem}"
            result[stills[0].id] = result[videos[0].id] = key
        elif len(raws) == 1 and len(stills) == 1:
            key = f"raw:{folder}/{stem}"
            result[raws[0].id] = result[stills[0].id] = key
            if len(videos) == 1:  # a camera's RAW + JPEG + a clip of one shot: still one memory
                result[videos[0].id] = key
    return result


# -- which copy is written ----------------------------------------------------------------


@dataclass(frozen=True)
class CopyInput:
    """A media file as the write decision sees it: its content and its bundle (if any)."""

    id: int
    path: str
    sha256: str | None
    bundle: str | None = None


@dataclass(frozen=True)
class GroupVote:
    """One file's place in one duplicate group: whether the group keeps it."""

    file_id: int
    keep: bool
    group_id: int
    kind: str  # exact | near | burst
    keeper_id: int | None = None


@dataclass(frozen=True)
class Written:
    """The decision for one file: written (``keep``), or left out with ``reason``.

    ``copy_of`` names the file written in its place: the copy of the same content that is
    written, or (for a picture a group leaves out) the written copy of the group's keeper.
    """

    keep: bool
    reason: str | None = None
    copy_of: int | None = None


_WRITTEN = Written(True)


def _short(path: str) -> str:
    """A file by its folder and name: copies of one picture often share a name."""
    folder = os.path.basename(os.path.dirname(path))
    return f"{folder}/{os.path.basename(path)}" if folder else os.path.basename(path)


def choose_written(files: Sequence[CopyInput], votes: Iterable[GroupVote]) -> dict[int, Written]:
    """Which files are written so that every picture the duplicate decisions keep is in
    the archive exactly once, each bundle as a whole where it can be. The one rule:

    1. A *content* (a SHA-256) is kept unless a duplicate group leaves it out: a group keeps
       a content when it keeps any of its copies, and every group holding the content must
       keep it (a near group's "discard" is not undone by the exact group of its copies).
    2. Every kept content is written exactly once, from one *unit*: a bundle copy (a Live
       Photo or RAW+JPEG pair in one folder) or a lone file. Units are taken in order:
       the one holding more kept contents first (a whole Live Photo before a lone copy of
       its still elsewhere), then one holding a copy a group keeps (the suggested or chosen
       keeper), then one outside backup or copy folders, then by path. A unit writes each
       member whose content is kept and not yet written, and only those.

    So a bundle's member that has no other copy is always written (beside the still when
    the still is written from this bundle), no content is written twice, and a left-out
    file always names the file written in its place.
    """
    content_of = {f.id: f.sha256 or f"file:{f.id}" for f in files}  # unhashed: its own
    copies: dict[str, int] = defaultdict(int)
    for c in content_of.values():
        copies[c] += 1

    # 1. kept contents
    kept_in: dict[tuple[int, str], bool] = {}
    group_kind: dict[int, str] = {}
    groups_of: dict[str, set[int]] = defaultdict(set)
    kept_files: set[int] = set()
    for v in votes:
        if v.file_id not in content_of:
            continue
        c = content_of[v.file_id]
        group_kind[v.group_id] = v.kind
        groups_of[c].add(v.group_id)
        kept_in[(v.group_id, c)] = kept_in.get((v.group_id, c), False) or v.keep
        if v.keep:
            kept_files.add(v.file_id)
    dropped_by: dict[str, int] = {}
    for c, groups in groups_of.items():
        against = sorted(g for g in groups if not kept_in[(g, c)])
        if against:
            dropped_by[c] = against[0]
    kept_by_group: dict[int, list[str]] = defaultdict(list)  # group -> its kept contents
    for (g, c), kept in sorted(kept_in.items()):
        if kept and c not in dropped_by:
            kept_by_group[g].append(c)

    # 2. units, best first; each writes its kept contents not yet written
    units: dict[str | int, list[CopyInput]] = defaultdict(list)
    for f in files:
        units[f.bundle or f.id].append(f)

    def rank(members: list[CopyInput]) -> tuple[int, int, int, str]:
        contents = {content_of[m.id] for m in members} - dropped_by.keys()
        chosen = sum(m.id in kept_files for m in members)
        copy = all(is_copy_path(m.path) for m in members)
        return (-len(contents), -chosen, int(copy), min(m.path for m in members))

    # Only units sharing a content with another unit compete; the others (most of a
    # library) write what they hold whatever the order.
    shared = [u for u in units.values() if any(copies[content_of[m.id]] > 1 for m in u)]
    written_by: dict[str, CopyInput] = {}
    for members in sorted(shared, key=rank):
        for m in sorted(members, key=lambda m: m.path):
            c = content_of[m.id]
            if c not in dropped_by and c not in written_by:
                written_by[c] = m
    for f in files:
        c = content_of[f.id]
        if c not in dropped_by and c not in written_by:  # its only copy
            written_by[c] = f

    result: dict[int, Written] = {}
    for f in files:
        c = content_of[f.id]
        if written_by.get(c) is f:
            result[f.id] = _WRITTEN
            continue
        if c in written_by:
            other = written_by[c]
            exact = [g for g in groups_of.get(c, ()) if group_kind[g] == "exact"]
            where = f" (group #{min(exact)})" if exact else ""
            why = f"exact duplicate of {_short(other.path)}{where}"
            if other.bundle and other.bundle != f.bundle:
                why += ", written beside its bundle partners"
            result[f.id] = Written(False, why, other.id)
            continue
        g = dropped_by[c]
        keeper = next((written_by[k] for k in kept_by_group.get(g, ()) if k in written_by),
                      None)
        name = _short(keeper.path) if keeper else "another file"
        result[f.id] = Written(
            False, f"{group_kind[g]} duplicate of {name} (group #{g})",
            keeper.id if keeper else None,
        )
    return result
