"""Hard copies: screenshots, frames, mirrored, cropped, captioned and tilted copies of a photo.

Builds a labelled set from real photos (default ../shared/corpus) with Pillow: for each photo
its original and a copy of every kind below; plus the hard negatives of ``near_dupes.py``
(documents in one layout, night shots of different scenes, two shifted shots of one scene)
and screenshots of *different* photos that share one phone's bars (same on-screen overlay).

Kinds (issue #19): ``screenshot`` (a phone canvas, status bar with a clock, navigation bar,
the photo fitted inside), ``screenshot-light`` (bars of another colour), ``letterbox``,
``pillarbox``, ``mirrored``, ``crop5-left``, ``crop5-all``, ``crop6-left-top``,
``caption`` (a 12 % band of drawn text below), ``caption-above``, ``tilt3`` (rotate + crop
to fill); harsher: ``crop10``, ``crop15``, ``crop12-right``, ``tilt5``, ``tilt8``,
``caption25``, ``banner`` (a text banner over the picture), ``white-letterbox+mirror``,
``mirror+crop5``, ``tilt+crop+third`` (tilt 3°, crop 5 %, a third of the size).

For mediafix: a pair is found when its first hashes match as ``mediafix dupes`` matches them
(64-bit hash within the threshold, detail hash within its threshold), or when any of its
copy keys are within ``COPY_THRESHOLD`` (a candidate) *and* ``media.copycheck`` confirms it.
For PHash: imagehash.phash on the fully decoded, upright picture at imagededup's default
threshold (10), and at the largest threshold that keeps precision >= 0.995.

It prints recall per kind (original -> copy) and precision over all pairs side by side, what
each candidate technique buys (recall with only some keys), the candidate and confirmed pair
counts and the CPU the confirmation took.

Run by hand: ``.venv/bin/python bench/hard_copies.py [--sources N] [--workers N]``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))

import near_dupes as nd
from mediafix.media import copycheck, fingerprint
from mediafix.services.copies import COPY_THRESHOLD

ORDINARY = ("whatsapp", "png", "heic", "crop2", "bright-18", "rot90")
KINDS = (
    "screenshot",
    "screenshot-light",
    "letterbox",
    "pillarbox",
    "mirrored",
    "crop5-left",
    "crop5-all",
    "crop6-left-top",
    "caption",
    "caption-above",
    "tilt3",
)
HARSH = (
    "crop10",
    "crop15",
    "crop12-right",
    "tilt5",
    "tilt8",
    "caption25",
    "banner",
    "white-letterbox+mirror",
    "mirror+crop5",
    "tilt+crop+third",
)
THRESHOLDS = (8, 10, 12)  # copy-key thresholds compared (each candidate up to the last is checked)
PHASH_DEFAULT = 10  # imagededup's default max_distance_threshold for PHash


# --------------------------------------------------------------------------- the kinds


def phone_screenshot(image: Image.Image, light: bool, seed: int) -> Image.Image:
    """A 1170x2532 phone screen: status bar with a clock, the photo fitted, navigation bar."""
    width, height = 1170, 2532
    background = (255, 255, 255) if light else (0, 0, 0)
    bar = (242, 242, 247) if light else (28, 28, 30)
    ink = (0, 0, 0) if light else (255, 255, 255)
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, 140), fill=bar)
    font = ImageFont.load_default(size=44)
    clock = f"{9 + seed % 12}:{seed * 7 % 60:02d}"
    draw.text((80, 50), clock, font=font, fill=ink)
    for n in range(3):  # signal, wifi, battery icons
        draw.rectangle((900 + n * 70, 60, 950 + n * 70, 95), fill=ink)
    draw.rectangle((0, height - 250, width, height), fill=bar)
    draw.text((80, height - 200), "Share   Edit   Delete", font=font, fill=ink)
    draw.rounded_rectangle((430, height - 40, 740, height - 28), radius=6, fill=ink)
    photo = image.copy()
    photo.thumbnail((width, height - 140 - 250 - 200), Image.Resampling.LANCZOS)
    canvas.paste(photo, ((width - photo.width) // 2, (height - photo.height) // 2))
    return canvas


def framed(image: Image.Image, size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    canvas = Image.new("RGB", size, colour)
    photo = image.copy()
    photo.thumbnail(size, Image.Resampling.LANCZOS)
    canvas.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    return canvas


def crop_sides(image: Image.Image, left=0.0, top=0.0, right=0.0, bottom=0.0) -> Image.Image:  # type: ignore[no-untyped-def]
    w, h = image.size
    return image.crop(
        (round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom)))
    )


def captioned(image: Image.Image, share: float, above: bool, seed: int) -> Image.Image:
    rng = random.Random(seed)
    band = max(20, round(image.height * share))
    canvas = Image.new("RGB", (image.width, image.height + band), (255, 255, 255))
    canvas.paste(image, (0, band if above else 0))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(12, band // 3))
    words = " ".join(rng.choice(nd.WORDS) for _ in range(5)).capitalize()
    y = (0 if above else image.height) + band // 3
    draw.text((image.width // 20, y), words, font=font, fill=(20, 20, 20))
    return canvas


def bannered(image: Image.Image, seed: int) -> Image.Image:
    """A dark translucent banner with words across the lower fifth of the picture."""
    rng = random.Random(seed)
    out = image.convert("RGBA")
    overlay = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    top = round(out.height * 0.72)
    draw.rectangle((0, top, out.width, top + out.height // 6), fill=(0, 0, 0, 150))
    font = ImageFont.load_default(size=max(12, out.height // 16))
    words = " ".join(rng.choice(nd.WORDS) for _ in range(4)).upper()
    draw.text(
        (out.width // 15, top + out.height // 40), words, font=font, fill=(255, 255, 255, 255)
    )
    return Image.alpha_composite(out, overlay).convert("RGB")


def tilted(image: Image.Image, degrees: float) -> Image.Image:
    """Rotate by ``degrees`` and crop the largest centred box of the same aspect that fills."""
    w, h = image.size
    turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False)
    angle = np.radians(abs(degrees))
    # a centred w*k x h*k box stays inside the rotated frame when k <= this
    k = 1 / (np.cos(angle) + np.sin(angle) * max(w / h, h / w))
    bw, bh = w * k, h * k
    box = ((w - bw) / 2, (h - bh) / 2, (w + bw) / 2, (h + bh) / 2)
    return turned.crop(tuple(round(v) for v in box))


def hard_copies(image: Image.Image, seed: int) -> dict[str, bytes]:
    """Every kind of hard copy of one upright photo, as file bytes."""
    base = nd.fit(image, 2400)
    jpeg = lambda picture, q=88: nd.encode(picture, "JPEG", quality=q)  # noqa: E731
    landscape = base.width >= base.height
    box = (1920, 1080) if landscape else (1080, 1920)
    pillar = (1920, 1080) if not landscape else (1080, 1080)
    return {
        "screenshot": nd.encode(phone_screenshot(base, False, seed), "PNG", compress_level=1),
        "screenshot-light": jpeg(phone_screenshot(base, True, seed), 92),
        "letterbox": jpeg(framed(base, (box[0], box[1] * 2 if landscape else box[1]), (0, 0, 0))),
        "pillarbox": jpeg(framed(base, pillar if landscape else (1920, 1080), (0, 0, 0))),
        "mirrored": jpeg(ImageOps.mirror(base)),
        "crop5-left": jpeg(crop_sides(base, left=0.05)),
        "crop5-all": jpeg(crop_sides(base, 0.05, 0.05, 0.05, 0.05)),
        "crop6-left-top": jpeg(crop_sides(base, left=0.06, top=0.06)),
        "caption": jpeg(captioned(base, 0.12, False, seed)),
        "caption-above": jpeg(captioned(base, 0.12, True, seed)),
        "tilt3": jpeg(tilted(base, 3)),
        "crop10": jpeg(crop_sides(base, 0.1, 0.1, 0.1, 0.1)),
        "crop15": jpeg(crop_sides(base, 0.15, 0.15, 0.15, 0.15)),
        "crop12-right": jpeg(crop_sides(base, right=0.12)),
        "tilt5": jpeg(tilted(base, -5)),
        "tilt8": jpeg(tilted(base, 8)),
        "caption25": jpeg(captioned(base, 0.25, False, seed)),
        "banner": jpeg(bannered(base, seed)),
        "white-letterbox+mirror": jpeg(
            framed(ImageOps.mirror(base), (box[0], box[1] * 2 if landscape else box[1]), (255,) * 3)
        ),
        "mirror+crop5": jpeg(crop_sides(ImageOps.mirror(base), 0.05, 0.05, 0.05, 0.05)),
        "tilt+crop+third": jpeg(
            nd.fit(crop_sides(tilted(base, 3), 0.05, 0.05, 0.05, 0.05), max(base.size) // 3)
        ),
    }


# --------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class Item:
    path: str
    family: str
    kind: str  # photo | text | night | shot | screen
    variant: str


def _make_family(kind: str, arg: str, index: int, folder: str) -> list[Item]:
    warnings.simplefilter("ignore")
    if kind in ("text", "night", "shot"):
        return [
            Item(i.path, i.family, i.kind, i.variant)
            for i in nd._make_family(kind, arg, index, folder)
        ]
    out: list[Item] = []

    def put(family: str, variant: str, data: bytes, suffix: str) -> None:
        path = os.path.join(folder, f"{family}__{variant}{suffix}")
        with open(path, "wb") as handle:
            handle.write(data)
        out.append(Item(path, family, kind, variant))

    source = Path(arg)
    image = nd.upright_rgb(source)
    if kind == "screen":  # a screenshot of a photo no other file shows: same bars as the rest
        put(
            f"screen{index:03d}",
            "original",
            nd.encode(phone_screenshot(nd.fit(image, 2400), False, 1), "PNG", compress_level=1),
            ".png",
        )
        return out
    family = f"photo{index:03d}"
    put(family, "original", source.read_bytes(), source.suffix.lower())
    ordinary = nd.photo_copies(image)
    suffixes = {"png": ".png", "heic": ".heic"}
    for variant in ORDINARY:
        put(family, variant, ordinary[variant], suffixes.get(variant, ".jpg"))
    for variant, data in hard_copies(image, index).items():
        put(family, variant, data, ".png" if variant == "screenshot" else ".jpg")
    return out


def build_set(sources: Sequence[Path], folder: Path, workers: int) -> list[Item]:
    rng = random.Random(nd.SEED)
    order = list(sources)
    rng.shuffle(order)
    n_night = n_shot = max(2, len(order) // 6)
    n_screen = max(2, len(order) // 6)
    jobs: list[tuple[str, str, int]] = []
    for index, path in enumerate(order):
        if index < n_night:
            kind = "night"
        elif index < n_night + n_shot:
            kind = "shot"
        elif index < n_night + n_shot + n_screen:
            kind = "screen"
        else:
            kind = "photo"
        jobs.append((kind, str(path), index))
    for index in range(nd.N_TEXT):
        jobs.append(("text", nd.TEXT_STYLES[index % len(nd.TEXT_STYLES)], index))
    with ProcessPoolExecutor(workers) as pool:
        futures = [
            pool.submit(_make_family, kind, arg, index, str(folder)) for kind, arg, index in jobs
        ]
        return [item for future in futures for item in future.result()]


# --------------------------------------------------------------------------- hashing


def hash_file(path: str) -> tuple[int, int, dict[str, int], int]:
    """(64-bit hash, detail hash, copy keys, imagehash.phash of the upright full decode)."""
    warnings.simplefilter("ignore")
    data = Path(path).read_bytes()
    facts = fingerprint.image_facts(data)
    cached = Path(path + ".phash")
    if cached.exists():
        reference = int(cached.read_text(), 16)
    else:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            reference = int(str(imagehash.phash(ImageOps.exif_transpose(image))), 16)
        cached.write_text(f"{reference:x}")
    return facts.phash or 0, facts.detail or 0, dict(facts.copies), reference


def check_pair(paths: tuple[str, str]) -> tuple[bool, str, float]:
    warnings.simplefilter("ignore")
    start = time.process_time()
    try:
        verdict = copycheck.compare_bytes(Path(paths[0]).read_bytes(), Path(paths[1]).read_bytes())
    except fingerprint.FingerprintError:
        return False, "", time.process_time() - start
    return verdict.same, verdict.describe(), time.process_time() - start


def popcount_pair(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x[:, None] ^ y[None, :]).astype(np.int16)


def popcount_matrix(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values[:, None] ^ values[None, :]).astype(np.int16)


# --------------------------------------------------------------------------- why


def closest_keys(x: tuple, y: tuple) -> tuple[int, str]:  # type: ignore[type-arg]
    """The closest two keys of two files (not first hash to first hash) and their names."""
    keys_x = {"0": x[0], **x[2]}
    keys_y = {"0": y[0], **y[2]}
    best = (99, "")
    for nx, vx in keys_x.items():
        for ny, vy in keys_y.items():
            if nx == ny == "0":
                continue
            d = fingerprint.hamming(vx, vy)
            if d < best[0]:
                best = (d, f"{nx}~{ny}")
    return best


def explain_pair(paths: tuple[str, str]) -> str:
    """The confirmation's numbers for a pair, whatever its verdict."""
    warnings.simplefilter("ignore")
    try:
        v = copycheck.compare_bytes(Path(paths[0]).read_bytes(), Path(paths[1]).read_bytes())
    except fingerprint.FingerprintError as exc:
        return f"unreadable: {exc}"
    return (
        f"same={v.same} inliers={v.inliers} contained={v.contained:.3f} "
        f"detail={v.detail_distance} {v.why_not or v.describe()}"
    )


