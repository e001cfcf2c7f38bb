"""Benchmark: mediafix at library scale, beside the plain tools (issue #20).

Run by hand (not a test), from the project folder:

    .venv/bin/python bench/scale.py                  # 20,000 generated files
    .venv/bin/python bench/scale.py --n 100000       # by hand: long
    .venv/bin/python bench/scale.py --mediafix OTHER/.venv/bin/mediafix   # another checkout

It generates N small JPEGs (640x480 unless ``--size``; cached in the temp folder between
runs): per 20 files, 14 camera originals with an EXIF date (and make, model, an offset on
every other one), 2 byte-for-byte copies in a ``backup`` folder, 2 resized copies without
metadata in a ``shared`` folder and 2 photos dated only by their name. Then, each as its own
process on a fresh data folder, it times, takes the CPU time and the peak RSS of the whole
process tree (the sum of every process's resident memory, sampled every 50 ms) of:

* ``mediafix scan`` (files/s), an unchanged rescan (seconds per 10,000 files beyond the
  start-up of a scan of an empty folder), a rescan after changing 1 % of the files,
  ``dupes --json``, ``plan --json``, ``apply`` and ``undo``;
* the start-up: ``mediafix --version``, ``inspect --json`` of one file, a fresh library
  database (``db upgrade``), best of three;
* the plain tools on the same files: ``jdupes -r`` (exact groups), ``exiftool -r -json`` of
  the date tags, and ``cp -r`` followed by one exiftool batch that writes each file's dates.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / "mediafix-bench-scale"
PER_FOLDER = 250
SIZE = (640, 480)
DATE_TAGS = [
    "-DateTimeOriginal",
    "-CreateDate",
    "-ModifyDate",
    "-OffsetTimeOriginal",
    "-SubSecTimeOriginal",
    "-GPSDateStamp",
    "-GPSTimeStamp",
    "-FileModifyDate",
]
START = datetime(2015, 3, 1, 9, 0, 0)
_NOISE = None

# -- the files -------------------------------------------------------------------------


def _photo(seed: int, size: tuple[int, int] = SIZE):  # type: ignore[no-untyped-def]
    """A photo-like image: smooth random shapes plus sensor-like noise (distinct pHash)."""
    import numpy as np
    from PIL import Image

    global _NOISE
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)
    base = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    if _NOISE is None or _NOISE.shape[:2] != (size[1], size[0]):
        # one noise field per process: the shapes make each picture distinct, the noise
        # only gives the encoder photo-like work
        _NOISE = np.random.default_rng(0).integers(-5, 6, (size[1], size[0], 3), dtype=np.int16)
    arr = np.clip(np.asarray(base, dtype=np.int16) + _NOISE, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def _exif(when: datetime, n: int) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Canon" if n % 3 else "Apple"
    exif[0x0110] = "EOS R6" if n % 3 else "iPhone 12"
    exif[0x0132] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = when.strftime("%Y:%m:%d %H:%M:%S")
    sub[0x9004] = when.strftime("%Y:%m:%d %H:%M:%S")
    if n % 2:
        sub[0x9011] = "+02:00"
    return exif.tobytes()


def _make_group(args: tuple[Path, int, tuple[int, int]]) -> int:
    """Files g*20 .. g*20+19 (see the module docstring)."""
    from PIL import Image

    src, g, size = args
    folder = src / f"{g * 20 // PER_FOLDER:04d}"
    backup = src / "backup" / folder.name
    shared = src / "shared" / folder.name
    for d in (folder, backup, shared):
        d.mkdir(parents=True, exist_ok=True)
    originals = []
    for k in range(14):
        n = g * 20 + k
        when = START + timedelta(minutes=37 * n)
        path = folder / f"IMG_{n:06d}.jpg"
        _photo(n, size).save(path, "JPEG", quality=85, exif=_exif(when, n))
        originals.append(path)
    for k in (0, 1):  # byte copies
        shutil.copy2(originals[k], backup / originals[k].name)
    for k in (2, 3):  # resized, metadata gone (a messenger's copy)
        with Image.open(originals[k]) as im:
            im.resize((size[0] // 2, size[1] // 2)).save(
                shared / f"shared_{originals[k].stem}.jpg", quality=70
            )
    for k in (18, 19):  # dated by their name only
        n = g * 20 + k
        when = START + timedelta(minutes=37 * n)
        _photo(n, size).save(folder / f"IMG_{when:%Y%m%d_%H%M%S}.jpg", "JPEG", quality=85)
    return 20


def generate(n: int, size: tuple[int, int] = SIZE) -> Path:
    tag = "" if size == SIZE else f"-{size[0]}x{size[1]}"
    src = CACHE / f"files-{n}{tag}"
    done = CACHE / f"files-{n}{tag}.done"
    if done.exists():
        return src
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_make_group, [(src, g, size) for g in range(n // 20)], chunksize=16))
    done.touch()
    return src


# -- measuring ---------------------------------------------------------------------------


def _tree(root: int) -> set[int]:
    """``root`` and every descendant (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == p and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return tree


def _rss(tree: set[int]) -> int:
    """The resident bytes of the processes in ``tree`` now."""
    total = 0
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * page
        except OSError:
            continue
    return total


def _become_subreaper() -> None:
    """Orphans of the measured tree (a pool worker's exiftool outlives its worker) become
    this process's children, so their CPU time is collected with ``wait4`` too."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans(limit: float = 15.0) -> float:
    """Wait for the orphans left behind; their CPU seconds."""
    cpu, deadline = 0.0, time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.02)
            continue
        cpu += usage.ru_utime + usage.ru_stime
    return cpu


@dataclass
class Run:
    seconds: float
    peak_mb: float
    output: str
    cpu: float = 0.0  # user + system seconds of the whole tree (wait4, orphans reaped)


def run(cmd: list[str], env: dict[str, str] | None = None, *, shell: bool = False) -> Run:
    """Run ``cmd``, timing it and sampling its process tree's RSS every 50 ms."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd if not shell else " ".join(cmd),
        env=env,
        shell=shell,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss(_tree(proc.pid)))
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    # wait4, not communicate: its rusage is the CPU time of the process and every
    # descendant waited for, which a busy shared machine does not inflate as it does wall
    # time; orphans are reaped apart
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    text = out.decode("utf-8", "replace")
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd)[:120]} exited {proc.returncode}:\n{text[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime + _reap_orphans()
    return Run(seconds, peak / 1e6, text, cpu)


def best_of(k: int, cmd: list[str], env: dict[str, str]) -> Run:
    return min((run(cmd, env) for _ in range(k)), key=lambda r: r.seconds)


def fresh_env(mediafix: str, data: Path, output: Path, workers: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        MEDIAFIX_DATA_DIR=str(data),
        MEDIAFIX_OUTPUT_DIR=str(output),
        MEDIAFIX_TIMEZONE="Europe/Berlin",
        MEDIAFIX_WORKERS=str(workers),
        COLUMNS="200",
    )
    env.pop("MEDIAFIX_DATABASE_URL", None)
    return env


def change_some(src: Path, share: float) -> int:
    """Touch ``share`` of the originals (a new mtime) and add as many new files."""
    originals = sorted(src.glob("0*/IMG_0*.jpg"))
    step = max(1, int(1 / share))
    touched = originals[::step]
    later = time.time() + 5
    for p in touched:
        os.utime(p, (later, later))
    extra = src / "extra"
    shutil.rmtree(extra, ignore_errors=True)
    extra.mkdir()
    for i, p in enumerate(touched):
        shutil.copy2(p, extra / f"again_{i}.jpg")
    return 2 * len(touched)


def undo_changes(src: Path) -> None:
    shutil.rmtree(src / "extra", ignore_errors=True)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="files to generate (20 per group)")
    parser.add_argument("-w", "--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--mediafix", default=str(ROOT / ".venv" / "bin" / "mediafix"), help="the command"
    )
    parser.add_argument(
        "--size", default="640x480", help="pixels of the originals (smaller: quicker to make)"
    )
    parser.add_argument("--skip-apply", action="store_true", help="no apply, undo, cp+exiftool")
    parser.add_argument("--keep", type=Path, help="work in this folder and leave it there")
    args = parser.parse_args()
    mf = args.mediafix
    _become_subreaper()

    print(f"load average before: {load()}; {args.workers} workers; {mf}")
    t0 = time.perf_counter()
    size = tuple(int(x) for x in args.size.split("x"))
    src = generate(args.n, (size[0], size[1]))
    n_files = sum(len(f) for _, _, f in os.walk(src))
    print(f"{n_files} files in {src} (generated or cached in {time.perf_counter() - t0:.0f} s)")
    work = args.keep or Path(tempfile.mkdtemp(prefix="mediafix-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    data, output, empty = work / "data", work / "out", work / "empty"
    empty.mkdir(exist_ok=True)
    env = fresh_env(mf, data, output, args.workers)
    rows: list[tuple[str, Run, str]] = []

    def note(label: str, r: Run, extra: str = "") -> None:
        rows.append((label, r, extra))
        print(
            f"  {label:<50} {r.seconds:8.2f} s {r.cpu:8.2f} cpu-s {r.peak_mb:6.0f} MB  {extra}",
            flush=True,
        )

    # start-up, each on a fresh data folder
    one = next(src.glob("0000/IMG_*.jpg"))
    note("mediafix --version (best of 3)", best_of(3, [mf, "--version"], env))
    note("inspect --json one.jpg (best of 3)", best_of(3, [mf, "inspect", "--json", str(one)], env))
    fresh = []
    for i in range(3):
        e = fresh_env(mf, work / f"fresh{i}", output, args.workers)
        fresh.append(run([mf, "db", "upgrade"], e))
    note("fresh library db (best of 3)", min(fresh, key=lambda r: r.seconds))
    startup_env = fresh_env(mf, work / "fresh0", output, args.workers)
    startup = run([mf, "scan", str(empty)], startup_env)
    note("scan of an empty folder, empty library (start-up)", startup)

    # the library
    r = run([mf, "scan", str(src)], env)
    note("scan", r, f"{n_files / r.seconds:.1f} files/s, {n_files / r.cpu:.1f} files per CPU-s")
    r = run([mf, "scan", str(src)], env)
    per10k = (r.seconds - startup.seconds) / n_files * 10_000
    cpu10k = (r.cpu - startup.cpu) / n_files * 10_000
    note("rescan, unchanged", r, f"per 10k beyond start-up: {per10k:.2f} s, {cpu10k:.2f} CPU-s")
    changed = change_some(src, 0.01)
    r = run([mf, "scan", str(src)], env)
    note(f"rescan, {changed} changed or new", r)
    undo_changes(src)
    r = run([mf, "scan", str(src)], env)
    note("rescan, those new files gone again", r)
    r = run([mf, "dupes", "--json"], env)
    note("dupes --json", r)
    r = run([mf, "plan", "--json"], env)
    note("plan --json", r)
    if not args.skip_apply:
        r = run([mf, "apply", str(output)], env)
        written = sum(len(f) for _, _, f in os.walk(output))
        note("apply", r, f"{written} files in the output")
        r = run([mf, "undo"], env)
        note("undo", r)

    # the plain tools
    if shutil.which("jdupes"):
        r = run(["jdupes", "-r", "-q", str(src)])
        note("jdupes -r (exact groups)", r)
    else:
        print("  jdupes -r: not installed (apt-get install jdupes), left out")
    r = run(["exiftool", "-r", "-json", "-q", *DATE_TAGS, str(src)])
    note("exiftool -r -json (date tags)", r)
    if not args.skip_apply:
        copy = work / "copy"
        argfile = work / "dates.args"
        lines = []
        for dirpath, _, files in os.walk(src):
            for name in sorted(files):
                rel = os.path.relpath(os.path.join(dirpath, name), src)
                when = START + timedelta(seconds=hash(rel) % 10**8)
                lines += [f"-AllDates={when:%Y:%m:%d %H:%M:%S}", str(copy / rel), "-execute"]
        argfile.write_text("\n".join(lines) + "\n")
        cmd = [
            "cp",
            "-r",
            str(src),
            str(copy),
            "&&",
            "exiftool",
            "-q",
            "-overwrite_original",
            "-@",
            str(argfile),
        ]
        r = run(cmd, shell=True)
        note("cp -r + one exiftool batch (a date per file)", r)
        shutil.rmtree(copy, ignore_errors=True)

    print(f"\nload average after: {load()}\n")
    print(f"| measure ({n_files} files) | wall s | CPU s | peak RSS (MB) | note |")
    print("|---|---|---|---|---|")
    for label, r, extra in rows:
        print(f"| {label} | {r.seconds:.2f} | {r.cpu:.2f} | {r.peak_mb:.0f} | {extra} |")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
