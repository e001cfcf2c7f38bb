"""`mediafix scan` and `mediafix inspect` through the real command line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pillow_heif
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from mediafix.cli import main
from mediafix.config import get_settings
from mediafix.store.db import get_engine, session_scope
from mediafix.store.models import File
from tests.helpers.media import make_jpeg, scene

INSPECT_KEYS = {
    "path",
    "kind",
    "error",
    "taken_at",
    "utc_offset",
    "taken_at_utc",
    "confidence",
    "confidence_level",
    "source",
    "reason",
    "candidates",
    "sha256",
    "phash",
    "width",
    "height",
}


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A small messy folder: camera JPEGs, a PNG, a HEIC, broken and hostile files."""
    root = tmp_path / "photos"
    make_jpeg(
        root / "2019" / "IMG_0001.JPG",
        1,
        (640, 480),
        DateTimeOriginal="2019:09:19 05:38:57",
        OffsetTimeOriginal="+02:00",
        Make="Apple",
        Model="iPhone 8",
    )
    make_jpeg(
        root / "2019" / "copy of IMG_0001.JPG",
        1,
        (640, 480),
        DateTimeOriginal="2019:09:19 05:38:57",
        OffsetTimeOriginal="+02:00",
        Make="Apple",
        Model="iPhone 8",
    )
    (root / "2019" / "copy of IMG_0001.JPG").write_bytes(
        (root / "2019" / "IMG_0001.JPG").read_bytes()
    )  # byte-identical
    scene(2, (300, 200)).save(root / "screen.png")
    pillow_heif.from_pillow(scene(3, (400, 300))).save(root / "live.heic", quality=70)
    whole = make_jpeg(root / "tmp.jpg", 4, (800, 600))
    (root / "truncated.jpg").write_bytes(whole.read_bytes()[:3000])
    whole.unlink()
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("not a photo at all\n")
    make_jpeg(root / "-leading-dash.jpg", 5, DateTimeOriginal="2015:05:05 05:05:05")
    raw_name = os.fsencode(root) + b"/caf\xe9.jpg"
    make_jpeg(root / "x.jpg", 6, DateTimeOriginal="2016:06:06 06:06:06")
    os.rename(root / "x.jpg", raw_name)
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (root / "._IMG_0001.JPG").write_bytes(b"\x00\x05\x16\x07")
    return root


def _rows() -> dict[str, File]:
    with session_scope(get_engine(get_settings().database_url)) as s:
        return {os.path.basename(f.path): f for f in s.scalars(select(File))}


def _scan(library: Path) -> str:
    result = CliRunner().invoke(main, ["scan", "-w", "2", str(library)])
    assert result.exit_code == 0, result.output
    return result.output


def _check_library(library: Path) -> None:
    output = _scan(library)
    assert "exact duplicates in library" in output
    rows = _rows()
    assert ".DS_Store" not in rows and "._IMG_0001.JPG" not in rows
    assert set(rows) == {
        "IMG_0001.JPG",
        "copy of IMG_0001.JPG",
        "screen.png",
        "live.heic",
        "truncated.jpg",
        "empty.jpg",
        "notes.jpg",
        "-leading-dash.jpg",
        os.fsdecode(b"caf\xe9.jpg"),
    }
    img = rows["IMG_0001.JPG"]
    assert (img.kind, img.status, img.width, img.height) == ("image", "ready", 640, 480)
    assert img.taken_at and img.taken_at.isoformat() == "2019-09-19T05:38:57"
    assert img.utc_offset == 120 and img.taken_at_utc.isoformat() == "2019-09-19T03:38:57"
    assert img.date_source == "exif:DateTimeOriginal" and img.confidence_level == "high"
    assert img.sha256 == rows["copy of IMG_0001.JPG"].sha256
    assert rows["live.heic"].kind == "image" and rows["live.heic"].phash
    assert rows["truncated.jpg"].status == "error" and "truncated" in rows["truncated.jpg"].error
    assert rows["empty.jpg"].status == "error"
    assert rows["notes.jpg"].kind == "other" and rows["notes.jpg"].error
    assert rows["-leading-dash.jpg"].taken_at.year == 2015
    assert rows[os.fsdecode(b"caf\xe9.jpg")].taken_at.year == 2016


