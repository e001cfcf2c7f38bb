"""End to end: does `mediafix scan` + `mediafix dupes` beat the common approach to duplicates?

Issue #4's speed check. Builds a folder of about 500 photos in a temporary directory from
the real photos in ../shared/corpus (the builders of ``bench/near_dupes.py`` are reused):

* photo families: distinct originals (the largest corpus photos byte for byte; smaller ones
  upscaled to about 12 MP with a little sensor-like noise and their EXIF carried over, so
  every original is a camera-sized file), each with its copies: a byte-for-byte backup, a
  WhatsApp-like copy (1600 px, JPEG q70, metadata stripped; every second family also has a
  byte copy of it, a forward), PNG, WebP and HEIC conversions at full size, a 2 % crop per
  side, brightness +15 % and -15 %, and pixels rotated 90/180/270 with a compensating EXIF
  Orientation tag;
* singletons: other camera-sized photos with no copy at all (most of a real library);
* hard negatives: documents in one layout with different words (letters, forms, invoices,
  receipts; plus a WhatsApp copy and a 2 % crop of each), very dark night shots of
  different scenes (plus copies), and two different shots of one scene (windows 30 % apart,
  same camera, 3 s apart: a burst) with a WhatsApp copy of each.

Ground truth: two files are duplicates when they derive from one original. Then, side by
side on the same folder and with the same number of processes:

(a) mediafix as a user runs it: ``mediafix scan FOLDER`` and ``mediafix dupes --json`` as
    subprocesses with a fresh MEDIAFIX_DATA_DIR (start-up, database, metadata, dates
    included);
(b) the common approach, as imagededup does it: a full decode with Pillow and
    ``imagehash.phash`` per file on a process pool, a pairwise search over all hashes at
    imagededup's default phash threshold (10) and groups of connected neighbours.

Each method is timed twice, alternating (A B B A), and its faster run counts: other
processes may load the machine. Pairwise precision and recall against the ground truth (two
files in one exact or near group = predicted duplicates; a burst group predicts "not
duplicates"), recall per kind of copy, false matches per kind of pair, each method's hash
distance per kind of copy, then the comparison table and, after the timed runs, where the
decode time goes per format (both decoders, one file per core).

Run by hand: ``.venv/bin/python bench/e2e_dupes.py [--photos 32] [--workers N] [--keep DIR]
[--only jpg]`` (about 5-6 minutes on 2 cores; two of them build the set).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from itertools import combinations
from pathlib import Path

import imagehash
import numpy as np
import pillow_heif
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))

import near_dupes as nd  # noqa: E402  (the set builders of the hash benchmark)

pillow_heif.register_heif_opener()

SEED = 20260404
NATIVE_MIN_PIXELS = 7_000_000  # a corpus photo this large is used as it is
TARGET_PIXELS = 12_000_000  # smaller ones are upscaled to about this
COMMON_THRESHOLD = 10  # imagededup's default max_distance_threshold for phash
TARGET_SPEEDUP = 3.0
N_NIGHT = 8
N_SHOT = 8
N_TEXT = 16
BURST_CAMERA = ("Canon", "Canon EOS 80D")


@dataclass(frozen=True)
class Item:
    """One file of the set (``path`` relative to the set folder)."""

    path: str
    family: str  # shared by an original and all its copies
    kind: str  # photo | single | text | night | shot
    variant: str  # original | exact | whatsapp | png | ...


# --------------------------------------------------------------------------- the set


def camera_sized(image: Image.Image, seed: int) -> Image.Image:
    """``image`` as a camera would have written it: about 12 MP, with a little sensor noise.

    Upscaled pixels are smoother than a camera's; the noise (sigma 2 of 255) gives the JPEG
    a realistic size (3-5 MB), since entropy decoding cost follows the data, not the pixels.
    """
    pixels = image.width * image.height
    if pixels >= NATIVE_MIN_PIXELS:
        return image
    scale = math.sqrt(TARGET_PIXELS / pixels)
    size = (round(image.width * scale), round(image.height * scale))
    big = np.asarray(image.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    rng = np.random.default_rng(seed)
    big += rng.standard_normal(big.shape, dtype=np.float32) * np.float32(2.0)
    return Image.fromarray(np.clip(big, 0, 255).astype(np.uint8), "RGB")


def source_exif(path: Path) -> bytes | None:
    """The source's EXIF (camera, dates) with Orientation 1: the pixels are stored upright."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            if not exif:
                return None
            exif[0x0112] = 1
            return exif.tobytes()
    except Exception:
        return None


