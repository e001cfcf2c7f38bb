"""What the invariant harness found, one regression test each (through ``mediafix``)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.store.db import dispose_engines, get_engine, session_scope
from mediafix.store.duplicates import decide_group
from mediafix.store.models import DuplicateGroup, DuplicateMember, File
from tests.helpers.media import make_jpeg, write_tags


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _keep_only_in_its_near_group(engine: Any, kept: Path) -> int:
    """A person's decision on the near group of ``kept``: keep that file alone; its id."""
    with session_scope(engine) as s:
        kept_id = s.scalar(select(File.id).where(File.path == str(kept)))
        near = s.scalar(
            select(DuplicateGroup.id)
            .join(DuplicateMember)
            .where(DuplicateGroup.type == "near", DuplicateMember.file_id == kept_id)
        )
        assert near is not None
        decide_group(s, near, [kept_id])
    return int(near)


def test_copies_left_out_by_a_near_decision_name_the_picture_written_instead(
    settings_env: Path, tmp_path: Path
) -> None:
    """A person keeps only the small near copy of a photo that also has an exact copy:
    both copies of the original follow that "discard" in their exact group too, which then
    keeps none of them. They were left out as "exact duplicate of another file (group
    #1)", naming no file written in their place."""
    lib = tmp_path / "photos"
    original = make_jpeg(lib / "Trip" / "IMG_1.jpg", 3, DateTimeOriginal="2019:09:19 05:38:57")
    (lib / "Backup 2019").mkdir()
    shutil.copy2(original, lib / "Backup 2019" / "IMG_1.jpg")
    small = lib / "chat" / "IMG-20190919-WA0001.jpg"
    small.parent.mkdir()
    Image.open(original).resize((320, 240)).save(small, "JPEG", quality=60)
    write_tags(small, DateTimeOriginal="2019:09:19 05:38:57")
    try:
        _run("scan", "-w", "1", str(lib))
        engine = get_engine(get_settings().database_url)
        near = _keep_only_in_its_near_group(engine, small)
        plan = json.loads(_run("plan", str(tmp_path / "archive"), "--json"))
    finally:
        dispose_engines()
    assert [i["source"] for i in plan["items"]] == [str(small)]
    reasons = sorted(d["reason"] for d in plan["discarded"])
    assert len(reasons) == 2
    for reason in reasons:
        assert re.fullmatch(
            rf"near duplicate of chat/IMG-20190919-WA0001\.jpg \(group #{near}\)", reason
        ), reason


def test_a_raw_waits_with_its_jpeg_when_the_jpeg_waits_for_its_near_copy(
    settings_env: Path, tmp_path: Path
) -> None:
    """RAW + JPEG of one shot; a person keeps only the JPEG's small near copy, whose date
    still awaits review. The JPEG waits with that copy (it is not in the archive until the
    copy is), but its RAW was written: one bundle, split between written and held."""
    from tests.helpers.media import scene

    lib = tmp_path / "photos"
    jpeg = make_jpeg(lib / "Trip" / "IMG_0002.JPG", 1, DateTimeOriginal="2012:06:01 08:30:00")
    raw = lib / "Trip" / "IMG_0002.NEF"
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Nikon", "D750"
    exif.get_ifd(0x8769)[0x9003] = "2012:06:01 08:30:00"
    scene(1, (640, 480)).save(raw, "TIFF", exif=exif.tobytes())
    small = lib / "Trip" / "IMG-20190919-WA0000.jpg"  # dated by its name alone: to review
    Image.open(jpeg).resize((320, 240)).save(small, "JPEG", quality=50)
    try:
        _run("scan", "-w", "1", str(lib))
        engine = get_engine(get_settings().database_url)
        _keep_only_in_its_near_group(engine, small)
        plan = json.loads(_run("plan", str(tmp_path / "archive"), "--json"))
    finally:
        dispose_engines()
    held = {h["path"]: h["reason"] for h in plan["held"]}
    assert str(jpeg) in held and "waits with it" in held[str(jpeg)]
    assert str(raw) not in [i["source"] for i in plan["items"]]
    assert held[str(raw)].startswith("held with IMG_0002.JPG of its bundle")


def test_a_raw_copied_beside_an_undated_photo_of_its_name_goes_with_its_own_jpeg(
    settings_env: Path, tmp_path: Path
) -> None:
    """RAW + JPEG of one shot in `Copy of Trip`; in `Sicherung/jpg` an exact copy of the RAW
    beside a copy of an unrelated, undated photo of the same name, which pairs them by name.
    The RAW goes out with its own JPEG; the undated photo waits for review on its own (before,
    one unit held all three back, or named them as one)."""
    from tests.helpers.media import scene

    lib = tmp_path / "photos"
    jpeg = make_jpeg(lib / "Copy of Trip" / "x.JPG", 1, DateTimeOriginal="2012:06:01 08:30:00")
    raw = lib / "Copy of Trip" / "x.NEF"
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Nikon", "D750"
    exif.get_ifd(0x8769)[0x9003] = "2012:06:01 08:30:00"
    scene(1, (640, 480)).save(raw, "TIFF", exif=exif.tobytes())
    other = lib / "Sicherung" / "jpg" / "x (1).jpg"  # no date at all: to review
    other.parent.mkdir(parents=True)
    scene(7, (640, 480)).save(other, "JPEG", quality=90)
    shutil.copy2(raw, other.parent / "x (1).NEF")
    try:
        _run("scan", "-w", "1", str(lib))
        plan = json.loads(_run("plan", str(tmp_path / "archive"), "--json"))
    finally:
        dispose_engines()
    targets = {i["source"]: Path(i["target"]) for i in plan["items"]}
    assert set(targets) == {str(jpeg), str(raw)}
    assert targets[str(jpeg)].stem == targets[str(raw)].stem == "20120601_083000"
    assert [h["path"] for h in plan["held"]] == [str(other)]
    (left_out,) = plan["discarded"]
    assert left_out["path"] == str(other.parent / "x (1).NEF")
