"""The archive's invariants (issue #16), each checked against what is on disk, in the
journals, in the library rows and in ``mediafix plan --json``.

Every check raises ``AssertionError`` with a sentence saying which invariant broke and the
files concerned; the test adds the library's tree and the steps taken.
"""

from __future__ import annotations

import glob
import os
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from mediafix.media.discover import is_junk
from mediafix.media.durable import TMP_PREFIX
from mediafix.media.exiftool import ExifTool
from mediafix.media.holding import HOLD_DIR
from mediafix.media.journal import read_journal
from mediafix.media.outputlock import LOCK_NAME
from mediafix.media.plan.model import TRASH_DIR, copy_date
from mediafix.media.plan.naming import naming_for, own_stem, split_name
from tests.helpers.hostile import snapshot
from tests.invariants.library import sha256
from tests.invariants.world import World, _Row

__all__ = [
    "archive_files",
    "check_after_apply",
    "check_kill_leftovers",
    "check_plan",
    "check_sources_retrievable",
    "check_undone",
    "output_state",
]

PARTIAL_MARKERS = (TMP_PREFIX, "_exiftool_tmp")
SIDECAR_EXTS = (".xmp", ".json", ".aae")
_LEFT_OUT = re.compile(r"(exact|near|burst) duplicate of (.+) \(group #(\d+)\)", re.S)


def _short(path: str) -> str:
    folder = os.path.basename(os.path.dirname(path))
    return f"{folder}/{os.path.basename(path)}" if folder else os.path.basename(path)


def _fail(what: str, detail: Any) -> None:
    raise AssertionError(f"INVARIANT: {what}\n  {detail}")


# -- the plan ---------------------------------------------------------------------------------


def check_plan(w: World, plan: dict[str, Any], rows: dict[int, _Row]) -> None:
    """What ``plan --json`` promises, before and after an apply."""
    by_path = {r.path: r for r in rows.values()}
    items = plan["items"]
    content = {p: d for p, d in w.files.items()}

    def sha_of(path: str) -> str:
        if path in content:
            return content[path]
        row = by_path.get(path)
        return (row.sha256 if row else None) or f"?{path}"

    # 1. no source content written twice
    written = Counter(sha_of(i["source"]) for i in items)
    twice = {d: n for d, n in written.items() if n > 1}
    if twice:
        _fail(
            "a source content is planned twice",
            [(i["source"], i["target"]) for i in items if sha_of(i["source"]) in twice],
        )
    held_contents = {sha_of(h["path"]) for h in plan["held"]}
    both = held_contents & set(written)
    if both:
        _fail(
            "a content is both written and held (held copies would be written a second time)",
            [h for h in plan["held"] if sha_of(h["path"]) in both],
        )

    # 2. every file: written, held with a reason, left out for a written copy, or ignored;
    # and nothing else (a file deleted since it was scanned is not in the plan)
    named = [i["source"] for i in items] + [h["path"] for h in plan["held"]]
    named += [d["path"] for d in plan["discarded"]] + [g["path"] for g in plan["ignored"]]
    ghosts = sorted(set(named) - set(w.files))
    if ghosts:
        _fail("the plan names a file that is not in the library", ghosts)
    places: dict[str, list[str]] = defaultdict(list)
    for i in items:
        places[i["source"]].append("written")
        for s in i.get("sidecars", ()):
            places[s["source"]].append("sidecar")
    for h in plan["held"]:
        places[h["path"]].append("held")
        if not h["reason"].strip():
            _fail("a file is held without a reason", h)
    for d in plan["discarded"]:
        places[d["path"]].append("left out")
    for g in plan["ignored"]:
        places[g["path"]].append("ignored")
    media = {r.path for r in rows.values() if r.kind in ("image", "video")}
    for path in w.files:
        got = [p for p in places.get(path, []) if p != "sidecar"]
        if path.lower().endswith(SIDECAR_EXTS) and path not in by_path:
            continue  # a sidecar: it travels with its file (or stays with it)
        if is_junk(os.path.basename(path)) and path not in by_path:
            continue  # system litter (.DS_Store, Thumbs.db): never scanned, never written
        if len(got) != 1:
            _fail("a source is not in exactly one of written/held/left out/ignored", (path, got))
        if got == ["ignored"] and path in media:
            _fail("a photo or video is ignored as not media", path)
        if got == ["ignored"] and path in w.media_paths():
            _fail("a generated photo or video is ignored as not media", path)

    # a written file's own sidecars travel with it
    item_of = {i["source"]: i for i in items}
    for path in w.files:
        for suffix in (".json", ".xmp"):
            media = path[: -len(suffix)]
            if path.endswith(suffix) and media in item_of:
                travelling = {s["source"] for s in item_of[media].get("sidecars", ())}
                if path not in travelling:
                    _fail("a written file's sidecar does not travel with it", (media, path))

    # 3. a left-out file names its group and the file written in its place
    item_by_short: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in items:
        item_by_short[_short(i["source"])].append(i)
    held_by_short = {_short(h["path"]) for h in plan["held"]}
    members = w.group_members()
    for d in plan["discarded"]:
        m = _LEFT_OUT.fullmatch(d["reason"])
        if m is None:
            _fail("a file is left out for another reason than a named duplicate", d)
        kind, named, group = m.group(1), m.group(2), int(m.group(3))
        mine = sha_of(d["path"])
        row = by_path[d["path"]]
        if kind == "exact":
            twins = [i for i in item_by_short.get(named, []) if sha_of(i["source"]) == mine]
            if not twins:
                _fail("an exact duplicate is left out but its content is not written", d)
            if row.id not in members.get(group, {}):
                _fail("an exact duplicate names a group it is not in", (d, members.get(group)))
        else:
            in_group = members.get(group, {})
            if in_group.get(row.id) is not False and not _dropped_content(w, members, mine):
                _fail(f"left out by {kind} group #{group}, which does not discard it", d)
            if named not in item_by_short and named not in held_by_short:
                _fail(f"left out as a {kind} duplicate of a file that is not written", d)
            if not any(_short(r.path) == named for r in rows.values() if r.id in in_group):
                _fail(f"left out for a file that is not in its {kind} group", (d, in_group))

    # 4. bundles: partners are written as one unit, and a partner with no other copy stays
    check_bundles(w, plan, rows, sha_of)


