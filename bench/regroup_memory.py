"""Benchmark: a regroup's peak memory and CPU at 100,000 files, code against code (issue #20).

Run by hand (not a test), from the project folder:

    .venv/bin/python bench/regroup_memory.py                       # 100,000 rows, this tree
    .venv/bin/python bench/regroup_memory.py --code before=/tmp/base/src --code after=src

The library (built once, cached in the temp folder by ``--n``): a SQLite database with N
file rows as a scan leaves them, no files on disk (grouping reads the rows; the pixel
checks find no file and skip, so every candidate that matters has a remembered verdict).
Per 20 rows: 14 distinct pictures in clusters of alike ones, 3 byte-for-byte copies, 3 near
copies; one row in 100 is a video (a few of them re-encoded copies). Each picture has a
256-bit detail hash and copy keys made like real ones (``hard_copies_scale.synthetic``: keys
a few bits from the first hash, an unrelated mirror key); one picture in 50 has a hard copy
(its keys close, its first hash far), and every candidate pair of the library has a
remembered pixel-check verdict (``copy_checks`` rows, as a previous regroup leaves them).
Each row carries an exiftool ``meta`` of 30 tags (~1.2 kB, as a phone photo gives).

For each ``--code`` (a ``src`` folder: ``PYTHONPATH`` of a fresh process) it copies the
database, runs in a child process a full regroup, then a regroup by parts after
``--changes`` rows changed, and prints per step the CPU seconds and the peak RSS of the
child (the kernel's high-water mark, VmHWM, from the child's start: the regroup runs in
one process), the longest time another connection could not take SQLite's write lock
during it (a person's decision would have waited that long; past 30 s it fails), the
groups made, and whether every code made the same groups (type, keeper, members with
distance and keep, reasons, status).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "mediafix-bench-regroupmem"
SEED = 20261207
KEY_NAMES = ("m", "c", "l", "r", "u", "d", "p", "n")


def _flip(rng: random.Random, value: int, low: int, high: int) -> int:
    for bit in rng.sample(range(64), rng.randint(low, high)):
        value ^= 1 << bit
    return value


def _keys(rng: random.Random, first: int) -> str:
    """Copy keys as ``hard_copies_scale.synthetic`` makes them: windows and centre a few bits
    from the first hash, the mirror key unrelated; most photos have no bars (no ``t``)."""
    parts = []
    for name in KEY_NAMES:
        value = rng.getrandbits(64) if name == "m" else _flip(rng, first, 6, 19)
        parts.append(f"{name}:{value:016x}")
    return " ".join(parts)


def _meta(rng: random.Random, n: int, when: datetime, make: str, model: str) -> dict[str, Any]:
    stamp = when.strftime("%Y:%m:%d %H:%M:%S")
    return {
        "SourceFile": f"/lib/x/IMG_{n:06d}.JPG",
        "File:FileType": "JPEG",
        "File:FileTypeExtension": "JPG",
        "File:MIMEType": "image/jpeg",
        "File:ImageWidth": 4032,
        "File:ImageHeight": 3024,
        "ExifIFD:ExifImageWidth": 4032,
        "ExifIFD:ExifImageHeight": 3024,
        "IFD0:Orientation": 1,
        "IFD0:Make": make,
        "IFD0:Model": model,
        "IFD0:Software": "16.1",
        "ExifIFD:LensModel": f"{model} back camera 4.15mm f/2.2",
        "XMP-exifEX:LensModel": f"{model} back camera 4.15mm f/2.2",
        "GPS:GPSLatitude": round(rng.uniform(-80, 80), 6),
        "Composite:GPSLatitude": round(rng.uniform(-80, 80), 6),
        "GPS:GPSLongitude": round(rng.uniform(-170, 170), 6),
        "Composite:GPSLongitude": round(rng.uniform(-170, 170), 6),
        "ExifIFD:DateTimeOriginal": stamp,
        "ExifIFD:SubSecTimeOriginal": rng.randint(0, 999),
        "ExifIFD:CreateDate": stamp,
        "XMP-xmp:CreateDate": stamp,
        "IFD0:ModifyDate": stamp,
        "XMP-xmp:ModifyDate": stamp,
        "XMP-photoshop:DateCreated": stamp,
        "IPTC:DateCreated": stamp[:10],
        "IPTC:TimeCreated": stamp[11:],
        "GPS:GPSDateStamp": stamp[:10],
        "GPS:GPSTimeStamp": stamp[11:],
        "Composite:DateTimeCreated": stamp,
    }


CAMERAS = [
    ("Apple", "iPhone 12"),
    ("Apple", "iPhone 8"),
    ("samsung", "SM-G991B"),
    ("Canon", "EOS 80D"),
]


def _rows(n: int, rng: random.Random, crowded_slots: int = 2) -> list[dict[str, Any]]:
    start = datetime(2012, 1, 1, 9, 0, 0)
    centres = [rng.getrandbits(64) for _ in range(max(1, n // 200))]
    # plain, alike pictures (documents, screenshots of one app, night shots): close together
    crowded = [
        rng.getrandbits(64) for _ in range(max(1, n // (2000 if crowded_slots == 2 else 25000)))
    ]
    copied: dict[str, str] = {}  # a hard copy's sha -> its original's
    pictures: list[tuple[str, int, str, int | None]] = []  # sha, phash, keys, detail
    rows: list[dict[str, Any]] = []
    for k in range(n):
        folder = f"{k // 250:04d}"
        slot = k % 20
        when = start + timedelta(minutes=7 * k)
        make, model = CAMERAS[k % len(CAMERAS)]
        kind, fmt, ext = "image", "JPEG", "jpg"
        meta = _meta(rng, k, when, make, model)
        if k % 100 == 99:  # a video: four frames' hashes
            kind, fmt, ext = "video", "MP4", "mp4"
            if k % 300 == 299 and rows and rows[-100]["kind"] == "video":
                base = rows[-100]
                phash = "".join(
                    f"{_flip(rng, int(base['phash'][i : i + 16], 16), 0, 3):016x}"
                    for i in range(0, 64, 16)
                )
                meta["QuickTime:Duration"] = base["meta"]["QuickTime:Duration"]
            else:
                phash = "".join(f"{rng.getrandbits(64):016x}" for _ in range(4))
                meta["QuickTime:Duration"] = round(rng.uniform(2, 90), 2)
            sha, keys, detail = f"{rng.getrandbits(256):064x}", None, None
        elif slot < 14 or not pictures:
            if slot < crowded_slots:
                value = rng.choice(crowded) ^ _flip(rng, 0, 9, 14)
            else:
                value = rng.choice(centres) ^ _flip(rng, 0, 10, 24)
            detail = rng.getrandbits(256)
            pictures.append((f"{rng.getrandbits(256):064x}", value, _keys(rng, value), detail))
            sha, value, keys, detail = pictures[-1]
            phash = f"{value:016x}"
            if k % 50 == 0 and len(pictures) > 1:  # a hard copy of the picture before
                original, other, _k, _d = pictures[-2]
                keys = _keys(rng, other)
                copied[sha] = original
                folder = "screenshots/" + folder
        elif slot < 17:  # a byte copy
            sha, value, keys, detail = pictures[-rng.randint(1, min(10, len(pictures)))]
            phash = f"{value:016x}"
            folder = "backup/" + folder
        else:  # a near copy (re-encoded: another detail hash a few bits off)
            _sha, base, _old_keys, base_detail = pictures[-rng.randint(1, min(10, len(pictures)))]
            value = _flip(rng, base, 0, 6)
            sha, phash, keys = f"{rng.getrandbits(256):064x}", f"{value:016x}", _keys(rng, value)
            detail = None if base_detail is None else base_detail ^ rng.getrandbits(8)
            folder = "shared/" + folder
            meta = {k2: v for k2, v in meta.items() if k2.startswith("File:")}
        name = f"IMG_{k:06d}.{ext}"
        rows.append(
            {
                "root": "/lib",
                "rel_path": f"{folder}/{name}",
                "path": f"/lib/{folder}/{name}",
                "name": name,
                "kind": kind,
                "format": fmt,
                "ext": ext,
                "size": 1_500_000 + rng.randint(0, 3_000_000),
                "mtime": 1_600_000_000.0 + k,
                "sha256": sha,
                "phash": phash,
                "detail_hash": None if detail is None else f"{detail:064x}",
                "copy_keys": keys,
                "width": 4032,
                "height": 3024,
                "make": make if "IFD0:Make" in meta else None,
                "model": model if "IFD0:Model" in meta else None,
                "taken_at": when,
                "taken_at_utc": when - timedelta(hours=1),
                "status": "ready",
                "meta": meta,
            }
        )
    for r in rows:
        r["original"] = copied.get(r["sha256"])
    return rows


def build(n: int, crowded: int = 2) -> Path:
    """The cached library of ``n`` rows (built with this tree's code)."""
    folder = CACHE / (str(n) if crowded == 2 else f"{n}-crowded{crowded}")
    database = folder / "data" / "mediafix.db"
    if database.exists():
        return database
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np
    from sqlalchemy import insert

    from mediafix.config import Settings
    from mediafix.media import copycheck
    from mediafix.media.copycheck import Verdict
    from mediafix.media.fingerprint import DEFAULT_THRESHOLD
    from mediafix.services.copies import _candidates
    from mediafix.store.db import dispose_engines, get_engine, session_scope, upgrade
    from mediafix.store.models import CopyCheck, File

    scratch = folder.with_name(f"{folder.name}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    settings = Settings(data_dir=scratch / "data", output_dir=scratch / "out")
    settings.ensure_dirs()
    assert Path(settings.database_url.split("///", 1)[1]).name == database.name
    upgrade(settings.database_url)
    rng = random.Random(SEED)
    rows = _rows(n, rng, crowded)
    engine = get_engine(settings.database_url)
    with session_scope(engine) as s:
        for start in range(0, len(rows), 5000):
            s.execute(
                insert(File),
                [
                    {k: v for k, v in r.items() if k != "original"}
                    for r in rows[start : start + 5000]
                ],
            )
    # every candidate of the distinct pictures gets a remembered verdict, as after a regroup
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["kind"] == "image":
            seen.setdefault(r["sha256"], r)
    pictures = list(seen.values())

    class Row:
        def __init__(self, r: dict[str, Any]) -> None:
            self.copy_keys, self.sha256, self.path = r["copy_keys"], r["sha256"], r["path"]

    hashes = np.array([int(r["phash"], 16) for r in pictures], dtype=np.uint64)
    details = [int(r["detail_hash"], 16) if r["detail_hash"] else None for r in pictures]
    found = _candidates([Row(r) for r in pictures], hashes, details, DEFAULT_THRESHOLD)  # type: ignore[arg-type]
    checks = []
    for i, j, _d in found.rows().tolist():
        a, b = sorted((pictures[i]["sha256"], pictures[j]["sha256"]))
        same = pictures[i]["original"] == pictures[j]["sha256"] or (
            pictures[j]["original"] == pictures[i]["sha256"]
        )
        verdict = (
            Verdict(True, edited="a", kinds=["cropped"], inliers=80, detail_distance=40)
            if same
            else Verdict(False, inliers=3, why_not="too few matching points")
        )
        checks.append(
            {
                "sha256": a,
                "other_sha256": b,
                "version": copycheck.CHECK_VERSION,
                "verdict": verdict.to_json(),
            }
        )
    with session_scope(engine) as s:
        for start in range(0, len(checks), 5000):
            s.execute(insert(CopyCheck), checks[start : start + 5000])
    engine.dispose()
    dispose_engines()
    with contextlib.closing(sqlite3.connect(scratch / "data" / database.name)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all in the file: it is copied alone
    print(f"built {n:,} rows, {len(checks):,} remembered pixel checks in {database}", flush=True)
    os.replace(scratch, folder)
    return database


# -- the child: one step of one code on one database -----------------------------------


def _peak_mb() -> float:
    """This process's peak RSS since it began or since ``_reset_peak`` (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    # A child's high-water mark starts at its parent's (fork copies the memory map): reset
    # it, or a child of a large parent reports the parent's peak.
    Path("/proc/self/clear_refs").write_text("5")


class LockProbe(threading.Thread):
    """Another connection that tries to take SQLite's write lock every 20 ms (without
    waiting): the longest stretch it could not is how long a person's decision would have
    waited during the regroup."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.done = threading.Event()
        self.longest = 0.0

    def run(self) -> None:
        conn = sqlite3.connect(self.database, timeout=0, isolation_level=None)
        since: float | None = None
        while not self.done.is_set():
            now = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                since = None
            except sqlite3.OperationalError:
                since = now if since is None else since
                self.longest = max(self.longest, now - since)
            self.done.wait(0.02)
        conn.close()

    def stop(self) -> None:
        self.done.set()
        self.join()


def group_lines(s: Any) -> list[str]:
    """Every group of session ``s``'s library as a line, sorted: type, keeper, members
    (file, keep, distance), reasons, status; the same for two regroups that make the same
    groups, whatever their ids."""
    from sqlalchemy import select

    from mediafix.store.models import DuplicateGroup, DuplicateMember

    members: dict[int, list[tuple[int, bool, int]]] = {}
    query = select(
        DuplicateMember.group_id,
        DuplicateMember.file_id,
        DuplicateMember.keep,
        DuplicateMember.distance,
    )
    for gid, fid, keep, distance in s.execute(query):
        members.setdefault(gid, []).append((fid, bool(keep), distance))
    return sorted(
        repr((t, k, sorted(members.get(g, [])), r, st))
        for g, t, k, r, st in s.execute(
            select(
                DuplicateGroup.id,
                DuplicateGroup.type,
                DuplicateGroup.keeper_id,
                DuplicateGroup.reasons,
                DuplicateGroup.status,
            )
        )
    )


def child(data: str, step: str, changes: int) -> None:
    _reset_peak()
    import resource

    from sqlalchemy import select, update

    from mediafix.config import Settings
    from mediafix.services.duplicates import regroup
    from mediafix.store.db import get_engine, session_scope
    from mediafix.store.models import File

    settings = Settings(data_dir=Path(data) / "data", output_dir=Path(data) / "out")
    engine = get_engine(settings.database_url)
    if step == "parts":  # a rescan that found ``changes`` files changed (in place)
        rng = random.Random(SEED + 1)
        with session_scope(engine) as s:
            ids = list(s.scalars(select(File.id).where(File.kind == "image")))
            for file_id in rng.sample(ids, changes):
                s.execute(
                    update(File)
                    .where(File.id == file_id)
                    .values(sha256=f"{rng.getrandbits(256):064x}", size=File.size + 1)
                )
    probe = LockProbe(Path(data) / "data" / "mediafix.db")
    probe.start()
    before = resource.getrusage(resource.RUSAGE_SELF)
    summary = regroup(engine, settings, by_parts=step == "parts")
    after = resource.getrusage(resource.RUSAGE_SELF)
    probe.stop()
    peak = _peak_mb()
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    digest = hashlib.blake2b(digest_size=12)
    with session_scope(engine) as s:
        groups = group_lines(s)
    for line in groups:
        digest.update(line.encode())
    print(
        json.dumps(
            {
                "cpu": cpu,
                "maxrss_mb": peak,
                "locked": probe.longest,
                "groups": len(groups),
                "hard": summary.hard_copies,
                "incremental": summary.incremental,
                "digest": digest.hexdigest(),
            }
        )
    )


def run(src: Path, data: Path, step: str, changes: int) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="1")
    began = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(data), "--step", step, "--changes", str(changes)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"{src} {step} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - began
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="rows")
    parser.add_argument(
        "--crowded",
        type=int,
        default=2,
        help="of every 20 rows, how many are plain alike pictures (more: many more candidates)",
    )
    parser.add_argument("--changes", type=int, default=50, help="rows changed before by parts")
    parser.add_argument("--code", action="append", default=[], metavar="LABEL=SRC")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.step, args.changes)
        return
    codes = [c.split("=", 1) for c in args.code] or [["this", str(ROOT / "src")]]
    database = build(args.n, args.crowded)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"{'code':<10} {'step':<22} {'CPU s':>7} {'wall s':>7} {'peak RSS MB':>12} "
        f"{'locked s':>9} {'groups':>7} {'hard':>5}  digest"
    )
    digests: dict[str, set[str]] = {}
    for label, src in codes:
        data = Path(tempfile.mkdtemp(prefix="mediafix-regroupmem-"))
        try:
            (data / "data").mkdir()
            shutil.copy(database, data / "data" / database.name)
            for step, name in (
                ("full", "full regroup"),
                ("parts", f"by parts, {args.changes} changed"),
            ):
                r = run(Path(src).resolve(), data, step, args.changes)
                digests.setdefault(step, set()).add(r["digest"])
                print(
                    f"{label:<10} {name:<22} {r['cpu']:7.2f} {r['wall']:7.2f} "
                    f"{r['maxrss_mb']:12.0f} {r['locked']:9.1f} {r['groups']:7d} {r['hard']:5d}  "
                    f"{r['digest']}"
                    f"{'' if step == 'full' or r['incremental'] else '  (regrouped all)'}",
                    flush=True,
                )
        finally:
            shutil.rmtree(data, ignore_errors=True)
    same = all(len(d) == 1 for d in digests.values())
    print("the same groups with every code" if same else "THE GROUPS DIFFER between codes")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
