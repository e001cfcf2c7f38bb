"""The planner: kept files -> units -> free names -> plan items (reads, never writes).

* Files of one bundle (Live Photo HEIC/JPG + MOV, RAW + JPEG) form one *unit* and share a
  base name; sidecars (.xmp/.aae/.json) travel with their file under the same base.
* Units wanting the same base name in a folder are numbered ``_1``, ``_2``... in the order of
  sub-seconds, then content hash (then path): never in input order. A name is also taken
  when a file that is not this unit's already has it on disk.
* What an earlier apply wrote into this output folder (the journals in ``journal_dir``) is
  found by content hash and kept where it is (``skip``), so planning again after an apply,
  or after a crash, never duplicates; a byte-identical file already at a target is skipped
  too. What was written into another output folder does not count here.
* Discarded duplicates are not written; they are listed (``Plan.discarded``) with the trash
  place ``apply`` moves them to when moving, so a "move" run never leaves a source behind
  and never deletes one.
* Files awaiting review are held back (``Plan.held``) unless ``include_review``.
"""

from __future__ import annotations

import os
import re
import sys
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import cast

from mediafix.media.durable import TMP_PREFIX, sha256_file
from mediafix.media.journal import JournalEntry, JournalIndex, journal_index, output_is_live
from mediafix.media.plan.metadata import When, metadata_to_write, sidecar_write, when_of
from mediafix.media.plan.model import (
    TRASH_DIR,
    WRITABLE_STATUSES,
    Action,
    DiskReads,
    Outline,
    Plan,
    PlanInput,
    PlanItem,
    WriteMode,
    write_mode,
)
from mediafix.media.plan.naming import (
    EXT_SPELLINGS,
    canonical_ext,
    naming_for,
    own_stem,
    sanitize_stem,
    sanitize_tail,
    sidecar_name,
    split_name,
)
from mediafix.media.tags import DEFAULT_DEPTH, TagOrigin, file_tag_origins, merge_origins
from mediafix.media.values import Precision

__all__ = ["make_plan", "plan_items"]

# -- units: a file, or the files of one bundle --------------------------------------

_KIND_RANK = {"image": 0, "video": 2}


@dataclass(frozen=True, slots=True)
class _Target:
    """One file a unit creates: a member itself, a sidecar copied along, or our XMP."""

    member: PlanInput
    role: str  # file | sidecar | metadata
    source: str | None  # the source sidecar copied (role sidecar)


_NOT_RESERVED: Mapping[int, str] = MappingProxyType({})


@dataclass(slots=True)
class _Unit:
    """Files written under one base name. A plan holds one per file until its items are
    made (100,000 at once): what most units leave empty is a shared empty value."""

    members: list[PlanInput]
    folder: str
    base: str
    notes: tuple[str, ...] = ()
    exts: tuple[str, ...] = ()  # each member's canonical ext, in ``members`` order
    # file_id -> journaled target
    reserved: Mapping[int, str] = field(default_factory=lambda: _NOT_RESERVED)
    dated: PlanInput | None = None  # the member whose date the unit has

    def ext(self, member: PlanInput) -> str:
        """The canonical extension ``member`` is written with."""
        return next(e for m, e in zip(self.members, self.exts, strict=True) if m is member)

    def reserve(self, file_id: int, target: str) -> None:
        if not self.reserved:
            self.reserved = {}
        cast(dict[int, str], self.reserved)[file_id] = target

    def note(self, text: str) -> None:
        self.notes += (text,)

    @property
    def primary(self) -> PlanInput:
        return self.members[0]

    @property
    def when(self) -> When | None:
        """The unit's date (made when asked, not held by each of 100,000 units)."""
        return when_of(self.dated) if self.dated is not None else None

    def micro(self) -> int:
        """Its sub-seconds (-1: undated), the first thing same-second units are numbered by."""
        taken = self.dated.taken_at if self.dated is not None else None
        return taken.microsecond if taken is not None else -1


def _sorted(units: list[_Unit], *, then_content: bool) -> list[_Unit]:
    """``units`` by folder and base name (casefolded); ``then_content``: then by sub-seconds,
    content hash and path. Sorted once per key, least significant first (the sort is
    stable), so no key tuple is made per unit."""
    out = list(units)
    if then_content:
        out.sort(key=lambda u: u.primary.path)
        out.sort(key=lambda u: u.primary.sha256 or "")
        out.sort(key=_Unit.micro)
    out.sort(key=lambda u: _folded(u.base))
    out.sort(key=lambda u: u.folder)
    return out