def _dropped_content(w: World, members: dict[int, dict[int, bool]], digest: str) -> bool:
    """Some group discards every copy of this content it holds (the rule that drops it)."""
    ids = {r.id for r in w.rows_cache.values() if r.sha256 == digest}
    for group in members.values():
        flags = [keep for fid, keep in group.items() if fid in ids]
        if flags and not any(flags):
            return True
    return False


def _base(target: str) -> str:
    return os.path.join(os.path.dirname(target), split_name(os.path.basename(target))[0])


def _role(r: _Row) -> str:
    """A bundle member's part: ``raw``, ``video`` or ``still`` (one of each per picture)."""
    if r.format == "raw":
        return "raw"
    return "video" if r.kind == "video" else "still"


def _claimed_apart(bundles: dict[str, set[str]], role: dict[str, str]) -> dict[str, set[str]]:
    """Bundle -> its contents that another bundle claims for a different partner (a clip
    copied beside another photo of its name): two contents of one part, one from each
    bundle, that no single bundle holds together. Such a content can be written beside
    only one of its claimants."""
    together = {
        frozenset((x, y)) for cs in bundles.values() for x in cs for y in cs if role[x] == role[y]
    }
    apart: dict[str, set[str]] = defaultdict(set)
    for k, mine in bundles.items():
        for k2, theirs in bundles.items():
            shared = mine & theirs
            if k2 == k or not shared:
                continue
            if any(
                role[x] == role[y] and frozenset((x, y)) not in together
                for x in mine - theirs
                for y in theirs - mine
            ):
                apart[k] |= shared
    return apart