def why_missed(  # type: ignore[no-untyped-def]
    items, hashed, found, original, by_kind, workers
) -> None:
    """Each missed (copy, original) pair: dropped at the candidate stage (the closest keys
    and which they are) or at the confirmation (its numbers)."""
    missed = []
    for kind in (*KINDS, *HARSH, *ORDINARY):
        for index in by_kind.get(kind, []):
            o = original[items[index].family]
            if not found[index, o]:
                missed.append((kind, index, o))
    with ProcessPoolExecutor(workers) as pool:
        told = list(pool.map(explain_pair, [(items[o].path, items[i].path) for _, i, o in missed]))
    stages: dict[str, int] = defaultdict(int)
    print("\nwhy each copy was missed (original ~ copy):")
    for (kind, index, o), words_ in zip(missed, told, strict=True):
        distance, names = closest_keys(hashed[o], hashed[index])
        stage = "candidate" if distance > COPY_THRESHOLD else "confirmation"
        stages[stage] += 1
        first = fingerprint.hamming(hashed[o][0], hashed[index][0])
        print(
            f"  {kind:<24} {items[index].family} {stage:<12} keys {distance:>2} ({names}) "
            f"first {first:>2} | {words_}"
        )
    print("  missed by stage: " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())))


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=nd.DEFAULT_CORPUS)
    parser.add_argument("--sources", type=int, default=0, help="use at most N photos (0: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--show", action="store_true", help="list misses and false matches")
    parser.add_argument("--keep", type=Path, help="build the set into DIR once and reuse it")
    parser.add_argument(
        "--why", action="store_true", help="for every missed copy, the stage that dropped it"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    began = time.perf_counter()
    sources = nd.find_sources(args.corpus)
    if args.sources:
        sources = sources[: args.sources]
    with tempfile.TemporaryDirectory(prefix="hard-copies-") as temporary:
        folder = args.keep or Path(temporary)
        listing = folder / "items.json"
        if listing.exists():
            items = [Item(**row) for row in json.loads(listing.read_text())]
        else:
            folder.mkdir(parents=True, exist_ok=True)
            items = build_set(sources, folder, args.workers)
            listing.write_text(json.dumps([vars(i) for i in items]))
        built = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            hashed = list(pool.map(hash_file, [i.path for i in items], chunksize=4))
        hashed_at = time.perf_counter()
        n = len(items)
        family = np.array([hash(i.family) for i in items])
        positive = family[:, None] == family[None, :]
        np.fill_diagonal(positive, False)
        first = popcount_matrix(np.array([h[0] for h in hashed], dtype=np.uint64))
        detail = np.zeros((n, n), dtype=np.int16)
        words = np.array(
            [[(h[1] >> s) & (2**64 - 1) for s in (192, 128, 64, 0)] for h in hashed],
            dtype=np.uint64,
        )
        for column in range(4):
            detail += popcount_matrix(words[:, column])
        ordinary = (first <= fingerprint.DEFAULT_THRESHOLD) & (
            detail <= fingerprint.DETAIL_THRESHOLD
        )
        # every key of every file: 0 = the first hash, then the copy keys; for each choice of
        # keys, the closest two keys of every pair of files (the first hashes alone excluded)
        key_sets = {
            "t": ("t",),
            "m": ("m",),
            "c": ("c",),
            "l+r+u+d": ("l", "r", "u", "d"),
            "t+m+c": ("t", "m", "c"),
            "all": fingerprint.COPY_KEYS,
        }
        closest: dict[str, np.ndarray] = {}
        for label, names in key_sets.items():
            near = np.full((n, n), 99, dtype=np.int16)
            pools = [("0", [h[0] for h in hashed])] + [
                (name, [h[2].get(name) for h in hashed]) for name in names
            ]
            for x, (name_x, keys_x) in enumerate(pools):
                for name_y, keys_y in pools[x:]:
                    if name_x == "0" and name_y == "0":
                        continue
                    vx = np.array([k or 0 for k in keys_x], dtype=np.uint64)
                    vy = np.array([k or 0 for k in keys_y], dtype=np.uint64)
                    known = (
                        np.array([k is not None for k in keys_x])[:, None]
                        & np.array([k is not None for k in keys_y])[None, :]
                    )
                    d = np.where(known, popcount_pair(vx, vy), 99).astype(np.int16)
                    near = np.minimum(near, np.minimum(d, d.T))
            np.fill_diagonal(near, 99)
            closest[label] = near
        candidates = {
            label: (near <= COPY_THRESHOLD) & ~ordinary for label, near in closest.items()
        }
        every = np.triu((closest["all"] <= max(THRESHOLDS)) & ~ordinary, 1)
        pairs = np.argwhere(every)
        checked_at = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as pool:
            checks = list(
                pool.map(
                    check_pair, [(items[i].path, items[j].path) for i, j in pairs], chunksize=8
                )
            )
        done = time.perf_counter()
    verified = np.zeros((n, n), dtype=bool)
    reason: dict[tuple[int, int], str] = {}
    for (i, j), (same, words_, _cpu) in zip(pairs, checks, strict=True):
        if same:
            verified[i, j] = verified[j, i] = True
            reason[(i, j)] = reason[(j, i)] = words_
    cpu = sum(c[2] for c in checks)
    reference = popcount_matrix(np.array([h[3] for h in hashed], dtype=np.uint64))
    upper = np.triu(np.ones((n, n), dtype=bool), 1)

    def precision(found: np.ndarray) -> tuple[float, int]:
        tp = int((found & positive & upper).sum())
        fp = int((found & ~positive & upper).sum())
        return (tp / (tp + fp) if tp + fp else 1.0), fp

    phash_best = max(
        (t for t in range(0, 33) if precision(reference <= t)[0] >= nd.TARGET_PRECISION), default=0
    )
    systems = {
        "mediafix": ordinary | (candidates["all"] & verified),
        f"PHash t={PHASH_DEFAULT}": reference <= PHASH_DEFAULT,
        f"PHash t={phash_best}": reference <= phash_best,
    }
    techniques = {
        "first hash only (main)": ordinary,
        **{
            f"+ {label} keys, confirmed": ordinary | (candidates[label] & verified)
            for label in key_sets
        },
    }
    print(
        f"set: {n} files from {len(sources)} photos + {nd.N_TEXT} pages; "
        f"built {built - began:.0f} s, "
        f"hashed {hashed_at - built:.0f} s; copy threshold {COPY_THRESHOLD}, "
        f"detail limit {copycheck.DETAIL_LIMIT}"
    )
    print(
        f"hard-copy stage: {len(pairs)} candidate pairs, "
        f"{int(np.triu(verified, 1).sum())} confirmed, "
        f"{cpu:.1f} s CPU ({1000 * cpu / max(1, len(pairs)):.0f} ms per pair), "
        f"{done - checked_at:.0f} s wall on {args.workers} processes\n"
    )
    variant = np.array([i.variant for i in items])
    original = {i.family: index for index, i in enumerate(items) if i.variant == "original"}
    by_kind: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.kind == "photo" and item.variant != "original":
            by_kind[item.variant].append(index)
    del variant

    def recall(found: np.ndarray, kinds: Sequence[str]) -> float:
        hits = total = 0
        for kind in kinds:
            for index in by_kind.get(kind, []):
                total += 1
                hits += bool(found[index, original[items[index].family]])
        return hits / total if total else float("nan")

    names = list(systems)
    print(f"{'kind of copy':<26}" + "".join(f"{name:>16}" for name in names))
    print("-" * (26 + 16 * len(names)))
    for group_name, kinds in (("ordinary", ORDINARY), ("issue table", KINDS), ("harsher", HARSH)):
        for kind in kinds:
            print(f"{kind:<26}" + "".join(f"{recall(systems[s], [kind]):>16.3f}" for s in names))
        print(
            f"{'= recall, ' + group_name:<26}"
            + "".join(f"{recall(systems[s], kinds):>16.3f}" for s in names)
        )
    print(
        f"{'precision, all pairs':<26}"
        + "".join(f"{precision(systems[s])[0]:>16.4f}" for s in names)
    )
    print(f"{'false pairs':<26}" + "".join(f"{precision(systems[s])[1]:>16d}" for s in names))
    print("\nwhat each candidate technique buys (mediafix, confirmed):")
    print(f"{'keys searched':<30}{'ordinary':>10}{'table':>10}{'harsher':>10}{'precision':>11}")
    for label, found in techniques.items():
        print(
            f"{label:<30}{recall(found, ORDINARY):>10.3f}{recall(found, KINDS):>10.3f}"
            f"{recall(found, HARSH):>10.3f}{precision(found)[0]:>11.4f}"
        )
    print("\ncopy-key threshold (all keys): candidates, confirmed, recall (confirmed)")
    print(
        f"{'threshold':<12}{'candidates':>11}{'confirmed':>10}{'ordinary':>10}{'table':>10}{'harsher':>10}{'precision':>11}"
    )
    for t in THRESHOLDS:
        found_t = (closest["all"] <= t) & ~ordinary
        both = found_t & verified
        print(
            f"{t:<12}{int(np.triu(found_t, 1).sum()):>11}{int(np.triu(both, 1).sum()):>10}"
            f"{recall(ordinary | both, ORDINARY):>10.3f}{recall(ordinary | both, KINDS):>10.3f}"
            f"{recall(ordinary | both, HARSH):>10.3f}{precision(ordinary | both)[0]:>11.4f}"
        )
    if args.why:
        why_missed(items, hashed, systems["mediafix"], original, by_kind, args.workers)
    if args.show:
        found = systems["mediafix"]
        for kind in (*KINDS, *HARSH):
            for index in by_kind.get(kind, []):
                o = original[items[index].family]
                if not found[index, o]:
                    cand = int(closest["all"][index, o])
                    print(
                        f"missed {kind:<24} {items[index].family} closest keys {cand} "
                        f"first {first[index, o]}"
                    )
        for i, j in np.argwhere(found & ~positive & upper):
            print(
                f"false {items[i].family}:{items[i].variant} ~ "
                f"{items[j].family}:{items[j].variant} {reason.get((i, j), 'first hash')}"
            )
        shown = 0
        for (i, j), words_ in reason.items():
            if i < j and shown < 25:
                print(f"reason {items[i].variant} ~ {items[j].variant}: {words_}")
                shown += 1
    print(f"\ntotal {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