def camera_jpeg(image: Image.Image, exif: bytes | None) -> bytes:
    try:
        return nd.encode(image, "JPEG", quality=92, **({"exif": exif} if exif else {}))
    except Exception:  # an EXIF block Pillow cannot write back: the pixels matter here
        return nd.encode(image, "JPEG", quality=92)


def burst_exif(scene: int, shot: int) -> bytes:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = BURST_CAMERA
    stamp = f"2022:07:{1 + scene:02d} 15:30:{shot * 3:02d}"
    exif[0x0132] = stamp
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = sub[0x9004] = stamp
    return exif.tobytes()


def build_set(sources: Sequence[Path], n_photos: int, folder: Path, workers: int) -> list[Item]:
    """Write the set into ``folder`` and return the labelled list of its files.

    The ``n_photos`` largest sources become photo families; of the rest (in a seeded
    shuffle) N_NIGHT become night shots, N_SHOT bursts and the others singletons.
    """
    by_size = sorted(sources, key=_pixels, reverse=True)
    photos, rest = by_size[:n_photos], by_size[n_photos:]
    rng = np.random.default_rng(SEED)
    rest = [rest[i] for i in rng.permutation(len(rest))]
    jobs: list[tuple[str, str, int]] = [("photo", str(p), i) for i, p in enumerate(photos)]
    jobs += [("night", str(p), i) for i, p in enumerate(rest[:N_NIGHT])]
    jobs += [("shot", str(p), i) for i, p in enumerate(rest[N_NIGHT : N_NIGHT + N_SHOT])]
    jobs += [("single", str(p), i) for i, p in enumerate(rest[N_NIGHT + N_SHOT :])]
    jobs += [("text", nd.TEXT_STYLES[i % len(nd.TEXT_STYLES)], i) for i in range(N_TEXT)]
    # The slow families first, so the pool's two ends finish together.
    jobs.sort(key=lambda job: job[0] != "photo")
    items: list[Item] = []
    with ProcessPoolExecutor(workers) as pool:
        futures = [pool.submit(_make_family, kind, arg, i, str(folder)) for kind, arg, i in jobs]
        for future in futures:
            items.extend(future.result())
    return items


def _pixels(path: Path) -> int:
    with Image.open(path) as image:
        return image.width * image.height