def check_bundles(w: World, plan: dict[str, Any], rows: dict[int, _Row], sha_of: Any) -> None:
    bundles: dict[str, set[str]] = defaultdict(set)
    role: dict[str, str] = {}
    for r in rows.values():
        if r.sha256 and r.kind in ("image", "video"):
            role[r.sha256] = _role(r)
            if r.bundle:
                bundles[r.bundle].add(r.sha256)
    copies = Counter(w.files.values())
    target_of = {sha_of(i["source"]): i["target"] for i in plan["items"]}
    left_out = {sha_of(d["path"]): d for d in plan["discarded"]}
    placed = {sha_of(i["source"]) for i in plan["items"]} | {
        sha_of(h["path"]) for h in plan["held"]
    }
    members = w.group_members()
    held = {sha_of(h["path"]) for h in plan["held"]}
    apart = _claimed_apart(bundles, role)

    def whole(contents: set[str]) -> bool:
        return len({_base(target_of[c]) for c in contents if c in target_of}) <= 1

    together = {frozenset((x, y)) for cs in bundles.values() for x in cs for y in cs}
    by_base: dict[str, list[str]] = defaultdict(list)
    for c, t in target_of.items():
        if c in role:
            by_base[_base(t)].append(c)
    for base, cs in by_base.items():
        if any(
            x != y and role[x] == role[y] and frozenset((x, y)) not in together
            for x in cs
            for y in cs
        ):
            _fail("two pictures that no bundle pairs share one base name", (base, cs))

    def split(contents: set[str]) -> bool:
        return bool(contents & held and contents & set(target_of))

    for key, contents in bundles.items():
        # A content two bundles claim for different partners goes (or waits) with one of
        # them, unsplit; the rest of each bundle travels together.
        shared = apart.get(key, set())
        if split(contents - shared) or not all(
            any(c in cs and not split(cs) for cs in bundles.values()) for c in shared
        ):
            _fail(
                "a bundle is split: part written, part held for review",
                (key, sorted(target_of[c] for c in contents if c in target_of), plan["held"]),
            )
        if not whole(contents):
            # The same exception: a content two bundles claim goes out beside the partners
            # of one of them, whole; the rest of this one shares a base.
            beside_one = all(any(c in cs and whole(cs) for cs in bundles.values()) for c in shared)
            if not shared or not beside_one or not whole(contents - shared):
                _fail(
                    "a bundle's written partners do not share one base name in one folder",
                    (key, sorted(target_of[c] for c in contents if c in target_of)),
                )
        for c in contents:
            if copies[c] == 1 and c not in placed:
                d = left_out.get(c)
                m = _LEFT_OUT.fullmatch(d["reason"]) if d else None
                rid = next(r.id for r in rows.values() if r.sha256 == c)
                chosen = m and m.group(1) != "exact" and members[int(m.group(3))].get(rid) is False
                if not chosen:
                    _fail("a bundle partner with no other copy is left out", (key, d))


# -- the output -------------------------------------------------------------------------------


def archive_files(out: Path) -> dict[str, str]:
    """The archive's files (not the originals a move keeps, the trash or the lock)."""
    found = {}
    for p in sorted(out.rglob("*")) if out.exists() else []:
        s = str(p)
        if not p.is_file() or p == out / LOCK_NAME:
            continue
        if s.startswith((str(out / HOLD_DIR) + os.sep, str(out / TRASH_DIR) + os.sep)):
            continue
        found[s] = sha256(p)
    return found


def output_state(out: Path) -> dict[bytes, tuple[object, ...]]:
    return snapshot(out)


def _journal(w: World) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """target -> its last write record (with done/undone), and every record."""
    entries: dict[str, dict[str, Any]] = {}
    records: list[dict[str, Any]] = []
    for path in sorted((w.data / "journals").glob("*.jsonl")):
        for r in read_journal(str(path)):
            records.append(r)
            t = r.get("target")
            if r["type"] == "write":
                entries[t] = dict(r, done=False, undone=False)
            elif r["type"] == "done" and t in entries:
                entries[t]["done"] = True
            elif r["type"] == "undone" and t in entries:
                entries[t]["undone"] = True
    return entries, records


def check_journal_agrees(w: World, complete: bool) -> None:
    """Nothing unjournaled, no temporary file; with ``complete`` every journaled write is
    done and its file is there with the journaled hash."""
    kept = (str(w.out / HOLD_DIR) + os.sep, str(w.out / TRASH_DIR) + os.sep)
    partial = [  # (the originals a move keeps are the user's files, whatever their names)
        str(p)
        for p in w.out.rglob("*")
        if any(m in p.name for m in PARTIAL_MARKERS) and not str(p).startswith(kept)
    ]
    if partial and complete:
        _fail("temporary files left in the output", partial)
    entries, _ = _journal(w)
    sidecar_targets = {
        s["target"]: e for e in entries.values() for s in e.get("sidecars", ()) if s.get("target")
    }
    for path, digest in archive_files(w.out).items():
        if any(m in os.path.basename(path) for m in PARTIAL_MARKERS):
            continue
        e = entries.get(path)
        if e is None:
            if path in sidecar_targets or (path.endswith(".xmp") and path[:-4] in entries):
                continue
            _fail("a file in the output is in no journal", path)
        if e["undone"]:
            _fail("a file undone is still in the output", path)
        if complete and not e["done"]:
            _fail("a journaled write is not done after a completed apply", e)
        if e["output_sha256"] != digest:
            _fail("an output file's bytes differ from its journal", (path, e))
    if complete:
        for t, e in entries.items():
            if e["done"] and not e["undone"] and not os.path.exists(t) and e["action"] != "trash":
                _fail("a journaled, done output file is missing", t)


