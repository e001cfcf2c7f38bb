"""Probe: kind from content, size, hash, dimensions as displayed, errors as values."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image

from mediafix.media.exiftool import ExifTool
from mediafix.media.kinds import sniff
from mediafix.media.probe import probe_batch, probe_file
from tests.helpers.media import make_jpeg, scene


def _probe(path: Path | str, et: ExifTool):  # type: ignore[no-untyped-def]
    (p,) = probe_batch([path], et)
    return p


def test_jpeg_with_exif(tmp_path: Path, exiftool: ExifTool) -> None:
    path = make_jpeg(
        tmp_path / "IMG_0001.JPG",
        1,
        (800, 600),
        DateTimeOriginal="2019:09:19 05:38:57",
        Make="Canon",
        Model="EOS 5D",
    )
    p = _probe(path, exiftool)
    assert p.error is None
    assert (p.kind, p.format, p.ext, p.ext_mismatch) == ("image", "jpeg", ".jpg", False)
    assert p.size == path.stat().st_size
    assert p.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (p.width, p.height) == (800, 600)
    assert p.make == "Canon" and p.model == "EOS 5D"
    assert p.metadata["ExifIFD:DateTimeOriginal"] == "2019:09:19 05:38:57"
    assert p.phash and len(p.phash) == 16


def test_orientation_swaps_displayed_size(tmp_path: Path, exiftool: ExifTool) -> None:
    path = make_jpeg(tmp_path / "turned.jpg", 2, (800, 600))
    os.system(f"exiftool -q -overwrite_original -n -Orientation=6 '{path}'")
    p = _probe(path, exiftool)
    assert p.orientation == 6
    assert (p.width, p.height) == (600, 800)


def test_png_and_heic(tmp_path: Path, exiftool: ExifTool) -> None:
    png = tmp_path / "shot.png"
    scene(3, (320, 200)).save(png)
    heic = tmp_path / "live.heic"
    pillow_heif.from_pillow(scene(4, (400, 300))).save(heic, quality=80)
    p_png, p_heic = probe_batch([png, heic], exiftool)
    assert (p_png.kind, p_png.format, p_png.width, p_png.height) == ("image", "png", 320, 200)
    assert p_png.error is None and p_png.phash
    assert (p_heic.kind, p_heic.format, p_heic.width, p_heic.height) == ("image", "heic", 400, 300)
    assert p_heic.error is None and p_heic.phash


def test_jpeg_named_png_is_a_jpeg(tmp_path: Path, exiftool: ExifTool) -> None:
    path = make_jpeg(tmp_path / "liar.png", 5)
    p = _probe(path, exiftool)
    assert (p.kind, p.format, p.ext, p.ext_mismatch) == ("image", "jpeg", ".jpg", True)
    assert p.error is None


def test_truncated_jpeg_is_an_error_with_facts(tmp_path: Path, exiftool: ExifTool) -> None:
    whole = make_jpeg(
        tmp_path / "whole.jpg", 6, (1024, 768), DateTimeOriginal="2020:02:02 02:02:02"
    )
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    p = _probe(cut, exiftool)
    assert p.kind == "image" and p.sha256
    assert p.error and "truncated" in p.error.lower()
    assert "\n" not in p.error


def test_zero_byte_and_text(tmp_path: Path, exiftool: ExifTool) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("shopping list\n" * 20)
    p_empty, p_text = probe_batch([empty, text], exiftool)
    assert p_empty.error == "the file is empty (0 bytes)" and p_empty.size == 0
    assert p_text.kind == "other" and p_text.error and ".jpg" in p_text.error


def test_hostile_names(tmp_path: Path, exiftool: ExifTool) -> None:
    dash = make_jpeg(tmp_path / "-dash.jpg", 7, DateTimeOriginal="2011:11:11 11:11:11")
    raw = os.fsencode(tmp_path) + b"/\xff\xfe.jpg"
    make_jpeg(tmp_path / "x.jpg", 8, DateTimeOriginal="2012:12:12 12:12:12")
    os.rename(tmp_path / "x.jpg", raw)
    p_dash, p_raw = probe_batch([dash, os.fsdecode(raw)], exiftool)
    assert p_dash.metadata["ExifIFD:DateTimeOriginal"] == "2011:11:11 11:11:11"
    assert p_raw.path == os.fsdecode(raw)
    assert p_raw.metadata["ExifIFD:DateTimeOriginal"] == "2012:12:12 12:12:12"


def test_fifo_is_not_opened(tmp_path: Path, exiftool: ExifTool) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    p = _probe(fifo, exiftool)  # would block forever if opened
    assert p.error and "not a regular file" in p.error


def _png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge canvas (all zeros compress to almost nothing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(256)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused(tmp_path: Path, exiftool: ExifTool) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_bomb(60000, 60000))
    p = _probe(bomb, exiftool)
    assert p.kind == "image" and p.error
    assert "large" in p.error.lower()


@pytest.mark.parametrize(
    ("head", "kind", "fmt"),
    [
        (b"\xff\xd8\xff\xe1", "image", "jpeg"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image", "heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", "image", "avif"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "video", "mov"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42", "video", "mp4"),
        (b"\x00\x00\x00\x18ftyp3gp4\x00\x00\x00\x003gp4", "video", "3gp"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video", "avi"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image", "webp"),
        (b"II*\x00\x08\x00\x00\x00", "image", "tiff"),
        (b"hello world", "other", "unknown"),
    ],
)
def test_sniff(head: bytes, kind: str, fmt: str) -> None:
    ftype = sniff(head + b"\x00" * 64)
    assert (ftype.kind, ftype.format) == (kind, fmt)


def test_probe_file_without_exiftool_metadata(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (50, 40), "red").save(buf, "PNG")
    path = tmp_path / "red.png"
    path.write_bytes(buf.getvalue())
    p = probe_file(path)
    assert (p.kind, p.width, p.height, p.error) == ("image", 50, 40, None)


def test_byte_copies_are_decoded_once(
    tmp_path: Path, exiftool: ExifTool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mediafix.media import fingerprint, probe

    original = make_jpeg(tmp_path / "a" / "IMG_1.jpg", 5, (900, 700), Orientation="Rotate 90 CW")
    copy = tmp_path / "b" / "IMG_1 (1).jpg"
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    other = make_jpeg(tmp_path / "a" / "IMG_2.jpg", 6, (900, 700))
    decoded: list[int] = []
    real = fingerprint.image_facts

    def counting(data: bytes) -> fingerprint.ImageFacts:
        decoded.append(len(data))
        return real(data)

    monkeypatch.setattr(fingerprint, "image_facts", counting)
    monkeypatch.setattr(probe, "_FACTS_MEMO", type(probe._FACTS_MEMO)())
    a, b, c = probe_batch([original, copy, other], exiftool)
    assert len(decoded) == 2  # the copy reused the original's decode
    assert (b.width, b.height, b.orientation, b.phash) == (a.width, a.height, 6, a.phash)
    assert (a.width, a.height) == (700, 900)
    assert c.phash != a.phash


def test_largest_files_are_probed_first(tmp_path: Path) -> None:
    from mediafix.services.pipeline import iter_found, largest_first

    for name, size in [("small.jpg", 10), ("big.jpg", 3000), ("mid.jpg", 200), ("mid2.jpg", 200)]:
        (tmp_path / name).write_bytes(b"x" * size)
    order = [Path(f.path).name for f in largest_first(iter_found([tmp_path]))]
    assert order[0] == "big.jpg" and order[-1] == "small.jpg"
    assert set(order[1:3]) == {"mid.jpg", "mid2.jpg"}


def test_balanced_batches_end_small(tmp_path: Path) -> None:
    from mediafix.media.discover import Found
    from mediafix.services.pipeline import balanced_batches

    found = [
        Found(path=f"/p/{i}", root="/p", rel_path=str(i), size=i, mtime=0.0) for i in range(200)
    ]
    batches = list(balanced_batches(found, workers=2, size=32))
    flat = [f.size for b in batches for f in b]
    assert sorted(flat, reverse=True) == flat == list(range(199, -1, -1))  # all, biggest first
    sizes = [len(b) for b in batches]
    assert sizes[0] == 32 and max(sizes[-4:]) <= 8  # the tail is in small batches
    assert list(balanced_batches([], workers=2)) == []
