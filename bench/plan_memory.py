"""Benchmark: peak memory of `mediafix plan --json` and `mediafix apply` at 100,000 files
(issue #20: the whole process tree under 300 MB), without scanning 100,000 files.

Run by hand (not a test), from the project folder:

    .venv/bin/python bench/plan_memory.py                    # 100,000 files
    .venv/bin/python bench/plan_memory.py --n 20000 --skip-apply
    .venv/bin/python bench/plan_memory.py --mediafix OTHER/.venv/bin/mediafix   # another build

It makes one tiny camera-like JPEG (32x24, with the dates a current camera writes:
DateTimeOriginal, CreateDate, ModifyDate, OffsetTime*, SubSecTime*), scans it into a fresh
library, then writes N distinct copies of it (a COM segment with a counter after its EXIF:
each its own sha256, about 1.5 KB) in folders of 250, and adds one library row per copy,
cloned from the scanned row (its own path, hash and capture time, a minute apart): the
library a scan of N camera photos gives, in a minute instead of hours. Every tenth copy is
also in a ``backup`` folder, byte for byte, as an exact duplicate group whose keeper is the
original (the copy is discarded). Then, each as its own process, it takes the wall and CPU
time and the peak RSS of the whole process tree (``bench/scale.py``'s sampler, every 50 ms)
of ``plan --json`` and ``apply`` (all N written and verified), and prints MB per 10,000 files
beyond the start-up (``mediafix --version``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from scale import Run, _become_subreaper, fresh_env, load, run  # noqa: E402

START = datetime(2016, 5, 1, 8, 0, 0)
PER_FOLDER = 250


def template(work: Path, python: str) -> Path:
    """One tiny JPEG carrying every date a current camera writes (exiftool puts them in)."""
    path = work / "template" / "IMG_template.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys; from PIL import Image; "
        "Image.new('RGB', (32, 24), (90, 140, 200)).save(sys.argv[1], 'JPEG', quality=80)"
    )
    subprocess.run([python, "-c", code, str(path)], check=True)
    stamp = START.strftime("%Y:%m:%d %H:%M:%S")
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-Make=Canon",
            "-Model=EOS R6",
            f"-ModifyDate={stamp}",
            f"-DateTimeOriginal={stamp}",
            f"-CreateDate={stamp}",
            "-OffsetTime=+02:00",
            "-OffsetTimeOriginal=+02:00",
            "-OffsetTimeDigitized=+02:00",
            "-SubSecTime=42",
            "-SubSecTimeOriginal=42",
            "-SubSecTimeDigitized=42",
            str(path),
        ],
        check=True,
    )
    return path


def _with_counter(data: bytes, i: int) -> bytes:
    """``data`` with a COM segment holding ``i`` after its APP segments (its own sha256)."""
    pos = 2
    while data[pos + 1] in range(0xE0, 0xF0):  # APPn
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    text = f"copy {i:08d}".encode()
    com = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    return data[:pos] + com + data[pos:]


def library(n: int, src: Path, db: Path, tpl: Path) -> int:
    """Write the N files and their rows (cloned from the template's scanned row)."""
    data = tpl.read_bytes()
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    (row,) = conn.execute("SELECT * FROM files WHERE path = ?", (str(tpl),)).fetchall()
    columns = list(row.keys())
    proto = dict(row)
    conn.execute("DELETE FROM files")
    conn.execute("DELETE FROM duplicate_members")
    conn.execute("DELETE FROM duplicate_groups")
    offset = timedelta(minutes=proto["utc_offset"] or 0)
    rows: list[tuple[object, ...]] = []
    copies: list[tuple[int, int]] = []  # (original's row number, copy's row number)

    def add(path: Path, blob: bytes, when: datetime) -> None:
        st = path.stat()
        values = dict(
            proto,
            id=len(rows) + 1,
            root=str(src),
            rel_path=str(path.relative_to(src)),
            path=str(path),
            name=path.name,
            size=len(blob),
            mtime=st.st_mtime,
            sha256=hashlib.sha256(blob).hexdigest(),
            taken_at=when.isoformat(sep=" "),
            taken_at_utc=(when - offset).isoformat(sep=" "),
            status="ready",
            output_path=None,
        )
        rows.append(tuple(values[c] for c in columns))

    for i in range(n):
        folder = src / f"{i // PER_FOLDER:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        when = START + timedelta(minutes=i)
        blob = _with_counter(data, i)
        path = folder / f"IMG_{i:06d}.jpg"
        path.write_bytes(blob)
        add(path, blob, when)
        if i % 10 == 0:
            backup = src / "backup" / folder.name
            backup.mkdir(parents=True, exist_ok=True)
            (backup / path.name).write_bytes(blob)
            add(backup / path.name, blob, when)
            copies.append((len(rows) - 1, len(rows)))  # 1-based ids: original, copy
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f"INSERT INTO files ({', '.join(columns)}) VALUES ({marks})", rows)
    group_columns = [c[1] for c in conn.execute("PRAGMA table_info(duplicate_groups)")]
    for keeper, copy in copies:
        values = {"type": "exact", "keeper_id": keeper, "status": "resolved", "reasons": "[]"}
        names = [c for c in values if c in group_columns]
        cur = conn.execute(
            f"INSERT INTO duplicate_groups ({', '.join(names)}) VALUES "
            f"({', '.join('?' for _ in names)})",
            [values[c] for c in names],
        )
        conn.executemany(
            "INSERT INTO duplicate_members (group_id, file_id, keep, distance) VALUES (?, ?, ?, 0)",
            [(cur.lastrowid, keeper, 1), (cur.lastrowid, copy, 0)],
        )
    conn.commit()
    conn.close()
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="photos (plus a tenth as copies)")
    parser.add_argument(
        "--mediafix", default=str(ROOT / ".venv" / "bin" / "mediafix"), help="the command"
    )
    parser.add_argument("--skip-apply", action="store_true", help="only plan --json")
    parser.add_argument("--keep", type=Path, help="work in this folder and leave it there")
    args = parser.parse_args()
    mf = os.path.abspath(args.mediafix)
    _become_subreaper()
    print(f"load average before: {load()}; {mf}", flush=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="mediafix-planmem-"))
    work.mkdir(parents=True, exist_ok=True)
    data, output, src = work / "data", work / "out", work / "src"
    for d in (data, output, src):
        shutil.rmtree(d, ignore_errors=True)
    env = fresh_env(mf, data, output, os.cpu_count() or 1)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    tpl = template(work, sys.executable)
    subprocess.run([mf, "scan", str(tpl.parent)], env=env, check=True, stdout=subprocess.DEVNULL)
    files = library(args.n, src, data / "mediafix.db", tpl)
    print(f"{files} files and rows in {time.perf_counter() - t0:.0f} s", flush=True)

    base = run([mf, "--version"], env)
    rows: list[tuple[str, Run]] = [("mediafix --version (start-up)", base)]
    print(f"  {'start-up':<14} {base.seconds:8.2f} s {base.cpu:8.2f} cpu-s {base.peak_mb:6.0f} MB")

    def measure(label: str, cmd: list[str]) -> None:
        r = run(cmd, env)
        rows.append((label, r))
        per10k = (r.peak_mb - base.peak_mb) / files * 10_000
        print(
            f"  {label:<14} {r.seconds:8.2f} s {r.cpu:8.2f} cpu-s {r.peak_mb:6.0f} MB "
            f"({per10k:.1f} MB per 10k files beyond start-up)",
            flush=True,
        )

    measure("plan --json", [mf, "plan", "--json", "--include-review"])
    if not args.skip_apply:
        measure("apply", [mf, "apply", str(output)])
        written = sum(len(f) for _, _, f in os.walk(output))
        print(f"  {written} files in the output")
    print(f"\nload average after: {load()}\n")
    print(f"| measure ({files} files) | wall s | CPU s | peak RSS of the tree (MB) |")
    print("|---|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r.seconds:.2f} | {r.cpu:.2f} | {r.peak_mb:.0f} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