def test_scan_into_sqlite(settings_env: Path, library: Path) -> None:
    _check_library(library)


@pytest.mark.postgres
def test_scan_into_postgres(
    settings_env: Path, library: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEDIAFIX_DATABASE_URL", pg_url)
    get_settings.cache_clear()
    _check_library(library)


def test_rescan_is_incremental(settings_env: Path, library: Path) -> None:
    _scan(library)
    first = {name: (r.id, r.scanned_at) for name, r in _rows().items()}
    output = _scan(library)
    assert "probed                       0" in output.replace("\u2502", " ") or " 0 " in output
    # Change one file: only it is probed again.
    target = library / "screen.png"
    scene(9, (320, 200)).save(target)
    os.utime(target, (1_600_000_000, 1_600_000_000))
    output = _scan(library)
    rows = _rows()
    assert rows["screen.png"].width == 320
    assert {n: r.id for n, r in rows.items()} == {n: v[0] for n, v in first.items()}
    assert "unchanged (skipped)" in output


def test_inspect_json_contract(settings_env: Path, library: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", "--json", str(library)])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    by_name = {os.path.basename(r["path"]): r for r in records}
    for r in records:
        assert set(r) >= INSPECT_KEYS
        assert os.path.isabs(r["path"])
        assert r["kind"] in ("image", "video", "other")
        assert r["confidence_level"] in ("high", "medium", "low", "none")
    img = by_name["IMG_0001.JPG"]
    assert img["taken_at"] == "2019-09-19T05:38:57"
    assert img["utc_offset"] == "+02:00"
    assert img["taken_at_utc"] == "2019-09-19T03:38:57Z"
    assert img["source"] == "exif:DateTimeOriginal"
    assert img["width"] == 640 and img["height"] == 480 and len(img["phash"]) == 16
    assert by_name["empty.jpg"]["error"] and by_name["empty.jpg"]["kind"] == "other"
    # No database was created by inspect.
    assert not (settings_env / "mediafix.db").exists()


def test_errors_are_one_line(
    settings_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "nope")])
    assert result.exit_code != 0
    monkeypatch.setenv("MEDIAFIX_TIMEZONE", "Mars/Olympus")
    get_settings.cache_clear()
    result = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert result.exit_code != 0
    assert "MEDIAFIX_TIMEZONE" in result.output and "Traceback" not in result.output


@pytest.fixture(autouse=True)
def _reset_engines() -> Iterator[None]:
    yield
    from mediafix.store.db import dispose_engines

    dispose_engines()


def test_scan_infers_dates_inside_a_camera_sequence(settings_env: Path, tmp_path: Path) -> None:
    root = tmp_path / "roll"
    make_jpeg(root / "IMG_0100.JPG", 1, DateTimeOriginal="2018:08:01 10:00:00", Model="X100")
    make_jpeg(root / "IMG_0101.JPG", 2)  # stripped: no date of its own
    make_jpeg(root / "IMG_0102.JPG", 3, DateTimeOriginal="2018:08:01 10:04:00", Model="X100")
    os.utime(root / "IMG_0101.JPG", (1_700_000_000, 1_700_000_000))  # a copy date, not the shot
    _scan(root)
    row = _rows()["IMG_0101.JPG"]
    assert row.date_source == "inferred:sequence"
    assert row.taken_at.isoformat() == "2018-08-01T10:02:00"
    assert row.confidence_level in ("low", "medium")
    assert "IMG_0100" in row.date_reason and "IMG_0102" in row.date_reason


