"""Apply: plan -> files on disk, with a journal that ``undo`` reads.

Each item goes through the same steps, so a crash at any instant leaves either the old
state or the new one:

1. copy the source to ``.mediafix-tmp-<random>.<ext>`` in the target folder, hashing it on
   the way (a source that changed since the scan fails the item);
2. write the corrected metadata with exiftool (into the copy, or into an XMP sidecar);
3. verify: every written date and tag reads back, and the *image data* is unchanged;
4. give the copy the capture time as mtime, fsync it;
5. journal a ``write`` record (fsynced) -> link the copy into place (never over an existing
   file) -> fsync the folder -> journal ``done``;
6. when moving: only now move the source, and then its sidecars, into the holding folder
   (each move journaled first as ``hold``, then ``source_removed``).

A kill at any step leaves at worst a ``.mediafix-tmp-*`` file (removed by the next run) or a
placed file whose ``write`` record has no ``done`` (recognised by its journaled hash).

The image data check is :mod:`mediafix.media.digest`; the file operations (temporary
names, placing without replacing, moving originals) are :mod:`mediafix.media.durable`; the
journal's records are described in :mod:`mediafix.media.journal`.

Plain JPEGs (no XMP, no IPTC, no sidecars: most camera and phone photos) go the same steps
in batches (``_Run.batch``, issue #20). A photo that already carries every date the plan
writes (a current camera's or phone's: DateTimeOriginal, CreateDate, OffsetTime*,
SubSecTime*), each where exiftool writes it and with the very length of the new value, has
them written in process over the old values' bytes as its copy is made
(:mod:`mediafix.media.exifpatch`). That is safe because nothing moves: no entry, offset,
length or segment changes, so the image data, thumbnail and maker notes are untouched by
construction, and exiftool reads the same tags with the same values as after its own write;
anything else about the file (a date missing, another length, keywords to add, a second
EXIF segment, a value whose bytes another entry shares) leaves it to exiftool. Such a copy
then goes every step the others go, the read-back check included. The other copies of the
batch are written by every exiftool session at once (one command per chunk of files, values
from a JSON file), each is read back in-process (:mod:`mediafix.media.readback`: the same
check as step 3, without a second exiftool round trip), and the fsyncs and journal syncs of
steps 4 and 5 are made once per batch, in the same order: every ``write`` record durable
before any file of the batch is placed, ``done`` only once they are all placed and their
folders fsynced. Anything the batch cannot write exactly so goes the one-by-one way above.
Each source is read once: its bytes are hashed, copied and parsed in memory, and while a
batch holds under ``KEPT_BYTES`` its copies' image data is compared as bytes with what was
there before the write (no digest either side). From ``OVERLAP_FILES`` on, the next batch
is copied and sent to exiftool before this one is fsynced, journaled and placed, so the
sessions write while this process waits on the disk (a kill then also leaves the next
batch's copies, under temporary names the next run removes). On 2 cores this writes camera
JPEGs that carry their dates in about half the CPU time of ``cp -r`` followed by one
``exiftool -AllDates=`` over the copy (``bench/apply_speed.py``); written by exiftool, they
took about 1.3 times as much.

Moving never deletes a user's bytes. A source leaves its place only after its output is
verified, in place and journaled, and then it is *moved*, bytes untouched, into the holding
folder ``OUTPUT/.originals/<run>/<the source's absolute path>`` (a hard link and an unlink
on the same filesystem: no copy, no extra space; across filesystems a verified, fsynced
copy, and only then the unlink). It stays there until the user empties it
(``mediafix purge``, :mod:`mediafix.media.holding`). A discarded duplicate goes the same
way to ``OUTPUT/.trash/<source root>/<its relative path>``; when copying it is left alone.
A kill at any instant leaves each source at its place, in the holding folder, or (between
the link and the unlink) at both; never at neither, and the next run finishes the move.

Undo puts every moved source back from the holding folder (or the trash) byte for byte,
its sha256 checked against the journal, before it removes the outputs. Only when an
original was purged does undo copy the output back instead (the photo then carries
mediafix's metadata, and undo says so). Undo copies back any source that is gone, whatever
the run's mode said, so it never removes the last copy of a photo.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import json
import os
import struct
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

# Called through the module (``durable.place``...), the steps the fault tests slow or fail.
from mediafix.media import durable
from mediafix.media.digest import image_data_digest, jpeg_image_data
from mediafix.media.durable import (
    ApplyError,
    SidecarRefused,
    TargetExists,
    fsync_dir,
    fsync_file,
    makedirs,
    new_tmp,
    remove,
    sha256_file,
)
from mediafix.media.exifpatch import patch_exif_text
from mediafix.media.exiftool import READ_TAGS, ExifTool, ExifToolError, WriteBatch
from mediafix.media.holding import HOLD_DIR, held_path, holding_root
from mediafix.media.journal import (
    JOURNAL_SUFFIX,
    HeldOriginal,
    Journal,
    JournalEntry,
    JournalIndex,
    iter_journal,
    journal_holds,
    journal_index,
    new_journal_path,
    output_is_live,
)
from mediafix.media.plan.model import Outline
from mediafix.media.readback import (
    EXIF_TAGS,
    IPTC_TAGS,
    XMP_NAMESPACES,
    JpegTags,
    Unreadable,
    read_jpeg_tags,
)
from mediafix.media.values import one_line

if TYPE_CHECKING:
    from mediafix.media.plan import Plan, PlanItem

__all__ = [
    "ApplyError",
    "ApplyResult",
    "ItemOutcome",
    "TargetExists",
    "UndoResult",
    "apply_plan",
    "undo",
]

_VERIFIABLE = frozenset(READ_TAGS)


def _as_xmp(write: Mapping[str, Any]) -> dict[str, Any]:
    """The same dates and tags for an XMP sidecar (EXIF, IPTC and QuickTime cannot go there)."""
    out = {k: v for k, v in write.items() if k.startswith("XMP")}
    stamp = None
    if "EXIF:DateTimeOriginal" in write:
        stamp = str(write["EXIF:DateTimeOriginal"])
        if write.get("EXIF:SubSecTimeOriginal"):
            stamp += f".{write['EXIF:SubSecTimeOriginal']}"
        stamp += str(write.get("EXIF:OffsetTimeOriginal") or "")
    elif "Keys:CreationDate" in write:
        stamp = str(write["Keys:CreationDate"])
    elif "QuickTime:CreateDate" in write:
        stamp = f"{write['QuickTime:CreateDate']}Z"
    if stamp:
        out["XMP-exif:DateTimeOriginal"] = stamp
        out["XMP-xmp:CreateDate"] = stamp
    return out


class MetadataWriteError(ApplyError):
    """The corrected metadata could not be written into this file safely."""


class OutputFullError(ApplyError):
    """The output disk has no room to write the metadata: no fallback can help."""


def _no_room_for_a_copy(folder: str, path: str) -> bool:
    """True when the disk of ``folder`` cannot hold another copy of ``path`` (exiftool
    writes the new file beside the old one before it renames it)."""
    try:
        st = os.statvfs(folder)
        return st.f_bavail * st.f_frsize < os.path.getsize(path) + 64 * 1024
    except OSError:
        return False


def _error_line(exc: BaseException) -> str:
    """One line for a failed item: an OSError by its system message and file."""
    if isinstance(exc, OSError) and not isinstance(exc, TargetExists) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return one_line(exc)


# -- verification ----------------------------------------------------------------------

_G1_GROUPS = {
    "EXIF": ("ExifIFD", "IFD0"),
    "IPTC": ("IPTC",),
    "Keys": ("Keys",),
}


def _group_matches(written: str, read: str) -> bool:
    if written == "QuickTime":
        return read == "QuickTime" or read.startswith("Track")
    return read in _G1_GROUPS.get(written, (written,))


def _verify_tags(exiftool: ExifTool, path: str, write: Mapping[str, Any]) -> None:
    """Read ``path`` back and check every written date and tag is there as written."""
    meta = exiftool.read_metadata([path])[0]
    if "Error" in meta:
        raise ApplyError(f"cannot read the written metadata back: {meta['Error']}")

    def found(group: str, tag: str) -> list[Any]:
        return [
            v
            for k, v in meta.items()
            if k.rpartition(":")[2] == tag and _group_matches(group, k.rpartition(":")[0])
        ]

    _check_written(write, found)


def _check_written(write: Mapping[str, Any], found_of: Callable[[str, str], list[Any]]) -> None:
    """Every written date and tag of ``write`` is among what ``found_of(group, tag)`` read
    back, as written; every removed one is gone."""
    for key, value in write.items():
        group, _, tag = key.partition(":")
        if tag.endswith("-"):
            continue
        adding = tag.endswith("+")
        tag = tag.rstrip("+")
        if tag not in _VERIFIABLE:
            continue
        found = found_of(group, tag)
        if isinstance(value, list | tuple) and not value and not adding:  # a removal
            if found:
                raise ApplyError(f"{group}:{tag} is still there after removing it")
            continue
        if not found:
            raise ApplyError(f"{group}:{tag} did not read back after writing")
        if adding:
            have = {str(x) for v in found for x in (v if isinstance(v, list) else [v])}
            missing = [str(x) for x in value if str(x) not in have]
            if missing:
                raise ApplyError(f"{group}:{tag} lacks {', '.join(missing)} after writing")
        elif any(str(v) != str(value) for v in found):
            raise ApplyError(f"{group}:{tag} reads back as {found[0]!r}, not {value!r}")


# -- the batched path -------------------------------------------------------------------

# Groups a plain JPEG's write uses whose tags ``readback`` reads as exiftool reports them.
_BATCH_XMP = {"XMP-dc": {"Subject": "subject"}} | {
    group: {} for group in XMP_NAMESPACES if group != "XMP-dc"
}
_BATCH_EXIF = frozenset(EXIF_TAGS.values())
_BATCH_IPTC = frozenset(IPTC_TAGS.values())


def _batchable(item: PlanItem) -> bool:
    """Worth trying in a batch (what only the file's bytes can tell is checked later)."""
    return (
        item.action == "copy"
        and item.format == "jpeg"
        and bool(item.write)
        and not item.metadata_sidecar
        and not item.sidecars
    )


def _batch_tags(write: Mapping[str, Any], source: JpegTags) -> dict[str, Any] | None:
    """``write`` as exiftool's JSON import takes it, for a JPEG with no XMP and no IPTC
    (``source``: what it carries); None when a batch cannot write it exactly so.

    With neither block in the file, removing XMP or IPTC dates changes nothing and a
    list's ``-=`` then ``+=`` gives the list itself: the JSON holds only what is set."""
    if source.has_xmp or source.has_iptc or ("ExifIFD", "XPKeywords") in source.exif:
        return None
    out: dict[str, Any] = {}
    for key, value in _merge_xpkeywords(write, source.exif.get(("IFD0", "XPKeywords"), "")).items():
        group, _, tag = key.partition(":")
        name = tag.rstrip("+-")
        if group == "EXIF":
            if name not in _BATCH_EXIF or isinstance(value, list | tuple) or name != tag:
                return None
            out[key] = str(value)
        elif group in _BATCH_XMP or group == "IPTC":
            known = name in _BATCH_IPTC if group == "IPTC" else name in _BATCH_XMP[group]
            if isinstance(value, list | tuple) and (tag.endswith("-") or not value):
                continue  # a removal from a block the file does not have
            if tag.endswith("+") and isinstance(value, list | tuple) and known:
                out[f"{group}:{name}"] = [str(v) for v in value]
            elif key == "IPTC:CodedCharacterSet":
                out[key] = str(value)
            else:  # an XMP value exiftool converts (a coarse date): exiftool checks it
                return None
        else:
            return None
    return out


def _found_in(tags: JpegTags, group: str, tag: str) -> list[str]:
    """The values of ``group:tag`` in ``tags``, as ``exiftool -G1 -a -n`` lists them."""
    if group == "EXIF":
        return [tags.exif[(ifd, tag)] for ifd in ("IFD0", "ExifIFD") if (ifd, tag) in tags.exif]
    if group == "IPTC":
        return [v.decode("utf-8") for v in tags.iptc.get(tag, ())]
    prop = _BATCH_XMP[group].get(tag, tag)
    return list(tags.xmp.get((XMP_NAMESPACES[group], prop), ()))


def _check_read_back(tags: JpegTags, write: Mapping[str, Any]) -> None:
    """``_verify_tags`` on what ``readback`` read, without asking exiftool again."""
    _check_written(write, lambda group, tag: _found_in(tags, group, tag))


@dataclass
class _Prepared:
    """One item of a batch on its way: its temporary copy and what was checked."""

    item: PlanItem
    tmp: str
    source_sha: str
    write: dict[str, Any]  # what was asked (XPKeywords merged): what is checked
    # the copy's image data before the write (``digest.jpeg_image_data``) while the batch
    # holds few bytes, else its digest
    before: bytes | str
    created: list[str]
    # written in process (``exifpatch``: the new dates over the old ones), not by exiftool
    patched: bool = False
    output_sha: str = ""
    size: int = 0
    verified: bool = False


@dataclass
class _Batch:
    """A batch on its way: its items in plan order, their queued writes, the copies made
    (``ready``), the items that go one by one, and the outcomes so far."""

    items: list[PlanItem]
    pending: WriteBatch
    ready: list[_Prepared] = field(default_factory=list)
    one_by_one: list[PlanItem] = field(default_factory=list)
    outcomes: dict[int, ItemOutcome] = field(default_factory=dict)


def _with_existing_xpkeywords(
    exiftool: ExifTool, path: str, write: Mapping[str, Any]
) -> dict[str, Any]:
    """XPKeywords is one ``;`` string, not a list: fold in what the file already has."""
    if not write.get("EXIF:XPKeywords"):
        return dict(write)
    out, _ = exiftool.execute(
        ["-j", "-charset", "filename=utf8", "-XPKeywords", os.path.abspath(path)]
    )
    try:
        existing = str(json.loads(out)[0].get("XPKeywords") or "")
    except (ValueError, IndexError, AttributeError):
        existing = ""
    return _merge_xpkeywords(write, existing)


def _merge_xpkeywords(write: Mapping[str, Any], existing: str) -> dict[str, Any]:
    """``write`` with its XPKeywords folded into the file's ``existing`` ones."""
    merged = dict(write)
    ours = merged.get("EXIF:XPKeywords")
    if not ours:
        return merged
    tags = [t.strip() for t in existing.split(";") if t.strip()]
    folded = {t.casefold() for t in tags}
    tags += [t for t in str(ours).split(";") if t.casefold() not in folded]
    merged["EXIF:XPKeywords"] = ";".join(tags)
    return merged


def _extra_args(write: Mapping[str, Any]) -> list[str]:
    """``-m``: exiftool refuses files with *minor* flaws (a text chunk after the PNG image
    data, a looped IFD pointer: 3 of 118 real files tried); they are safe to write because
    every write is read back and its image data compared."""
    args = ["-m"]
    if any(k.startswith("IPTC:") for k in write):
        args += ["-charset", "iptc=UTF8"]
    return args


# -- results ---------------------------------------------------------------------------


@dataclass
class ItemOutcome:
    """What happened to one plan item: written | skipped | trashed | failed."""

    file_id: int
    source: str
    target: str
    status: str
    message: str | None = None
    source_removed: bool = False


@dataclass
class ApplyResult:
    """Summary of one apply run."""

    journal: str
    written: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (source, one-line error)
    sidecars: int = 0  # sidecar files placed (copied along, or XMP written by exiftool)
    # of those, XMP sidecars made because the file's own metadata could not take the dates
    # (the plan cannot know these in advance, so its sidecar count leaves them out)
    sidecars_made: int = 0
    bytes: int = 0  # bytes placed in the output
    moved: int = 0  # sources moved to the holding folder after their output was verified
    trashed: int = 0  # discarded duplicates moved to the trash folder (move mode)
    held: int = 0  # files (sources and their sidecars) moved into the holding folder
    held_bytes: int = 0  # their size: what the holding folder costs until it is purged
    holding: str | None = None  # this run's holding folder (move mode)
    cancelled: bool = False
    tmp_removed: int = 0  # leftovers of a killed run cleaned at start
    # The outcomes that say something: each failed item, and each written or skipped with
    # a note: not one per file, which would hold every source and target path of a big
    # run (``apply_plan(on_outcome=)`` sees every one).
    outcomes: list[ItemOutcome] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.written} written, {self.skipped} skipped, {len(self.failed)} failed, "
            f"{self.sidecars} sidecars, {self.bytes} bytes"
        )
        if self.sidecars_made:
            text += f" ({self.sidecars_made} of the sidecars made where the file took no metadata)"
        if self.moved or self.trashed:
            text += f", {self.moved} sources moved, {self.trashed} to the trash"
        if self.held:
            text += f", {self.held} originals kept ({self.held_bytes} bytes) until purged"
        return text + (" (cancelled)" if self.cancelled else "")