def check_once_in_archive(w: World) -> None:
    """No source content is written to the archive twice (across every run)."""
    entries, _ = _journal(w)
    live = archive_files(w.out)
    sources = Counter(
        e["source_sha256"]
        for t, e in entries.items()
        if t in live and e["action"] != "trash" and not e["undone"]
    )
    twice = [d for d, n in sources.items() if n > 1]
    if twice:
        _fail(
            "a source content is in the archive twice",
            sorted(t for t, e in entries.items() if e["source_sha256"] in twice and t in live),
        )


def check_after_apply(
    w: World, plan: dict[str, Any], rows: dict[int, _Row], move: bool, et: ExifTool
) -> None:
    """After a completed apply of ``plan`` (the plan made just before it)."""
    check_journal_agrees(w, complete=True)
    check_once_in_archive(w)
    live = archive_files(w.out)
    targets = {i["target"] for i in plan["items"]}
    missing = sorted(targets - set(live))
    if missing:
        _fail("a planned file is not in the output", missing)
    media_out = {p for p in live if not p.lower().endswith(SIDECAR_EXTS)}
    extra = sorted(media_out - targets)
    if extra:
        _fail("the output holds a media file the plan did not name", extra)
    check_dates(w, plan, rows, et)
    if move:
        check_sources_retrievable(w)
    elif snapshot(w.lib) != w.before:
        _fail("copy mode changed a source", _changed(w))


def _changed(w: World) -> list[bytes]:
    now = snapshot(w.lib)
    return sorted(k for k in set(now) | set(w.before) if now.get(k) != w.before.get(k))


def check_sources_retrievable(w: World) -> None:
    """Every source is at its place, or its original bytes are kept in the output's
    holding folder (or, a left-out duplicate, its trash)."""
    kept = Counter(
        sha256(p)
        for folder in (w.out / HOLD_DIR, w.out / TRASH_DIR)
        for p in folder.rglob("*")
        if p.is_file()
    )
    for path, digest in w.files.items():
        if os.path.exists(path) and sha256(path) == digest:
            continue
        if os.path.exists(path):
            _fail("a source was changed in place", path)
        pattern = glob.escape(str(w.out / HOLD_DIR)) + "/*" + glob.escape(path)
        trashed = glob.escape(str(w.out / TRASH_DIR)) + "/**"
        found = [p for p in glob.glob(pattern) if sha256(p) == digest]
        if not found and not (kept[digest] and glob.glob(trashed, recursive=True)):
            _fail("a moved source's original bytes are nowhere (not in .originals)", path)


def check_kill_leftovers(w: World, move: bool) -> None:
    """Right after a SIGKILL: nothing lost, nothing twice, no unjournaled file."""
    check_journal_agrees(w, complete=False)
    check_once_in_archive(w)
    if move:
        check_sources_retrievable(w)
    elif snapshot(w.lib) != w.before:
        _fail("a killed copy apply changed a source", _changed(w))


def check_undone(w: World, purged_sources: set[str] | None = None) -> None:
    """After undoing every run: no archive file left, every source back byte for byte;
    after a purge of the originals, ``purged_sources`` (those written) come back from the
    archive (with mediafix's metadata) and every other source byte for byte."""
    left = sorted(archive_files(w.out))
    if left:
        _fail("files left in the output after undo", left)
    if purged_sources is None:
        if snapshot(w.lib) != w.before:
            _fail("undo did not restore every source byte for byte", _changed(w))
        return
    now = snapshot(w.lib)
    if set(now) != set(w.before):
        _fail("a source is missing after purge + undo", sorted(set(w.before) ^ set(now)))
    for key in _changed(w):
        if os.fsdecode(os.path.join(os.fsencode(w.lib), key)) not in purged_sources:
            _fail("purge + undo changed a source whose original was not purged", key)


# -- dates --------------------------------------------------------------------------------------


def _dated(r: _Row) -> bool:
    return r.taken_at is not None and (r.date_source == "user" or not copy_date(r.date_source))


