"""Which perceptual hash, at which threshold, finds copies of a photo and nothing else?

Builds a labelled set in a temporary folder from real photos (default: ../shared/corpus):

* copies of each photo, the way copies arise in a family archive: a WhatsApp-like copy
  (1600 px long side, JPEG quality 70, metadata stripped), format changes (PNG, WebP,
  HEIC via pillow-heif, JPEG), a 2 % crop per side, brightness +-18 %, pixels physically
  rotated 90/180/270 with a compensating EXIF Orientation tag, and combinations;
* hard negatives: documents in one layout with different texts (letters, forms, invoices
  with a ruled table, narrow till receipts), very dark night shots of different scenes, and
  different "shots" of one scene (windows shifted by 30 %), each with a copy or two of its
  own.

Every pair of files is a positive (both derive from one original) or a negative. For each
candidate hash it prints pairwise precision and recall per threshold, and the time per
image (decode + hash, on one core); mediafix's own row is its 64-bit hash with each match
confirmed by its 256-bit detail hash. The candidates share mediafix's fast decode
(DCT-scaled JPEG, HEIC thumbnail, orientation applied); the reference row is the common
approach, a full decode + ``imagehash.phash`` as imagededup does it.

Run by hand: ``.venv/bin/python bench/near_dupes.py [--corpus DIR] [--sources N]``.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
import pillow_heif
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from mediafix.media import fingerprint

pillow_heif.register_heif_opener()

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".heic", ".heif", ".png", ".webp", ".avif", ".tif", ".tiff"}
TARGET_PRECISION = 0.995
TARGET_RECALL = 0.98
SEED = 20260202
N_TEXT = 48  # document pages, in TEXT_STYLES in turn
TEXT_STYLES = ("form", "letter", "invoice", "receipt")


# --------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class Item:
    """One file of the set: ``family`` is shared by an original and all its copies."""

    path: str
    family: str
    kind: str  # photo | text | night | shot
    variant: str


def find_sources(corpus: Path, min_side: int = 480) -> list[Path]:
    """Photos of distinct scenes: decodable, not tiny, no two alike (16x16 correlation)."""
    kept: list[Path] = []
    thumbs: list[np.ndarray] = []
    for root, dirs, files in os.walk(corpus):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            if path.suffix.lower() not in PHOTO_SUFFIXES or path.stat().st_size < 30_000:
                continue
            try:
                with Image.open(path) as image:
                    if min(image.size) < min_side:
                        continue
                    image.draft("RGB", (256, 256))
                    upright = ImageOps.exif_transpose(image).convert("L")
                    thumb = np.asarray(upright.resize((16, 16), Image.Resampling.BOX), float)
            except Exception:
                continue
            vector = thumb.ravel() - thumb.mean()
            norm = float(np.linalg.norm(vector))
            if norm < 1e-6:
                continue
            vector /= norm
            if any(float(vector @ other) > 0.8 for other in thumbs):
                continue  # the same scene as a photo already kept (or a copy of it)
            kept.append(path)
            thumbs.append(vector)
    return kept


def upright_rgb(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def fit(image: Image.Image, long_side: int) -> Image.Image:
    if max(image.size) <= long_side:
        return image
    scale = long_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def crop_per_side(image: Image.Image, fraction: float) -> Image.Image:
    dx, dy = round(image.width * fraction), round(image.height * fraction)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def brighten(image: Image.Image, factor: float) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(factor)


# Pixels turned by Transpose X need this Orientation tag to be shown upright again.
ROTATIONS = {
    90: (Image.Transpose.ROTATE_90, 6),
    180: (Image.Transpose.ROTATE_180, 3),
    270: (Image.Transpose.ROTATE_270, 8),
}


def encode(image: Image.Image, fmt: str, orientation: int = 1, **options: object) -> bytes:
    """Encode ``image`` (no metadata but an Orientation tag when asked)."""
    buffer = io.BytesIO()
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    if fmt == "HEIF":
        options.setdefault("enc_params", {"preset": "ultrafast"})
    image.save(buffer, fmt, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def rotated(image: Image.Image, degrees: int, fmt: str, **options: object) -> bytes:
    transpose, tag = ROTATIONS[degrees]
    return encode(image.transpose(transpose), fmt, orientation=tag, **options)


def whatsapp(image: Image.Image) -> bytes:
    return encode(fit(image, 1600), "JPEG", quality=70)


def photo_copies(image: Image.Image) -> dict[str, bytes]:
    """The copies of one upright photo (the original file is the family's first member)."""
    small = fit(image, 1600)
    cropped = crop_per_side(image, 0.02)
    return {
        "whatsapp": whatsapp(image),
        "png": encode(image, "PNG", compress_level=1),
        "webp": encode(image, "WEBP", quality=80, method=0),
        "heic": encode(fit(image, 2560), "HEIF", quality=60),
        "jpeg": encode(image, "JPEG", quality=85),
        "crop2": encode(cropped, "JPEG", quality=90),
        "bright+18": encode(brighten(image, 1.18), "JPEG", quality=90),
        "bright-18": encode(brighten(image, 0.82), "JPEG", quality=90),
        "rot90": rotated(image, 90, "JPEG", quality=90),
        "rot180": rotated(image, 180, "JPEG", quality=90),
        "rot270": rotated(image, 270, "JPEG", quality=90),
        "whatsapp+rot90": rotated(small, 90, "JPEG", quality=70),
        "heic+rot270": rotated(small, 270, "HEIF", quality=60),
        "crop2+bright+15+webp": encode(brighten(cropped, 1.15), "WEBP", quality=75, method=0),
        "crop2+whatsapp": whatsapp(cropped),
        "bright-15+whatsapp": whatsapp(brighten(image, 0.85)),
    }


def night_shot(image: Image.Image, seed: int) -> Image.Image:
    """A very dark, noisy version of a scene (mean grey level around 6 of 255)."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(fit(image, 3000), dtype=np.float32) / 255.0
    dark = 255.0 * 0.09 * pixels**1.6 + rng.normal(0.0, 1.2, pixels.shape)
    return Image.fromarray(np.clip(dark, 0, 255).astype(np.uint8), "RGB")


def shifted_windows(image: Image.Image) -> list[Image.Image]:
    """Two 70 % windows of one scene, 30 % apart: different shots, not copies."""
    w, h = image.size
    ww, wh = round(w * 0.7), round(h * 0.7)
    dx, dy = w - ww, h - wh
    if w >= h:
        top = dy // 2
        return [image.crop((0, top, ww, top + wh)), image.crop((dx, top, w, top + wh))]
    left = dx // 2
    return [image.crop((left, 0, left + ww, wh)), image.crop((left, dy, left + ww, h))]


WORDS = (  # noqa: SIM905
    "the of and to in is was for on are with as his they be at one have this from or had "
    "by word but what some we can out other were all there when up use your how said an "
    "each she which do their time if will way about many then them write would like so "
    "these her long make thing see him two has look more day could go come did number "
    "sound no most people my over know water than call first who may down side been now "
    "find any new work part take get place made live where after back little only round "
    "man year came show every good me give our under name very through just form "
    "sentence great think say help low line differ turn cause much mean before move "
    "right boy old too same tell does set three want air well also invoice account "
    "payment receipt statement balance total amount schedule meeting school garden "
    "doctor insurance contract holiday family address telephone reference customer"
).split()


def text_page(seed: int, style: str) -> Image.Image:
    """A document page: one layout for all pages of a style, a different text on each."""
    rng = random.Random(seed)
    page = Image.new("RGB", (1240, 1754), "white")
    draw = ImageDraw.Draw(page)
    title = ImageFont.load_default(size=44)
    body = ImageFont.load_default(size=24)
    left, right, top, pitch = 130, 1110, 140, 36
    draw.text(
        (left, top),
        " ".join(rng.choice(WORDS).capitalize() for _ in range(3)),
        font=title,
        fill="black",
    )
    y = top + 100
    if style == "letter":  # paragraphs of wrapped text, ragged right
        for _ in range(6):
            words = [rng.choice(WORDS) for _ in range(rng.randint(40, 70))]
            line = ""
            for word in words:
                candidate = f"{line} {word}".strip()
                if draw.textlength(candidate, font=body) > right - left:
                    draw.text((left, y), line, font=body, fill=(25, 25, 25))
                    y += pitch
                    line = word
                else:
                    line = candidate
            draw.text((left, y), line, font=body, fill=(25, 25, 25))
            y += pitch + 28
    elif style == "invoice":  # a boxed header and a ruled table of items and prices
        draw.rectangle((100, 100, 1140, 230), outline="black", width=3)
        y = 300
        for _ in range(26):
            draw.line((100, y, 1140, y), fill=(120, 120, 120), width=1)
            item = " ".join(rng.choice(WORDS) for _ in range(3))
            draw.text((120, y + 8), item, font=body, fill="black")
            price = f"{rng.randint(1, 999)}.{rng.randint(0, 99):02d}"
            draw.text((900, y + 8), price, font=body, fill="black")
            y += 48
        draw.line((860, 300, 860, y), fill=(120, 120, 120), width=1)
    elif style == "receipt":  # a narrow column in the middle of a white page
        y = top + 100
        for _ in range(42):
            item = " ".join(rng.choice(WORDS) for _ in range(2))
            draw.text(
                (430, y),
                f"{item}  {rng.randint(1, 99)}.{rng.randint(0, 99):02d}",
                font=body,
                fill=(30, 30, 30),
            )
            y += 34
    else:  # "form": the same 36 full lines on every page, only the words differ
        for _ in range(36):
            line = ""
            while draw.textlength(line, font=body) < right - left - 60:
                line = f"{line} {rng.choice(WORDS)}".strip()
            draw.text((left, y), line, font=body, fill=(25, 25, 25))
            y += pitch
    return page


def build_set(sources: Sequence[Path], folder: Path, workers: int) -> list[Item]:
    """Write every file of the set into ``folder``; return the labelled list."""
    rng = random.Random(SEED)
    order = list(sources)
    rng.shuffle(order)
    n_night = n_shot = max(2, len(order) // 5)
    jobs: list[tuple[str, str, int]] = []
    for index, path in enumerate(order):
        kind = "night" if index < n_night else "shot" if index < n_night + n_shot else "photo"
        jobs.append((kind, str(path), index))
    for index in range(N_TEXT):
        jobs.append(("text", TEXT_STYLES[index % len(TEXT_STYLES)], index))
    items: list[Item] = []
    with ProcessPoolExecutor(workers) as pool:
        futures = [
            pool.submit(_make_family, kind, arg, index, str(folder)) for kind, arg, index in jobs
        ]
        for future in futures:
            items.extend(future.result())
    return items


def _make_family(kind: str, arg: str, index: int, folder: str) -> list[Item]:
    warnings.simplefilter("ignore")
    out: list[Item] = []

    def put(family: str, variant: str, data: bytes, suffix: str) -> None:
        path = os.path.join(folder, f"{family}__{variant}{suffix}")
        with open(path, "wb") as handle:
            handle.write(data)
        out.append(Item(path, family, kind, variant))

    if kind == "text":
        family = f"text{index:02d}-{arg}"
        page = text_page(SEED + index, arg)
        put(family, "original", encode(page, "PNG"), ".png")
        put(family, "whatsapp", whatsapp(page), ".jpg")
        put(family, "crop2", encode(crop_per_side(page, 0.02), "JPEG", quality=85), ".jpg")
        return out
    source = Path(arg)
    image = upright_rgb(source)
    family = f"{kind}{index:03d}"
    if kind == "photo":
        put(family, "original", source.read_bytes(), source.suffix.lower())
        suffixes = {
            "png": ".png",
            "webp": ".webp",
            "heic": ".heic",
            "heic+rot270": ".heic",
            "crop2+bright+15+webp": ".webp",
        }
        for variant, data in photo_copies(image).items():
            put(family, variant, data, suffixes.get(variant, ".jpg"))
    elif kind == "night":
        dark = night_shot(image, SEED + index)
        put(family, "original", encode(dark, "JPEG", quality=90), ".jpg")
        put(family, "whatsapp", whatsapp(dark), ".jpg")
        put(family, "bright+18", encode(brighten(dark, 1.18), "JPEG", quality=90), ".jpg")
    else:
        for number, window in enumerate(shifted_windows(image)):
            put(f"{family}-{number}", "original", encode(window, "JPEG", quality=90), ".jpg")
            put(f"{family}-{number}", "whatsapp", whatsapp(window), ".jpg")
    return out


# --------------------------------------------------------------------------- the hashes


def _dct_matrix(n: int, rows: range) -> np.ndarray:
    k = np.array(list(rows))[:, None]
    i = np.arange(n)[None, :]
    matrix = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    matrix[k[:, 0] == 0] /= np.sqrt(2.0)
    return matrix


def _shrink(pixels: np.ndarray, w: int, h: int) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    return np.asarray(image.resize((w, h), Image.Resampling.BOX), dtype=np.float64)


def _words(bits: np.ndarray) -> tuple[int, ...]:
    """Bits (multiple of 64) -> big-endian uint64 words."""
    packed = np.packbits(bits.astype(bool)).tobytes()
    return tuple(int.from_bytes(packed[i : i + 8], "big") for i in range(0, len(packed), 8))


D32_8 = _dct_matrix(32, range(8))
D64_16 = _dct_matrix(64, range(16))
D64_PDQ = _dct_matrix(64, range(1, 17))


def h_phash64(pixels: np.ndarray) -> tuple[int, ...]:
    value = fingerprint.phash_dct(pixels)
    return (value if value is not None else 0,)


def h_detail256(pixels: np.ndarray) -> tuple[int, ...]:
    value = fingerprint.detail_dct(pixels)
    return _words(np.zeros(256)) if value is None else _split256(value)


def _split256(value: int) -> tuple[int, ...]:
    return tuple((value >> shift) & 0xFFFFFFFFFFFFFFFF for shift in (192, 128, 64, 0))


def h_phash64_plain(pixels: np.ndarray) -> tuple[int, ...]:
    """The textbook pHash (as imagehash computes it), on our decode: no window."""
    c = (D32_8 @ _shrink(pixels, 32, 32) @ D32_8.T).ravel()
    return _words(c > np.median(c))


def h_phash64_mean(pixels: np.ndarray) -> tuple[int, ...]:
    c = (D32_8 @ _shrink(pixels, 32, 32) @ D32_8.T).ravel()
    return _words(c > c[1:].mean())


def h_dhash64(pixels: np.ndarray) -> tuple[int, ...]:
    s = _shrink(pixels, 9, 8)
    return _words(s[:, 1:] > s[:, :-1])


def h_phash256(pixels: np.ndarray) -> tuple[int, ...]:
    c = (D64_16 @ _shrink(pixels, 64, 64) @ D64_16.T).ravel()
    return _words(c > np.median(c))


def h_pdq_like(pixels: np.ndarray) -> tuple[int, ...]:
    """PDQ's recipe on our decode: 64x64 box-filtered luma, 16x16 DCT without DC, median."""
    c = (D64_PDQ @ _shrink(pixels, 64, 64) @ D64_PDQ.T).ravel()
    return _words(c > np.median(c))


FAST_HASHES: dict[str, tuple[int, Callable[[np.ndarray], tuple[int, ...]]]] = {
    "pHash-64 DCT median, Tukey window (mediafix)": (64, h_phash64),
    "pHash-64 DCT median": (64, h_phash64_plain),
    "pHash-64 DCT mean": (64, h_phash64_mean),
    "dHash-64": (64, h_dhash64),
    "pHash-256 DCT median": (256, h_phash256),
    "PDQ-like 256": (256, h_pdq_like),
    "detail-256: windowed, frequencies 1..16 (mediafix)": (256, h_detail256),
}
MEDIAFIX = "pHash-64 Tukey, confirmed by detail-256 (mediafix)"
REFERENCE = "imagehash.phash, full decode"
REFERENCE_UPRIGHT = "imagehash.phash, full decode + exif_transpose"


def hash_file(path: str) -> tuple[dict[str, tuple[int, ...]], dict[str, float]]:
    """Every candidate's hash of one file and the seconds each took (one core)."""
    warnings.simplefilter("ignore")
    data = Path(path).read_bytes()
    hashes: dict[str, tuple[int, ...]] = {}
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    luma = fingerprint.load_luma(data)
    decode = time.perf_counter() - start
    for name, (_bits, function) in FAST_HASHES.items():
        start = time.perf_counter()
        hashes[name] = function(luma.pixels)
        seconds[name] = decode + time.perf_counter() - start
    detail = "detail-256: windowed, frequencies 1..16 (mediafix)"
    seconds[MEDIAFIX] = seconds["pHash-64 DCT median, Tukey window (mediafix)"]
    seconds[MEDIAFIX] += seconds[detail] - decode
    for name, upright in ((REFERENCE, False), (REFERENCE_UPRIGHT, True)):
        start = time.perf_counter()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            shown = ImageOps.exif_transpose(image) if upright else image
            value = int(str(imagehash.phash(shown)), 16)
        hashes[name] = (value,)
        seconds[name] = time.perf_counter() - start
    return hashes, seconds


# --------------------------------------------------------------------------- scoring


def distances(words: np.ndarray) -> np.ndarray:
    """Hamming distance of every pair i < j (condensed, row-major)."""
    n = len(words)
    i, j = np.triu_indices(n, k=1)
    total = np.zeros(len(i), dtype=np.int32)
    for column in range(words.shape[1]):
        total += np.bitwise_count(words[i, column] ^ words[j, column]).astype(np.int32)
    return total


@dataclass
class Score:
    threshold: int
    precision: float
    recall: float
    false_pairs: int
    missed_pairs: int


def score(dist: np.ndarray, positive: np.ndarray, thresholds: Sequence[int]) -> list[Score]:
    total_positive = int(positive.sum())
    out = []
    for t in thresholds:
        predicted = dist <= t
        tp = int(np.count_nonzero(predicted & positive))
        fp = int(np.count_nonzero(predicted & ~positive))
        precision = tp / (tp + fp) if tp + fp else 1.0
        out.append(Score(t, precision, tp / total_positive, fp, total_positive - tp))
    return out


def feasible(scores: Sequence[Score]) -> list[int]:
    return [
        s.threshold for s in scores if s.precision >= TARGET_PRECISION and s.recall >= TARGET_RECALL
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--sources", type=int, default=0, help="use at most N photos (0: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # broken EXIF in the corpus is not this bench's news
    began = time.perf_counter()

    sources = find_sources(args.corpus)
    if args.sources:
        sources = sources[: args.sources]
    if len(sources) < 10:
        print(f"need at least 10 distinct photos under {args.corpus}, found {len(sources)}")
        return 2
    with tempfile.TemporaryDirectory(prefix="near-dupes-") as folder:
        items = build_set(sources, Path(folder), args.workers)
        built = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(hash_file, [item.path for item in items], chunksize=4))
        hashed = time.perf_counter()

    kinds = Counter(item.kind for item in items)
    families = {item.family for item in items}
    print(
        f"set: {len(items)} files from {len(sources)} photos + {N_TEXT} document pages "
        f"({dict(kinds)}), {len(families)} families; built in {built - began:.0f} s, "
        f"hashed in {hashed - built:.0f} s on {args.workers} processes"
    )
    family_ids = {family: number for number, family in enumerate(sorted(families))}
    labels = np.array([family_ids[item.family] for item in items])
    i_idx, j_idx = np.triu_indices(len(items), k=1)
    positive = labels[i_idx] == labels[j_idx]
    print(f"pairs: {len(positive):,} ({int(positive.sum()):,} positive)\n")

    names = [*FAST_HASHES, REFERENCE, REFERENCE_UPRIGHT]
    bits = {name: FAST_HASHES[name][0] if name in FAST_HASHES else 64 for name in names}
    all_scores: dict[str, list[Score]] = {}
    all_dist: dict[str, np.ndarray] = {}
    for name in names:
        words = np.array([result[0][name] for result in results], dtype=np.uint64)
        all_dist[name] = distances(words)
    # mediafix's matches: within the 64-bit threshold and confirmed by the detail hash
    # (a veto shows as an impossible distance, 65).
    detail = all_dist["detail-256: windowed, frequencies 1..16 (mediafix)"]
    first = all_dist["pHash-64 DCT median, Tukey window (mediafix)"]
    all_dist[MEDIAFIX] = np.where(detail <= fingerprint.DETAIL_THRESHOLD, first, 65)
    names.insert(0, MEDIAFIX)
    bits[MEDIAFIX] = 64
    header = (
        f"{'hash':<48} {'bits':>4} {'thr':>4} {'precision':>9} {'recall':>7} "
        f"{'false':>6} {'missed':>6} {'ms/img':>7} {'ms/jpeg':>7}"
    )
    jpeg = [item.path.endswith(".jpg") for item in items]
    print(header)
    print("-" * len(header))
    for name in names:
        dist = all_dist[name]
        step = bits[name] // 64
        thresholds = [step * t for t in range(0, 25)]
        scores = score(dist, positive, thresholds)
        all_scores[name] = scores
        ms = 1000 * float(np.mean([result[1][name] for result in results]))
        ms_jpeg = 1000 * float(
            np.mean([r[1][name] for r, is_jpeg in zip(results, jpeg, strict=True) if is_jpeg])
        )
        ok = feasible(scores)
        best = max(scores, key=lambda s: (s.precision >= TARGET_PRECISION, s.recall))
        shown = sorted(
            {*ok[:1], *ok[-1:], best.threshold}
            | {t for t in thresholds if abs(t - best.threshold) <= 2 * step}
        )
        for s in scores:
            if s.threshold not in shown:
                continue
            mark = " *" if s.threshold in ok else ""
            print(
                f"{name:<48} {bits[name]:>4} {s.threshold:>4} {s.precision:>9.4f} "
                f"{s.recall:>7.4f} {s.false_pairs:>6} {s.missed_pairs:>6} {ms:>7.1f} "
                f"{ms_jpeg:>7.1f}{mark}"
            )
        span = f"{ok[0]}..{ok[-1]}" if ok else "none"
        print(f"{'':<48} thresholds meeting both targets: {span}")
    print(
        "(* = precision >= 0.995 and recall >= 0.98; ms/img: decode + hash on one core, all "
        "files; ms/jpeg: the .jpg files only)\n"
    )

    chosen = MEDIAFIX
    ok = feasible(all_scores[chosen])
    threshold = fingerprint.DEFAULT_THRESHOLD
    span = f"{ok[0]}..{ok[-1]}" if ok else "none"
    print(
        f"chosen: {chosen}, default threshold {threshold} (DEFAULT_THRESHOLD in "
        f"mediafix/media/fingerprint.py), detail threshold {fingerprint.DETAIL_THRESHOLD} of "
        f"256 (DETAIL_THRESHOLD); thresholds meeting both targets here: {span}"
    )
    report_detail(items, all_dist[chosen], positive, i_idx, j_idx, threshold)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")
    return 0


def report_detail(
    items: Sequence[Item],
    dist: np.ndarray,
    positive: np.ndarray,
    i_idx: np.ndarray,
    j_idx: np.ndarray,
    threshold: int,
) -> None:
    """Recall per kind of copy and false matches per kind of negative, at ``threshold``."""
    variant = np.array([item.variant for item in items])
    kind = np.array([item.kind for item in items])
    missed: dict[str, list[int]] = defaultdict(list)
    originals = positive & ((variant[i_idx] == "original") | (variant[j_idx] == "original"))
    for pair in np.flatnonzero(originals):
        a, b = i_idx[pair], j_idx[pair]
        copy = items[b] if items[a].variant == "original" else items[a]
        missed[f"{copy.kind}:{copy.variant}"].append(int(dist[pair]))
    print(f"\nat threshold {threshold}: distance original -> copy (max, mean) and recall")
    for key in sorted(missed):
        values = np.array(missed[key])
        print(
            f"  {key:<30} max {values.max():>3} mean {values.mean():5.1f} "
            f"recall {np.mean(values <= threshold):.3f}"
        )
    false = ~positive & (dist <= threshold)
    pairs = Counter(
        "-".join(sorted((kind[i_idx[p]], kind[j_idx[p]]))) for p in np.flatnonzero(false)
    )
    print(f"false matches by kind of pair: {dict(pairs) or 'none'}")
    negative = ~positive
    for name in ("text", "night", "shot", "photo"):
        same = negative & (kind[i_idx] == name) & (kind[j_idx] == name)
        if same.any():
            values = dist[same]
            print(
                f"  {name}-{name} negatives: min distance {values.min()}, "
                f"1st percentile {np.percentile(values, 1):.0f}, median {np.median(values):.0f}"
            )


if __name__ == "__main__":
    sys.exit(main())
