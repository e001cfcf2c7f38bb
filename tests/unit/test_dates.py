"""Date engine: candidates from every source, clocks and offsets, sentinels, the verdict.

Photos are generated here (Pillow + exiftool) and read back with the real exiftool. Videos
come from ``tests/data/exiftool/*.json``: exiftool's answers for tiny MOV/MP4 files that
PyAV encoded and exiftool tagged (``test_generated_video`` repeats that live when PyAV is
installed). Formats exiftool cannot write (AVI, MTS) are fed as metadata dicts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from mediafix.media.dates import (
    FACTORY_CLOCKS,
    TRUST_TABLE,
    DateOptions,
    DateVerdict,
    SequenceItem,
    date_file,
    infer_sequences,
    level_for,
    parse_datetime,
)
from mediafix.media.exiftool import ExifTool
from mediafix.media.sidecars import pair_sidecars
from mediafix.media.values import Precision
from tests.helpers.media import scene
from tests.helpers.paths import DATA

RSRC = DATA / "exiftool"
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 6, 1, 12, 0)
OPTIONS = DateOptions(home_zone=BERLIN, now=NOW)
WRONG_MTIME = datetime(2023, 5, 1, 12, 0).timestamp()  # a copy made much later


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RSRC / name).read_text())
    return data


def verdict(
    name: str,
    metadata: dict[str, Any] | None = None,
    mtime: float | None = None,
    options: DateOptions = OPTIONS,
    **kw: Any,
) -> DateVerdict:
    return date_file(f"/photos/{name}", metadata or {}, mtime, options=options, **kw)


@pytest.fixture
def read(exiftool: ExifTool) -> Callable[[Path], dict[str, Any]]:
    def _read(path: Path) -> dict[str, Any]:
        (meta,) = exiftool.read_metadata([path])
        return meta

    return _read


@pytest.fixture
def jpeg(tmp_path: Path, exiftool: ExifTool) -> Callable[..., Path]:
    """A tiny JPEG tagged through the shared exiftool session (no process start per file)."""

    def _jpeg(name: str, **tags: str) -> Path:
        path = tmp_path / name
        scene(1, (64, 48)).save(path, "JPEG")
        exiftool.write_tags(path, tags)
        return path

    return _jpeg


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "precision", "offset"),
    [
        ("2019:09:19 05:38:57", datetime(2019, 9, 19, 5, 38, 57), Precision.SECOND, None),
        (
            "2019:09:19 05:38:57.12+02:00",
            datetime(2019, 9, 19, 5, 38, 57, 120000),
            Precision.SUBSECOND,
            120,
        ),
        ("2019-09-19T05:38:57-04:30", datetime(2019, 9, 19, 5, 38, 57), Precision.SECOND, -270),
        ("2019:09:19 05:38Z", datetime(2019, 9, 19, 5, 38), Precision.MINUTE, 0),
        ("2019:04:24 22:24:00+02:00 DST", datetime(2019, 4, 24, 22, 24), Precision.SECOND, 120),
        (
            "2018:07:25 16:34:22.173129472",
            datetime(2018, 7, 25, 16, 34, 22, 173129),
            Precision.SUBSECOND,
            None,
        ),
        ("2019:09:19", datetime(2019, 9, 19), Precision.DAY, None),
        ("2019:09", datetime(2019, 9, 1), Precision.MONTH, None),
        (2010, datetime(2010, 1, 1), Precision.YEAR, None),
    ],
)
def test_parse_datetime(
    text: Any, value: datetime, precision: Precision, offset: int | None
) -> None:
    parsed = parse_datetime(text)
    assert parsed is not None
    assert (parsed.value, parsed.precision, parsed.offset) == (value, precision, offset)


@pytest.mark.parametrize(
    "text",
    [
        "0000:00:00 00:00:00",
        "    :  :     ",
        "",
        None,
        "2019:13:01 00:00:00",
        "1999:99:99 99:99:99",
        "yesterday",
    ],
)
def test_parse_datetime_rejects_blanks_and_nonsense(text: Any) -> None:
    assert parse_datetime(text) is None


# --- photo metadata, from real files ----------------------------------------------------


def test_photo_with_offset_time_original(
    jpeg: Callable[..., Path], read: Callable[[Path], dict[str, Any]]
) -> None:
    path = jpeg(
        "IMG_20190919_053857.jpg",
        DateTimeOriginal="2019:09:19 05:38:57",
        OffsetTimeOriginal="-04:00",
        SubSecTimeOriginal="123",
        CreateDate="2019:09:19 05:38:57",
        Model="Pixel 3",
    )
    v = date_file(str(path), read(path), WRONG_MTIME, options=OPTIONS)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57, 123000)
    assert v.utc_offset == -240 and v.offset_source == "exif:OffsetTimeOriginal"
    assert v.taken_at_utc == datetime(2019, 9, 19, 9, 38, 57, 123000)
    assert v.source == "exif:DateTimeOriginal" and v.level == "high"
    assert v.precision is Precision.SUBSECOND
    assert v.reason == "camera EXIF DateTimeOriginal with its offset; the file name agrees"
    d = v.to_dict()
    assert d["taken_at"] == "2019-09-19T05:38:57" and d["utc_offset"] == "-04:00"
    assert d["taken_at_utc"] == "2019-09-19T09:38:57Z" and d["confidence_level"] == "high"
    assert {c["source"] for c in d["candidates"]} >= {
        "exif:DateTimeOriginal",
        "exif:CreateDate",
        "filename",
        "file:mtime",
    }
    dto = next(c for c in d["candidates"] if c["source"] == "exif:DateTimeOriginal")
    assert dto["value"] == "2019-09-19T05:38:57.123000" and dto["utc"].endswith("Z")


def test_offset_from_gps_time(
    jpeg: Callable[..., Path], read: Callable[[Path], dict[str, Any]]
) -> None:
    path = jpeg(
        "DSC_0001.JPG",
        DateTimeOriginal="2019:09:19 05:38:57",
        GPSDateStamp="2019:09:19",
        GPSTimeStamp="09:38:55",
    )
    v = date_file(str(path), read(path), None, options=OPTIONS)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57)
    assert (v.utc_offset, v.offset_source) == (-240, "gps")
    assert v.taken_at_utc == datetime(2019, 9, 19, 9, 38, 57)
    assert "offset from the GPS time" in v.reason and "GPS time agrees" in v.reason


def test_offset_from_gps_position(
    jpeg: Callable[..., Path], read: Callable[[Path], dict[str, Any]]
) -> None:
    path = jpeg(
        "DSC_0002.JPG",
        DateTimeOriginal="2019:01:10 10:00:00",
        GPSLatitude="35.68",
        GPSLatitudeRef="N",
        GPSLongitude="139.69",
        GPSLongitudeRef="E",
    )
    v = date_file(str(path), read(path), None, options=OPTIONS)
    assert (v.utc_offset, v.offset_source) == (540, "gps-position")
    assert "Asia/Tokyo" in v.reason
    assert v.taken_at_utc == datetime(2019, 1, 10, 1, 0)


def test_iptc_date_and_time(
    jpeg: Callable[..., Path], read: Callable[[Path], dict[str, Any]]
) -> None:
    path = jpeg(
        "scan.jpg", **{"IPTC:DateCreated": "2005:06:07", "IPTC:TimeCreated": "08:09:10+02:00"}
    )
    v = date_file(str(path), read(path), None, options=OPTIONS)
    assert v.source == "iptc:DateCreated" and v.taken_at == datetime(2005, 6, 7, 8, 9, 10)
    assert (v.utc_offset, v.offset_source) == (120, "iptc:TimeCreated")


def test_xmp_date_created_and_modify_date_is_weak(
    jpeg: Callable[..., Path], read: Callable[[Path], dict[str, Any]]
) -> None:
    path = jpeg(
        "edit.jpg",
        **{
            "XMP-photoshop:DateCreated": "2011:02:03 04:05:06",
            "IFD0:ModifyDate": "2020:01:01 10:00:00",
        },
    )
    v = date_file(str(path), read(path), None, options=OPTIONS)
    assert v.source == "xmp:DateCreated" and v.taken_at == datetime(2011, 2, 3, 4, 5, 6)
    only_modified = jpeg("m.jpg", **{"IFD0:ModifyDate": "2020:01:01 10:00:00"})
    v = date_file(str(only_modified), read(only_modified), None, options=OPTIONS)
    assert v.source == "exif:ModifyDate" and v.level == "low"


def test_subsec_composite_and_create_date_alone() -> None:
    v = verdict("a.jpg", {"Composite:SubSecDateTimeOriginal": "2019:09:19 05:38:57.5+01:00"})
    assert v.source == "exif:Composite:SubSecDateTimeOriginal" and v.utc_offset == 60
    assert v.candidates[0].to_dict()["detail"] == "Composite"
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57, 500000)
    v = verdict(
        "b.jpg", {"ExifIFD:CreateDate": "2019:09:19 05:38:57", "ExifIFD:SubSecTimeDigitized": "07"}
    )
    assert v.source == "exif:CreateDate" and v.taken_at == datetime(2019, 9, 19, 5, 38, 57, 70000)
    assert v.level == "high"


@pytest.mark.parametrize("maker", ["Kodak", "Casio", "Olympus", "FLIR"])
def test_maker_notes_date_says_so_and_is_trusted_a_little_less(maker: str) -> None:
    """Without EXIF's own DateTimeOriginal, the maker's copy is labelled as such, names the
    maker, and is trusted like a maker's note, not like EXIF."""
    meta = {f"{maker}:DateTimeOriginal": "2019:09:19 05:38:57", f"{maker}:Model": "X"}
    v = verdict("a.jpg", meta)
    assert v.source == "exif:MakerNotes:DateTimeOriginal"
    assert v.source.startswith("exif:")  # the documented prefix stays
    c = v.candidates[0]
    assert c.to_dict()["detail"] == maker and f"{maker} maker notes" in c.note
    exif = verdict("b.jpg", {"ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57"})
    assert exif.source == "exif:DateTimeOriginal" and exif.candidates[0].detail is None
    assert c.confidence < exif.candidates[0].confidence
    assert v.confidence < exif.confidence and v.level == "high"
    both = verdict("c.jpg", {**meta, "ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57"})
    assert both.source == "exif:DateTimeOriginal"


