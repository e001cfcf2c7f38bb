"""fingerprint: fast decode + perceptual hash, on images drawn here with Pillow."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zlib

import numpy as np
import pillow_heif
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageDraw, ImageEnhance

from mediafix.media.fingerprint import (
    DEFAULT_THRESHOLD,
    DETAIL_THRESHOLD,
    FingerprintError,
    ImageFacts,
    _row_medians,
    hamming,
    image_facts,
)
from tests.helpers.media import text_page

pillow_heif.register_heif_opener()

# Pixels turned by this transpose are shown upright by this EXIF Orientation.
ROTATIONS = {
    90: (Image.Transpose.ROTATE_90, 6),
    180: (Image.Transpose.ROTATE_180, 3),
    270: (Image.Transpose.ROTATE_270, 8),
}
MIRRORS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    7: Image.Transpose.TRANSVERSE,
}


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A varied synthetic photo: a gradient sky, shapes, texture and noise."""
    rng = random.Random(seed)
    w, h = size
    y = np.linspace(0, 1, h)[:, None]
    x = np.linspace(0, 1, w)[None, :]
    base = np.stack(
        [
            255 * (rng.random() * 0.6 + 0.4 * y) + 0 * x,
            255 * (rng.random() * 0.5 + 0.3 * x) + 0 * y,
            255 * (rng.random() * 0.4 + 0.4 * (1 - y)) + 0 * x,
        ],
        axis=-1,
    )
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = rng.randrange(-100, w), rng.randrange(-100, h)
        x1, y1 = x0 + rng.randrange(60, w // 2), y0 + rng.randrange(60, h // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    noise = np.random.default_rng(seed).normal(0, 6, (h, w, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def encode(image: Image.Image, fmt: str = "JPEG", orientation: int = 1, **options: object) -> bytes:
    buffer = io.BytesIO()
    if orientation != 1:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    if fmt == "HEIF":
        options.setdefault("enc_params", {"preset": "ultrafast"})
    image.save(buffer, fmt, **options)  # type: ignore[arg-type]
    return buffer.getvalue()


def phash(data: bytes) -> int:
    value = image_facts(data).phash
    assert value is not None
    return value


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return scene(1)


@pytest.fixture(scope="module")
def original_facts(photo: Image.Image) -> ImageFacts:
    return image_facts(encode(photo, quality=92))


@pytest.fixture(scope="module")
def original(original_facts: ImageFacts) -> int:
    assert original_facts.phash is not None
    return original_facts.phash


def test_facts_of_a_plain_jpeg(photo: Image.Image) -> None:
    facts = image_facts(encode(photo, quality=90))
    assert facts == ImageFacts(640, 480, 1, facts.phash, 64, facts.detail, facts.copies)
    assert {name for name, _value in facts.copies} >= {"m", "c"}
    assert facts.phash is not None
    assert 0 <= facts.phash < 2**64
    assert bin(facts.phash).count("1") == 32  # median split: half the bits
    assert facts.detail is not None
    assert 0 <= facts.detail < 2**256
    assert bin(facts.detail).count("1") == 128


def test_hamming_counts_differing_bits() -> None:
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(2**64 - 1, 0) == 64


@pytest.mark.parametrize(
    "make_copy",
    [
        pytest.param(lambda im: encode(im.resize((320, 240)), quality=70), id="whatsapp-like"),
        pytest.param(lambda im: encode(im, "PNG"), id="png"),
        pytest.param(lambda im: encode(im, "WEBP", quality=75), id="webp"),
        pytest.param(lambda im: encode(im, "HEIF", quality=60), id="heic"),
        pytest.param(lambda im: encode(im, "TIFF"), id="tiff"),
        pytest.param(lambda im: encode(im, "AVIF", quality=60, speed=10), id="avif"),
        pytest.param(lambda im: encode(im.crop((13, 10, 627, 470)), quality=90), id="crop-2%"),
        pytest.param(lambda im: encode(ImageEnhance.Brightness(im).enhance(1.18)), id="bright+18"),
        pytest.param(lambda im: encode(ImageEnhance.Brightness(im).enhance(0.82)), id="bright-18"),
    ],
)
def test_copies_are_within_the_threshold(
    photo: Image.Image, original: int, original_facts: ImageFacts, make_copy
) -> None:
    copy = image_facts(make_copy(photo))
    assert copy.phash is not None
    assert hamming(original, copy.phash) <= DEFAULT_THRESHOLD
    # ... and the detail hash confirms the match.
    first = original_facts.detail
    assert first is not None and copy.detail is not None
    assert hamming(first, copy.detail) <= DETAIL_THRESHOLD


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_pixels_with_orientation_tag_hash_like_upright(
    photo: Image.Image, original: int, degrees: int
) -> None:
    transpose, tag = ROTATIONS[degrees]
    data = encode(photo.transpose(transpose), orientation=tag, quality=92)
    facts = image_facts(data)
    assert facts.orientation == tag
    assert (facts.width, facts.height) == (640, 480)  # as displayed
    assert facts.phash is not None
    assert hamming(original, facts.phash) <= 2


@pytest.mark.parametrize("tag", sorted(MIRRORS))
def test_mirrored_orientations_are_undone(photo: Image.Image, original: int, tag: int) -> None:
    # Transposes 2, 4, 5 and 7 are their own inverse.
    data = encode(photo.transpose(MIRRORS[tag]), orientation=tag, quality=92)
    facts = image_facts(data)
    assert (facts.width, facts.height) == (640, 480)
    assert facts.phash is not None
    assert hamming(original, facts.phash) <= 2


def test_rotated_png_and_webp_with_orientation(photo: Image.Image, original: int) -> None:
    turned = photo.transpose(Image.Transpose.ROTATE_90)
    for fmt in ("PNG", "WEBP"):
        facts = image_facts(encode(turned, fmt, orientation=6))
        assert facts.orientation == 6
        assert (facts.width, facts.height) == (640, 480)
        assert facts.phash is not None
        assert hamming(original, facts.phash) <= DEFAULT_THRESHOLD


def test_heic_is_not_rotated_twice(photo: Image.Image, original: int) -> None:
    # pillow-heif stores the tag as the container's rotation; libheif applies it on decode.
    data = encode(photo.transpose(Image.Transpose.ROTATE_270), "HEIF", orientation=8, quality=70)
    facts = image_facts(data)
    assert (facts.width, facts.height) == (640, 480)
    assert facts.phash is not None
    assert hamming(original, facts.phash) <= DEFAULT_THRESHOLD


def test_distinct_scenes_are_far_apart() -> None:
    hashes = [phash(encode(scene(seed, (480, 360)), quality=85)) for seed in range(10, 22)]
    closest = min(hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :])
    assert closest > DEFAULT_THRESHOLD


