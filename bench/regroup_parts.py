"""Benchmark: a regroup by parts against a full regroup (issue #20).

Run by hand (not a test), from the project folder:

    .venv/bin/python bench/regroup_parts.py               # 20,000 rows
    .venv/bin/python bench/regroup_parts.py --n 100000

It writes N rows straight into a fresh SQLite library (no files: grouping reads only the
rows), as a rescan leaves them: per 20 rows, 14 distinct pictures in clusters of alike ones,
3 byte-for-byte copies and 3 near copies. Then it times (CPU seconds of this process, and
wall) a full regroup, a regroup after ``--changes`` rows changed in one folder (half new
copies, half files changed in place) that goes by parts, and a full regroup of the same rows,
and checks that the last two made the same groups.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from mediafix.config import Settings
from mediafix.services.duplicates import regroup
from mediafix.store.db import dispose_engines, get_engine, session_scope, upgrade
from mediafix.store.models import DuplicateGroup, DuplicateMember, File


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _flips(rng: random.Random, count: int) -> int:
    value = 0
    for bit in rng.sample(range(64), count):
        value |= 1 << bit
    return value


def _row(rng: random.Random, n: int, folder: str, sha: str, phash: int) -> dict[str, Any]:
    name = f"IMG_{n:06d}.jpg"
    return {
        "root": "/lib",
        "rel_path": f"{folder}/{name}",
        "path": f"/lib/{folder}/{name}",
        "name": name,
        "kind": "image",
        "format": "JPEG",
        "size": 50_000 + n,
        "mtime": 1_600_000_000.0 + n,
        "sha256": sha,
        "phash": f"{phash:016x}",
        "detail_hash": None,
        "copy_keys": "",
        "width": 640,
        "height": 480,
        "status": "ready",
        "meta": {"EXIF:Make": "Canon"},
    }


def build(settings: Settings, n: int, rng: random.Random) -> list[int]:
    """N rows as described above; returns the ids of the pictures' first copies."""
    engine = get_engine(settings.database_url)
    centres = [rng.getrandbits(64) for _ in range(max(1, n // 200))]
    rows, pictures = [], []
    for k in range(n):
        folder = f"{k // 250:04d}"
        slot = k % 20
        if slot < 14 or not pictures:
            phash = rng.choice(centres) ^ _flips(rng, rng.randint(10, 24))
            pictures.append((f"{rng.getrandbits(256):064x}", phash))
            sha, value = pictures[-1]
        elif slot < 17:  # a byte copy
            sha, value = pictures[-rng.randint(1, 10)]
            folder = "backup/" + folder
        else:  # a near copy
            _sha, base = pictures[-rng.randint(1, 10)]
            sha, value = f"{rng.getrandbits(256):064x}", base ^ _flips(rng, rng.randint(0, 6))
            folder = "shared/" + folder
        rows.append(_row(rng, k, folder, sha, value))
    with session_scope(engine) as s:
        for start in range(0, len(rows), 5000):
            s.execute(insert(File), rows[start : start + 5000])
        return list(s.scalars(select(File.id).order_by(File.id)))


def change(settings: Settings, ids: list[int], count: int, rng: random.Random) -> None:
    """``count`` changes in one folder: half new byte copies, half files changed in place."""
    engine = get_engine(settings.database_url)
    with session_scope(engine) as s:
        sample = rng.sample(ids, count)
        new = []
        for n, file_id in enumerate(sample[: count // 2]):
            row = s.get(File, file_id)
            assert row is not None
            new.append(
                _row(rng, 10_000_000 + n, "extra", row.sha256 or "", int(row.phash or "0", 16))
            )
        s.execute(insert(File), new)
        for file_id in sample[count // 2 :]:
            s.execute(
                update(File)
                .where(File.id == file_id)
                .values(sha256=f"{rng.getrandbits(256):064x}", phash=f"{rng.getrandbits(64):016x}")
            )


def groups(settings: Settings) -> list[tuple[Any, ...]]:
    with session_scope(get_engine(settings.database_url)) as s:
        members: dict[int, list[tuple[int, bool, int]]] = {}
        for m in s.scalars(select(DuplicateMember)):
            members.setdefault(m.group_id, []).append((m.file_id, bool(m.keep), m.distance))
        return sorted(
            (
                (g.type, g.keeper_id, tuple(sorted(members[g.id])), g.reasons, g.status)
                for g in s.scalars(select(DuplicateGroup))
            ),
            key=repr,
        )


def timed(label: str, settings: Settings, *, full: bool) -> None:
    cpu, wall = _cpu(), time.perf_counter()
    summary = regroup(get_engine(settings.database_url), settings, by_parts=not full)
    print(
        f"  {label:<44} {time.perf_counter() - wall:7.2f} s {_cpu() - cpu:7.2f} cpu-s  "
        f"by parts: {summary.incremental}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="rows")
    parser.add_argument("--changes", type=int, default=20, help="rows changed")
    args = parser.parse_args()
    rng = random.Random(20)
    folder = Path(tempfile.mkdtemp(prefix="mediafix-regroup-"))
    settings = Settings(data_dir=folder / "data", output_dir=folder / "out")
    settings.ensure_dirs()
    upgrade(settings.database_url)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    ids = build(settings, args.n, rng)
    print(f"{len(ids)} rows in {settings.database_url}")
    timed("full regroup", settings, full=True)
    timed("regroup, nothing changed", settings, full=False)
    change(settings, ids, args.changes, rng)
    timed(f"regroup after {args.changes} changes (by parts)", settings, full=False)
    by_parts = groups(settings)
    timed("full regroup of the same rows", settings, full=True)
    assert groups(settings) == by_parts, "a regroup by parts made other groups"
    print("  the same groups both ways")
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    dispose_engines()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