def test_matroska_date_is_utc_and_not_exif() -> None:
    v = verdict("clip.mkv", {"Matroska:DateTimeOriginal": "2019:09:19 03:38:57"})
    assert v.source == "matroska:DateTimeOriginal"
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57)  # Berlin summer time


def test_offset_time_of_a_later_edit_is_not_the_capture_offset() -> None:
    v = verdict(
        "c.jpg",
        {
            "ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57",
            "IFD0:ModifyDate": "2020:02:02 10:00:00",
            "ExifIFD:OffsetTime": "+09:00",
        },
    )
    assert v.offset_source == "home-zone" and v.utc_offset == 120


# --- video metadata ---------------------------------------------------------------------


def test_iphone_mov_keys_creation_date_wins() -> None:
    v = verdict("IMG_0001.MOV", recorded("iphone-mov.json"), WRONG_MTIME)
    assert v.source == "quicktime:CreationDate" and v.offset_source == "quicktime:Keys"
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57) and v.utc_offset == 120
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57) and v.level == "high"
    qt = next(c for c in v.candidates if c.source == "quicktime:CreateDate")
    assert qt.utc == datetime(2019, 9, 19, 3, 38, 58)  # UTC, never read as local
    assert qt.value == datetime(2019, 9, 19, 5, 38, 58) and qt.offset_source == "quicktime:Keys"


