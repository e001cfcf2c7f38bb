"""Generated media for tests: synthetic photos and letters, JPEGs with tags written by exiftool."""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A synthetic photo: a gradient with shapes that differ per seed."""
    import random

    rnd = random.Random(seed)
    w, h = size
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rnd.randrange(w), rnd.randrange(h)
        x1, y1 = x0 + rnd.randrange(20, w // 2), y0 + rnd.randrange(20, h // 2)
        color = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        if rnd.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=color)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=color)
    return img


WORDS = (  # noqa: SIM905
    "the of and to in is was for on are with as his they be at one have this from or had "
    "by word but what some we can out other were all there when up use your how said an "
    "each she"
).split()


def text_page(seed: int) -> Image.Image:
    """A letter: the same layout for every seed (title, six paragraphs), different words."""
    rng = random.Random(seed)
    page = Image.new("RGB", (620, 877), "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=12)
    title = " ".join(rng.choice(WORDS).capitalize() for _ in range(3))
    draw.text((65, 35), title, font=ImageFont.load_default(size=22), fill="black")
    y = 70
    for _ in range(6):
        line = ""
        for word in (rng.choice(WORDS) for _ in range(rng.randint(40, 70))):
            longer = f"{line} {word}".strip()
            if draw.textlength(longer, font=font) > 490:
                draw.text((65, y), line, font=font, fill=(25, 25, 25))
                y, line = y + 18, word
            else:
                line = longer
        draw.text((65, y), line, font=font, fill=(25, 25, 25))
        y += 32
    return page


def write_tags(path: Path | str, **tags: str) -> None:
    """Write metadata with the real exiftool (the way cameras' tags end up in files)."""
    args = ["exiftool", "-q", "-overwrite_original"]
    args += [f"-{k}={v}" for k, v in tags.items()]
    args.append("--")
    args.append(os.fspath(path))
    subprocess.run(args, check=True, capture_output=True)


def make_jpeg(path: Path, seed: int = 1, size: tuple[int, int] = (640, 480), **tags: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scene(seed, size).save(path, "JPEG", quality=90)
    if tags:
        write_tags(path, **tags)
    return path


# The dates a current camera (or phone) writes, each its own text so that its bytes can be
# found in the file: apply rewrites these in place (``media.exifpatch``).
CAMERA_DATES = {
    "ModifyDate": "2019:06:08 13:20:00",
    "DateTimeOriginal": "2019:06:08 13:20:01",
    "CreateDate": "2019:06:08 13:20:02",
    "OffsetTime": "+01:00",
    "OffsetTimeOriginal": "+02:00",
    "OffsetTimeDigitized": "+03:00",
    "SubSecTime": "36",
    "SubSecTimeOriginal": "37",
    "SubSecTimeDigitized": "38",
}


def camera_jpeg(path: Path, seed: int = 1, *, extra: tuple[str, ...] = (), **dates: str) -> Path:
    """A JPEG with a camera's Make, Model and dates (``CAMERA_DATES``, ``dates`` over them;
    an empty value leaves the tag out), written by the real exiftool; ``extra``: more
    exiftool arguments. Like many cameras' files, its EXIF segment ends with room to spare
    (64 zero bytes no entry points to), which exiftool drops when it rewrites the segment
    and an in-place write keeps: the two ways tell apart by the file's size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scene(seed, (320, 240)).save(path, "JPEG", quality=90)
    args = ["exiftool", "-q", "-overwrite_original", "-Make=Canon", "-Model=EOS R6"]
    args += [f"-{k}={v}" for k, v in {**CAMERA_DATES, **dates}.items()]
    subprocess.run([*args, *extra, "--", str(path)], check=True, capture_output=True)
    data = path.read_bytes()
    at = data.index(b"Exif\0\0") - 4  # the APP1 marker
    length = int.from_bytes(data[at + 2 : at + 4], "big")
    end = at + 2 + length
    grown = (length + 64).to_bytes(2, "big")
    path.write_bytes(data[: at + 2] + grown + data[at + 4 : end] + bytes(64) + data[end:])
    return path


def value_spans(data: bytes, values: list[str]) -> list[range]:
    """Where each of ``values`` (its text and NUL, as EXIF stores it) lies in ``data``,
    each found exactly once."""
    spans = []
    for text in values:
        value = text.encode() + b"\0"
        assert data.count(value) == 1, text
        at = data.index(value)
        spans.append(range(at, at + len(value)))
    return spans


def changed_within(before: bytes, after: bytes, spans: list[range]) -> bool:
    """``after`` is ``before`` but for bytes inside ``spans`` (and differs somewhere)."""
    if len(before) != len(after):
        return False
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    return bool(changed) and all(any(i in span for span in spans) for i in changed)
