"""The in-process JPEG EXIF reader against the real exiftool (issue #20).

Every file is read both ways; a plain JPEG must give exactly exiftool's record (keys,
values, JSON types), any other must be left to exiftool (None).
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediafix.media.exiftool import ExifTool
from mediafix.media.jpegexif import HEAD_BYTES, read_plain_jpeg
from mediafix.media.probe import probe_batch
from tests.helpers.media import make_jpeg, scene, write_tags


def _mine(path: Path) -> dict[str, Any] | None:
    data = path.read_bytes()
    return read_plain_jpeg(data[:HEAD_BYTES], data[-2:])


def _exiftool(exiftool: ExifTool, path: Path) -> dict[str, Any]:
    record = exiftool.read_metadata([str(path)])[0]
    return {k: v for k, v in record.items() if k != "SourceFile"}


def _pillow_exif(**ifd0: Any) -> Image.Exif:
    exif = Image.Exif()
    for tag, value in ifd0.items():
        exif[int(tag[1:], 16)] = value
    return exif


def _save(path: Path, exif: Image.Exif | None = None, **kwargs: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"exif": exif.tobytes()} if exif is not None else {}
    scene(7, (320, 240)).save(path, "JPEG", quality=85, **extra, **kwargs)
    return path


def _plain_files(folder: Path) -> list[Path]:
    """JPEGs the reader must read itself: Pillow's and exiftool's EXIF, both byte orders."""
    files = [_save(folder / "no-exif.jpg"), _save(folder / "progressive.jpg", progressive=True)]
    camera = _pillow_exif(
        x010F="Canon", x0110="EOS R6", x0112=6, x0131="Firmware 1.2", x0132="2021:06:12 10:11:13"
    )
    sub = camera.get_ifd(0x8769)
    sub.update(
        {
            0x9003: "2021:06:12 10:11:12",
            0x9004: "2021:06:12 10:11:12",
            0x9011: "+02:00",
            0x9291: "045",  # a string for exiftool's JSON (leading zero)
            0x9290: "123",  # a number
            0xA420: "F0A1B2C3D4",
            0xA431: "012345",
            0xA434: "RF24-105mm F4 L IS USM",
            0xA002: 320,
            0xA003: 240,
        }
    )
    files.append(_save(folder / "camera.jpg", camera))
    gps = _pillow_exif(x010F="Apple", x0110="5")  # a model exiftool prints as a number
    g = gps.get_ifd(0x8825)
    g.update(
        {
            1: "S",
            2: (33.0, 51.0, 35.9),
            3: "W",
            4: (151.0, 12.0, 40.25),
            7: (10.0, 11.0, 12.5),
            0x1D: "2021:06:12",
        }
    )
    files.append(_save(folder / "gps.jpg", gps))
    # exiftool's own EXIF (big-endian), on a file Pillow wrote without any
    written = _save(folder / "exiftool-written.jpg")
    write_tags(
        written,
        DateTimeOriginal="2019:09:19 05:38:57",
        OffsetTimeOriginal="+02:00",
        SubSecTimeOriginal="5",
        Make="Apple",
        Model="iPhone 8",
        Orientation="3",
        GPSLatitude="48.8582",
        GPSLatitudeRef="N",
        GPSLongitude="2.2945",
        GPSLongitudeRef="E",
        GPSTimeStamp="23:59:59",
        TimeZoneOffset="2",
    )
    files.append(written)
    files.append(make_jpeg(folder / "made.jpg", 3, DateTimeOriginal="2015:05:05 05:05:05"))
    return files


def _other_files(folder: Path) -> list[Path]:
    """JPEGs with metadata the reader does not read: exiftool must be asked."""
    files = []
    for name, tags in (
        ("xmp.jpg", {"XMP-dc:Title": "a title"}),
        ("iptc.jpg", {"IPTC:Keywords": "holiday"}),
        ("comment.jpg", {"Comment": "hello"}),
    ):
        files.append(_save(folder / name))
        write_tags(files[-1], DateTimeOriginal="2020:01:01 00:00:00", **tags)
    maker = _pillow_exif(x010F="Canon")
    maker.get_ifd(0x8769)[0x927C] = b"\x00\x01\x02\x03maker"
    files.append(_save(folder / "makernote.jpg", maker))
    files.append(_save(folder / "icc.jpg", icc_profile=b"\0" * 128))
    trailer = _save(folder / "trailer.jpg", _pillow_exif(x010F="Canon"))
    with open(trailer, "ab") as fh:
        fh.write(b"AXS!trailer data")
    files.append(trailer)
    accents = _save(folder / "accents.jpg", _pillow_exif(x010F="CafX"))
    accents.write_bytes(accents.read_bytes().replace(b"CafX", b"Caf\xe9"))  # Latin-1 bytes
    files.append(accents)
    whole = (folder / "camera.jpg").read_bytes() if (folder / "camera.jpg").exists() else b""
    if whole:
        (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
        files.append(folder / "truncated.jpg")
    return files


def test_plain_jpegs_read_in_process_equal_exiftool(exiftool: ExifTool, tmp_path: Path) -> None:
    for path in _plain_files(tmp_path):
        mine = _mine(path)
        assert mine is not None, path.name
        assert mine == _exiftool(exiftool, path), path.name


def test_other_jpegs_are_left_to_exiftool(exiftool: ExifTool, tmp_path: Path) -> None:
    _plain_files(tmp_path)
    for path in _other_files(tmp_path):
        assert _mine(path) is None, path.name


@pytest.mark.parametrize("seed", range(3))
def test_random_exif_layouts_read_equal_or_not_at_all(
    exiftool: ExifTool, tmp_path: Path, seed: int
) -> None:
    """Whatever the reader answers for a file with random asked and unasked tags, in either
    byte order, it is exiftool's answer."""
    import random

    rng = random.Random(seed)
    answered = 0
    for i in range(12):
        exif = _pillow_exif(x010F=rng.choice(["Canon", "NIKON CORPORATION", "7"]))
        if rng.random() < 0.5:
            exif[0x0110] = rng.choice(["X100V", "12.5", "-3"])
        exif[0x010E] = "an unasked description"
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = f"20{rng.randint(10, 24)}:0{rng.randint(1, 9)}:1{rng.randint(0, 9)} 10:00:00"
        sub[0x829A] = (1, rng.randint(2, 4000))  # ExposureTime: unasked
        if rng.random() < 0.5:
            sub[0x9011] = rng.choice(["+05:30", "-03:00", "Z"])
        path = _save(tmp_path / f"r{i}.jpg", exif)
        if rng.random() < 0.5:  # exiftool rewrites it big-endian
            subprocess.run(
                ["exiftool", "-q", "-overwrite_original", "-ExifByteOrder=Big-endian", str(path)],
                check=True,
                capture_output=True,
            )
        mine = _mine(path)
        if mine is not None:
            answered += 1
            assert mine == _exiftool(exiftool, path), path.name
    assert answered >= 6  # the reader does read these layouts