def _date_rank(inp: PlanInput) -> tuple[int, float, int, int, tuple[int, str]]:
    """Which member's date a unit (a Live Photo, a RAW + JPEG) takes, best first: a date a
    person gave, then the surest, one with its UTC offset, the finest, then the still's."""
    precision = [p.value for p in Precision]
    fineness = precision.index(inp.date_precision) if inp.date_precision in precision else 1
    return (
        -int(inp.date_source == "user"),
        -inp.confidence,
        -int(inp.utc_offset is not None),
        fineness,
        _member_rank(inp),
    )


def _member_rank(inp: PlanInput) -> tuple[int, str]:
    rank = _KIND_RANK.get(inp.kind, 3) + (1 if inp.format == "raw" else 0)
    return rank, inp.path


def _units(inputs: Sequence[PlanInput]) -> Iterator[list[PlanInput]]:
    """Group kept files into units: the lone files in input order, then the bundles; a
    bundle with two members of one extension is split (they could not share a base name).
    Made as they are read (a list per lone file, of 100,000, is never held)."""
    by_bundle: dict[str, list[PlanInput]] = defaultdict(list)
    for inp in inputs:
        if inp.bundle:
            by_bundle[inp.bundle].append(inp)
    for inp in inputs:
        if not inp.bundle:
            yield [inp]
    for members in by_bundle.values():
        members.sort(key=_member_rank)
        groups: list[list[PlanInput]] = []
        for inp in members:
            ext = canonical_ext(inp)
            home = next((g for g in groups if all(canonical_ext(m) != ext for m in g)), None)
            if home is None:
                groups.append([inp])
            else:
                home.append(inp)
        yield from groups


# -- what is on disk -----------------------------------------------------------------


class _Disk:
    """Existing files in output folders, indexed by every prefix that ends before a dot,
    so ``20190919_053857`` finds ``20190919_053857.heic`` and ``20190919_053857.jpg.xmp``."""

    def __init__(self) -> None:
        self._folders: dict[str, dict[str, list[str]]] = {}
        self._hashes: dict[str, str | None] = {}
        self._tested: set[str] = set()  # folders a name was looked up in
        self._live: set[str] = set()  # unfinished journaled outputs checked by their hash

    def reads(self) -> DiskReads:
        return DiskReads(
            frozenset(self._folders.keys() | self._tested),
            frozenset(self._hashes.keys() | self._live),
        )

    def lexists(self, path: str) -> bool:
        self._tested.add(os.path.dirname(path))
        return os.path.lexists(path)

    def live(self, entry: JournalEntry) -> bool:
        """``apply.output_is_live``, remembered as read."""
        self._tested.add(os.path.dirname(entry.target))
        if not entry.done:
            self._live.add(entry.target)
        return output_is_live(entry)

    def mine(self, entry: JournalEntry | None, sha: str | None) -> bool:
        """Whether a journal entry records its (still present) target as written from
        ``sha``."""
        return (
            entry is not None
            and sha is not None
            and entry.source_sha256 == sha
            and (self.live(entry))
        )

    def names(self, folder: str, base: str) -> list[str]:
        index = self._folders.get(folder)
        if index is None:
            index = defaultdict(list)
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.name.startswith(TMP_PREFIX):
                            continue  # a leftover of a killed apply; the next apply removes it
                        key = entry.name.casefold()
                        for i, char in enumerate(key):
                            if char == ".":
                                index[key[:i]].append(entry.name)
                        index[key].append(entry.name)
            except OSError:
                pass
            self._folders[folder] = index
        return index.get(base.casefold(), [])

    def sha256(self, path: str) -> str | None:
        if path not in self._hashes:
            try:
                self._hashes[path] = sha256_file(path)
            except OSError:
                self._hashes[path] = None
        return self._hashes[path]


def _folded(name: str) -> str:
    """``name`` casefolded; the same string when it is already (most names are)."""
    folded = name.casefold()
    return name if folded == name else folded