def test_phone_mp4_quicktime_date_is_utc() -> None:
    meta = recorded("phone-mp4-utc.json")
    v = verdict("clip.mp4", meta, WRONG_MTIME)
    assert v.source == "quicktime:CreateDate" and v.level == "high"
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57)
    assert (v.utc_offset, v.offset_source) == (120, "home-zone")
    assert "(UTC)" in v.reason and "home zone (Europe/Berlin)" in v.reason
    # Another home zone moves the wall clock, never the instant.
    ny = DateOptions(home_zone=ZoneInfo("America/New_York"), now=NOW)
    v2 = verdict("clip.mp4", meta, None, options=ny)
    assert v2.taken_at_utc == v.taken_at_utc and v2.taken_at == datetime(2019, 9, 18, 23, 38, 57)


def test_phone_mp4_offset_from_its_local_file_name() -> None:
    ny = DateOptions(home_zone=ZoneInfo("America/New_York"), now=NOW)
    v = verdict("VID_20190919_053857.mp4", recorded("phone-mp4-utc.json"), None, options=ny)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57) and v.utc_offset == 120
    assert v.offset_source == "filename" and "the file name agrees" in v.reason


def test_camera_model_override_reads_quicktime_as_local() -> None:
    meta = recorded("camera-mp4-local.json")
    plain = verdict("MVI_0042.MP4", meta)
    assert plain.taken_at == datetime(2019, 9, 19, 7, 38, 57)  # read as UTC by default
    opts = DateOptions(home_zone=BERLIN, now=NOW, quicktime_local_models=frozenset({"dmc-tz101"}))
    v = verdict("MVI_0042.MP4", meta, options=opts)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57)
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57)
    assert "local time" in v.reason


def test_quicktime_zero_dates_are_sentinels() -> None:
    v = verdict("zero.mov", recorded("zero-dates.mov.json"), WRONG_MTIME)
    assert v.source == "file:mtime" and v.level == "low"
    v = verdict("zero.mov", {"QuickTime:CreateDate": "1904:01:01 00:00:00"})
    assert v.taken_at is None and "QuickTime zero date" in v.reason


@pytest.mark.parametrize(
    ("meta", "source", "taken_at", "offset"),
    [
        (
            {"RIFF:DateTimeOriginal": "2009:10:27 12:14:00"},
            "riff:DateTimeOriginal",
            datetime(2009, 10, 27, 12, 14),
            60,
        ),
        (
            {"H264:DateTimeOriginal": "2019:04:24 22:24:00+02:00 DST"},
            "h264:DateTimeOriginal",
            datetime(2019, 4, 24, 22, 24),
            120,
        ),
        (
            {"UserData:DateTimeOriginal": "2021:05:16 19:27:55Z"},
            "quicktime:DateTimeOriginal",
            datetime(2021, 5, 16, 21, 27, 55),
            120,
        ),
    ],
)
def test_avi_mts_and_userdata_dates(
    meta: dict[str, Any], source: str, taken_at: datetime, offset: int
) -> None:
    v = verdict("clip", meta)
    assert (v.source, v.taken_at, v.utc_offset) == (source, taken_at, offset)
    assert v.level == "high"