def test_probe_reads_plain_jpegs_without_exiftool(tmp_path: Path) -> None:
    """A batch of plain JPEGs never starts exiftool; the facts are the ones it gives."""
    files = _plain_files(tmp_path)
    idle = ExifTool()
    probes = probe_batch([str(p) for p in files], idle)
    assert not idle.running
    with ExifTool() as et:
        for path, probe in zip(files, probes, strict=True):
            assert probe.metadata == _exiftool(et, path), path.name
            assert probe.error is None
    camera = next(p for p in probes if p.path.endswith("camera.jpg"))
    assert (camera.make, camera.model, camera.orientation) == ("Canon", "EOS R6", 6)
    assert os.path.basename(camera.path) == "camera.jpg"


def test_head_is_enough_for_a_big_exif_block(exiftool: ExifTool, tmp_path: Path) -> None:
    # a 60 KB EXIF block (an embedded thumbnail) still fits in what the probe reads
    thumb = io.BytesIO()
    scene(8, (160, 120)).save(thumb, "JPEG", quality=95)
    exif = _pillow_exif(x010F="Canon", x0110="EOS R6")
    exif.get_ifd(0x8769)[0x9003] = "2022:02:02 02:02:02"
    exif[0x010E] = "x" * 50_000
    path = _save(tmp_path / "big.jpg", exif)
    mine = _mine(path)
    assert mine is not None and mine == _exiftool(exiftool, path)