def _expected_names(
    r: _Row, owners: list[_Row], verdicts: list[_Row]
) -> list[tuple[str, Any, _Row]]:
    """(folder/base, naming row, verdict) the file would get from each of ``verdicts``
    (those of its unit, or the dates a person gave one of them), named after any member."""
    names = []
    for v in verdicts:
        naming = naming_for(v.date_precision, _dated(v))
        for who in owners:
            from mediafix.media.plan.model import PlanInput

            inp = PlanInput(who.id, who.path, "", "", who.sha256, who.kind, who.format or "", "")
            folder, base = naming.name(v.taken_at if _dated(v) else None, own_stem(inp), "undated")
            names.append((f"{folder}/{base}", naming, v))
    return names


def check_dates(w: World, plan: dict[str, Any], rows: dict[int, _Row], et: ExifTool) -> None:
    """Every written file's name agrees with a verdict of its unit (at its precision), and
    the date embedded in it agrees with the name."""
    by_path = {r.path: r for r in rows.values()}
    units: dict[str, list[_Row]] = defaultdict(list)
    for i in plan["items"]:
        units[_base(i["target"])].append(by_path[i["source"]])
    items = [i for i in plan["items"] if i["action"] == "copy" or i.get("skip_reason")]
    metas = et.read_metadata([i["target"] for i in items])
    sidecars = {i["target"]: i["metadata_sidecar"] for i in items if i.get("metadata_sidecar")}
    side_meta = dict(zip(sidecars.values(), et.read_metadata(list(sidecars.values())), strict=True))
    for item, meta in zip(items, metas, strict=True):
        row = by_path[item["source"]]
        target = item["target"]
        rel = os.path.relpath(target, w.out)
        ext = split_name(os.path.basename(target))[1]
        owners = units[_base(target)]
        match = None
        users = [o for o in owners if o.date_source == "user"]
        for name, naming, verdict in _expected_names(row, owners, users or owners):
            if re.fullmatch(re.escape(name) + r"(_\d+)?" + re.escape(ext), rel, re.S):
                match = (naming, verdict)
                break
        if match is None:
            _fail(
                "a written file's name agrees with no verdict of its unit"
                + (" (a date a person gave wins)" if users else ""),
                (rel, [(o.path, o.taken_at, o.date_precision, o.date_source) for o in owners]),
            )
        naming, verdict = match
        if naming.precision == "none":
            if meta.get("ExifIFD:DateTimeOriginal") and row.kind == "image":
                _fail("an undated file carries a date", (rel, meta.get("ExifIFD:DateTimeOriginal")))
            continue
        stamp = verdict.taken_at.strftime(naming.stamp)
        for side in item.get("sidecars", ()):
            if side["target"].endswith(".xmp"):
                (xmp,) = et.read_metadata([side["target"]])
                got = str(xmp.get("XMP-exif:DateTimeOriginal", ""))
                if not got.startswith(stamp):
                    _fail("a travelling XMP sidecar's date disagrees", (side["target"], got, stamp))
            elif sha256(side["target"]) != w.files.get(side["source"]):
                _fail("a Takeout sidecar was not copied as it is", side)
        if item.get("metadata_sidecar"):
            got = str(side_meta[item["metadata_sidecar"]].get("XMP-exif:DateTimeOriginal", ""))
            if not got.startswith(stamp):
                _fail("a RAW's XMP sidecar date disagrees with its name", (rel, got, stamp))
            continue
        if row.kind == "image" and row.format in ("jpeg", "png", "heic", "webp", "tiff"):
            got = meta.get("ExifIFD:DateTimeOriginal")
            if got != stamp:
                _fail(
                    "a written photo's DateTimeOriginal disagrees with its name", (rel, got, stamp)
                )
            if naming.coarse:
                kept = verdict.taken_at.strftime(naming.kept)
                got = str(meta.get("XMP-photoshop:DateCreated", ""))
                if got != kept:
                    _fail("a coarse date's precision is not kept in XMP", (rel, got, kept))
            for other in ("XMP-xmp:CreateDate", "XMP-exif:DateTimeOriginal", "IPTC:DateCreated"):
                if other in meta:
                    _fail(
                        "a contradicting date is left in a written photo", (rel, other, meta[other])
                    )
        elif row.kind == "video":
            got = str(meta.get("QuickTime:CreateDate", ""))
            utc = verdict.taken_at_utc
            allowed = {stamp} | (
                {utc.strftime("%Y:%m:%d %H:%M:%S")} if utc and not naming.coarse else set()
            )
            if got not in allowed:
                _fail(
                    "a written video's QuickTime date disagrees with its name", (rel, got, allowed)
                )
