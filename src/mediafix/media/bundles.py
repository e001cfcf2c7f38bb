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
from mediafix.media.kinds import RAW_EXTENSIONS, VIDEO_EXTENSIONS

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
            parts = {
                f"live:{cid}@{folder}": folder_members
                for folder, folder_members in by_folder.items()
            }
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


@dataclass(frozen=True, slots=True)
class CopyInput:
    """A media file as the write decision sees it: its content and its bundle (if any)."""

    id: int
    path: str
    sha256: str | None
    bundle: str | None = None


def _role(path: str) -> str:
    """What a file is in a bundle: its still, its clip or its RAW."""
    ext = os.path.splitext(path)[1].lower()
    return "raw" if ext in RAW_EXTENSIONS else "video" if ext in VIDEO_EXTENSIONS else "still"


@dataclass(frozen=True, slots=True)
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
    ``unit`` is shared by the written files that go out together under one base name (a
    bundle's contents, whichever folder each copy is written from); None for a lone file.
    """

    keep: bool
    reason: str | None = None
    copy_of: int | None = None
    unit: str | None = None


_WRITTEN = Written(True)


def _short(path: str) -> str:
    """A file by its folder and name: copies of one picture often share a name."""
    folder = os.path.basename(os.path.dirname(path))
    return f"{folder}/{os.path.basename(path)}" if folder else os.path.basename(path)


def choose_written(files: Sequence[CopyInput], votes: Iterable[GroupVote]) -> dict[int, Written]:
    """Which files are written so that every picture the duplicate decisions keep is in
    the archive exactly once, with its bundle partners. The one rule:

    1. A *content* (a SHA-256) is kept unless a duplicate group leaves it out: a group keeps
       a content when it keeps any of its copies, and every group holding the content must
       keep it (a near group's "discard" is not undone by the exact group of its copies).
    2. Every kept content is written exactly once, from the copy its groups keep (the
       suggested keeper, which prefers the copy beside its bundle partners and outside
       backup folders, or the one a person chose); among equals, from a bundle, outside a
       backup or copy path, then the first by path.
    3. Contents that are partners in a bundle anywhere (a Live Photo's still and clip, a
       RAW and its JPEG) are written together, as one unit sharing a base name, whichever
       folder each copy is written from. A content two bundles claim for different partners
       (one clip, copied, paired by name with two different photos) is written once, with
       the partners of the bundle it is written from; the other photo goes out alone.

    So a bundle's member with no other copy is always written, next to its partners; no
    content is written twice; and a left-out file names the file written in its place.
    """
    content_of = {f.id: f.sha256 or f"file:{f.id}" for f in files}  # unhashed: its own
    by_content: dict[str, list[CopyInput]] = defaultdict(list)
    bundle_size: dict[str, int] = defaultdict(int)
    for f in files:
        by_content[content_of[f.id]].append(f)
        if f.bundle:
            bundle_size[f.bundle] += 1

    # 1. kept contents
    kept_in: dict[tuple[int, str], bool] = {}
    group_kind: dict[int, str] = {}
    groups_of: dict[str, set[int]] = defaultdict(set)
    votes_of: dict[int, list[bool]] = defaultdict(list)  # file -> its groups' keep flags
    for v in votes:
        if v.file_id not in content_of:
            continue
        c = content_of[v.file_id]
        group_kind[v.group_id] = v.kind
        groups_of[c].add(v.group_id)
        kept_in[(v.group_id, c)] = kept_in.get((v.group_id, c), False) or v.keep
        votes_of[v.file_id].append(v.keep)
    dropped_by: dict[str, list[int]] = {}  # content -> the groups that leave it out
    for c, groups in groups_of.items():
        against = sorted(g for g in groups if not kept_in[(g, c)])
        if against:
            dropped_by[c] = against
    kept_by_group: dict[int, list[str]] = defaultdict(list)  # group -> its kept contents
    for (g, c), kept in sorted(kept_in.items()):
        if kept and c not in dropped_by:
            kept_by_group[g].append(c)

    # 2. the copy of each kept content that is written
    def rank(f: CopyInput) -> tuple[int, int, int, int, str]:
        flags = votes_of.get(f.id, ())
        partners = bool(f.bundle) and bundle_size[f.bundle or ""] > 1
        return (
            -int(bool(flags) and all(flags)),
            -int(any(flags)),
            -int(partners),
            int(is_copy_path(f.path)),
            f.path,
        )

    written_by: dict[str, CopyInput] = {}
    for c, copies in by_content.items():
        if c not in dropped_by:
            written_by[c] = copies[0] if len(copies) == 1 else min(copies, key=rank)

    # 3. units: kept contents joined by the bundles that hold them. A content in two
    # bundles that disagree (an exact copy of a clip paired by name with another photo
    # in another folder) goes with one of them: a unit never holds two stills (or clips,
    # or RAWs) that no bundle pairs. The bundles the written copies come from join first.
    parent: dict[str, str] = {}
    roles: dict[str, dict[str, set[str]]] = {}  # unit root -> role -> its contents

    def find(c: str) -> str:
        while parent.get(c, c) != c:
            parent[c] = parent.get(parent[c], parent[c])
            c = parent[c]
        return c

    members_of: dict[str, list[CopyInput]] = defaultdict(list)
    for f in files:
        if f.bundle and content_of[f.id] not in dropped_by:
            members_of[f.bundle].append(f)
    paired: set[frozenset[str]] = set()  # two contents of one role that a bundle holds
    for fs in members_of.values():
        for one in fs:
            for other in fs:
                if one.id < other.id and _role(one.path) == _role(other.path):
                    paired.add(frozenset((content_of[one.id], content_of[other.id])))

    def join(a: str, b: str) -> None:
        a, b = find(a), find(b)
        if a == b:
            return
        ra = roles.get(a) or {_role(by_content[a][0].path): {a}}
        rb = roles.get(b) or {_role(by_content[b][0].path): {b}}
        for role, here in ra.items():
            for x in here:
                for y in rb.get(role, ()):
                    if frozenset((x, y)) not in paired:
                        return
        root, other = min(a, b), max(a, b)
        parent[other] = root
        merged = {role: set(cs) for role, cs in ra.items()}
        for role, cs in rb.items():
            merged.setdefault(role, set()).update(cs)
        roles[root] = merged
        roles.pop(other, None)

    def home_first(key: str) -> tuple[int, str]:
        fs = members_of[key]
        return (-sum(written_by.get(content_of[f.id]) is f for f in fs), key)

    for key in sorted(members_of, key=home_first):
        fs = members_of[key]
        for f in fs[1:]:
            join(content_of[fs[0].id], content_of[f.id])
    unit_size: dict[str, int] = defaultdict(int)
    for c in written_by:
        unit_size[find(c)] += 1

    result: dict[int, Written] = {}
    for f in files:
        c = content_of[f.id]
        if written_by.get(c) is f:
            root = find(c)
            unit = f"unit:{written_by[root].id}" if unit_size[root] > 1 else None
            result[f.id] = Written(True, unit=unit) if unit else _WRITTEN
            continue
        if c in written_by:
            other = written_by[c]
            exact = [g for g in groups_of.get(c, ()) if group_kind[g] == "exact"]
            where = f" (group #{min(exact)})" if exact else ""
            result[f.id] = Written(
                False, f"exact duplicate of {_short(other.path)}{where}", other.id
            )
            continue
        # Named for a group that keeps a written picture: an exact group whose copies all
        # follow a near group's "discard" keeps none of them (harness: "exact duplicate of
        # another file"), the near group's keeper is the picture written in their place.
        g, keeper = next(
            (
                (g, written_by[k])
                for g in dropped_by[c]
                for k in kept_by_group.get(g, ())
                if k in written_by
            ),
            (dropped_by[c][0], None),
        )
        name = _short(keeper.path) if keeper else "another file"
        result[f.id] = Written(
            False,
            f"{group_kind[g]} duplicate of {name} (group #{g})",
            keeper.id if keeper else None,
        )
    return result