def _make_family(kind: str, arg: str, index: int, folder: str) -> list[Item]:
    warnings.simplefilter("ignore")
    out: list[Item] = []

    def put(rel: str, family: str, variant: str, data: bytes) -> None:
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        out.append(Item(rel, family, kind, variant))

    if kind == "text":
        family = f"text{index:02d}"
        page = nd.text_page(SEED + index, arg)
        stem = f"Scans/scan_{index:03d}"
        put(f"{stem}.png", family, "original", nd.encode(page, "PNG"))
        put(
            f"WhatsApp Images/IMG-20230301-WA{index + 500:04d}.jpg",
            family,
            "whatsapp",
            nd.whatsapp(page),
        )
        put(
            f"{stem}_crop.jpg",
            family,
            "crop2",
            nd.encode(nd.crop_per_side(page, 0.02), "JPEG", quality=85),
        )
        return out

    source = Path(arg)
    upright = camera_sized(nd.upright_rgb(source), SEED + index)
    if kind == "photo":
        family = f"photo{index:03d}"
        stem = f"IMG_{1000 + index:04d}"
        if _pixels(source) >= NATIVE_MIN_PIXELS:
            original, ext = source.read_bytes(), source.suffix.lower()
            if ext == ".jpeg":
                ext = ".jpg"
        else:
            original, ext = camera_jpeg(upright, source_exif(source)), ".jpg"
        put(f"DCIM/{stem}{ext}", family, "original", original)
        put(f"Backup/DCIM/{stem}{ext}", family, "exact", original)
        whatsapp = nd.whatsapp(upright)
        chat = f"WhatsApp Images/IMG-20230301-WA{index:04d}.jpg"
        put(chat, family, "whatsapp", whatsapp)
        if index % 2:
            put(
                f"WhatsApp Images/Sent/IMG-20230302-WA{index:04d}.jpg",
                family,
                "whatsapp-exact",
                whatsapp,
            )
        put(
            f"Exports/{stem}_export.png", family, "png", nd.encode(upright, "PNG", compress_level=1)
        )
        put(
            f"Exports/{stem}_export.webp",
            family,
            "webp",
            nd.encode(upright, "WEBP", quality=80, method=0),
        )
        put(f"Exports/{stem}_export.heic", family, "heic", nd.encode(upright, "HEIF", quality=60))
        put(
            f"Edited/{stem}_crop.jpg",
            family,
            "crop2",
            nd.encode(nd.crop_per_side(upright, 0.02), "JPEG", quality=90),
        )
        put(
            f"Edited/{stem}_bright.jpg",
            family,
            "bright+15",
            nd.encode(nd.brighten(upright, 1.15), "JPEG", quality=90),
        )
        put(
            f"Edited/{stem}_dark.jpg",
            family,
            "bright-15",
            nd.encode(nd.brighten(upright, 0.85), "JPEG", quality=90),
        )
        degrees = (90, 180, 270)[index % 3]
        put(
            f"Rotated/{stem}_rot{degrees}.jpg",
            family,
            f"rot{degrees}+tag",
            nd.rotated(upright, degrees, "JPEG", quality=90),
        )
    elif kind == "single":
        put(
            f"DCIM/IMG_{3000 + index:04d}.jpg",
            f"single{index:03d}",
            "original",
            camera_jpeg(upright, source_exif(source)),
        )
    elif kind == "night":
        family = f"night{index:02d}"
        dark = nd.night_shot(upright, SEED + index)
        stem = f"Night/IMG_{5000 + index:04d}"
        put(f"{stem}.jpg", family, "original", nd.encode(dark, "JPEG", quality=90))
        put(
            f"WhatsApp Images/IMG-20230303-WA{index:04d}.jpg", family, "whatsapp", nd.whatsapp(dark)
        )
        put(
            f"{stem}_bright.jpg",
            family,
            "bright+15",
            nd.encode(nd.brighten(dark, 1.15), "JPEG", quality=90),
        )
    else:  # shot: two different frames of one scene, a burst from one camera
        for number, window in enumerate(nd.shifted_windows(upright)):
            family = f"shot{index:02d}-{number}"
            put(
                f"Burst/IMG_{6000 + 10 * index + number:04d}.jpg",
                family,
                "original",
                nd.encode(window, "JPEG", quality=92, exif=burst_exif(index, number)),
            )
            put(
                f"WhatsApp Images/IMG-20230304-WA{10 * index + number:04d}.jpg",
                family,
                "whatsapp",
                nd.whatsapp(window),
            )
    return out


def load_or_build(folder: Path, corpus: Path, n_photos: int, workers: int) -> list[Item]:
    manifest = folder / "manifest.json"
    media = folder / "set"
    if manifest.exists():
        return [Item(**row) for row in json.loads(manifest.read_text())]
    sources = nd.find_sources(corpus)
    need = n_photos + N_NIGHT + N_SHOT + 1
    if len(sources) < need:
        raise SystemExit(f"need {need} distinct photos under {corpus}, found {len(sources)}")
    media.mkdir(parents=True, exist_ok=True)
    items = build_set(sources, n_photos, media, workers)
    manifest.write_text(json.dumps([asdict(item) for item in items]))
    return items


# --------------------------------------------------------------------------- (a) mediafix


@dataclass
class Run:
    label: str
    seconds: float
    files: int
    clusters: np.ndarray  # per file: a cluster id, -1 when in no group
    parts: dict[str, float]
    notes: list[str]
    pair_matrix: np.ndarray | None = None  # strict "same group" predictions, when not clusters