def test_mediafix_own_folders_are_not_scanned(settings_env: Path, tmp_path: Path) -> None:
    """A scan of a folder that holds the data folder (thumbnails) and the archive imports
    neither as photos (issue 16, found by `sec`); an upload in the data folder still scans."""
    make_jpeg(tmp_path / "photos" / "IMG_1.JPG", 1, DateTimeOriginal="2019:09:19 05:38:57")
    result = CliRunner().invoke(main, ["scan", "-w", "1", str(tmp_path / "photos")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["apply"])
    assert result.exit_code == 0, result.output
    make_jpeg(settings_env / "thumbnails" / "ab" / "1.jpg", 2)  # what thumbnails look like
    make_jpeg(settings_env / "uploads" / "7" / "IMG_2.JPG", 3)
    for target in (tmp_path, tmp_path / "output", settings_env / "uploads" / "7"):
        result = CliRunner().invoke(main, ["scan", "-w", "1", str(target)])
        assert result.exit_code == 0, result.output
    engine = get_engine(get_settings().database_url)
    with session_scope(engine) as s:
        found = s.execute(select(File.path, File.error)).all()
    rows = {os.path.relpath(path, tmp_path): error for path, error in found}
    assert rows == {
        "photos/IMG_1.JPG": None,
        "data/uploads/7/IMG_2.JPG": None,  # scanned as the root given, and within tmp_path
        "output": "mediafix's own folder (its data folder or the archive): not scanned",
    }


def _groups() -> dict[int, tuple[str, tuple[str, ...]]]:
    from mediafix.store.models import DuplicateGroup, DuplicateMember

    with session_scope(get_engine(get_settings().database_url)) as s:
        groups: dict[int, tuple[str, set[str]]] = {}
        rows = s.execute(
            select(DuplicateGroup.id, DuplicateGroup.type, File.name)
            .join(DuplicateMember, DuplicateMember.group_id == DuplicateGroup.id)
            .join(File, File.id == DuplicateMember.file_id)
        )
        for gid, kind, name in rows:
            groups.setdefault(gid, (kind, set()))[1].add(name)
    return {gid: (kind, tuple(sorted(names))) for gid, (kind, names) in groups.items()}


def _mark_groups() -> None:
    """Write a reason no regroup writes: it stays only while the groups are not rebuilt."""
    from sqlalchemy import update

    from mediafix.store.models import DuplicateGroup

    with session_scope(get_engine(get_settings().database_url)) as s:
        s.execute(update(DuplicateGroup).values(reasons=["untouched"]))


def _marked() -> list[bool]:
    from mediafix.store.models import DuplicateGroup

    with session_scope(get_engine(get_settings().database_url)) as s:
        return [r == ["untouched"] for r in s.scalars(select(DuplicateGroup.reasons))]


def _probed(output: str) -> int:
    line = next(x for x in output.splitlines() if x.strip().startswith("probed"))
    return int(line.split()[-1])


def test_rescan_finds_exactly_the_changes_and_regroups(settings_env: Path, tmp_path: Path) -> None:
    root = tmp_path / "photos"
    a = make_jpeg(root / "a.jpg", 11, DateTimeOriginal="2020:01:01 10:00:00")
    (root / "b.jpg").write_bytes(a.read_bytes())  # a byte copy
    make_jpeg(root / "d.jpg", 12, DateTimeOriginal="2020:01:02 10:00:00")
    scene(11, (640, 480)).resize((320, 240)).save(root / "c.jpg", quality=70)  # a's picture
    _scan(root)
    before = _groups()
    assert sorted(before.values()) == [
        ("exact", ("a.jpg", "b.jpg")),
        ("near", ("a.jpg", "b.jpg", "c.jpg")),
    ]
    # Nothing changed: nothing probed, the groups are left as they are (not rebuilt).
    _mark_groups()
    output = _scan(root)
    assert _probed(output) == 0
    assert _groups() == before and _marked() == [True, True]
    assert "1/1/0" in output  # the summary still counts them
    # Two changes: c becomes another picture, e is a new copy of d.
    scene(13, (640, 480)).save(root / "c.jpg", quality=80)
    os.utime(root / "c.jpg", (1_700_000_000, 1_700_000_000))
    (root / "e.jpg").write_bytes((root / "d.jpg").read_bytes())
    output = _scan(root)
    assert _probed(output) == 2
    assert not any(_marked())
    assert sorted(_groups().values()) == [
        ("exact", ("a.jpg", "b.jpg")),
        ("exact", ("d.jpg", "e.jpg")),
    ]
    # A scan that saved rows but died before its regroup leaves the groups owed one: the
    # next scan regroups what those rows touch (here e's date moved: d's copies).
    from sqlalchemy import update

    from mediafix.store.settings import GROUPS_STALE_KEY, set_setting

    with session_scope(get_engine(get_settings().database_url)) as s:
        s.execute(update(File).where(File.name == "e.jpg").values(taken_at=datetime(2020, 1, 3, 9)))
        set_setting(s, GROUPS_STALE_KEY, True)
    _mark_groups()
    output = _scan(root)
    assert _probed(output) == 0
    assert sorted(_marked()) == [False, True]  # d's group rebuilt, a's left as it was
    assert sorted(_groups().values()) == [
        ("exact", ("a.jpg", "b.jpg")),
        ("exact", ("d.jpg", "e.jpg")),
    ]
    _mark_groups()
    _scan(root)
    assert _marked() == [True, True]  # ... once


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_rescan_regroups_only_what_the_changes_touch(
    settings_env: Path,
    tmp_path: Path,
    database: str,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue #20: a rescan that finds a few changes rebuilds the groups they touch; the
    others keep their ids (and whatever was written on them), and the result is what a
    full regroup makes."""
    from mediafix.services.duplicates import regroup

    if database == "postgresql":
        monkeypatch.setenv("MEDIAFIX_DATABASE_URL", request.getfixturevalue("pg_url"))
        get_settings.cache_clear()

    root = tmp_path / "photos"
    a = make_jpeg(root / "trip" / "a.jpg", 11, DateTimeOriginal="2020:01:01 10:00:00")
    (root / "trip" / "b.jpg").write_bytes(a.read_bytes())
    d = make_jpeg(root / "home" / "d.jpg", 12, DateTimeOriginal="2020:01:02 10:00:00")
    (root / "home" / "e.jpg").write_bytes(d.read_bytes())
    _scan(root)
    _mark_groups()
    # a third copy of d, and c: a smaller copy of a's picture, in a new folder
    (root / "new").mkdir()
    (root / "new" / "f.jpg").write_bytes(d.read_bytes())
    scene(11, (640, 480)).resize((320, 240)).save(root / "new" / "c.jpg", quality=70)
    assert _probed(_scan(root)) == 2
    after = _groups()
    assert sorted(after.values()) == [
        ("exact", ("a.jpg", "b.jpg")),
        ("exact", ("d.jpg", "e.jpg", "f.jpg")),
        ("near", ("a.jpg", "b.jpg", "c.jpg")),
    ]
    # a's and d's groups were rebuilt: c joins a's picture, f joins d's copies
    assert not any(_marked())
    _mark_groups()
    (root / "new" / "g.jpg").write_bytes(d.read_bytes())
    output = _scan(root)
    assert _probed(output) == 1 and "(regrouped by parts)" in output
    kept = {gid for gid, (_k, names) in after.items() if "a.jpg" in names}
    assert kept <= set(_groups())  # a's two groups untouched, same ids
    with session_scope(get_engine(get_settings().database_url)) as s:
        from mediafix.store.models import DuplicateGroup

        untouched = {g.id for g in s.scalars(select(DuplicateGroup)) if g.reasons == ["untouched"]}
    assert untouched == kept
    by_parts = sorted(_groups().values())
    summary = regroup(get_engine(get_settings().database_url), get_settings())
    assert not summary.incremental
    assert sorted(_groups().values()) == by_parts


def test_rescan_infers_sequences_in_the_changed_folders_only(
    settings_env: Path, tmp_path: Path
) -> None:
    from sqlalchemy import update

    def roll(folder: Path, first: int) -> None:
        make_jpeg(folder / f"IMG_{first}.JPG", 1, DateTimeOriginal="2018:08:01 10:00:00")
        make_jpeg(folder / f"IMG_{first + 1}.JPG", 2)  # stripped: no date of its own
        make_jpeg(folder / f"IMG_{first + 2}.JPG", 3, DateTimeOriginal="2018:08:01 10:04:00")
        os.utime(folder / f"IMG_{first + 1}.JPG", (1_700_000_000, 1_700_000_000))

    root = tmp_path / "photos"
    roll(root / "a", 100)
    roll(root / "a_%b", 200)  # LIKE's wildcards in a folder name
    _scan(root)
    rows = _rows()
    assert (
        rows["IMG_101.JPG"].date_source == rows["IMG_201.JPG"].date_source == ("inferred:sequence")
    )
    # IMG_101's inference undone by hand: whichever scan looks at folder a again infers it.
    with session_scope(get_engine(get_settings().database_url)) as s:
        s.execute(
            update(File)
            .where(File.name == "IMG_101.JPG")
            .values(taken_at=datetime(2023, 11, 14, 22, 13, 20), date_source="file:mtime")
        )
    # A new undated frame in a_%b: only that folder is inferred again.
    make_jpeg(root / "a_%b" / "IMG_203.JPG", 4)
    os.utime(root / "a_%b" / "IMG_203.JPG", (1_700_000_000, 1_700_000_000))
    make_jpeg(root / "a_%b" / "IMG_204.JPG", 5, DateTimeOriginal="2018:08:01 10:08:00")
    _scan(root)
    rows = _rows()
    assert rows["IMG_101.JPG"].date_source == "file:mtime"  # folder a was not looked at
    assert rows["IMG_203.JPG"].date_source == "inferred:sequence"
    assert rows["IMG_203.JPG"].taken_at.isoformat() == "2018-08-01T10:06:00"
    # A change in folder a: its sequence is inferred again.
    make_jpeg(root / "a" / "IMG_105.JPG", 6, DateTimeOriginal="2018:08:01 11:00:00")
    _scan(root)
    assert _rows()["IMG_101.JPG"].date_source == "inferred:sequence"


def _line(output: str, label: str) -> str:
    return next(x for x in output.splitlines() if x.strip().startswith(label)).split()[-1]


def test_a_rescan_forgets_the_files_gone_from_the_folder(
    settings_env: Path, tmp_path: Path
) -> None:
    """A file deleted (or moved away) since the last scan leaves the library with the next
    scan: no ghost keeper in a duplicate group (its copy would be left out of the
    archive), no ghost in the review or the plan. Its copy, alone now, is planned."""
    root = tmp_path / "photos"
    a = make_jpeg(root / "camera" / "a.jpg", 21, DateTimeOriginal="2020:01:01 10:00:00")
    (root / "backup").mkdir()
    (root / "backup" / "b.jpg").write_bytes(a.read_bytes())
    make_jpeg(root / "camera" / "c.jpg", 22, DateTimeOriginal="2020:01:02 10:00:00")
    (root / "camera" / "notes.txt").write_text("not a photo")
    _scan(root)
    assert sorted(_groups().values()) == [("exact", ("a.jpg", "b.jpg"))]
    a.unlink()
    (root / "camera" / "notes.txt").unlink()
    output = _scan(root)
    assert _line(output, "gone since the last scan") == "2"
    assert set(_rows()) == {"b.jpg", "c.jpg"}
    assert _groups() == {}
    planned = CliRunner().invoke(main, ["plan", "--json"])
    assert planned.exit_code == 0, planned.output
    plan = json.loads(planned.output)
    assert {os.path.basename(i["source"]) for i in plan["items"]} == {"b.jpg", "c.jpg"}
    assert plan["ignored"] == [] and plan["held"] == [] and plan["discarded"] == []
    # the file back: scanned again as a new row, its group again
    a.write_bytes((root / "backup" / "b.jpg").read_bytes())
    output = _scan(root)
    assert _line(output, "gone since the last scan") == "0" and _probed(output) == 1
    assert sorted(_groups().values()) == [("exact", ("a.jpg", "b.jpg"))]


def test_a_folder_found_empty_or_one_file_scanned_forgets_nothing(
    settings_env: Path, tmp_path: Path
) -> None:
    """A folder that held files and holds none now is more likely a disk not mounted than a
    deletion: its rows stay, and the scan says so. Scanning one file says nothing of the
    other files of its folder."""
    root = tmp_path / "photos"
    make_jpeg(root / "a.jpg", 23, DateTimeOriginal="2020:01:01 10:00:00")
    b = make_jpeg(root / "b.jpg", 24, DateTimeOriginal="2020:01:02 10:00:00")
    _scan(root)
    output = _scan(b)
    assert _line(output, "gone since the last scan") == "0"
    assert set(_rows()) == {"a.jpg", "b.jpg"}
    parked = tmp_path / "parked"
    root.rename(parked)
    root.mkdir()
    output = _scan(root)
    assert _line(output, "gone since the last scan") == "0"
    assert "holds no file now" in output and set(_rows()) == {"a.jpg", "b.jpg"}