# -- apply -----------------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        exiftool: ExifTool,
        journal: Journal,
        index: JournalIndex,
        move: bool,
        result: ApplyResult,
        output_dir: str,
        shared_sidecars: Mapping[str, int] | None = None,
    ) -> None:
        self.exiftool = exiftool
        self.journal = journal
        self.index = index
        self.move = move
        self.result = result
        self.output_dir = output_dir
        self.hold_root = os.path.join(output_dir, HOLD_DIR)
        self.run_name = os.path.basename(journal.path).removesuffix(JOURNAL_SUFFIX)
        self.notes: list[str] = []  # what the item being written left out, and why
        self.kept = 0  # bytes of image data the batch being started holds (``KEPT_BYTES``)
        # A sidecar may serve several files (a Live Photo's two halves share a Takeout
        # JSON): it stays in place until the last item of this run that copies it (the
        # items still to come that copy it, of those several copy: ``Outline``).
        self.sidecar_uses: dict[str, int] = dict(shared_sidecars or {})

    def owned(self, target: str, source_sha: str | None, source: str) -> JournalEntry | None:
        """The journal entry by which ``target`` is this source's output, if any."""
        entry = self.index.by_target.get(target)
        if entry is None:
            return None
        same = entry.source_sha256 == source_sha if source_sha else entry.source == source
        return entry if same and output_is_live(entry) else None

    # -- one item -------------------------------------------------------------------
    def item(self, item: PlanItem) -> ItemOutcome:
        outcome = ItemOutcome(item.file_id, item.source, item.target, "failed")
        self.notes = []
        for side_source, _target in item.sidecars:
            if side_source in self.sidecar_uses:
                self.sidecar_uses[side_source] -= 1
        try:
            if item.action == "discard":
                self.trash(item, outcome)
            elif item.action == "skip" or os.path.lexists(item.target):
                self.skip(item, outcome)
            else:
                self.write(item, outcome)
        except (ApplyError, OSError, ExifToolError, ValueError) as exc:
            outcome.status, outcome.message = "failed", _error_line(exc)
        return outcome

    def skip(self, item: PlanItem, outcome: ItemOutcome) -> None:
        exists = os.path.lexists(item.target)
        entry = self.owned(item.target, item.sha256, item.source) if exists else None
        if not exists:  # planned as written, gone since: the next plan writes it again
            outcome.status = "skipped"
            outcome.message = "the planned output is gone since planning: plan again"
            return
        if entry is None and item.action != "skip":
            raise TargetExists(f"target already exists: {item.target}")
        outcome.status = "skipped"
        outcome.message = item.skip_reason or "already written by an earlier apply"
        if entry is not None and not entry.done:
            self.journal.append({"type": "done", "target": item.target})
            entry.done = True
        if self.move and entry is not None:
            self.finish_move(item, entry, outcome)

    def finish_move(self, item: PlanItem, entry: JournalEntry, outcome: ItemOutcome) -> None:
        """A run killed after placing an output but before removing its source: remove the
        source now, if it is still the very file that was written and the output is intact."""
        if entry.source != item.source or not os.path.exists(item.source):
            return
        if sha256_file(entry.target) != entry.output_sha256:
            outcome.message = "the output changed since it was written: source kept"
            return
        if entry.source_sha256 and sha256_file(item.source) != entry.source_sha256:
            outcome.message = "the source changed since it was written: source kept"
            return
        self.hold(
            item.target,
            item.source,
            entry.source_sha256,
            [s["source"] for s in entry.sidecars if s.get("source")],
        )
        outcome.source_removed = True

    def write(self, item: PlanItem, outcome: ItemOutcome) -> None:
        try:
            self._write(item, outcome)
        except MetadataWriteError as exc:
            # Broken metadata in the source (bad IFD entries, damaged markers) must not cost
            # the user the photo: write it unchanged, with the dates in an XMP sidecar.
            sidecar = item.target + ".xmp"
            if os.path.lexists(sidecar):
                raise
            try:
                self._write(
                    replace(item, metadata_sidecar=sidecar, write=_as_xmp(item.write)), outcome
                )
            except (ApplyError, ExifToolError):
                raise ApplyError(f"{exc} (an XMP sidecar could not hold the dates either)") from exc
            self.result.sidecars_made += 1
            outcome.message = (
                f"metadata could not be written into the file ({exc}); "
                "written unchanged with an XMP sidecar"
            )
        if self.notes:  # sidecars left out (once, though the fallback copied them again)
            outcome.message = "; ".join(
                [m for m in (outcome.message,) if m] + list(dict.fromkeys(self.notes))
            )

    def _write(self, item: PlanItem, outcome: ItemOutcome) -> None:
        folder = os.path.dirname(item.target)
        created = makedirs(folder)
        files: list[tuple[str, str, str, str | None]] = []  # (tmp, target, sha, source)
        try:
            main_tmp, source_sha, size = self.prepare_main(item, folder)
            files = [(main_tmp, item.target, "", None)]  # cleaned up if the sidecars fail
            files = [*self.prepare_sidecars(item), (main_tmp, item.target, "", None)]
            output_sha = (
                sha256_file(main_tmp) if item.write and not item.metadata_sidecar else source_sha
            )
            files[-1] = (main_tmp, item.target, output_sha, None)
            files = self.check_targets(item, files)
            if item.mtime is not None:
                os.utime(main_tmp, (item.mtime, item.mtime))
            for tmp, *_ in files:
                if os.path.exists(tmp):
                    fsync_file(tmp)
            sidecars = [
                {"source": src, "target": target, "sha256": sha}
                for _tmp, target, sha, src in files[:-1]
            ]
            self.journal.append(
                self.write_record(item, source_sha, output_sha, size, sidecars, created)
            )
            placed = 0
            for tmp, target, _sha, _src in files:
                if os.path.exists(tmp):
                    durable.place(tmp, target)
                    placed += 1
                    self.result.bytes += os.path.getsize(target)
            fsync_dir(folder)
            self.journal.append({"type": "done", "target": item.target})
        except BaseException:
            for tmp, *_ in files:
                remove(tmp)
            for made in reversed(created):  # a failed item leaves no empty year folder
                with contextlib.suppress(OSError):
                    os.rmdir(made)
            raise
        self.index.by_target[item.target] = JournalEntry(
            target=item.target,
            source=item.source,
            source_sha256=source_sha,
            output_sha256=output_sha,
            size=size,
            action=self.action,
            journal=self.journal.path,
            done=True,
        )
        outcome.status = "written"
        self.result.written += 1
        self.result.sidecars += placed - 1
        if self.move:
            try:
                self.hold(
                    item.target,
                    item.source,
                    source_sha,
                    [src for _tmp, _target, _sha, src in files[:-1] if src is not None],
                )
            except (OSError, ApplyError) as exc:
                raise ApplyError(
                    f"written, but the source could not be moved to the "
                    f"holding folder (it stays in place): {_error_line(exc)}"
                ) from exc
            outcome.source_removed = True

    def batch(self, items: list[PlanItem], sessions: list[ExifTool]) -> list[ItemOutcome]:
        """Write ``items`` (``_batchable``, in plan order) together; return their outcomes.

        Each file is copied and its write queued (``write_tags(..., batch=)``); the batch
        is written by every session at once (:class:`WriteBatch`); each copy is read back
        in-process (``readback``: every written tag as written, the image data unchanged),
        given its capture time and fsynced, all at once. Then the ``write`` records of the
        batch are journaled with one fsync, the files placed, their folders fsynced, and
        the ``done`` records journaled with one fsync. So, as for one file: intent is
        durable before a file shows under its name, ``done`` only once it is durable there.
        Moving, each source is held right after its own output is placed and durable.
        A file the batch could not write exactly so goes the one-by-one way (``item``).

        The three steps are ``batch_start`` (copies made, writes sent), ``batch_write``
        (writes answered and checked) and ``batch_finish`` (fsynced, journaled, placed);
        ``apply_plan`` starts the next batch between the last two, so exiftool writes it
        while this process waits on the disk.
        """
        started = self.batch_start(items, sessions)
        self.batch_write(started)
        return self.batch_finish(started)

    def batch_start(self, items: list[PlanItem], sessions: list[ExifTool]) -> _Batch:
        """Copy each item next to its target and queue its write (sent to exiftool as the
        chunks fill)."""
        started = _Batch(items, WriteBatch(sessions, expected=len(items)))
        self.kept = 0
        try:
            for item in items:
                prepared = self.prepare_batched(item, started.pending)
                if prepared is not None:
                    started.ready.append(prepared)
                else:
                    started.one_by_one.append(item)
        except BaseException:
            self.batch_drop(started)
            raise
        return started

    def batch_write(self, started: _Batch) -> None:
        """Wait for the batch's writes and check each copy; those not verified go one by
        one (their copies removed)."""
        try:
            ready = started.ready
            by_tmp = {os.path.abspath(p.tmp): p for p in ready}
            started.pending.flush()  # exiftool writes the others while these are checked
            for p in ready:
                if p.patched:
                    self.check_batched(p)
            for paths in started.pending.run():
                for path in paths:
                    self.check_batched(by_tmp[path])
            created = sorted({d for p in ready for d in p.created})
            for p in ready:
                if not p.verified:
                    remove(p.tmp)
                    remove(p.tmp + "_exiftool_tmp")
                    started.one_by_one.append(p.item)
            ready = started.ready = [p for p in ready if p.verified]
            for p in ready:  # every item of a folder the batch made names it, for undo
                p.created = [d for d in created if p.item.target.startswith(d + os.sep)]
            for made in reversed(created):  # one that none of them uses goes
                if not any(made in p.created for p in ready):
                    with contextlib.suppress(OSError):
                        os.rmdir(made)
        except BaseException:
            self.batch_drop(started)
            raise
        finally:
            started.pending.close()

    def batch_finish(self, started: _Batch) -> list[ItemOutcome]:
        """fsync, journal and place the verified copies; then the items that go one by one;
        return the outcomes in plan order."""
        try:
            durable.fsync_files(p.tmp for p in started.ready)
            self.place_batched(started.ready, started.outcomes)
        except BaseException:
            for p in started.ready:
                remove(p.tmp)
            raise
        slow = {id(item) for item in started.one_by_one}
        outcomes = started.outcomes
        for item in started.items:
            if id(item) in slow:
                outcomes[item.file_id] = self.item(item)
        return [outcomes[item.file_id] for item in started.items]

    def batch_drop(self, started: _Batch) -> None:
        """A batch given up (an error, an interrupt): its sessions let go, its copies
        removed (nothing of it was journaled or placed)."""
        started.pending.close()
        for p in started.ready:
            remove(p.tmp)
            remove(p.tmp + "_exiftool_tmp")

    def prepare_batched(self, item: PlanItem, pending: WriteBatch) -> _Prepared | None:
        """Copy ``item``'s source next to its target and queue its write; None when it is
        to go the one-by-one way."""
        folder = os.path.dirname(item.target)
        tmp = new_tmp(folder, os.path.splitext(item.target)[1])
        created: list[str] = []
        try:
            created = makedirs(folder)
            # The source is read once (only ever opened for reading): hashed, parsed, and
            # its bytes (or the patched ones) written to the copy, which is not read again
            # before its check.
            source_sha, data = durable.read_hashed(item.source)
            if item.sha256 and source_sha != item.sha256:
                raise ApplyError("the source changed since it was scanned")
            try:
                source = read_jpeg_tags(data)
                write = _batch_tags(item.write, source)
            except (Unreadable, UnicodeDecodeError, struct.error, IndexError):
                write = None
            if write is None:
                raise ApplyError("not a plain JPEG: written one by one")
            patched = patch_exif_text(data, write)
            durable.write_new(tmp, data if patched is None else patched)
            if self.kept + len(data) <= KEPT_BYTES:  # compared as bytes: no hash either side
                before: bytes | str = jpeg_image_data(data)
                self.kept += len(before)
            else:
                before = image_data_digest(data, item.format)
            merged = _merge_xpkeywords(item.write, source.exif.get(("IFD0", "XPKeywords"), ""))
            if patched is None:
                self.exiftool.write_tags(tmp, write, _extra_args(item.write), batch=pending)
        except (ApplyError, OSError, ValueError, ExifToolError):
            # Whatever went wrong (a changed source, a damaged image, a full disk, a folder
            # that cannot be made...), the one-by-one way meets it again and does what it
            # always did: fall back to an XMP sidecar, or fail the item with its reason.
            with contextlib.suppress(OSError):  # (its folder may be a file: nothing made)
                remove(tmp)
            for made in reversed(created):  # made again, and journaled, one by one
                with contextlib.suppress(OSError):
                    os.rmdir(made)
            return None
        except BaseException:
            remove(tmp)
            raise
        return _Prepared(item, tmp, source_sha, merged, before, created, patched is not None)

    def check_batched(self, p: _Prepared) -> None:
        """Read ``p``'s written copy back; mark it verified (else it goes one by one)."""
        try:
            with open(p.tmp, "rb") as f:
                data = f.read()
            _check_read_back(read_jpeg_tags(data), p.write)
            if isinstance(p.before, bytes):
                same = jpeg_image_data(data) == p.before
            else:
                same = image_data_digest(data, p.item.format) == p.before
            p.before = b""  # (its bytes are no longer needed)
            if not same:
                return
        except (ApplyError, OSError, Unreadable, UnicodeDecodeError, struct.error, IndexError):
            return
        p.output_sha = hashlib.sha256(data).hexdigest()
        p.size = len(data)
        if p.item.mtime is not None:
            os.utime(p.tmp, (p.item.mtime, p.item.mtime))
        p.verified = True

    @property
    def action(self) -> str:
        """What this run does with each source: ``move`` or ``copy``."""
        return "move" if self.move else "copy"

    def write_record(
        self,
        item: PlanItem,
        source_sha: str | None,
        output_sha: str | None,
        size: int | None,
        sidecars: list[dict[str, Any]],
        created: list[str],
    ) -> dict[str, Any]:
        """The journal's ``write`` record of ``item``, made before its file is placed."""
        return {
            "type": "write",
            "action": self.action,
            "file_id": item.file_id,
            "source": item.source,
            "target": item.target,
            "source_sha256": source_sha,
            "output_sha256": output_sha,
            "size": size,
            "sidecars": sidecars,
            "created_dirs": created,
        }

    def place_batched(self, ready: list[_Prepared], outcomes: dict[int, ItemOutcome]) -> None:
        """Journal, place and journal done the verified copies (see ``batch``)."""
        for p in ready:
            self.journal.append(
                self.write_record(p.item, p.source_sha, p.output_sha, p.size, [], p.created),
                sync=False,
            )
        self.journal.sync()
        placed: list[_Prepared] = []
        for p in ready:
            item = p.item
            outcome = ItemOutcome(item.file_id, item.source, item.target, "failed")
            outcomes[item.file_id] = outcome
            try:
                durable.place(p.tmp, item.target)
            except (ApplyError, OSError) as exc:
                remove(p.tmp)
                outcome.message = _error_line(exc)
                continue
            placed.append(p)
            if self.move:  # this source leaves only once its own output is durable
                fsync_dir(os.path.dirname(item.target))
                self.journal.append({"type": "done", "target": item.target})
                self.written_batched(p, outcome)
        if not self.move:
            for folder in sorted({os.path.dirname(p.item.target) for p in placed}):
                fsync_dir(folder)
            for p in placed:
                self.journal.append({"type": "done", "target": p.item.target}, sync=False)
            self.journal.sync()
            for p in placed:
                self.written_batched(p, outcomes[p.item.file_id])

    def written_batched(self, p: _Prepared, outcome: ItemOutcome) -> None:
        item = p.item
        self.index.by_target[item.target] = JournalEntry(
            target=item.target,
            source=item.source,
            source_sha256=p.source_sha,
            output_sha256=p.output_sha,
            size=p.size,
            action=self.action,
            journal=self.journal.path,
            done=True,
        )
        outcome.status = "written"
        self.result.written += 1
        self.result.bytes += p.size
        if self.move:
            try:
                self.hold(item.target, item.source, p.source_sha, [])
            except (OSError, ApplyError) as exc:
                outcome.status = "failed"
                outcome.message = (
                    "written, but the source could not be moved to the holding folder "
                    f"(it stays in place): {_error_line(exc)}"
                )
                return
            outcome.source_removed = True

    def check_targets(
        self, item: PlanItem, files: list[tuple[str, str, str, str | None]]
    ) -> list[tuple[str, str, str, str | None]]:
        """Refuse before anything is placed, so an item is never half written. A sidecar
        left in place by a killed attempt at this same item is kept (our copy dropped)."""
        earlier = self.index.by_target.get(item.target)
        checked = []
        for tmp, target, sha, src in files:
            if os.path.lexists(target):
                have = sha256_file(target)
                mine = (
                    earlier is not None
                    and earlier.source_sha256 == item.sha256
                    and any(
                        s.get("target") == target and s.get("sha256") == have
                        for s in earlier.sidecars
                    )
                )
                if target == item.target or not (have == sha or mine):
                    raise TargetExists(f"target already exists: {target}")
                remove(tmp)
                sha = have
            checked.append((tmp, target, sha, src))
        return checked

    def prepare_main(self, item: PlanItem, folder: str) -> tuple[str, str, int]:
        """Copy the source next to its target and write its metadata; return (tmp, source
        sha256, output size)."""
        ext = os.path.splitext(item.target)[1]
        tmp = new_tmp(folder, ext)
        try:
            source_sha, size = durable.copy_hashed(item.source, tmp)
            if item.sha256 and source_sha != item.sha256:
                raise ApplyError("the source changed since it was scanned (its sha256 differs)")
            if item.write and not item.metadata_sidecar:
                try:
                    before = image_data_digest(tmp, item.format)
                    write = _with_existing_xpkeywords(self.exiftool, tmp, item.write)
                    try:
                        self.exiftool.write_tags(tmp, write, _extra_args(write))
                    except ExifToolError as exc:  # name the file as the user will know it
                        if _no_room_for_a_copy(folder, tmp):
                            # Found by the fault suite: exiftool only says "Error writing
                            # output file", and a full disk was taken for bad metadata (the
                            # photo went out unchanged with an XMP sidecar, for good).
                            raise OutputFullError(
                                f"{os.strerror(errno.ENOSPC)}: {item.target} (writing its "
                                "metadata needs room for a second copy)"
                            ) from exc
                        raise ApplyError(str(exc).replace(tmp, item.target)) from exc
                    _verify_tags(self.exiftool, tmp, write)
                    if image_data_digest(tmp, item.format) != before:
                        raise ApplyError("the image data changed while writing metadata")
                except OutputFullError:
                    raise
                except ApplyError as exc:
                    raise MetadataWriteError(str(exc)) from exc
                size = os.path.getsize(tmp)
        except BaseException:
            remove(tmp)
            raise
        return tmp, source_sha, size

    def prepare_sidecars(self, item: PlanItem) -> list[tuple[str, str, str, str | None]]:
        """Copy the item's sidecars next to their targets (and write its XMP sidecar); a
        sidecar that is not safe to read is left out, and said (``self.notes``)."""
        files: list[tuple[str, str, str, str | None]] = []
        try:
            merged_source = None
            for source, target in item.sidecars:
                if target == item.metadata_sidecar:
                    merged_source = source  # our XMP is written into a copy of this one
                    continue
                tmp = new_tmp(os.path.dirname(target), os.path.splitext(target)[1])
                files.append((tmp, target, "", source))
                try:
                    sha, _ = durable.copy_hashed(source, tmp, beside=item.source)
                except SidecarRefused as exc:
                    remove(tmp)
                    files.pop()
                    self.notes.append(str(exc))
                    continue
                if item.sidecar_write and target.casefold().endswith(".xmp"):
                    sha = self.rewrite_sidecar(item, source, tmp) or sha
                files[-1] = (tmp, target, sha, source)
            if item.metadata_sidecar and item.write:
                tmp = new_tmp(os.path.dirname(item.metadata_sidecar), ".xmp")
                files.append((tmp, item.metadata_sidecar, "", merged_source))
                if merged_source is not None:
                    try:
                        durable.copy_hashed(merged_source, tmp, beside=item.source)
                    except SidecarRefused as exc:
                        self.notes.append(str(exc))
                        remove(tmp)
                        merged_source = None
                        files[-1] = (tmp, item.metadata_sidecar, "", None)
                if merged_source is None:
                    open(tmp, "xb").close()  # exiftool fills an empty .xmp file
                self.exiftool.write_tags(tmp, item.write, _extra_args(item.write))
                _verify_tags(self.exiftool, tmp, item.write)
                files[-1] = (tmp, item.metadata_sidecar, sha256_file(tmp), merged_source)
        except BaseException:
            for tmp, *_ in files:
                remove(tmp)
            raise
        return files

    def rewrite_sidecar(self, item: PlanItem, source: str, tmp: str) -> str | None:
        """Write the plan's dates into a copied XMP sidecar, so no program reads an older
        date from it; returns the new sha256. A sidecar exiftool cannot write is kept as it
        was (the photo matters more than its sidecar agreeing)."""
        try:
            self.exiftool.write_tags(tmp, item.sidecar_write, _extra_args(item.sidecar_write))
            _verify_tags(self.exiftool, tmp, item.sidecar_write)
        except (ApplyError, ExifToolError):
            remove(tmp)
            durable.copy_hashed(source, tmp, beside=item.source)
            return None
        return sha256_file(tmp)

    def hold(self, target: str, source: str, sha: str | None, sidecars: Iterable[str]) -> None:
        """Move mode: move a source whose output is verified, placed and journaled, then its
        sidecars, into this run's holding folder, bytes untouched. Each move is journaled
        (``hold``) before it is made, so undo finds the original whatever instant a kill
        lands; ``source_removed`` follows."""
        files = [(source, sha)] + [
            (s, None)
            for s in dict.fromkeys(sidecars)
            if s != source and self.sidecar_uses.get(s, 0) <= 0
        ]
        for path, digest in files:
            if not os.path.lexists(path):
                continue  # a sidecar its bundle partner took along already
            if self.drop_if_held(path):
                continue
            digest = digest or sha256_file(path)
            dest = held_path(self.output_dir, self.run_name, path)
            size = os.lstat(path).st_size
            self.journal.append(
                {"type": "hold", "target": target, "source": path, "held": dest, "sha256": digest}
            )
            durable.move_original(path, dest, digest, self.hold_root)
            self.index.holds.setdefault(path, []).append(
                HeldOriginal(path, dest, digest, self.journal.path)
            )
            self.result.held += 1
            self.result.held_bytes += size
            self.result.holding = os.path.join(self.hold_root, self.run_name)
        self.journal.append({"type": "source_removed", "target": target, "source": source})
        self.result.moved += 1

    def drop_if_held(self, source: str) -> bool:
        """A run killed between linking an original into the holding folder and dropping
        its source name left it at both: drop the source name now (True)."""
        digest = None
        for hold in reversed(self.index.holds.get(source, ())):
            try:
                same = os.path.samefile(hold.held, source)
                if not same and hold.sha256:
                    digest = digest or sha256_file(source)
                    same = digest == hold.sha256 == sha256_file(hold.held)
            except OSError:
                continue
            if same:
                durable.drop(source)
                return True
        return False

    def remove_trashed(self, source: str, target: str) -> None:
        """Drop the name of a discarded duplicate whose bytes are in the trash folder."""
        durable.drop(source)
        self.journal.append({"type": "source_removed", "target": target, "source": source})
        self.result.trashed += 1

    # -- discarded duplicates -------------------------------------------------------
    def trash(self, item: PlanItem, outcome: ItemOutcome) -> None:
        if not self.move:
            outcome.status, outcome.message = "skipped", "discarded: not written"
            return
        entry = self.owned(item.target, item.sha256, item.source)
        if entry is not None or item.skip_reason:
            outcome.status, outcome.message = "skipped", "already in the trash folder"
            if (
                entry is not None
                and entry.source == item.source
                and os.path.exists(item.source)
                and sha256_file(item.source) == sha256_file(item.target) == entry.output_sha256
            ):
                self.remove_trashed(item.source, item.target)
                outcome.source_removed = True
            return
        folder = os.path.dirname(item.target)
        sha = sha256_file(item.source)
        if item.sha256 and sha != item.sha256:
            raise ApplyError("the source changed since it was scanned (its sha256 differs)")
        created = makedirs(folder)
        try:
            self.journal.append(
                {
                    "type": "write",
                    "action": "trash",
                    "file_id": item.file_id,
                    "source": item.source,
                    "target": item.target,
                    "source_sha256": sha,
                    "output_sha256": sha,
                    "size": os.path.getsize(item.source),
                    "sidecars": [],
                    "created_dirs": created,
                }
            )
            # Moved, not copied: the trash holds the very file (a copy across filesystems).
            durable.move_original(item.source, item.target, sha)
        except BaseException:
            for made in reversed(created):
                with contextlib.suppress(OSError):
                    os.rmdir(made)
            raise
        self.journal.append({"type": "done", "target": item.target})
        self.journal.append(
            {"type": "source_removed", "target": item.target, "source": item.source}
        )
        self.result.trashed += 1
        outcome.status, outcome.source_removed = "trashed", True