class _Claimed:
    """The names given so far, as (folder, name casefolded): a set of names per folder
    (one entry per planned file, no tuple kept for each)."""

    def __init__(self) -> None:
        self._names: dict[str, set[str]] = {}

    def __contains__(self, key: tuple[str, str]) -> bool:
        folder, name = key
        return name in self._names.get(folder, ())

    def add(self, key: tuple[str, str]) -> None:
        folder, name = key
        self._names.setdefault(folder, set()).add(name)

    def keep_only(self, keep: Callable[[str], bool]) -> None:
        """Forget the names given in the folders ``keep`` says no to."""
        self._names = {f: names for f, names in self._names.items() if keep(f)}


class _Planner:
    def __init__(
        self,
        output_dir: str,
        index: JournalIndex,
        tag_depth: int,
        undated_dir: str,
        tags_from_copies: bool = False,
    ) -> None:
        self.output_dir = output_dir
        self.index = index
        self.tag_depth = tag_depth
        self.tags_from_copies = tags_from_copies
        self._real_output: str | None = None
        self.undated_dir = undated_dir
        self.disk = _Disk()
        self.claimed = _Claimed()
        self.used_journal: set[str] = set()
        self._folders: dict[str, str] = {}  # output folder (relative) -> its path
        # The trash folder per (root, source folder: the rel_path up to its last "/").
        self._trash_folders: dict[tuple[str, str], str] = {}

    def trash_folder(self, inp: PlanInput) -> str:
        """Where a discarded file goes: its root's name, then its own folders, sanitized."""
        rel = inp.rel_path.replace("\\", "/")
        cut = rel.rfind("/") + 1
        key = (inp.root, rel[:cut])
        folder = self._trash_folders.get(key)
        if folder is None:
            root_name = sanitize_stem(os.path.basename(os.path.normpath(inp.root)) or "source")
            folder = os.path.join(
                self.output_dir,
                TRASH_DIR,
                root_name,
                *(sanitize_stem(p) for p in PurePosixPath(rel).parts[:-1]),
            )
            if rel[cut:] not in ("", ".", ".."):  # else its parts are not those of rel[:cut]
                self._trash_folders[key] = folder
        return folder

    # -- unit layout ---------------------------------------------------------------
    def make_unit(self, members: list[PlanInput]) -> _Unit:
        members = sorted(members, key=_member_rank)
        dated = min((m for m in members if m.taken_at is not None), key=_date_rank, default=None)
        when = when_of(dated) if dated is not None else None
        unit = _Unit(members=members, folder="", base="", dated=dated)
        unit.exts = tuple(canonical_ext(m) for m in members)
        naming = when.naming if when is not None else naming_for(None, dated=False)
        folder, unit.base = naming.name(
            when.local if when is not None else None, own_stem(members[0]), self.undated_dir
        )
        # one string per folder, not one per unit
        unit.folder = self._folders.setdefault(folder, os.path.join(self.output_dir, folder))
        return unit

    def ours(self, entry: JournalEntry) -> bool:
        """Whether a journaled output lies in this plan's output folder (under any name of
        it: a link to it is the same folder): what an apply wrote into another folder does
        not make a file "already there" here."""
        if entry.target.startswith(os.path.join(self.output_dir, "")):
            return True
        if self._real_output is None:
            self._real_output = os.path.join(os.path.realpath(self.output_dir), "")
        return os.path.realpath(entry.target).startswith(self._real_output)

    def moved_away(self, inp: PlanInput) -> str | None:
        """Where an earlier ``apply --move`` into another output folder put this source, when
        it is no longer at its path (nothing is left here to copy from)."""
        for entry in self.index.by_sha.get(inp.sha256 or "", ()):
            if (
                entry.action == "move"
                and entry.source == inp.path
                and not self.ours(entry)
                and self.disk.live(entry)
                and not self.disk.lexists(inp.path)
            ):
                return entry.target
        return None

    def reserve_journaled(self, units: list[_Unit]) -> None:
        """Keep where they are the files an earlier apply already wrote into this output
        from these sources (found by content hash, the same path first), so a new plan never
        duplicates them."""
        for exact in (True, False):
            for unit in units:
                for m in unit.members:
                    if m.file_id in unit.reserved or not m.sha256:
                        continue
                    for entry in self.index.by_sha.get(m.sha256, ()):
                        if (
                            entry.target in self.used_journal
                            or entry.action == "trash"
                            or not self.ours(entry)
                        ):
                            continue
                        if exact and entry.source != m.path:
                            continue
                        if self.disk.live(entry):
                            unit.reserve(m.file_id, entry.target)
                            self.used_journal.add(entry.target)
                            break
        for unit in units:
            if not unit.reserved:
                continue
            first = next(m for m in unit.members if m.file_id in unit.reserved)
            target = unit.reserved[first.file_id]
            name = os.path.basename(target)
            ext = unit.ext(first)
            base = (
                name[: -len(ext)]
                if ext and name.casefold().endswith(ext)
                else (split_name(name)[0])
            )
            numbered = re.fullmatch(re.escape(unit.base) + r"(_\d+)?", base) is not None
            if os.path.dirname(target) != unit.folder or not numbered:
                # Written under another date or name than the one decided now (a date
                # picked after that apply): said, because apply never replaces an output.
                journal = self.index.by_target[target].journal
                unit.note(
                    f"kept as {os.path.relpath(target, self.output_dir)}, where an earlier "
                    f"apply wrote it with the date it had then; to write it as planned now, "
                    f"undo that apply (mediafix undo {journal}) and apply again"
                )
            elif base != unit.base:
                unit.note(
                    f"kept as {os.path.relpath(target, self.output_dir)}, "
                    "where an earlier apply wrote it"
                )
            unit.folder, unit.base = sys.intern(os.path.dirname(target)), base
            self.claimed.add((unit.folder, _folded(base)))

    def targets(self, unit: _Unit, base: str) -> dict[str, _Target]:
        """Every file name the unit would create under ``base``."""
        names: dict[str, _Target] = {}
        for m in unit.members:
            ext = unit.ext(m)
            names[base + ext] = _Target(m, "file", None)
            for sidecar in m.sidecars:
                name = sidecar_name(os.path.basename(m.path), sidecar, base, ext)
                stem, side_ext = split_name(name)
                n = 1
                while name.casefold() in (k.casefold() for k in names):
                    name = f"{stem}.{n}{side_ext}"  # two sidecars wanting one name
                    n += 1
                names[name] = _Target(m, "sidecar", sidecar)
            if write_mode(m.format, m.kind, m.status) is WriteMode.SIDECAR:
                # Written into a copy of the file's own XMP sidecar when one has this name.
                names.setdefault(f"{base}{ext}.xmp", _Target(m, "metadata", None))
        return names

    def owns(self, unit: _Unit, folder: str, name: str, wanted: Mapping[str, _Target]) -> bool:
        """Whether the existing file ``folder/name`` is this unit's own earlier output."""
        path = os.path.join(folder, name)
        hit = next((t for k, t in wanted.items() if k.casefold() == name.casefold()), None)
        if hit is None:
            return False
        sha = hit.member.sha256
        if hit.role == "file":
            if self.disk.mine(self.index.by_target.get(path), sha):
                return True
            return sha is not None and self.disk.sha256(path) == sha
        # A sidecar: ours if an entry of this member's (even an unfinished one) lists it
        # with this content, or if it is a byte copy of the source sidecar.
        digest = self.disk.sha256(path)
        for entry in self.index.by_sha.get(sha or "", ()):
            if any(s.get("target") == path and s.get("sha256") == digest for s in entry.sidecars):
                return True
        return hit.source is not None and digest == self.disk.sha256(hit.source)

    def place(self, unit: _Unit) -> None:
        """Give the unit the first free base name: base, base_1, base_2..."""
        if unit.reserved:
            return
        n = 0
        while True:
            base = unit.base if n == 0 else f"{unit.base}_{n}"
            key = (unit.folder, base.casefold())
            if key not in self.claimed:
                existing = self.disk.names(unit.folder, base)
                if not existing:
                    break
                wanted = self.targets(unit, base)
                if all(self.owns(unit, unit.folder, name, wanted) for name in existing):
                    break
            n += 1
        if n:
            unit.note(
                f"{unit.base} is taken: numbered _{n} (same-second files are "
                "numbered by sub-seconds, then content)"
            )
        unit.base = base
        self.claimed.add((unit.folder, _folded(base)))

    # -- items ----------------------------------------------------------------------
    def tag_origins(self, unit: _Unit) -> tuple[TagOrigin, ...]:
        """The unit's tags and where each came from: its members' folders, ``{...}`` names
        and user tags; with ``tags_from_copies``, also the folders of their left-out copies."""
        groups = [
            file_tag_origins(m.tag_path or m.rel_path, m.tags, self.tag_depth) for m in unit.members
        ]
        if len(groups) == 1 and not (self.tags_from_copies and unit.members[0].copy_tag_paths):
            return groups[0]  # one file: its origins are merged already
        if self.tags_from_copies:
            for m in unit.members:
                for path in m.copy_tag_paths:
                    groups.append(
                        tuple(
                            TagOrigin(o.tag, "copy", path)
                            for o in file_tag_origins(path, (), self.tag_depth)
                        )
                    )
        return merge_origins(*groups)

    def items(self, unit: _Unit) -> list[PlanItem]:
        origins = self.tag_origins(unit)
        tags = tuple(o.tag for o in origins)
        wanted = self.targets(unit, unit.base)
        out = []
        for m in unit.members:
            ext = unit.ext(m)
            target = unit.reserved.get(m.file_id) or os.path.join(unit.folder, unit.base + ext)
            when = unit.when  # one moment: every member carries the date of its name
            mode = write_mode(m.format, m.kind, m.status)
            write = metadata_to_write(mode, m.format, when, tags)
            sidecars = (
                tuple(
                    (t.source, os.path.join(unit.folder, name))
                    for name, t in wanted.items()
                    if t.member is m and t.source is not None
                )
                if m.sidecars
                else ()
            )  # only its own sidecars have a source
            meta_sidecar = None
            if mode is WriteMode.SIDECAR and write:
                meta_sidecar = os.path.join(unit.folder, f"{unit.base}{ext}.xmp")
            reason = self.reason(unit, m, when, mode, ext, origins)
            action, skip = Action.COPY, None
            if m.file_id in unit.reserved:
                action, skip = Action.SKIP, "already written by an earlier apply (journal)"
            elif self.disk.lexists(target):
                # place() only lets a base through whose existing files are this unit's.
                action = Action.SKIP
                skip = (
                    "already written by an earlier apply (journal)"
                    if self.disk.mine(self.index.by_target.get(target), m.sha256)
                    else "an identical file is already at the target"
                )
            out.append(
                PlanItem(
                    file_id=m.file_id,
                    source=m.path,
                    target=target,
                    reason=reason,
                    action=action,
                    tags=tags,
                    write=write,
                    sidecars=sidecars,
                    skip_reason=skip,
                    metadata_sidecar=meta_sidecar,
                    sha256=m.sha256,
                    kind=m.kind,
                    format=m.format,
                    mtime=when.epoch() if when else None,
                    bundle=m.bundle,
                    sidecar_write=sidecar_write(write, when, tags)
                    if any(s.casefold().endswith(".xmp") for s in m.sidecars)
                    else {},
                    tag_sources=origins,
                )
            )
        return out

    def reason(
        self,
        unit: _Unit,
        m: PlanInput,
        when: When | None,
        mode: WriteMode,
        ext: str,
        origins: Sequence[TagOrigin],
    ) -> str:
        parts = []
        if when is None:
            parts.append(f"no capture date: kept under its own name in {self.undated_dir}/")
        else:
            parts.append(when.describe())
            dated = unit.dated
            own = when_of(m)
            if (
                dated is not None
                and dated is not m
                and (
                    own is None
                    or own.local.replace(microsecond=0) != when.local.replace(microsecond=0)
                )
            ):
                # One moment, one date: the unit's surest (see _date_rank).
                mine = (
                    f"its own, {own.local:%Y-%m-%d %H:%M:%S} from {m.date_source or 'its file'}"
                    if own is not None
                    else "it has none of its own"
                )
                parts.append(
                    f"the date of {os.path.basename(dated.path)}, its bundle partner ({mine})"
                )
            if when.fine and mode is WriteMode.QUICKTIME and when.utc is None:
                parts.append("UTC offset unknown: QuickTime dates hold the local time as UTC")
        own_ext = split_name(os.path.basename(m.path))[1]
        if own_ext != ext:
            if own_ext.lower() == ext:
                why = "lower-case"
            elif EXT_SPELLINGS.get(own_ext.lower()) == ext:
                why = "its usual spelling"
            else:
                why = "from the content"
            parts.append(f"extension {ext} {why} (the name said {own_ext or 'nothing'})")
        if len(unit.members) > 1:
            others = ", ".join(os.path.basename(o.path) for o in unit.members if o is not m)
            parts.append(f"shares its name with {others} (same bundle)")
        parts.extend(unit.notes)
        if m.status == "error":
            parts.append(
                f"the probe failed ({m.error or 'unknown error'}): copied as it is, "
                "no metadata written"
            )
        elif mode is not WriteMode.EXIF:
            parts.append(f"metadata: {mode.text}")
        if origins:
            parts.append("tags: " + ", ".join(o.tag for o in origins))
        return "; ".join(parts)

    # -- discarded files -----------------------------------------------------------
    def trash_item(self, inp: PlanInput) -> PlanItem:
        folder = self.trash_folder(inp)
        stem, ext = split_name(os.path.basename(inp.path))
        stem, ext = sanitize_stem(stem), sanitize_tail(ext)
        reason = inp.discard_reason or "discarded duplicate"
        n = 0
        while True:
            name = stem + ext if n == 0 else f"{stem}_{n}{ext}"
            path = os.path.join(folder, name)
            key = (folder, name.casefold())
            if key not in self.claimed:
                if not self.disk.lexists(path):
                    skip = None
                    break
                entry = self.index.by_target.get(path)
                if self.disk.mine(entry, inp.sha256) or (
                    inp.sha256 and self.disk.sha256(path) == inp.sha256
                ):
                    skip = "already in the trash folder"
                    break
            n += 1
        self.claimed.add(key)
        return PlanItem(
            file_id=inp.file_id,
            source=inp.path,
            target=path,
            reason=reason,
            action=Action.DISCARD,
            skip_reason=skip,
            sha256=inp.sha256,
            kind=inp.kind,
            format=inp.format,
            bundle=inp.bundle,
        )