def test_generated_video(
    tmp_path: Path, exiftool: ExifTool, read: Callable[[Path], dict[str, Any]]
) -> None:
    """The recorded JSON's story, live: PyAV writes an MP4, exiftool tags it."""
    av = pytest.importorskip("av")
    import numpy as np

    path = tmp_path / "VID_20190919_053857.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(
                np.full((32, 32, 3), i * 90, np.uint8), format="rgb24"
            )
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    exiftool.write_tags(
        path,
        {
            "QuickTime:CreateDate": "2019:09:19 03:38:57",
            "Track1:MediaCreateDate": "2019:09:19 03:38:57",
        },
    )
    v = date_file(str(path), read(path), WRONG_MTIME, options=OPTIONS)
    assert v.source == "quicktime:CreateDate"
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57) and v.level == "high"


# --- sentinels and impossible values ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("0000:00:00 00:00:00", "blank"),
        ("    :  :     ", "blank"),
        ("1970:01:01 00:00:00", "Unix zero date"),
        ("1970:01:01 01:00:00", "Unix zero date"),
        ("1904:01:01 00:00:00", "QuickTime zero date"),
        ("2000:01:01 00:00:00", "reset camera clock"),
        ("2000:01:01 00:12:31", "reset camera clock"),
        ("2002:01:01 00:00:00", "reset camera clock"),
        ("2016:01:01 00:00:05", "reset"),
        ("2024:06:03 12:00:00", "in the future"),
        ("2099:09:29 10:10:10", "in the future"),
        ("1800:01:01 00:00:00", "before photography"),
    ],
)
def test_sentinels_are_rejected(value: str, why: str) -> None:
    v = verdict("IMG_0001.JPG", {"ExifIFD:DateTimeOriginal": value}, WRONG_MTIME)
    assert v.source == "file:mtime" and v.level == "low"
    assert why in v.reason
    assert all(c.source != "exif:DateTimeOriginal" for c in v.candidates)


def test_tomorrow_is_a_time_zone_not_the_future() -> None:
    v = verdict("x.jpg", {"ExifIFD:DateTimeOriginal": "2024:06:01 23:30:00"})
    assert v.source == "exif:DateTimeOriginal"


def test_factory_clock_confirmed_by_an_independent_source_stays() -> None:
    """New Year's midnight is real when the file name (or Takeout) says the same."""
    v = verdict("IMG_20000101_000312.jpg", {"ExifIFD:DateTimeOriginal": "2000:01:01 00:03:12"})
    assert v.source == "exif:DateTimeOriginal" and v.taken_at == datetime(2000, 1, 1, 0, 3, 12)


def test_factory_clocks_table_is_sane() -> None:
    for clock in FACTORY_CLOCKS:
        assert clock.window <= timedelta(days=1) and clock.note


# --- agreement, conflict, confidence ---------------------------------------------------------


def test_utc_name_and_local_exif_agree_up_to_the_zone() -> None:
    """A Pixel names in UTC, EXIF is local: two hours apart in Berlin summer is agreement."""
    v = verdict("PXL_20190919_033857123.jpg", {"ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57"})
    assert v.source == "exif:DateTimeOriginal" and v.confidence > 0.95
    assert (v.utc_offset, v.offset_source) == (120, "filename")
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57)
    assert "the file name agrees" in v.reason


def test_half_hour_zone_is_agreement_too() -> None:
    v = verdict("PXL_20190919_000857000.jpg", {"ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57"})
    assert v.utc_offset == 330 and "agrees" in v.reason


def test_conflict_lowers_confidence_and_says_so() -> None:
    v = verdict("IMG_20190919_053857.jpg", {"ExifIFD:DateTimeOriginal": "2015:03:02 10:00:00"})
    assert v.source == "exif:DateTimeOriginal"  # the more trusted source still wins...
    assert v.confidence < 0.6  # ...but the file goes to review
    assert "the file name disagrees (2019-09-19 05:38:57)" in v.reason


def test_never_the_earliest() -> None:
    v = verdict(
        "x.jpg",
        {
            "ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57",
            "IFD0:ModifyDate": "2010:01:02 03:04:05",
        },
        datetime(2009, 1, 1).timestamp(),
    )
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57)
    assert v.confidence >= 0.9  # mtime and ModifyDate differ for innocent reasons


