"""The stay-open exiftool session, against the real exiftool binary."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from mediafix.media.exiftool import ExifTool, ExifToolTimeout, WriteBatch
from tests.helpers.media import make_jpeg

HOSTILE_NAMES = [
    "-x.jpg",
    "-@",
    "-j",
    "#comment.jpg",
    "line\nbreak.jpg",
    "carriage\rreturn.jpg",
    "trailing space.jpg ",
    "  leading.jpg",
    "tab\there.jpg",
    "ünïcödé 写真.jpg",
]


def test_reads_dates_in_a_batch(tmp_path: Path, exiftool: ExifTool) -> None:
    a = make_jpeg(
        tmp_path / "a.jpg", 1, DateTimeOriginal="2019:09:19 05:38:57", OffsetTimeOriginal="+02:00"
    )
    b = make_jpeg(tmp_path / "b.jpg", 2, DateTimeOriginal="2020:01:02 03:04:05")
    records = exiftool.read_metadata([a, b])
    assert [r["SourceFile"] for r in records] == [str(a), str(b)]
    assert records[0]["ExifIFD:DateTimeOriginal"] == "2019:09:19 05:38:57"
    assert records[0]["ExifIFD:OffsetTimeOriginal"] == "+02:00"
    assert records[1]["ExifIFD:DateTimeOriginal"] == "2020:01:02 03:04:05"
    assert records[0]["File:FileType"] == "JPEG"


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_files_not_options(tmp_path: Path, exiftool: ExifTool, name: str) -> None:
    path = make_jpeg(tmp_path / name, 3, DateTimeOriginal="2018:07:06 05:04:03")
    other = make_jpeg(tmp_path / "plain.jpg", 4, DateTimeOriginal="2017:01:01 10:00:00")
    records = exiftool.read_metadata([path, other])
    assert records[0]["SourceFile"] == str(path)
    assert records[0]["ExifIFD:DateTimeOriginal"] == "2018:07:06 05:04:03"
    # The neighbour in the same batch is unaffected: the stream did not break.
    assert records[1]["ExifIFD:DateTimeOriginal"] == "2017:01:01 10:00:00"


def test_non_utf8_name(tmp_path: Path, exiftool: ExifTool) -> None:
    raw = os.fsencode(tmp_path) + b"/caf\xe9-\xff.jpg"
    make_jpeg(tmp_path / "tmp.jpg", 5, DateTimeOriginal="2016:05:04 03:02:01")
    os.rename(tmp_path / "tmp.jpg", raw)
    path = os.fsdecode(raw)
    (record,) = exiftool.read_metadata([path])
    assert record["SourceFile"] == path
    assert record["ExifIFD:DateTimeOriginal"] == "2016:05:04 03:02:01"


def test_bad_files_get_an_error_each(tmp_path: Path, exiftool: ExifTool) -> None:
    good = make_jpeg(tmp_path / "good.jpg", 6, DateTimeOriginal="2015:01:01 00:00:01")
    text = tmp_path / "text.jpg"
    text.write_text("this is not a photo\n")
    missing = tmp_path / "missing.jpg"
    records = exiftool.read_metadata([text, missing, good])
    assert len(records) == 3
    assert "Error" in records[1] and "not found" in records[1]["Error"].lower()
    assert records[2]["ExifIFD:DateTimeOriginal"] == "2015:01:01 00:00:01"


def test_restarts_after_exiftool_dies(tmp_path: Path) -> None:
    path = make_jpeg(tmp_path / "a.jpg", 7, DateTimeOriginal="2014:02:03 04:05:06")
    with ExifTool() as et:
        assert et.read_metadata([path])[0]["ExifIFD:DateTimeOriginal"] == "2014:02:03 04:05:06"
        assert et._proc is not None
        os.kill(et._proc.pid, signal.SIGKILL)
        et._proc.wait()
        assert et.read_metadata([path])[0]["ExifIFD:DateTimeOriginal"] == "2014:02:03 04:05:06"
        assert et.restarts == 1


def test_a_hung_exiftool_times_out(tmp_path: Path) -> None:
    fake = tmp_path / "hung-exiftool"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    path = make_jpeg(tmp_path / "a.jpg", 8)
    with ExifTool(executable=str(fake), timeout=0.5) as et:
        with pytest.raises(ExifToolTimeout):
            et.execute(["-ver"])
        # read_metadata turns a timeout into a per-file error, never an exception.
        (record,) = et.read_metadata([path])
        assert "no answer" in record["Error"]


def test_write_tags_round_trip(tmp_path: Path, exiftool: ExifTool) -> None:
    path = make_jpeg(tmp_path / "-w.jpg", 9)
    exiftool.write_tags(
        path, {"DateTimeOriginal": "2013:03:04 05:06:07", "XMP:Subject": ["beach", "family"]}
    )
    (record,) = exiftool.read_metadata([path])
    assert record["ExifIFD:DateTimeOriginal"] == "2013:03:04 05:06:07"
    assert record["XMP-dc:Subject"] == ["beach", "family"]
    assert not list(tmp_path.glob("*_original"))


def test_a_write_batch_over_two_sessions(tmp_path: Path) -> None:
    """Files with names exiftool cannot take as arguments, a file that is no image, and
    files with other extra arguments, written by two sessions in one batch: each file gets
    its own values, the bad one is left as it was, and the sessions answer the next
    command as usual."""
    paths = [make_jpeg(tmp_path / name, i) for i, name in enumerate(HOSTILE_NAMES)]
    bad = tmp_path / "not-an-image.jpg"
    bad.write_bytes(b"hello")
    with ExifTool() as one, ExifTool() as two:
        batch = WriteBatch([one, two], expected=len(paths) + 1, chunk=3)
        for i, path in enumerate(paths):
            extra = ("-m",) if i % 2 else ("-m", "-charset", "iptc=UTF8")
            tags = {"EXIF:DateTimeOriginal": f"2001:02:{i + 1:02d} 03:04:05"}
            if i == 3:
                tags["XMP-dc:Subject"] = ["été", "plage"]  # type: ignore[assignment]
            one.write_tags(path, tags, extra, batch=batch)
        one.write_tags(bad, {"EXIF:DateTimeOriginal": "2001:01:01 00:00:00"}, batch=batch)
        answered = [p for chunk in batch.run() for p in chunk]
        assert sorted(answered) == sorted([*map(str, paths), str(bad)])
        records = one.read_metadata(paths)
        assert two.version() == one.version()
    for i, record in enumerate(records):
        assert record["ExifIFD:DateTimeOriginal"] == f"2001:02:{i + 1:02d} 03:04:05"
    assert records[3]["XMP-dc:Subject"] == ["été", "plage"]
    assert bad.read_bytes() == b"hello"


def test_write_tags_through_an_alias_writes_the_file(tmp_path: Path, exiftool: ExifTool) -> None:
    """A name exiftool cannot take as an argument is reached through a symlink; the write
    must land in the file itself, not replace the link."""
    path = make_jpeg(tmp_path / "line\nbreak.jpg", 1)
    exiftool.write_tags(path, {"EXIF:DateTimeOriginal": "2001:02:03 04:05:06"}, ("-m",))
    (record,) = exiftool.read_metadata([path])
    assert record["ExifIFD:DateTimeOriginal"] == "2001:02:03 04:05:06"
    assert not list(Path(exiftool.private_dir()).iterdir())  # no alias left behind