# Image data a batch keeps in memory to compare with its written copies (at most two
# batches are in flight): past it, a copy's image data is compared by its digest.
KEPT_BYTES = 16 * 1024 * 1024

# Files per batch at most: enough that the fsyncs, journal syncs and exiftool commands of a
# batch cost little per file, few enough that a kill loses little work.
BATCH_FILES = 128


# A batch of at least this many files has the next one started before it is placed
# (``apply_plan``); the small batches of the ramp-up go one after the other.
OVERLAP_FILES = 16


def _record(
    result: ApplyResult,
    outcomes: list[ItemOutcome],
    done: int,
    total: int,
    on_progress: Callable[[int, int], None] | None,
    on_outcome: Callable[[ItemOutcome], None] | None,
) -> int:
    """Count ``outcomes`` into ``result`` (keeping those that say something); return how
    many they are."""
    for n, outcome in enumerate(outcomes, 1):
        if outcome.status == "failed" or outcome.message:
            result.outcomes.append(outcome)
        if outcome.status == "failed":
            result.failed.append((outcome.source, outcome.message or "failed"))
        elif outcome.status == "skipped":
            result.skipped += 1
        if on_outcome is not None:
            on_outcome(outcome)
        if on_progress is not None:
            on_progress(done + n, total)
    return len(outcomes)


