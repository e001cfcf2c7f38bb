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