def test_phone_library_is_high() -> None:
    photo = verdict(
        "IMG_20190919_053857.jpg", {"ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57"}, WRONG_MTIME
    )
    assert photo.level == "high"
    pixel = verdict("PXL_20190919_033857123.mp4", {"QuickTime:CreateDate": "2019:09:19 03:38:57"})
    assert pixel.level == "high" and pixel.confidence > 0.85


def test_camera_name_alone_is_medium_with_the_names_time() -> None:
    v = verdict("IMG_20190919_053857.jpg", {}, WRONG_MTIME)
    assert v.source == "filename" and v.level == "medium" and 0.6 <= v.confidence < 0.8
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57) and v.offset_source == "home-zone"


def test_utc_name_alone_gives_its_instant() -> None:
    v = verdict("PXL_20190919_033857123.jpg", {}, WRONG_MTIME)
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57, 123000)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57, 123000)
    assert v.offset_source == "home-zone" and v.level == "medium"


def test_whatsapp_date_only_name_is_never_high() -> None:
    v = verdict("IMG-20190919-WA0001.jpg", {}, WRONG_MTIME)
    assert v.taken_at == datetime(2019, 9, 19) and v.precision is Precision.DAY
    assert v.confidence < 0.6 and v.taken_at_utc is None
    same_day = datetime(2019, 9, 19, 16, 3, 4, tzinfo=BERLIN).timestamp()
    v = verdict("IMG-20190919-WA0001.jpg", {}, same_day)
    assert v.taken_at == datetime(2019, 9, 19, 16, 3, 4) and v.confidence < 0.6
    assert "time of day from the file's modification time" in v.reason


def test_mtime_alone_is_low() -> None:
    v = verdict("scan.jpg", {}, datetime(2019, 9, 19, 3, 38, 57).timestamp())
    assert v.source == "file:mtime" and v.level == "low" and v.confidence < 0.5


def test_folder_names_are_low_and_keep_their_precision() -> None:
    v = date_file("/lib/2004/Summer/scan.jpg", {}, None, root="/lib", options=OPTIONS)
    assert v.source == "folder" and v.precision is Precision.YEAR and v.level == "low"
    v = date_file("/lib/2019-05-21 Trip/x.jpg", {}, None, root="/lib", options=OPTIONS)
    assert v.taken_at == datetime(2019, 5, 21) and v.precision is Precision.DAY
    assert v.confidence < 0.6
    v = date_file("/lib/2019-05-21 Trip/x.jpg", {}, None, options=OPTIONS)  # no root: no folders
    assert v.taken_at is None and v.level == "none"


def test_no_date_at_all() -> None:
    v = verdict("x.jpg", {})
    assert (v.taken_at, v.level, v.source, v.confidence) == (None, "none", None, 0.0)
    assert v.to_dict()["taken_at"] is None and v.to_dict()["candidates"] == []


@pytest.mark.parametrize(
    "meta",
    [
        {"ExifIFD:DateTimeOriginal": ["2019:09:19 05:38:57", "x"]},
        {
            "ExifIFD:DateTimeOriginal": {"a": 1},
            "Composite:GPSLatitude": "nan",
            "Composite:GPSLongitude": "x",
        },
        {"ExifIFD:DateTimeOriginal": 20190919, "ExifIFD:OffsetTimeOriginal": "+99:00"},
        {"GPS:GPSDateStamp": "2019:09:19", "GPS:GPSTimeStamp": "25:61:00"},
        {"Error": "File format error"},
    ],
)
def test_odd_values_never_raise(meta: dict[str, Any]) -> None:
    verdict("x.jpg", meta, float("nan"), sidecars=["/nonexistent/x.json"])
    verdict("x.jpg", meta, 1e30)


def test_level_for() -> None:
    assert [level_for(c) for c in (0.95, 0.8, 0.79, 0.5, 0.49, 0.01, 0.0)] == [
        "high",
        "high",
        "medium",
        "medium",
        "low",
        "low",
        "none",
    ]


def test_trust_table_is_declarative_and_complete() -> None:
    sources = [row.source for row in TRUST_TABLE]
    assert len(sources) == len(set(sources))
    assert all(0 < row.trust <= 1 and 0 <= row.contradicts <= 1 for row in TRUST_TABLE)
    by = {row.source: row for row in TRUST_TABLE}
    assert by["exif:DateTimeOriginal"].trust > by["quicktime:CreateDate"].trust
    assert by["file:mtime"].trust < 0.5 and by["exif:ModifyDate"].contradicts == 0


# --- sidecars -----------------------------------------------------------------------------