def mediafix_command() -> list[str]:
    script = Path(sys.executable).with_name("mediafix")
    if script.exists():
        return [str(script)]
    found = shutil.which("mediafix")
    if not found:
        raise SystemExit("the mediafix command is not installed in this environment")
    return [found]


def run_mediafix(media: Path, paths: Sequence[str], workers: int, data_dir: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAFIX_")}
    env.update(
        MEDIAFIX_DATA_DIR=str(data_dir),
        MEDIAFIX_TIMEZONE="UTC",
        MEDIAFIX_WORKERS=str(workers),
        MEDIAFIX_OUTPUT_DIR=str(data_dir / "out"),
    )
    command = mediafix_command()
    started = time.perf_counter()
    scan = subprocess.run(
        [*command, "scan", str(media), "-w", str(workers)], env=env, capture_output=True, text=True
    )
    scanned = time.perf_counter()
    dupes = subprocess.run([*command, "dupes", "--json"], env=env, capture_output=True, text=True)
    done = time.perf_counter()
    for name, result in (("scan", scan), ("dupes", dupes)):
        if result.returncode != 0:
            raise SystemExit(f"mediafix {name} failed ({result.returncode}):\n{result.stderr}")
    groups = json.loads(dupes.stdout)["groups"]
    index = {os.path.realpath(os.path.join(media, p)): n for n, p in enumerate(paths)}

    n = len(paths)
    strict = np.zeros((n, n), dtype=bool)
    links = UnionFind(n)
    counts: Counter[str] = Counter()
    for group in groups:
        counts[group["type"]] += 1
        if group["type"] not in ("exact", "near"):
            continue  # a burst says: different shots, keep them all
        members = [index[os.path.realpath(m["path"])] for m in group["members"]]
        for a, b in combinations(members, 2):
            strict[a, b] = strict[b, a] = True
            links.union(a, b)
    notes = [f"groups: {dict(counts)}"]
    notes += diagnose_library(data_dir, media)
    return Run(
        "mediafix scan + dupes --json",
        done - started,
        n,
        links.clusters(),
        {"scan": scanned - started, "dupes --json": done - scanned},
        notes,
        strict,
    )


def diagnose_library(data_dir: Path, media: Path) -> list[str]:
    """After the timing: what the library says about the files (errors, blank hashes)."""
    path = data_dir / "mediafix.db"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        rows = db.execute("select path, kind, phash, error from files").fetchall()
    notes = []
    no_hash = [os.path.relpath(p, media) for p, kind, h, _e in rows if kind == "image" and not h]
    errors = [(os.path.relpath(p, media), e) for p, _k, _h, e in rows if e]
    kinds = Counter(kind for _p, kind, _h, _e in rows)
    notes.append(
        f"library: {len(rows)} files {dict(kinds)}, {len(errors)} with an error, "
        f"{len(no_hash)} images without a hash"
    )
    notes += [f"  error: {p}: {e}" for p, e in errors[:8]]
    notes += [f"  no hash: {p}" for p in no_hash[:8]]
    return notes


def mediafix_hashes(data_dir: Path, media: Path, paths: Sequence[str]) -> list[int | None]:
    with sqlite3.connect(data_dir / "mediafix.db") as db:
        rows = {os.path.realpath(p): h for p, h in db.execute("select path, phash from files")}
    return [int(h, 16) if (h := rows.get(os.path.realpath(media / p))) else None for p in paths]


# --------------------------------------------------------------------------- (b) common


def common_hash(path: str) -> int | None:
    """What imagededup does per file: open, decode in full, ``phash`` (no EXIF rotation)."""
    warnings.simplefilter("ignore")
    try:
        with Image.open(path) as image:
            image.load()
            return int(str(imagehash.phash(image)), 16)
    except Exception:
        return None


def run_common(
    media: Path, paths: Sequence[str], workers: int
) -> tuple[Run, np.ndarray, list[int | None]]:
    started = time.perf_counter()
    files = [str(media / p) for p in paths]
    with ProcessPoolExecutor(workers) as pool:
        hashes = list(pool.map(common_hash, files, chunksize=4))
    hashed = time.perf_counter()
    dist = all_pairs(hashes)
    clusters = connected_groups(dist, len(paths), COMMON_THRESHOLD)
    done = time.perf_counter()
    failed = [p for p, h in zip(paths, hashes, strict=True) if h is None]
    notes = [f"{len(failed)} files could not be hashed"] + [f"  {p}" for p in failed[:8]]
    run = Run(
        f"common: full decode + imagehash.phash, thr {COMMON_THRESHOLD}",
        done - started,
        len(paths) - len(failed),
        clusters,
        {"decode + hash": hashed - started, "all-pairs search + groups": done - hashed},
        notes,
    )
    return run, dist, hashes


def all_pairs(hashes: Sequence[int | None]) -> np.ndarray:
    """Hamming distance of every pair i < j (condensed); 65 where a file has no hash."""
    n = len(hashes)
    values = np.array([h if h is not None else 0 for h in hashes], dtype=np.uint64)
    missing = np.array([h is None for h in hashes])
    i, j = np.triu_indices(n, k=1)
    dist = np.bitwise_count(values[i] ^ values[j]).astype(np.int16)
    dist[missing[i] | missing[j]] = 65
    return dist


def connected_groups(dist: np.ndarray, n: int, threshold: int) -> np.ndarray:
    i, j = np.triu_indices(n, k=1)
    links = UnionFind(n)
    for a, b in zip(i[dist <= threshold].tolist(), j[dist <= threshold].tolist(), strict=True):
        links.union(a, b)
    return links.clusters()


class UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.linked = [False] * n

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return a

    def union(self, a: int, b: int) -> None:
        self.linked[a] = self.linked[b] = True
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def clusters(self) -> np.ndarray:
        """Per element its root, or -1 when it was never linked to anything."""
        return np.array(
            [self.find(a) if self.linked[a] else -1 for a in range(len(self.parent))],
            dtype=np.int64,
        )


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    precision: float
    recall: float
    true_pairs: int
    false_pairs: int
    missed_pairs: int


def predicted_pairs(run: Run, i: np.ndarray, j: np.ndarray, strict: bool = False) -> np.ndarray:
    if strict and run.pair_matrix is not None:
        return run.pair_matrix[i, j]
    c = run.clusters
    return (c[i] == c[j]) & (c[i] >= 0)


def score(predicted: np.ndarray, positive: np.ndarray) -> Score:
    tp = int(np.count_nonzero(predicted & positive))
    fp = int(np.count_nonzero(predicted & ~positive))
    total = int(positive.sum())
    return Score(
        tp / (tp + fp) if tp + fp else 1.0, tp / total if total else 1.0, tp, fp, total - tp
    )


def best_threshold(
    dist: np.ndarray, n: int, positive: np.ndarray, i: np.ndarray, j: np.ndarray
) -> tuple[int, Score, list[tuple[int, Score]]]:
    """The common approach's best threshold: highest F1 of its connected groups (0..24)."""
    sweep = []
    for t in range(0, 25):
        c = connected_groups(dist, n, t)
        sweep.append((t, score((c[i] == c[j]) & (c[i] >= 0), positive)))

    def f1(s: Score) -> float:
        return 2 * s.precision * s.recall / (s.precision + s.recall or 1)

    t, s = max(sweep, key=lambda row: (f1(row[1]), -row[0]))
    return t, s, sweep


def per_variant(
    items: Sequence[Item],
    predicted: dict[str, np.ndarray],
    i: np.ndarray,
    j: np.ndarray,
    positive: np.ndarray,
) -> None:
    """Recall of original -> copy pairs per kind of copy, and false pairs per kind."""
    variant = np.array([f"{it.kind}:{it.variant}" for it in items])
    is_original = np.array([it.variant == "original" for it in items])
    kind = np.array([it.kind for it in items])
    copy_pairs = positive & (is_original[i] ^ is_original[j])
    copy_of = np.where(is_original[i], variant[j], variant[i])
    names = list(predicted)
    print("\nrecall of original -> copy pairs, per kind of copy")
    print(f"  {'copy kind':<24} {'pairs':>5} " + " ".join(f"{n:>14}" for n in names))
    for key in sorted(set(copy_of[copy_pairs].tolist())):
        mask = copy_pairs & (copy_of == key)
        cells = [f"{np.mean(predicted[n][mask]):>14.2f}" for n in names]
        print(f"  {key:<24} {int(mask.sum()):>5} " + " ".join(cells))
    print("\nfalse duplicate pairs, per kind of pair")
    keys: Counter[str] = Counter()
    by_name = {}
    for n in names:
        false = predicted[n] & ~positive
        low = np.where(kind[i] <= kind[j], kind[i], kind[j])
        high = np.where(kind[i] <= kind[j], kind[j], kind[i])
        pair_kind = np.char.add(np.char.add(low, "-"), high)
        by_name[n] = Counter(pair_kind[false].tolist())
        keys.update(by_name[n])
    if not keys:
        print("  none")
    for key in sorted(keys):
        print(f"  {key:<24} {'':>5} " + " ".join(f"{by_name[n][key]:>14}" for n in names))


def hash_distances(items: Sequence[Item], hashes: dict[str, list[int | None]]) -> None:
    """Distance original -> copy per kind of copy for each method's own hash (max / mean)."""
    originals: dict[str, int] = {
        it.family: n for n, it in enumerate(items) if it.variant == "original"
    }
    rows: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for n, it in enumerate(items):
        if it.variant == "original":
            continue
        o = originals.get(it.family)
        if o is None:
            continue  # with --only, the original may be of another format
        for name, values in hashes.items():
            a, b = values[o], values[n]
            if a is not None and b is not None:
                rows[f"{it.kind}:{it.variant}"][name].append((a ^ b).bit_count())
    names = list(hashes)
    print("\nhash distance original -> copy (max / mean bits of 64)")
    print(f"  {'copy kind':<24} " + " ".join(f"{n:>22}" for n in names))
    for key in sorted(rows):
        cells = []
        for name in names:
            values = rows[key][name]
            cells.append(f"{max(values):>9} / {np.mean(values):>5.1f}" if values else "-")
        print(f"  {key:<24} " + " ".join(f"{c:>22}" for c in cells))


def _decode_costs(path: str) -> tuple[float, float]:
    """Seconds of mediafix's fingerprint and of the common approach's hash for one file."""
    from mediafix.media import fingerprint

    warnings.simplefilter("ignore")
    data = Path(path).read_bytes()
    started = time.perf_counter()
    with contextlib.suppress(fingerprint.FingerprintError):
        fingerprint.image_facts(data)
    middle = time.perf_counter()
    common_hash(path)
    return middle - started, time.perf_counter() - middle


def format_costs(media: Path, items: Sequence[Item], workers: int) -> None:
    """Where the decode time goes: per format, mediafix's fingerprint against the full
    decode + phash, each file on one core (after the timed runs, not part of them)."""
    with ProcessPoolExecutor(workers) as pool:
        costs = list(pool.map(_decode_costs, [str(media / it.path) for it in items], chunksize=2))
    rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for it, cost in zip(items, costs, strict=True):
        role = "camera original" if it.variant in ("original", "exact") else "copy"
        if it.kind == "text" and it.variant == "original":
            role = "text page"
        rows[f"{Path(it.path).suffix} {role}"].append(cost)
    total_ours = sum(c[0] for c in costs)
    total_common = sum(c[1] for c in costs)
    print("\ndecode + hash per file on one core, by format (after the timed runs)")
    print(
        f"  {'files':<22} {'n':>4} {'mediafix ms':>11} {'common ms':>9} {'ratio':>6} "
        f"{'share of mediafix time':>22}"
    )
    for key in sorted(rows, key=lambda k: -sum(c[0] for c in rows[k])):
        values = np.array(rows[key])
        ours, common = values.mean(axis=0) * 1000
        share = values[:, 0].sum() / total_ours
        print(
            f"  {key:<22} {len(values):>4} {ours:>11.1f} {common:>9.1f} "
            f"{common / ours:>5.1f}x {share:>21.0%}"
        )
    print(
        f"  {'all':<22} {len(costs):>4} {1000 * total_ours / len(costs):>11.1f} "
        f"{1000 * total_common / len(costs):>9.1f} {total_common / total_ours:>5.1f}x"
    )


# --------------------------------------------------------------------------- main


def warm(paths: Iterable[Path]) -> None:
    """Read every file once, so both methods start with the same (warm) page cache."""
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass


def load() -> str:
    a, b, c = os.getloadavg()
    return f"load {a:.1f} {b:.1f} {c:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=nd.DEFAULT_CORPUS)
    parser.add_argument("--photos", type=int, default=32, help="photo families (default 32)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--keep",
        type=Path,
        help="build the set here and keep it (reused "
        "when it holds a set already); default: a temporary folder",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="timed runs of each method, alternating A B B A (default 2; the faster counts)",
    )
    parser.add_argument(
        "--only",
        metavar="EXT[,EXT]",
        help="run on the files of these formats only (e.g. jpg), to see where the time goes",
    )
    parser.add_argument(
        "--no-formats",
        dest="formats",
        action="store_false",
        help="skip the per-format decode cost table (saves about a minute)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    began = time.perf_counter()

    temp = None
    if args.keep:
        folder = args.keep.resolve()
        folder.mkdir(parents=True, exist_ok=True)
    else:
        temp = tempfile.TemporaryDirectory(prefix="e2e-dupes-")
        folder = Path(temp.name)
    try:
        return _run(args, folder, began)
    finally:
        if temp is not None:
            temp.cleanup()


def _run(args: argparse.Namespace, folder: Path, began: float) -> int:
    items = load_or_build(folder, args.corpus, args.photos, args.workers)
    built = time.perf_counter()
    media = folder / "set"
    if args.only:
        # A look at one part of the set: hard links to its files of these formats only.
        suffixes = {f".{s.strip().lower().lstrip('.')}" for s in args.only.split(",")}
        items = [it for it in items if Path(it.path).suffix in suffixes]
        subset = folder / ("only-" + "-".join(sorted(s[1:] for s in suffixes)))
        for it in items:
            target = subset / it.path
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(media / it.path, target)
        media = subset
    paths = [it.path for it in items]
    n = len(items)
    size = sum((media / p).stat().st_size for p in paths)
    pixels = []
    for it in items:
        if it.variant == "original" and it.kind in ("photo", "single"):
            with Image.open(media / it.path) as image:
                pixels.append(image.width * image.height / 1e6)
    kinds = Counter(it.kind for it in items)
    exts = Counter(Path(p).suffix for p in paths)
    print(f"set: {n} files, {size / 1e6:.0f} MB in {media} ({dict(kinds)}; {dict(exts)})")
    print(
        f"     photo and singleton originals: {len(pixels)}, {min(pixels):.1f}-"
        f"{max(pixels):.1f} MP (median {np.median(pixels):.1f}); built in "
        f"{built - began:.0f} s; {args.workers} processes for both methods"
    )

    family_ids = {f: k for k, f in enumerate(sorted({it.family for it in items}))}
    labels = np.array([family_ids[it.family] for it in items])
    i, j = np.triu_indices(n, k=1)
    positive = labels[i] == labels[j]
    print(f"pairs: {len(positive):,}, of which {int(positive.sum()):,} duplicates\n")

    warm(media / p for p in paths)
    # Other processes may load the machine: each method runs `repeat` times in the order
    # A B B A ..., each mediafix run on a fresh library, and the faster run of each counts.
    ours_runs: list[Run] = []
    common_runs: list[tuple[Run, np.ndarray, list[int | None]]] = []
    data_dir = folder / "mediafix-data"
    for rep in range(args.repeat):
        for method in ("mediafix", "common") if rep % 2 == 0 else ("common", "mediafix"):
            print(f"run {rep + 1}: {method:<8} ({load()}) ", end="", flush=True)
            if method == "mediafix":
                shutil.rmtree(data_dir, ignore_errors=True)
                ours_runs.append(run_mediafix(media, paths, args.workers, data_dir))
                print(f"{ours_runs[-1].seconds:.1f} s")
            else:
                common_runs.append(run_common(media, paths, args.workers))
                print(f"{common_runs[-1][0].seconds:.1f} s")
    print(f"done ({load()})\n")
    ours = min(ours_runs, key=lambda run: run.seconds)
    common, dist, common_hashes = min(common_runs, key=lambda run: run[0].seconds)

    t_best, s_best, sweep = best_threshold(dist, n, positive, i, j)
    s_ours = score(predicted_pairs(ours, i, j), positive)
    s_strict = score(predicted_pairs(ours, i, j, strict=True), positive)
    s_common = score(predicted_pairs(common, i, j), positive)
    rows = [
        (ours.label, ours.files, ours.seconds, s_ours),
        ("  (pairs within one group only)", ours.files, ours.seconds, s_strict),
        (common.label, common.files, common.seconds, s_common),
        (f"common: same hashes, best thr {t_best}", common.files, common.seconds, s_best),
    ]
    header = (
        f"{'method':<46} {'files':>5} {'seconds':>7} {'files/s':>7} {'precision':>9} "
        f"{'recall':>6} {'false':>5} {'missed':>6} {'speed-up':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, files, seconds, s in rows:
        print(
            f"{label:<46} {files:>5} {seconds:>7.1f} {n / seconds:>7.1f} {s.precision:>9.4f} "
            f"{s.recall:>6.4f} {s.false_pairs:>5} {s.missed_pairs:>6} "
            f"{common.seconds / seconds:>7.2f}x"
        )
    print(
        "(files: files each method could hash; files/s: all files of the set per second; "
        "speed-up: the common approach's seconds / the row's;\n mediafix's first row counts "
        "two files as duplicates when a chain of its groups joins them (a file in an exact "
        "group is also in its picture's near group), the second only when one group holds both)"
    )
    for run in (ours, common):
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in run.parts.items())
        print(f"\n{run.label}: {parts}")
        for note in run.notes:
            print(f"  {note}")
    print(
        "\ncommon approach per threshold (connected groups): "
        + ", ".join(
            f"{t}: P {s.precision:.3f} R {s.recall:.3f}"
            for t, s in sweep
            if t % 2 == 0 or t == t_best
        )
    )

    predicted = {
        "mediafix": predicted_pairs(ours, i, j),
        f"common thr {COMMON_THRESHOLD}": predicted_pairs(common, i, j),
        f"common thr {t_best}": (lambda c: (c[i] == c[j]) & (c[i] >= 0))(
            connected_groups(dist, n, t_best)
        ),
    }
    per_variant(items, predicted, i, j, positive)
    hash_distances(
        items,
        {
            "mediafix (its hash)": mediafix_hashes(data_dir, media, paths),
            "imagehash.phash": common_hashes,
        },
    )

    if args.formats:
        format_costs(media, items, args.workers)

    speedup = common.seconds / ours.seconds
    print(f"\ntargets (issue #4), against the common approach at thr {COMMON_THRESHOLD}:")
    print(
        f"  speed-up {speedup:.2f}x (>= {TARGET_SPEEDUP:.0f}x): "
        f"{'met' if speedup >= TARGET_SPEEDUP else 'MISSED'}"
    )
    print(
        f"  recall {s_ours.recall:.4f} vs {s_common.recall:.4f} (higher): "
        f"{'met' if s_ours.recall > s_common.recall else 'MISSED'}"
    )
    print(
        f"  precision {s_ours.precision:.4f} vs {s_common.precision:.4f} (equal or better): "
        f"{'met' if s_ours.precision >= s_common.precision else 'MISSED'}"
    )
    print(
        f"  against its best threshold ({t_best}): recall {s_best.recall:.4f}, precision "
        f"{s_best.precision:.4f}"
    )
    print(f"\ntotal {time.perf_counter() - began:.0f} s ({load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
