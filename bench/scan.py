"""Benchmark: how fast `mediafix scan` probes camera-sized JPEGs, against two references.

Run by hand (not a test):

    .venv/bin/python bench/scan.py              # 200 generated 12-MP JPEGs
    .venv/bin/python bench/scan.py -n 400 --corpus ../shared/corpus   # add real photos

It prints files/s, side by side in one run, for:

* ``mediafix scan``: the whole probe (exiftool metadata + sha256 + DCT-scaled decode +
  perceptual hash + date verdict) into a fresh SQLite library, on every core;
* the same pipeline with the usual fingerprint instead: a full decode and
  ``imagehash.phash`` (what imagededup and most tools do);
* the decode floor: the DCT-scaled decode alone, same number of processes.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

CACHE = Path(tempfile.gettempdir()) / "mediafix-bench-scan"


def camera_like(seed: int, size: tuple[int, int] = (4032, 3024)) -> Image.Image:
    """A 12-MP image with photo-like detail (smooth shapes plus sensor-like noise)."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 255, (h // 96, w // 96, 3), dtype=np.uint8)
    base = Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)
    noise = rng.normal(0, 6, (h, w, 3))
    arr = np.clip(np.asarray(base, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr)


def generate(n: int) -> Path:
    folder = CACHE / f"jpeg12mp-{n}"
    if folder.exists() and len(list(folder.glob("*.jpg"))) == n:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    base = [camera_like(s) for s in range(8)]
    for i in range(n):
        img = base[i % len(base)].rotate(i * 7 % 360) if i >= len(base) else base[i]
        img.save(folder / f"IMG_{i:04d}.jpg", "JPEG", quality=92)
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-Make=Canon",
            "-Model=EOS R6",
            "-DateTimeOriginal=2021:06:12 10:11:12",
            "-OffsetTimeOriginal=+02:00",
            str(folder),
        ],
        check=True,
    )
    return folder


def scan_rate(folder: Path, workers: int, label: str) -> tuple[str, float, int]:
    from mediafix.config import Settings
    from mediafix.services.library import scan
    from mediafix.store.db import dispose_engines, get_engine, upgrade

    data = Path(tempfile.mkdtemp(prefix="mediafix-bench-"))
    settings = Settings(data_dir=data, timezone="Europe/Berlin", workers=workers)
    upgrade(settings.database_url)
    engine = get_engine(settings.database_url)
    started = time.perf_counter()
    summary = scan([folder], settings, engine, workers=workers)
    seconds = time.perf_counter() - started
    dispose_engines()
    shutil.rmtree(data, ignore_errors=True)
    return label, summary.probed / seconds, summary.probed


def _full_decode_facts(data: bytes):  # type: ignore[no-untyped-def]
    import imagehash
    from PIL import ImageOps

    from mediafix.media.fingerprint import ImageFacts

    img = Image.open(io.BytesIO(data))
    orientation = img.getexif().get(0x0112, 1)
    img = ImageOps.exif_transpose(img.convert("RGB"))
    value = int(str(imagehash.phash(img)), 16)
    return ImageFacts(
        width=img.width, height=img.height, orientation=orientation, phash=value, hash_bits=64
    )


def _draft_decode(path: str) -> int:
    with open(path, "rb") as fh:
        data = fh.read()
    img = Image.open(io.BytesIO(data))
    img.draft("L", (64, 64))
    img.load()
    return img.width


def floor_rate(folder: Path, workers: int) -> tuple[str, float, int]:
    paths = sorted(str(p) for p in folder.glob("*.jpg"))
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_draft_decode, paths, chunksize=8))
    seconds = time.perf_counter() - started
    return "decode floor (DCT-scaled decode only)", len(paths) / seconds, len(paths)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=200, help="generated 12-MP JPEGs")
    parser.add_argument("-w", "--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--corpus", type=Path, help="also scan this folder of real photos")
    args = parser.parse_args()

    folder = generate(args.n)
    print(f"{args.n} generated 12-MP JPEGs in {folder}; {args.workers} processes\n")
    rows = [floor_rate(folder, args.workers)]
    rows.append(scan_rate(folder, args.workers, "mediafix scan"))
    from mediafix.media import fingerprint

    original = fingerprint.image_facts
    fingerprint.image_facts = _full_decode_facts  # forked workers inherit the swap
    try:
        rows.append(scan_rate(folder, args.workers, "same pipeline, full decode + imagehash.phash"))
    finally:
        fingerprint.image_facts = original
    if args.corpus:
        rows.append(scan_rate(args.corpus, args.workers, f"mediafix scan of {args.corpus}"))

    floor = rows[0][1]
    ours = rows[1][1]
    print(f"{'pipeline':<48} {'files':>6} {'files/s':>9} {'vs ours':>8}")
    for label, rate, n in rows:
        print(f"{label:<48} {n:>6} {rate:>9.1f} {ours / rate:>7.2f}x")
    print()
    print(
        f"mediafix scan is {ours / rows[2][1]:.1f}x the full-decode pipeline "
        f"and {floor / ours:.2f}x slower than the decode floor"
    )


if __name__ == "__main__":
    main()
