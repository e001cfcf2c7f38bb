"""Every picture in the archive exactly once: bundles per copy, decided as wholes.

Through the command line on generated libraries (a Live Photo is a still and a clip of one
name; an iPhone's ContentIdentifier, which exiftool cannot write, is set on the scanned rows
as a scan of real iPhone files would): what `mediafix plan --json` says and what `apply`
writes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select, update

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.media.bundles import BundleInput, CopyInput, GroupVote, assign_bundles, choose_written
from mediafix.services.duplicates import regroup
from mediafix.store.db import get_engine, session_scope
from mediafix.store.duplicates import decide_group
from mediafix.store.models import DuplicateMember, File
from tests.helpers.media import make_jpeg, write_tags
from tests.helpers.videogen import make_video


@pytest.fixture(autouse=True)
def _reset_engines() -> Iterator[None]:
    yield
    from mediafix.store.db import dispose_engines

    dispose_engines()


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _plan(out: Path) -> dict[str, Any]:
    return json.loads(_run("plan", str(out), "--json"))


def _sha(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _live_photo(folder: Path, name: str = "IMG_0001", seed: int = 1) -> tuple[Path, Path]:
    still = make_jpeg(
        folder / f"{name}.JPG",
        seed,
        DateTimeOriginal="2021:04:10 11:44:00",
        Make="Apple",
        Model="iPhone 12",
    )
    clip = make_video(folder / f"{name}.MOV", seed=seed, seconds=1.0)
    write_tags(clip, **{"QuickTime:CreateDate": "2021:04:10 09:44:00"})
    return still, clip


def _assert_once(plan: dict[str, Any], library: Path) -> None:
    """No content written twice; every file written, held, or left out for a written copy."""
    written = Counter(_sha(i["source"]) for i in plan["items"])
    assert [sha for sha, n in written.items() if n > 1] == []
    accounted = {i["source"] for i in plan["items"]} | {h["path"] for h in plan["held"]}
    for d in plan["discarded"]:
        assert _sha(d["path"]) in written or "near duplicate of" in d["reason"], d
        accounted.add(d["path"])
    media = {str(p) for p in library.rglob("*") if p.is_file()}
    assert media == accounted


def test_a_backup_copy_of_a_live_photo_still_is_not_written_twice(
    settings_env: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "photos"
    still, clip = _live_photo(lib / "Trip")
    (lib / "Backup 2019").mkdir()
    shutil.copy2(still, lib / "Backup 2019" / "IMG_0001.JPG")
    _run("scan", "-w", "1", str(lib))
    out = tmp_path / "archive"
    plan = _plan(out)
    _assert_once(plan, lib)
    targets = {i["source"]: i["target"] for i in plan["items"]}
    assert targets == {
        str(still): str(out / "2021" / "20210410_114400.jpg"),
        str(clip): str(out / "2021" / "20210410_114400.mov"),
    }
    (left_out,) = plan["discarded"]
    assert left_out["path"] == str(lib / "Backup 2019" / "IMG_0001.JPG")
    assert re.fullmatch(r"exact duplicate of Trip/IMG_0001.JPG \(group #\d+\)", left_out["reason"])

    _run("apply", str(out))
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["2021/20210410_114400.jpg", "2021/20210410_114400.mov"]


def test_the_suggested_keeper_is_the_copy_beside_its_partner_and_not_the_backup(
    settings_env: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "photos"
    still, _clip = _live_photo(lib / "phone")
    # "A backup" sorts first by name: the old rule kept it.
    for copy in (lib / "A backup" / "IMG_0001.JPG", lib / "phone" / "IMG_0001 (1).JPG"):
        copy.parent.mkdir(exist_ok=True)
        shutil.copy2(still, copy)
    lone = make_jpeg(lib / "phone" / "IMG_0002.JPG", 2, DateTimeOriginal="2021:04:10 12:00:00")
    shutil.copy2(lone, lib / "A backup" / "IMG_0002.JPG")
    _run("scan", "-w", "1", str(lib))
    groups = json.loads(_run("dupes", "--json", "--type", "exact"))["groups"]
    keepers = sorted(g["keeper"] for g in groups)
    assert keepers == [str(still), str(lone)]
    by_keeper = {g["keeper"]: g for g in groups}
    assert any(
        "beside its Live Photo or RAW+JPEG partner" in r for r in by_keeper[str(still)]["reasons"]
    )
    assert any("not in a backup or copy" in r for r in by_keeper[str(lone)]["reasons"])


def test_a_unique_clip_beside_a_still_copied_elsewhere_is_written(
    settings_env: Path, tmp_path: Path
) -> None:
    """phockup/exif.mp4: its still is byte-identical to other files; the clip is unique."""
    lib = tmp_path / "photos"
    still, clip = _live_photo(lib / "phockup", "exif")
    for name in ("xmp.jpg", "other.jpg"):
        shutil.copy2(still, lib / "phockup" / name)
    _run("scan", "-w", "1", str(lib))
    out = tmp_path / "archive"
    plan = _plan(out)
    _assert_once(plan, lib)
    assert {i["source"] for i in plan["items"]} == {str(still), str(clip)}

    # A person keeps another copy of the still: the clip (no other copy) is still written,
    # and the still still only once.
    settings = get_settings()
    engine = get_engine(settings.database_url)
    with session_scope(engine) as s:
        other = s.scalar(select(File.id).where(File.name == "other.jpg"))
        group = s.scalar(select(DuplicateMember.group_id).where(DuplicateMember.file_id == other))
        decide_group(s, group, [other])
    plan = _plan(out)
    _assert_once(plan, lib)
    targets = {Path(i["source"]).name: Path(i["target"]) for i in plan["items"]}
    assert set(targets) == {"other.jpg", "exif.MOV"}  # the chosen copy, and the clip
    assert targets["other.jpg"].stem == targets["exif.MOV"].stem  # side by side


def test_a_live_photo_copied_to_two_folders_is_two_bundles_decided_together(
    settings_env: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "photos"
    first = _live_photo(lib / "iPhone")
    second = [lib / "iPhone export" / p.name for p in first]
    (lib / "iPhone export").mkdir()
    for src, dst in zip(first, second, strict=True):
        shutil.copy2(src, dst)
    _run("scan", "-w", "1", str(lib))
    settings = get_settings()
    engine = get_engine(settings.database_url)
    with session_scope(engine) as s:  # what exiftool reads from an iPhone's still and clip
        s.execute(update(File).values(content_id="E905E6C6-C747-4805-942F-9904A0281F02"))
    regroup(engine, settings)
    with session_scope(engine) as s:
        bundles = dict(s.execute(select(File.path, File.bundle)).all())
    assert bundles[str(first[0])] == bundles[str(first[1])]
    assert bundles[str(second[0])] == bundles[str(second[1])]
    assert bundles[str(first[0])] != bundles[str(second[0])]  # one bundle per copy

    out = tmp_path / "archive"
    plan = _plan(out)
    _assert_once(plan, lib)
    items = plan["items"]
    sources = {i["source"] for i in items}
    assert sources in ({str(p) for p in first}, {str(p) for p in second})  # one copy, whole
    assert len({Path(i["target"]).stem for i in items}) == 1  # sharing one base name
    folder = Path(next(iter(sources))).parent.name
    assert {t for i in items for t in i["tags"]} == {folder}  # no tag from the other copy


def test_a_picture_a_near_group_leaves_out_is_not_written_for_its_exact_copy(
    settings_env: Path, tmp_path: Path
) -> None:
    lib = tmp_path / "photos"
    original = make_jpeg(
        lib / "camera" / "IMG_1000.JPG",
        11,
        (1600, 1200),
        DateTimeOriginal="2020:07:04 12:00:00",
        Make="Canon",
        Model="EOS R",
    )
    small = lib / "chat" / "IMG-20200704-WA0001.jpg"
    small.parent.mkdir(parents=True)
    Image.open(original).resize((800, 600)).save(small, "JPEG", quality=70)
    write_tags(small, DateTimeOriginal="2020:07:04 12:00:00")
    (lib / "chat 2").mkdir()
    shutil.copy2(small, lib / "chat 2" / small.name)
    _run("scan", "-w", "1", str(lib))
    out = tmp_path / "archive"
    plan = _plan(out)
    _assert_once(plan, lib)
    assert [i["source"] for i in plan["items"]] == [str(original)]
    reasons = {d["path"]: d["reason"] for d in plan["discarded"]}
    for copy in (small, lib / "chat 2" / small.name):
        assert reasons[str(copy)].startswith("near duplicate of camera/IMG_1000.JPG (group #")


def test_content_identifier_pairs_per_folder() -> None:
    cid = "E905E6C6"
    items = [
        BundleInput(1, "/a/IMG_1.HEIC", "image", "heic", cid),
        BundleInput(2, "/a/IMG_1.MOV", "video", "mov", cid),
        BundleInput(3, "/b/IMG_1.HEIC", "image", "heic", cid),  # a copy of the still alone
        BundleInput(4, "/c/x.jpg", "image", "jpeg", "other"),
        BundleInput(5, "/d/y.mov", "video", "mov", "other"),  # apart, but no copies: a pair
    ]
    keys = assign_bundles(items)
    assert keys[1] == keys[2] and 3 not in keys
    assert keys[4] == keys[5]


def test_choose_written_is_one_rule_over_units() -> None:
    files = [
        CopyInput(1, "/b/Backup/IMG_1.JPG", "s"),
        CopyInput(2, "/a/Trip/IMG_1.JPG", "s", "live:a"),
        CopyInput(3, "/a/Trip/IMG_1.MOV", "v", "live:a"),
    ]
    # A person kept the backup copy: that copy is written, and the clip with it.
    votes = [GroupVote(1, True, 7, "exact", 1), GroupVote(2, False, 7, "exact", 1)]
    decided = choose_written(files, votes)
    assert [f for f, d in sorted(decided.items()) if d.keep] == [1, 3]
    assert decided[1].unit is not None and decided[1].unit == decided[3].unit
    assert decided[2].copy_of == 1
    assert decided[2].reason == "exact duplicate of Backup/IMG_1.JPG (group #7)"
    # The suggestion (the copy beside its clip): the bundle copy, as one unit.
    votes = [GroupVote(1, False, 7, "exact", 2), GroupVote(2, True, 7, "exact", 2)]
    decided = choose_written(files, votes)
    assert [f for f, d in sorted(decided.items()) if d.keep] == [2, 3]
    assert decided[1].reason == "exact duplicate of Trip/IMG_1.JPG (group #7)"


def test_a_unique_still_whose_clip_is_backed_up_is_written_with_it(
    settings_env: Path, tmp_path: Path
) -> None:
    """The other way round (harness H2): only the clip has a copy, in a backup."""
    lib = tmp_path / "photos"
    still, clip = _live_photo(lib / "DCIM" / "100APPLE")
    (lib / "Backup 2019").mkdir()
    shutil.copy2(clip, lib / "Backup 2019" / clip.name)
    _run("scan", "-w", "1", str(lib))
    plan = _plan(tmp_path / "archive")
    _assert_once(plan, lib)
    targets = {i["source"]: Path(i["target"]) for i in plan["items"]}
    assert set(targets) == {str(still), str(clip)}
    assert targets[str(still)].stem == targets[str(clip)].stem


def test_a_clip_copied_beside_another_photo_of_its_name_stays_with_its_own_still(
    settings_env: Path, tmp_path: Path
) -> None:
    """Harness: a Live Photo in Trip, and in the phone's folder an unrelated photo of the
    same name beside an exact copy of the clip, which pairs it by name. The clip's content
    is in both bundles; it was written as one unit with *both* stills (``x.jpg`` + ``x_1.mov``
    beside ``x_1.jpg``...). It goes with its own still; the other photo goes out alone."""
    lib = tmp_path / "photos"
    still, clip = _live_photo(lib / "Trip", "DSC_1", seed=3)
    phone = lib / "phone" / "DCIM" / "100APPLE"
    other = make_jpeg(phone / "DSC_1.jpg", 9, DateTimeOriginal="2021:04:10 11:44:00")
    shutil.copy2(clip, phone / clip.name)
    _run("scan", "-w", "1", str(lib))
    out = tmp_path / "archive"
    plan = _plan(out)
    _assert_once(plan, lib)
    targets = {i["source"]: Path(i["target"]) for i in plan["items"]}
    print("TARGETS", targets)
    assert set(targets) == {str(still), str(clip), str(other)}
    assert targets[str(clip)].stem == targets[str(still)].stem
    assert targets[str(other)].stem != targets[str(still)].stem
    (left_out,) = plan["discarded"]
    assert left_out["path"] == str(phone / clip.name)

    _run("apply", str(out))
    stems = Counter(p.stem for p in out.rglob("*") if p.is_file())
    assert sorted(stems.values()) == [1, 2]  # the pair shares a name, the other photo not


def test_two_bundles_claiming_one_content_do_not_join_two_stills() -> None:
    files = [
        CopyInput(1, "/a/Trip/DSC_1.JPG", "A", "live:trip"),
        CopyInput(2, "/a/Trip/DSC_1.MOV", "V", "live:trip"),
        CopyInput(3, "/a/phone/DSC_1.jpg", "B", "live:phone"),
        CopyInput(4, "/a/phone/DSC_1.MOV", "V", "live:phone"),
    ]
    votes = [GroupVote(2, True, 5, "exact", 2), GroupVote(4, False, 5, "exact", 2)]
    decided = choose_written(files, votes)
    assert [f for f, d in sorted(decided.items()) if d.keep] == [1, 2, 3]
    assert decided[1].unit is not None and decided[1].unit == decided[2].unit
    assert decided[3].unit is None
    # The phone's copy of the clip is the one kept: the clip goes with the phone's photo.
    votes = [GroupVote(2, False, 5, "exact", 4), GroupVote(4, True, 5, "exact", 4)]
    decided = choose_written(files, votes)
    assert [f for f, d in sorted(decided.items()) if d.keep] == [1, 3, 4]
    assert decided[3].unit is not None and decided[3].unit == decided[4].unit
    assert decided[1].unit is None
    # One bundle holding two stills (a HEIC and its JPEG, one ContentIdentifier) stays whole.
    files = [
        CopyInput(1, "/a/IMG_1.HEIC", "H", "live:c"),
        CopyInput(2, "/a/IMG_1.JPG", "J", "live:c"),
        CopyInput(3, "/a/IMG_1.MOV", "V", "live:c"),
    ]
    decided = choose_written(files, [])
    assert len({decided[i].unit for i in (1, 2, 3)}) == 1 and decided[1].unit
