"""Thumbnails: made upright and small by the workers, served (or a placeholder) by the web."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from mediafix.services.thumbnails import (
    ThumbnailError,
    build_missing,
    make_thumbnail,
    marker_path,
    thumb_path,
)
from tests.helpers.media import make_jpeg, scene, write_tags
from tests.helpers.videogen import make_video
from tests.helpers.web import Web, web_app


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def size_of(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        assert im.format == "JPEG"
        return im.size


def test_thumb_path_layout(web: Web) -> None:
    sha = "ab" + "0" * 62
    assert thumb_path(web.settings, sha) == web.settings.data_dir / "thumbnails" / "ab" / (
        sha + ".jpg"
    )
    assert thumb_path(web.settings, 300).parts[-3:] == ("id", "2c", "300.jpg")
    with pytest.raises(ValueError):
        thumb_path(web.settings, "../../etc")


def test_jpeg_is_small_and_upright(tmp_path: Path) -> None:
    photo = make_jpeg(tmp_path / "big.jpg", size=(1600, 1200))
    write_tags(photo, **{"Orientation#": "6"})
    make_thumbnail(photo, tmp_path / "t.jpg")
    assert size_of(tmp_path / "t.jpg") == (240, 320)  # turned by the EXIF orientation


def test_png_with_transparency(tmp_path: Path) -> None:
    src = tmp_path / "a.png"
    Image.new("RGBA", (400, 200), (255, 0, 0, 0)).save(src)
    make_thumbnail(src, tmp_path / "t.jpg", size=100)
    with Image.open(tmp_path / "t.jpg") as im:
        assert im.size == (100, 50)
        assert min(im.getpixel((50, 25))) > 240  # transparent shows as white


def test_heic(tmp_path: Path) -> None:
    import pillow_heif

    src = tmp_path / "a.heic"
    try:
        pillow_heif.from_pillow(scene(3, (800, 600))).save(src, quality=60)
    except Exception as exc:  # no HEVC encoder in this libheif
        pytest.skip(f"cannot write HEIC here: {exc}")
    make_thumbnail(src, tmp_path / "t.jpg")
    assert size_of(tmp_path / "t.jpg") == (320, 240)


def test_video_frame(tmp_path: Path) -> None:
    video = make_video(tmp_path / "v.mp4", size=(320, 240), seconds=1.0)
    make_thumbnail(video, tmp_path / "t.jpg", size=160)
    assert size_of(tmp_path / "t.jpg") == (160, 120)


_THREADED_VIDEO_THUMBNAILS = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from mediafix.services.thumbnails import ThumbnailError, make_thumbnail

videos = sys.argv[1:]
def one(job):
    n, path = job
    try:
        make_thumbnail(path, Path(path).parent / "thumbs" / f"{n}.jpg", size=160)
        return 1
    except ThumbnailError:
        return 0
with ThreadPoolExecutor(4) as pool:  # as build_missing makes them
    print(sum(pool.map(one, enumerate(videos * 4))))
"""


