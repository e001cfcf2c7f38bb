"""Renditions: the photo at screen size (and full size) for the compare view and lightbox."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from mediafix.services.renditions import DISPLAY_SIZE, rendition_path
from tests.helpers.media import scene, write_tags
from tests.helpers.web import Web, web_app


@pytest.fixture
def web(settings_env: Path) -> Iterator[Web]:
    with web_app() as w:
        yield w


def marked_photo(path: Path, size: tuple[int, int]) -> Path:
    """A grey JPEG whose stored top-left corner is red (to see which way it was turned)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (128, 128, 128))
    image.paste((230, 20, 20), (0, 0, size[0] // 5, size[1] // 5))
    image.save(path, "JPEG", quality=90)
    return path


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


def is_red(pixel: tuple[int, ...]) -> bool:
    return pixel[0] > 180 and pixel[1] < 80 and pixel[2] < 80


def test_display_is_upright_and_screen_sized(web: Web, tmp_path: Path) -> None:
    photo = marked_photo(tmp_path / "photos" / "IMG_1.jpg", (3000, 2000))
    write_tags(photo, **{"Orientation#": "6"})  # turn 90° clockwise to show
    sha = "ab" * 32
    file_id = web.add_file(
        "IMG_1.jpg", folder=str(photo.parent), sha256=sha, width=2000, height=3000
    )
    response = web.client.get(f"/files/{file_id}/display?v={sha[:12]}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    image = decoded(response.data)
    assert image.size == (round(2000 * DISPLAY_SIZE / 3000), DISPLAY_SIZE)
    w = image.size[0]
    # The stored top-left corner is at the top right once turned, as a viewer shows it.
    assert is_red(image.getpixel((w - 20, 20))) and not is_red(image.getpixel((20, 20)))
    assert response.headers["Cache-Control"] == f"private, max-age={365 * 24 * 3600}, immutable"
    assert response.headers["X-Rendition"] == "display"
    assert rendition_path(web.settings, sha).is_file()

    # Without the version, the browser revalidates: the ETag answers 304.
    plain = web.client.get(f"/files/{file_id}/display")
    assert "no-cache" in plain.headers["Cache-Control"] and plain.data == response.data
    etag = plain.headers["ETag"]
    assert sha[:32] in etag and "display" in etag
    again = web.client.get(f"/files/{file_id}/display", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_display_is_cached_and_shared_by_copies(web: Web, tmp_path: Path) -> None:
    photo = marked_photo(tmp_path / "photos" / "a.jpg", (2600, 1200))
    copy = tmp_path / "photos" / "b.jpg"
    copy.write_bytes(photo.read_bytes())
    sha = "cd" * 32
    a = web.add_file("a.jpg", folder=str(photo.parent), sha256=sha)
    b = web.add_file("b.jpg", folder=str(photo.parent), sha256=sha)
    first = web.client.get(f"/files/{a}/display")
    assert decoded(first.data).size == (DISPLAY_SIZE, round(1200 * DISPLAY_SIZE / 2600))
    cached = rendition_path(web.settings, sha)
    made = cached.stat().st_mtime_ns
    second = web.client.get(f"/files/{b}/display")  # the copy: the same rendition, not made again
    assert second.status_code == 200 and second.data == first.data
    assert cached.stat().st_mtime_ns == made


def test_a_small_photo_is_not_enlarged(web: Web, tmp_path: Path) -> None:
    photo = marked_photo(tmp_path / "photos" / "small.jpg", (640, 480))
    file_id = web.add_file("small.jpg", folder=str(photo.parent))
    assert decoded(web.client.get(f"/files/{file_id}/display").data).size == (640, 480)


def test_full_is_the_original_when_a_browser_shows_it(web: Web, tmp_path: Path) -> None:
    photo = marked_photo(tmp_path / "photos" / "big.jpg", (3000, 2000))
    file_id = web.add_file("big.jpg", folder=str(photo.parent), width=3000, height=2000)
    response = web.client.get(f"/files/{file_id}/full")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["X-Rendition"] == "original"
    assert response.data == photo.read_bytes()
    assert "sandbox" in response.headers["Content-Security-Policy"]


def heic(path: Path, size: tuple[int, int]) -> Path:
    import pillow_heif

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        pillow_heif.from_pillow(scene(5, size)).save(path, quality=70)
    except Exception as exc:  # no HEVC encoder in this libheif
        pytest.skip(f"cannot write HEIC here: {exc}")
    return path


def test_heic_is_shown_as_jpeg(web: Web, tmp_path: Path) -> None:
    photo = heic(tmp_path / "photos" / "IMG_2.HEIC", (2400, 1600))
    file_id = web.add_file(
        "IMG_2.HEIC", folder=str(photo.parent), format="heic", ext=".heic", width=2400, height=1600
    )
    display = web.client.get(f"/files/{file_id}/display")
    assert display.status_code == 200 and display.mimetype == "image/jpeg"
    assert decoded(display.data).size == (DISPLAY_SIZE, round(1600 * DISPLAY_SIZE / 2400))
    full = web.client.get(f"/files/{file_id}/full")
    assert full.status_code == 200 and full.mimetype == "image/jpeg"
    assert full.headers["X-Rendition"] == "full"
    assert decoded(full.data).size == (2400, 1600)  # every pixel, as JPEG
    sha = web.get_json(f"/files/{file_id}").json["sha256"]
    versioned = web.client.get(f"/files/{file_id}/full?v={sha[:12]}")
    assert "immutable" in versioned.headers["Cache-Control"] and versioned.data == full.data


def test_a_link_is_refused(web: Web, tmp_path: Path) -> None:
    outside = marked_photo(tmp_path / "elsewhere" / "secret.jpg", (800, 600))
    photos = tmp_path / "photos"
    photos.mkdir()
    marked_photo(photos / "ok.jpg", (800, 600))
    os.symlink(outside, photos / "link.jpg")
    st = outside.stat()
    file_id = web.add_file(
        "link.jpg", folder=str(photos), root=str(photos), size=st.st_size, mtime=st.st_mtime
    )
    for variant in ("display", "full"):
        response = web.get_json(f"/files/{file_id}/{variant}")
        assert response.status_code == 403, variant
        assert "not served" in response.json["error"]
    assert not any((web.settings.data_dir / "renditions").rglob("*.jpg"))


def test_a_changed_file_is_409(web: Web, tmp_path: Path) -> None:
    photo = marked_photo(tmp_path / "photos" / "IMG_3.jpg", (800, 600))
    file_id = web.add_file("IMG_3.jpg", folder=str(photo.parent), format="png", ext=".png")
    os.utime(photo, (1_600_000_000, 1_600_000_000))  # touched after the scan
    for variant in ("display", "full"):
        response = web.get_json(f"/files/{file_id}/{variant}")
        assert response.status_code == 409, variant
        assert "changed since it was scanned" in response.json["error"]


def test_no_picture_is_422_once(web: Web, tmp_path: Path) -> None:
    junk = tmp_path / "photos" / "broken.jpg"
    junk.parent.mkdir()
    junk.write_bytes(b"\xff\xd8\xff" + b"not really" * 50)
    file_id = web.add_file("broken.jpg", folder=str(junk.parent), sha256="ee" * 32)
    response = web.get_json(f"/files/{file_id}/display")
    assert response.status_code == 422 and "no picture to show" in response.json["error"]
    junk.unlink()  # the marker answers now, without reading the file again
    assert web.get_json(f"/files/{file_id}/display").status_code == 422


def test_unknown_and_other_files(web: Web) -> None:
    assert web.get_json("/files/999/display").status_code == 404
    other = web.add_file("notes.txt", kind="other")
    assert web.get_json(f"/files/{other}/display").status_code == 403
    unreadable = web.add_file("bad.jpg", status="error", error="truncated")
    assert web.get_json(f"/files/{unreadable}/full").status_code == 403