class _Ahead:
    """The items still to apply, read from the plan (a list, or ``plan_items``' stream) a
    few at a time: a batch looks at the next ones before it takes them. Each item's folders
    are cleaned of a killed run's temporary files before the item is handed out, when the
    outline did not name them (``clean``)."""

    def __init__(self, items: Iterator[PlanItem], clean: Callable[[PlanItem], None]) -> None:
        self._items = items
        self._clean = clean
        self._read: deque[PlanItem] = deque()

    def peek(self, n: int = 0) -> PlanItem | None:
        """The ``n``-th item from here (0: the next), None past the last."""
        while len(self._read) <= n:
            item = next(self._items, None)
            if item is None:
                return None
            self._clean(item)
            self._read.append(item)
        return self._read[n]

    def take(self, n: int = 1) -> list[PlanItem]:
        """The next ``n`` items (``peek`` looked at them), taken out."""
        self.peek(n - 1)
        return [self._read.popleft() for _ in range(min(n, len(self._read)))]


def apply_plan(
    plan: Plan,
    exiftool: ExifTool | Sequence[ExifTool],
    journal_dir: str,
    *,
    items: Iterable[PlanItem] | None = None,
    move: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_outcome: Callable[[ItemOutcome], None] | None = None,
) -> ApplyResult:
    """Write ``plan`` to disk; one journal file per call in ``journal_dir``.

    :param plan: from ``make_plan`` (make it again after a crash: it reads the journals).
    :param exiftool: the session that writes and reads metadata, or several (one per
        core): plain JPEGs are written in batches that all of them share (``_Run.batch``).
    :param items: the plan's items as ``plan_items`` makes them, with the plan it gave
        (its ``outline`` set, ``discarded`` once they are all read): each is let go once
        applied, so 100,000 items are never held at once (issue #20). The plan is then
        applied as it is made, under the same output lock: its reading of the journals is
        the one apply goes on from. Default: the plan's own lists (the journals read anew).
    :param move: move each source (and its sidecars) into the holding folder
        ``OUTPUT/.originals/<run>/`` after its output is verified and journaled, and
        discarded duplicates to the trash folder; default is copy (sources untouched).
    :param on_progress: called with (items done, items in all) after each item.
    :param should_stop: asked before each item; True ends the run (``cancelled``).
    :param on_outcome: called with each item's outcome, in plan order, as it is known
        (``ApplyResult.outcomes`` keeps only those that say something).
    :return: the summary; a failed item is listed with a one-line error and the run goes on.
    """
    if items is None:
        outline = Outline.of(plan.items, plan.discarded)
        stream: Iterator[PlanItem] = iter(plan.items)
    elif plan.outline is None:  # items not from ``plan_items``: read them all first
        listed = list(items)
        outline = Outline.of(listed, plan.discarded)
        stream = iter(listed)
    else:
        outline = plan.outline
        stream = iter(items)
    if move:
        # ``plan.discarded`` is read once every item was (a stream fills it at its end).
        stream = itertools.chain(stream, _later(lambda: plan.discarded))
    total = outline.items + (outline.discarded if move else 0)
    os.makedirs(journal_dir, exist_ok=True)
    journal = Journal(new_journal_path(journal_dir))
    result = ApplyResult(journal=journal.path)
    hold_root = os.path.join(plan.output_dir, HOLD_DIR)
    folders = outline.folders | (outline.trash_folders if move else frozenset())
    result.tmp_removed = durable.clean_tmp(sorted(folders | {plan.output_dir, hold_root}))
    cleaned = set(folders)

    def clean(item: PlanItem) -> None:
        for folder in {os.path.dirname(item.target)} | {
            os.path.dirname(t) for _, t in item.sidecars
        }:
            if folder not in cleaned:
                cleaned.add(folder)
                result.tmp_removed += durable.clean_tmp([folder])

    ahead = _Ahead(stream, clean)
    try:
        journal.append(
            {
                "type": "run",
                "version": 1,
                "output": plan.output_dir,
                "move": move,
                "items": total,
                "pid": os.getpid(),
            }
        )
        sessions = [exiftool] if isinstance(exiftool, ExifTool) else list(exiftool)
        run = _Run(
            sessions[0],
            journal,
            outline.journals if outline.journals is not None else journal_index(journal_dir),
            move,
            result,
            plan.output_dir,
            outline.shared_sidecars,
        )
        done = batches = 0
        started: _Batch | None = None  # the next batch, started while the last one finished

        def next_batch() -> list[PlanItem]:
            # The first files go one at a time (a fault common to all shows at once, and
            # so does progress), then batches double up to BATCH_FILES. Moving, each file
            # goes alone: its source is held while nothing else is in flight, so a kill
            # leaves exactly the outputs of the sources moved so far (and of that one).
            size = 1 if move or batches < 3 else min(2 ** (batches - 2), BATCH_FILES)
            n = 0
            while n < size:
                item = ahead.peek(n)
                if item is None or not _batchable(item) or os.path.lexists(item.target):
                    break
                n += 1
            return ahead.take(n) if n else []

        while started is not None or ahead.peek() is not None:
            if started is not None:
                current, started = started, None
            else:
                if should_stop is not None and should_stop():
                    result.cancelled = True
                    break
                batch = next_batch()
                if not batch:
                    outcomes = [run.item(ahead.take()[0])]
                    done += _record(result, outcomes, done, total, on_progress, on_outcome)
                    continue
                current = run.batch_start(batch, sessions)
                batches += 1
            run.batch_write(current)  # (on an error, it drops the batch's copies itself)
            # While this batch is fsynced, journaled and placed (the disk's time), the next
            # one is copied and sent, so the exiftool sessions write it meanwhile. Not when
            # moving (one file at a time), nor while the batches ramp up, nor when some of
            # this batch go one by one (they need a session the next batch would hold).
            if (
                not move
                and len(current.items) >= OVERLAP_FILES
                and not current.one_by_one
                and not (should_stop is not None and should_stop())
            ):
                batch = next_batch()
                if batch:
                    try:
                        started = run.batch_start(batch, sessions)
                    except BaseException:
                        run.batch_drop(current)
                        raise
                    batches += 1
            try:
                outcomes = run.batch_finish(current)
            except BaseException:
                if started is not None:
                    run.batch_drop(started)
                raise
            del current
            done += _record(result, outcomes, done, total, on_progress, on_outcome)
    finally:
        journal.close()
    return result