def test_damaged_videos_in_threads_do_not_deadlock(tmp_path: Path) -> None:
    """Found in a worker that never stopped: with FFmpeg's log sent to Python, a decoder
    thread reporting a damaged H.264 frame waited for the GIL that the thread freeing its
    decoder held while waiting for it. Run in a child process: a deadlock cannot be
    interrupted, only killed."""
    videos = []
    for seed in range(3):
        good = make_video(
            tmp_path / f"v{seed}.mp4", seed=seed, size=(640, 480), seconds=3, fps=25, codec="h264"
        )
        data = bytearray(good.read_bytes())
        rng = random.Random(seed)
        for _ in range(40):
            data[rng.randrange(len(data) // 4, len(data))] ^= 0xFF
        (tmp_path / f"bad{seed}.mp4").write_bytes(bytes(data))
        videos += [str(good), str(tmp_path / f"bad{seed}.mp4")]
    try:
        done = subprocess.run(
            [sys.executable, "-c", _THREADED_VIDEO_THUMBNAILS, *videos],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("thumbnails of damaged videos in 4 threads deadlocked")
    assert int(done.stdout) >= 12  # the undamaged ones at least
    assert done.stderr == ""  # and FFmpeg's complaints are not dumped on the console


def test_not_a_picture(tmp_path: Path) -> None:
    junk = tmp_path / "notes.jpg"
    junk.write_bytes(b"\xff\xd8\xff" + b"garbage" * 10)
    with pytest.raises(ThumbnailError):
        make_thumbnail(junk, tmp_path / "t.jpg")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ThumbnailError):
        make_thumbnail(text, tmp_path / "t.jpg")
    assert not (tmp_path / "t.jpg").exists()


def test_build_missing(web: Web, tmp_path: Path) -> None:
    good = make_jpeg(tmp_path / "a.jpg")
    copy = tmp_path / "b.jpg"
    copy.write_bytes(good.read_bytes())
    bad = tmp_path / "c.jpg"
    bad.write_bytes(b"\xff\xd8\xffbroken")
    web.add_file("a.jpg", folder=str(tmp_path), sha256="aa" * 32)
    web.add_file("b.jpg", folder=str(tmp_path), sha256="aa" * 32)  # same picture: one thumbnail
    web.add_file("c.jpg", folder=str(tmp_path), sha256="cc" * 32)
    web.add_file("new.jpg", folder=str(tmp_path), sha256="dd" * 32, status="new")
    assert build_missing(web.engine, web.settings) == 1
    assert thumb_path(web.settings, "aa" * 32).is_file()
    assert "can be decoded" in marker_path(thumb_path(web.settings, "cc" * 32)).read_text()
    assert not thumb_path(web.settings, "dd" * 32).exists()
    assert build_missing(web.engine, web.settings) == 0  # nothing left to do


def test_serve_a_thumbnail(web: Web, tmp_path: Path) -> None:
    file_id = web.add_file("a.jpg", folder=str(tmp_path), sha256="aa" * 32)
    path = thumb_path(web.settings, "aa" * 32)
    path.parent.mkdir(parents=True)
    Image.new("RGB", (32, 24)).save(path, "JPEG")
    response = web.client.get(f"/thumbs/{file_id}?v={'aa' * 6}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.headers.get("X-Thumbnail") is None
    unversioned = web.client.get(f"/thumbs/{file_id}")
    assert "immutable" not in unversioned.headers["Cache-Control"]


def test_a_missing_thumbnail_is_asked_for_and_a_placeholder_served(web: Web) -> None:
    file_id = web.add_file(sha256="ee" * 32)
    response = web.client.get(f"/thumbs/{file_id}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.headers["X-Thumbnail"] == "pending"
    assert response.headers["Cache-Control"] == "no-store"
    assert 'width="318"' in response.get_data(as_text=True)
    assert web.pending() == [("mediafix.make_thumbnails", (None,))]
    web.client.get(f"/thumbs/{file_id}")
    assert len(web.pending()) == 1  # asked once, not once per image on the page


def test_the_worker_makes_it_when_asked(web: Web, tmp_path: Path) -> None:
    make_jpeg(tmp_path / "a.jpg")
    file_id = web.add_file("a.jpg", folder=str(tmp_path), sha256="aa" * 32)
    with web.immediate():
        first = web.client.get(f"/thumbs/{file_id}")
    assert first.headers["X-Thumbnail"] == "pending"
    second = web.client.get(f"/thumbs/{file_id}")
    assert second.mimetype == "image/jpeg"


def test_no_picture_gets_a_final_placeholder(web: Web) -> None:
    file_id = web.add_file(sha256="cc" * 32)
    marker = marker_path(thumb_path(web.settings, "cc" * 32))
    marker.parent.mkdir(parents=True)
    marker.write_text("not an image")
    response = web.client.get(f"/thumbs/{file_id}")
    assert response.headers["X-Thumbnail"] == "none"
    other = web.add_file(kind="other", sha256="bb" * 32)
    assert web.client.get(f"/thumbs/{other}").headers["X-Thumbnail"] == "none"
    assert web.pending() == []


def test_unknown_file_is_404(web: Web) -> None:
    assert web.get_json("/thumbs/12345").status_code == 404
