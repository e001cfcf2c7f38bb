"""What the compare view and the lightbox cost: display renditions against sending originals.

For every photo of ``../shared/corpus`` (or ``--corpus DIR``) that Pillow or pillow-heif can
open, it makes the 2048 px display rendition with the project's own
:func:`mediafix.services.renditions.ensure_rendition` (cold: decode + resize + JPEG + cache
write; warm: the cached file found again), and the common approach of a photo viewer
without a cache: a full decode with ``ImageOps.exif_transpose`` and a resize to 2048 px on
every request. The table, per format, shows the median original size, the rendition's size,
the cold and warm times and the full-decode time, and whether a browser could show the
original at all (HEIC: no).

Run by hand (under a minute on 2 cores; note the load average beside the figures):

    .venv/bin/python bench/renditions.py
    .venv/bin/python bench/renditions.py --corpus /some/photos --limit 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from PIL import Image, ImageOps  # noqa: E402

from mediafix.config import Settings  # noqa: E402
from mediafix.services.renditions import (  # noqa: E402
    DISPLAY_SIZE,
    RenditionError,
    RenditionSource,
    browser_shows,
    ensure_rendition,
)

# ../shared/corpus beside the main checkout, or beside a worktree's folder.
DEFAULT_CORPUS = next(
    (
        p
        for p in (ROOT.parent / "shared" / "corpus", ROOT.parents[1] / "shared" / "corpus")
        if p.is_dir()
    ),
    ROOT.parent / "shared" / "corpus",
)
EXTS = {".jpg": "jpeg", ".jpeg": "jpeg", ".heic": "heic", ".png": "png", ".webp": "webp"}


def photos(corpus: Path, limit: int) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(corpus.rglob("*")):
        fmt = EXTS.get(path.suffix.lower())
        if fmt and path.is_file() and path.stat().st_size > 20_000:
            found.append((path, fmt))
    return found[:limit]


def full_decode(path: Path) -> float:
    """The uncached way: decode everything, turn upright, resize, encode."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(path) as im:
            im.load()
            upright = ImageOps.exif_transpose(im) or im
            upright.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE), Image.Resampling.BICUBIC)
            upright.convert("RGB").save(os.devnull, "JPEG", quality=82)
    return time.perf_counter() - started


def main() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=400)
    args = parser.parse_args()
    files = photos(args.corpus, args.limit)
    if not files:
        sys.exit(f"no photos in {args.corpus}")
    rows: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", output_dir=Path(tmp) / "out")
        for n, (path, fmt) in enumerate(files):
            st = path.stat()
            source = RenditionSource(n, None, str(path), str(path.parent), st.st_size, st.st_mtime)
            try:
                started = time.perf_counter()
                made = ensure_rendition(settings, source, "display")
                cold = time.perf_counter() - started
                started = time.perf_counter()
                ensure_rendition(settings, source, "display")
                warm = time.perf_counter() - started
                decode = full_decode(path)
            except (RenditionError, OSError, ValueError, Image.DecompressionBombError):
                failed += 1
                continue
            with Image.open(path) as im:
                pixels = im.size[0] * im.size[1]
            row = rows[fmt]
            row["original"].append(st.st_size)
            row["rendition"].append(made.stat().st_size)
            row["cold"].append(cold)
            row["warm"].append(warm)
            row["decode"].append(decode)
            row["mp"].append(pixels / 1e6)
    med = statistics.median
    load = os.getloadavg()[0]
    print(f"{len(files) - failed} photos ({failed} not decodable), load average {load:.2f}\n")
    head = (
        f"{'format':<7}{'n':>5}{'MP':>7}{'original':>11}{'rendition':>11}"
        f"{'cold ms':>9}{'cached ms':>11}{'full decode ms':>16}  browser shows original"
    )
    print(head)
    print("-" * len(head))
    for fmt, row in sorted(rows.items()):
        print(
            f"{fmt:<7}{len(row['original']):>5}{med(row['mp']):>7.1f}"
            f"{med(row['original']) / 1e6:>9.2f}MB{med(row['rendition']) / 1e3:>9.0f}KB"
            f"{med(row['cold']) * 1000:>9.1f}{med(row['warm']) * 1000:>11.3f}"
            f"{med(row['decode']) * 1000:>16.1f}  {'yes' if browser_shows('image', fmt) else 'no'}"
        )
    print(
        "\ncold: first request (decode, upright, 2048 px JPEG, written to the cache); cached: "
        "every later request finds the file; full decode: the uncached way, on every request."
    )


if __name__ == "__main__":
    main()