def _hold_reason(inp: PlanInput, include_review: bool) -> str | None:
    """Why a kept file is not written now, or None when it is written."""
    if inp.status == "review" and not include_review:
        return "awaiting review" + (f": {inp.review_reason}" if inp.review_reason else "")
    if inp.kind not in ("image", "video"):
        detail = f" ({inp.error})" if inp.error else ""
        return f"not a photo or video{detail}"
    if inp.status not in WRITABLE_STATUSES and inp.status != "review":
        detail = f": {inp.error}" if inp.error else ""
        return f"not ready to write (status {inp.status}){detail}"
    return None


def _hold_together(kept: list[PlanInput], discarded: list[PlanInput], held: dict[int, str]) -> None:
    """Spread holds until nothing changes (``kept``, ``discarded`` and ``held`` are updated).

    A bundle travels whole: one member held back holds back the others. A copy left out for
    a file that is held waits with it: until that file is written the picture is not in the
    archive (and a decision may still change which is); and a copy that waits holds back its
    own bundle in turn (a RAW whose JPEG waits for its near copy's review waits too).
    """
    by_id = {i.file_id: i for i in kept}
    changed = True
    while changed:
        changed = False
        held_bundles = {i.bundle: i for i in kept if i.bundle and i.file_id in held}
        for inp in kept:
            first = held_bundles.get(inp.bundle) if inp.bundle else None
            if first is not None and inp.file_id not in held:
                held[inp.file_id] = (
                    f"held with {os.path.basename(first.path)} of its bundle "
                    f"({held[first.file_id]})"
                )
                changed = True
        for inp in list(discarded):
            first = by_id.get(inp.copy_of) if inp.copy_of is not None else None
            if first is not None and first.file_id in held:
                discarded.remove(inp)
                kept.append(inp)
                by_id[inp.file_id] = inp
                held[inp.file_id] = (
                    f"{inp.discard_reason or 'a duplicate'}, which is held "
                    f"({held[first.file_id]}): not written, it waits with it"
                )
                changed = True
                # its own partners (a lone written file has no ``bundle`` left) wait too
                for other in kept:
                    if (
                        inp.scanned_bundle
                        and other.scanned_bundle == inp.scanned_bundle
                        and other.file_id not in held
                    ):
                        held[other.file_id] = (
                            f"held with {os.path.basename(inp.path)} of its bundle "
                            f"({held[inp.file_id]})"
                        )


