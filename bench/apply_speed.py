"""Benchmark: `mediafix apply` (and `undo`) against `cp -r` + one exiftool batch (issue #20).

Run by hand (not a test), from the project folder:

    .venv/bin/python bench/apply_speed.py                 # 3,000 640x480 JPEGs
    .venv/bin/python bench/apply_speed.py --n 20000       # the library-scale run
    .venv/bin/python bench/apply_speed.py --mediafix OTHER/.venv/bin/mediafix   # another build

Generates N camera-like JPEGs (each with its own dates as a current camera writes them:
DateTimeOriginal, CreateDate, ModifyDate, OffsetTime*, SubSecTime*; a Make and a Model),
scans them into a fresh library once, then times, side by side, ``--rounds`` times each:

* the common way: ``cp -r`` of the folder, then one ``exiftool -overwrite_original
  -AllDates=...`` over the copy (one date for all, nothing verified, nothing fsynced, no
  journal, no undo);
* ``mediafix apply OUT`` through the command line (plan, copy, write each file's own dates,
  verify, fsync, journal), and ``mediafix undo`` of it.

It prints files/s and the ratio apply / common way (≤ 1.0: apply is at least as fast), with
the load average before and after (the machine is shared: compare figures taken in one run).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "mediafix-bench-apply"


def generate(n: int, python: str) -> Path:
    """N distinct 640x480 JPEGs, each dated a minute after the one before, in camera
    folders (``DCIM/100CANON``: no folder tags, so dates are all apply writes) (cached).

    Each carries the dates a current camera writes (the EOS R6's, or a phone's): ModifyDate,
    DateTimeOriginal and CreateDate, their OffsetTime* and SubSecTime* (centiseconds), so
    apply rewrites dates that are there, as it does on real photos."""
    folder = CACHE / f"dcim-camera-{n}"
    done = folder / ".complete"
    if done.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # Each picture its own random blocks, so no two are near-duplicates (the scan would
    # keep one of each group).
    code = r"""
import json, os, sys, time
import numpy as np
from PIL import Image
n, folder = int(sys.argv[1]), sys.argv[2]
start = 1_560_000_000
tags = []
for i in range(n):
    rng = np.random.default_rng(i)
    small = rng.integers(0, 255, (15, 20, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((640, 480), Image.Resampling.BICUBIC)
    path = os.path.join(folder, "DCIM", f"{100 + i // 1000}CANON", f"IMG_{i:05d}.jpg")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, "JPEG", quality=90)
    # Wall clock in Berlin (summer: UTC+2), as the camera's clock was set.
    stamp = time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(start + 60 * i + 7200))
    cs = f"{(37 * i) % 100:02d}"
    tags.append({
        "SourceFile": path, "Make": "Canon", "Model": "EOS R6",
        "ModifyDate": stamp, "DateTimeOriginal": stamp, "CreateDate": stamp,
        "OffsetTime": "+02:00", "OffsetTimeOriginal": "+02:00", "OffsetTimeDigitized": "+02:00",
        "SubSecTime": cs, "SubSecTimeOriginal": cs, "SubSecTimeDigitized": cs,
    })
with open(os.path.join(folder, "tags.json"), "w") as f:
    json.dump(tags, f)
"""
    subprocess.run([python, "-c", code, str(n), str(folder)], check=True)
    tags = folder / "tags.json"
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", f"-j={tags}", "-r", str(folder / "DCIM")],
        check=True,
    )
    tags.unlink()
    start = 1_560_000_000
    for i, path in enumerate(sorted((folder / "DCIM").rglob("*.jpg"))):
        os.utime(path, (start + 60 * i, start + 60 * i))
    done.touch()
    return folder


CPU: dict[str, list[float]] = {}  # CPU seconds (user + sys, the process tree) per row


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], env: dict[str, str] | None = None, row: str = "") -> float:
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run(args, check=True, env=env, stdout=subprocess.DEVNULL)
    if row:
        CPU.setdefault(row, []).append(_cpu() - cpu)
    return time.perf_counter() - start


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000, help="JPEGs to generate (default 3000)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each (default 2)")
    parser.add_argument(
        "--mediafix",
        default=str(ROOT / ".venv" / "bin" / "mediafix"),
        help="the mediafix program to time (default: this checkout's)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    mediafix = os.path.abspath(args.mediafix)
    python = str(Path(mediafix).with_name("python"))
    print(f"mediafix: {mediafix}; load average before: {load()}", flush=True)
    src = generate(args.n, python)
    work = Path(tempfile.mkdtemp(prefix="mediafix-bench-apply-"))
    env = {
        **os.environ,
        "MEDIAFIX_DATA_DIR": str(work / "data"),
        "MEDIAFIX_OUTPUT_DIR": str(work / "out"),
        "MEDIAFIX_TIMEZONE": "Europe/Berlin",
    }
    # Byte-compiled once, as an installed program is (else every command compiles anew).
    for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "PYTHONDONTWRITEBYTECODE"):
        env.pop(var, None)
    rows: dict[str, list[float]] = {"cp -r + exiftool batch": [], "mediafix apply": []}
    undo_times: list[float] = []
    try:
        scan_s = timed([mediafix, "scan", str(src)], env)
        print(f"scanned {args.n} files in {scan_s:.1f} s", flush=True)
        for r in range(args.rounds):
            copy = work / f"cp{r}"
            common = "cp -r + exiftool batch"
            cpu = _cpu()
            rows[common].append(
                timed(["cp", "-r", str(src), str(copy)])
                + timed(
                    [
                        "exiftool",
                        "-q",
                        "-r",
                        "-overwrite_original",
                        "-AllDates=2019:06:08 13:20:00",
                        str(copy),
                    ]
                )
            )
            CPU.setdefault(common, []).append(_cpu() - cpu)
            shutil.rmtree(copy)
            out = work / f"out{r}"
            rows["mediafix apply"].append(
                timed([mediafix, "apply", str(out)], env, "mediafix apply")
            )
            written = sum(1 for p in out.rglob("*.jpg"))
            if written != args.n:
                sys.exit(f"apply wrote {written} files, not {args.n}")
            undo_times.append(timed([mediafix, "undo"], env, "mediafix undo"))
            left = sum(1 for p in out.rglob("*.jpg"))
            if left:
                sys.exit(f"undo left {left} files")
            print(
                f"round {r + 1}: cp+exiftool {rows['cp -r + exiftool batch'][-1]:.1f} s, "
                f"apply {rows['mediafix apply'][-1]:.1f} s, undo {undo_times[-1]:.1f} s "
                f"(load {load()})",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    base = statistics.median(rows["cp -r + exiftool batch"])
    print()
    print(f"{args.n} JPEGs 640x480, median of {args.rounds} round(s), load after: {load()}")
    print("(ratio: seconds / the common way's; cpu s: user + sys of the whole process tree)")
    print(f"{'':28} {'seconds':>9} {'files/s':>9} {'ratio':>7} {'cpu s':>7}")
    for name, times in [*rows.items(), ("mediafix undo", undo_times)]:
        t = statistics.median(times)
        cpu = statistics.median(CPU[name])
        print(f"{name:28} {t:9.1f} {args.n / t:9.0f} {t / base:7.2f} {cpu:7.1f}")
    print("per round (s):", {name: [round(t, 1) for t in ts] for name, ts in rows.items()})


if __name__ == "__main__":
    main()
