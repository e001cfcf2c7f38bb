"""EXIF dates written in process over the old values (issue #20) against the real exiftool.

The same write is made both ways on real JPEGs (exiftool-written EXIF and Pillow-written
EXIF, both byte orders, with and without a thumbnail): exiftool must read the same tags
with the same values from either file, and the in-process one must differ from its source
only inside the old values' bytes. Whatever is not exactly patchable must give None (the
caller then has exiftool write it).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mediafix.media.digest import image_data_digest
from mediafix.media.exifpatch import patch_exif_text
from tests.helpers.media import (
    CAMERA_DATES,
    camera_jpeg,
    changed_within,
    scene,
    value_spans,
    write_tags,
)

OLD = CAMERA_DATES
# What apply writes into a plain camera JPEG (``plan.metadata_to_write``, as ``_batch_tags``
# hands it to exiftool).
NEW = {
    "EXIF:DateTimeOriginal": "2020:01:02 03:04:05",
    "EXIF:CreateDate": "2020:01:02 03:04:05",
    "EXIF:OffsetTimeOriginal": "-05:00",
    "EXIF:OffsetTime": "-05:00",
    "EXIF:OffsetTimeDigitized": "-05:00",
    "EXIF:SubSecTimeOriginal": "12",
    "EXIF:SubSecTimeDigitized": "12",
}


def pillow_jpeg(path: Path) -> Path:
    """The same dates in EXIF laid out by Pillow (another writer's layout)."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0132] = "Canon", "EOS R6", OLD["ModifyDate"]
    sub = exif.get_ifd(0x8769)
    for tag, name in [
        (0x9003, "DateTimeOriginal"),
        (0x9004, "CreateDate"),
        (0x9010, "OffsetTime"),
        (0x9011, "OffsetTimeOriginal"),
        (0x9012, "OffsetTimeDigitized"),
        (0x9290, "SubSecTime"),
        (0x9291, "SubSecTimeOriginal"),
        (0x9292, "SubSecTimeDigitized"),
    ]:
        sub[tag] = OLD[name]
    buf = io.BytesIO()
    scene(2, (320, 240)).save(buf, "JPEG", exif=exif.tobytes())
    path.write_bytes(buf.getvalue())
    return path


def exiftool_reading(path: Path) -> dict[str, Any]:
    """Every tag ``exiftool -j -G1 -a`` reads, but the file system's."""
    out = subprocess.run(
        ["exiftool", "-j", "-G1", "-a", str(path)], check=True, capture_output=True, text=True
    ).stdout
    record: dict[str, Any] = json.loads(out)[0]
    return {k: v for k, v in record.items() if not k.startswith(("System:", "SourceFile"))}


def exiftool_write(path: Path, write: dict[str, Any]) -> None:
    """``write`` the way apply's batches have exiftool write it (a JSON import)."""
    spec = path.with_suffix(".json")
    spec.write_text(json.dumps([{"SourceFile": str(path), **write}]))
    subprocess.run(
        ["exiftool", "-q", "-m", "-overwrite_original", f"-j={spec}", str(path)], check=True
    )


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: camera_jpeg(p), id="exiftool-intel"),
        pytest.param(
            lambda p: camera_jpeg(p, extra=("-ExifByteOrder=MM", f"-ThumbnailImage<={_thumb(p)}")),
            id="exiftool-motorola-thumbnail",
        ),
        pytest.param(pillow_jpeg, id="pillow"),
    ],
)
def test_patch_reads_back_as_exiftools_own_write(make: Any, tmp_path: Path) -> None:
    source = make(tmp_path / "source.jpg")
    data = source.read_bytes()
    patched = patch_exif_text(data, NEW)
    assert patched is not None
    mine = tmp_path / "mine.jpg"
    mine.write_bytes(patched)
    theirs = tmp_path / "theirs.jpg"
    theirs.write_bytes(data)
    exiftool_write(theirs, NEW)

    assert exiftool_reading(mine) == exiftool_reading(theirs)
    read = exiftool_reading(mine)
    for key, value in NEW.items():
        assert str(read[f"ExifIFD:{key.partition(':')[2]}"]) == value
    assert read["IFD0:ModifyDate"] == OLD["ModifyDate"]  # not written: left as it was
    assert read["ExifIFD:SubSecTime"] == int(OLD["SubSecTime"])
    # Nothing moved: only bytes inside the written tags' old values differ.
    spans = value_spans(data, [OLD[k.partition(":")[2]] for k in NEW])
    assert changed_within(data, patched, spans)
    assert image_data_digest(str(mine), "jpeg") == image_data_digest(str(source), "jpeg")


def _thumb(path: Path) -> Path:
    thumb = path.with_name("thumb.jpg")
    scene(9, (160, 120)).save(thumb, "JPEG")
    return thumb


def _with(**changes: Any) -> dict[str, Any]:
    return {k: v for k, v in {**NEW, **changes}.items() if v is not None}