def test_takeout_json_with_a_truncated_name(tmp_path: Path) -> None:
    media = "Screenshot_20190919-053857_com.google.android.youtube.jpg"
    js = media[:46] + ".json"
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2019"
    folder.mkdir(parents=True)
    (folder / media).write_bytes(b"")
    (folder / js).write_text(
        json.dumps(
            {
                "title": media,
                "photoTakenTime": {"timestamp": "1568864337", "formatted": "..."},
                "geoData": {"latitude": 40.7128, "longitude": -74.006, "altitude": 0.0},
            }
        )
    )
    pairs, orphans = pair_sidecars(os.listdir(folder))
    assert pairs == {media: [js]} and orphans == []
    v = date_file(
        str(folder / media),
        {},
        WRONG_MTIME,
        sidecars=[str(folder / s) for s in pairs[media]],
        options=OPTIONS,
    )
    assert v.source == "sidecar:takeout"
    assert v.taken_at_utc == datetime(2019, 9, 19, 3, 38, 57)
    # The screenshot's local name says 05:38:57, two hours from the UTC instant: it agrees
    # and tells the offset, over the GPS zone in the JSON.
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57)
    assert v.offset_source == "filename" and v.level == "high"


def test_takeout_position_gives_the_zone(tmp_path: Path) -> None:
    js = tmp_path / "IMG_1234.JPG.supplemental-metadata.json"
    js.write_text(
        json.dumps(
            {
                "photoTakenTime": {"timestamp": "1568864337"},
                "geoData": {"latitude": 40.7128, "longitude": -74.006},
            }
        )
    )
    v = date_file(str(tmp_path / "IMG_1234.JPG"), {}, None, sidecars=[str(js)], options=OPTIONS)
    assert v.taken_at == datetime(2019, 9, 18, 23, 38, 57)
    assert (v.utc_offset, v.offset_source) == (-240, "gps-position")


def test_takeout_zero_timestamp_and_broken_json(tmp_path: Path) -> None:
    zero = tmp_path / "a.jpg.json"
    zero.write_text('{"photoTakenTime": {"timestamp": "0"}, "title": "a.jpg"}')
    broken = tmp_path / "b.jpg.json"
    broken.write_text('{"photoTakenTime": ')
    v = date_file(
        str(tmp_path / "a.jpg"), {}, None, sidecars=[str(zero), str(broken)], options=OPTIONS
    )
    assert v.taken_at is None and "not a Takeout JSON" in v.reason


def test_xmp_sidecar(tmp_path: Path) -> None:
    xmp = tmp_path / "IMG_1.CR2.xmp"
    xmp.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" '
        'exif:DateTimeOriginal="2019-09-19T05:38:57.25+02:00"/></rdf:RDF></x:xmpmeta>'
    )
    v = date_file(str(tmp_path / "IMG_1.CR2"), {}, None, sidecars=[str(xmp)], options=OPTIONS)
    assert v.source == "sidecar:xmp" and v.taken_at == datetime(2019, 9, 19, 5, 38, 57, 250000)
    assert (v.utc_offset, v.offset_source) == (120, "sidecar:xmp")


# --- sequence inference ---------------------------------------------------------------------


def _item(
    name: str, v: DateVerdict, camera: str | None = "Canon EOS 5D", folder: str = "/p"
) -> SequenceItem:
    return SequenceItem(key=name, folder=folder, camera=camera, name=name, verdict=v)


def _dated(name: str, when: str) -> DateVerdict:
    return verdict(name, {"ExifIFD:DateTimeOriginal": when})


def test_sequence_inference_fills_the_gap() -> None:
    items = [
        _item("IMG_0100.JPG", _dated("IMG_0100.JPG", "2019:09:19 10:00:00")),
        _item("IMG_0101.JPG", verdict("IMG_0101.JPG", {}, WRONG_MTIME), camera=None),
        _item("IMG_0102.JPG", _dated("IMG_0102.JPG", "2019:09:19 10:04:00")),
        _item("IMG_0103.JPG", _dated("IMG_0103.JPG", "2019:09:19 10:05:00")),
    ]
    changed = infer_sequences(items, OPTIONS)
    assert list(changed) == ["IMG_0101.JPG"]
    v = changed["IMG_0101.JPG"]
    assert v.source == "inferred:sequence" and v.taken_at == datetime(2019, 9, 19, 10, 2)
    assert v.level in ("low", "medium") and v.confidence < 0.6
    assert "IMG_0100.JPG" in v.reason and "IMG_0102.JPG" in v.reason
    assert v.candidates[0].source == "inferred:sequence"
    assert v.utc_offset == 120 and v.taken_at_utc == datetime(2019, 9, 19, 8, 2)


@pytest.mark.parametrize(
    ("before", "after", "camera", "gap"),
    [
        ("2019:09:19 10:00:00", "2019:09:25 10:00:00", None, 1),  # neighbours days apart
        ("2019:09:19 10:04:00", "2019:09:19 10:00:00", None, 1),  # time runs backwards
        ("2019:09:19 10:00:00", "2019:09:19 10:04:00", "Nikon D70", 1),  # another camera
        ("2019:09:19 10:00:00", "2019:09:19 10:04:00", None, 30),  # counters far apart
    ],
)
def test_sequence_inference_needs_a_real_sequence(
    before: str, after: str, camera: str | None, gap: int
) -> None:
    items = [
        _item("IMG_0100.JPG", _dated("IMG_0100.JPG", before)),
        _item("IMG_0101.JPG", verdict("IMG_0101.JPG", {}), camera=camera),
        _item(f"IMG_{100 + gap + 1:04d}.JPG", _dated("x", after)),
    ]
    assert infer_sequences(items, OPTIONS) == {}