def test_text_pages_in_one_layout_are_mostly_told_apart() -> None:
    # Documents in one layout are the hard case of every low-frequency hash: most pairs
    # are far apart, a few come close (see bench/near_dupes.py); copies stay close.
    pages = [text_page(seed) for seed in range(10)]
    hashes = [phash(encode(page, "PNG")) for page in pages]
    distances = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
    assert sum(d <= DEFAULT_THRESHOLD for d in distances) <= len(distances) // 10
    assert sorted(distances)[len(distances) // 2] > 2 * DEFAULT_THRESHOLD
    for page, original in zip(pages[:3], hashes, strict=False):
        whatsapp = encode(page.resize((496, 702)), quality=70)
        cropped = encode(page.crop((12, 18, 608, 859)), quality=85)
        assert hamming(original, phash(whatsapp)) <= DEFAULT_THRESHOLD
        assert hamming(original, phash(cropped)) <= DEFAULT_THRESHOLD


def test_detail_hash_tells_apart_pages_the_first_hash_confuses() -> None:
    pages = [text_page(seed) for seed in range(12)]
    facts = [image_facts(encode(page, "PNG")) for page in pages]
    pairs = [(a, b) for i, a in enumerate(facts) for b in facts[i + 1 :]]
    close = [(a, b) for a, b in pairs if hamming(a.phash or 0, b.phash or 0) <= DEFAULT_THRESHOLD]
    assert close, "these pages no longer test anything: none is close on the 64-bit hash"
    for a, b in close:
        assert a.detail is not None and b.detail is not None
        assert hamming(a.detail, b.detail) > DETAIL_THRESHOLD
    for page, original in zip(pages[:4], facts, strict=False):
        for copy in (
            encode(page.resize((496, 702)), quality=70),
            encode(page.crop((12, 18, 608, 859)), quality=85),
        ):
            detail = image_facts(copy).detail
            assert original.detail is not None and detail is not None
            assert hamming(original.detail, detail) <= DETAIL_THRESHOLD


def test_dark_photos_keep_their_structure() -> None:
    dark = [ImageEnhance.Brightness(scene(seed, (480, 360))).enhance(0.06) for seed in (30, 31)]
    first, second = (phash(encode(image, quality=90)) for image in dark)
    brighter = phash(encode(ImageEnhance.Brightness(dark[0]).enhance(1.2), quality=90))
    assert hamming(first, brighter) <= DEFAULT_THRESHOLD
    assert hamming(first, second) > DEFAULT_THRESHOLD


def test_blank_image_has_no_hash() -> None:
    facts = image_facts(encode(Image.new("RGB", (300, 200), (12, 12, 12))))
    assert facts.phash is None
    assert facts.detail is None
    assert (facts.width, facts.height) == (300, 200)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "I;16", "CMYK", "1"])