def _later(items: Callable[[], Iterable[PlanItem]]) -> Iterator[PlanItem]:
    """``items()``, called only when the first of them is wanted."""
    yield from items()


# -- undo ------------------------------------------------------------------------------


@dataclass
class UndoResult:
    """What ``undo`` did: outputs removed, sources put back, files it refused to touch."""

    journal: str
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    # Of ``restored``: copied back from the archive because their kept original was purged
    # (they carry mediafix's metadata; every other one is its original, byte for byte).
    from_output: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    dirs_removed: list[str] = field(default_factory=list)
    already_undone: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused


def _restore(output: str, source: str, expected_sha: str, source_sha: str | None) -> bool:
    """Copy ``output`` back to ``source`` (never over another file); True when restored."""
    if os.path.lexists(source):
        if sha256_file(source) in (expected_sha, source_sha):
            return False  # already back (an earlier, interrupted undo)
        raise TargetExists(f"another file is now at the source path: {source}")
    folder = os.path.dirname(source)
    makedirs(folder)
    tmp = new_tmp(folder, os.path.splitext(source)[1])
    try:
        sha, _ = durable.copy_hashed(output, tmp)
        if sha != expected_sha:
            raise ApplyError(f"the copy back to {source} does not match its journaled hash")
        st = os.stat(output)
        os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
        fsync_file(tmp)
        durable.place(tmp, source)
        fsync_dir(folder)
    except BaseException:
        remove(tmp)
        raise
    return True


