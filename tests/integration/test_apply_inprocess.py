"""Apply writes a camera photo's dates in process when they are already there (issue #20).

Through ``apply_plan`` with a real exiftool session, on real files: a photo carrying every
date the plan writes gets them over the old values without exiftool ever being started,
exiftool reads the new dates, and nothing else of the file changed; a photo missing one,
with a value of another length, or with tags to add besides goes to exiftool as before.
Either way the output is journaled and undo removes it, the source untouched.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from mediafix.media.apply import undo
from mediafix.media.digest import image_data_digest
from mediafix.media.exiftool import ExifTool
from mediafix.media.journal import read_journal
from mediafix.media.plan import make_plan
from tests.helpers.media import CAMERA_DATES, camera_jpeg, changed_within, value_spans
from tests.integration.test_apply import T, dirs, et, read, real_input, run  # noqa: F401

WRITTEN = ["DateTimeOriginal", "CreateDate", "OffsetTimeOriginal", "OffsetTime"]
WRITTEN += ["OffsetTimeDigitized"]


def _apply(
    photo: Path, src: Path, out: Path, journal: Path, **fields: Any
) -> tuple[str, bool, str]:
    """Apply ``photo``'s plan with a session of its own; (its target, whether exiftool was
    started, the run's journal)."""
    plan = make_plan([real_input(photo, src, 1, **fields)], str(out), journal_dir=str(journal))
    session = ExifTool()
    try:
        result = run(plan, session, journal)
        started = session.running
    finally:
        session.close()
    target = plan.items[0].target
    entries = [r for r in read_journal(result.journal) if r.get("target") == target]
    assert [r["type"] for r in entries] == ["write", "done"]
    assert entries[0]["output_sha256"] == hashlib.sha256(Path(target).read_bytes()).hexdigest()
    assert image_data_digest(target, "jpeg") == image_data_digest(str(photo), "jpeg")
    return target, started, result.journal


def _undo_leaves_the_source(journal: str, photo: Path, source: bytes, target: str) -> None:
    result = undo(journal)
    assert result.ok and result.removed == [target]
    assert not Path(target).exists()
    assert photo.read_bytes() == source


def test_dates_written_in_process_over_the_old_ones(
    dirs: tuple[Path, Path, Path],  # noqa: F811
    et: ExifTool,  # noqa: F811
) -> None:
    src, out, journal = dirs
    photo = camera_jpeg(src / "IMG_0001.JPG")
    before = photo.read_bytes()
    target, started, run_journal = _apply(photo, src, out, journal, utc_offset=60)
    assert not started  # exiftool was never needed
    meta = read(et, target, "AllDates", "OffsetTime*", "SubSecTime*")
    stamp = T.strftime("%Y:%m:%d %H:%M:%S")
    assert meta["ExifIFD:DateTimeOriginal"] == meta["ExifIFD:CreateDate"] == stamp
    for tag in ("OffsetTime", "OffsetTimeOriginal", "OffsetTimeDigitized"):
        assert meta[f"ExifIFD:{tag}"] == "+01:00"
    assert meta["IFD0:ModifyDate"] == CAMERA_DATES["ModifyDate"]  # not written: as it was
    assert meta["ExifIFD:SubSecTimeOriginal"] == 37
    # Nothing moved or grew: only bytes inside the old values of the written dates differ.
    after = Path(target).read_bytes()
    assert changed_within(before, after, value_spans(before, [CAMERA_DATES[t] for t in WRITTEN]))
    _undo_leaves_the_source(run_journal, photo, before, target)


def test_hundredths_a_camera_wrote_are_written_over_in_place(
    dirs: tuple[Path, Path, Path],  # noqa: F811
    et: ExifTool,  # noqa: F811
) -> None:
    # 0.70 s: the camera wrote "70"; the plan's "70" has its length (a "7" would send the
    # file to exiftool, and change the text of a value that did not change)
    src, out, journal = dirs
    photo = camera_jpeg(src / "IMG_0001.JPG", SubSecTimeOriginal="70", SubSecTimeDigitized="70")
    fields = {"taken_at": T.replace(microsecond=700000), "date_precision": "subsecond"}
    target, started, run_journal = _apply(photo, src, out, journal, utc_offset=60, **fields)
    assert not started
    meta = read(et, target, "SubSecTime*")
    assert meta["ExifIFD:SubSecTimeOriginal"] == meta["ExifIFD:SubSecTimeDigitized"] == 70
    _undo_leaves_the_source(run_journal, photo, photo.read_bytes(), target)


@pytest.mark.parametrize(
    ("dates", "fields", "check"),
    [
        # a date missing: exiftool adds it
        ({"OffsetTimeDigitized": ""}, {}, {"ExifIFD:OffsetTimeDigitized": "+01:00"}),
        # sub-seconds of another length ("37" in the file, "125" written)
        (
            {},
            {"taken_at": T.replace(microsecond=125000), "date_precision": "subsecond"},
            {"ExifIFD:SubSecTimeOriginal": 125, "ExifIFD:SubSecTimeDigitized": 125},
        ),
        # keywords besides the dates
        ({}, {"tags": ("Oma",)}, {"IFD0:XPKeywords": "Oma", "IPTC:Keywords": "Oma"}),
    ],
    ids=["missing-tag", "other-count", "keywords"],
)
def test_anything_else_goes_to_exiftool(
    dates: dict[str, str],
    fields: dict[str, Any],
    check: dict[str, Any],
    dirs: tuple[Path, Path, Path],  # noqa: F811
    et: ExifTool,  # noqa: F811
) -> None:
    src, out, journal = dirs
    photo = camera_jpeg(src / "IMG_0001.JPG", **dates)
    before = photo.read_bytes()
    target, started, run_journal = _apply(photo, src, out, journal, utc_offset=60, **fields)
    assert started
    meta = read(et, target, "AllDates", "OffsetTime*", "SubSecTime*", "XPKeywords", "Keywords")
    stamp = T.strftime("%Y:%m:%d %H:%M:%S")
    assert meta["ExifIFD:DateTimeOriginal"] == meta["ExifIFD:CreateDate"] == stamp
    assert meta["ExifIFD:OffsetTimeOriginal"] == "+01:00"
    for key, value in check.items():
        assert meta[key] == value
    _undo_leaves_the_source(run_journal, photo, before, target)
