"""Apply's batched path (issue #20) through the command line: plain JPEGs written in
batches by one exiftool per core, read back in-process, journaled per batch; files it
cannot write exactly so go one by one; and SIGKILLs inside a batch (after its files are
fsynced, after its ``write`` records, after its files are placed) lose nothing.

Batches: the first three files go one at a time, then 2, 4, 8... files, so with 24 photos
the batches are files 1 | 2 | 3 | 4-5 | 6-9 | 10-17 | 18-24.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mediafix.config import get_settings
from mediafix.media.digest import image_data_digest
from mediafix.media.durable import TMP_PREFIX
from mediafix.media.exiftool import ExifTool
from mediafix.media.journal import read_journal
from tests.helpers.hostile import photo_bytes, snapshot, year_of
from tests.helpers.media import (
    CAMERA_DATES,
    camera_jpeg,
    changed_within,
    make_jpeg,
    value_spans,
    write_tags,
)
from tests.integration.test_faults import (
    FAULT_WORKER,
    _archive,
    _cli,
    _dated_photos,
    _partials,
    _planned,
    check_output,
    fault_env,  # noqa: F401 - a fixture
)
from tests.integration.test_jobs import wait_until


def _records(data: Path) -> list[dict[str, Any]]:
    return [r for j in sorted((data / "journals").glob("*.jsonl")) for r in read_journal(str(j))]


def _read(paths: list[str]) -> list[dict[str, Any]]:
    with ExifTool() as et:
        out, _ = et.execute(
            [
                "-j",
                "-G1",
                "-a",
                "-n",
                "-charset",
                "filename=utf8",
                "-DateTimeOriginal",
                "-CreateDate",
                "-OffsetTimeOriginal",
                "-Subject",
                "-Keywords",
                "-XPKeywords",
                *paths,
            ]
        )
    data: list[dict[str, Any]] = json.loads(out)
    return sorted(data, key=lambda r: str(r["SourceFile"]))


def test_batches_write_verify_journal_and_undo(settings_env: Path, tmp_path: Path) -> None:
    """Thirty plain photos (folder and name tags, a folder name that is not ASCII, photos
    that already carry keywords) in batches, and one with XMP (one by one): each written
    as planned, journaled, and undone."""
    photos, out = tmp_path / "photos", tmp_path / "archive"
    plain = _dated_photos(photos / "Trip to Rome", 12)
    for i in range(12, 24):
        path = photos / "Été à Nîmes" / f"IMG_{i:04d} {{beach,Anne-Marie}}.JPG"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo_bytes(i))
        plain.append(path)
    for i in range(24, 30):  # keywords of their own, in EXIF (XPKeywords): kept and merged
        path = photos / "tagged" / f"IMG_{i:04d}.JPG"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(photo_bytes(i))
        write_tags(path, XPKeywords="mine;beach")
        plain.append(path)
    with_xmp = make_jpeg(
        photos / "misc" / "xmp.jpg", 5, DateTimeOriginal="2015:05:06 07:08:09", Label="Red"
    )
    before = snapshot(photos)
    _cli("scan", "-w", "1", str(photos))
    plan = json.loads(_cli("plan", str(out), "--json"))
    assert len(plan["items"]) == 31
    printed = _cli("apply", str(out))
    assert "written" in printed and "failed" in printed
    planned = {i["target"]: i for i in plan["items"]}
    archive = _archive(out)
    assert not _partials(out)
    assert set(archive) == set(planned)
    entries = {r["target"]: r for r in _records(get_settings().data_dir) if r["type"] == "write"}
    done = {r["target"] for r in _records(get_settings().data_dir) if r["type"] == "done"}
    assert set(entries) == set(archive) == done
    for target, entry in entries.items():
        assert entry["output_sha256"] == archive[target]
        source = planned[target]["source"]
        assert image_data_digest(target, "jpeg") == image_data_digest(source, "jpeg")
    for meta in _read(sorted(archive)):
        item = planned.get(meta["SourceFile"])
        assert item is not None
        name = Path(item["target"]).stem[:15]
        stamp = f"{name[:4]}:{name[4:6]}:{name[6:8]} {name[9:11]}:{name[11:13]}:{name[13:15]}"
        assert meta["ExifIFD:DateTimeOriginal"] == stamp
        assert meta["ExifIFD:CreateDate"] == stamp
        tags = item["tags"]
        subject = meta.get("XMP-dc:Subject", [])
        assert (subject if isinstance(subject, list) else [subject]) == tags
        if tags and item["source"] != str(with_xmp):
            keywords = meta.get("IPTC:Keywords", [])
            assert (keywords if isinstance(keywords, list) else [keywords]) == tags
        xp = [t for t in str(meta.get("IFD0:XPKeywords", "")).split(";") if t]
        if "tagged" in item["source"]:
            assert xp[:2] == ["mine", "beach"] and set(tags) <= set(xp)
        else:
            assert xp == tags
    assert {"beach", "Anne-Marie", "Été à Nîmes"} <= {t for i in plan["items"] for t in i["tags"]}
    assert any(i["tags"] == ["Trip to Rome"] for i in plan["items"])

    _cli("undo")
    assert not _archive(out)
    assert snapshot(photos) == before


def _camera_photos(folder: Path, n: int) -> list[Path]:
    """``n`` distinct camera photos, each with its own year (``year_of``), carrying every
    date apply writes: written in process (``media.exifpatch``), not by exiftool."""
    paths = []
    for i in range(n):
        stamp = f"{year_of(i)}:03:04 05:06:07"
        path = folder / f"IMG_{i:04d}.JPG"
        paths.append(camera_jpeg(path, 1000 + i, DateTimeOriginal=stamp, CreateDate=stamp))
    return paths


def test_batches_mix_in_process_and_exiftool_writes(settings_env: Path, tmp_path: Path) -> None:
    """Camera photos carrying every date the plan writes get them in process, the bytes
    around untouched (exiftool would have dropped the room left in their EXIF segment:
    ``camera_jpeg``); photos lacking some go to exiftool, which adds them; all journaled,
    verified and undone alike."""
    photos, out = tmp_path / "photos", tmp_path / "archive"
    camera = _camera_photos(photos / "DCIM" / "100CANON", 10)
    dated = _dated_photos(photos / "DCIM" / "101CANON", 6)  # DateTimeOriginal alone
    for i, path in enumerate(dated):
        path.rename(path.with_name(f"IMG_{100 + i:04d}.JPG"))
    before = snapshot(photos)
    sources = {str(p): p.read_bytes() for p in camera}
    _cli("scan", "-w", "1", str(photos))
    planned = _planned(out)
    assert len(planned) == 16
    printed = _cli("apply", str(out))
    assert "failed" in printed
    data = get_settings().data_dir
    check_output(out, data, planned)
    metas = {m["SourceFile"]: m for m in _read(sorted(planned))}
    # The camera's offset (OffsetTimeOriginal) now in all three, and its sub-seconds in
    # both written: only those values' bytes changed.
    changed = [CAMERA_DATES["OffsetTime"], CAMERA_DATES["OffsetTimeDigitized"]]
    changed.append(CAMERA_DATES["SubSecTimeDigitized"])
    for target, source in planned.items():
        meta = metas[target]
        after = Path(target).read_bytes()
        if source in sources:
            assert meta["ExifIFD:OffsetTimeOriginal"] == "+02:00"
            assert changed_within(sources[source], after, value_spans(sources[source], changed))
        else:  # exiftool added what the file lacked
            assert meta["ExifIFD:CreateDate"] == meta["ExifIFD:DateTimeOriginal"]
            assert len(after) != len(Path(source).read_bytes())
    _cli("undo")
    assert not _archive(out)
    assert snapshot(photos) == before


def _kill_apply_at(env: dict[str, str], point: str, out: Path, tmp_path: Path) -> None:
    """``mediafix apply OUT`` stopped dead at ``point`` (``tests/helpers/fault_worker.py``), then
    SIGKILLed with everything it started."""
    marker = tmp_path / "paused"
    with open(tmp_path / "apply.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(FAULT_WORKER), point, str(marker), "--", "apply", str(out)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(marker.exists, timeout=120)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "placed", "journaled", "done", "partial"),
    [
        # batch 6-9 written, read back and fsynced; its `write` records not journaled
        ("fsynced:5", 5, 5, 5, 4),
        # batch 10-17 journaled, none of it placed
        ("placing:10", 9, 17, 9, 8),
        # batch 10-17 placed, its `done` records not journaled
        ("place:17", 17, 17, 9, 0),
    ],
)
@pytest.mark.parametrize("kind", ["exiftool", "in-process"])
def test_sigkill_inside_a_batch(
    kind: str,
    point: str,
    placed: int,
    journaled: int,
    done: int,
    partial: int,
    fault_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    photos, out = tmp_path / "photos", tmp_path / "archive"
    if kind == "exiftool":
        _dated_photos(photos, 24)
    else:  # the dates written in process over the camera's
        _camera_photos(photos, 24)
    _cli("scan", "-w", "1", str(photos))
    before = snapshot(photos)
    planned = _planned(out)
    assert len(planned) == 24
    _kill_apply_at(fault_env, point, out, tmp_path)

    data = get_settings().data_dir
    records = _records(data)
    assert len({r["target"] for r in records if r["type"] == "write"}) == journaled
    assert len({r["target"] for r in records if r["type"] == "done"}) == done
    written = [p for p in _archive(out) if TMP_PREFIX not in p]
    assert len(written) == placed
    assert len(_partials(out)) == partial  # whole copies under temporary names only
    assert snapshot(photos) == before

    printed = _cli("apply", str(out))  # the next run cleans up and finishes
    assert "failed" in printed
    check_output(out, data, planned)
    assert snapshot(photos) == before
    for _ in range(2):  # the finishing run, then the killed one
        _cli("undo")
    assert not _archive(out)
    assert snapshot(photos) == before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "placed", "journaled", "done", "partial"),
    [
        # batch 18-33 journaled, none of it placed; batch 34-60 started meanwhile
        ("placing:18", 17, 33, 17, 16 + 27),
        # batch 18-33 placed, its `done` records not journaled; batch 34-60 started
        ("place:33", 33, 33, 17, 27),
    ],
)
def test_sigkill_while_the_next_batch_is_written(
    point: str,
    placed: int,
    journaled: int,
    done: int,
    partial: int,
    fault_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    """From 16 files on, a batch is fsynced, journaled and placed while the next one is
    copied and written by exiftool (``apply.OVERLAP_FILES``); with 60 photos the batches
    are 1 | 2 | 3 | 4-5 | 6-9 | 10-17 | 18-33 | 34-60. A kill then leaves the next batch's
    copies only under temporary names (some half-written by exiftool), and the next run
    finishes as after any other kill."""
    photos, out = tmp_path / "photos", tmp_path / "archive"
    _dated_photos(photos, 60, size=(64, 48))
    _cli("scan", "-w", "1", str(photos))
    before = snapshot(photos)
    planned = _planned(out)
    assert len(planned) == 60
    _kill_apply_at(fault_env, point, out, tmp_path)

    data = get_settings().data_dir
    records = _records(data)
    assert len({r["target"] for r in records if r["type"] == "write"}) == journaled
    assert len({r["target"] for r in records if r["type"] == "done"}) == done
    written = [p for p in _archive(out) if TMP_PREFIX not in p]
    assert len(written) == placed
    # this batch's copies and the next one's, under temporary names only (each of the
    # next batch's may also have exiftool's own temporary file beside it)
    assert len(_partials(out)) >= partial
    assert snapshot(photos) == before

    printed = _cli("apply", str(out))  # the next run cleans up and finishes
    assert "failed" in printed
    check_output(out, data, planned)
    assert snapshot(photos) == before
    for _ in range(2):  # the finishing run, then the killed one
        _cli("undo")
    assert not _archive(out)
    assert snapshot(photos) == before