def test_sequence_inference_ignores_other_folders_and_dated_files() -> None:
    items = [
        _item("IMG_0100.JPG", _dated("a", "2019:09:19 10:00:00")),
        _item("IMG_0101.JPG", verdict("IMG_0101.JPG", {}), folder="/other"),
        _item("IMG_0102.JPG", _dated("b", "2019:09:19 10:01:00")),
    ]
    assert infer_sequences(items, OPTIONS) == {}


def test_family_0_group_names_and_iptc_placeholder_offset() -> None:
    """Keys as ``exiftool -G`` (not -G1) names them work too; IPTC "+00:00" means "unknown"."""
    v = verdict(
        "a.jpg",
        {
            "EXIF:DateTimeOriginal": "2019:09:19 05:38:57",
            "EXIF:OffsetTimeOriginal": "+03:00",
            "EXIF:SubSecTimeOriginal": "5",
        },
    )
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57, 500000) and v.utc_offset == 180
    v = verdict("b.jpg", {"IPTC:DateCreated": "2019:09:19", "IPTC:TimeCreated": "05:38:57+00:00"})
    assert v.source == "iptc:DateCreated" and v.offset_source == "home-zone"


# --- stored evidence, local-time cameras, zones from neighbours -------------------------------


def test_evidence_round_trip_judges_the_same(tmp_path: Path) -> None:
    from mediafix.media.dates import Evidence, collect, judge

    js = tmp_path / "IMG_1.JPG.json"
    js.write_text(json.dumps({"photoTakenTime": {"timestamp": "1568864337"}}))
    for name, meta in [
        ("IMG_0001.MOV", recorded("iphone-mov.json")),
        (
            "IMG_1.JPG",
            {
                "ExifIFD:DateTimeOriginal": "2019:09:19 05:38:57",
                "Kodak:DateTimeOriginal": "2019:09:19 05:38:57",
            },
        ),
        ("PXL_20210304_101532123.mp4", {"QuickTime:CreateDate": "2021:03:04 10:15:32"}),
    ]:
        ev = collect(str(tmp_path / name), meta, WRONG_MTIME, sidecars=[str(js)], options=OPTIONS)
        back = Evidence.from_json(json.loads(json.dumps(ev.to_json())))
        assert (
            judge(back, OPTIONS)
            == judge(ev, OPTIONS)
            == date_file(
                str(tmp_path / name), meta, WRONG_MTIME, sidecars=[str(js)], options=OPTIONS
            )
        )
    with pytest.raises(ValueError):
        Evidence.from_json({"raws": [{"s": "made:up", "p": "second", "t": 1}]})


def test_header_is_utc_unless_the_camera_writes_local_time() -> None:
    meta = {"QuickTime:CreateDate": "2019:09:19 05:38:57", "UserData:Model": "HERO9 Black"}
    v = verdict("GH010001.MP4", meta)
    assert v.taken_at == datetime(2019, 9, 19, 5, 38, 57) and v.utc_offset == 120
    assert "GoPro cameras write local time" in v.reason
    phone = verdict("clip.mp4", {"QuickTime:CreateDate": "2019:09:19 05:38:57"})
    assert phone.taken_at == datetime(2019, 9, 19, 7, 38, 57)  # UTC, shown in Berlin
    told = DateOptions(
        home_zone=BERLIN, now=NOW, detected_local_cameras={"canon eos r6": "a photo says so"}
    )
    canon = {"QuickTime:CreateDate": "2019:09:19 05:38:57", "UserData:Model": "Canon EOS R6"}
    assert verdict("MVI_1.MP4", canon, options=told).taken_at == datetime(2019, 9, 19, 5, 38, 57)
    assert verdict("MVI_1.MP4", canon).taken_at == datetime(2019, 9, 19, 7, 38, 57)
    # Apple's header beside a CreationDate with its offset is the instant it says it is.
    apple = verdict("IMG_0001.MOV", {**recorded("iphone-mov.json"), "UserData:Model": "HERO"})
    assert apple.source == "quicktime:CreationDate" and apple.utc_offset == 120