def test_other_modes_decode(photo: Image.Image, original: int, mode: str) -> None:
    small = photo.resize((320, 240))
    converted = small.convert(mode) if mode != "I;16" else small.convert("L").convert("I;16")
    fmt = "JPEG" if mode == "CMYK" else "PNG" if mode != "1" else "BMP"
    facts = image_facts(encode(converted, fmt))
    assert (facts.width, facts.height) == (320, 240)
    assert facts.phash is not None
    if mode not in ("1", "P"):
        assert hamming(original, facts.phash) <= DEFAULT_THRESHOLD


def test_gif_first_frame() -> None:
    frames = [scene(5, (200, 150)).convert("P"), scene(6, (200, 150)).convert("P")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    assert image_facts(buffer.getvalue()).phash is not None


def _jpeg_with_size(width: int, height: int) -> bytes:
    """A small valid JPEG whose frame header is patched to claim another size."""
    data = bytearray(encode(Image.new("L", (16, 16), 128), quality=50))
    marker = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, marker + 5, height, width)
    return bytes(data)


def test_decompression_bomb_refused_before_decoding() -> None:
    with pytest.raises(FingerprintError, match=r"too large to decode safely \(30000x30000\)"):
        image_facts(_jpeg_with_size(30000, 30000))


def _png_with_size(width: int, height: int) -> bytes:
    """A small valid PNG whose header (CRC fixed) claims another size."""
    data = bytearray(encode(Image.new("L", (8, 8)), "PNG"))
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (15000, 10000, r"too large to decode safely \(15000x10000\)"),  # Pillow only warns
        (20000, 10000, r"too large to decode safely \(200,000,000 pixels\)"),  # Pillow refuses
    ],
)
def test_huge_png_refused_without_a_warning(width: int, height: int, message: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FingerprintError, match=message):
            image_facts(_png_with_size(width, height))


def test_truncated_jpeg() -> None:
    data = encode(scene(2, (640, 480)), quality=90)
    with pytest.raises(FingerprintError, match=r"^image data is truncated$"):
        image_facts(data[: len(data) // 2])


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_truncated_other_formats(fmt: str) -> None:
    data = encode(scene(3, (320, 240)), fmt)
    with pytest.raises(FingerprintError) as caught:
        image_facts(data[: len(data) // 2])
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "file is empty"),
        (b"hello, this is text", "not an image Pillow can decode"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, None),
    ],
)
def test_garbage_gives_one_readable_line(data: bytes, message: str | None) -> None:
    with pytest.raises(FingerprintError) as caught:
        image_facts(data)
    text = str(caught.value)
    assert text and "\n" not in text
    if message:
        assert text == message


def test_median_is_numpys_to_the_bit() -> None:
    import numpy as np

    from mediafix.media.fingerprint import _median

    rng = np.random.default_rng(5)
    for n in (63, 64, 255, 256):
        for _ in range(200):
            values = rng.normal(size=n) * rng.uniform(1e-3, 1e6)
            assert _median(values) == np.median(values)


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
        elements=st.floats(0, 255, width=32) | st.just(float("nan")),
    ),
    st.booleans(),
)
def test_row_medians_equal_numpys_median_to_the_bit(rows: np.ndarray, transposed: bool) -> None:
    # The bar trimming's own median (numpy's loads numpy.ma on first use) must not move a
    # single copy key: the same values, dtype and NaN rows, on views as the trimming passes.
    if transposed:
        rows = rows.T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns of NaN rows
        expected = np.median(rows, axis=1)
    found = _row_medians(rows)
    assert found.dtype == expected.dtype
    assert np.array_equal(found, expected, equal_nan=True)