@pytest.mark.parametrize(
    ("tags", "write"),
    [
        ({"OffsetTimeDigitized": ""}, NEW),  # a tag missing: it must be added
        ({"SubSecTimeOriginal": "370"}, NEW),  # another count: "12" is shorter
        ({}, _with(**{"EXIF:SubSecTimeOriginal": "7"})),  # the same, the other way
        ({}, _with(**{"EXIF:XPKeywords": "Oma"})),  # a tag besides the dates
        ({}, _with(**{"IPTC:Keywords": ["Oma"]})),
        ({}, _with(**{"EXIF:ModifyDate": "2020:01:02 03:04:05"})),  # not one patched here
        ({}, _with(**{"EXIF:DateTimeOriginal": "2020:01:02 03:04"})),  # exiftool converts
        ({}, _with(**{"EXIF:OffsetTime": "+5:00"})),
        ({}, {}),
    ],
    ids=[
        "missing",
        "longer-in-file",
        "shorter-value",
        "xpkeywords",
        "iptc",
        "modifydate",
        "odd-date",
        "odd-offset",
        "nothing",
    ],
)
def test_left_to_exiftool(tags: dict[str, str], write: dict[str, Any], tmp_path: Path) -> None:
    source = camera_jpeg(tmp_path / "source.jpg", **tags)
    assert patch_exif_text(source.read_bytes(), write) is None


def ascii_entry(data: bytes | bytearray, tag: int) -> bytes:
    """The first 8 bytes of a date's IFD entry (tag, ASCII, count 20) in ``data``'s order."""
    order = "<" if b"Exif\0\0II" in data else ">"
    entry = struct.pack(order + "HHI", tag, 2, 20)
    assert data.count(entry) == 1
    return entry


def test_a_date_in_ifd0_as_well_is_left_to_exiftool(tmp_path: Path) -> None:
    source = camera_jpeg(tmp_path / "source.jpg")
    data = bytearray(source.read_bytes())
    # Make IFD0's ModifyDate entry a DateTimeOriginal (tag 0x0132 -> 0x9003).
    at = data.index(ascii_entry(data, 0x0132))
    data[at : at + 8] = ascii_entry(data, 0x9003)
    assert patch_exif_text(bytes(data), NEW) is None


def test_values_sharing_their_bytes_are_left_to_exiftool(tmp_path: Path) -> None:
    """A writer that stored CreateDate at DateTimeOriginal's bytes: a write over one
    would change the other."""
    source = camera_jpeg(
        tmp_path / "source.jpg",
        DateTimeOriginal=OLD["CreateDate"],  # the same text, so the file reads the same
    )
    data = bytearray(source.read_bytes())
    at_original = data.index(ascii_entry(data, 0x9003))
    at_create = data.index(ascii_entry(data, 0x9004))
    data[at_create + 8 : at_create + 12] = data[at_original + 8 : at_original + 12]
    write = _with(**{"EXIF:CreateDate": "2021:01:01 00:00:00"})
    assert patch_exif_text(bytes(data), write) is None
    assert patch_exif_text(bytes(data), NEW) is None  # even with the same value for both


def test_a_value_sharing_its_bytes_with_one_not_written_is_left_to_exiftool(
    tmp_path: Path,
) -> None:
    """ModifyDate (not written) stored at DateTimeOriginal's bytes: writing one would
    change the other."""
    source = camera_jpeg(tmp_path / "source.jpg", ModifyDate=OLD["DateTimeOriginal"])
    data = bytearray(source.read_bytes())
    at_original = data.index(ascii_entry(data, 0x9003))
    at_modify = data.index(ascii_entry(data, 0x0132))
    data[at_modify + 8 : at_modify + 12] = data[at_original + 8 : at_original + 12]
    assert patch_exif_text(bytes(data), NEW) is None


def test_an_entry_pointing_at_data_not_mapped_is_left_to_exiftool(tmp_path: Path) -> None:
    """SubIFDs (or an uncompressed thumbnail's strips): data this module does not see."""
    data = bytearray(camera_jpeg(tmp_path / "source.jpg").read_bytes())
    order = "<" if b"Exif\0\0II" in data else ">"
    make = struct.pack(order + "HHI", 0x010F, 2, len("Canon") + 1)
    assert data.count(make) == 1
    at = data.index(make)
    data[at : at + 2] = struct.pack(order + "H", 0x014A)
    assert patch_exif_text(bytes(data), NEW) is None


def test_a_second_exif_segment_is_left_to_exiftool(tmp_path: Path) -> None:
    data = camera_jpeg(tmp_path / "source.jpg").read_bytes()
    at = data.index(b"Exif\0\0") - 4  # the APP1 marker
    assert data[at : at + 2] == b"\xff\xe1"
    first = data[at : at + 2 + int.from_bytes(data[at + 2 : at + 4], "big")]
    doubled = data[:2] + first + data[2:]
    assert patch_exif_text(doubled, NEW) is None
    assert patch_exif_text(data, NEW) is not None


def test_not_a_jpeg_or_no_exif(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jpg"
    scene(3, (64, 48)).save(plain, "JPEG")
    assert patch_exif_text(plain.read_bytes(), NEW) is None
    assert patch_exif_text(b"not a jpeg at all", NEW) is None
    write_tags(plain, DateTimeOriginal=OLD["DateTimeOriginal"])
    truncated = plain.read_bytes()[:200]
    assert patch_exif_text(truncated, {"EXIF:DateTimeOriginal": "2020:01:02 03:04:05"}) is None
