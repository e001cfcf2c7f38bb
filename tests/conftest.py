"""Shared fixtures: generated media, an exiftool session, settings in a temp folder, databases."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from mediafix.config import get_settings
from mediafix.media.exiftool import ExifTool

IN_CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get(
    "MEDIAFIX_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_jpeg(path: Path, seed: int = 1, size: tuple[int, int] = (640, 480), **tags: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    scene(seed, size).save(path, "JPEG", quality=90)
    if tags:
        write_tags(path, **tags)
    return path


@pytest.fixture(scope="session")
def exiftool() -> Iterator[ExifTool]:
    with ExifTool() as et:
        yield et


@pytest.fixture
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """MEDIAFIX_* pointing into a temp folder; returns the data folder."""
    data = tmp_path / "data"
    monkeypatch.setenv("MEDIAFIX_DATA_DIR", str(data))
    monkeypatch.setenv("MEDIAFIX_OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.setenv("MEDIAFIX_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("MEDIAFIX_WORKERS", "2")
    for var in ("MEDIAFIX_DATABASE_URL", "MEDIAFIX_QUEUE_URL", "MEDIAFIX_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3
        ):
            return True
    except Exception:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards."""
    if not _pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is not reachable (CI needs it)")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    import psycopg

    name = f"mediafix_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    yield url
    from mediafix.store.db import _ENGINES

    engine = _ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()
    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