def _kept_original(
    source: str, sha: str | None, holds: Mapping[str, list[HeldOriginal]]
) -> HeldOriginal | None:
    """The newest original of ``source`` still in a holding folder with the bytes it was
    journaled with (``sha``: the content wanted, when known); None when purged."""
    changed = None
    for hold in reversed(holds.get(source, ())):
        if sha and hold.sha256 and hold.sha256 != sha:
            continue
        if not os.path.lexists(hold.held):
            continue
        if hold.sha256 is None or sha256_file(hold.held) == hold.sha256:
            return hold
        changed = hold
    if changed is not None:
        raise ApplyError(f"its original in the holding folder changed since: {changed.held}")
    return None


class _Undo:
    """Undo of one journal: every source back in place before its outputs go."""

    def __init__(
        self, journal: Journal, holds: Mapping[str, list[HeldOriginal]], result: UndoResult
    ) -> None:
        self.journal = journal
        self.holds = holds
        self.result = result
        self.dirty: set[str] = set()  # folders with a removal not yet fsynced

    def record(self, record: dict[str, Any]) -> None:
        """Journal ``record`` durably, after every removal made before it."""
        self.flush()
        self.journal.append(record)

    def flush(self) -> None:
        """Make the removals so far durable, then the records journaled after them: undo
        of a big run costs one fsync per folder and batch, not two per file."""
        for folder in sorted(self.dirty):
            fsync_dir(folder)
        self.dirty.clear()
        self.journal.sync()

    def put_back(
        self, source: str, sha: str | None, target: str, output: tuple[str, str] | None
    ) -> None:
        """Bring a missing ``source`` back: its kept original, moved back from the holding
        folder, else (purged) a copy of ``output`` (path, sha256)."""
        hold = _kept_original(source, sha, self.holds)
        if hold is not None:
            durable.move_original(hold.held, source, hold.sha256)
            durable.prune_empty(os.path.dirname(hold.held), holding_root(hold.held))
            self.record({"type": "restored", "target": target, "source": source, "from": hold.held})
            self.result.restored.append(source)
            return
        if output is None or not os.path.exists(output[0]):
            raise ApplyError("both the output and its source are gone: nothing to restore")
        if _restore(output[0], source, output[1], sha):
            self.record({"type": "restored", "target": target, "source": source, "from": output[0]})
            self.result.restored.append(source)
            self.result.from_output.append(source)

    def entry(self, entry: JournalEntry) -> None:
        files = [(entry.target, entry.output_sha256)] + [
            (s["target"], s["sha256"]) for s in entry.sidecars
        ]
        changed = [
            path for path, sha in files if os.path.lexists(path) and sha256_file(path) != sha
        ]
        if changed:
            raise ApplyError("changed since apply: " + ", ".join(changed))
        # Whatever the journal says about moving (a later run may have finished a move and
        # journaled it elsewhere), a source that is gone comes back first.
        if not os.path.lexists(entry.source):
            if entry.action == "trash":  # the trash file is the original itself
                if not os.path.exists(entry.target):
                    raise ApplyError("both the trash file and its source are gone")
                durable.move_original(entry.target, entry.source, entry.output_sha256)
                self.record(
                    {
                        "type": "restored",
                        "target": entry.target,
                        "source": entry.source,
                        "from": entry.target,
                    }
                )
                self.result.restored.append(entry.source)
            else:
                self.put_back(
                    entry.source,
                    entry.source_sha256,
                    entry.target,
                    (entry.target, entry.output_sha256),
                )
        elif entry.source_removed and os.path.exists(entry.target):
            _restore(entry.target, entry.source, entry.output_sha256, entry.source_sha256)
        for s in entry.sidecars:
            source = s.get("source")
            if source and not os.path.lexists(source):
                # A copied sidecar's output is its original (same sha256); a merged XMP's
                # is not, and it is only used once the original is purged.
                self.put_back(source, None, entry.target, (s["target"], s["sha256"]))
        for path, _sha in reversed(files):  # sidecars first, the file itself last
            if os.path.lexists(path):
                os.unlink(path)
                self.dirty.add(os.path.dirname(path))
                self.result.removed.append(path)