def _outline(
    planner: _Planner,
    units: list[_Unit],
    discarded: list[PlanInput],
    journals: JournalIndex | None,
) -> Outline:
    """What apply needs of the items before they are made (``Outline``): their count, the
    folders of their targets and sidecars (a unit's folder, or where an earlier apply put a
    member), the trash folders, and the journals read (None: none were)."""
    folders = {u.folder for u in units}
    folders.update(os.path.dirname(t) for u in units for t in u.reserved.values())
    uses: dict[str, int] = defaultdict(int)
    for unit in units:
        for m in unit.members:
            for sidecar in m.sidecars:
                uses[sidecar] += 1
    return Outline(
        items=sum(len(u.members) for u in units),
        discarded=len(discarded),
        folders=frozenset(folders),
        trash_folders=frozenset(planner.trash_folder(inp) for inp in discarded),
        shared_sidecars={s: n for s, n in uses.items() if n > 1},
        journals=journals,
    )


def make_plan(
    inputs: Sequence[PlanInput],
    output_dir: str,
    *,
    include_review: bool = False,
    journal_dir: str | None = None,
    tag_depth: int = DEFAULT_DEPTH,
    undated_dir: str = "undated",
    tags_from_copies: bool = False,
) -> Plan:
    """Plan the output for ``inputs``; reads the output folder and the journals, writes nothing.

    :param inputs: one value per scanned file, in any order (the plan does not depend on it).
    :param output_dir: the output root; targets are absolute paths under it.
    :param include_review: also write files that still await review.
    :param journal_dir: where apply keeps its journals; what they record as written (and
        still on disk) is skipped where it is. Pass it whenever apply has run: without it
        only byte-identical files are recognised, and a file that got new metadata would
        be planned again under a numbered name.
    :param tag_depth: how many non-generic folder names become tags.
    :param undated_dir: folder (under ``output_dir``) for files without a capture date.
    :param tags_from_copies: also tag a written file with the folder tags of its left-out
        copies (``PlanInput.copy_tag_paths``); off, a copy's folders say nothing about it.
    """
    plan, items = plan_items(
        inputs,
        output_dir,
        include_review=include_review,
        journal_dir=journal_dir,
        tag_depth=tag_depth,
        undated_dir=undated_dir,
        tags_from_copies=tags_from_copies,
    )
    plan.items.extend(items)
    return plan