def test_header_equal_to_a_local_name_is_local_a_samsung_name_is_not() -> None:
    dji = verdict("DJI_20190919053857_0001_D.MP4", {"QuickTime:CreateDate": "2019:09:19 05:38:57"})
    assert dji.taken_at == datetime(2019, 9, 19, 5, 38, 57) and dji.utc_offset == 120
    assert "equals the local time in the file name" in dji.reason
    # Samsung names its videos by local time and writes UTC: two hours apart, not equal.
    samsung = verdict("20190919_053857.mp4", {"QuickTime:CreateDate": "2019:09:19 03:38:58"})
    assert samsung.taken_at == datetime(2019, 9, 19, 5, 38, 58)
    assert samsung.offset_source == "filename" and "equals" not in samsung.reason


def test_detect_local_cameras() -> None:
    from mediafix.media.dates import Clip, Shot, detect_local_cameras

    shots = [
        Shot("g7x", datetime(2019, 9, 19, 10, 40), "IMG_1.JPG"),
        Shot("g7x", datetime(2019, 9, 19, 15, 0), "IMG_2.JPG"),
        Shot("a7", datetime(2019, 9, 19, 12, 0, 10), "DSC_1.JPG"),
    ]
    clips = [
        Clip("g7x", datetime(2019, 9, 19, 10, 40, 30), 20, "MVI_1.MP4"),
        # a7: read as UTC (+2 h in Berlin) it is 10 s after its photo: a UTC camera
        Clip("a7", datetime(2019, 9, 19, 10, 0), 5, "C0001.MP4"),
        Clip("nophotos", datetime(2019, 9, 19, 10, 0), 5, "X.MP4"),
    ]
    found = detect_local_cameras(clips, shots, BERLIN)
    assert list(found) == ["g7x"]
    assert "MVI_1.MP4's QuickTime time 10:40:30" in found["g7x"]
    assert "IMG_1.JPG, taken 30 s before" in found["g7x"]
    # Votes against outweigh one coincidence; in a zone without an offset nobody votes.
    against = [Clip("g7x", datetime(2019, 9, 19, 13, 0), 5, f"MVI_{i}.MP4") for i in range(3)]
    assert detect_local_cameras(clips + against, shots, BERLIN) == {}
    assert detect_local_cameras(clips, shots, ZoneInfo("UTC")) == {}


def test_zone_hints_from_neighbours() -> None:
    from mediafix.media.dates import ZoneAnchor, ZoneAnchors, ZoneQuestion

    ny = [
        ZoneAnchor(datetime(2019, 9, 19, 14, 0), -240, "IMG_1.HEIC"),
        ZoneAnchor(datetime(2019, 9, 19, 16, 0), -240, "IMG_2.HEIC"),
    ]
    index = ZoneAnchors(ny)
    # by instant (a video) and by wall clock (a camera photo)
    hint = index.hint_for(ZoneQuestion(1, datetime(2019, 9, 19, 15, 0), None, 120))
    assert hint is not None and hint.offset == -240 and "IMG_1.HEIC 60 min away" in hint.words
    hint = index.hint_for(ZoneQuestion(2, None, datetime(2019, 9, 19, 10, 30), 120))
    assert hint is not None and hint.offset == -240
    # too far, the home zone's offset already, or neighbours that disagree: no guess
    assert index.hint_for(ZoneQuestion(3, datetime(2019, 9, 19, 20, 0), None, 120)) is None
    assert index.hint_for(ZoneQuestion(4, datetime(2019, 9, 19, 15, 0), None, -240)) is None
    mixed = ZoneAnchors([*ny, ZoneAnchor(datetime(2019, 9, 19, 15, 30), 60, "IMG_3.JPG")])
    assert mixed.hint_for(ZoneQuestion(5, datetime(2019, 9, 19, 15, 0), None, 120)) is None


def test_a_hint_never_overrides_a_recorded_offset_or_gps() -> None:
    from mediafix.media.dates import ZoneHint, collect, judge

    hint = ZoneHint(-240, "the zone of its neighbours (-04:00)")
    recorded_offset = collect(
        "/p/IMG_1.JPG",
        {"ExifIFD:DateTimeOriginal": "2019:09:19 10:00:00", "ExifIFD:OffsetTimeOriginal": "+02:00"},
        None,
        options=OPTIONS,
    )
    assert judge(recorded_offset, OPTIONS, hint=hint).utc_offset == 120
    gps = collect(
        "/p/clip.mp4",
        {
            "QuickTime:CreateDate": "2019:09:19 14:00:00",
            "Composite:GPSLatitude": 48.85,
            "Composite:GPSLongitude": 2.35,
        },
        None,
        options=OPTIONS,
    )
    assert judge(gps, OPTIONS, hint=hint).offset_source == "gps-position"
    plain = collect(
        "/p/clip.mp4", {"QuickTime:CreateDate": "2019:09:19 14:00:00"}, None, options=OPTIONS
    )
    v = judge(plain, OPTIONS, hint=hint)
    assert (v.taken_at, v.offset_source, v.level) == (
        datetime(2019, 9, 19, 10, 0),
        "neighbours",
        "medium",
    )
