"""Fast decode + perceptual hash of one image.

Why this module exists: the probe needs, for every image, its displayed size, its EXIF
orientation and a perceptual hash, and it must get them cheaply on a small NAS. A perceptual
hash only looks at a 32x32 grey thumbnail, so decoding millions of full-size pixels is wasted
work:

* JPEG is decoded DCT-scaled (``Image.draft``: libjpeg decodes 1/2, 1/4 or 1/8 of the size),
  straight to luma; a 12 MP photo costs about one tenth of a full decode.
* HEIC/HEIF goes through pillow-heif, whose ``draft`` picks the embedded thumbnail when it is
  a faithful scaled copy. libheif already applies the container's rotation and mirroring
  (``irot``/``imir``) and pillow-heif resets the EXIF Orientation to 1, so a HEIC is never
  rotated a second time here; its original tag is still reported.
* PNG, WebP, AVIF, TIFF, GIF and BMP are decoded by Pillow (AVIF: Pillow >= 11.2, which hands
  the container's rotation over as an EXIF Orientation, applied here like any other).

The EXIF orientation is applied *before* hashing, so a photo stored rotated with an
orientation tag hashes like its upright copy.

The hash (chosen by measurement, see ``bench/near_dupes.py``): a 64-bit DCT pHash with a
tapered window. The upright luma is shrunk to 32x32 (box filter, in floating point so very
dark photos keep their detail), its mean removed and its outer 30 % on each side faded out
with a cosine (Tukey) window, then transformed with a 2-D DCT-II; the 8x8 lowest frequencies
are compared with their median, one bit per coefficient, first coefficient in the highest
bit. The window is what makes it work: a crop or a re-framed copy changes the picture's edges
most, and pages of text in one layout differ mostly in the middle, so fading the edges both
keeps copies closer (crop 2 %: fewer bits flip) and pushes different documents apart. Because
the median splits the 64 coefficients in half, every hash has 32 bits set and distances are
even.

The 64-bit hash finds candidates fast; a second, *detail* hash confirms them (also chosen in
``bench/near_dupes.py``): the same windowed luma at 64x64, its 16x16 DCT frequencies 1..16
(the flat first row and column left out, as PDQ does) against their median: 256 bits that
see four times finer structure. Pages in one layout (forms, invoices, receipts) share their
coarse structure, so the 64-bit hash puts some of them within the threshold; their words
still differ at the finer scale, where a copy (resized, recompressed, cropped 2 %) does not.

Hard copies (screenshots, frames, mirrored, cropped, captioned and tilted copies) move the
64-bit hash too far, so :func:`copy_keys` adds a few more 64-bit keys of the same kind, each
searched like the first (chosen in ``bench/hard_copies.py``): the picture with its uniform or
near-uniform bars trimmed off (``t``: a phone's status and navigation bars, a letterbox, a
caption band), the mirror image of that (``m``), its central region (``c``), four windows
anchored on one side each (``l``, ``r``, ``u``, ``d``) and the picture turned 6° each way and
cropped to fill (``p``, ``n``: straightened copies). A pair found only through them is a
*candidate*; ``media.copycheck`` confirms it on the pixels.

Safety: the size is checked before any pixel is allocated. A JPEG may declare up to
``MAX_SOURCE_PIXELS`` because only a scaled-down copy is decoded; whatever must really be
decoded is capped at ``MAX_DECODE_PIXELS``. Every failure, whatever its cause, comes out as
one :class:`FingerprintError` whose message is one readable line.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, JpegImagePlugin, UnidentifiedImageError

__all__ = [
    "COPY_KEYS",
    "DEFAULT_THRESHOLD",
    "DETAIL_BITS",
    "DETAIL_THRESHOLD",
    "HASH_BITS",
    "MAX_DECODE_PIXELS",
    "MAX_SOURCE_PIXELS",
    "FingerprintError",
    "ImageFacts",
    "Luma",
    "copy_keys",
    "detail_dct",
    "hamming",
    "image_facts",
    "load_luma",
    "phash_dct",
    "trim_bars",
]


@lru_cache(maxsize=1)
def _open_heif_too() -> None:
    """Teach Pillow HEIC/AVIF, once, when the first file that is not a JPEG is opened:
    pillow_heif costs ~0.05 CPU-s to load, a fifth of `inspect` of one photo (issue #20)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


HASH_BITS = 64
# Largest Hamming distance (of 64 bits) at which two images count as near duplicates.
# Chosen in bench/near_dupes.py; similarity.group_near takes it as a parameter.
DEFAULT_THRESHOLD = 8
# The detail hash's bits, and the largest distance at which it confirms a pair (fixed: it
# guards precision whatever near-duplicate threshold a person picks).
DETAIL_BITS = 256
DETAIL_THRESHOLD = 56
# Pixels that may really be decoded (a 120 MP RGB image is about 360 MB in memory).
MAX_DECODE_PIXELS = 120_000_000
# Pixels a JPEG may declare: only a 1/8-scale copy of it is decoded (600 MP -> 9.4 MP).
MAX_SOURCE_PIXELS = 600_000_000
# Side of the grey thumbnail the DCT runs on, and of the low-frequency block kept.
HASH_SAMPLE = 32
HASH_BLOCK = 8
DETAIL_SAMPLE = 64
DETAIL_BLOCK = 16
# Fraction of the thumbnail's width faded by the Tukey window (half of it on each side).
WINDOW_TAPER = 0.6
# Shortest side asked of the decoder: four times the thumbnail, so the final shrink
# averages the same way whatever the decoder (DCT scaling, HEIC thumbnail, box reduce).
DRAFT_SIDE = 128
# A thumbnail whose grey levels span less than this (of 255) has no structure to hash:
# its bits would be noise, and every blank frame would "match" every other one.
FLAT_RANGE = 2.0

# The extra keys of a picture (see copy_keys), in the order they are stored.
COPY_KEYS = ("t", "m", "c", "l", "r", "u", "d", "p", "n")
# A row (or column) is part of a bar when at least this share of its pixels lies within
# BAR_TOLERANCE grey levels of its median: plain bars, and bars with a clock, icons or a
# caption's words on them.
BAR_SHARE = 0.72
BAR_TOLERANCE = 10.0
# At most this share of a side is trimmed as bars (a screenshot of a landscape photo on a
# portrait phone is ~70 % bars top and bottom together).
BAR_MAX = 0.42
# Rows of words a bar may carry (a caption line), as a share of the side.
BAR_TEXT = 0.06
# Grey levels a bar's rows may drift before it is taken for a sky or a wall.
BAR_DRIFT = 8.0
# Central region hashed for the "c" key: this share of each side is left out.
CENTRE_MARGIN = 0.1
# Side windows ("l", "r", "u", "d" keys) leave out this share of the opposite side.
SIDE_MARGIN = 0.15
# The "p" and "n" keys: the picture turned by this many degrees (anticlockwise, clockwise)
# and cropped to fill, as a straighten tool does; a copy tilted 3-9° either way lies within
# the copy threshold of one of them (bench/hard_copies.py: tilt5, tilt8).
TURN_DEGREES = 6.0

_JPEG_MAGIC = b"\xff\xd8\xff"
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
# EXIF Orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class FingerprintError(Exception):
    """An image that cannot be fingerprinted; ``str(exc)`` is one line for a person."""


@dataclass(frozen=True)
class ImageFacts:
    """What the probe learns from an image's pixels.

    ``width``/``height`` are as displayed (EXIF orientation applied: 5..8 swap them);
    ``orientation`` is the EXIF tag (1 when none); ``phash`` is the perceptual hash as an
    unsigned int of ``hash_bits`` bits, or None when the image is blank (one flat colour)
    and so has nothing to compare; ``detail`` is the 256-bit hash that confirms a match.
    """

    width: int
    height: int
    orientation: int
    phash: int | None
    hash_bits: int
    detail: int | None = None
    copies: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Luma:
    """An image's upright grey levels at reduced scale (0..255 floats) and its facts."""

    pixels: np.ndarray  # float32, shape (rows, cols), upright
    width: int  # full displayed size
    height: int
    orientation: int


def image_facts(data: bytes) -> ImageFacts:
    """Displayed size, EXIF orientation and 64-bit pHash of a whole image file's bytes.

    Raises :class:`FingerprintError` (and nothing else) when the data is not a decodable,
    safely sized image.
    """
    luma = load_luma(data)
    return ImageFacts(
        width=luma.width,
        height=luma.height,
        orientation=luma.orientation,
        phash=phash_dct(luma.pixels),
        hash_bits=HASH_BITS,
        detail=detail_dct(luma.pixels),
        copies=copy_keys(luma.pixels),
    )


def hamming(a: int, b: int) -> int:
    """Number of bits in which two hashes differ."""
    return (a ^ b).bit_count()


def phash_dct(pixels: np.ndarray) -> int | None:
    """64-bit windowed DCT pHash of upright grey levels; None for a blank (flat) image.

    The median threshold makes the hash blind to brightness and contrast changes and sets
    half the bits, which keeps the similarity search's buckets balanced.
    """
    small = _shrink(pixels, HASH_SAMPLE).astype(np.float64)
    if float(small.max() - small.min()) < FLAT_RANGE:
        return None
    tapered = (small - small.mean()) * _window(HASH_SAMPLE, WINDOW_TAPER)
    basis = _dct_basis(HASH_SAMPLE, HASH_BLOCK)
    coefficients = (basis @ tapered @ basis.T).ravel()
    bits = coefficients > _median(coefficients)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def _median(values: np.ndarray) -> float:
    """``np.median`` of a flat array without NaNs, to the bit; ``np.median`` itself loads
    ``numpy.ma`` on first use (a tenth of a second of start-up for `inspect`)."""
    ordered = np.sort(values)
    n = len(ordered)
    if n % 2:
        return float(ordered[n // 2])
    return float((ordered[n // 2 - 1] + ordered[n // 2]) / 2)


def detail_dct(pixels: np.ndarray) -> int | None:
    """256-bit windowed DCT hash of upright grey levels (frequencies 1..16); None if blank."""
    small = _shrink(pixels, DETAIL_SAMPLE).astype(np.float64)
    if float(small.max() - small.min()) < FLAT_RANGE:
        return None
    tapered = (small - small.mean()) * _window(DETAIL_SAMPLE, WINDOW_TAPER)
    basis = _dct_basis(DETAIL_SAMPLE, DETAIL_BLOCK + 1)[1:]
    coefficients = (basis @ tapered @ basis.T).ravel()
    bits = coefficients > _median(coefficients)
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def trim_bars(pixels: np.ndarray) -> tuple[int, int, int, int]:
    """Rows/columns of plain bars on each side: (top, bottom, left, right).

    A bar row is one whose pixels mostly (``BAR_SHARE``) lie near its own median, so a black
    letterbox, a grey status bar with a clock on it and a white caption band with a line of
    words all count; a bar run ends at three photo rows in a row. Trimming stops at
    ``BAR_MAX`` of a side.

    Rows are judged across the columns left between the side bars and columns across the
    rows left between the top and bottom bars, again until nothing changes: a photo small
    in a tall black frame has columns mostly black from end to end (the bars above and below
    it), which must not read as bars beside it.
    """
    rows, cols = pixels.shape
    top = bottom = left = right = 0
    for _round in range(4):
        band = pixels[top : rows - bottom]
        inner = pixels[:, left : cols - right]
        found = (
            _bar_run(inner, rows),
            _bar_run(inner[::-1], rows),
            _bar_run(band.T, cols),
            _bar_run(band.T[::-1], cols),
        )
        if found == (top, bottom, left, right):
            break
        top, bottom, left, right = found
    return top, bottom, left, right


def _row_medians(rows: np.ndarray) -> np.ndarray:
    """``np.median(rows, axis=1)`` to the bit (the same partition and mean), without the
    ``numpy.ma`` import its NaN check costs on first use."""
    size = rows.shape[1]
    half = size // 2
    kth = [half - 1, half, size - 1] if size % 2 == 0 else [half, size - 1]
    part = np.partition(rows, kth, axis=1)
    middle = part[:, half - 1 : half + 1] if size % 2 == 0 else part[:, half : half + 1]
    medians = np.mean(middle, axis=1)
    nan = np.isnan(part[:, -1])  # a NaN sorts last: its row's median is NaN, as numpy's
    if nan.any():
        medians[nan] = np.nan
    return medians


def _bar_run(pixels: np.ndarray, length: int) -> int:
    limit = int(length * BAR_MAX)
    if limit < 2:
        return 0
    head = pixels[:limit]
    median = _row_medians(head)
    share = (np.abs(head - median[:, None]) <= BAR_TOLERANCE).mean(axis=1)
    bar = (share >= BAR_SHARE).tolist()
    level = median.tolist()
    # Bars are plain runs of one grey each (a status bar, then the canvas): a jump between
    # two rows starts a new run, a slow drift is a sky or a wall, not a bar, and ends it.
    # A line of words on a bar (a caption) is crossed when the bar's grey comes back after it.
    gap = max(3, round(length * BAR_TEXT))
    end, start, index = 0, 0, 0
    while index < limit:
        if not bar[index]:
            back = _bar_again(bar, level, index, min(limit, index + gap), level[start])
            if end == 0 or back is None:
                break
            index = back
            continue
        if index and abs(level[index] - level[max(0, index - 2)]) > BAR_DRIFT:
            start = index  # a jump (over two rows: the edge may be blurred)
        elif abs(level[index] - level[start]) > BAR_DRIFT:
            return min(end, start)
        end = index + 1
        index += 1
    return end


def _bar_again(
    bar: list[bool], level: list[float], begin: int, stop: int, grey: float
) -> int | None:
    """The first of two bar rows of ``grey`` in a row in [begin, stop), or None."""
    for index in range(begin, stop - 1):
        plain = bar[index] and bar[index + 1]
        if plain and max(abs(level[index] - grey), abs(level[index + 1] - grey)) <= BAR_DRIFT:
            return index
    return None


def copy_keys(pixels: np.ndarray) -> tuple[tuple[str, int], ...]:
    """The extra 64-bit keys that find hard copies: ``(name, hash)`` for names in COPY_KEYS.

    ``t`` is the hash with bars trimmed (left out when nothing was trimmed: it would equal
    the first hash), ``m`` the mirrored trimmed picture's, ``c`` the central region's, and
    ``l``/``r``/``u``/``d`` those of windows anchored on the left, right, upper and lower
    side (what a crop of the other sides keeps), ``p``/``n`` those of the picture turned
    by ``TURN_DEGREES`` one way and the other and cropped to fill (a straightened copy).
    """
    rows, cols = pixels.shape
    top, bottom, left, right = trim_bars(pixels)
    content = pixels[top : rows - bottom, left : cols - right]
    if min(content.shape) < 16:
        return ()
    keys: list[tuple[str, int]] = []
    trimmed = (top + bottom) / rows + (left + right) / cols > 0.015
    rows, cols = content.shape
    keep_rows, keep_cols = round(rows * (1 - SIDE_MARGIN)), round(cols * (1 - SIDE_MARGIN))
    for name, part in (
        ("t", content if trimmed else None),
        ("m", content[:, ::-1]),
        ("c", _centre(content, CENTRE_MARGIN)),
        # a window anchored on each side: what a crop of the other sides keeps
        ("l", content[:, :keep_cols]),
        ("r", content[:, cols - keep_cols :]),
        ("u", content[:keep_rows]),
        ("d", content[rows - keep_rows :]),
        ("p", _turned(content, TURN_DEGREES)),
        ("n", _turned(content, -TURN_DEGREES)),
    ):
        if part is None:
            continue
        value = phash_dct(part)
        if value is not None:
            keys.append((name, value))
    return tuple(keys)


def _turned(pixels: np.ndarray, degrees: float) -> np.ndarray:
    """``pixels`` turned by ``degrees`` and cropped to the largest centred box of their
    shape that the turned picture fills (what a straighten tool keeps)."""
    rows, cols = pixels.shape
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    turned = np.asarray(image.rotate(degrees, resample=Image.Resampling.BILINEAR))
    angle = np.radians(abs(degrees))
    keep = 1 / (np.cos(angle) + np.sin(angle) * max(cols / rows, rows / cols))
    dy, dx = round(rows * (1 - keep) / 2), round(cols * (1 - keep) / 2)
    return turned[dy : rows - dy, dx : cols - dx]


def _centre(pixels: np.ndarray, margin: float) -> np.ndarray:
    rows, cols = pixels.shape
    dy, dx = round(rows * margin), round(cols * margin)
    return pixels[dy : rows - dy, dx : cols - dx]


def load_luma(data: bytes, min_side: int = DRAFT_SIDE) -> Luma:
    """Decode ``data`` as cheaply as allowed to upright grey levels of >= ``min_side`` px.

    Large images come back reduced (DCT-scaled JPEG, HEIC thumbnail, or a box reduce
    after a full decode), so a caller can hash from them without further decoding.
    """
    if not data:
        raise FingerprintError("file is empty")
    try:
        return _load_luma(data, min_side)
    except FingerprintError:
        raise
    except Image.DecompressionBombError as exc:
        raise FingerprintError(f"image too large to decode safely ({_pixels_in(exc)})") from exc
    except UnidentifiedImageError as exc:
        raise FingerprintError("not an image Pillow can decode") from exc
    except MemoryError as exc:
        raise FingerprintError("not enough memory to decode the image") from exc
    except Exception as exc:
        raise FingerprintError(_describe(exc)) from exc


def _load_luma(data: bytes, min_side: int) -> Luma:
    with warnings.catch_warnings():
        # Sizes are checked below against our own caps, and a complaint about a broken
        # EXIF block is the metadata stage's business: neither warning may escape.
        warnings.simplefilter("ignore")
        if data.startswith(_JPEG_MAGIC):
            # Opening the plugin directly skips Image.open's pixel-count check, which would
            # refuse a 200 MP phone photo that is only ever decoded at 1/8 scale (3 MP).
            image: Image.Image = JpegImagePlugin.JpegImageFile(io.BytesIO(data))
            declared_cap = MAX_SOURCE_PIXELS
        else:
            _open_heif_too()
            image = Image.open(io.BytesIO(data))
            declared_cap = MAX_DECODE_PIXELS
        with image:
            heif = image.format == "HEIF"
            orientation = _heif_orientation(image) if heif else _exif_orientation(image)
            width, height = image.size
            if width <= 0 or height <= 0:
                raise FingerprintError("image has no pixels")
            if width * height > declared_cap:
                raise FingerprintError(f"image too large to decode safely ({width}x{height})")
            image.draft("L", (min_side, min_side))
            if image.size[0] * image.size[1] > MAX_DECODE_PIXELS:
                raise FingerprintError(f"image too large to decode safely ({width}x{height})")
            image.load()
            # libheif turns a HEIC upright itself, and Pillow does so for a TIFF while
            # loading it (dropping the tag); everything else is turned here, once.
            turned = heif or (orientation != 1 and _exif_orientation(image) == 1)
            if turned and not heif:
                width, height = image.size
            elif not turned and orientation >= 5:
                width, height = height, width
            grey = _to_grey(image, min_side)
    if not turned and orientation in _TRANSPOSE:
        grey = grey.transpose(_TRANSPOSE[orientation])
    return Luma(pixels=_grey_array(grey), width=width, height=height, orientation=orientation)


def _to_grey(image: Image.Image, min_side: int) -> Image.Image:
    """Grey levels of a decoded image, box-reduced towards ``min_side`` when large."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas show as white in viewers and document scans.
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    if image.mode in _SIXTEEN_BIT_MODES or image.mode in ("I", "F"):
        grey = image.convert("F")
    elif image.mode == "L":
        grey = image
    else:
        grey = image.convert("L")
    factor = min(grey.size) // min_side
    if factor >= 2:
        grey = grey.reduce(factor)
    return grey


def _grey_array(grey: Image.Image) -> np.ndarray:
    mode = grey.mode
    pixels = np.asarray(grey, dtype=np.float32)
    if mode == "F":  # 16-bit or float data: bring to the 0..255 scale of the flat test
        top = float(pixels.max()) if pixels.size else 0.0
        if top > 255.0:
            pixels = pixels * np.float32(255.0 / (65535.0 if top <= 65535.0 else top))
    return np.ascontiguousarray(pixels)


def _exif_orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not cost the fingerprint
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _heif_orientation(image: Image.Image) -> int:
    value = image.info.get("original_orientation")
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _shrink(pixels: np.ndarray, side: int) -> np.ndarray:
    """Box-filter grey levels to ``side`` x ``side`` (area average, in float)."""
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.float32), mode="F")
    small = image.resize((side, side), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32)


@lru_cache(maxsize=8)
def _dct_basis(n: int, keep: int) -> np.ndarray:
    """The first ``keep`` rows of the orthonormal DCT-II matrix of size ``n``."""
    k = np.arange(keep)[:, None]
    i = np.arange(n)[None, :]
    basis = np.sqrt(2.0 / n) * np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    basis[0] /= np.sqrt(2.0)
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=8)
def _window(n: int, taper: float) -> np.ndarray:
    """2-D Tukey window: 1 in the middle, a cosine fade over ``taper / 2`` of each side."""
    x = (np.arange(n) + 0.5) / n
    edge = taper / 2
    ramp = np.ones(n)
    low, high = x < edge, x > 1 - edge
    ramp[low] = 0.5 * (1 - np.cos(np.pi * x[low] / edge))
    ramp[high] = 0.5 * (1 - np.cos(np.pi * (1 - x[high]) / edge))
    window = np.outer(ramp, ramp)
    window.setflags(write=False)
    return window


def _pixels_in(exc: Exception) -> str:
    """The pixel count Pillow names in a DecompressionBombError, as words."""
    match = re.search(r"(\d+) pixels", str(exc))
    return f"{int(match.group(1)):,} pixels" if match else "too many pixels"


def _describe(exc: Exception) -> str:
    """One readable line for a decoder's complaint."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    lowered = text.lower()
    if isinstance(exc, EOFError) or "truncat" in lowered or "end of file" in lowered:
        return "image data is truncated"
    if len(text) > 160:
        text = text[:157] + "..."
    return f"image data is corrupt ({text})"