def undo(journal_path: str, on_progress: Callable[[int, int], None] | None = None) -> UndoResult:
    """Revert what the apply run of ``journal_path`` wrote.

    An output is removed only when its sha256 is still the journaled one; changed files are
    refused and listed. Moved sources come back first: from the holding folder (or the
    trash), byte for byte and hash checked, or, when the user purged the original, as a
    copy of the output (``UndoResult.from_output``). Folders the run created are removed
    when empty. Each undone file is journaled, so undoing twice (or resuming an interrupted
    undo) is harmless. ``on_progress(done, total)`` follows the files (a job's progress bar).
    """
    result = UndoResult(journal=journal_path)
    entries: dict[str, JournalEntry] = {}
    undone: set[str] = set()
    roots: set[str] = set()  # the output folders of the run (they stay)
    for record in iter_journal(journal_path):  # one record at a time: a big run is 100k
        kind, target = record["type"], record.get("target")
        if kind == "run" and record.get("output"):
            roots.add(os.path.abspath(record["output"]))
        elif kind == "write" and target:
            entries[target] = JournalEntry.from_record(record, journal_path)
        elif kind == "done" and target in entries:
            entries[target].done = True
        elif kind == "source_removed" and target in entries:
            entries[target].source_removed = True
        elif kind == "undone" and target:
            undone.add(target)
    # Originals may have been held by a later run that finished this one's move.
    holds = journal_holds(os.path.dirname(os.path.abspath(journal_path)))
    journal = Journal(journal_path)
    run = _Undo(journal, holds, result)
    try:
        sources = {e.source for e in entries.values()} | {
            s["source"] for e in entries.values() for s in e.sidecars if s.get("source")
        }
        durable.clean_tmp(sorted({os.path.dirname(p) for p in sources}), exact=True)
        total = len(entries)
        if on_progress is not None:
            on_progress(0, total)
        for done, target in enumerate(reversed(list(entries)), 1):
            if on_progress is not None and (done == total or done % 25 == 0):
                on_progress(done, total)
            if target in undone:
                result.already_undone += 1
                continue
            try:
                run.entry(entries[target])
            except (ApplyError, OSError) as exc:
                result.refused.append((target, _error_line(exc)))
                continue
            # ``undone`` only once the removal is durable (``flush``): a crash between
            # the two leaves an entry that the next undo finishes.
            journal.append({"type": "undone", "target": target}, sync=False)
            if done % BATCH_FILES == 0:
                run.flush()
        run.flush()
        # Year, undated and trash folders the run created go when empty; the output root
        # itself stays (it is the user's configured folder).
        created = {d for e in entries.values() for d in e.created_dirs} - roots
        for folder in sorted(created, key=lambda d: d.count(os.sep), reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only succeeds when empty
                result.dirs_removed.append(folder)
        journal.append(
            {
                "type": "undo",
                "removed": len(result.removed),
                "restored": len(result.restored),
                "from_output": len(result.from_output),
                "refused": len(result.refused),
            }
        )
    finally:
        journal.close()
    return result