def plan_items(
    inputs: Sequence[PlanInput],
    output_dir: str,
    *,
    include_review: bool = False,
    journal_dir: str | None = None,
    tag_depth: int = DEFAULT_DEPTH,
    undated_dir: str = "undated",
    tags_from_copies: bool = False,
) -> tuple[Plan, Iterator[PlanItem]]:
    """``make_plan`` as a stream: the plan without its items, and its items, each unit's
    made when it is read (for ``plan --json`` of a big library: 100,000 items with their
    metadata to write are never held at once). ``held`` is set at once; ``discarded`` and
    ``reads`` once every item was read. Same arguments as ``make_plan``."""
    output_dir = os.path.abspath(output_dir)
    index = journal_index(journal_dir) if journal_dir else JournalIndex()
    planner = _Planner(output_dir, index, tag_depth, undated_dir, tags_from_copies)
    plan = Plan(output_dir=output_dir, undated_dir=undated_dir)
    ordered = sorted(inputs, key=lambda i: (i.path, i.file_id))

    held: dict[int, str] = {}
    kept: list[PlanInput] = []
    discarded: list[PlanInput] = []
    for inp in ordered:
        if not inp.keep:
            discarded.append(inp)
            continue
        why = _hold_reason(inp, include_review)
        moved = planner.moved_away(inp) if not why else None
        if moved:
            why = (
                f"already moved into {moved} by an earlier apply --move (the source is "
                "gone); to have it here too, copy it from there"
            )
        if why:
            held[inp.file_id] = why
        kept.append(inp)
    _hold_together(kept, discarded, held)
    kept.sort(key=lambda i: (i.path, i.file_id))
    plan.held = [(i.path, held[i.file_id]) for i in kept if i.file_id in held]
    writable = [i for i in kept if i.file_id not in held]

    units = [planner.make_unit(members) for members in _units(writable)]
    planner.reserve_journaled(units)
    for unit in _sorted(units, then_content=True):
        planner.place(unit)
    # Every unit has its name now: only the trash folder's names are given from here on.
    trash = os.path.join(output_dir, TRASH_DIR, "")
    planner.claimed.keep_only(lambda folder: os.path.join(folder, "").startswith(trash))
    units = _sorted(units, then_content=False)
    plan.outline = _outline(planner, units, discarded, index if journal_dir else None)
    waiting = deque(units)
    del units, kept, writable

    def items() -> Iterator[PlanItem]:
        while waiting:  # each unit let go once its items are made
            yield from planner.items(waiting.popleft())
        plan.discarded = [planner.trash_item(inp) for inp in discarded]
        plan.reads = planner.disk.reads()

    return plan, items()
